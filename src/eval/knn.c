/* knn.c — nearest neighbours on the GPU (similarities + top-k), then the weighted kNN vote
 * (top-1/top-5) on the host; retrieval.c scores the same neighbour lists. */
#include "eval/knn.h"

#include <math.h>
#include <string.h>

#include "ops/gemm.h"
#include "ops/util_ops.h"

int vc_knn_vote(const float *sims, const int32_t *idx, int k, const int32_t *bank_labels, int num_classes, float temperature,
                double *scores) {
    memset(scores, 0, sizeof(double) * (size_t)num_classes);
    for (int j = 0; j < k; j++) {
        int label = bank_labels[idx[j]];
        if (label >= 0 && label < num_classes) scores[label] += exp((double)sims[j] / temperature);
    }
    int best = 0;
    for (int c = 1; c < num_classes; c++)
        if (scores[c] > scores[best]) best = c;
    return best;
}

int vc_knn_search(VcContext *ctx, VcBuffer bank, int nb, VcBuffer queries, int nq, int D, int k, float *sims, int32_t *idx) {
    if (nb < 1 || nq < 1 || k < 1 || k > nb || k > 256) {
        vc_set_error("nearest-neighbour search: k = %d of a bank of %d rows (k must be 1 to min(bank, 256)), %d queries", k, nb,
                     nq);
        return VC_ERR_ARG;
    }
    /* chunk of query rows so that the similarity block stays within one bindable range */
    size_t max_range = vc_context_info(ctx)->max_storage_buffer_range;
    int chunk = (int)VC_MIN((size_t)256, max_range / ((size_t)nb * sizeof(float)));
    chunk = VC_MAX(chunk, 1);
    VcBuffer sim, vals, ids;
    if (vc_buffer_alloc(ctx, (size_t)chunk * (size_t)nb * sizeof(float), "kNN similarities", &sim) != VC_OK) return VC_ERR_OOM;
    if (vc_buffer_alloc(ctx, (size_t)chunk * (size_t)k * sizeof(float), "kNN values", &vals) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)chunk * (size_t)k * sizeof(int32_t), "kNN indices", &ids) != VC_OK) {
        vc_buffer_free(ctx, &sim);
        vc_buffer_free(ctx, &vals);
        return VC_ERR_OOM;
    }
    for (int first = 0; first < nq; first += chunk) {
        int rows = VC_MIN(chunk, nq - first);
        VcCmd *cmd = vc_cmd_new(ctx, false);
        VcGemmShape g = {.M = rows, .N = nb, .K = D, .trans_b = true, .alpha = 1};
        vc_gemm(cmd, &g,
                vc_buffer_slice(queries, (size_t)first * (size_t)D * sizeof(float), (size_t)rows * (size_t)D * sizeof(float)),
                bank, sim, NULL);
        vc_topk_rows(cmd, rows, nb, k, vals, ids, sim);
        vc_cmd_run(cmd);
        vc_cmd_free(cmd);
        vc_buffer_download(ctx, vals, 0, sims + (size_t)first * k, (size_t)rows * (size_t)k * sizeof(float));
        vc_buffer_download(ctx, ids, 0, idx + (size_t)first * k, (size_t)rows * (size_t)k * sizeof(int32_t));
    }
    vc_buffer_free(ctx, &sim);
    vc_buffer_free(ctx, &vals);
    vc_buffer_free(ctx, &ids);
    return VC_OK;
}

int vc_knn_eval(VcContext *ctx, VcBuffer bank, const int32_t *bank_labels, int nb, VcBuffer test, const int32_t *test_labels,
                int nt, int D, int num_classes, int k, float temperature, VcKnnResult *out) {
    if (k > nb) k = nb;
    if (k > 256) k = 256;
    if (nb < 1 || nt < 1 || num_classes < 1 || k < 1) {
        vc_set_error("kNN needs a labelled bank and test set (bank %d rows, test %d rows, %d classes)", nb, nt, num_classes);
        return VC_ERR_ARG;
    }
    float *hv = vc_malloc((size_t)nt * (size_t)k * sizeof(float));
    int32_t *hi = vc_malloc((size_t)nt * (size_t)k * sizeof(int32_t));
    int st = vc_knn_search(ctx, bank, nb, test, nt, D, k, hv, hi);
    double *scores = vc_malloc(sizeof(double) * (size_t)num_classes);
    long correct1 = 0, correct5 = 0;
    for (int r = 0; st == VC_OK && r < nt; r++) {
        int label = test_labels[r];
        int pred = vc_knn_vote(hv + (size_t)r * (size_t)k, hi + (size_t)r * (size_t)k, k, bank_labels, num_classes, temperature,
                               scores);
        correct1 += pred == label;
        /* top-5: the label's score is among the 5 largest */
        int above = 0;
        for (int c = 0; c < num_classes; c++) above += scores[c] > scores[label];
        correct5 += above < 5 && scores[label] > 0;
    }
    free(hv);
    free(hi);
    free(scores);
    if (st != VC_OK) return st;
    out->top1 = (double)correct1 / nt;
    out->top5 = (double)correct5 / nt;
    out->k = k;
    return VC_OK;
}
