/* loss.h — row L2 normalization, softmax cross-entropy and NT-Xent (SimCLR's InfoNCE).
 *
 * Losses are the end of the graph, so each computes its value and the gradient of the
 * mean loss with respect to its input in one call; the loss lands in a 1-float device
 * buffer (never read back inside a step). Backward functions accumulate (+=).
 */
#ifndef VC_OPS_LOSS_H
#define VC_OPS_LOSS_H

#include "vk/vk.h"

/* out (rows, D) = x / max(||x||, eps) per row, eps = 1e-12 (as F.normalize); norms (rows) saved. */
/* Rows up to VC_L2NORM_MAX_D long: one invocation walks a row twice, and lavapipe stops an
 * invocation silently after 65535 loop iterations (longer rows are refused). */
#define VC_L2NORM_MAX_D 16384
void vc_l2norm_forward(VcCmd *cmd, int rows, int D, VcBuffer out, VcBuffer x, VcBuffer norms);
/* d_x (rows, D) += gradient through the normalization, given d_out, out and norms. */
void vc_l2norm_backward(VcCmd *cmd, int rows, int D, VcBuffer d_x, VcBuffer d_out, VcBuffer out, VcBuffer norms);

/* Mean over rows of -log softmax(logits)[label]. loss (1) written; d_logits (rows, classes)
 * written (not accumulated) with (softmax - onehot) * scale / rows. labels: int32 (rows).
 * A label outside [0, classes) marks an ignored row: it adds 0 to the loss (the mean still
 * divides by rows, unlike PyTorch's ignore_index) and its d_logits row is 0.
 * d_logits must not alias logits (a group of 4 floats may straddle two rows). */
void vc_cross_entropy(VcCmd *cmd, int rows, int classes, VcBuffer loss, VcBuffer d_logits, VcBuffer logits, VcBuffer labels,
                      float scale);

/* NT-Xent over z (2N, D), rows l2-normalized: S = z z^T / T with the diagonal masked,
 * positives i <-> i+N; loss (1) = mean over the 2N rows of cross-entropy; dz (2N, D)
 * written with the gradient of that mean. sim: scratch (2N, 2N), the only such matrix.
 * The math does not assume unit rows: dz is the exact gradient for any z. sim must fit
 * one storage binding (maxStorageBufferRange: 128 MiB on lavapipe, so 2N <= 5792). */
void vc_ntxent(VcCmd *cmd, int N2, int D, float temperature, VcBuffer loss, VcBuffer dz, VcBuffer z, VcBuffer sim);

/* Kernel choice, for tests and benchmarks. On CPU devices (lavapipe) cross-entropy and
 * NT-Xent read their big inputs as RGBA32F texel buffers where shapes and offsets allow,
 * with CPU workgroup and tile sizes; on GPUs they use storage buffers and GPU sizes.
 * force_plain: storage buffers everywhere. force_gpu_sizes: GPU sizes on any device.
 * With both on, lavapipe runs exactly what a GPU runs. */
void vc_loss_force_plain(bool on);
void vc_loss_force_gpu_sizes(bool on);

#endif
