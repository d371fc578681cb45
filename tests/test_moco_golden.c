/* test_moco_golden.c — two MoCo v2 steps of small-resnet against PyTorch.
 *
 * tests/golden/moco_small_resnet.bin (tools/gen_golden.py --moco) holds the weights, the
 * views, the initial queue (K = 12 for N = 8 keys a step, so the second enqueue wraps),
 * and PyTorch's loss, queries, keys, every gradient and the query's running statistics
 * after step 1, the queue after each step, the second loss, and the key encoder after the
 * second EMA and key forward. Shuffle-BN runs with G = 2 groups: the golden shuffles the
 * key batch explicitly, vkcontrast uses interleaved groups (the same statistics).
 * Then one symmetric step (sym.*: both views through both encoders, groups per view,
 * 2N keys enqueued into K = 20): loss, q, k, a few gradients, running statistics, queue.
 */
#include <math.h>
#include <string.h>

#include "golden_file.h"
#include "harness.h"
#include "methods/moco.h"

/* Tolerances (normalized MSE unless stated), fp32 GPU vs fp32 CPU PyTorch. Measured on
 * lavapipe: losses within 3e-7 and 1.3e-6 absolute; q, k 1.7e-12; gradients <= 2.2e-10
 * (stem.conv.weight); query running statistics 4e-14; queues 1.7e-12; key encoder after
 * step 2 <= 3.2e-11. */
#define TOL_LOSS_ABS 1e-5
#define TOL_QK 1e-10
#define TOL_GRAD 1e-8
#define TOL_ZERO_GRAD 1e-6 /* absolute, for gradients that are 0 in exact arithmetic */
#define TOL_RUNNING 1e-10
#define TOL_QUEUE 1e-10
#define TOL_LOSS2_REL 1e-5
#define TOL_KEY 1e-9

static void check_queue(VcContext *ctx, const VcMethod *me, const VcGolden *g, const char *name, int K, int D) {
    float *q = th_fetch(ctx, vc_moco_queue(me), (size_t)D, (size_t)K * D); /* rows 1..K */
    CHECK_NMSE(q, vc_golden_need(g, name, (size_t)K * D), (size_t)K * D, TOL_QUEUE, name);
    float *row0 = th_fetch(ctx, vc_moco_queue(me), 0, (size_t)D);
    double s = 0;
    for (int d = 0; d < D; d++) s += fabs(row0[d]);
    CHECK(s == 0, "%s: the queue's zero row holds %g", name, s);
    free(q);
    free(row0);
}

/* One symmetric step from the initial weights w0 (see tools/gen_golden.py, moco_symmetric). */
static void test_symmetric(VcContext *ctx, const VcGolden *g, const float *w0, int N, int C, int S, int G, float T, float lr,
                           float mom, const VcOptimConfig *opt) {
    uint32_t nd = 0;
    const uint32_t *qd = vc_golden_dims(g, "sym.queue0", &nd);
    VC_ASSERT(qd && nd == 2);
    int K = (int)qd[0], D = (int)qd[1], R = 2 * N;
    VcModel *m = vc_model_new(ctx, VC_MODEL_SMALL_RESNET, C, S, D, 1);
    VC_ASSERT(m);
    vc_model_upload(m, w0);
    VcTrainConfig c;
    vc_train_defaults(&c);
    snprintf(c.method, sizeof c.method, "moco");
    c.batch = N, c.queue = K, c.shuffle_groups = G, c.temperature = T, c.moco_m = mom, c.symmetric = 1;
    VcMethod *me = vc_method_new(&c, m, opt, N);
    VC_ASSERT(me);
    vc_buffer_upload(ctx, vc_moco_queue(me), (size_t)D * sizeof(float), vc_golden_need(g, "sym.queue0", (size_t)K * D),
                     (size_t)K * D * sizeof(float));
    size_t in_n = (size_t)R * C * S * S;
    vc_buffer_upload(ctx, me->input, 0, vc_golden_need(g, "input", in_n), in_n * sizeof(float));
    float *h = (float *)me->hyper.mapped;
    h[VC_HYPER_LR] = lr, h[VC_HYPER_STEP] = 1, h[VC_HYPER_EMA] = mom;
    VcCmd *step = vc_cmd_new(ctx, false);
    me->record(me, step);
    vc_cmd_run(step);
    float loss, want = vc_golden_need(g, "sym.loss", 1)[0];
    vc_buffer_download(ctx, me->loss, 0, &loss, sizeof loss);
    CHECK(fabs(loss - want) <= TOL_LOSS_ABS, "symmetric loss %.7f vs PyTorch %.7f", loss, want);
    printf("symmetric loss %.7f (PyTorch %.7f)\n", loss, want);
    float *q = th_fetch(ctx, vc_moco_queries(me), 0, (size_t)R * D), *k = th_fetch(ctx, vc_moco_keys(me), 0, (size_t)R * D);
    CHECK_NMSE(q, vc_golden_need(g, "sym.q", (size_t)R * D), (size_t)R * D, TOL_QK, "symmetric queries q");
    CHECK_NMSE(k, vc_golden_need(g, "sym.k", (size_t)R * D), (size_t)R * D, TOL_QK, "symmetric keys k");
    float *grads = th_fetch(ctx, m->grads, 0, m->arena_floats), *w1 = vc_calloc(m->arena_floats, sizeof(float));
    vc_model_download(m, w1);
    int ngrads = 0, nrunning = 0;
    for (int i = 0; i < m->nt; i++) {
        const VcTensorSpec *t = &m->t[i];
        char name[128];
        snprintf(name, sizeof name, vc_tensor_is_param(t) ? "sym.g.%s" : "sym.rs1.%s", t->name);
        size_t n = 0;
        const float *ref = vc_golden_get(g, name, &n);
        if (!ref) continue;
        CHECK(n == t->n, "%s: %zu elements, want %zu", name, n, t->n);
        if (n != t->n) continue;
        if (vc_tensor_is_param(t)) CHECK_NMSE(grads + t->offset, ref, n, TOL_GRAD, name), ngrads++;
        else CHECK_NMSE(w1 + t->offset, ref, n, TOL_RUNNING, name), nrunning++;
    }
    CHECK(ngrads == 7 && nrunning == 20, "symmetric: 7 gradients and 20 running statistics compared (%d, %d)", ngrads,
          nrunning);
    check_queue(ctx, me, g, "sym.queue1", K, D);
    vc_cmd_free(step);
    vc_method_free(me);
    vc_model_free(m);
    free(q), free(k), free(grads), free(w1);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : VC_SOURCE_DIR "/tests/golden/moco_small_resnet.bin";
    VcGolden *g = vc_golden_load(path);
    if (!g) {
        fprintf(stderr, "FAIL cannot load %s: %s\n", path, vc_last_error());
        return 1;
    }
    const float *meta = vc_golden_need(g, "moco_meta", 8), *hyper = vc_golden_need(g, "moco_hyper", 3);
    int N = (int)meta[0], C = (int)meta[1], S = (int)meta[2], G = (int)meta[7];
    float T = meta[4], lr = meta[5], mom = meta[6];
    uint32_t nd = 0;
    const uint32_t *qd = vc_golden_dims(g, "queue0", &nd);
    VC_ASSERT(qd && nd == 2);
    int K = (int)qd[0], D = (int)qd[1];
    VcContext *ctx = th_gpu();
    VcModel *m = vc_model_new(ctx, VC_MODEL_SMALL_RESNET, C, S, D, 1);
    VC_ASSERT(m);
    float *w0 = vc_calloc(m->arena_floats, sizeof(float));
    for (int i = 0; i < m->nt; i++) {
        char name[128];
        snprintf(name, sizeof name, "w.%s", m->t[i].name);
        memcpy(w0 + m->t[i].offset, vc_golden_need(g, name, m->t[i].n), m->t[i].n * sizeof(float));
    }
    vc_model_upload(m, w0);

    VcTrainConfig c;
    vc_train_defaults(&c);
    snprintf(c.method, sizeof c.method, "moco");
    c.batch = N, c.queue = K, c.shuffle_groups = G, c.temperature = T, c.moco_m = mom, c.moco_version = 2;
    VcOptimConfig opt = {.kind = VC_OPTIM_SGD, .momentum = hyper[0], .weight_decay = hyper[1], .nesterov = hyper[2] != 0};
    VcMethod *me = vc_method_new(&c, m, &opt, N);
    VC_ASSERT(me);
    vc_buffer_upload(ctx, vc_moco_queue(me), (size_t)D * sizeof(float), vc_golden_need(g, "queue0", (size_t)K * D),
                     (size_t)K * D * sizeof(float));
    size_t in_n = (size_t)2 * N * C * S * S;
    vc_buffer_upload(ctx, me->input, 0, vc_golden_need(g, "input", in_n), in_n * sizeof(float));
    float *h = (float *)me->hyper.mapped;
    h[VC_HYPER_LR] = lr, h[VC_HYPER_STEP] = 1, h[VC_HYPER_EMA] = mom;

    VcCmd *step = vc_cmd_new(ctx, false);
    me->record(me, step);
    vc_cmd_run(step);

    /* step 1: loss, queries, keys, gradients, running statistics, queue */
    float loss;
    vc_buffer_download(ctx, me->loss, 0, &loss, sizeof loss);
    float want = vc_golden_need(g, "loss", 1)[0];
    CHECK(fabs(loss - want) <= TOL_LOSS_ABS, "loss %.7f vs PyTorch %.7f", loss, want);
    printf("step 1 loss %.7f (PyTorch %.7f)\n", loss, want);
    float *q = th_fetch(ctx, vc_moco_queries(me), 0, (size_t)N * D), *k = th_fetch(ctx, vc_moco_keys(me), 0, (size_t)N * D);
    CHECK_NMSE(q, vc_golden_need(g, "q", (size_t)N * D), (size_t)N * D, TOL_QK, "queries q");
    CHECK_NMSE(k, vc_golden_need(g, "k", (size_t)N * D), (size_t)N * D, TOL_QK, "keys k (Shuffle-BN)");
    float *grads = th_fetch(ctx, m->grads, 0, m->arena_floats), *w1 = vc_calloc(m->arena_floats, sizeof(float));
    vc_model_download(m, w1);
    int nparams = 0, nrunning = 0;
    for (int i = 0; i < m->nt; i++) {
        const VcTensorSpec *t = &m->t[i];
        char name[128];
        if (!vc_tensor_is_param(t)) {
            snprintf(name, sizeof name, "rs1.%s", t->name);
            CHECK_NMSE(w1 + t->offset, vc_golden_need(g, name, t->n), t->n, TOL_RUNNING, name);
            nrunning++;
            continue;
        }
        snprintf(name, sizeof name, "g.%s", t->name);
        const float *ref = vc_golden_need(g, name, t->n), *got = grads + t->offset;
        double ref_max = 0, diff_max = 0;
        for (size_t j = 0; j < t->n; j++) {
            ref_max = fmax(ref_max, fabs(ref[j]));
            diff_max = fmax(diff_max, fabs((double)got[j] - ref[j]));
        }
        if (ref_max < TOL_ZERO_GRAD)
            CHECK(diff_max < TOL_ZERO_GRAD, "%s: zero gradient, max |diff| %.3g", name, diff_max);
        else
            CHECK_NMSE(got, ref, t->n, TOL_GRAD, name);
        nparams++;
    }
    CHECK(nparams == 33 && nrunning == 20, "33 parameter tensors and 20 running statistics (got %d, %d)", nparams, nrunning);
    check_queue(ctx, me, g, "queue1", K, D);

    /* step 2: the EMA now moves the key encoder; the enqueue wraps */
    h[VC_HYPER_STEP] = 2;
    vc_cmd_run(step);
    vc_buffer_download(ctx, me->loss, 0, &loss, sizeof loss);
    want = vc_golden_need(g, "losses", 2)[1];
    CHECK(fabs(loss - want) <= TOL_LOSS2_REL * want, "step 2 loss %.7f vs PyTorch %.7f", loss, want);
    printf("step 2 loss %.7f (PyTorch %.7f)\n", loss, want);
    check_queue(ctx, me, g, "queue2", K, D);
    VcModel *key = vc_moco_key_model(me);
    float *kw = vc_calloc(key->arena_floats, sizeof(float));
    vc_model_download(key, kw);
    int nkey = 0;
    for (int i = 0; i < key->nt; i++) {
        char name[128];
        snprintf(name, sizeof name, "kw2.%s", key->t[i].name);
        size_t n = 0;
        const float *ref = vc_golden_get(g, name, &n);
        if (!ref) continue;
        CHECK(n == key->t[i].n, "%s: %zu elements, want %zu", name, n, key->t[i].n);
        if (n == key->t[i].n) CHECK_NMSE(kw + key->t[i].offset, ref, n, TOL_KEY, name);
        nkey++;
    }
    CHECK(nkey >= 40, "key encoder tensors compared: %d", nkey);
    /* the key encoder really moved off the initial weights (else the EMA check is empty) */
    const VcTensorSpec *fc2 = vc_model_find(key, "head.fc2.weight");
    double moved = th_nmse(kw + fc2->offset, w0 + fc2->offset, fc2->n);
    CHECK(moved > 1e-12, "key head.fc2.weight moved from its start by nmse %.3g", moved);

    vc_cmd_free(step);
    vc_method_free(me);
    vc_model_free(m);
    test_symmetric(ctx, g, w0, N, C, S, G, T, lr, mom, &opt);
    void *mem[] = {w0, q, k, grads, w1, kw};
    for (size_t i = 0; i < VC_COUNTOF(mem); i++) free(mem[i]);
    vc_golden_free(g);
    return th_finish();
}
