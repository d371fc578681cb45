/* ref/augment.h — C reference of the SimCLR augmentation (shaders/augment.comp).
 *
 * The readable spec of what a view is: Philox 4x32-10, the parameter sampler (in fp32
 * with the same operations as the shader, so crop boxes and coin flips are identical),
 * and the image operations in double precision.
 */
#ifndef VC_REF_AUGMENT_H
#define VC_REF_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "ops/augment.h"

/* Philox 4x32-10 (Random123's philox4x32_R(10, ctr, key)). */
void ref_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The parameters of view `view` of dataset image `index` for images (C, H, W). */
void ref_augment_params(const VcAugmentConfig *cfg, int C, int H, int W, uint32_t seed, uint32_t epoch, uint32_t index,
                        uint32_t view, VcAugmentParams *p);

/* Blur kernel size used for output size S (config value, or ~10% of S made odd). */
int ref_augment_blur_kernel(const VcAugmentConfig *cfg, int S);

/* One view out (C, S, S) of image img (C, H, W) uint8 with parameters p. */
void ref_augment_view(const VcAugmentConfig *cfg, const VcAugmentParams *p, const uint8_t *img, int C, int H, int W, int S,
                      double *out);

/* A batch as vc_augment_record computes it: views (V*N, C, S, S) from data (n_data, C, H, W)
 * unpacked uint8, the permutation perm (perm_len) and the step. */
void ref_augment_batch(const VcAugmentConfig *cfg, const VcAugmentShape *sh, const uint8_t *data, const int32_t *perm,
                       size_t perm_len, const VcAugmentStep *step, double *views);

#endif
