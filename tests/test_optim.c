/* test_optim.c — SGD (momentum, nesterov, weight decay, no_decay), LARS (trust ratio,
 * zero norms), AdamW (bias correction at small and large t) and EMA on the GPU against
 * the double-precision references in tests/ref/optim.c, over three steps of one
 * recording resubmitted with a new learning rate / step / gradient each time.
 *
 * Optimizers have no backward, so instead of finite differences the SGD reference is
 * itself checked against a line-by-line transcription of torch.optim.SGD's step.
 * Parameters come both as separate allocations and as slices of arenas at offsets that
 * are not 256-byte aligned; a window limit forces the split into several dispatches.
 *
 * Errors: the weight change since the start (w_t - w_0, where the float rounding of the
 * weights themselves would otherwise hide the update) and every state slot, as nmse.
 */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "ops/optim.h"
#include "ref/optim.h"
#include "vk/vk.h"

/* ---- torch.optim.SGD, transcribed (torch/optim/sgd.py, _single_tensor_sgd) ---- */

/* One parameter's step. *momentum_buffer is NULL before the first step ("None"). */
static void torch_sgd_literal(double *param, const double *grad, double **momentum_buffer, size_t n, double lr,
                              double momentum, double dampening, double weight_decay, bool nesterov) {
    double *d_p = malloc(n * sizeof(double));
    memcpy(d_p, grad, n * sizeof(double));
    if (weight_decay != 0)
        for (size_t i = 0; i < n; i++) d_p[i] = d_p[i] + weight_decay * param[i]; /* d_p = d_p.add(param, alpha=wd) */
    if (momentum != 0) {
        double *buf = *momentum_buffer;
        if (buf == NULL) { /* buf = torch.clone(d_p).detach() */
            buf = *momentum_buffer = malloc(n * sizeof(double));
            memcpy(buf, d_p, n * sizeof(double));
        } else { /* buf.mul_(momentum).add_(d_p, alpha=1 - dampening) */
            for (size_t i = 0; i < n; i++) buf[i] = buf[i] * momentum + (1 - dampening) * d_p[i];
        }
        if (nesterov)
            for (size_t i = 0; i < n; i++) d_p[i] = d_p[i] + momentum * buf[i]; /* d_p = d_p.add(buf, alpha=momentum) */
        else
            memcpy(d_p, buf, n * sizeof(double));
    }
    for (size_t i = 0; i < n; i++) param[i] += -lr * d_p[i]; /* param.add_(d_p, alpha=-lr) */
    free(d_p);
}

static void test_sgd_reference_is_torch(void) {
    enum { P = 3 };
    size_t n[P] = {5, 17, 1};
    bool no_decay[P] = {false, true, false};
    double lrs[3] = {0.1, 0.03, 0.25};
    for (int nest = 0; nest < 2; nest++) {
        for (int mom_i = 0; mom_i < 2; mom_i++) {
            VcOptimConfig cfg = {.kind = VC_OPTIM_SGD, .momentum = mom_i ? 0.9f : 0.0f, .weight_decay = 5e-4f, .nesterov = nest};
            RefParam rp[P];
            double *tw[P], *bufs[P] = {0}, *grads[P];
            for (int p = 0; p < P; p++) {
                rp[p] = (RefParam){.w = malloc(n[p] * 8), .state = {calloc(n[p], 8), NULL}, .n = n[p], .no_decay = no_decay[p]};
                tw[p] = malloc(n[p] * 8);
                grads[p] = malloc(n[p] * 8);
                for (size_t i = 0; i < n[p]; i++) rp[p].w[i] = tw[p][i] = th_normal();
            }
            double worst = 0;
            for (int step = 0; step < 3; step++) {
                for (int p = 0; p < P; p++) {
                    for (size_t i = 0; i < n[p]; i++) grads[p][i] = th_normal();
                    rp[p].g = grads[p];
                    /* no_decay = a param group with weight_decay 0 */
                    torch_sgd_literal(tw[p], grads[p], &bufs[p], n[p], lrs[step], (double)cfg.momentum, 0.0,
                                      no_decay[p] ? 0.0 : (double)cfg.weight_decay, cfg.nesterov);
                }
                ref_optim_step(&cfg, rp, P, lrs[step], step + 1);
                for (int p = 0; p < P; p++)
                    for (size_t i = 0; i < n[p]; i++) worst = fmax(worst, fabs(tw[p][i] - rp[p].w[i]));
            }
            CHECK(worst <= 1e-15, "ref SGD == torch.optim.SGD transcription (nesterov %d, momentum %g): max diff %g", nest,
                  (double)cfg.momentum, worst);
            for (int p = 0; p < P; p++) {
                free(rp[p].w), free(rp[p].state[0]), free(tw[p]), free(bufs[p]), free(grads[p]);
            }
        }
    }
}

/* ---- GPU vs reference ---- */

typedef enum { LAYOUT_SEPARATE, LAYOUT_ARENA } Layout;

typedef struct {
    int count;
    VcParam *gp;       /* GPU parameters */
    VcBuffer owned[64 * 4 + 4];
    int nowned;
    RefParam *rp;      /* reference, double */
    float **w0;        /* initial weights (float) */
    double **gd;       /* reference gradients */
    size_t total;
} Model;

static VcBuffer model_alloc(VcContext *ctx, Model *m, size_t floats, const char *what) {
    VcBuffer b;
    VC_ASSERT(vc_buffer_alloc(ctx, floats * 4, what, &b) == VC_OK);
    m->owned[m->nowned++] = b;
    return b;
}

/* Parameters of sizes n[] (no_decay[]), weights ~ N(0, wscale^2); zero[] marks
 * all-zero weights. In the arena layout each role (w, g, state0, state1) is one buffer
 * and parameter i sits 3 floats after the end of i-1: offsets are not 256-byte aligned. */
static Model model_new(VcContext *ctx, int count, const size_t *n, const bool *no_decay, const bool *zero, float wscale, Layout layout) {
    Model m = {.count = count};
    VC_ASSERT(count <= 64);
    m.gp = calloc((size_t)count, sizeof(VcParam));
    m.rp = calloc((size_t)count, sizeof(RefParam));
    m.w0 = calloc((size_t)count, sizeof(float *));
    m.gd = calloc((size_t)count, sizeof(double *));
    size_t arena = 0, offs[64];
    for (int p = 0; p < count; p++) {
        offs[p] = arena;
        arena += n[p] + 3;
        m.total += n[p];
    }
    VcBuffer roles[4];
    if (layout == LAYOUT_ARENA)
        for (int r = 0; r < 4; r++) roles[r] = model_alloc(ctx, &m, arena, "arena");
    for (int p = 0; p < count; p++) {
        VcParam *g = &m.gp[p];
        g->n = n[p];
        g->no_decay = no_decay[p];
        VcBuffer *slots[4] = {&g->w, &g->g, &g->state[0], &g->state[1]};
        for (int r = 0; r < 4; r++)
            *slots[r] = layout == LAYOUT_ARENA ? vc_buffer_slice(roles[r], offs[p] * 4, n[p] * 4) : model_alloc(ctx, &m, n[p], "param");
        m.w0[p] = malloc(n[p] * 4);
        if (zero && zero[p]) memset(m.w0[p], 0, n[p] * 4);
        else th_fill_normal(m.w0[p], n[p], wscale);
        vc_buffer_upload(ctx, g->w, 0, m.w0[p], n[p] * 4);
        m.gd[p] = malloc(n[p] * 8);
        RefParam *r = &m.rp[p];
        *r = (RefParam){.w = malloc(n[p] * 8), .g = m.gd[p], .state = {calloc(n[p], 8), calloc(n[p], 8)}, .n = n[p], .no_decay = no_decay[p]};
        for (size_t i = 0; i < n[p]; i++) r->w[i] = m.w0[p][i];
    }
    return m;
}

static void model_free(VcContext *ctx, Model *m) {
    for (int i = 0; i < m->nowned; i++) vc_buffer_free(ctx, &m->owned[i]);
    for (int p = 0; p < m->count; p++) {
        free(m->w0[p]), free(m->gd[p]), free(m->rp[p].w), free(m->rp[p].state[0]), free(m->rp[p].state[1]);
    }
    free(m->gp), free(m->rp), free(m->w0), free(m->gd);
}

/* New random gradients (zero_grad[p]: all zero) to the GPU and the reference. */
static void model_new_grads(VcContext *ctx, Model *m, const bool *zero_grad) {
    for (int p = 0; p < m->count; p++) {
        size_t n = m->gp[p].n;
        float *g = malloc(n * 4);
        if (zero_grad && zero_grad[p]) memset(g, 0, n * 4);
        else th_fill_normal(g, n, 1.0f);
        vc_buffer_upload(ctx, m->gp[p].g, 0, g, n * 4);
        for (size_t i = 0; i < n; i++) m->gd[p][i] = g[i];
        free(g);
    }
}

/* nmse of the weight change and of each used state slot, over the decayed (LARS:
 * adapted) tensors and over the no_decay tensors separately: the plain steps of one
 * class must not hide the much smaller adapted steps of the other. */
static void model_compare(VcContext *ctx, const Model *m, int slots, double bound_w, double bound_s, const char *what) {
    float *got = malloc(m->total * 4);
    double *ref = malloc(m->total * 8);
    for (int s = -1; s < slots; s++) {
        for (int cls = 0; cls < 2; cls++) {
            size_t at = 0;
            for (int p = 0; p < m->count; p++) {
                if (m->gp[p].no_decay != (cls == 1)) continue;
                size_t n = m->gp[p].n;
                if (s < 0) { /* weight change: (w_gpu - w0) vs (w_ref - w0) */
                    vc_buffer_download(ctx, m->gp[p].w, 0, got + at, n * 4);
                    for (size_t i = 0; i < n; i++) {
                        got[at + i] = (float)((double)got[at + i] - (double)m->w0[p][i]);
                        ref[at + i] = m->rp[p].w[i] - (double)m->w0[p][i];
                    }
                } else {
                    vc_buffer_download(ctx, m->gp[p].state[s], 0, got + at, n * 4);
                    for (size_t i = 0; i < n; i++) ref[at + i] = m->rp[p].state[s][i];
                }
                at += n;
            }
            if (at == 0) continue;
            double e = th_nmse_d(got, ref, at), bound = s < 0 ? bound_w : bound_s;
            char label[160];
            snprintf(label, sizeof label, "%s: %s, %s", what, s < 0 ? "weight change" : s == 0 ? "state 0" : "state 1",
                     cls ? "no_decay" : "decayed");
            CHECK(e <= bound, "%s: nmse %.3g > %.3g", label, e, bound);
            if (getenv("VC_TEST_VERBOSE")) printf("  %-60s nmse %.3g (bound %.1g)\n", label, e, bound);
        }
    }
    free(got);
    free(ref);
}

typedef struct {
    const char *name;
    VcOptimConfig cfg;
    double lr[3];
    double t0;         /* AdamW: step of the first update */
    Layout layout;
    size_t window;     /* vc_optim_set_window_limit, 0 = device */
    float wscale;
    double bound_w, bound_s;
} Case;

/* Three steps of one recording; compare after each. Returns the dispatch count. */
static int run_case(VcContext *ctx, const Case *c, int count, const size_t *n, const bool *no_decay, const bool *zero_w,
                    const bool *zero_g) {
    Model m = model_new(ctx, count, n, no_decay, zero_w, c->wscale, c->layout);
    VcBuffer hyper;
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, VC_HYPER_COUNT * 4, "hyper", &hyper) == VC_OK);
    vc_optim_set_window_limit(c->window);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_optim_step(cmd, &c->cfg, m.gp, count, hyper);
    vc_cmd_end(cmd);
    vc_optim_set_window_limit(0);
    int slots = c->cfg.kind == VC_OPTIM_ADAMW ? 2 : c->cfg.momentum != 0 ? 1 : 0;
    for (int step = 0; step < 3; step++) {
        model_new_grads(ctx, &m, zero_g);
        float *h = (float *)hyper.mapped;
        h[VC_HYPER_LR] = (float)c->lr[step];
        h[VC_HYPER_STEP] = (float)(c->t0 + step);
        vc_cmd_run(cmd);
        /* the reference sees the same float lr */
        ref_optim_step(&c->cfg, m.rp, count, (double)(float)c->lr[step], c->t0 + step);
        char what[128];
        snprintf(what, sizeof what, "%s step %d", c->name, step + 1);
        model_compare(ctx, &m, slots, c->bound_w, c->bound_s, what);
    }
    int dispatches = vc_cmd_dispatch_count(cmd);
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &hyper);
    model_free(ctx, &m);
    return dispatches;
}

/* Bounds: SGD and AdamW steps are a sizable fraction of the weights, so the float
 * rounding of w itself stays far below 1e-11. A LARS step with eta = 1e-3 changes an
 * adapted weight by only ~1e-3 of itself; rounding w to float (relative 6e-8) is then
 * ~6e-5 of the change, nmse ~1e-10 — inherent to fp32 weights, hence 2e-9 there. */

/* Odd sizes: 1 float, 7x13, across the CPU tile (8192) and the GPU tile (2048). */
enum { NP = 8 };
static const size_t g_n[NP] = {1, 91, 300, 2049, 7, 8193, 13, 20000};
static const bool g_no_decay[NP] = {false, false, true, false, true, false, false, false};

static void test_optimizers(VcContext *ctx) {
    const Case cases[] = {
        {"sgd plain", {.kind = VC_OPTIM_SGD, .weight_decay = 1e-3f}, {0.1, 0.05, 0.2}, 1, LAYOUT_SEPARATE, 0, 1.0f, 1e-11, 1e-12},
        {"sgd momentum", {.kind = VC_OPTIM_SGD, .momentum = 0.9f, .weight_decay = 5e-4f}, {0.1, 0.05, 0.2}, 1, LAYOUT_ARENA, 0, 1.0f, 1e-11, 1e-12},
        {"sgd nesterov", {.kind = VC_OPTIM_SGD, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true}, {0.1, 0.05, 0.2}, 1, LAYOUT_SEPARATE, 0, 1.0f, 1e-11, 1e-12},
        {"sgd nesterov split", {.kind = VC_OPTIM_SGD, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true}, {0.1, 0.05, 0.2}, 1, LAYOUT_ARENA, 100000, 1.0f, 1e-11, 1e-12},
        {"lars", {.kind = VC_OPTIM_LARS, .momentum = 0.9f, .weight_decay = 1e-4f, .trust_coef = 0.001f}, {1.2, 0.6, 2.4}, 1, LAYOUT_ARENA, 0, 0.1f, 2e-9, 1e-11},
        {"lars nesterov split", {.kind = VC_OPTIM_LARS, .momentum = 0.9f, .weight_decay = 0.5f, .trust_coef = 0.02f, .nesterov = true}, {1.2, 0.6, 2.4}, 1, LAYOUT_SEPARATE, 100000, 0.1f, 2e-9, 1e-11},
        {"adamw", {.kind = VC_OPTIM_ADAMW, .weight_decay = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}, {1e-2, 5e-3, 2e-2}, 1, LAYOUT_ARENA, 0, 0.1f, 1e-10, 1e-11},
        {"adamw t=1000", {.kind = VC_OPTIM_ADAMW, .weight_decay = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f}, {1e-2, 5e-3, 2e-2}, 1000, LAYOUT_SEPARATE, 0, 0.1f, 1e-10, 1e-11},
        {"adamw split", {.kind = VC_OPTIM_ADAMW, .weight_decay = 0.05f, .beta1 = 0.8f, .beta2 = 0.99f, .eps = 1e-6f}, {1e-2, 5e-3, 2e-2}, 1, LAYOUT_ARENA, 100000, 0.1f, 1e-10, 1e-11},
    };
    for (size_t i = 0; i < VC_COUNTOF(cases); i++) {
        const Case *c = &cases[i];
        int d = run_case(ctx, c, NP, g_n, g_no_decay, NULL, NULL);
        int per_group = c->cfg.kind == VC_OPTIM_LARS ? 2 : 1;
        if (c->window) CHECK(d > per_group, "%s: window limit splits the list (%d dispatches)", c->name, d);
        else if (c->layout == LAYOUT_ARENA) CHECK(d == per_group, "%s: one group for an arena (%d dispatches)", c->name, d);
    }
}

/* LARS edge cases: an all-zero weight tensor (||w|| = 0: trust ratio 1, not 0) and,
 * without weight decay, an all-zero gradient (||d|| = 0: ratio 1, not a NaN). */
static void test_lars_zero_norms(VcContext *ctx) {
    size_t n[4] = {33, 500, 64, 129};
    bool no_decay[4] = {false, false, false, true};
    bool zero_w[4] = {true, false, false, true};
    bool zero_g[4] = {false, false, true, false};
    Case wd = {"lars zero ||w||", {.kind = VC_OPTIM_LARS, .momentum = 0.9f, .weight_decay = 1e-4f, .trust_coef = 0.001f},
               {1.0, 0.5, 2.0}, 1, LAYOUT_ARENA, 0, 0.1f, 2e-9, 1e-11};
    run_case(ctx, &wd, 4, n, no_decay, zero_w, NULL);
    Case nowd = {"lars zero ||d||", {.kind = VC_OPTIM_LARS, .momentum = 0.9f, .weight_decay = 0.0f, .trust_coef = 0.001f},
                 {1.0, 0.5, 2.0}, 1, LAYOUT_SEPARATE, 0, 0.1f, 2e-9, 1e-11};
    run_case(ctx, &nowd, 4, n, no_decay, zero_w, zero_g);
    /* the zero-weight parameter moved with trust ratio 1: by about lr * |g|, not 0 */
    Model m = model_new(ctx, 1, n, no_decay, zero_w, 0.1f, LAYOUT_SEPARATE);
    VcBuffer hyper;
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, VC_HYPER_COUNT * 4, "hyper", &hyper) == VC_OK);
    ((float *)hyper.mapped)[VC_HYPER_LR] = 1.0f;
    model_new_grads(ctx, &m, NULL);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_optim_step(cmd, &wd.cfg, m.gp, 1, hyper);
    vc_cmd_run(cmd);
    float w[33];
    vc_buffer_download(ctx, m.gp[0].w, 0, w, sizeof w);
    CHECK(fabs(w[0] + m.gd[0][0]) < 1e-6, "zero-norm weights take the plain step: %g vs %g", w[0], -m.gd[0][0]);
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &hyper);
    model_free(ctx, &m);
}

static void test_ema(VcContext *ctx) {
    size_t n = 100003, off = 5; /* a slice 20 bytes into its buffer */
    VcBuffer tb, sb, hyper;
    VC_ASSERT(vc_buffer_alloc(ctx, (n + off) * 4, "target", &tb) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, n * 4, "source", &sb) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, VC_HYPER_COUNT * 4, "hyper", &hyper) == VC_OK);
    float *t = malloc(n * 4), *s = malloc(n * 4);
    double *rt = malloc(n * 8), *rs = malloc(n * 8);
    th_fill_normal(t, n, 1.0f);
    for (size_t i = 0; i < n; i++) rt[i] = t[i];
    VcBuffer target = vc_buffer_slice(tb, off * 4, n * 4);
    vc_buffer_upload(ctx, target, 0, t, n * 4);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_ema(cmd, n, target, sb, hyper);
    vc_cmd_end(cmd);
    const float ms[2] = {0.99f, 0.5f};
    for (int step = 0; step < 2; step++) {
        th_fill_normal(s, n, 1.0f);
        for (size_t i = 0; i < n; i++) rs[i] = s[i];
        vc_buffer_upload(ctx, sb, 0, s, n * 4);
        ((float *)hyper.mapped)[VC_HYPER_EMA] = ms[step];
        vc_cmd_run(cmd);
        ref_ema(n, rt, rs, (double)ms[step]);
        vc_buffer_download(ctx, target, 0, t, n * 4);
        char what[64];
        snprintf(what, sizeof what, "ema step %d (m = %g)", step + 1, (double)ms[step]);
        double e = th_nmse_d(t, rt, n);
        CHECK(e <= 1e-13, "%s: nmse %.3g", what, e);
        if (getenv("VC_TEST_VERBOSE")) printf("  %-56s nmse %.3g (bound 1e-13)\n", what, e);
    }
    /* the float before the slice is untouched */
    float before;
    vc_buffer_download(ctx, tb, (off - 1) * 4, &before, 4);
    CHECK(before == 0.0f, "ema writes only its slice");
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &tb), vc_buffer_free(ctx, &sb), vc_buffer_free(ctx, &hyper);
    free(t), free(s), free(rt), free(rs);
}

/* The parameter list of small-resnet (1 input channel, out_dim 64): 330k floats in
 * ~40 tensors; BatchNorm parameters and biases are no_decay. */
static int small_resnet_params(size_t *n, bool *no_decay) {
    int c = 0;
#define CONV(co, ci, k) (n[c] = (size_t)(co) * (ci) * (k) * (k), no_decay[c++] = false)
#define BN(ch) (n[c] = (ch), no_decay[c++] = true, n[c] = (ch), no_decay[c++] = true)
    CONV(32, 1, 3), BN(32);
    CONV(32, 32, 3), BN(32), CONV(32, 32, 3), BN(32);
    CONV(64, 32, 3), BN(64), CONV(64, 64, 3), BN(64), CONV(64, 32, 1), BN(64);
    CONV(128, 64, 3), BN(128), CONV(128, 128, 3), BN(128), CONV(128, 64, 1), BN(128);
    n[c] = 128 * 128, no_decay[c++] = false, n[c] = 128, no_decay[c++] = true, BN(128);
    n[c] = 64 * 128, no_decay[c++] = false, n[c] = 64, no_decay[c++] = true;
#undef CONV
#undef BN
    return c;
}

/* Median GPU time of a step over the small-resnet parameter list, for the report. */
static void bench_small_resnet(VcContext *ctx) {
    if (!vc_context_info(ctx)->timestamps) return;
    size_t n[64];
    bool no_decay[64];
    int count = small_resnet_params(n, no_decay);
    const VcOptimConfig cfgs[3] = {
        {.kind = VC_OPTIM_SGD, .momentum = 0.9f, .weight_decay = 5e-4f, .nesterov = true},
        {.kind = VC_OPTIM_LARS, .momentum = 0.9f, .weight_decay = 1e-6f, .trust_coef = 0.001f},
        {.kind = VC_OPTIM_ADAMW, .weight_decay = 0.05f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
    };
    const char *names[3] = {"sgd", "lars", "adamw"};
    Model m = model_new(ctx, count, n, no_decay, NULL, 0.1f, LAYOUT_SEPARATE);
    model_new_grads(ctx, &m, NULL);
    VcBuffer hyper;
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, VC_HYPER_COUNT * 4, "hyper", &hyper) == VC_OK);
    ((float *)hyper.mapped)[VC_HYPER_LR] = 1e-3f;
    ((float *)hyper.mapped)[VC_HYPER_STEP] = 1.0f;
    for (int k = 0; k < 3; k++) {
        VcCmd *cmd = vc_cmd_new(ctx, true);
        vc_optim_step(cmd, &cfgs[k], m.gp, count, hyper);
        double ms[15];
        int nd = 0;
        for (int rep = 0; rep < 15; rep++) {
            vc_cmd_run(cmd);
            const VcTiming *t = vc_cmd_timings(cmd, &nd);
            ms[rep] = 0;
            for (int i = 0; i < nd; i++) ms[rep] += t[i].ms;
        }
        for (int i = 0; i < 15; i++) /* insertion sort for the median */
            for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) { double x = ms[j]; ms[j] = ms[j - 1]; ms[j - 1] = x; }
        printf("  perf: %-5s over small-resnet (%d tensors, %zu floats): %d dispatch(es), median %.3f ms\n", names[k], count,
               m.total, nd, ms[7]);
        vc_cmd_free(cmd);
    }
    vc_buffer_free(ctx, &hyper);
    model_free(ctx, &m);
}

int main(void) {
    th_seed(7);
    test_sgd_reference_is_torch();
    VcContext *ctx = th_gpu();
    test_optimizers(ctx);
    test_lars_zero_norms(ctx);
    test_ema(ctx);
    bench_small_resnet(ctx);
    return th_finish();
}
