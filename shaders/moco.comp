#version 450
// moco.comp — the MoCo-specific pieces of the step around the GEMMs (src/ops/moco.c).
//
// The queue lives in a (K + 1, D) buffer whose row 0 is all zeros and whose rows 1..K
// hold the keys. One GEMM then gives logits (R, K + 1) = q [0; queue]^T / T with column
// 0 = 0, and one GEMM gives d_q = d_logits [0; queue] / T without a strided view of the
// negative columns; these kernels handle the positive column 0:
//   POS_FWD   logits[i, 0] = q_i . k_{(i + off) mod R} / T          (one invocation a row)
//   POS_BWD   d_q[i, :] += d_logits[i, 0] k_{(i + off) mod R} / T   (one per element)
//   ENQUEUE   queue row 1 + (ptr + j) mod K = k_j for j < E, with ptr = s E mod K for the
//             0-based step s = hyper[1] - 1: the write pointer follows from the step
//             counter on the GPU, so a step recorded once wraps for any K >= E.
//! variant moco_pos_fwd -DPOS_FWD=1
//! variant moco_pos_bwd -DPOS_BWD=1
//! variant moco_enqueue -DENQUEUE=1
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push {
    uint R;      // query rows
    uint D;
    uint K;      // queue length
    uint off;    // row i's positive key is key row (i + off) mod R
    float inv_t; // 1 / temperature
} pc;

#if POS_FWD
layout(std430, binding = 0) buffer L { float logits[]; };     // (R, K + 1): column 0 written
layout(std430, binding = 1) readonly buffer Q { float q[]; };  // (R, D)
layout(std430, binding = 2) readonly buffer Kb { float k[]; }; // (R, D)
void main() {
    uint i = flat_index();
    if (i >= pc.R) return;
    uint kr = (i + pc.off) % pc.R;
    float s = 0;
    for (uint d = 0; d < pc.D; d++) s += q[i * pc.D + d] * k[kr * pc.D + d];
    logits[i * (pc.K + 1u)] = s * pc.inv_t;
}
#elif POS_BWD
layout(std430, binding = 0) buffer DQ { float d_q[]; };            // (R, D) +=
layout(std430, binding = 1) readonly buffer DL { float d_logits[]; }; // (R, K + 1): column 0 read
layout(std430, binding = 2) readonly buffer Kb { float k[]; };      // (R, D)
void main() {
    uint e = flat_index();
    if (e >= pc.R * pc.D) return;
    uint i = e / pc.D, d = e % pc.D, kr = (i + pc.off) % pc.R;
    d_q[e] += d_logits[i * (pc.K + 1u)] * k[kr * pc.D + d] * pc.inv_t;
}
#elif ENQUEUE
layout(std430, binding = 0) buffer Qu { float queue[]; };           // (K + 1, D)
layout(std430, binding = 1) readonly buffer Kb { float k[]; };      // (E, D), E = R here
layout(std430, binding = 2) readonly buffer H { float hyper[]; };   // [1]: 1-based step
void main() {
    uint e = flat_index();
    if (e >= pc.R * pc.D) return;
    uint j = e / pc.D, d = e % pc.D;
    uint s = uint(hyper[1]) - 1u;
    uint ptr = ((s % pc.K) * (pc.R % pc.K)) % pc.K; // s E mod K without overflow (K < 65536)
    queue[(1u + (ptr + j) % pc.K) * pc.D + d] = k[e];
}
#endif
