/* test_moco_ops.c — MoCo's logits (positive column + queue GEMM), their backward and the
 * queue ring, against tests/ref/moco.c.
 *
 * 1. The reference backward against central finite differences of the reference logits.
 * 2. GPU logits and backward vs reference on odd shapes: R = 1, D = 1, K = 1, K not a
 *    multiple of anything, the symmetric pairing (off = R/2), and a training-sized one.
 * 3. The enqueue over many steps of one recorded command (step count from the hyper
 *    buffer, as in training) for K not a multiple of the keys per step, K = E and
 *    K = E + 1, compared after every step with the reference ring; row 0 stays zero.
 * 4. The host's pointer formula (checkpoints) against 64-bit arithmetic at large steps.
 */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "ops/moco.h"
#include "ops/optim.h"
#include "ref/moco.h"
#include "vk/vk.h"

static VcBuffer upload_f(VcContext *ctx, const double *a, size_t n, size_t front) {
    float *f = vc_calloc(n + front, sizeof(float));
    for (size_t i = 0; i < n; i++) f[front + i] = (float)a[i];
    VcBuffer b;
    VC_ASSERT(vc_buffer_alloc(ctx, (n + front) * 4, "test", &b) == VC_OK);
    vc_buffer_upload(ctx, b, 0, f, (n + front) * 4);
    free(f);
    return b;
}
static double *rand_d(size_t n) {
    double *x = vc_malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = th_normal();
    return x;
}
/* round to float, so reference and GPU start from the same numbers */
static void to_float_values(double *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (float)x[i];
}

static void test_reference_gradient(int R, int D, int K, int off) {
    double T = 0.3;
    size_t nq = (size_t)R * D, nl = (size_t)R * (K + 1);
    double *q = rand_d(nq), *k = rand_d(nq), *queue = rand_d((size_t)K * D), *w = rand_d(nl);
    double *lg = vc_malloc(nl * 8), *dq = vc_malloc(nq * 8);
    ref_moco_logits_backward(R, D, K, off, T, dq, w, k, queue);
    double e = 0, den = 0;
    for (size_t i = 0; i < nq; i++) {
        double keep = q[i], lp = 0, lm = 0;
        q[i] = keep + 1e-5;
        ref_moco_logits(R, D, K, off, T, lg, q, k, queue);
        for (size_t j = 0; j < nl; j++) lp += w[j] * lg[j];
        q[i] = keep - 1e-5;
        ref_moco_logits(R, D, K, off, T, lg, q, k, queue);
        for (size_t j = 0; j < nl; j++) lm += w[j] * lg[j];
        q[i] = keep;
        double num = (lp - lm) / 2e-5;
        e += (dq[i] - num) * (dq[i] - num), den += num * num;
    }
    CHECK(e / den < 1e-14, "reference d_q vs finite differences (R %d, D %d, K %d, off %d): nmse %.3g", R, D, K, off, e / den);
    free(q), free(k), free(queue), free(w), free(lg), free(dq);
}

static void test_logits(VcContext *ctx, int R, int D, int K, int off, double bound) {
    double T = 0.2;
    size_t nq = (size_t)R * D, nl = (size_t)R * (K + 1);
    double *q = rand_d(nq), *k = rand_d(nq), *queue = rand_d((size_t)K * D), *dl = rand_d(nl);
    to_float_values(q, nq), to_float_values(k, nq), to_float_values(queue, (size_t)K * D), to_float_values(dl, nl);
    VcBuffer bq = upload_f(ctx, q, nq, 0), bk = upload_f(ctx, k, nq, 0), bqueue = upload_f(ctx, queue, (size_t)K * D, (size_t)D);
    VcBuffer bdl = upload_f(ctx, dl, nl, 0), blg, bdq;
    VC_ASSERT(vc_buffer_alloc(ctx, nl * 4, "logits", &blg) == VC_OK && vc_buffer_alloc(ctx, nq * 4, "d_q", &bdq) == VC_OK);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_moco_logits(cmd, R, D, K, off, (float)T, blg, bq, bk, bqueue);
    vc_moco_logits_backward(cmd, R, D, K, off, (float)T, bdq, bdl, bk, bqueue);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);
    double *rl = vc_malloc(nl * 8), *rdq = vc_malloc(nq * 8);
    ref_moco_logits(R, D, K, off, T, rl, q, k, queue);
    ref_moco_logits_backward(R, D, K, off, T, rdq, dl, k, queue);
    float *gl = vc_malloc(nl * 4), *gdq = vc_malloc(nq * 4);
    vc_buffer_download(ctx, blg, 0, gl, nl * 4);
    vc_buffer_download(ctx, bdq, 0, gdq, nq * 4);
    char what[128];
    snprintf(what, sizeof what, "moco logits (R %d, D %d, K %d, off %d)", R, D, K, off);
    double e = th_nmse_d(gl, rl, nl);
    CHECK(e <= bound, "%s: nmse %.3g > %.3g", what, e, bound);
    /* the positive column on its own (an nmse over K + 1 columns could hide it) */
    float *gpos = vc_malloc((size_t)R * 4);
    double *rpos = vc_malloc((size_t)R * 8);
    for (int i = 0; i < R; i++) gpos[i] = gl[(size_t)i * (K + 1)], rpos[i] = rl[(size_t)i * (K + 1)];
    double ep = th_nmse_d(gpos, rpos, (size_t)R);
    CHECK(ep <= bound, "%s, column 0: nmse %.3g", what, ep);
    double eb = th_nmse_d(gdq, rdq, nq);
    CHECK(eb <= bound, "%s backward d_q: nmse %.3g > %.3g", what, eb, bound);
    if (getenv("VC_TEST_VERBOSE")) printf("  %s: logits %.3g, positives %.3g, d_q %.3g\n", what, e, ep, eb);
    VcBuffer all[] = {bq, bk, bqueue, bdl, blg, bdq};
    for (size_t i = 0; i < VC_COUNTOF(all); i++) vc_buffer_free(ctx, &all[i]);
    void *mem[] = {q, k, queue, dl, rl, rdq, gl, gdq, gpos, rpos};
    for (size_t i = 0; i < VC_COUNTOF(mem); i++) free(mem[i]);
}

static void test_enqueue(VcContext *ctx, int E, int D, int K, int steps) {
    size_t nk = (size_t)E * D, nqueue = (size_t)K * D;
    double *queue = rand_d(nqueue), *k = vc_malloc(nk * 8);
    to_float_values(queue, nqueue);
    VcBuffer bqueue = upload_f(ctx, queue, nqueue, (size_t)D), bk, hyper;
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, nk * 4, "keys", &bk) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, VC_HYPER_COUNT * 4, "hyper", &hyper) == VC_OK);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_moco_enqueue(cmd, E, D, K, bqueue, bk, hyper);
    float *got = vc_malloc((nqueue + D) * 4);
    int bad = 0;
    for (int s = 0; s < steps; s++) {
        for (size_t i = 0; i < nk; i++) k[i] = (float)th_normal();
        for (size_t i = 0; i < nk; i++) ((float *)bk.mapped)[i] = (float)k[i];
        ((float *)hyper.mapped)[VC_HYPER_STEP] = (float)(s + 1);
        vc_cmd_run(cmd);
        ref_moco_enqueue(E, D, K, s, queue, k);
        vc_buffer_download(ctx, bqueue, 0, got, (nqueue + D) * 4);
        for (int d = 0; d < D; d++) bad += got[d] != 0.0f;
        for (size_t i = 0; i < nqueue; i++) bad += got[D + i] != (float)queue[i];
    }
    CHECK(bad == 0, "enqueue E %d, D %d, K %d over %d steps: %d values differ from the reference ring", E, D, K, steps, bad);
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &bqueue), vc_buffer_free(ctx, &bk), vc_buffer_free(ctx, &hyper);
    free(queue), free(k), free(got);
}

int main(void) {
    th_seed(5);
    test_reference_gradient(3, 4, 5, 0);
    test_reference_gradient(4, 3, 2, 2);

    VcContext *ctx = th_gpu();
    /* fp32 vs double; measured on lavapipe: <= 1e-14 (sums of at most 64 products) */
    test_logits(ctx, 1, 1, 1, 0, 1e-12);
    test_logits(ctx, 5, 3, 7, 0, 1e-12);
    test_logits(ctx, 6, 17, 13, 3, 1e-12);  /* symmetric pairing: row i meets key i + 3 */
    test_logits(ctx, 64, 64, 4096, 0, 1e-12);
    test_logits(ctx, 33, 128, 100, 0, 1e-12);

    test_enqueue(ctx, 8, 5, 37, 12);  /* K not a multiple of E: wraps at different slots */
    test_enqueue(ctx, 8, 3, 8, 3);    /* K = E: every step overwrites the whole queue */
    test_enqueue(ctx, 8, 3, 9, 11);   /* K = E + 1 */
    test_enqueue(ctx, 3, 64, 4096, 5);

    int bad = 0;
    long steps[] = {0, 1, 7, 12345, 1L << 24, 123456789};
    int Es[] = {1, 8, 256, 512, 4096}, Ks[] = {1, 12, 4096, 65535};
    for (size_t a = 0; a < VC_COUNTOF(steps); a++)
        for (size_t b = 0; b < VC_COUNTOF(Es); b++)
            for (size_t c = 0; c < VC_COUNTOF(Ks); c++)
                bad += vc_moco_queue_ptr(steps[a], Es[b], Ks[c]) != (int)((int64_t)steps[a] * Es[b] % Ks[c]);
    CHECK(bad == 0, "queue pointer formula: %d mismatches against 64-bit arithmetic", bad);
    return th_finish();
}
