#version 450
// gemm_reg.comp — register-blocked GEMM for CPU Vulkan devices (lavapipe), the TEXEL variant.
//
// Each invocation computes a TM x TN block of C with no shared memory and no barriers: on
// a CPU, shared memory is only overhead and every storage-buffer access costs a loop over
// the SIMD lanes (shared/notes/lavapipe-and-gpus.md). Per round, an invocation first loads
// A[m][k..k+3] for its TM rows and B[k..k+3][n] for its TN columns, for DEPTH steps of 4
// along K, then does TM*TN dot products of length 4*DEPTH, touching each accumulator once
// per round (lavapipe blends every loop-carried write with the lane mask, so fewer writes
// per FLOP pay). Loads come from RGBA32F uniform texel buffers (texelFetch is 2-3x
// cheaper than a storage-buffer load there); one texel = 4 floats along the operand's
// contiguous dimension:
//   A (M, K) [TRANS_A false] texel = 4 k of one row m        (needs K % 4 == 0)
//   A (K, M) [TRANS_A true]  texel = 4 rows m at one k        (needs M % 4 == 0)
//   B (N, K) [TRANS_B true]  texel = 4 k of one column n      (needs K % 4 == 0)
//   B (K, N) [TRANS_B false] texel = 4 columns n at one k     (needs N % 4 == 0)
// Lavapipe keeps every vec4 as 4 separate SIMD registers, so rearranging texels into
// "4 values along K" costs nothing. Offsets and batch strides must be multiples of 4
// floats too; src/ops/gemm.c checks all this and otherwise picks gemm_reg_ssbo, the same
// kernel reading plain storage buffers one float at a time (any shape and offset).
//
// Edge blocks: rows/columns past M/N are clamped (valid memory, results not stored); values
// past K read as zero (a K not divisible by 4 is possible only when neither operand is
// K-contiguous, or with the storage-buffer loads).
// Results are written 4 at a time (vec4 stores, 4x fewer lane loops) when the host sets
// flag 2 (C rows, offset and stride in whole vec4, bias offset too); else one at a time.
//
// Measured on lavapipe (Mesa 22.3, 2 cores, Zen 5, often under load from other jobs),
// 2048^3, GFLOP/s per 2 cores of CPU time: 32x16 DEPTH 2 (chosen) 50-55; 32x8 45-50 (DEPTH
// 1 about the same); 64x16 ~43, 16x16 ~34, 32x32 ~34, 8x8 ~28. On the conv shape
// 128x12544x576: 32x16 45-52, 32x8 22-38. vec4 stores: 1.7x faster than scalar ones at
// K = 32. Lavapipe compiles at the first dispatch (keeping the result in Mesa's disk
// cache): about 2 s per pipeline uncached.
// Reading the transposes from push constants instead of spec constants cost 35%.
// Where the time goes (perf): ~40% in lavapipe's texel fetch (8 lane loads + transpose per
// texel, stalls on cache misses), the rest multiply-adds with accumulators spilled to the
// stack and blended with the lane mask.
//
// Grid: one invocation per block, 1-D workgroups of spec constant 0 invocations laid out by
// vc_grid_1d (x then y), z = batch item. Blocks are ordered with n fastest, so the
// invocations of one SIMD group share their A rows.
//! variant gemm_reg_tex -DTEXEL=1
// (src/ops/gemm.c knows the tile sizes of both variants)
//! variant gemm_reg_ssbo -DDEPTH=1 -DTN=8
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "gemm_common.glsl"

#ifndef TM
#define TM 32 // rows of C per invocation (multiple of 4)
#endif
#ifndef TN
#define TN 16 // columns of C per invocation (multiple of 4)
#endif
#ifndef DEPTH
#define DEPTH 2 // K steps of 4 loaded before each round of multiply-adds
#endif

layout(local_size_x_id = 0) in;
// C and bias again, as vec4 (same bindings as c[] and bias[] in gemm_common.glsl)
layout(std430, binding = 2) buffer BufC4 { vec4 c4[]; };
layout(std430, binding = 3) readonly buffer BufBias4 { vec4 bias4[]; };
layout(constant_id = 1) const bool TRANS_A = false;
layout(constant_id = 2) const bool TRANS_B = true;

#ifdef TEXEL
layout(binding = 0) uniform samplerBuffer ta;
layout(binding = 1) uniform samplerBuffer tb;
#else
layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };
#endif

vec4 ra[DEPTH * TM]; // ra[d * TM + i] = A[m0 + i][k + 4d .. k + 4d + 3]
vec4 rb[DEPTH * TN]; // rb[d * TN + j] = B[k + 4d .. k + 4d + 3][n0 + j]

// Fill slot d of ra and rb for the K step starting at k = 4 * kq. `tail`: this step reaches
// past K, so values at k >= K read as zero (for K-contiguous texel loads, whose K is a
// multiple of 4, the whole step is then past K).
void load_step(uint a0, uint b0, uint m0, uint n0, uint kq, bool tail, int d) {
    uint k = 4u * kq;
#ifdef TEXEL
    if (!TRANS_A) {
        uint K4 = pc.K / 4u, kc = min(kq, K4 - 1u);
        [[unroll]] for (int i = 0; i < TM; i++) {
            vec4 t = texelFetch(ta, int(a0 + min(m0 + i, pc.M - 1u) * (pc.lk / 4u) + kc));
            ra[d * TM + i] = tail ? vec4(0.0) : t;
        }
    } else {
        uint M4 = pc.M / 4u;
        [[unroll]] for (int p = 0; p < TM / 4; p++) {
            uint col = min(m0 / 4u + p, M4 - 1u);
            [[unroll]] for (int q = 0; q < 4; q++) {
                vec4 t = texelFetch(ta, int(a0 + min(k + q, pc.K - 1u) * M4 + col));
                if (tail && k + q >= pc.K) t = vec4(0.0);
                ra[d * TM + 4 * p][q] = t.x;
                ra[d * TM + 4 * p + 1][q] = t.y;
                ra[d * TM + 4 * p + 2][q] = t.z;
                ra[d * TM + 4 * p + 3][q] = t.w;
            }
        }
    }
    if (TRANS_B) {
        uint K4 = pc.K / 4u, kc = min(kq, K4 - 1u);
        [[unroll]] for (int j = 0; j < TN; j++) {
            vec4 t = texelFetch(tb, int(b0 + min(n0 + j, pc.N - 1u) * (pc.lk / 4u) + kc));
            rb[d * TN + j] = tail ? vec4(0.0) : t;
        }
    } else {
        uint N4 = pc.N / 4u;
        [[unroll]] for (int p = 0; p < TN / 4; p++) {
            uint col = min(n0 / 4u + p, N4 - 1u);
            [[unroll]] for (int q = 0; q < 4; q++) {
                vec4 t = texelFetch(tb, int(b0 + min(k + q, pc.K - 1u) * N4 + col));
                if (tail && k + q >= pc.K) t = vec4(0.0);
                rb[d * TN + 4 * p][q] = t.x;
                rb[d * TN + 4 * p + 1][q] = t.y;
                rb[d * TN + 4 * p + 2][q] = t.z;
                rb[d * TN + 4 * p + 3][q] = t.w;
            }
        }
    }
#else
    [[unroll]] for (int q = 0; q < 4; q++) {
        uint kk = min(k + q, pc.K - 1u);
        bool zero = tail && k + q >= pc.K;
        [[unroll]] for (int i = 0; i < TM; i++) {
            uint m = min(m0 + i, pc.M - 1u);
            float v = a[a0 + (TRANS_A ? kk * pc.M + m : m * pc.lk + kk)];
            ra[d * TM + i][q] = zero ? 0.0 : v;
        }
        [[unroll]] for (int j = 0; j < TN; j++) {
            uint n = min(n0 + j, pc.N - 1u);
            float v = b[b0 + (TRANS_B ? n * pc.lk + kk : kk * pc.N + n)];
            rb[d * TN + j][q] = zero ? 0.0 : v;
        }
    }
#endif
}

void main() {
    uint tiles_n = (pc.N + TN - 1u) / TN, tiles_m = (pc.M + TM - 1u) / TM;
    uint t = flat_index();
    if (t >= tiles_m * tiles_n) return;
    uint m0 = (t / tiles_n) * TM, n0 = (t % tiles_n) * TN;
    uint z = gl_WorkGroupID.z;
    uint a0 = pc.a_off + z * pc.stride_a, b0 = pc.b_off + z * pc.stride_b;
#ifdef TEXEL
    a0 /= 4u; // texel indices (the host guarantees multiples of 4)
    b0 /= 4u;
#endif

    float acc[TM * TN];
    [[unroll]] for (int i = 0; i < TM * TN; i++) acc[i] = 0.0;

    // K in steps of 4, DEPTH steps per round; the steps of the last round that reach past K
    // (a partial step, or a whole one when the step count is not a multiple of DEPTH) read
    // zeros. One loop body only: lavapipe's compile time grows fast with code size.
    uint steps = (pc.K + 3u) / 4u, full = pc.K / 4u;
    for (uint k = 0u; k < steps; k += DEPTH) {
        [[unroll]] for (int d = 0; d < DEPTH; d++) load_step(a0, b0, m0, n0, k + d, k + d >= full, d);
        [[unroll]] for (int i = 0; i < TM; i++)
            [[unroll]] for (int j = 0; j < TN; j++) {
                float s = dot(ra[i], rb[j]);
                [[unroll]] for (int d = 1; d < DEPTH; d++) s += dot(ra[d * TM + i], rb[d * TN + j]);
                acc[i * TN + j] += s;
            }
    }

    // Epilogue: C = alpha * acc (+ bias) (+ beta * C) for the rows and columns inside
    // M x N. Rows go one at a time through a real loop: row 0 of acc is written, then every
    // row moves up one. Unrolled, the TM*TN stores (each a loop over the SIMD lanes in
    // lavapipe, plus the bias/beta branches) took LLVM 12 s to compile; this takes 0.5 s
    // and runs as fast.
    uint c0 = pc.c_off + z * pc.stride_c;
    [[dont_unroll]] for (int i = 0; i < TM; i++) {
        uint m = m0 + i;
        if (m < pc.M) {
            if ((pc.flags & 2u) != 0u) { // N % 4 == 0: a vec4 starting inside N is inside
                [[unroll]] for (int j = 0; j < TN; j += 4) {
                    if (n0 + j < pc.N) {
                        uint idx = (c0 + m * pc.N + n0 + j) / 4u;
                        vec4 v = pc.alpha * vec4(acc[j], acc[j + 1], acc[j + 2], acc[j + 3]);
                        if ((pc.flags & 1u) != 0u) v += bias4[(pc.bias_off + n0 + j) / 4u];
                        if (pc.beta != 0.0) v += pc.beta * c4[idx];
                        c4[idx] = v;
                    }
                }
            } else {
                [[unroll]] for (int j = 0; j < TN; j++)
                    if (n0 + j < pc.N) gemm_store(z, m, n0 + j, acc[j]);
            }
        }
        [[unroll]] for (int r = 0; r < (TM - 1) * TN; r++) acc[r] = acc[r + TN];
    }
}
