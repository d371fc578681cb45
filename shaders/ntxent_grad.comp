#version 450
// ntxent_grad.comp — NT-Xent pass 3 of 3: dz = (G + G^T) z, i.e.
//   dz[i, d] = sum_j (G[i, j] + G[j, i]) z[j, d],
// without materializing G^T: for a block of TM consecutive rows i, G[j, i0 .. i0+TM) is
// a contiguous piece of row j. Each invocation computes a TM x TD block of dz in
// registers. Workgroup y covers rows i0 = y TM .. +TM and its invocations cover the d
// blocks, so every G value an invocation reads has the same address across the
// workgroup (a cache broadcast on GPUs).
// The texel variant reads G and z as RGBA32F texels, 4 j and 4 d at a time: it needs
// N2 % TM == 0, D % TD == 0, TM % 4 == 0 and TD % 4 == 0 (so N2 % 4 == 0, D % 4 == 0).
// The plain variant takes any shape.
//! variant ntxent_grad
//! variant ntxent_grad_t -DTEXEL=1

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 4; // rows of dz per invocation
layout(constant_id = 2) const uint TD = 4; // columns of dz per invocation

layout(std430, binding = 0) writeonly buffer DZ { float dz[]; }; // (N2, D)
#ifdef TEXEL
layout(binding = 1) uniform samplerBuffer gt;                    // (N2, N2/4) texels
layout(binding = 2) uniform samplerBuffer zt;                    // (N2, D/4) texels
#else
layout(std430, binding = 1) readonly buffer G { float g[]; };    // (N2, N2)
layout(std430, binding = 2) readonly buffer Z { float z[]; };    // (N2, D)
#endif
layout(push_constant) uniform Push { uint n2; uint D; } pc;

void main() {
    uint i0 = gl_WorkGroupID.y * TM, d0 = gl_GlobalInvocationID.x * TD;
    if (d0 >= pc.D) return;
#ifdef TEXEL
    const uint TM4 = TM / 4, TD4 = TD / 4;
    int n4 = int(pc.n2 / 4), D4 = int(pc.D / 4), c0 = int(d0 / 4), r0 = int(i0 / 4);
    vec4 acc[TM][TD4];
    for (uint r = 0; r < TM; r++)
        for (uint c = 0; c < TD4; c++) acc[r][c] = vec4(0.0);
    for (int j4 = 0; j4 < n4; j4++) {
        // a[r][q] = G[i0+r, 4 j4 + q] + G[4 j4 + q, i0+r]
        vec4 a[TM];
        for (uint r = 0; r < TM; r++) a[r] = texelFetch(gt, int(i0 + r) * n4 + j4);
        for (int q = 0; q < 4; q++) {
            int row = (4 * j4 + q) * n4 + r0;
            for (uint r4 = 0; r4 < TM4; r4++) {
                vec4 col = texelFetch(gt, row + int(r4));
                a[4 * r4 + 0][q] += col.x;
                a[4 * r4 + 1][q] += col.y;
                a[4 * r4 + 2][q] += col.z;
                a[4 * r4 + 3][q] += col.w;
            }
        }
        for (int q = 0; q < 4; q++) {
            vec4 b[TD4];
            for (uint c = 0; c < TD4; c++) b[c] = texelFetch(zt, (4 * j4 + q) * D4 + c0 + int(c));
            for (uint r = 0; r < TM; r++)
                for (uint c = 0; c < TD4; c++) acc[r][c] += a[r][q] * b[c];
        }
    }
    for (uint r = 0; r < TM; r++)
        for (uint c = 0; c < TD4; c++) {
            uint at = (i0 + r) * pc.D + d0 + 4 * c;
            dz[at + 0] = acc[r][c].x;
            dz[at + 1] = acc[r][c].y;
            dz[at + 2] = acc[r][c].z;
            dz[at + 3] = acc[r][c].w;
        }
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
