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
void vc_l2norm_forward(VcCmd *cmd, int rows, int D, VcBuffer out, VcBuffer x, VcBuffer norms);
/* d_x (rows, D) += gradient through the normalization, given d_out, out and norms. */
void vc_l2norm_backward(VcCmd *cmd, int rows, int D, VcBuffer d_x, VcBuffer d_out, VcBuffer out, VcBuffer norms);

/* Mean over rows of -log softmax(logits)[label]. loss (1) written; d_logits (rows, classes)
 * written (not accumulated) with (softmax - onehot) * scale / rows. labels: int32 (rows). */
void vc_cross_entropy(VcCmd *cmd, int rows, int classes, VcBuffer loss, VcBuffer d_logits, VcBuffer logits, VcBuffer labels,
                      float scale);

/* NT-Xent over z (2N, D), rows l2-normalized: S = z z^T / T with the diagonal masked,
 * positives i <-> i+N; loss (1) = mean over the 2N rows of cross-entropy; dz (2N, D)
 * written with the gradient of that mean. sim: scratch (2N, 2N), the only such matrix. */
void vc_ntxent(VcCmd *cmd, int N2, int D, float temperature, VcBuffer loss, VcBuffer dz, VcBuffer z, VcBuffer sim);

#endif
