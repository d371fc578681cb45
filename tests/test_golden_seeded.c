/* test_golden_seeded.c — SimCLR steps against PyTorch for the golden files whose weights
 * travel as a seed (tools/gen_golden_seeded.py): resnet18 with SGD, small-resnet with LARS
 * and with AdamW, and small-resnet with MoCo v1's linear head.
 *
 * The generator reproduces vc_model_new's seeded init bit for bit and stores prefixes of
 * the initial tensors, which we check first. Then the loss, the representation, every
 * parameter's gradient (a prefix elementwise, the whole tensor by its norm), the update of
 * every parameter after two optimizer steps (so momentum / Adam state is exercised, and the
 * decay/adaptation exclusions of biases and norm parameters) and the losses of the steps.
 */
#include <math.h>
#include <string.h>

#include "golden_file.h"
#include "harness.h"
#include "methods/simclr.h"

/* Tolerances, normalized MSE unless stated; measured on lavapipe in the comments. */
#define TOL_INIT_ABS 0.0  /* the same float32 arithmetic on both sides: exact */
#define TOL_LOSS_ABS 1e-5 /* measured <= 1.2e-6 */
#define TOL_ACT 1e-9
#define TOL_GRAD 1e-8
#define TOL_GNORM_REL 1e-4
#define TOL_ZERO_GRAD 1e-6 /* absolute, for gradients that are 0 in exact arithmetic */
/* After two steps we compare with PyTorch's float64 run, allowing SPREAD_FACTOR times the
 * distance of PyTorch's own float32 run from it (stored per quantity in the file), and at
 * least the floors below: at lr 0.1 with 8-16 images BatchNorm amplifies rounding, e.g.
 * resnet18's loss after two steps is 1.6298804 in PyTorch fp32 and 1.6309012 in fp64.
 * Which tensors a rounding difference hits depends on which ReLU inputs within rounding of
 * 0 flip, so per tensor the bound uses the larger of its own spread and the trajectory's:
 * the largest spread over tensors whose update is not itself rounding (spread < 1e-2). */
#define SPREAD_FACTOR 10.0
#define TOL_UPDATE 1e-7 /* floor, nmse of w2 - w0 */
#define TOL_LOSSES_REL 1e-5 /* floor */

typedef struct Case {
    const char *file;
    VcModelKind model;
    VcOptimKind optim;
    int nparams; /* parameter tensors of the model */
    bool linear_head;
} Case;

static const Case CASES[] = {
    {"simclr_resnet18.bin", VC_MODEL_RESNET18, VC_OPTIM_SGD, 66, false}, /* 20 convs, 20 BN x 2, head 6 */
    {"simclr_small_resnet_lars.bin", VC_MODEL_SMALL_RESNET, VC_OPTIM_LARS, 33, false},
    {"simclr_small_resnet_adamw.bin", VC_MODEL_SMALL_RESNET, VC_OPTIM_ADAMW, 33, false},
    {"simclr_small_resnet_linear_head.bin", VC_MODEL_SMALL_RESNET, VC_OPTIM_SGD, 29, true}, /* MoCo v1's head.fc */
};

static const float *need(const VcGolden *g, const char *name, size_t *count) {
    const float *x = vc_golden_get(g, name, count);
    if (!x) {
        fprintf(stderr, "FAIL golden tensor %s missing\n", name);
        exit(1);
    }
    return x;
}

static float read_loss(VcContext *ctx, VcSimclr *s) {
    float loss;
    vc_buffer_download(ctx, vc_simclr_loss(s), 0, &loss, sizeof loss);
    return loss;
}

static void check_case(VcContext *ctx, const Case *c) {
    char path[512];
    snprintf(path, sizeof path, "%s/tests/golden/%s", VC_SOURCE_DIR, c->file);
    VcGolden *g = vc_golden_load(path);
    if (!g) {
        fprintf(stderr, "FAIL cannot load %s: %s\n", path, vc_last_error());
        exit(1);
    }
    printf("%s\n", c->file);
    const float *meta = need(g, "meta", NULL), *hyper = need(g, "hyper", NULL);
    int N = (int)meta[0], C = (int)meta[1], S = (int)meta[2];
    float T = meta[4], lr = meta[5];
    size_t n = 0;
    need(g, "z", &n);
    int out_dim = (int)(n / (size_t)(2 * N)); /* z's values are covered by the loss and the head's gradients */
    VcModel *m = vc_model_new_head(ctx, c->model, C, S, out_dim, (uint64_t)hyper[3], c->linear_head);
    VC_ASSERT(m);

    /* the initial weights are the generator's: same names, same values */
    float *w0 = vc_calloc(m->arena_floats, sizeof(float)), *w2 = vc_calloc(m->arena_floats, sizeof(float));
    vc_model_download(m, w0);
    for (int i = 0; i < m->nt; i++) {
        char name[128];
        snprintf(name, sizeof name, "w0.%s", m->t[i].name);
        const float *want = need(g, name, &n);
        double diff = 0;
        for (size_t j = 0; j < n; j++) diff = fmax(diff, fabs((double)w0[m->t[i].offset + j] - want[j]));
        CHECK(n <= m->t[i].n && diff <= TOL_INIT_ABS, "%s: init differs from the generator's by %.3g", name, diff);
    }

    VcOptimConfig opt = {.kind = c->optim, .momentum = hyper[0], .weight_decay = hyper[1], .nesterov = hyper[2] != 0,
                         .trust_coef = hyper[4], .beta1 = hyper[5], .beta2 = hyper[6], .eps = hyper[7]};
    VcSimclr *s = vc_simclr_new(m, N, T, &opt);
    VC_ASSERT(s);
    size_t in_n = (size_t)2 * N * C * S * S;
    vc_buffer_upload(ctx, vc_simclr_input(s), 0, need(g, "input", &n), in_n * sizeof(float));
    VC_ASSERT(n == in_n);
    vc_simclr_set_hyper(s, lr, 1);
    VcCmd *grad_cmd = vc_cmd_new(ctx, false);
    vc_simclr_record(s, grad_cmd, false);
    vc_cmd_run(grad_cmd);

    const float *losses = need(g, "losses", &n), *losses_spread = need(g, "losses_spread", NULL);
    VC_ASSERT(n == 3);
    float loss = read_loss(ctx, s), want_loss = need(g, "loss", NULL)[0];
    CHECK(fabs(loss - want_loss) <= TOL_LOSS_ABS, "loss %.7f vs PyTorch %.7f", loss, want_loss);
    printf("  loss %.7f (PyTorch %.7f)\n", loss, want_loss);
    const float *h_ref = need(g, "h", &n);
    float *buf = vc_malloc(n * sizeof(float));
    vc_buffer_download(ctx, vc_net_repr(vc_simclr_net(s)), 0, buf, n * sizeof(float));
    CHECK_NMSE(buf, h_ref, n, TOL_ACT, "representation h");

    float *grads = vc_calloc(m->arena_floats, sizeof(float));
    vc_buffer_download(ctx, m->grads, 0, grads, m->arena_floats * sizeof(float));
    int nparams = 0;
    for (int i = 0; i < m->nt; i++) {
        const VcTensorSpec *t = &m->t[i];
        if (!vc_tensor_is_param(t)) continue;
        char name[128];
        snprintf(name, sizeof name, "g.%s", t->name);
        const float *want = need(g, name, &n), *got = grads + t->offset;
        double ref_max = 0, diff_max = 0, norm = 0;
        for (size_t j = 0; j < n; j++) {
            ref_max = fmax(ref_max, fabs(want[j]));
            diff_max = fmax(diff_max, fabs((double)got[j] - want[j]));
        }
        for (size_t j = 0; j < t->n; j++) norm += (double)got[j] * got[j];
        norm = sqrt(norm);
        snprintf(name, sizeof name, "gn.%s", t->name);
        double want_norm = need(g, name, NULL)[0];
        if (ref_max < TOL_ZERO_GRAD) { /* a bias before BatchNorm: both sides are rounding */
            CHECK(diff_max < TOL_ZERO_GRAD, "%s: zero gradient, max |diff| %.3g", name, diff_max);
        } else {
            CHECK_NMSE(got, want, n, TOL_GRAD, name);
            CHECK(fabs(norm - want_norm) <= TOL_GNORM_REL * want_norm, "%s: gradient norm %.7g vs PyTorch %.7g", name, norm,
                  want_norm);
        }
        nparams++;
    }
    CHECK(nparams == c->nparams, "%d parameter tensors (got %d)", c->nparams, nparams);
    /* nothing in the file goes unchecked: meta hyper input h z loss losses losses_spread, w0 per tensor,
     * g gn d2 spread per parameter */
    CHECK(vc_golden_count(g) == (size_t)(8 + m->nt + 4 * nparams), "golden holds %zu tensors, the model %d",
          vc_golden_count(g), m->nt);

    /* two optimizer steps: update, then forward/backward/update at the new weights */
    VcCmd *update = vc_cmd_new(ctx, false), *step = vc_cmd_new(ctx, false), *fwd = vc_cmd_new(ctx, false);
    vc_simclr_record_update(s, update);
    vc_cmd_run(update);
    vc_simclr_record(s, step, true);
    vc_simclr_set_hyper(s, lr, 2);
    vc_cmd_run(step);
    for (int k = 1; k <= 2; k++) {
        if (k == 2) {
            vc_simclr_record(s, fwd, false);
            vc_cmd_run(fwd);
        }
        loss = read_loss(ctx, s);
        double rel = fabs(loss - losses[k]) / losses[k], bound = fmax(TOL_LOSSES_REL, SPREAD_FACTOR * losses_spread[k]);
        CHECK(rel <= bound, "loss after %d steps %.7f vs PyTorch fp64 %.7f: rel %.3g > %.3g", k, loss, losses[k], rel, bound);
        printf("  loss after %d steps %.7f (PyTorch fp64 %.7f, rel %.2g; PyTorch fp32 rel %.2g)\n", k, loss, losses[k], rel,
               losses_spread[k]);
    }

    vc_model_download(m, w2);
    double trajectory = 0; /* PyTorch fp32's largest distance from fp64 over the real updates */
    for (int i = 0; i < m->nt; i++) {
        char name[128];
        snprintf(name, sizeof name, "spread.%s", m->t[i].name);
        double spread = vc_tensor_is_param(&m->t[i]) ? need(g, name, NULL)[0] : 0;
        if (spread < 1e-2) trajectory = fmax(trajectory, spread);
    }
    double worst = 0, worst_ratio = 0;
    for (int i = 0; i < m->nt; i++) {
        const VcTensorSpec *t = &m->t[i];
        if (!vc_tensor_is_param(t)) continue;
        char name[128];
        snprintf(name, sizeof name, "spread.%s", t->name);
        double spread = need(g, name, NULL)[0];
        snprintf(name, sizeof name, "d2.%s", t->name);
        const float *want = need(g, name, &n);
        float *got = vc_malloc(n * sizeof(float));
        for (size_t j = 0; j < n; j++) got[j] = w2[t->offset + j] - w0[t->offset + j];
        double e = th_nmse(got, want, n);
        worst = fmax(worst, e);
        worst_ratio = fmax(worst_ratio, spread > 0 ? e / spread : 0);
        CHECK_NMSE(got, want, n, fmax(TOL_UPDATE, SPREAD_FACTOR * fmax(spread, trajectory)), name);
        free(got);
    }
    printf("  update after 2 steps vs PyTorch fp64: worst nmse %.3g, worst ratio to PyTorch fp32's %.3g; trajectory "
           "spread %.3g\n", worst, worst_ratio, trajectory);

    vc_cmd_free(fwd);
    vc_cmd_free(step);
    vc_cmd_free(update);
    vc_cmd_free(grad_cmd);
    vc_simclr_free(s);
    vc_model_free(m);
    free(w0);
    free(w2);
    free(grads);
    free(buf);
    vc_golden_free(g);
}

int main(void) {
    VcContext *ctx = th_gpu();
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) check_case(ctx, &CASES[i]);
    return th_finish();
}
