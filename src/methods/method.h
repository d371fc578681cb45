/* method.h — what a training run (train.c) needs from a contrastive method.
 *
 * A method owns its step program: the nets, the loss, the optimizer state and any state
 * of its own (MoCo's key encoder and queue). train.c owns everything around it: data,
 * augmentation into `input`, the schedule writing `hyper`, the loss ring, kNN on
 * `eval_net`, metrics and checkpoints. The step is recorded once per run:
 *
 *   schedule -> augment (views * N views into input) -> record() -> loss into the ring
 *
 * To add a method: a file that fills a VcMethod (constructor below), and one line in
 * vc_method_new (method.c).
 */
#ifndef VC_METHODS_METHOD_H
#define VC_METHODS_METHOD_H

#include "io/checkpoint.h"
#include "methods/train.h"
#include "nn/model.h"
#include "ops/optim.h"

typedef struct VcMethod VcMethod;
struct VcMethod {
    const char *title;        /* for messages: "SimCLR", "MoCo v2" */
    int views;                /* augmented views per image the step reads */
    VcBuffer input;           /* (views * N, C, S, S): [view 1 of the N images; view 2; ...] */
    VcBuffer loss;            /* (1) loss of the last step */
    VcBuffer hyper;           /* (VC_HYPER_COUNT) written on the GPU by the schedule */
    VcNet *eval_net;          /* its encoder embeds images for the kNN monitor */
    float min_lr_factor;      /* schedule: cosine decay to base * this (1 = constant lr) */
    float ema_m0;             /* schedule: EMA momentum (MoCo), and its cosine ramp to 1 */
    bool ema_ramp;
    VcBuffer perm, batch_info; /* set by the run before record(): the epoch's permutation (int32)
                               * and the augmentation's step buffer (VcAugmentStep: seed,
                               * first index of the batch), for methods that need to know
                               * which images a step holds (memory bank) */
    VcBuffer state[2];        /* optimizer state arenas (the weight arena's layout) */
    int nstate;
    VcCheckpointExtra *extra; /* method state saved in and restored from checkpoints */
    int nextra;
    /* Record one step: forward, loss, backward, update, and the method's own updates. */
    void (*record)(VcMethod *me, VcCmd *cmd);
    /* Before a checkpoint of `step` steps is saved (fill host-side extras), and after the
     * extras were loaded for --resume (check them); NULL when there is nothing to do. */
    void (*before_save)(VcMethod *me, long step);
    int (*after_load)(VcMethod *me, long step, const char *path);
    void (*free)(VcMethod *me);
    void *impl;
};

/* The method c->method names, for model m (its weights are the ones trained) and a
 * training set of n_data images. NULL + error on a bad setting or out of memory. */
VcMethod *vc_method_new(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt, int n_data);
void vc_method_free(VcMethod *me);

/* rows (n + 1, D) on the device: row 0 zero, rows 1..n random unit vectors (normal entries
 * from a splitmix64 stream seeded by `seed`, normalized), as MoCo's randn + normalize queue
 * and the memory bank's initial entries. */
void vc_method_init_unit_rows(VcContext *ctx, VcBuffer rows, int n, int D, uint64_t seed);

/* Constructors of the methods. */
VcMethod *vc_method_simclr(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt);
VcMethod *vc_method_moco(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt);
VcMethod *vc_method_membank(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt, int n_data);
VcMethod *vc_method_triplet(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt);
VcMethod *vc_method_block(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt);

#endif
