/* retrieval.c — Recall@K and Precision@K of the nearest bank rows (see retrieval.h). */
#include "eval/retrieval.h"

#include <stdbool.h>
#include <stdlib.h>

#include "eval/knn.h"

int vc_retrieval_eval(VcContext *ctx, VcBuffer bank, const int32_t *bank_labels, int nb, VcBuffer queries,
                      const int32_t *query_labels, int nq, int D, VcRetrievalResult *out) {
    static const int ks[VC_RETRIEVAL_KS] = {1, 5, 10};
    int k = VC_MIN(ks[VC_RETRIEVAL_KS - 1], nb);
    if (nb < 1 || nq < 1) {
        vc_set_error("retrieval needs a labelled bank and query set (bank %d rows, %d queries)", nb, nq);
        return VC_ERR_ARG;
    }
    float *hv = vc_malloc((size_t)nq * (size_t)k * sizeof(float));
    int32_t *hi = vc_malloc((size_t)nq * (size_t)k * sizeof(int32_t));
    int st = vc_knn_search(ctx, bank, nb, queries, nq, D, k, hv, hi);
    VcRetrievalResult r = {0};
    for (int q = 0; st == VC_OK && q < nq; q++) {
        int same = 0, first_hit = -1; /* same-label rows among the k, and the rank of the first */
        for (int j = 0; j < k; j++) {
            bool hit = bank_labels[hi[(size_t)q * k + j]] == query_labels[q];
            same += hit;
            if (hit && first_hit < 0) first_hit = j;
        }
        r.precision_at_k += (double)same / k;
        for (int i = 0; i < VC_RETRIEVAL_KS; i++) r.recall[i] += first_hit >= 0 && first_hit < ks[i];
    }
    free(hv);
    free(hi);
    if (st != VC_OK) return st;
    for (int i = 0; i < VC_RETRIEVAL_KS; i++) r.ks[i] = VC_MIN(ks[i], nb), r.recall[i] /= nq;
    r.precision_at_k /= nq;
    r.k = k;
    *out = r;
    return VC_OK;
}
