/* train.c — a training run from data to checkpoint, for any method (methods/method.h).
 *
 *   load data (host) -> upload uint8 once -> record ONE step:
 *     schedule (lr, step, batch position; on the GPU) -> augment 2N views -> the method's
 *     step (SimCLR, MoCo, ...) -> loss into a ring slot
 *   per epoch: host writes the epoch's permutation, submits the step steps_per_epoch
 *   times without waiting on the step just submitted (the command's fence ring waits
 *   three steps back), reads finished losses from the ring, then at the epoch's end:
 *   kNN monitor, metrics line, checkpoint (atomic), progress line.
 *
 * Resuming restores weights, BN statistics, optimizer state, the method's own state (MoCo:
 * key encoder and queue) and the step counter; the
 * permutation and the augmentation are functions of (seed, epoch, index), so a resumed
 * run ends with the same weights as an uninterrupted one on the same device.
 */
#include "methods/train.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/feed.h"
#include "eval/embed.h"
#include "eval/knn.h"
#include "io/atomic.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "io/metrics.h"
#include "methods/method.h"
#include "ops/augment.h"
#include "ops/loss.h"
#include "ops/ring.h"
#include "ops/schedule.h"

#define LOSS_SLOTS 16

typedef struct Run {
    VcTrainConfig cfg;
    VcContext *ctx;
    VcDataset train, test;
    bool has_test;
    VcModel *m;
    VcMethod *method;
    VcAugment *aug;
    VcAugmentConfig aug_cfg;
    VcFeed *train_feed, *test_feed; /* images on the device, or streamed through a ring */
    VcBuffer perm, step, counter, ring;
    VcCmd *step_cmd;
    VcSchedule sched;
    int steps_per_epoch, start_epoch;
    long start_step;
    double t0;
    char ckpt_path[600], metrics_path[600];
} Run;

/* ---- small helpers ---- */

static int make_dir(const char *path) {
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0755);
            *p = '/';
        }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        vc_set_error("cannot create run folder %s: %s", path, strerror(errno));
        return VC_ERR_IO;
    }
    return VC_OK;
}

static const char *optim_name(VcOptimKind k) { return k == VC_OPTIM_SGD ? "sgd" : k == VC_OPTIM_LARS ? "lars" : "adamw"; }

static char *config_json(const Run *r) {
    const VcTrainConfig *c = &r->cfg;
    VcJsonWriter w;
    vc_json_writer_init(&w, 2);
    vc_json_begin_object(&w);
    vc_json_field_string(&w, "method", c->method);
    vc_json_field_string(&w, "data", c->data);
    vc_json_field_string(&w, "model", vc_model_kind_name(c->model));
    vc_json_field_int(&w, "epochs", c->epochs);
    vc_json_field_int(&w, "batch", c->batch);
    vc_json_field_number(&w, "lr", c->lr);
    vc_json_field_number(&w, "lr_scaled", c->lr * c->batch / 256.0);
    vc_json_field_string(&w, "optimizer", optim_name(c->optimizer));
    vc_json_field_number(&w, "momentum", c->momentum);
    vc_json_field_number(&w, "weight_decay", c->weight_decay);
    vc_json_field_int(&w, "warmup_epochs", c->warmup_epochs);
    vc_json_field_number(&w, "temperature", c->temperature);
    if (!strcmp(c->method, "membank")) {
        vc_json_field_int(&w, "negatives", c->negatives);
        vc_json_field_number(&w, "bank_m", c->bank_m);
    }
    if (!strcmp(c->method, "triplet")) {
        vc_json_field_number(&w, "margin", c->margin);
        vc_json_field_string(&w, "mining", c->mining_hard ? "hard" : "random");
    }
    if (!strcmp(c->method, "block")) {
        vc_json_field_int(&w, "block_size", c->block_size);
        vc_json_field_string(&w, "block_loss", c->block_hinge ? "hinge" : "logistic");
    }
    if (!strcmp(c->method, "moco")) {
        vc_json_field_int(&w, "moco_version", c->moco_version);
        vc_json_field_number(&w, "moco_m", c->moco_m);
        vc_json_field_bool(&w, "moco_m_ramp", c->moco_m_ramp != 0);
        vc_json_field_int(&w, "queue", c->queue);
        vc_json_field_int(&w, "shuffle_groups", c->shuffle_groups);
        vc_json_field_bool(&w, "symmetric", c->symmetric != 0);
    }
    vc_json_field_int(&w, "out_dim", c->out_dim);
    vc_json_field_int(&w, "subset", c->subset);
    vc_json_field_int(&w, "image_size", r->m ? r->m->image_size : c->image_size);
    vc_json_field_int(&w, "channels", r->m ? r->m->channels : c->channels);
    vc_json_field_int(&w, "seed", (int64_t)c->seed);
    vc_json_field_int(&w, "knn_every", c->knn_every);
    vc_json_field_int(&w, "knn_k", c->knn_k);
    vc_json_field_number(&w, "knn_temperature", c->knn_temperature);
    vc_json_field_int(&w, "train_images", r->train.n);
    vc_json_field_int(&w, "steps_per_epoch", r->steps_per_epoch);
    vc_json_field_string(&w, "device", vc_context_info(r->ctx)->name);
    vc_json_put_key(&w, "augment");
    vc_json_begin_object(&w);
    const VcAugmentConfig *a = &r->aug_cfg;
    vc_json_field_number(&w, "scale_min", a->scale_min);
    vc_json_field_number(&w, "scale_max", a->scale_max);
    vc_json_field_number(&w, "ratio_min", a->ratio_min);
    vc_json_field_number(&w, "ratio_max", a->ratio_max);
    vc_json_field_number(&w, "flip_p", a->flip_p);
    vc_json_field_number(&w, "jitter_p", a->jitter_p);
    vc_json_field_number(&w, "brightness", a->brightness);
    vc_json_field_number(&w, "contrast", a->contrast);
    vc_json_field_number(&w, "saturation", a->saturation);
    vc_json_field_number(&w, "hue", a->hue);
    vc_json_field_number(&w, "grayscale_p", a->grayscale_p);
    vc_json_field_number(&w, "blur_p", a->blur_p);
    vc_json_field_number(&w, "solarize_p", a->solarize_p);
    vc_json_end_object(&w);
    vc_json_end_object(&w);
    size_t len;
    char *text = vc_json_writer_take(&w, &len);
    vc_json_writer_free(&w);
    return text;
}

/* Keys of config.json that set a run, and the train options that set them: a resumed run's
 * settings go through the command-line parser, so a damaged or hand-edited config.json gets
 * the same range checks and messages as the flags (other keys are for reading only). */
static const struct { const char *key, *flag; } CONFIG_FLAGS[] = {
    {"method", "--method"},         {"data", "--data"},
    {"model", "--model"},           {"optimizer", "--optimizer"},
    {"epochs", "--epochs"},         {"batch", "--batch"},
    {"lr", "--lr"},                 {"momentum", "--momentum"},
    {"weight_decay", "--weight-decay"}, {"warmup_epochs", "--warmup-epochs"},
    {"temperature", "--temperature"}, {"out_dim", "--out-dim"},
    {"subset", "--subset"},         {"image_size", "--image-size"},
    {"channels", "--channels"},     {"seed", "--seed"},
    {"knn_every", "--knn-every"},   {"knn_k", "--knn-k"},
    {"moco_version", "--moco-version"}, {"moco_m", "--moco-m"},
    {"moco_m_ramp", "--moco-m-ramp"}, {"queue", "--queue"},
    {"shuffle_groups", "--shuffle-groups"}, {"symmetric", "--symmetric"},
    {"negatives", "--negatives"},   {"bank_m", "--bank-m"},
    {"margin", "--margin"},         {"mining", "--mining"},
    {"block_size", "--block-size"}, {"block_loss", "--block-loss"},
};

int vc_train_load_config(const char *dir, VcTrainConfig *c) {
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        vc_set_error("--resume %s: cannot open %s: %s", dir, path, strerror(errno));
        return VC_ERR_IO;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = vc_malloc((size_t)(len > 0 ? len : 1));
    size_t got = fread(text, 1, (size_t)len, f);
    fclose(f);
    VcJsonError err;
    VcJson *j = vc_json_parse(text, got, &err);
    free(text);
    if (!j || j->type != VC_JSON_OBJECT) {
        vc_set_error("--resume %s: %s is not a JSON object%s%s", dir, path, j ? "" : ": ", j ? "" : err.message);
        vc_json_free(j);
        return VC_ERR_FORMAT;
    }
    /* the settings as an argument list: "--batch" "256" ... */
    enum { MAX_ARGS = 1 + 2 * (int)VC_COUNTOF(CONFIG_FLAGS) };
    char *argv[MAX_ARGS], values[VC_COUNTOF(CONFIG_FLAGS)][48];
    int argc = 0, st = VC_OK;
    argv[argc++] = "train";
    for (size_t i = 0; i < VC_COUNTOF(CONFIG_FLAGS) && st == VC_OK; i++) {
        const char *key = CONFIG_FLAGS[i].key, *flag = CONFIG_FLAGS[i].flag, *value = NULL;
        const VcJson *v = vc_json_get(j, key);
        if (!v) continue;
        bool is_switch = !strcmp(flag, "--symmetric") || !strcmp(flag, "--moco-m-ramp");
        if (v->type == VC_JSON_STRING) value = vc_json_string(v);
        else if (v->type == VC_JSON_NUMBER && v->u.number.is_integer)
            snprintf(values[i], sizeof values[i], "%lld", (long long)v->u.number.integer), value = values[i];
        else if (v->type == VC_JSON_NUMBER) snprintf(values[i], sizeof values[i], "%.9g", v->u.number.value), value = values[i];
        if (is_switch ? v->type != VC_JSON_BOOL : !value) {
            vc_set_error("--resume %s: %s: '%s' is %s, expected %s", dir, path, key, vc_json_type_name(v->type),
                         is_switch ? "true or false" : "a string or a number");
            st = VC_ERR_FORMAT;
        } else if (is_switch) {
            if (v->u.boolean) argv[argc++] = (char *)flag;
        } else {
            argv[argc++] = (char *)flag;
            argv[argc++] = !strcmp(key, "negatives") && !strcmp(value, "0") ? "all" : (char *)value; /* 0: every row */
        }
    }
    int used = 0;
    if (st == VC_OK && vc_train_parse(c, argc, argv, &used) != VC_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", vc_last_error());
        vc_set_error("--resume %s: %s: %s", dir, path, why);
        st = VC_ERR_FORMAT;
    }
    VC_ASSERT(st != VC_OK || used == argc); /* every flag of CONFIG_FLAGS is a train option */
    vc_json_free(j);
    return st;
}

/* The epoch's order of the training images: a Fisher-Yates shuffle seeded by (seed, epoch). */
static void epoch_permutation(int32_t *perm, int n, uint64_t seed, int epoch) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)epoch + 1) * 0xD1B54A32D192ED03ull;
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        s += 0x9E3779B97F4A7C15ull;
        uint64_t z = s;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        int j = (int)(z % (uint64_t)(i + 1));
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

/* Tell the caller's hook (profile, bench, report) what just happened. */
static void notify(const Run *r, VcTrainEvent ev, long step, int epoch) {
    if (!r->cfg.hook) return;
    VcTrainEventInfo info = {.event = ev, .step_cmd = ev == VC_TRAIN_RECORD_BEGIN ? NULL : r->step_cmd, .step = step,
                             .epoch = epoch, .out = r->cfg.out, .config = &r->cfg};
    r->cfg.hook(r->cfg.hook_user, &info);
}

/* ---- setup ---- */

static int setup(Run *r) {
    VcTrainConfig *c = &r->cfg;
    VcContextOptions co = {.device = c->device[0] ? c->device : NULL, .validation = -1, .pipeline_cache = 1};
    r->ctx = vc_context_new(&co);
    if (!r->ctx) return VC_ERR;
    VcDataOptions dopt = {.image_size = c->image_size, .channels = c->channels, .on_bad_file_skip = c->on_bad_file_skip,
                          .subset = c->subset};
    if (vc_dataset_load(c->data, VC_SPLIT_TRAIN, &dopt, &r->train) != VC_OK) return VC_ERR;
    if (r->train.h != r->train.w) {
        vc_set_error("%s: images are %dx%d; vkcontrast trains on square images (use --image-size S)", c->data, r->train.h,
                     r->train.w);
        return VC_ERR_ARG;
    }
    if (c->knn_every > 0 && r->train.labels) {
        VcDataOptions topt = dopt;
        topt.subset = 0;
        topt.image_size = r->train.h;
        topt.channels = r->train.c;
        r->has_test = vc_dataset_load(c->data, VC_SPLIT_TEST, &topt, &r->test) == VC_OK;
        if (!r->has_test && !c->quiet)
            fprintf(stderr, "vkcontrast: no test split for kNN (%s); kNN monitor off\n", vc_last_error());
    }
    r->steps_per_epoch = r->train.n / c->batch;
    if (r->steps_per_epoch < 1) {
        vc_set_error("--batch %d is larger than the training set (%d images in %s)", c->batch, r->train.n, c->data);
        return VC_ERR_ARG;
    }

    /* model: fresh, or from the checkpoint being resumed */
    VcCheckpointMeta meta = {0};
    if (c->resume[0]) {
        snprintf(r->ckpt_path, sizeof r->ckpt_path, "%s/checkpoint.safetensors", c->resume);
        VcSafetensors *st = vc_st_open(r->ckpt_path);
        if (!st) return VC_ERR;
        int s = vc_checkpoint_read_meta(st, r->ckpt_path, &meta);
        if (s == VC_OK && (meta.channels != r->train.c || meta.image_size != r->train.h)) {
            vc_set_error("%s: checkpoint is for %d-channel %dx%d images but %s gives %d-channel %dx%d", r->ckpt_path,
                         meta.channels, meta.image_size, meta.image_size, c->data, r->train.c, r->train.h, r->train.h);
            s = VC_ERR_ARG;
        }
        if (s == VC_OK) r->m = vc_checkpoint_load_model(st, r->ckpt_path, r->ctx, &meta);
        r->start_epoch = meta.epoch;
        r->start_step = meta.step;
        if (!r->m) {
            vc_st_close(st);
            return VC_ERR;
        }
        /* optimizer state goes in after the step program exists (below) */
        VcOptimConfig opt = {.kind = c->optimizer, .momentum = c->momentum, .weight_decay = c->weight_decay,
                             .trust_coef = 0.001f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
        r->method = vc_method_new(c, r->m, &opt, r->train.n);
        if (!r->method) {
            vc_st_close(st);
            return VC_ERR;
        }
        VcMethod *me = r->method;
        s = vc_checkpoint_load_state(st, r->ckpt_path, r->m, c->optimizer, me->state, me->nstate, me->extra, me->nextra);
        vc_st_close(st);
        if (s == VC_OK && me->after_load) s = me->after_load(me, meta.step, r->ckpt_path);
        if (s != VC_OK) return s;
    } else {
        bool linear_head = !strcmp(c->method, "moco") && c->moco_version == 1; /* MoCo v1: a linear head */
        r->m = vc_model_new_head(r->ctx, c->model, r->train.c, r->train.h, c->out_dim, c->seed, linear_head);
        if (!r->m) return VC_ERR;
        VcOptimConfig opt = {.kind = c->optimizer, .momentum = c->momentum, .weight_decay = c->weight_decay,
                             .trust_coef = 0.001f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
        r->method = vc_method_new(c, r->m, &opt, r->train.n);
        if (!r->method) return VC_ERR;
    }

    /* augmentation: the method's recipe for the data kind, normalized by the data's stats */
    r->aug_cfg = vc_augment_config_method(c->method, c->moco_version, r->train.c);
    vc_augment_dataset_stats(r->train.pixels, (size_t)r->train.n, r->train.c, r->train.h, r->train.w, r->aug_cfg.mean,
                             r->aug_cfg.std);
    if (c->resume[0]) {
        memcpy(r->aug_cfg.mean, meta.mean, sizeof meta.mean);
        memcpy(r->aug_cfg.std, meta.std, sizeof meta.std);
    }
    /* device data (or its staging ring) and the small host-visible buffers */
    int S = r->train.h, N = c->batch;
    r->train_feed = vc_feed_new(r->ctx, &r->train, N, (VcFeedMode)c->stream, "training images");
    if (!r->train_feed) return VC_ERR_OOM;
    if (r->has_test && !(r->test_feed = vc_feed_new(r->ctx, &r->test, N, (VcFeedMode)c->stream, "test images")))
        return VC_ERR_OOM;
    if (!c->quiet && vc_feed_streaming(r->train_feed))
        fprintf(stderr, "vkcontrast: %s does not fit on %s: streaming it through a ring of %d batches\n", c->data,
                vc_context_info(r->ctx)->name, vc_feed_ring_steps(r->train_feed));
    VcAugmentShape sh = {.C = r->train.c, .H = S, .W = S, .S = S, .N = N, .V = r->method->views, .n_data = vc_feed_slots(r->train_feed)};
    r->aug = vc_augment_new(r->ctx, &r->aug_cfg, &sh);
    if (!r->aug) return VC_ERR;

    if (vc_buffer_alloc_mapped(r->ctx, (size_t)r->train.n * sizeof(int32_t), "permutation", &r->perm) != VC_OK ||
        vc_buffer_alloc_mapped(r->ctx, sizeof(VcAugmentStep), "step", &r->step) != VC_OK ||
        vc_buffer_alloc_mapped(r->ctx, sizeof(uint32_t), "step counter", &r->counter) != VC_OK ||
        vc_buffer_alloc_mapped(r->ctx, LOSS_SLOTS * sizeof(float), "loss ring", &r->ring) != VC_OK)
        return VC_ERR_OOM;
    *(uint32_t *)r->counter.mapped = (uint32_t)r->start_step;

    float lr = c->lr * (float)c->batch / 256.0f;
    r->sched = (VcSchedule){.base_lr = lr, .min_factor = r->method->min_lr_factor, .ema_m0 = r->method->ema_m0,
                            .ema_ramp = r->method->ema_ramp,
                            .warmup_steps = (uint32_t)(c->warmup_epochs * r->steps_per_epoch),
                            .total_steps = (uint32_t)(c->epochs * r->steps_per_epoch),
                            .steps_per_epoch = (uint32_t)r->steps_per_epoch, .batch = (uint32_t)N,
                            .ring_steps = (uint32_t)vc_feed_ring_steps(r->train_feed)};

    /* the one recorded step */
    notify(r, VC_TRAIN_RECORD_BEGIN, 0, 0);
    r->step_cmd = vc_cmd_new(r->ctx, c->profile != 0);
    VcMethod *me = r->method;
    me->perm = r->perm;
    me->batch_info = r->step;
    vc_schedule_step(r->step_cmd, &r->sched, r->counter, me->hyper, r->step);
    vc_cmd_group(r->step_cmd, "augment");
    vc_augment_record(r->step_cmd, r->aug, me->input, vc_feed_data(r->train_feed), r->perm, r->step);
    me->record(me, r->step_cmd);
    vc_ring_store(r->step_cmd, r->ring, LOSS_SLOTS, me->loss, 1, me->hyper, VC_HYPER_STEP);
    vc_cmd_end(r->step_cmd);
    notify(r, VC_TRAIN_RECORD_END, r->start_step, r->start_epoch);
    return VC_OK;
}

static void teardown(Run *r) {
    if (r->ctx) {
        vc_cmd_free(r->step_cmd);
        VcBuffer *bufs[] = {&r->perm, &r->step, &r->counter, &r->ring};
        for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(r->ctx, bufs[i]);
        vc_feed_free(r->train_feed);
        vc_feed_free(r->test_feed);
        vc_augment_free(r->aug);
        vc_method_free(r->method);
        vc_model_free(r->m);
        vc_context_free(r->ctx);
    }
    vc_dataset_free(&r->train);
    vc_dataset_free(&r->test);
}

static int knn(Run *r, VcKnnResult *res) {
    int D = r->m->repr_dim;
    VcBuffer bank, test;
    if (vc_buffer_alloc(r->ctx, (size_t)r->train.n * D * sizeof(float), "kNN bank", &bank) != VC_OK) return VC_ERR_OOM;
    if (vc_buffer_alloc(r->ctx, (size_t)r->test.n * D * sizeof(float), "kNN test embeddings", &test) != VC_OK) {
        vc_buffer_free(r->ctx, &bank);
        return VC_ERR_OOM;
    }
    /* the training net in eval mode: no second set of activations */
    VcNet *net = r->method->eval_net;
    int st = vc_feed_embed(r->train_feed, net, r->aug_cfg.mean, r->aug_cfg.std, true, bank);
    if (st == VC_OK) st = vc_feed_embed(r->test_feed, net, r->aug_cfg.mean, r->aug_cfg.std, true, test);
    int classes = VC_MAX(r->train.num_classes, r->test.num_classes);
    if (st == VC_OK)
        st = vc_knn_eval(r->ctx, bank, r->train.labels, r->train.n, test, r->test.labels, r->test.n, D, classes, r->cfg.knn_k,
                         r->cfg.knn_temperature, res);
    vc_buffer_free(r->ctx, &bank);
    vc_buffer_free(r->ctx, &test);
    return st;
}

/* ---- progress ---- */

static void progress(const Run *r, int epoch, int step, double loss, double ips, double eta, bool bar) {
    if (r->cfg.quiet) return;
    if (bar) {
        int width = 24, done = (int)((double)step / r->steps_per_epoch * width);
        char cells[32];
        for (int i = 0; i < width; i++) cells[i] = i < done ? '#' : '.';
        cells[width] = 0;
        fprintf(stderr, "\repoch %d/%d [%s] %d/%d loss %.4f %.0f img/s ETA %d:%02d   ", epoch + 1, r->cfg.epochs, cells, step,
                r->steps_per_epoch, loss, ips, (int)eta / 60, (int)eta % 60);
        fflush(stderr);
    } else {
        fprintf(stderr, "epoch %d/%d step %d/%d loss %.4f %.0f img/s ETA %ds\n", epoch + 1, r->cfg.epochs, step,
                r->steps_per_epoch, loss, ips, (int)eta);
    }
}

/* ---- the run ---- */

int vc_train_run(const VcTrainConfig *cfg) {
    Run r = {.cfg = *cfg};
    VcTrainConfig *c = &r.cfg;
    if (c->resume[0]) {
        int st = vc_train_load_config(c->resume, c);
        if (st != VC_OK) return st;
        snprintf(c->out, sizeof c->out, "%s", cfg->resume);
        if (cfg->max_steps) c->max_steps = cfg->max_steps;
    }
    if (!c->out[0]) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        snprintf(c->out, sizeof c->out, "runs/%s-%04d%02d%02d-%02d%02d%02d", c->method, tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    struct stat sb;
    bool existed = stat(c->out, &sb) == 0;
    int st = make_dir(c->out);
    if (st == VC_OK) st = setup(&r);
    if (st != VC_OK) {
        teardown(&r);
        if (!existed) rmdir(c->out); /* a refused run leaves no empty folder behind (rmdir keeps a non-empty one) */
        return st;
    }
    snprintf(r.ckpt_path, sizeof r.ckpt_path, "%s/checkpoint.safetensors", c->out);
    snprintf(r.metrics_path, sizeof r.metrics_path, "%s/metrics.jsonl", c->out);
    char cfg_path[600];
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", c->out);
    if (!c->resume[0]) {
        char *text = config_json(&r);
        const void *parts[1] = {text};
        size_t sizes[1] = {strlen(text)};
        st = vc_write_atomic(cfg_path, parts, sizes, 1);
        free(text);
        if (st != VC_OK) {
            teardown(&r);
            return st;
        }
    }
    bool bar = c->progress == 1 || (c->progress < 0 && isatty(2));
    if (!c->quiet)
        fprintf(stderr, "vkcontrast: %s %s on %s: %d images %dx%dx%d, batch %d (%d views), %d steps/epoch, device %s\n",
                r.method->title, vc_model_kind_name(r.m->kind), c->data, r.train.n, r.train.c, r.train.h, r.train.w, c->batch, r.method->views * c->batch,
                r.steps_per_epoch, vc_context_info(r.ctx)->name);

    const float *ring = (const float *)r.ring.mapped;
    long step = r.start_step;
    r.t0 = vc_now();
    for (int epoch = r.start_epoch; epoch < c->epochs && st == VC_OK; epoch++) {
        if (c->max_steps && step >= r.start_step + c->max_steps) break; /* --max-steps ended at an epoch's end */
        epoch_permutation((int32_t *)r.perm.mapped, r.train.n, c->seed, epoch);
        VcAugmentStep as = {.seed = (uint32_t)c->seed, .epoch = (uint32_t)epoch, .flags = vc_feed_augment_flags(r.train_feed)};
        vc_augment_step_write(r.ctx, r.step, &as);
        vc_feed_begin_epoch(r.train_feed, (const int32_t *)r.perm.mapped, r.steps_per_epoch);
        double t_epoch = vc_now(), loss_sum = 0;
        long read = step; /* next step whose loss is still to be read */
        int steps = 0;
        for (int k = 0; k < r.steps_per_epoch; k++) {
            if (c->max_steps && step >= r.start_step + c->max_steps) break;
            notify(&r, VC_TRAIN_SUBMIT, step, epoch);
            vc_feed_wait_step(r.train_feed, k); /* streamed data: this step's images are in their slot */
            vc_cmd_submit(r.step_cmd);          /* waits only for the step three submissions back */
            vc_feed_completed(r.train_feed, k - 2);
            step++, steps++;
            notify(&r, VC_TRAIN_SUBMITTED, step, epoch); /* profile/bench wait here for this step */
            /* steps up to step - 3 have completed: their loss slots are final */
            for (; read < step - 3; read++) loss_sum += ring[(read + 1) % LOSS_SLOTS];
            if (k % 4 == 3 || k == r.steps_per_epoch - 1) {
                double el = vc_now() - t_epoch, ips = steps * (double)c->batch / (el > 0 ? el : 1e-9);
                long left = (long)(c->epochs - epoch) * r.steps_per_epoch - (k + 1);
                double mean = read > step - steps ? loss_sum / (double)(read - (step - steps)) : NAN;
                if (bar || k % VC_MAX(1, r.steps_per_epoch / 5) == r.steps_per_epoch / 5 - 1)
                    progress(&r, epoch, k + 1, mean, ips, left * (double)c->batch / (ips > 0 ? ips : 1), bar);
            }
        }
        vc_cmd_wait(r.step_cmd);
        for (; read < step; read++) loss_sum += ring[(read + 1) % LOSS_SLOTS];
        double epoch_time = vc_now() - t_epoch;
        double loss = steps ? loss_sum / steps : NAN;
        double ips = steps * (double)c->batch / epoch_time;
        if (bar && !c->quiet) fputc('\n', stderr);
        if (!isfinite(loss)) {
            vc_set_error("loss became %g at epoch %d: lower --lr or raise --temperature", loss, epoch + 1);
            st = VC_ERR;
            break;
        }
        bool completed = steps == r.steps_per_epoch;
        VcKnnResult kr = {0};
        bool do_knn = r.has_test && c->knn_every > 0 && ((epoch + 1) % c->knn_every == 0 || epoch + 1 == c->epochs);
        if (do_knn && completed) {
            st = knn(&r, &kr);
            if (st != VC_OK) break;
        }
        float lr_now = vc_schedule_lr(&r.sched, (uint32_t)(step > 0 ? step - 1 : 0));
        VcJsonWriter w;
        vc_metrics_begin(&w);
        vc_json_field_int(&w, "epoch", epoch + 1);
        vc_json_field_int(&w, "step", step);
        vc_json_field_number(&w, "loss", loss);
        vc_json_field_number(&w, "lr", lr_now);
        vc_json_field_number(&w, "images_per_s", ips);
        vc_json_field_number(&w, "elapsed_s", vc_now() - r.t0);
        if (do_knn && completed) vc_json_field_number(&w, "knn_top1", kr.top1);
        if (!completed) vc_json_field_bool(&w, "partial", true);
        st = vc_metrics_append(r.metrics_path, &w, false);
        if (st != VC_OK) break;
        notify(&r, VC_TRAIN_EPOCH_END, step, epoch);
        if (!c->quiet) {
            fprintf(stderr, "epoch %d/%d  loss %.4f  lr %.4g  %.0f img/s", epoch + 1, c->epochs, loss, lr_now, ips);
            if (do_knn && completed) fprintf(stderr, "  kNN top-1 %.2f%%", 100 * kr.top1);
            fputc('\n', stderr);
        }
        if (!completed) break; /* --max-steps: no checkpoint of a partial epoch */
        VcCheckpointMeta meta = {.model = r.m->kind, .channels = r.m->channels, .image_size = r.m->image_size,
                                 .out_dim = r.m->out_dim, .epoch = epoch + 1, .step = step, .seed = c->seed};
        snprintf(meta.method, sizeof meta.method, "%s", c->method);
        memcpy(meta.mean, r.aug_cfg.mean, sizeof r.aug_cfg.mean);
        memcpy(meta.std, r.aug_cfg.std, sizeof r.aug_cfg.std);
        VcMethod *me = r.method;
        if (me->before_save) me->before_save(me, step);
        st = vc_checkpoint_save(r.ckpt_path, r.m, c->optimizer, me->state, me->nstate, me->extra, me->nextra, &meta);
    }
    if (st == VC_OK && !c->quiet) fprintf(stderr, "vkcontrast: run folder %s\n", c->out);
    teardown(&r);
    return st;
}
