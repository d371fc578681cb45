/* train.h — a training run: data, augmentation, the method's step, schedule, kNN monitor,
 * metrics, checkpoints and the progress display. The CLI (train, profile, bench) fills a
 * VcTrainConfig and calls vc_train_run. */
#ifndef VC_METHODS_TRAIN_H
#define VC_METHODS_TRAIN_H

#include <stdint.h>

#include "nn/model.h"
#include "ops/optim.h"
#include "vk/vk.h"

/* What a caller (profile, bench, the report) can observe in a run. The hook runs on the
 * training thread; it may wait on the step command and read its timings. */
typedef enum VcTrainEvent {
    VC_TRAIN_RECORD_BEGIN, /* about to record the step command */
    VC_TRAIN_RECORD_END,   /* step command recorded (step_cmd set) */
    VC_TRAIN_SUBMIT,       /* about to submit step number `step` (0-based) */
    VC_TRAIN_SUBMITTED,    /* submitted; `step` is the number of steps submitted */
    VC_TRAIN_EPOCH_END,    /* metrics line of `epoch` written (files in `out`) */
} VcTrainEvent;
typedef struct VcTrainEventInfo {
    VcTrainEvent event;
    VcCmd *step_cmd; /* the recorded step, NULL before VC_TRAIN_RECORD_END */
    long step;
    int epoch;       /* 0-based */
    const char *out; /* run folder */
    const struct VcTrainConfig *config; /* the run's settings (after --resume read config.json) */
} VcTrainEventInfo;
typedef void (*VcTrainHook)(void *user, const VcTrainEventInfo *ev);

typedef struct VcTrainConfig {
    char method[16];       /* simclr | moco | membank | triplet | block */
    char data[512];        /* dataset path (folder or file) */
    char out[512];         /* run folder */
    char resume[512];      /* run folder to resume, or "" */
    char device[128];      /* index or name substring, or "" */
    VcModelKind model;
    int epochs, batch, subset, knn_every, knn_k, image_size, channels, out_dim;
    int warmup_epochs;
    int on_bad_file_skip;
    float lr;              /* base lr for batch 256 (scaled by batch / 256) */
    float temperature, knn_temperature, momentum, weight_decay;
    VcOptimKind optimizer;
    uint64_t seed;
    int stream;            /* data: 0 auto, 1 resident on the device, 2 streamed (data/feed.h VcFeedMode) */
    int max_steps;         /* stop after this many steps (profile/bench); 0 = all */
    int profile;           /* timestamps around every dispatch (read them from the hook) */
    int progress;          /* 1 bar, 0 plain lines, -1 auto (bar on a terminal) */
    int quiet;
    VcTrainHook hook;      /* called at each VcTrainEvent when set */
    void *hook_user;
    /* MoCo (--method moco) */
    int moco_version;      /* 1: constant lr, T 0.1; 2: cosine lr, T 0.2 */
    float moco_m;          /* key encoder EMA momentum */
    int moco_m_ramp;       /* cosine ramp of the momentum to 1 over the run */
    int queue;             /* K keys */
    int shuffle_groups;    /* Shuffle-BN groups per view */
    int symmetric;         /* both directions, 2N keys per step */
    int temperature_set;   /* --temperature given (else the method's default) */
    /* memory bank (--method membank) */
    int negatives;         /* K sampled negatives a sample, 0 = the whole bank */
    float bank_m;          /* bank update v <- normalize(m v + (1 - m) f) */
    /* triplet (--method triplet) and block (--method block) */
    float margin;          /* triplet margin on cosine similarities */
    int mining_hard;       /* 1: hardest negative in the batch, 0: random */
    int block_size;        /* images per block (block) */
    int block_hinge;       /* 1: hinge max(0, 1 - v), 0: logistic log(1 + exp(-v)) */
} VcTrainConfig;

void vc_train_defaults(VcTrainConfig *c);
/* Parse train options from argv (argv[0] is the subcommand). Unknown flags and bad values
 * are errors naming the flag and what was expected. Returns VC_OK or VC_ERR_ARG. */
int vc_train_parse(VcTrainConfig *c, int argc, char **argv, int *used);
/* The help text of the train options. */
const char *vc_train_options_help(void);
/* The settings of the run in folder `dir` (its config.json) over *c, through the same
 * checks as vc_train_parse (--resume uses it). VC_OK, or an error naming the file. */
int vc_train_load_config(const char *dir, VcTrainConfig *c);
/* Run the training; returns VC_OK or a negative status (message in vc_last_error()). */
int vc_train_run(const VcTrainConfig *c);

#endif
