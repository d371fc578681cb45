/* margin.h — the triplet (margin) and block-contrastive losses (shaders/margin.comp).
 *
 * Both run on z (2N, D): the l2-normalized projections [view 1 of the N images; view 2],
 * through the similarity matrix S = z z^T (2N, 2N) and G = dL/dS, so that the gradient is
 * dz = (G + G^T) z: three GEMMs around a row pass. Only view-1 rows are anchors (i < N).
 *
 *   triplet  loss = mean_i max(0, margin + S[i][n_i] - S[i][N+i]); n_i among the other
 *            images' 2N - 2 views: the most similar (hard) or a hash of (seed, step, i)
 *            (random; seed = batch_info[0], step = hyper[VC_HYPER_STEP] - 1).
 *   block    (Arora et al. 2019) blocks of b images, N/b >= 2 blocks; anchor i of block k:
 *            v_i = z_i . (mean_{j in k} z_{N+j} - mean_{j in k+1 mod N/b} z_{N+j});
 *            loss = mean_i l(v_i), l(v) = log(1 + exp(-v)) or max(0, 1 - v).
 *
 * Legend: N = images a step, D = embedding dim, b = block size.
 */
#ifndef VC_OPS_MARGIN_H
#define VC_OPS_MARGIN_H

#include "vk/vk.h"

/* Scratch of one loss call: sim and G (2N, 2N), rowloss (N), neg (N int32, triplet). */
typedef struct VcMarginBuffers {
    VcBuffer sim, G, rowloss, neg;
} VcMarginBuffers;

int vc_margin_buffers_alloc(VcContext *ctx, int N, VcMarginBuffers *b);
void vc_margin_buffers_free(VcContext *ctx, VcMarginBuffers *b);

/* loss (1) and dz (2N, D) written (not accumulated); neg (N) the chosen negative columns. */
void vc_triplet(VcCmd *cmd, int N, int D, float margin, bool hard, VcBuffer loss, VcBuffer dz, VcBuffer z,
                const VcMarginBuffers *b, VcBuffer batch_info, VcBuffer hyper);
/* loss (1) and dz (2N, D) written; N must be a multiple of block and N / block >= 2. */
void vc_block_loss(VcCmd *cmd, int N, int D, int block, bool hinge, VcBuffer loss, VcBuffer dz, VcBuffer z,
                   const VcMarginBuffers *b);

#endif
