/* moco.h — MoCo's logits, their positive column, and the key queue (shaders/moco.comp).
 *
 * The queue is a (K + 1, D) device buffer: row 0 stays zero, rows 1..K are the K keys.
 * With it the negatives are one GEMM each way (logits = q [0; queue]^T / T, d_q =
 * d_logits [0; queue] / T), and the positive logit sits in column 0 (the cross-entropy
 * label of every row), as in the MoCo paper. Legend: R = query rows, D = embedding dim,
 * K = queue length, E = keys enqueued per step.
 */
#ifndef VC_OPS_MOCO_H
#define VC_OPS_MOCO_H

#include "vk/vk.h"

/* The largest queue the enqueue kernel's pointer arithmetic allows. */
#define VC_MOCO_MAX_QUEUE 65535

/* logits (R, K+1) = [q_i . k_{(i+off) mod R}, q_i . queue_1..K] / T for q, k (R, D). */
void vc_moco_logits(VcCmd *cmd, int R, int D, int K, int off, float temperature, VcBuffer logits, VcBuffer q, VcBuffer k,
                    VcBuffer queue);
/* d_q (R, D) = d_logits (R, K+1) [k+; queue] / T (written, not accumulated). */
void vc_moco_logits_backward(VcCmd *cmd, int R, int D, int K, int off, float temperature, VcBuffer d_q, VcBuffer d_logits,
                             VcBuffer k, VcBuffer queue);
/* queue rows 1 + (ptr + j) mod K = k_j (E, D), ptr = s E mod K with s = hyper[VC_HYPER_STEP] - 1.
 * Needs E <= K <= VC_MOCO_MAX_QUEUE. */
void vc_moco_enqueue(VcCmd *cmd, int E, int D, int K, VcBuffer queue, VcBuffer k, VcBuffer hyper);
/* The write pointer the enqueue of 0-based step s uses (host side, for checkpoints). */
int vc_moco_queue_ptr(long s, int E, int K);

#endif
