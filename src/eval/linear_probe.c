/* linear_probe.c — a linear classifier on frozen features, trained on the device (see
 * linear_probe.h for the recipe). One recorded command buffer holds a whole epoch; the
 * per-step values it reads (row order, labels, learning rate) sit in mapped buffers, one
 * 256-byte-aligned region per step, which the host rewrites between epochs. */
#include "eval/linear_probe.h"

#include <math.h>
#include <string.h>

#include "ops/fill.h"
#include "ops/gemm.h"
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/optim.h"
#include "ops/util_ops.h"

#define ALIGN_FLOATS 64  /* 256 bytes: the largest storage-buffer offset alignment Vulkan allows */
#define SCORE_CHUNK 4096 /* test rows scored per submission */
/* BatchNorm's one-subgroup reduction on CPU devices walks a column three times with 8
 * lanes, and lavapipe stops an invocation after 65535 loop iterations in total. */
#define CPU_MAX_TRAIN_ROWS 160000

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

void vc_linear_probe_defaults(VcLinearProbeConfig *c) {
    *c = (VcLinearProbeConfig){.epochs = 100, .batch = 256, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.0f, .seed = 0};
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void vc_linear_probe_init(float *w, float *b, int classes, int D, uint64_t seed) {
    uint64_t s = seed * 0xD1B54A32D192ED03ull + 0x4C494E454152ull; /* "LINEAR": another stream than the model's */
    float bound = 1.0f / sqrtf((float)D);
    for (size_t i = 0; i < (size_t)classes * (size_t)D; i++)
        w[i] = bound * (2.0f * (float)((splitmix(&s) >> 40) / 16777216.0) - 1.0f);
    for (int i = 0; i < classes; i++) b[i] = bound * (2.0f * (float)((splitmix(&s) >> 40) / 16777216.0) - 1.0f);
}

void vc_linear_probe_order(int32_t *perm, int n, uint64_t seed, int epoch) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ull ^ ((uint64_t)epoch + 1) * 0xD1B54A32D192ED03ull;
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(splitmix(&s) % (uint64_t)(i + 1));
        int32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

float vc_linear_probe_lr(const VcLinearProbeConfig *cfg, long step, long total) {
    double base = (double)cfg->lr * cfg->batch / 256.0;
    return (float)(base * 0.5 * (1.0 + cos(M_PI * (double)step / (double)(total > 0 ? total : 1))));
}

typedef struct Probe {
    VcContext *ctx;
    int D, C, B, n, steps;        /* steps per epoch */
    size_t b_off;                 /* float offset of b after W in params/grads/state */
    size_t step_floats;           /* floats per step region in order/labels */
    VcBuffer xtrain, xtest;       /* standardized copies (ntrain, D), (ntest, D) */
    VcBuffer params, grads, mom;  /* [W (C, D) | pad | b (C)] */
    VcBuffer order, labels;       /* mapped: per step, the batch's row indices / labels (int32) */
    VcBuffer hyper, losses;       /* mapped: per step, VC_HYPER_* floats / the loss (1 float), 256 B apart */
    VcBuffer xb, logits, dlogits, ones; /* (B, D), (B, C), (B, C), (B) */
    VcCmd *epoch;
} Probe;

static int alloc(Probe *p, size_t bytes, const char *what, bool mapped, VcBuffer *out) {
    int st = mapped ? vc_buffer_alloc_mapped(p->ctx, bytes, what, out) : vc_buffer_alloc(p->ctx, bytes, what, out);
    return st == VC_OK ? VC_OK : VC_ERR_OOM;
}

static void probe_free(Probe *p) {
    vc_cmd_free(p->epoch);
    VcBuffer *bufs[] = {&p->xtrain, &p->xtest, &p->params, &p->grads, &p->mom,    &p->order, &p->labels,
                        &p->hyper,  &p->losses, &p->xb,    &p->logits, &p->dlogits, &p->ones};
    for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(p->ctx, bufs[i]);
}

/* xtrain/xtest = standardized train/test features (BatchNorm, see the header). */
static int standardize(Probe *p, VcBuffer train, VcBuffer test, int ntest) {
    VcBuffer gamma, beta, rmean, rvar, smean, sinv;
    size_t cb = (size_t)p->D * sizeof(float);
    VcBuffer *bufs[] = {&gamma, &beta, &rmean, &rvar, &smean, &sinv};
    int st = VC_OK;
    for (size_t i = 0; i < VC_COUNTOF(bufs); i++) {
        *bufs[i] = (VcBuffer){0};
        if (st == VC_OK) st = alloc(p, cb, "linear probe statistics", false, bufs[i]);
    }
    if (st == VC_OK) {
        VcCmd *cmd = vc_cmd_new(p->ctx, false);
        vc_fill(cmd, gamma, (size_t)p->D, 1.0f);
        /* momentum 1: the running statistics become the train split's */
        vc_batchnorm_forward(cmd, p->n, p->D, 1, p->xtrain, train, gamma, beta, rmean, rvar, smean, sinv, true, 1.0f,
                             VC_LINEAR_PROBE_EPS);
        vc_batchnorm_forward(cmd, ntest, p->D, 1, p->xtest, test, gamma, beta, rmean, rvar, (VcBuffer){0}, (VcBuffer){0},
                             false, 0.0f, VC_LINEAR_PROBE_EPS);
        vc_cmd_run(cmd);
        vc_cmd_free(cmd);
    }
    for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(p->ctx, bufs[i]);
    return st;
}

/* Record every step of one epoch into p->epoch. */
static void record_epoch(Probe *p, const VcOptimConfig *opt) {
    VcCmd *cmd = p->epoch = vc_cmd_new(p->ctx, false);
    int D = p->D, C = p->C;
    VcBuffer W = vc_buffer_slice(p->params, 0, (size_t)C * D * sizeof(float));
    VcBuffer b = vc_buffer_slice(p->params, p->b_off * sizeof(float), (size_t)C * sizeof(float));
    VcBuffer dW = vc_buffer_slice(p->grads, 0, (size_t)C * D * sizeof(float));
    VcBuffer db = vc_buffer_slice(p->grads, p->b_off * sizeof(float), (size_t)C * sizeof(float));
    VcParam params[2] = {
        {.name = "linear.weight", .w = W, .g = dW, .state = {vc_buffer_slice(p->mom, 0, W.size)}, .n = (size_t)C * D},
        {.name = "linear.bias", .w = b, .g = db, .state = {vc_buffer_slice(p->mom, p->b_off * sizeof(float), b.size)},
         .n = (size_t)C}};
    for (int s = 0; s < p->steps; s++) {
        int rows = VC_MIN(p->B, p->n - s * p->B);
        size_t region = (size_t)s * p->step_floats * sizeof(int32_t);
        VcBuffer order = vc_buffer_slice(p->order, region, (size_t)rows * sizeof(int32_t));
        VcBuffer labels = vc_buffer_slice(p->labels, region, (size_t)rows * sizeof(int32_t));
        VcBuffer hyper = vc_buffer_slice(p->hyper, (size_t)s * ALIGN_FLOATS * sizeof(float), VC_HYPER_COUNT * sizeof(float));
        VcBuffer loss = vc_buffer_slice(p->losses, (size_t)s * ALIGN_FLOATS * sizeof(float), sizeof(float));
        /* rows of the batch -> x (rows, D) */
        vc_gather_rows(cmd, rows, D, p->xb, p->xtrain, order);
        /* logits (rows, C) = x W^T + b */
        VcGemmShape fwd = {.M = rows, .N = C, .K = D, .trans_b = true, .alpha = 1};
        vc_gemm(cmd, &fwd, p->xb, W, p->logits, &b);
        vc_cross_entropy(cmd, rows, C, loss, p->dlogits, p->logits, labels, 1.0f);
        /* dW (C, D) = dlogits^T x ; db (1, C) = 1^T dlogits */
        VcGemmShape gw = {.M = C, .N = D, .K = rows, .trans_a = true, .alpha = 1};
        vc_gemm(cmd, &gw, p->dlogits, p->xb, dW, NULL);
        VcGemmShape gb = {.M = 1, .N = C, .K = rows, .alpha = 1};
        vc_gemm(cmd, &gb, p->ones, p->dlogits, db, NULL);
        vc_optim_step(cmd, opt, params, 2, hyper);
    }
    vc_cmd_end(cmd);
}

/* Fraction of rows x (rows, D) whose arg-max logit is the label. */
static int score(Probe *p, VcBuffer x, const int32_t *labels, int rows, double *top1) {
    int chunk = VC_MIN(SCORE_CHUNK, rows);
    VcBuffer logits, vals, idx;
    if (alloc(p, (size_t)chunk * p->C * sizeof(float), "linear probe logits", false, &logits) != VC_OK) return VC_ERR_OOM;
    if (alloc(p, (size_t)chunk * sizeof(float), "linear probe top-1 values", false, &vals) != VC_OK ||
        alloc(p, (size_t)chunk * sizeof(int32_t), "linear probe predictions", true, &idx) != VC_OK) {
        vc_buffer_free(p->ctx, &logits);
        vc_buffer_free(p->ctx, &vals);
        return VC_ERR_OOM;
    }
    VcBuffer W = vc_buffer_slice(p->params, 0, (size_t)p->C * p->D * sizeof(float));
    VcBuffer b = vc_buffer_slice(p->params, p->b_off * sizeof(float), (size_t)p->C * sizeof(float));
    int32_t *pred = vc_malloc((size_t)chunk * sizeof(int32_t));
    long hits = 0;
    for (int first = 0; first < rows; first += chunk) {
        int r = VC_MIN(chunk, rows - first);
        VcCmd *cmd = vc_cmd_new(p->ctx, false);
        VcGemmShape g = {.M = r, .N = p->C, .K = p->D, .trans_b = true, .alpha = 1};
        vc_gemm(cmd, &g, vc_buffer_slice(x, (size_t)first * p->D * sizeof(float), (size_t)r * p->D * sizeof(float)), W,
                logits, &b);
        vc_topk_rows(cmd, r, p->C, 1, vals, idx, logits);
        vc_cmd_run(cmd);
        vc_cmd_free(cmd);
        vc_buffer_download(p->ctx, idx, 0, pred, (size_t)r * sizeof(int32_t));
        for (int i = 0; i < r; i++) hits += pred[i] == labels[first + i];
    }
    free(pred);
    vc_buffer_free(p->ctx, &logits);
    vc_buffer_free(p->ctx, &vals);
    vc_buffer_free(p->ctx, &idx);
    *top1 = (double)hits / rows;
    return VC_OK;
}

static int check_args(VcContext *ctx, const int32_t *train_labels, int ntrain, const int32_t *test_labels, int ntest, int D,
                      int classes, const VcLinearProbeConfig *cfg) {
    if (ntrain < 1 || ntest < 1 || D < 1 || classes < 2 || !train_labels || !test_labels) {
        vc_set_error("linear probe needs labelled train and test rows and at least 2 classes (train %d rows, test %d rows, "
                     "%d classes, dimension %d)", ntrain, ntest, classes, D);
        return VC_ERR_ARG;
    }
    if (cfg->epochs < 1 || cfg->batch < 1 || !(cfg->lr > 0) || !isfinite(cfg->lr) || !(cfg->momentum >= 0) ||
        cfg->momentum >= 1 || !(cfg->weight_decay >= 0) || !isfinite(cfg->weight_decay)) {
        vc_set_error("linear probe settings: epochs %d (expected >= 1), batch %d (>= 1), lr %g (> 0), momentum %g ([0, 1)), "
                     "weight decay %g (>= 0)", cfg->epochs, cfg->batch, cfg->lr, cfg->momentum, cfg->weight_decay);
        return VC_ERR_ARG;
    }
    for (int i = 0; i < ntrain; i++)
        if (train_labels[i] < 0 || train_labels[i] >= classes) {
            vc_set_error("linear probe: train row %d has label %d, expected 0 to %d", i, train_labels[i], classes - 1);
            return VC_ERR_ARG;
        }
    uint64_t range = vc_context_info(ctx)->max_storage_buffer_range;
    int most = VC_MAX(ntrain, ntest);
    if ((uint64_t)most * (uint64_t)D * sizeof(float) > range) {
        vc_set_error("linear probe: %d rows of %d floats exceed the device's storage-buffer range (%llu bytes)", most, D,
                     (unsigned long long)range);
        return VC_ERR_ARG;
    }
    if (vc_context_is_cpu(ctx) && ntrain > CPU_MAX_TRAIN_ROWS) {
        vc_set_error("linear probe: %d train rows; on a CPU device (lavapipe) at most %d can be standardized", ntrain,
                     CPU_MAX_TRAIN_ROWS);
        return VC_ERR_ARG;
    }
    return VC_OK;
}

int vc_linear_probe(VcContext *ctx, VcBuffer train, const int32_t *train_labels, int ntrain, VcBuffer test,
                    const int32_t *test_labels, int ntest, int D, int classes, const VcLinearProbeConfig *cfg,
                    VcLinearProbeResult *out, float *weights) {
    int st = check_args(ctx, train_labels, ntrain, test_labels, ntest, D, classes, cfg);
    if (st != VC_OK) return st;
    Probe p = {.ctx = ctx, .D = D, .C = classes, .B = VC_MIN(cfg->batch, ntrain), .n = ntrain};
    p.steps = VC_CEIL_DIV(ntrain, p.B);
    p.b_off = round_up((size_t)classes * D, ALIGN_FLOATS);
    p.step_floats = round_up((size_t)p.B, ALIGN_FLOATS);
    size_t nparam = p.b_off + round_up((size_t)classes, ALIGN_FLOATS);
    size_t region = (size_t)p.steps * p.step_floats * sizeof(int32_t), slots = (size_t)p.steps * ALIGN_FLOATS * sizeof(float);
    if (alloc(&p, (size_t)ntrain * D * sizeof(float), "linear probe train features", false, &p.xtrain) ||
        alloc(&p, (size_t)ntest * D * sizeof(float), "linear probe test features", false, &p.xtest) ||
        alloc(&p, nparam * sizeof(float), "linear probe weights", false, &p.params) ||
        alloc(&p, nparam * sizeof(float), "linear probe gradients", false, &p.grads) ||
        alloc(&p, nparam * sizeof(float), "linear probe momentum", false, &p.mom) ||
        alloc(&p, region, "linear probe row order", true, &p.order) ||
        alloc(&p, region, "linear probe labels", true, &p.labels) ||
        alloc(&p, slots, "linear probe learning rates", true, &p.hyper) ||
        alloc(&p, slots, "linear probe losses", true, &p.losses) ||
        alloc(&p, (size_t)p.B * D * sizeof(float), "linear probe batch", false, &p.xb) ||
        alloc(&p, (size_t)p.B * classes * sizeof(float), "linear probe logits", false, &p.logits) ||
        alloc(&p, (size_t)p.B * classes * sizeof(float), "linear probe logit gradients", false, &p.dlogits) ||
        alloc(&p, (size_t)p.B * sizeof(float), "linear probe ones", false, &p.ones)) {
        probe_free(&p);
        return VC_ERR_OOM;
    }
    st = standardize(&p, train, test, ntest);
    if (st != VC_OK) {
        probe_free(&p);
        return st;
    }
    float *host = vc_calloc(nparam, sizeof(float));
    vc_linear_probe_init(host, host + p.b_off, classes, D, cfg->seed);
    vc_buffer_upload(ctx, p.params, 0, host, nparam * sizeof(float));
    VcCmd *fill = vc_cmd_new(ctx, false);
    vc_fill(fill, p.ones, (size_t)p.B, 1.0f);
    vc_cmd_run(fill);
    vc_cmd_free(fill);

    VcOptimConfig opt = {.kind = VC_OPTIM_SGD, .momentum = cfg->momentum, .weight_decay = cfg->weight_decay};
    record_epoch(&p, &opt);
    int32_t *perm = vc_malloc((size_t)ntrain * sizeof(int32_t));
    long total = (long)cfg->epochs * p.steps;
    double loss = 0;
    for (int e = 0; e < cfg->epochs; e++) {
        vc_linear_probe_order(perm, ntrain, cfg->seed, e);
        int32_t *ord = (int32_t *)p.order.mapped, *lab = (int32_t *)p.labels.mapped;
        float *hyper = (float *)p.hyper.mapped;
        for (int s = 0; s < p.steps; s++) {
            int first = s * p.B, rows = VC_MIN(p.B, ntrain - first);
            for (int i = 0; i < rows; i++) {
                ord[(size_t)s * p.step_floats + i] = perm[first + i];
                lab[(size_t)s * p.step_floats + i] = train_labels[perm[first + i]];
            }
            long step = (long)e * p.steps + s;
            hyper[(size_t)s * ALIGN_FLOATS + VC_HYPER_LR] = vc_linear_probe_lr(cfg, step, total);
            hyper[(size_t)s * ALIGN_FLOATS + VC_HYPER_STEP] = (float)(step + 1);
        }
        vc_cmd_run(p.epoch);
        loss = 0;
        for (int s = 0; s < p.steps; s++) loss += ((const float *)p.losses.mapped)[(size_t)s * ALIGN_FLOATS];
        loss /= p.steps;
        if (!isfinite(loss)) {
            vc_set_error("linear probe: the training loss became %g in epoch %d: lower the learning rate (lr %g)", loss, e + 1,
                         cfg->lr);
            st = VC_ERR;
            break;
        }
    }
    free(perm);
    VcLinearProbeResult r = {.loss = loss, .epochs = cfg->epochs, .steps = (int)total};
    if (st == VC_OK) st = score(&p, p.xtrain, train_labels, ntrain, &r.train_top1);
    if (st == VC_OK) st = score(&p, p.xtest, test_labels, ntest, &r.test_top1);
    if (st == VC_OK && weights) {
        vc_buffer_download(ctx, p.params, 0, host, nparam * sizeof(float));
        memcpy(weights, host, (size_t)classes * D * sizeof(float));
        memcpy(weights + (size_t)classes * D, host + p.b_off, (size_t)classes * sizeof(float));
    }
    if (st == VC_OK) *out = r;
    free(host);
    probe_free(&p);
    return st;
}
