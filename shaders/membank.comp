#version 450
// membank.comp — the memory bank of instance discrimination (Wu et al. 2018), around the
// GEMMs of ops/moco.h (src/ops/membank.c).
//
// The bank is an (n + 1, D) buffer: row 0 stays zero (so it can serve as the "queue" of
// vc_moco_logits when every entry is a negative), rows 1..n are the images' vectors.
// Index buffers hold bank rows (image index + 1).
//   INDEX   idx[i] = perm[first + i] + 1 for the N images of the step (first and the seed
//           from the augmentation's step buffer), and unless ALL, K negatives drawn with
//           replacement: neg[j] = 1 + hash(seed, step, j) mod n (step = hyper[1] - 1), so
//           a resumed run draws the same ones.
//   MASK    a negative that is the sample's own entry gets logit -1e30 (softmax weight 0):
//           with ALL the positive would otherwise be counted twice.
//   UPDATE  bank[idx_i] = normalize(m bank[idx_i] + (1 - m) f_i), from the gathered rows.
//! variant membank_index -DINDEX=1
//! variant membank_mask -DMASK=1
//! variant membank_update -DUPDATE=1
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push {
    uint N, K, n, D;
    uint all;   // every bank entry is a negative (K = n)
    float m;    // bank momentum (UPDATE)
} pc;

#if INDEX
layout(std430, binding = 0) writeonly buffer I { int idx[]; };  // (N + K): N rows, then K negatives
layout(std430, binding = 1) readonly buffer P { int perm[]; };
layout(std430, binding = 2) readonly buffer S { uint batch_info[]; };
layout(std430, binding = 3) readonly buffer H { float hyper[]; };

uint hash(uint x) { // a 32-bit integer mixer (two multiply-xorshift rounds)
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

void main() {
    uint e = flat_index();
    if (e < pc.N) {
        idx[e] = perm[batch_info[2] + e] + 1;
    } else if (e < pc.N + pc.K && pc.all == 0u) {
        uint step = uint(hyper[1]) - 1u;
        uint r = hash(hash(hash(batch_info[0] ^ 0x6d656d62u) ^ step) + (e - pc.N));
        idx[e] = int(1u + r % pc.n);
    }
}
#elif MASK
layout(std430, binding = 0) buffer L { float logits[]; };     // (N, K + 1)
layout(std430, binding = 1) readonly buffer I { int idx[]; }; // (N + K)
void main() {
    uint e = flat_index();
    if (e >= pc.N * pc.K) return;
    uint i = e / pc.K, j = e % pc.K;
    int neg = pc.all != 0u ? int(j + 1u) : idx[pc.N + j];
    if (neg == idx[i]) logits[i * (pc.K + 1u) + 1u + j] = -1e30;
}
#elif UPDATE
layout(std430, binding = 0) buffer Bk { float bank[]; };         // (n + 1, D)
layout(std430, binding = 1) readonly buffer F { float f[]; };    // (N, D) normalized features
layout(std430, binding = 2) readonly buffer Ps { float pos[]; }; // (N, D) bank rows gathered before the step
layout(std430, binding = 3) readonly buffer I { int idx[]; };    // (N)
void main() {
    uint i = flat_index();
    if (i >= pc.N) return;
    float ss = 0;
    for (uint d = 0; d < pc.D; d++) {
        float v = pc.m * pos[i * pc.D + d] + (1.0 - pc.m) * f[i * pc.D + d];
        ss += v * v;
    }
    float inv = 1.0 / max(sqrt(ss), 1e-12);
    uint row = uint(idx[i]);
    for (uint d = 0; d < pc.D; d++) bank[row * pc.D + d] = (pc.m * pos[i * pc.D + d] + (1.0 - pc.m) * f[i * pc.D + d]) * inv;
}
#endif
