/* membank.h — the memory bank of instance discrimination (shaders/membank.comp).
 *
 * bank (n + 1, D): row 0 zero, row 1 + i the vector of image i. Index buffers are int32
 * bank rows. With vc_moco_logits (ops/moco.h) the logits of N features f against their
 * own entries (column 0) and K negatives are: pos = bank[idx], negatives = a (K + 1, D)
 * buffer whose rows 1..K are bank[neg] (row 0 zero), or the bank itself for all n.
 * Legend: N = images a step, K = negatives, n = images in the bank, D = embedding dim.
 */
#ifndef VC_OPS_MEMBANK_H
#define VC_OPS_MEMBANK_H

#include "vk/vk.h"

/* idx (N + K) int32: rows of the step's images perm[first + i] + 1, first and the seed from
 * batch_info (VcAugmentStep), then unless all K negatives 1 + hash(seed, step, j) mod n with
 * step = hyper[VC_HYPER_STEP] - 1. */
void vc_membank_indices(VcCmd *cmd, int N, int K, int n, bool all, VcBuffer idx, VcBuffer perm, VcBuffer batch_info,
                        VcBuffer hyper);
/* logits (N, K+1): column 1 + j = -1e30 where negative j is row i's own entry. */
void vc_membank_mask(VcCmd *cmd, int N, int K, bool all, VcBuffer logits, VcBuffer idx);
/* bank[idx_i] = normalize(m pos_i + (1 - m) f_i) for i < N; pos, f (N, D). */
void vc_membank_update(VcCmd *cmd, int N, int D, int n, float m, VcBuffer bank, VcBuffer f, VcBuffer pos, VcBuffer idx);

#endif
