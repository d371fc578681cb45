#version 450
// ntxent_sim.comp — NT-Xent pass 1 of 4: the similarity matrix S = z z^T / T (N2 x N2)
// from z (N2, D). Both operands are read along D (rows of z), the fastest access on
// lavapipe and cache-friendly on GPUs. Each invocation computes a TM x TN block of S in
// registers (no shared memory: it is pure overhead on CPU devices, and K = D is small).
// The vec4 variant loads 4 consecutive d at a time and needs D % 4 == 0 and a 16-byte
// aligned z; the scalar variant takes any D.
//! variant ntxent_sim
//! variant ntxent_sim4 -DVEC4=1
// before any include: functions compiled earlier would see the default size (1)
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(constant_id = 1) const uint TM = 4; // rows of S per invocation
layout(constant_id = 2) const uint TN = 4; // columns of S per invocation

layout(std430, binding = 0) writeonly buffer S { float sim[]; }; // (N2, N2)
#ifdef VEC4
layout(std430, binding = 1) readonly buffer Z { vec4 z[]; };     // (N2, D/4)
#else
layout(std430, binding = 1) readonly buffer Z { float z[]; };    // (N2, D)
#endif
layout(push_constant) uniform Push { uint n2; uint D; float inv_t; uint tiles_n; } pc;

void main() {
    uint t = flat_index();
    uint tiles_m = (pc.n2 + TM - 1) / TM;
    if (t >= tiles_m * pc.tiles_n) return;
    uint i0 = (t / pc.tiles_n) * TM, j0 = (t % pc.tiles_n) * TN;
    // rows past the end are clamped for loading and skipped for storing
    uint ri[TM], rj[TN];
    for (uint r = 0; r < TM; r++) ri[r] = min(i0 + r, pc.n2 - 1);
    for (uint c = 0; c < TN; c++) rj[c] = min(j0 + c, pc.n2 - 1);
    float acc[TM][TN];
    for (uint r = 0; r < TM; r++)
        for (uint c = 0; c < TN; c++) acc[r][c] = 0.0;
#ifdef VEC4
    uint D4 = pc.D / 4;
    for (uint k = 0; k < D4; k++) {
        vec4 a[TM], b[TN];
        for (uint r = 0; r < TM; r++) a[r] = z[ri[r] * D4 + k];
        for (uint c = 0; c < TN; c++) b[c] = z[rj[c] * D4 + k];
        for (uint r = 0; r < TM; r++)
            for (uint c = 0; c < TN; c++) acc[r][c] += dot(a[r], b[c]);
    }
#else
    for (uint k = 0; k < pc.D; k++) {
        float a[TM], b[TN];
        for (uint r = 0; r < TM; r++) a[r] = z[ri[r] * pc.D + k];
        for (uint c = 0; c < TN; c++) b[c] = z[rj[c] * pc.D + k];
        for (uint r = 0; r < TM; r++)
            for (uint c = 0; c < TN; c++) acc[r][c] += a[r] * b[c];
    }
#endif
    for (uint r = 0; r < TM; r++) {
        if (i0 + r >= pc.n2) break;
        for (uint c = 0; c < TN; c++)
            if (j0 + c < pc.n2) sim[(i0 + r) * pc.n2 + j0 + c] = acc[r][c] * pc.inv_t;
    }
}
