/* test_repro.c — reproducibility: the same 10 SimCLR steps (same weights, same views, one
 * recording resubmitted) run twice from the same start give bit-identical weights,
 * optimizer state and losses on the same device. */
#include <string.h>

#include "harness.h"
#include "methods/simclr.h"

#define STEPS 10

static void run(VcContext *ctx, const float *views, size_t nviews, float *weights, float *losses, float *momentum) {
    VcModel *m = vc_model_new(ctx, VC_MODEL_SMALL_RESNET, 1, 16, 32, 42);
    VC_ASSERT(m);
    VcOptimConfig opt = {.kind = VC_OPTIM_SGD, .momentum = 0.9f, .weight_decay = 5e-4f};
    VcSimclr *s = vc_simclr_new(m, 6, 0.2f, &opt);
    VC_ASSERT(s);
    vc_buffer_upload(ctx, vc_simclr_input(s), 0, views, nviews * sizeof(float));
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_simclr_record(s, cmd, true);
    for (int k = 0; k < STEPS; k++) {
        vc_simclr_set_hyper(s, 0.05f, k + 1);
        vc_cmd_run(cmd);
        vc_buffer_download(ctx, vc_simclr_loss(s), 0, &losses[k], sizeof(float));
    }
    vc_model_download(m, weights);
    VcBuffer state[2];
    VC_ASSERT(vc_simclr_optim_state(s, state, 2) == 1);
    vc_buffer_download(ctx, state[0], 0, momentum, m->arena_floats * sizeof(float));
    vc_cmd_free(cmd);
    vc_simclr_free(s);
    vc_model_free(m);
}

int main(void) {
    VcContext *ctx = th_gpu();
    VcModel *probe = vc_model_new(ctx, VC_MODEL_SMALL_RESNET, 1, 16, 32, 42);
    size_t n = probe->arena_floats;
    vc_model_free(probe);
    size_t nviews = 12 * 16 * 16;
    float *views = vc_malloc(nviews * sizeof(float));
    th_seed(11);
    th_fill_normal(views, nviews, 1.0f);
    float *w1 = vc_malloc(n * 4), *w2 = vc_malloc(n * 4), *m1 = vc_malloc(n * 4), *m2 = vc_malloc(n * 4);
    float l1[STEPS], l2[STEPS];
    run(ctx, views, nviews, w1, l1, m1);
    run(ctx, views, nviews, w2, l2, m2);
    CHECK(memcmp(l1, l2, sizeof l1) == 0, "losses of 10 steps bit-identical");
    CHECK(memcmp(w1, w2, n * 4) == 0, "weights after 10 steps bit-identical");
    CHECK(memcmp(m1, m2, n * 4) == 0, "momentum after 10 steps bit-identical");
    CHECK(l1[STEPS - 1] < l1[0], "loss falls over the steps: %.4f -> %.4f", l1[0], l1[STEPS - 1]);
    printf("losses %.4f .. %.4f\n", l1[0], l1[STEPS - 1]);
    free(views), free(w1), free(w2), free(m1), free(m2);
    return th_finish();
}
