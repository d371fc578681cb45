/* margin.h — the triplet (margin) and block-contrastive methods, recorded once per run.
 *
 *   2 views of each of the N images -> encoder -> head -> z (2N, D) -> l2 normalize
 *   triplet (--method triplet): anchor = view 1 of image i, positive = view 2 of image i,
 *     negative n_i = one of the 2N - 2 views of the other images of the batch: the most
 *     similar (--mining hard, default) or a hash of (seed, step, i) (--mining random; the
 *     same on --resume); loss = mean_i max(0, margin + s(a_i, n_i) - s(a_i, p_i)), s the
 *     cosine similarity, --margin 0.5 by default.
 *   block (--method block; Arora et al. ICML 2019, the block loss): the batch is split
 *     into N / b blocks of b consecutive images (--block-size, default 4; b divides N,
 *     N / b >= 2). Every view-1 row z_i of block k is an anchor against the block means:
 *       v_i = z_i . (mean_{j in k} z2_j - mean_{j in k+1 mod N/b} z2_j)
 *     where z2_j is the view-2 projection of image j (x+ = the same images' other views,
 *     x- = the views of the next block's images); loss = mean over the N anchors of
 *     l(v_i), l(v) = log(1 + exp(-v)) (--block-loss logistic, default) or max(0, 1 - v)
 *     (hinge). f is the l2-normalized projection, so v lies in [-2, 2].
 *   backward through head and encoder, optimizer update (cosine lr, as SimCLR).
 * No state besides the weights and the optimizer's: checkpoints hold nothing extra.
 */
#ifndef VC_METHODS_MARGIN_H
#define VC_METHODS_MARGIN_H

#include "methods/method.h"

/* For tests: the normalized projections z (2N, D) and, for triplet, the negatives (N int32). */
VcBuffer vc_margin_method_z(const VcMethod *me);
VcBuffer vc_margin_method_negatives(const VcMethod *me);

#endif
