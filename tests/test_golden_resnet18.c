/* test_golden_resnet18.c — one SimCLR step of resnet18 (CIFAR stem) + head against PyTorch.
 *
 * tests/golden/simclr_resnet18.bin (tools/gen_golden_resnet18.py) holds no weights: the
 * generator reproduces vc_model_new's seeded init bit for bit and stores prefixes of the
 * initial tensors, which we check first. Then the loss, representation, projections,
 * gradient prefixes and norms of every parameter, and the loss after one SGD step.
 */
#include <math.h>
#include <string.h>

#include "golden_file.h"
#include "harness.h"
#include "methods/simclr.h"

/* Tolerances, normalized MSE unless stated; measured on lavapipe in the comments. */
#define TOL_INIT_ABS 0.0  /* the same float32 arithmetic on both sides: exact */
#define TOL_LOSS_ABS 1e-5 /* measured 1.2e-6 */
#define TOL_ACT 1e-9
#define TOL_GRAD 1e-8
#define TOL_GNORM_REL 1e-4
#define TOL_ZERO_GRAD 1e-6 /* absolute, for gradients that are 0 in exact arithmetic */
#define TOL_LOSS1_REL 1e-4 /* measured 3.6e-6 */

static const float *need(const VcGolden *g, const char *name, size_t *count) {
    const float *x = vc_golden_get(g, name, count);
    if (!x) {
        fprintf(stderr, "FAIL golden tensor %s missing\n", name);
        exit(1);
    }
    return x;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : VC_SOURCE_DIR "/tests/golden/simclr_resnet18.bin";
    VcGolden *g = vc_golden_load(path);
    if (!g) {
        fprintf(stderr, "FAIL cannot load %s: %s\n", path, vc_last_error());
        return 1;
    }
    const float *meta = need(g, "meta", NULL), *hyper = need(g, "hyper", NULL);
    int N = (int)meta[0], C = (int)meta[1], S = (int)meta[2];
    float T = meta[4], lr = meta[5];
    size_t n = 0;
    const float *z_ref = need(g, "z", &n);
    int out_dim = (int)(n / (size_t)(2 * N));
    VcContext *ctx = th_gpu();
    VcModel *m = vc_model_new(ctx, VC_MODEL_RESNET18, C, S, out_dim, (uint64_t)hyper[3]);
    VC_ASSERT(m);

    /* the initial weights are the generator's: same names, same values */
    float *w = vc_calloc(m->arena_floats, sizeof(float));
    vc_model_download(m, w);
    for (int i = 0; i < m->nt; i++) {
        char name[128];
        snprintf(name, sizeof name, "w0.%s", m->t[i].name);
        const float *want = need(g, name, &n);
        double diff = 0;
        for (size_t j = 0; j < n; j++) diff = fmax(diff, fabs((double)w[m->t[i].offset + j] - want[j]));
        CHECK(n == (m->t[i].n < n ? m->t[i].n : n) && diff <= TOL_INIT_ABS, "%s: init differs from the generator's by %.3g",
              name, diff);
    }

    VcOptimConfig opt = {.kind = VC_OPTIM_SGD, .momentum = hyper[0], .weight_decay = hyper[1], .nesterov = hyper[2] != 0};
    VcSimclr *s = vc_simclr_new(m, N, T, &opt);
    VC_ASSERT(s);
    size_t in_n = (size_t)2 * N * C * S * S;
    vc_buffer_upload(ctx, vc_simclr_input(s), 0, need(g, "input", &n), in_n * sizeof(float));
    VC_ASSERT(n == in_n);
    vc_simclr_set_hyper(s, lr, 1);
    VcCmd *grad_cmd = vc_cmd_new(ctx, false);
    vc_simclr_record(s, grad_cmd, false);
    vc_cmd_run(grad_cmd);

    const float *losses = need(g, "losses", NULL);
    float loss;
    vc_buffer_download(ctx, vc_simclr_loss(s), 0, &loss, sizeof loss);
    CHECK(fabs(loss - losses[0]) <= TOL_LOSS_ABS, "loss %.7f vs PyTorch %.7f", loss, losses[0]);
    printf("loss %.7f (PyTorch %.7f)\n", loss, losses[0]);
    const float *h_ref = need(g, "h", &n);
    float *buf = vc_malloc(n * sizeof(float));
    vc_buffer_download(ctx, vc_net_repr(vc_simclr_net(s)), 0, buf, n * sizeof(float));
    CHECK_NMSE(buf, h_ref, n, TOL_ACT, "representation h (2N x 512)");
    (void)z_ref; /* z sets out_dim; its values are covered by the loss and the head's gradients */

    /* every parameter's gradient: a prefix elementwise, the whole tensor by its norm */
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
    /* 20 convs, 20 BatchNorms x 2, head 6; and nothing in the file we did not compare */
    CHECK(nparams == 66, "66 parameter tensors (got %d)", nparams);
    CHECK(vc_golden_count(g) == (size_t)(7 + m->nt + 2 * nparams), "golden holds %zu tensors, the model %d", vc_golden_count(g),
          m->nt);

    /* the SGD step, then the loss at the new weights */
    VcCmd *update = vc_cmd_new(ctx, false), *step = vc_cmd_new(ctx, false);
    vc_simclr_record_update(s, update);
    vc_cmd_run(update);
    vc_simclr_record(s, step, false);
    vc_cmd_run(step);
    vc_buffer_download(ctx, vc_simclr_loss(s), 0, &loss, sizeof loss);
    CHECK(fabs(loss - losses[1]) <= TOL_LOSS1_REL * losses[1], "loss after one step %.7f vs PyTorch %.7f", loss, losses[1]);
    printf("loss after one step %.7f (PyTorch %.7f)\n", loss, losses[1]);

    vc_cmd_free(step);
    vc_cmd_free(update);
    vc_cmd_free(grad_cmd);
    vc_simclr_free(s);
    vc_model_free(m);
    free(w);
    free(grads);
    free(buf);
    vc_golden_free(g);
    return th_finish();
}
