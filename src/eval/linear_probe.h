/* linear_probe.h — linear evaluation of frozen representations (the standard SSL score).
 *
 * A linear classifier W (classes, D), b (classes) is trained with softmax cross-entropy on
 * the train rows and scored on the test rows. Everything runs on the device with the
 * engine's ops:
 *   standardize  BatchNorm in training mode over the train rows (momentum 1, so its
 *                running statistics become the train mean and unbiased variance) gives
 *                (x - mean) / sqrt(var + eps) with the biased train variance; the test
 *                rows go through the same BatchNorm in eval mode (running statistics).
 *                eps = 1e-5. Inputs are left untouched (standardized copies are made).
 *   one step     gather the batch's rows (by the epoch's permutation) -> logits = x W^T + b
 *                (GEMM) -> cross-entropy (mean over the batch) -> dW = dlogits^T x,
 *                db = 1^T dlogits (GEMM) -> SGD with momentum (ops/optim.h).
 *   one epoch    all its steps are recorded once into one command buffer and resubmitted
 *                every epoch; per epoch the host writes the permutation, the labels in that
 *                order and each step's learning rate (cosine from lr to 0 over all steps,
 *                no warmup) into small mapped buffers, then submits and waits.
 *   scoring      logits of the test rows (GEMM) -> arg-max (top-k with k = 1, ties to the
 *                lower class) on the device; the host counts the hits.
 * Every epoch visits every train row once; the last step of an epoch takes the rows left
 * over when the batch does not divide them (its loss is the mean over those rows).
 * Init: W and b uniform in +-1/sqrt(D) (PyTorch's nn.Linear bounds) from a splitmix64
 * stream seeded by `seed`; the permutation of epoch e is a Fisher-Yates shuffle seeded by
 * (seed, e). Both are exposed so a reference can reproduce the run exactly.
 */
#ifndef VC_EVAL_LINEAR_PROBE_H
#define VC_EVAL_LINEAR_PROBE_H

#include "vk/vk.h"

typedef struct VcLinearProbeConfig {
    int epochs;          /* passes over the train rows (default 100) */
    int batch;           /* rows per step (default 256) */
    float lr;            /* peak learning rate for batch 256, scaled by batch / 256 (default 0.1) */
    float momentum;      /* SGD momentum (default 0.9, no Nesterov, no dampening) */
    float weight_decay;  /* L2 added to the gradient of W and b (default 0) */
    uint64_t seed;       /* init and shuffles (default 0) */
} VcLinearProbeConfig;

typedef struct VcLinearProbeResult {
    double train_top1;   /* accuracy of the final classifier on the train rows */
    double test_top1;    /* ... on the test rows */
    double loss;         /* mean training loss over the steps of the last epoch */
    int epochs, steps;
} VcLinearProbeResult;

#define VC_LINEAR_PROBE_EPS 1e-5f

void vc_linear_probe_defaults(VcLinearProbeConfig *c);

/* Train on train (ntrain, D) with labels in [0, classes), score on test (ntest, D); both
 * float row-major on the device. weights: NULL, or host room for classes*D + classes floats
 * that receives the final W then b. Returns VC_OK, or VC_ERR_ARG / VC_ERR_OOM / VC_ERR
 * (training diverged) with the message set; *out untouched on failure. */
int vc_linear_probe(VcContext *ctx, VcBuffer train, const int32_t *train_labels, int ntrain, VcBuffer test,
                    const int32_t *test_labels, int ntest, int D, int classes, const VcLinearProbeConfig *cfg,
                    VcLinearProbeResult *out, float *weights);

/* The initial W (classes, D) and b (classes) of a run with this seed. */
void vc_linear_probe_init(float *w, float *b, int classes, int D, uint64_t seed);
/* The order of the train rows in epoch `epoch` (0-based): perm (n). */
void vc_linear_probe_order(int32_t *perm, int n, uint64_t seed, int epoch);
/* The learning rate of step `step` of `total` (0-based): base * (1 + cos(pi step/total)) / 2,
 * base = cfg->lr * batch / 256. */
float vc_linear_probe_lr(const VcLinearProbeConfig *cfg, long step, long total);

#endif
