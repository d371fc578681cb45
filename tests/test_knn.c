/* test_knn.c — the evaluation's nearest neighbours (src/eval/knn.c, retrieval.c): the weighted kNN vote
 * (top-1, top-5) and the retrieval metrics (Recall@1/5/10, Precision@10) against a brute
 * force on the host.
 *
 * The embeddings are chosen so that every similarity is exact in fp32 and no two are equal:
 * integer coordinates in [-4, 4], plus a last coordinate that is 1 in every query and
 * j / 1024 in bank row j. A similarity is then an integer plus a fraction unique to its bank
 * row, and every partial sum of the GPU's GEMM is a multiple of 2^-10 below 2^9: exact. So
 * the neighbour lists, the votes and the metrics must equal the reference exactly, whatever
 * the summation order. Shapes: more queries than one chunk (256), a bank that is no
 * multiple of anything, and a bank smaller than K = 10.
 */
#include <math.h>
#include <string.h>

#include "eval/knn.h"
#include "eval/retrieval.h"
#include "harness.h"
#include "vk/vk.h"

#define D 17 /* 16 integer coordinates + the tie-breaker */

static void make_rows(float *x, int n, bool bank) {
    for (int i = 0; i < n; i++) {
        for (int d = 0; d < D - 1; d++) x[(size_t)i * D + d] = (float)(int)floorf(th_uniform(-4.0f, 5.0f));
        x[(size_t)i * D + D - 1] = bank ? (float)i / 1024.0f : 1.0f;
    }
}

/* Brute force: the k largest similarities of query q, most similar first (all distinct). */
static void ref_nearest(const float *bank, int nb, const float *q, int k, float *sims, int32_t *idx) {
    double *s = vc_malloc((size_t)nb * sizeof *s);
    for (int j = 0; j < nb; j++) {
        double acc = 0;
        for (int d = 0; d < D; d++) acc += (double)q[d] * bank[(size_t)j * D + d];
        s[j] = acc;
    }
    for (int t = 0; t < k; t++) {
        int best = -1;
        for (int j = 0; j < nb; j++)
            if (s[j] > -1e300 && (best < 0 || s[j] > s[best])) best = j;
        sims[t] = (float)s[best];
        idx[t] = best;
        s[best] = -1e301; /* taken */
    }
    free(s);
}

static VcBuffer upload(VcContext *ctx, const float *x, size_t n) {
    VcBuffer b;
    VC_ASSERT(vc_buffer_alloc(ctx, n * sizeof(float), "test rows", &b) == VC_OK);
    vc_buffer_upload(ctx, b, 0, x, n * sizeof(float));
    return b;
}

static void check_shape(VcContext *ctx, int nb, int nq, int classes, int k, float temperature) {
    float *bank = vc_malloc((size_t)nb * D * 4), *q = vc_malloc((size_t)nq * D * 4);
    int32_t *bl = vc_malloc((size_t)nb * 4), *ql = vc_malloc((size_t)nq * 4);
    make_rows(bank, nb, true);
    make_rows(q, nq, false);
    for (int j = 0; j < nb; j++) bl[j] = (int32_t)(th_uniform(0, 1) * classes) % classes;
    for (int i = 0; i < nq; i++) ql[i] = (int32_t)(th_uniform(0, 1) * classes) % classes;
    VcBuffer gb = upload(ctx, bank, (size_t)nb * D), gq = upload(ctx, q, (size_t)nq * D);

    /* the neighbour lists themselves */
    int kk = VC_MIN(k, nb);
    float *gs = vc_malloc((size_t)nq * kk * 4), *rs = vc_malloc((size_t)kk * 4);
    int32_t *gi = vc_malloc((size_t)nq * kk * 4), *ri = vc_malloc((size_t)kk * 4);
    CHECK(vc_knn_search(ctx, gb, nb, gq, nq, D, kk, gs, gi) == VC_OK, "search (bank %d, %d queries, k %d): %s", nb, nq, kk,
          vc_last_error());
    int wrong = 0;
    for (int i = 0; i < nq; i++) {
        ref_nearest(bank, nb, q + (size_t)i * D, kk, rs, ri);
        wrong += memcmp(ri, gi + (size_t)i * kk, (size_t)kk * 4) != 0 || memcmp(rs, gs + (size_t)i * kk, (size_t)kk * 4) != 0;
    }
    CHECK(wrong == 0, "bank %d, %d queries, k %d: %d queries' neighbour lists differ from the brute force", nb, nq, kk, wrong);

    /* kNN vote: top-1 and top-5 counts */
    VcKnnResult r;
    CHECK(vc_knn_eval(ctx, gb, bl, nb, gq, ql, nq, D, classes, k, temperature, &r) == VC_OK, "kNN eval: %s", vc_last_error());
    double *scores = vc_malloc((size_t)classes * sizeof *scores);
    long top1 = 0, top5 = 0;
    for (int i = 0; i < nq; i++) {
        ref_nearest(bank, nb, q + (size_t)i * D, kk, rs, ri);
        for (int c = 0; c < classes; c++) scores[c] = 0;
        for (int t = 0; t < kk; t++) scores[bl[ri[t]]] += exp((double)rs[t] / temperature);
        int best = 0, above = 0;
        for (int c = 1; c < classes; c++) best = scores[c] > scores[best] ? c : best;
        for (int c = 0; c < classes; c++) above += scores[c] > scores[ql[i]];
        top1 += best == ql[i];
        top5 += above < 5 && scores[ql[i]] > 0;
    }
    CHECK(r.k == kk && r.top1 == (double)top1 / nq && r.top5 == (double)top5 / nq,
          "kNN (bank %d, k %d): top-1 %.6f top-5 %.6f, brute force %.6f %.6f", nb, kk, r.top1, r.top5, (double)top1 / nq,
          (double)top5 / nq);

    /* retrieval: Recall@1/5/10 and Precision@10 */
    VcRetrievalResult rr;
    CHECK(vc_retrieval_eval(ctx, gb, bl, nb, gq, ql, nq, D, &rr) == VC_OK, "retrieval: %s", vc_last_error());
    const int ks[3] = {1, 5, 10};
    int k10 = VC_MIN(10, nb);
    long hits[3] = {0, 0, 0};
    double prec = 0;
    for (int i = 0; i < nq; i++) {
        ref_nearest(bank, nb, q + (size_t)i * D, k10, rs, ri);
        int same = 0;
        for (int t = 0; t < k10; t++) same += bl[ri[t]] == ql[i];
        prec += (double)same / k10;
        for (int m = 0; m < 3; m++) {
            bool hit = false;
            for (int t = 0; t < VC_MIN(ks[m], nb); t++) hit |= bl[ri[t]] == ql[i];
            hits[m] += hit;
        }
    }
    for (int m = 0; m < 3; m++)
        CHECK(rr.ks[m] == VC_MIN(ks[m], nb) && rr.recall[m] == (double)hits[m] / nq, "Recall@%d (bank %d): %.6f, brute force %.6f",
              rr.ks[m], nb, rr.recall[m], (double)hits[m] / nq);
    CHECK(rr.k == k10 && fabs(rr.precision_at_k - prec / nq) < 1e-12, "Precision@%d (bank %d): %.6f, brute force %.6f", rr.k, nb,
          rr.precision_at_k, prec / nq);
    CHECK(rr.recall[0] <= rr.recall[1] && rr.recall[1] <= rr.recall[2], "recall grows with K");

    vc_buffer_free(ctx, &gb), vc_buffer_free(ctx, &gq);
    free(bank), free(q), free(bl), free(ql), free(gs), free(rs), free(gi), free(ri), free(scores);
}

int main(void) {
    th_seed(5);
    VcContext *ctx = th_gpu();
    check_shape(ctx, 997, 301, 7, 20, 100.0f); /* two query chunks; T large: similarities reach ~256 */
    check_shape(ctx, 4, 3, 3, 20, 100.0f);     /* a bank smaller than k and than K = 5, 10 */
    check_shape(ctx, 300, 1, 10, 256, 100.0f); /* one query, the largest k */
    /* refusals */
    float one[D] = {0};
    VcBuffer b = upload(ctx, one, D);
    float s[2];
    int32_t i[2];
    CHECK(vc_knn_search(ctx, b, 1, b, 1, D, 2, s, i) == VC_ERR_ARG && strstr(vc_last_error(), "k = 2"), "k > bank refused: %s",
          vc_last_error());
    VcRetrievalResult rr;
    CHECK(vc_retrieval_eval(ctx, b, NULL, 0, b, NULL, 1, D, &rr) == VC_ERR_ARG, "empty bank refused: %s", vc_last_error());
    vc_buffer_free(ctx, &b);
    return th_finish();
}
