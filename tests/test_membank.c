/* test_membank.c — memory-bank steps of small-resnet against PyTorch.
 *
 * tests/golden/membank_small_resnet.bin (tools/gen_golden.py --membank): a bank of 20
 * unit vectors, the epoch's permutation, the step's 8 images (one view each) and the
 * weights; PyTorch's loss, features, gradients of a few parameters and the bank after
 * the update, for two steps with K = 6 negatives drawn by vkcontrast's hash (step 0 draws
 * two negatives that are a row's own entry: masked), then one step with every entry as a
 * negative. The step reads which images it holds from the permutation and the
 * augmentation's step buffer, as in training.
 */
#include <math.h>
#include <string.h>

#include "golden_file.h"
#include "harness.h"
#include "methods/membank.h"
#include "ops/augment.h"

/* Tolerances (normalized MSE unless stated), fp32 GPU vs fp32 CPU PyTorch. Measured on
 * lavapipe: losses within 6e-7 and 2e-6 absolute; gradients <= 2.8e-10 (stem.conv.weight);
 * features and banks <= 8e-12. */
#define TOL_LOSS_ABS 2e-5
#define TOL_F 1e-10
#define TOL_GRAD 1e-8
#define TOL_BANK 1e-10
#define TOL_LOSS2_REL 1e-5

typedef struct Golden {
    const VcGolden *g;
    int N, C, S, K, n, D;
    float T, lr, m;
    uint32_t seed;
    const float *w0;
    VcOptimConfig opt;
} Golden;

/* Run `steps` steps with K negatives (0 = all) and compare with the tensors under prefix. */
static void run(VcContext *ctx, const Golden *gd, int negatives, int steps, const char *prefix) {
    const VcGolden *g = gd->g;
    int N = gd->N, D = gd->D, n = gd->n;
    VcModel *m = vc_model_new(ctx, VC_MODEL_SMALL_RESNET, gd->C, gd->S, D, 1);
    VC_ASSERT(m);
    vc_model_upload(m, gd->w0);
    VcTrainConfig c;
    vc_train_defaults(&c);
    snprintf(c.method, sizeof c.method, "membank");
    c.batch = N, c.negatives = negatives, c.temperature = gd->T, c.bank_m = gd->m, c.seed = gd->seed;
    VcMethod *me = vc_method_new(&c, m, &gd->opt, n);
    VC_ASSERT(me);
    vc_buffer_upload(ctx, vc_membank_bank(me), (size_t)D * 4, vc_golden_need(g, "bank0", (size_t)n * D), (size_t)n * D * 4);
    size_t in_n = (size_t)N * gd->C * gd->S * gd->S;
    vc_buffer_upload(ctx, me->input, 0, vc_golden_need(g, "input", in_n), in_n * 4);
    VcBuffer perm, info;
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, (size_t)n * 4, "perm", &perm) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, sizeof(VcAugmentStep), "step", &info) == VC_OK);
    const float *pf = vc_golden_need(g, "perm", (size_t)n), *first = vc_golden_need(g, "mb_first", 2);
    for (int i = 0; i < n; i++) ((int32_t *)perm.mapped)[i] = (int32_t)pf[i];
    me->perm = perm, me->batch_info = info;
    VcCmd *cmd = vc_cmd_new(ctx, false);
    me->record(me, cmd);
    float *h = (float *)me->hyper.mapped;
    char name[128];
    for (int s = 0; s < steps; s++) {
        *(VcAugmentStep *)info.mapped = (VcAugmentStep){.seed = gd->seed, .first = (uint32_t)first[s]};
        h[VC_HYPER_LR] = gd->lr, h[VC_HYPER_STEP] = (float)(s + 1);
        vc_cmd_run(cmd);
        float loss;
        vc_buffer_download(ctx, me->loss, 0, &loss, sizeof loss);
        float *bank = th_fetch(ctx, vc_membank_bank(me), (size_t)D, (size_t)n * D), *row0 = th_fetch(ctx, vc_membank_bank(me), 0, D);
        double zero = 0;
        for (int d = 0; d < D; d++) zero += fabs(row0[d]);
        CHECK(zero == 0, "%sbank row 0 stays zero", prefix);
        if (s == 0) {
            snprintf(name, sizeof name, "%sloss", prefix);
            float want = vc_golden_need(g, name, 1)[0];
            CHECK(fabs(loss - want) <= TOL_LOSS_ABS, "%s %.7f vs PyTorch %.7f", name, loss, want);
            printf("%s %.7f (PyTorch %.7f)\n", name, loss, want);
            if (!prefix[0]) {
                float *f = th_fetch(ctx, vc_membank_features(me), 0, (size_t)N * D);
                CHECK_NMSE(f, vc_golden_need(g, "f", (size_t)N * D), (size_t)N * D, TOL_F, "features f");
                free(f);
            }
            float *grads = th_fetch(ctx, m->grads, 0, m->arena_floats);
            int ng = 0;
            for (int i = 0; i < m->nt; i++) {
                snprintf(name, sizeof name, "%sg.%s", prefix, m->t[i].name);
                size_t cnt = 0;
                const float *ref = vc_golden_get(g, name, &cnt);
                if (!ref) continue;
                CHECK(cnt == m->t[i].n, "%s: size", name);
                if (cnt == m->t[i].n) CHECK_NMSE(grads + m->t[i].offset, ref, cnt, TOL_GRAD, name), ng++;
            }
            CHECK(ng == 7, "%s7 gradients compared (%d)", prefix, ng);
            free(grads);
            snprintf(name, sizeof name, "%sbank1", prefix);
            CHECK_NMSE(bank, vc_golden_need(g, name, (size_t)n * D), (size_t)n * D, TOL_BANK, name);
        } else {
            float want = vc_golden_need(g, "losses", 2)[1];
            CHECK(fabs(loss - want) <= TOL_LOSS2_REL * want, "step 2 loss %.7f vs PyTorch %.7f", loss, want);
            printf("step 2 loss %.7f (PyTorch %.7f)\n", loss, want);
            CHECK_NMSE(bank, vc_golden_need(g, "bank2", (size_t)n * D), (size_t)n * D, TOL_BANK, "bank2");
        }
        free(bank), free(row0);
    }
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &perm), vc_buffer_free(ctx, &info);
    vc_method_free(me);
    vc_model_free(m);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : VC_SOURCE_DIR "/tests/golden/membank_small_resnet.bin";
    VcGolden *g = vc_golden_load(path);
    if (!g) {
        fprintf(stderr, "FAIL cannot load %s: %s\n", path, vc_last_error());
        return 1;
    }
    const float *meta = vc_golden_need(g, "mb_meta", 10), *hyper = vc_golden_need(g, "mb_hyper", 3);
    uint32_t nd = 0;
    const uint32_t *bd = vc_golden_dims(g, "bank0", &nd);
    VC_ASSERT(bd && nd == 2);
    Golden gd = {.g = g, .N = (int)meta[0], .C = (int)meta[1], .S = (int)meta[2], .T = meta[4], .lr = meta[5],
                 .m = meta[6], .K = (int)meta[7], .seed = (uint32_t)meta[8], .n = (int)bd[0], .D = (int)bd[1]};
    gd.opt = (VcOptimConfig){.kind = VC_OPTIM_SGD, .momentum = hyper[0], .weight_decay = hyper[1], .nesterov = hyper[2] != 0};
    CHECK(meta[9] >= 1, "the golden step masks at least one own entry among the negatives (%g)", meta[9]);
    VcContext *ctx = th_gpu();
    VcModel *tmp = vc_model_new(ctx, VC_MODEL_SMALL_RESNET, gd.C, gd.S, gd.D, 1);
    VC_ASSERT(tmp);
    float *w0 = vc_calloc(tmp->arena_floats, sizeof(float));
    for (int i = 0; i < tmp->nt; i++) {
        char name[128];
        snprintf(name, sizeof name, "w.%s", tmp->t[i].name);
        memcpy(w0 + tmp->t[i].offset, vc_golden_need(g, name, tmp->t[i].n), tmp->t[i].n * sizeof(float));
    }
    vc_model_free(tmp);
    gd.w0 = w0;
    run(ctx, &gd, gd.K, 2, "");
    run(ctx, &gd, 0, 1, "all.");
    free(w0);
    vc_golden_free(g);
    return th_finish();
}
