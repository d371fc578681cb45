#version 450
// ntxent_grad.comp — NT-Xent pass 4 of 4: dz = (G + G^T) z, i.e.
//   dz[i, d] = sum_j (G[i, j] + G[j, i]) z[j, d],
// without materializing G^T: for a block of TM consecutive rows i, G[j, i0 .. i0+TM) is
// a contiguous piece of row j. Each invocation computes a TM x TD block of dz in
// registers. The vec4 variant reads 4 j (and 4 d) at a time: it needs N2 % 4 == 0,
// D % 4 == 0, TM % 4 == 0, TD % 4 == 0 and 16-byte aligned buffers; the scalar variant
// takes any shape.
//! variant ntxent_grad
//! variant ntxent_grad4 -DVEC4=1
// before any include: functions compiled earlier would see the default size (1)
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 1) const uint TM = 4; // rows of dz per invocation
layout(constant_id = 2) const uint TD = 4; // columns of dz per invocation

#ifdef VEC4
layout(std430, binding = 0) writeonly buffer DZ { vec4 dz[]; }; // (N2, D/4)
layout(std430, binding = 1) readonly buffer G { vec4 g[]; };    // (N2, N2/4)
layout(std430, binding = 2) readonly buffer Z { vec4 z[]; };    // (N2, D/4)
#else
layout(std430, binding = 0) writeonly buffer DZ { float dz[]; }; // (N2, D)
layout(std430, binding = 1) readonly buffer G { float g[]; };    // (N2, N2)
layout(std430, binding = 2) readonly buffer Z { float z[]; };    // (N2, D)
#endif
layout(push_constant) uniform Push { uint n2; uint D; uint tiles_d; } pc;

void main() {
    uint t = flat_index();
    uint tiles_m = (pc.n2 + TM - 1) / TM;
    if (t >= tiles_m * pc.tiles_d) return;
    uint i0 = (t / pc.tiles_d) * TM, d0 = (t % pc.tiles_d) * TD;
#ifdef VEC4
    // all of i0 .. i0+TM and d0 .. d0+TD are in range (the host checks the divisibility)
    const uint TM4 = TM / 4, TD4 = TD / 4;
    uint n4 = pc.n2 / 4, D4 = pc.D / 4;
    vec4 acc[TM][TD4];
    for (uint r = 0; r < TM; r++)
        for (uint c = 0; c < TD4; c++) acc[r][c] = vec4(0.0);
    for (uint j4 = 0; j4 < n4; j4++) {
        // a[r][q] = G[i0+r, 4 j4 + q] + G[4 j4 + q, i0+r]
        vec4 a[TM];
        for (uint r = 0; r < TM; r++) a[r] = g[(i0 + r) * n4 + j4];
        for (uint q = 0; q < 4; q++) {
            uint row = (4 * j4 + q) * n4 + i0 / 4;
            for (uint r4 = 0; r4 < TM4; r4++) {
                vec4 col = g[row + r4];
                a[4 * r4 + 0][q] += col.x;
                a[4 * r4 + 1][q] += col.y;
                a[4 * r4 + 2][q] += col.z;
                a[4 * r4 + 3][q] += col.w;
            }
        }
        for (uint q = 0; q < 4; q++) {
            vec4 b[TD4];
            for (uint c = 0; c < TD4; c++) b[c] = z[(4 * j4 + q) * D4 + d0 / 4 + c];
            for (uint r = 0; r < TM; r++)
                for (uint c = 0; c < TD4; c++) acc[r][c] += a[r][q] * b[c];
        }
    }
    for (uint r = 0; r < TM; r++)
        for (uint c = 0; c < TD4; c++) dz[(i0 + r) * D4 + d0 / 4 + c] = acc[r][c];
#else
    uint ri[TM], dc[TD];
    for (uint r = 0; r < TM; r++) ri[r] = min(i0 + r, pc.n2 - 1);
    for (uint c = 0; c < TD; c++) dc[c] = min(d0 + c, pc.D - 1);
    float acc[TM][TD];
    for (uint r = 0; r < TM; r++)
        for (uint c = 0; c < TD; c++) acc[r][c] = 0.0;
    for (uint j = 0; j < pc.n2; j++) {
        float a[TM], b[TD];
        for (uint r = 0; r < TM; r++) a[r] = g[ri[r] * pc.n2 + j] + g[j * pc.n2 + ri[r]];
        for (uint c = 0; c < TD; c++) b[c] = z[j * pc.D + dc[c]];
        for (uint r = 0; r < TM; r++)
            for (uint c = 0; c < TD; c++) acc[r][c] += a[r] * b[c];
    }
    for (uint r = 0; r < TM; r++) {
        if (i0 + r >= pc.n2) break;
        for (uint c = 0; c < TD; c++)
            if (d0 + c < pc.D) dz[(i0 + r) * pc.D + d0 + c] = acc[r][c];
    }
#endif
}
