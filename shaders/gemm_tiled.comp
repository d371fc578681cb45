#version 450
// gemm_tiled.comp — shared-memory tiled GEMM for GPUs, the TILED variant.
//
// A workgroup of 16 x 16 threads computes a BM x BN block of C. Per step of BK along K it
// copies the A block (BM x BK) and the B block (BK x BN) into shared memory, stored with
// m (resp. n) contiguous so the inner loop reads them as vec4, then each thread
// accumulates its TM x TN = (BM/16) x (BN/16) register tile. Thread (tx, ty) owns the
// rows m = 4 * (ty + 16 i) + {0..3} and columns n = 4 * (tx + 16 j) + {0..3}: the 16
// threads along x read consecutive vec4 of the B tile (no bank conflicts) and share one
// A vec4 (broadcast). Global loads are scalar and coalesced along the operand's contiguous
// dimension, zero-filled past M, N and K, so every shape, transpose and offset works.
//
// Spec constants: 0 BM, 1 BN, 2 BK (block sizes; BM, BN multiples of 64 up to 128, chosen
// by src/ops/gemm.c from the device's shared memory), 3 TRANS_A, 4 TRANS_B. Grid: x over
// column blocks, y over row blocks (looping when capped at 65535), z = batch item.
// On CPU devices this kernel is correct but slow (barriers and shared memory are costly
// there); vc_gemm picks it only on GPUs unless forced.
#include "gemm_common.glsl"

layout(local_size_x = 16, local_size_y = 16) in;
layout(constant_id = 0) const uint BM = 64;
layout(constant_id = 1) const uint BN = 64;
layout(constant_id = 2) const uint BK = 16;
layout(constant_id = 3) const bool TRANS_A = false; // A stored (K, M)
layout(constant_id = 4) const bool TRANS_B = false; // B stored (N, K)

const uint TM4 = BM / 64; // vec4 groups of rows per thread
const uint TN4 = BN / 64; // vec4 groups of columns per thread

layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };

// Rows of the shared tiles are padded by one vec4: the A (M, K) and B (N, K) layouts store
// consecutive k from consecutive threads, which would otherwise all hit one bank.
const uint SA = BM / 4 + 1, SB = BN / 4 + 1; // row strides in vec4
shared vec4 sa[BK * SA]; // sa[k * SA + m/4] = A[m0 + m .. +3][k0 + k]
shared vec4 sb[BK * SB]; // sb[k * SB + n/4] = B[k0 + k][n0 + n .. +3]

void main() {
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint tid = ty * 16u + tx;
    uint z = gl_WorkGroupID.z;
    uint a0 = pc.a_off + z * pc.stride_a, b0 = pc.b_off + z * pc.stride_b;
    uint blocks_m = (pc.M + BM - 1u) / BM, blocks_n = (pc.N + BN - 1u) / BN;

    for (uint bm = gl_WorkGroupID.y; bm < blocks_m; bm += gl_NumWorkGroups.y) {
        for (uint bn = gl_WorkGroupID.x; bn < blocks_n; bn += gl_NumWorkGroups.x) {
            uint m0 = bm * BM, n0 = bn * BN;
            vec4 acc[TM4 * 4 * TN4]; // acc[(4 i + r) * TN4 + j] = C[row 4(ty+16i)+r][cols 4(tx+16j)..+3]
            for (uint i = 0u; i < TM4 * 4u * TN4; i++) acc[i] = vec4(0.0);

            for (uint k0 = 0u; k0 < pc.K; k0 += BK) {
                // global -> shared: BM*BK (resp. BK*BN) floats, 256 threads, coalesced along
                // the contiguous dimension of each operand
                for (uint e = tid; e < BM * BK; e += 256u) {
                    uint m, k;
                    if (TRANS_A) { m = e % BM; k = e / BM; } // A (K, M): m contiguous
                    else { k = e % BK; m = e / BK; }         // A (M, K): k contiguous
                    uint gm = m0 + m, gk = k0 + k;
                    float v = 0.0;
                    if (gm < pc.M && gk < pc.K) v = a[a0 + (TRANS_A ? gk * pc.M + gm : gm * pc.lk + gk)];
                    sa[k * SA + m / 4u][m % 4u] = v;
                }
                for (uint e = tid; e < BN * BK; e += 256u) {
                    uint n, k;
                    if (TRANS_B) { k = e % BK; n = e / BK; } // B (N, K): k contiguous
                    else { n = e % BN; k = e / BN; }         // B (K, N): n contiguous
                    uint gn = n0 + n, gk = k0 + k;
                    float v = 0.0;
                    if (gn < pc.N && gk < pc.K) v = b[b0 + (TRANS_B ? gn * pc.lk + gk : gk * pc.N + gn)];
                    sb[k * SB + n / 4u][n % 4u] = v;
                }
                barrier(); // tiles written -> tiles read

                for (uint k = 0u; k < BK; k++) {
                    vec4 ra[TM4], rb[TN4];
                    for (uint i = 0u; i < TM4; i++) ra[i] = sa[k * SA + ty + 16u * i];
                    for (uint j = 0u; j < TN4; j++) rb[j] = sb[k * SB + tx + 16u * j];
                    for (uint i = 0u; i < TM4; i++)
                        for (uint r = 0u; r < 4u; r++)
                            for (uint j = 0u; j < TN4; j++) acc[(4u * i + r) * TN4 + j] += ra[i][r] * rb[j];
                }
                barrier(); // tiles read -> next step overwrites them
            }

            for (uint i = 0u; i < TM4; i++) {
                for (uint r = 0u; r < 4u; r++) {
                    uint m = m0 + 4u * (ty + 16u * i) + r;
                    if (m >= pc.M) continue;
                    for (uint j = 0u; j < TN4; j++) {
                        vec4 v = acc[(4u * i + r) * TN4 + j];
                        uint n = n0 + 4u * (tx + 16u * j);
                        if (n < pc.N) gemm_store(z, m, n, v.x);
                        if (n + 1u < pc.N) gemm_store(z, m, n + 1u, v.y);
                        if (n + 2u < pc.N) gemm_store(z, m, n + 2u, v.z);
                        if (n + 3u < pc.N) gemm_store(z, m, n + 3u, v.w);
                    }
                }
            }
        }
    }
}
