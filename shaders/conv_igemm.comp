#version 450
// conv_igemm.comp — the CPU-device convolution kernel: an implicit GEMM (no im2col matrix)
// over RGBA32F texel rows, used for the forward, the dgrad and the wgrad:
//
//   out[m, n] (+)= sum_{l1, l2, l3} dot(A[arow(m) + l1 a1 + l2 a2 + l3],
//                                        B[bpix(n) + l1 b1 + l2 b2 + l3])
//   arow(m) = a_off + m a_m
//   bpix(n) = ((b Hs + u su + r0) Ws + v sv + c0) C4,  n = (b, u, v) on a Hq x Wq grid
//   out index = o_off + z o_z + m o_m + b o_b + u o_u + v o_v
//   l1 in [z l1_split, (z + 1) l1_split) for split z of the reduction (l1 < L1)
//
// Every index is in range by construction (the operands are zero-padded copies), so the
// kernel has no bounds checks. Uses (see src/ops/conv.c):
//   forward  m = co, n = output pixel, (l1, l2, l3) = (ky, kx, c4): weights x padded NHWC4 input
//   dgrad    one dispatch per stride phase: m = ci, n = input pixel of the phase,
//            (l1, l2, l3) = (ty, tx, co4) over padded NHWC4 d_out, taps walking backwards
//   wgrad    m = co, n = (ci, ky, kx), (l1, l2, l3) = (image, output row, 4-pixel texel):
//            d_out rows x shifted input rows; split z takes a range of images (l1)
//            and writes its own partial sum
//
// Why this shape on lavapipe: a texel fetch costs ~15 instructions per invocation (a
// per-lane load and transpose), a multiply-add 2 per 8 invocations, so an invocation
// computes a TM x TN register tile (TM + TN fetches per 4 TM TN multiply-adds), loads
// everything before the multiply-adds and uses no shared memory. Dot products (4 terms
// per accumulator update) keep the spilled accumulators' memory traffic low. Loops over
// the tile are fully unrolled and nothing returns early, so the accumulators stay plain
// values (a dynamically indexed or masked array becomes per-lane memory accesses).
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 16; // rows m per invocation
layout(constant_id = 2) const uint TN = 16; // columns n per invocation
layout(constant_id = 3) const bool ACCUMULATE = false; // out += result (else out = result)
// VEC4: every aligned group of 4 columns n lands on 4 consecutive, 16-byte aligned out
// elements (the host checks: o_v = 1, o_u = Wq, Hq Wq % 4 = 0, offsets and strides % 4 = 0),
// so results are stored 4 at a time (each store is a loop over the SIMD lanes in lavapipe).
layout(constant_id = 4) const bool VEC4 = false;

layout(binding = 0) uniform samplerBuffer A;
layout(binding = 1) uniform samplerBuffer B;
layout(std430, binding = 2) buffer Out { float o[]; };
layout(std430, binding = 2) buffer Out4 { vec4 o4[]; }; // the same buffer, for VEC4 stores

layout(push_constant) uniform Push {
    uint M, N;                 // output rows m and columns n
    uint Hq, Wq;               // n = (b, u, v) on a Hq x Wq grid
    uint Hs, Ws, C4, su, sv, r0, c0; // bpix(n), see above
    uint L1, L2, L3;           // reduction loops
    int a1, a2, b1, b2;        // their strides in A and B (l3 has stride 1 in both)
    uint splits, l1_split;     // splits z of the reduction; l1 iterations per split
    uint a_off, a_m;           // arow(m)
    uint o_off, o_m, o_b, o_u, o_v, o_z;
} pc;

void main() {
    // invocation -> (split z, tile); splits are spread over invocations, not workgroups,
    // so that a small output (few tiles) still fills the workgroups
    uint tiles_m = (pc.M + TM - 1) / TM, tiles_n = (pc.N + TN - 1) / TN, tiles = tiles_m * tiles_n;
    uint t = flat_index();
    bool live = t < tiles * pc.splits;
    t = min(t, tiles * pc.splits - 1); // spare invocations redo the last tile, store nothing
    uint z = conv_udiv(t, tiles);
    t -= z * tiles;
    uint tn = conv_udiv(t, tiles_m), tm = t - tn * tiles_m; // m fastest: neighbours share B
    uint m0 = tm * TM, n0 = tn * TN;
    uint HWq = pc.Hq * pc.Wq;

    // rows and columns past the edge are clamped to valid ones; their results are dropped
    int arow[TM];
    [[unroll]] for (uint i = 0; i < TM; i++) arow[i] = int(pc.a_off + min(m0 + i, pc.M - 1) * pc.a_m);
    int bpix[TN];  // first texel of each column's operand
    uint opix[TN]; // out index of each column, without the m term
    // (b, u, v) of column n0 by division, then of n0 + 1, ... by stepping (at most one wrap
    // per step: selects, where a division per column costs two correction loops)
    uint n = n0;
    uint b = conv_udiv(n, HWq), r = n - b * HWq;
    uint u = conv_udiv(r, pc.Wq), v = r - u * pc.Wq;
    uint bl = conv_udiv(pc.N - 1, HWq), rl = pc.N - 1 - bl * HWq; // the last column
    uint ul = conv_udiv(rl, pc.Wq), vl = rl - ul * pc.Wq;
    [[unroll]] for (uint j = 0; j < TN; j++) {
        // columns past the edge repeat the last one (their results are dropped)
        bool in_n = n < pc.N;
        uint bj = in_n ? b : bl, uj = in_n ? u : ul, vj = in_n ? v : vl;
        bpix[j] = int(((bj * pc.Hs + uj * pc.su + pc.r0) * pc.Ws + vj * pc.sv + pc.c0) * pc.C4);
        opix[j] = pc.o_off + z * pc.o_z + bj * pc.o_b + uj * pc.o_u + vj * pc.o_v;
        n++, v++;
        bool wv = v == pc.Wq;
        v = wv ? 0 : v;
        u += wv ? 1 : 0;
        bool wu = u == pc.Hq;
        u = wu ? 0 : u;
        b += wu ? 1 : 0;
    }

    float acc[TM][TN];
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] = 0.0;
    // The same trip counts in every invocation (loop bounds that differ between
    // invocations would put every accumulator update under an execution mask): a split's
    // l1 past L1 re-reads the last one with its A operand scaled by 0.
    for (uint i1 = 0; i1 < pc.l1_split; i1++) {
        uint l1 = z * pc.l1_split + i1;
        float scale = l1 < pc.L1 ? 1.0 : 0.0;
        l1 = min(l1, pc.L1 - 1);
        for (uint l2 = 0; l2 < pc.L2; l2++) {
            int aoff = int(l1) * pc.a1 + int(l2) * pc.a2, boff = int(l1) * pc.b1 + int(l2) * pc.b2;
            for (uint l3 = 0; l3 < pc.L3; l3++) {
                vec4 a[TM], b[TN]; // every load first, then the multiply-adds
                [[unroll]] for (uint i = 0; i < TM; i++) a[i] = scale * texelFetch(A, arow[i] + aoff + int(l3));
                [[unroll]] for (uint j = 0; j < TN; j++) b[j] = texelFetch(B, bpix[j] + boff + int(l3));
                [[unroll]] for (uint i = 0; i < TM; i++)
                    [[unroll]] for (uint j = 0; j < TN; j++) acc[i][j] += dot(a[i], b[j]);
            }
        }
    }

    if (VEC4) {
        [[unroll]] for (uint j = 0; j < TN; j += 4) {
            [[unroll]] for (uint i = 0; i < TM; i++) {
                if (live && n0 + j < pc.N && m0 + i < pc.M) { // N % 4 = 0: the whole group is inside
                    uint idx = (opix[j] + (m0 + i) * pc.o_m) >> 2;
                    vec4 v = vec4(acc[i][j], acc[i][j + 1], acc[i][j + 2], acc[i][j + 3]);
                    if (ACCUMULATE) o4[idx] += v;
                    else o4[idx] = v;
                }
            }
        }
        return;
    }
    [[unroll]] for (uint j = 0; j < TN; j++) {
        [[unroll]] for (uint i = 0; i < TM; i++) {
            if (live && n0 + j < pc.N && m0 + i < pc.M) {
                uint idx = opix[j] + (m0 + i) * pc.o_m;
                // a specialization constant: no load at all when overwriting
                if (ACCUMULATE) o[idx] += acc[i][j];
                else o[idx] = acc[i][j];
            }
        }
    }
}
