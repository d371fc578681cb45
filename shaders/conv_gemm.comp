#version 450
// conv_gemm.comp — the GEMM of the GPU-device conv path (im2col + GEMM), with both
// operands stored along the reduction dimension k (rows of vec4s):
//
//   C[m, n] (+)= sum_k A[m][k] * B[n][k]      for k in split z of the reduction
//
// The result is scattered through a strided map so it lands directly in its tensor:
//   C index = c_off + z * c_z + m * c_m + (n / ndiv) * c_hi + (n % ndiv) * c_lo
// (forward: m = co, n = pixel (b, p) -> out[b][co][p]; wgrad: one partial per split z).
//
// A 256-invocation workgroup computes a 64 x 64 tile from shared-memory tiles of 16 k; each
// invocation 4 x 4 outputs, strided by 16 so that neighbouring invocations read
// neighbouring shared words. Bindings: A, B, C storage buffers.
//
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer ABuf { vec4 A[]; };
layout(std430, binding = 1) readonly buffer BBuf { vec4 Bt[]; };
layout(std430, binding = 2) buffer CBuf { float c[]; };

layout(push_constant) uniform Push {
    uint M, N;
    uint K4, k4_split;     // reduction length in vec4s; vec4s per split (workgroup z)
    uint lda4, ldb4;       // row strides of A and B in vec4s
    uint c_m, ndiv, c_hi, c_lo, c_z;
    uint accumulate;       // 1: C += result, 0: C = result
    uint c_off;
} pc;

void store(uint m, uint n, uint z, float v) {
    if (m >= pc.M || n >= pc.N) return;
    uint nq = conv_udiv(n, pc.ndiv);
    uint i = pc.c_off + z * pc.c_z + m * pc.c_m + nq * pc.c_hi + (n - nq * pc.ndiv) * pc.c_lo;
    c[i] = pc.accumulate != 0 ? c[i] + v : v;
}

#define BM 64
#define BN 64
#define BK4 4 // k tile: 4 vec4s = 16 floats
shared vec4 As[BK4][BM];
shared vec4 Bs[BK4][BN];

void main() {
    uint tiles_n = (pc.N + BN - 1) / BN, tiles_m = (pc.M + BM - 1) / BM;
    uint tile = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; // uniform per workgroup
    if (tile >= tiles_m * tiles_n) return;
    uint tm = tile / tiles_n, tn = tile - tm * tiles_n;
    uint m0 = tm * BM, n0 = tn * BN;
    uint lid = gl_LocalInvocationIndex;   // 0..255
    uint tx = lid % 16, ty = lid / 16;    // outputs (m0 + ty + 16 i, n0 + tx + 16 j)
    uint lr = lid / BK4, lk = lid % BK4;  // this invocation loads row lr, vec4 lk of each tile
    uint z = gl_WorkGroupID.z;
    uint kb = z * pc.k4_split, ke = min(pc.K4, kb + pc.k4_split);
    uint arow = m0 + lr, brow = n0 + lr;
    float acc[4][4];
    for (uint i = 0; i < 4; i++)
        for (uint j = 0; j < 4; j++) acc[i][j] = 0.0;
    for (uint k0 = kb; k0 < ke; k0 += BK4) {
        uint k = k0 + lk;
        As[lk][lr] = (arow < pc.M && k < ke) ? A[arow * pc.lda4 + k] : vec4(0.0);
        Bs[lk][lr] = (brow < pc.N && k < ke) ? Bt[brow * pc.ldb4 + k] : vec4(0.0);
        barrier();
        for (uint kk = 0; kk < BK4; kk++) {
            vec4 a[4], b[4];
            for (uint i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
            for (uint j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
            for (uint i = 0; i < 4; i++)
                for (uint j = 0; j < 4; j++) acc[i][j] += dot(a[i], b[j]);
        }
        barrier();
    }
    for (uint i = 0; i < 4; i++)
        for (uint j = 0; j < 4; j++) store(m0 + ty + 16 * i, n0 + tx + 16 * j, z, acc[i][j]);
}
