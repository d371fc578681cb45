/* test_margin_golden.c — one triplet and one block step of small-resnet against PyTorch.
 *
 * tests/golden/margin_small_resnet.bin (tools/gen_golden.py --margin): the weights, the
 * 2N = 16 views of the SimCLR golden input, and for four settings — triplet with hard
 * mining, triplet with random mining (seed 5, step 0), block logistic (b 4), block hinge
 * (b 2) — PyTorch's loss, normalized projections z, the chosen negatives (triplet), the
 * gradients of seven parameters, and the loss of a second step after one SGD update.
 * Each setting runs through vc_method_new as in training (batch_info carries the seed).
 * The golden step's distance to the loss's kinks (smallest hinge, best/second-best gap)
 * is >= 0.002 (checked >= 1e-3), far above fp32 differences in z (~1e-6): both take the same branch.
 */
#include <math.h>
#include <string.h>

#include "golden_file.h"
#include "harness.h"
#include "methods/margin.h"
#include "ops/augment.h"

/* Tolerances, fp32 GPU vs fp32 CPU PyTorch (normalized MSE unless stated). Measured on
 * lavapipe: losses within 2e-7 (second step 4e-7); z 1.5e-12; gradients <= 4e-10. */
#define TOL_LOSS_ABS 2e-5
#define TOL_Z 1e-10
#define TOL_GRAD 1e-8
#define TOL_LOSS2_ABS 1e-4


typedef struct Setting {
    const char *prefix, *method;
    bool flag; /* triplet: hard mining; block: hinge */
    int block;
} Setting;

static void run(VcContext *ctx, const VcGolden *g, const float *w0, const Setting *set) {
    const float *meta = vc_golden_need(g, "mg_meta", 8), *hyper = vc_golden_need(g, "mg_hyper", 3);
    int N = (int)meta[0], C = (int)meta[1], S = (int)meta[2], D = 64;
    float lr = meta[4];
    VcModel *m = vc_model_new(ctx, VC_MODEL_SMALL_RESNET, C, S, D, 1);
    VC_ASSERT(m);
    vc_model_upload(m, w0);
    VcTrainConfig c;
    vc_train_defaults(&c);
    snprintf(c.method, sizeof c.method, "%s", set->method);
    c.batch = N, c.margin = meta[5], c.mining_hard = set->flag, c.block_hinge = set->flag, c.block_size = set->block;
    VcOptimConfig opt = {.kind = VC_OPTIM_SGD, .momentum = hyper[0], .weight_decay = hyper[1], .nesterov = hyper[2] != 0};
    VcMethod *me = vc_method_new(&c, m, &opt, N);
    CHECK(me != NULL, "%s method builds: %s", set->prefix, vc_last_error());
    if (!me) return;
    size_t in_n = (size_t)2 * N * C * S * S;
    vc_buffer_upload(ctx, me->input, 0, vc_golden_need(g, "input", in_n), in_n * 4);
    VcBuffer info;
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, sizeof(VcAugmentStep), "step", &info) == VC_OK);
    *(VcAugmentStep *)info.mapped = (VcAugmentStep){.seed = (uint32_t)meta[6]};
    me->batch_info = info;
    VcCmd *cmd = vc_cmd_new(ctx, false);
    me->record(me, cmd);
    float *h = (float *)me->hyper.mapped;
    char name[128];
    for (int step = 0; step < 2; step++) {
        h[VC_HYPER_LR] = lr, h[VC_HYPER_STEP] = meta[7] + 1 + step;
        vc_cmd_run(cmd);
        float loss;
        vc_buffer_download(ctx, me->loss, 0, &loss, sizeof loss);
        snprintf(name, sizeof name, "%s%s", set->prefix, step ? "loss2" : "loss");
        float want = vc_golden_need(g, name, 1)[0];
        CHECK(fabs(loss - want) <= (step ? TOL_LOSS2_ABS : TOL_LOSS_ABS), "%s %.7f vs PyTorch %.7f", name, loss, want);
        printf("%-14s %.7f (PyTorch %.7f)\n", name, loss, want);
        if (step) break;
        float *z = vc_malloc((size_t)2 * N * D * 4), *grads = vc_malloc(m->arena_floats * 4);
        vc_buffer_download(ctx, vc_margin_method_z(me), 0, z, (size_t)2 * N * D * 4);
        snprintf(name, sizeof name, "%sz", set->prefix);
        CHECK_NMSE(z, vc_golden_need(g, name, (size_t)2 * N * D), (size_t)2 * N * D, TOL_Z, name);
        double worst = 0, ez = th_nmse(z, vc_golden_need(g, name, (size_t)2 * N * D), (size_t)2 * N * D);
        if (!strcmp(set->method, "triplet")) {
            int32_t neg[64];
            vc_buffer_download(ctx, vc_margin_method_negatives(me), 0, neg, (size_t)N * 4);
            snprintf(name, sizeof name, "%sneg", set->prefix);
            const float *want_neg = vc_golden_need(g, name, (size_t)N);
            int same = 0;
            for (int i = 0; i < N; i++) same += neg[i] == (int32_t)want_neg[i];
            CHECK(same == N, "%s: %d of %d negatives as PyTorch's", name, same, N);
        }
        vc_buffer_download(ctx, m->grads, 0, grads, m->arena_floats * 4);
        int ng = 0;
        for (int i = 0; i < m->nt; i++) {
            snprintf(name, sizeof name, "%sg.%s", set->prefix, m->t[i].name);
            size_t cnt = 0;
            const float *ref = vc_golden_get(g, name, &cnt);
            if (!ref) continue;
            CHECK(cnt == m->t[i].n, "%s: size", name);
            if (cnt == m->t[i].n) CHECK_NMSE(grads + m->t[i].offset, ref, cnt, TOL_GRAD, name), ng++;
            if (cnt == m->t[i].n) worst = fmax(worst, th_nmse(grads + m->t[i].offset, ref, cnt));
        }
        printf("%-14s z nmse %.2g, worst gradient nmse %.2g\n", set->prefix, ez, worst);
        CHECK(ng == 7, "%s: 7 gradients compared (%d)", set->prefix, ng);
        free(z), free(grads);
    }
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &info);
    vc_method_free(me);
    vc_model_free(m);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : VC_SOURCE_DIR "/tests/golden/margin_small_resnet.bin";
    VcGolden *g = vc_golden_load(path);
    if (!g) {
        fprintf(stderr, "FAIL cannot load %s: %s\n", path, vc_last_error());
        return 1;
    }
    VcContext *ctx = th_gpu();
    VcModel *tmp = vc_model_new(ctx, VC_MODEL_SMALL_RESNET, 1, 28, 64, 1);
    VC_ASSERT(tmp);
    float *w0 = vc_calloc(tmp->arena_floats, sizeof(float));
    for (int i = 0; i < tmp->nt; i++) {
        char name[128];
        snprintf(name, sizeof name, "w.%s", tmp->t[i].name);
        memcpy(w0 + tmp->t[i].offset, vc_golden_need(g, name, tmp->t[i].n), tmp->t[i].n * sizeof(float));
    }
    vc_model_free(tmp);
    Setting sets[] = {{"hard.", "triplet", true, 4}, {"random.", "triplet", false, 4}, {"logistic.", "block", false, 4},
                      {"hinge.", "block", true, 2}};
    for (size_t i = 0; i < VC_COUNTOF(sets); i++) {
        char name[64];
        snprintf(name, sizeof name, "%skink", sets[i].prefix);
        if (!strcmp(sets[i].method, "triplet"))
            CHECK(vc_golden_need(g, name, 1)[0] >= 1e-3, "%s: the golden step is %.3g from a kink", sets[i].prefix, vc_golden_need(g, name, 1)[0]);
        run(ctx, g, w0, &sets[i]);
    }
    free(w0);
    vc_golden_free(g);
    return th_finish();
}
