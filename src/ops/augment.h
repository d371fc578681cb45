/* augment.h — SimCLR data augmentation on the GPU: uint8 dataset in, normalized views out.
 *
 * A contrastive step needs V augmented views of each of the N images of its batch. They
 * are made on the device from the uint8 dataset that lives there, by two dispatches (the
 * parameter sampler, one invocation per view; then the views, one workgroup per view)
 * recorded once and resubmitted every step: the host only rewrites a tiny `step` buffer
 * (seed, epoch, offset of the batch in the epoch's permutation). Every random choice comes
 * from a counter-based RNG, Philox 4x32-10 (Salmon et al. 2011), keyed by (seed, epoch)
 * and counted by (dataset index, view, draw number, 0): a view depends only on those
 * numbers, never on the batch it lands in or on the device, so runs are reproducible and
 * resume exactly; tests/ref/augment.c computes the same views on the CPU.
 *
 * Buffers (B = batch N, V = views, C/H/W = source image, S = output size):
 *   data   uint8 (n_data, C, H, W), packed 4 per uint32 little-endian (byte k of the buffer
 *          is bits 8*(k%4).. of word k/4); bytes read by shifting, so no 8-bit storage
 *          feature is needed. Size at least vc_augment_data_bytes(n_data, C, H, W) (the
 *          byte count rounded up to whole words). A dataset larger than the device's
 *          maxStorageBufferRange (128 MiB on lavapipe) is bound as up to 4 ranges.
 *   perm   int32 (P): the epoch's order of dataset indices, written by the host per epoch.
 *   step   uint32[8], host-written before each submission (VcAugmentStep):
 *            [0] seed       Philox key word 0
 *            [1] epoch      Philox key word 1
 *            [2] first      sample b of this batch has dataset index perm[first + b]
 *            [3] slot_base  with VC_AUGMENT_GATHERED: where the batch starts in `data`
 *            [4] flags      VC_AUGMENT_GATHERED: `data` holds the batch's images in batch
 *                           order from slot slot_base (streamed data); otherwise image b
 *                           is data slot perm[first + b]. The RNG uses the dataset index
 *                           perm[first + b] either way.
 *            [5..7] 0 (reserved)
 *   views  float (V*N, C, S, S): view v of batch sample b is row v*N + b, i.e. [view 0 of
 *          the N samples; view 1 of the N samples; ...] (SimCLR: rows i and i+N are
 *          positives). Normalized: (x/255 - mean[c]) / std[c].
 * A batch entry whose perm position or data slot is out of range gives a zero view.
 *
 * The recipe, per view, in this order (torchvision semantics on float images in [0, 1],
 * i.e. its tensor path: no rounding to uint8 between operations as its PIL path does):
 *   1. random resized crop: torchvision's RandomResizedCrop sampling (area fraction
 *      uniform in [scale_min, scale_max], aspect w/h log-uniform in [ratio_min, ratio_max],
 *      up to 10 tries, then the centre-crop fallback); integer box, resized to S x S by
 *      bilinear interpolation with half-pixel centres (torch interpolate, align_corners =
 *      False, no antialiasing when the box is larger than S). Off: the whole image.
 *   2. horizontal flip with probability flip_p.
 *   3. colour jitter with probability jitter_p: brightness, contrast, saturation, hue
 *      factors drawn as torchvision's ColorJitter ([max(0,1-x), 1+x], hue [-h, h]); the four
 *      are applied in a random order drawn from the RNG (jitter_random_order, as
 *      torchvision) or in the fixed order brightness, contrast, saturation, hue.
 *      Contrast blends with the mean gray level of the image at that point. Saturation and
 *      hue apply to RGB only. A strength of 0 skips that adjustment.
 *   4. random grayscale with probability grayscale_p (RGB only; 0.2989 R + 0.587 G + 0.114 B
 *      copied to the three channels).
 *   5. Gaussian blur with probability blur_p: separable, odd kernel blur_kernel (0: about
 *      10% of S, made odd, as SimCLR), sigma uniform in [blur_sigma_min, blur_sigma_max],
 *      reflect padding.
 *   6. solarize with probability solarize_p: x >= threshold ? 1 - x : x (a jump at the
 *      threshold unless it is 0.5, so a value within rounding of it may flip).
 *   7. normalize: (x - mean[c]) / std[c].
 *
 * Draw numbers (each Philox call gives 4 words; a parameter always uses the same word, so
 * switching one operation on or off never changes the others):
 *   0..9  crop tries: area fraction, log aspect, left, top
 *   10    flip, jitter, grayscale, blur (Bernoulli draws)
 *   11    brightness, contrast, saturation, hue factors
 *   12    jitter order (one of 24 permutations), blur sigma, solarize
 * Uniform floats are (word >> 8) * 2^-24; integers in [0, m) are the high word of word * m.
 * The crop box uses only correctly rounded float operations (a polynomial exp, rounding
 * by exact comparisons), so the GPU and the C reference choose identical boxes; the
 * pixels then agree with the reference (double) to rounding (nmse ~1e-13).
 *
 * Speed: 512 views of 28x28 grayscale take a few ms on lavapipe (2 cores), 512 views of
 * 32x32 RGB with the CIFAR recipe about 10 ms (see tests/test_augment.c for the numbers).
 *
 * Example (a SimCLR step on Fashion-MNIST, batch 256):
 *   VcAugmentConfig cfg = vc_augment_config_simclr(1);
 *   VcAugmentShape sh = {.C = 1, .H = 28, .W = 28, .S = 28, .N = 256, .V = 2, .n_data = 60000};
 *   VcAugment *aug = vc_augment_new(ctx, &cfg, &sh);
 *   vc_augment_record(cmd, aug, views, data, perm, step);      // once, in the step recording
 *   ... per step: vc_augment_step_write(ctx, step, &(VcAugmentStep){seed, epoch, s * 256});
 */
#ifndef VC_OPS_AUGMENT_H
#define VC_OPS_AUGMENT_H

#include <stdbool.h>

#include "vk/vk.h"

/* Augmentation recipe: plain numbers, defaults from vc_augment_config_*(). */
typedef struct VcAugmentConfig {
    bool random_crop;              /* false: the whole image, resized to S x S */
    float scale_min, scale_max;    /* crop area as a fraction of the image area */
    float ratio_min, ratio_max;    /* crop aspect ratio w/h, sampled log-uniformly */
    float flip_p;                  /* horizontal flip probability */
    float jitter_p;                /* probability of applying the colour jitter */
    float brightness, contrast, saturation, hue; /* ColorJitter strengths (hue <= 0.5) */
    bool jitter_random_order;      /* random order of the four adjustments per view */
    float grayscale_p;             /* RGB only */
    float blur_p;                  /* Gaussian blur probability */
    int blur_kernel;               /* odd, <= VC_AUGMENT_MAX_KERNEL; 0: about 10% of S */
    float blur_sigma_min, blur_sigma_max;
    float solarize_p, solarize_threshold; /* threshold on [0, 1] values */
    float mean[3], std[3];         /* per channel normalization of x/255 */
} VcAugmentConfig;

#define VC_AUGMENT_MAX_KERNEL 63

/* SimCLR defaults for a dataset kind. channels 1 (grayscale, e.g. 28x28 Fashion-MNIST):
 * crop scale 0.3-1, ratio 3/4-4/3, flip 0.5, brightness/contrast 0.4 with p 0.8, no blur,
 * mean/std of Fashion-MNIST. channels 3 (the SimCLR CIFAR recipe): crop scale 0.08-1,
 * flip 0.5, jitter (0.4, 0.4, 0.4, 0.1) with p 0.8, grayscale 0.2, no blur, CIFAR-10
 * mean/std. Set mean/std from the data when known (vc_augment_dataset_stats). */
VcAugmentConfig vc_augment_config_simclr(int channels);
/* The recipe `train --method` uses. RGB: SimCLR's (above) for simclr, triplet and block;
 * moco v2: its paper's, crop scale 0.2-1 and otherwise SimCLR's CIFAR recipe (no blur at
 * 32x32, as that recipe); membank and moco v1 (MoCo v1 took it from InstDisc): crop scale
 * 0.2-1, flip 0.5, jitter (0.4, 0.4, 0.4, 0.4) on every view, grayscale 0.2. Grayscale:
 * every method uses vc_augment_config_simclr(1): the recipes differ in colour and in crop
 * scale, and on 28x28 clothes the milder crop is the one measured against PyTorch. */
VcAugmentConfig vc_augment_config_method(const char *method, int moco_version, int channels);
/* No augmentation (evaluation embeddings): the whole image resized to S, normalized. */
VcAugmentConfig vc_augment_config_eval(int channels);
/* VC_OK, or VC_ERR_ARG with a message naming the bad field (for settings from users). */
int vc_augment_config_check(const VcAugmentConfig *cfg, int channels);
/* Per-channel mean and std of x/255 over n images (C, H, W) of uint8 data (host). */
void vc_augment_dataset_stats(const uint8_t *data, size_t n, int C, int H, int W, float *mean, float *std);

/* Shapes fixed for the life of a VcAugment (a run). */
typedef struct VcAugmentShape {
    int C, H, W;  /* source images: channels (1 or 3) and size (each <= 2047) */
    int S;        /* output views are S x S (<= 2047) */
    int N;        /* batch: samples per step */
    int V;        /* views per sample (SimCLR: 2) */
    int n_data;   /* images held in the data buffer (slots) */
} VcAugmentShape;

/* The step buffer (mirrors the shader's view of it; 32 bytes). */
typedef struct VcAugmentStep {
    uint32_t seed, epoch, first, slot_base, flags, reserved[3];
} VcAugmentStep;
_Static_assert(sizeof(VcAugmentStep) == 32, "step buffer layout");
#define VC_AUGMENT_GATHERED 1u

/* Parameters sampled for one view (what vc_augment_record_params writes; mirrors the GLSL
 * struct Params, std430, 64 bytes). */
typedef struct VcAugmentParams {
    int32_t crop_x, crop_y, crop_w, crop_h; /* box in the source image: left, top, size */
    uint32_t flip, jitter, order, grayscale; /* order: op at position k is (order >> 4k) & 15,
                                               0 brightness 1 contrast 2 saturation 3 hue */
    float brightness, contrast, saturation, hue; /* factors (hue: shift in turns) */
    uint32_t blur;
    float sigma;
    uint32_t solarize;
    uint32_t index; /* dataset index of the sample; 0xffffffff: out of range */
} VcAugmentParams;
_Static_assert(sizeof(VcAugmentParams) == 64, "params layout");

typedef struct VcAugment VcAugment;

/* Pipelines, shape, the parameter buffer and (when blur_p > 0) a scratch buffer of the
 * views' size. NULL with an error for a bad config or shape, or a dataset too large to bind. */
VcAugment *vc_augment_new(VcContext *ctx, const VcAugmentConfig *cfg, const VcAugmentShape *shape);
/* The same with a given workgroup size (a power of two <= 1024; 0: automatic, the subgroup
 * size on CPU devices, 64 or 256 on GPUs), for tests that run GPU sizes on lavapipe. */
VcAugment *vc_augment_new_wg(VcContext *ctx, const VcAugmentConfig *cfg, const VcAugmentShape *shape, int workgroup);
/* Free after the recordings that use it. NULL-safe. */
void vc_augment_free(VcAugment *a);
const VcAugmentShape *vc_augment_shape(const VcAugment *a);
const VcAugmentConfig *vc_augment_config(const VcAugment *a);

/* Bytes the data buffer must have for n images (C, H, W): n*C*H*W rounded up to 4. */
size_t vc_augment_data_bytes(size_t n, int C, int H, int W);
/* Bytes of the views buffer: V*N*C*S*S floats. */
size_t vc_augment_views_bytes(const VcAugment *a);

/* Record the augmentation of one batch.
 *   views (V*N, C, S, S) float; data (n_data, C, H, W) uint8 packed; perm (P) int32;
 *   step uint32[8] (VcAugmentStep). */
void vc_augment_record(VcCmd *cmd, VcAugment *a, VcBuffer views, VcBuffer data, VcBuffer perm, VcBuffer step);
/* Record the parameter sampler alone: params (V*N) VcAugmentParams, rows as the views. */
void vc_augment_record_params(VcCmd *cmd, VcAugment *a, VcBuffer params, VcBuffer perm, VcBuffer step);
/* The parameters the GPU draws for view `view` of dataset image `index` under (seed, epoch):
 * runs the sampler once on the device and waits (for tools and debugging, not for steps).
 * VC_OK, or VC_ERR_OOM when the small buffers it needs cannot be allocated. */
int vc_augment_describe(VcAugment *a, uint32_t seed, uint32_t epoch, uint32_t index, uint32_t view, VcAugmentParams *out);
/* Write the step buffer from the host (memcpy when mapped, else an upload). */
void vc_augment_step_write(VcContext *ctx, VcBuffer step, const VcAugmentStep *s);

/* Write rows x cols images (C = 1 or 3, S x S, normalized with mean/std; image r*cols + c
 * at grid cell (r, c)) as a PNG grid with 2-pixel gaps, un-normalized to uint8. Written to a
 * temporary file and renamed, so the path never holds a partial image. VC_OK, or VC_ERR_IO
 * / VC_ERR_ARG with a message naming the path. */
int vc_augment_write_grid(const char *png_path, const float *views, int rows, int cols, int C, int S, const float *mean,
                          const float *std);

#endif
