/* train_config.c — defaults and command-line parsing of a training run's settings.
 *
 * Every numeric flag is range-checked; the message names the flag, the value and what
 * was expected ("--batch 0: expected an integer from 1 to 65536").
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "methods/train.h"

#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

void vc_train_defaults(VcTrainConfig *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->method, sizeof c->method, "simclr");
    snprintf(c->data, sizeof c->data, DEFAULT_DATA);
    c->model = VC_MODEL_SMALL_RESNET;
    c->epochs = 10;
    c->batch = 256;
    c->knn_every = 1;
    c->knn_k = 200;
    c->knn_temperature = 0.1f;
    c->out_dim = 64;
    c->lr = 0.06f;
    c->temperature = 0.2f;
    c->momentum = 0.9f;
    c->weight_decay = 5e-4f;
    c->optimizer = VC_OPTIM_SGD;
    c->seed = 0;
    c->progress = -1;
    c->moco_version = 2;
    c->moco_m = 0.99f;
    c->queue = 4096;
    c->shuffle_groups = 8;
    c->negatives = 4096;
    c->bank_m = 0.5f;
    c->margin = 0.5f;
    c->mining_hard = 1;
    c->block_size = 4;
    c->block_hinge = 0;
}

const char *vc_train_options_help(void) {
    return "  --method simclr|moco|membank|triplet|block  contrastive method (default simclr)\n"
           "  --data PATH              IDX (MNIST/Fashion-MNIST, .gz or raw), CIFAR binary, or an image folder\n"
           "                           (default " DEFAULT_DATA ")\n"
           "  --model NAME             small-resnet (default) or resnet18\n"
           "  --epochs N               passes over the data (default 10)\n"
           "  --batch B                images per step, 2B views (default 256)\n"
           "  --lr X                   base learning rate for batch 256, scaled by B/256 (default 0.06 SGD, 0.3 LARS)\n"
           "  --optimizer sgd|lars|adamw  (default sgd: momentum 0.9, weight decay 5e-4)\n"
           "  --momentum X             SGD/LARS momentum (default 0.9)\n"
           "  --weight-decay X         (default 5e-4; 1e-6 with LARS)\n"
           "  --warmup-epochs N        linear warmup before the cosine decay (default 0)\n"
           "  --temperature T          softmax temperature (default 0.2; MoCo v1 0.1, MoCo v2 0.2, membank 0.07)\n"
           "  --out-dim D              projection head output size (default 64)\n"
           "  --subset N               train on the first N images only\n"
           "  --image-size S           resize images to S x S on load (default: the data's size)\n"
           "  --channels 1|3           convert images to grayscale or RGB on load\n"
           "  --on-bad-file skip|fail  what to do with an unreadable image in a folder (default fail)\n"
           "  --stream auto|on|off     stream the training images through a host ring instead of keeping\n"
           "                           them on the device (auto: only when they do not fit; same results)\n"
           "  --seed S                 seed of weights, shuffling and augmentation (default 0)\n"
           "  --device N|NAME          Vulkan device index or name substring (see `vkcontrast devices`)\n"
           "  --out DIR                run folder (default runs/<method>-<time>)\n"
           "  --resume DIR             continue the run in DIR from its checkpoint\n"
           "  --knn-every N            kNN accuracy every N epochs when labels exist (default 1, 0 = never)\n"
           "  --knn-k K                neighbours for kNN (default 200)\n"
           "  --progress bar|lines     progress display (default: a bar on a terminal)\n"
           "MoCo (--method moco):\n"
           "  --moco-version 1|2       1: linear head (head.fc), constant lr, T 0.1; 2: MLP head, cosine lr,\n"
           "                           T 0.2 (default 2)\n"
           "  --moco-m M               key encoder momentum (EMA of weights and BN statistics, default 0.99)\n"
           "  --moco-m-ramp            raise the momentum from M to 1 along a cosine over the run\n"
           "  --queue K                negative keys kept in the queue, any K >= keys per step (default 4096)\n"
           "  --shuffle-groups G       Shuffle-BN: BatchNorm statistics per group of B/G images, keys grouped\n"
           "                           differently from queries (default 8; must divide --batch)\n"
           "  --symmetric              loss in both directions (mean of the two), 2B keys enqueued per step\n"
           "Memory bank (--method membank, instance discrimination; one view per image):\n"
           "  --negatives K|all        negatives per step drawn from the bank, or the whole bank (default 4096)\n"
           "  --bank-m M               bank update v <- normalize(M v + (1 - M) f) (default 0.5)\n"
           "Triplet (--method triplet; cosine similarity s of l2-normalized projections, 2 views):\n"
           "  loss = mean over images i of max(0, margin + s(a_i, n_i) - s(a_i, p_i)), anchor a_i = view 1\n"
           "  of image i, positive p_i = its view 2, negative n_i = a view of another image of the batch\n"
           "  --margin M               (default 0.5)\n"
           "  --mining hard|random     hard: the most similar negative; random: one drawn per anchor and\n"
           "                           step from (seed, step), the same on --resume (default hard)\n"
           "Block contrastive (--method block; Arora et al. 2019, block version):\n"
           "  the batch is split into blocks of b consecutive images; each view-1 projection f(x_i) of\n"
           "  block k is an anchor: v_i = f(x_i) . (mean of block k's view-2 projections - mean of the\n"
           "  next block's (k + 1, cyclically) view-2 projections); loss = mean over the B anchors of l(v_i)\n"
           "  --block-size b           images per block; must divide --batch, at least 2 blocks (default 4)\n"
           "  --block-loss logistic|hinge  l(v) = log(1 + exp(-v)) or max(0, 1 - v) (default logistic)\n";
}

static int bad(const char *flag, const char *value, const char *expected) {
    vc_set_error("%s %s: expected %s", flag, value ? value : "(missing)", expected);
    return VC_ERR_ARG;
}

static int parse_int(const char *flag, const char *v, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || x < lo || x > hi) {
        char exp[96];
        snprintf(exp, sizeof exp, "an integer from %ld to %ld", lo, hi);
        return bad(flag, v, exp);
    }
    *out = (int)x;
    return VC_OK;
}

static int parse_float(const char *flag, const char *v, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double x = v ? strtod(v, &end) : 0;
    if (!v || errno || *end || end == v || !isfinite(x) || x < lo || x > hi) {
        char exp[96];
        snprintf(exp, sizeof exp, "a number from %g to %g", lo, hi);
        return bad(flag, v, exp);
    }
    *out = (float)x;
    return VC_OK;
}

static int copy_str(const char *flag, const char *v, char *dst, size_t n) {
    if (!v || !*v) return bad(flag, v, "a value");
    if (strlen(v) >= n) return bad(flag, v, "a shorter value");
    memcpy(dst, v, strlen(v) + 1);
    return VC_OK;
}

/* Options that belong to one method: giving one to another method is an error, not a no-op. */
static const struct { const char *flag, *method; } METHOD_FLAGS[] = {
    {"--moco-version", "moco"}, {"--moco-m", "moco"}, {"--moco-m-ramp", "moco"}, {"--queue", "moco"},
    {"--shuffle-groups", "moco"}, {"--symmetric", "moco"}, {"--negatives", "membank"}, {"--bank-m", "membank"},
    {"--margin", "triplet"},      {"--mining", "triplet"},    {"--block-size", "block"}, {"--block-loss", "block"},
};

static const char *flag_method(const char *flag) {
    for (size_t i = 0; i < VC_COUNTOF(METHOD_FLAGS); i++)
        if (!strcmp(flag, METHOD_FLAGS[i].flag)) return METHOD_FLAGS[i].method;
    return NULL;
}

int vc_train_parse(VcTrainConfig *c, int argc, char **argv, int *used) {
    bool lr_set = false, wd_set = false;
    char scoped[64] = ""; /* the first method-specific option given */
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            vc_set_error("unexpected argument '%s' (options start with --)", a);
            return VC_ERR_ARG;
        }
        char flag[64];
        const char *v;
        const char *eq = strchr(a, '=');
        if (eq) {
            snprintf(flag, sizeof flag, "%.*s", (int)(eq - a), a);
            v = eq + 1;
        } else {
            snprintf(flag, sizeof flag, "%s", a);
            v = i + 1 < argc ? argv[i + 1] : NULL;
        }
        bool takes_value = true;
        int st = VC_OK;
        if (!strcmp(flag, "--method")) {
            st = copy_str(flag, v, c->method, sizeof c->method);
            if (!st && strcmp(c->method, "simclr") != 0 && strcmp(c->method, "moco") != 0 && strcmp(c->method, "membank") != 0 &&
                strcmp(c->method, "triplet") != 0 && strcmp(c->method, "block") != 0) {
                if (!strcmp(c->method, "cpc") || !strcmp(c->method, "cswm"))
                    vc_set_error("--method %s: not implemented yet in this version (available: simclr, moco, membank, triplet, "
                                 "block)", c->method);
                else
                    vc_set_error("--method %s: expected simclr, moco, membank, triplet, block, cpc or cswm", c->method);
                st = VC_ERR_ARG;
            }
        } else if (!strcmp(flag, "--data")) st = copy_str(flag, v, c->data, sizeof c->data);
        else if (!strcmp(flag, "--out")) st = copy_str(flag, v, c->out, sizeof c->out);
        else if (!strcmp(flag, "--resume")) st = copy_str(flag, v, c->resume, sizeof c->resume);
        else if (!strcmp(flag, "--device")) st = copy_str(flag, v, c->device, sizeof c->device);
        else if (!strcmp(flag, "--model")) {
            if (!v) st = bad(flag, v, "small-resnet or resnet18");
            else st = vc_model_kind_parse(v, &c->model);
        } else if (!strcmp(flag, "--epochs")) st = parse_int(flag, v, 1, 100000, &c->epochs);
        else if (!strcmp(flag, "--batch")) st = parse_int(flag, v, 2, 65536, &c->batch);
        else if (!strcmp(flag, "--subset")) st = parse_int(flag, v, 0, 1 << 30, &c->subset);
        else if (!strcmp(flag, "--knn-every")) st = parse_int(flag, v, 0, 100000, &c->knn_every);
        else if (!strcmp(flag, "--knn-k")) st = parse_int(flag, v, 1, 256, &c->knn_k);
        else if (!strcmp(flag, "--image-size")) st = parse_int(flag, v, 4, 1024, &c->image_size);
        else if (!strcmp(flag, "--out-dim")) st = parse_int(flag, v, 1, 8192, &c->out_dim);
        else if (!strcmp(flag, "--warmup-epochs")) st = parse_int(flag, v, 0, 100000, &c->warmup_epochs);
        else if (!strcmp(flag, "--max-steps")) st = parse_int(flag, v, 0, 1 << 30, &c->max_steps);
        else if (!strcmp(flag, "--channels")) {
            st = parse_int(flag, v, 1, 3, &c->channels);
            if (!st && c->channels == 2) st = bad(flag, v, "1 or 3");
        } else if (!strcmp(flag, "--lr")) st = parse_float(flag, v, 1e-8, 100, &c->lr), lr_set = true;
        else if (!strcmp(flag, "--temperature")) st = parse_float(flag, v, 1e-4, 100, &c->temperature), c->temperature_set = 1;
        else if (!strcmp(flag, "--moco-version")) st = parse_int(flag, v, 1, 2, &c->moco_version);
        else if (!strcmp(flag, "--moco-m")) st = parse_float(flag, v, 0, 1, &c->moco_m);
        else if (!strcmp(flag, "--queue")) st = parse_int(flag, v, 1, 65535, &c->queue);
        else if (!strcmp(flag, "--bank-m")) st = parse_float(flag, v, 0, 1, &c->bank_m);
        else if (!strcmp(flag, "--margin")) st = parse_float(flag, v, 0, 4, &c->margin);
        else if (!strcmp(flag, "--block-size")) st = parse_int(flag, v, 1, 32768, &c->block_size);
        else if (!strcmp(flag, "--mining")) {
            if (v && !strcmp(v, "hard")) c->mining_hard = 1;
            else if (v && !strcmp(v, "random")) c->mining_hard = 0;
            else st = bad(flag, v, "hard or random");
        } else if (!strcmp(flag, "--block-loss")) {
            if (v && !strcmp(v, "logistic")) c->block_hinge = 0;
            else if (v && !strcmp(v, "hinge")) c->block_hinge = 1;
            else st = bad(flag, v, "logistic or hinge");
        }
        else if (!strcmp(flag, "--negatives")) {
            if (v && !strcmp(v, "all")) c->negatives = 0;
            else st = parse_int(flag, v, 1, 65535, &c->negatives);
            if (st) st = bad(flag, v, "an integer from 1 to 65535, or all");
        } else if (!strcmp(flag, "--shuffle-groups")) st = parse_int(flag, v, 1, 65536, &c->shuffle_groups);
        else if (!strcmp(flag, "--momentum")) st = parse_float(flag, v, 0, 0.99999, &c->momentum);
        else if (!strcmp(flag, "--weight-decay")) st = parse_float(flag, v, 0, 1, &c->weight_decay), wd_set = true;
        else if (!strcmp(flag, "--seed")) {
            int s = 0;
            st = parse_int(flag, v, 0, 2147483647, &s);
            c->seed = (uint64_t)s;
        } else if (!strcmp(flag, "--optimizer")) {
            if (v && !strcmp(v, "sgd")) c->optimizer = VC_OPTIM_SGD;
            else if (v && !strcmp(v, "lars")) c->optimizer = VC_OPTIM_LARS;
            else if (v && !strcmp(v, "adamw")) c->optimizer = VC_OPTIM_ADAMW;
            else st = bad(flag, v, "sgd, lars or adamw");
        } else if (!strcmp(flag, "--on-bad-file")) {
            if (v && !strcmp(v, "skip")) c->on_bad_file_skip = 1;
            else if (v && !strcmp(v, "fail")) c->on_bad_file_skip = 0;
            else st = bad(flag, v, "skip or fail");
        } else if (!strcmp(flag, "--stream")) {
            if (v && !strcmp(v, "auto")) c->stream = 0;
            else if (v && !strcmp(v, "off")) c->stream = 1;
            else if (v && !strcmp(v, "on")) c->stream = 2;
            else st = bad(flag, v, "auto, on or off");
        } else if (!strcmp(flag, "--progress")) {
            if (v && !strcmp(v, "bar")) c->progress = 1;
            else if (v && !strcmp(v, "lines")) c->progress = 0;
            else st = bad(flag, v, "bar or lines");
        } else if (!strcmp(flag, "--symmetric")) {
            c->symmetric = 1;
            takes_value = false;
        } else if (!strcmp(flag, "--moco-m-ramp")) {
            c->moco_m_ramp = 1;
            takes_value = false;
        } else if (!strcmp(flag, "--quiet")) {
            c->quiet = 1;
            takes_value = false;
        } else {
            break; /* not a train option: the caller may know it */
        }
        if (st != VC_OK) return st;
        if (!scoped[0] && flag_method(flag)) snprintf(scoped, sizeof scoped, "%s", flag);
        if (takes_value && !eq) i++;
    }
    if (scoped[0] && strcmp(flag_method(scoped), c->method) != 0) {
        vc_set_error("%s is an option of --method %s, but this run is --method %s", scoped, flag_method(scoped), c->method);
        return VC_ERR_ARG;
    }
    if (!lr_set && c->optimizer == VC_OPTIM_LARS) c->lr = 0.3f;
    if (!lr_set && c->optimizer == VC_OPTIM_ADAMW) c->lr = 1e-3f;
    if (!wd_set && c->optimizer == VC_OPTIM_LARS) c->weight_decay = 1e-6f;
    if (!c->temperature_set && !strcmp(c->method, "moco")) c->temperature = c->moco_version == 1 ? 0.1f : 0.2f;
    if (!c->temperature_set && !strcmp(c->method, "membank")) c->temperature = 0.07f;
    if (used) *used = i;
    return VC_OK;
}
