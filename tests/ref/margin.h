/* margin.h (reference) — the triplet and block-contrastive losses in plain C, in double:
 * the oracle of shaders/margin.comp and the readable spec (see src/ops/margin.h).
 * z (2N, D) = [view 1 of the N images; view 2]; anchors are rows i < N. */
#ifndef VC_REF_MARGIN_H
#define VC_REF_MARGIN_H

#include <stdbool.h>
#include <stdint.h>

/* The random negative of anchor i: column in [0, 2N) other than i and N + i. */
int ref_triplet_random_negative(int N, uint32_t seed, uint32_t step, int i);
/* Mean triplet loss; dz (2N, D) written when not NULL, neg (N) when not NULL. */
double ref_triplet(int N, int D, float margin, bool hard, uint32_t seed, uint32_t step, const float *z, float *dz,
                   int *neg);
/* Distance of the data to the loss's kinks: the smallest |hinge| over anchors and, with
 * hard mining, the smallest gap between the best and second-best negative. */
double ref_triplet_kink_distance(int N, int D, float margin, bool hard, const float *z);
/* Mean block loss (hinge or logistic); dz (2N, D) written when not NULL. */
double ref_block(int N, int D, int block, bool hinge, const float *z, float *dz);
/* Smallest |1 - v_i| over anchors (the hinge's kink). */
double ref_block_kink_distance(int N, int D, int block, const float *z);

#endif
