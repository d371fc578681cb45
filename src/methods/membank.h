/* membank.h — instance discrimination with a memory bank (Wu et al. 2018), recorded once.
 *
 *   one augmented view of each of the N images of the step -> encoder -> head -> f (l2)
 *   bank (n images x D, unit rows, random at the start) on the GPU
 *   logits = [f_i . bank[i], f_i . bank[negatives]] / T, negatives K rows drawn with
 *            replacement per step (--negatives K, the same K for the whole batch) or the
 *            whole bank (--negatives all); a negative that is the sample's own entry is
 *            masked out, so with `all` the softmax runs over the n entries exactly once
 *   loss = cross-entropy with the own entry at index 0 (T = 0.07 by default)
 *   backward through the encoder, optimizer step, then
 *   bank[i] <- normalize(m bank[i] + (1 - m) f_i), m = 0.5 by default
 *
 * The negatives are a hash of (seed, step, j), so a resumed run draws the same ones; a
 * checkpoint carries the bank (membank.bank, n x D, row i = image i).
 */
#ifndef VC_METHODS_MEMBANK_H
#define VC_METHODS_MEMBANK_H

#include "methods/method.h"

/* For tests: the bank, (n + 1, D) with row 0 zero, and the features f of the last step. */
VcBuffer vc_membank_bank(const VcMethod *me);
VcBuffer vc_membank_features(const VcMethod *me);

#endif
