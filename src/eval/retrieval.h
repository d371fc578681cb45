/* retrieval.h — image retrieval metrics on embeddings (vkcontrast eval --retrieval). */
#ifndef VC_EVAL_RETRIEVAL_H
#define VC_EVAL_RETRIEVAL_H

#include <stdint.h>

#include "vk/vk.h"

/* Retrieval, as metric learning scores an embedding (e.g. for the triplet and block losses):
 * each query row ranks the bank by cosine similarity. Recall@K: the fraction of queries
 * with a same-label bank row among their K nearest, K = 1, 5, 10 (capped at the bank size);
 * Precision@K: the mean fraction of same-label rows among the k = 10 nearest. */
#define VC_RETRIEVAL_KS 3
typedef struct VcRetrievalResult {
    int ks[VC_RETRIEVAL_KS];
    double recall[VC_RETRIEVAL_KS];
    int k;
    double precision_at_k;
} VcRetrievalResult;
int vc_retrieval_eval(VcContext *ctx, VcBuffer bank, const int32_t *bank_labels, int nb, VcBuffer queries,
                      const int32_t *query_labels, int nq, int D, VcRetrievalResult *out);

#endif
