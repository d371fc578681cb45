/* knn.h — weighted k-nearest-neighbour classification on embeddings (the SSL monitor).
 *
 * As in InstDisc / SimCLR's kNN monitor: cosine similarity between l2-normalized test and
 * bank embeddings, the k most similar bank rows vote for their labels with weight
 * exp(s / T); the class with the largest total wins. Similarities (GEMM) and the top-k
 * selection run on the GPU in chunks of test rows; the votes (k per row) are summed on
 * the host from the downloaded top-k lists.
 */
#ifndef VC_EVAL_KNN_H
#define VC_EVAL_KNN_H

#include <stdint.h>

#include "vk/vk.h"

typedef struct VcKnnResult {
    double top1;  /* fraction of test rows whose predicted class equals the label */
    double top5;
    int k;
} VcKnnResult;

/* bank (nb, D) and test (nt, D): l2-normalized rows on the device; labels on the host. */
int vc_knn_eval(VcContext *ctx, VcBuffer bank, const int32_t *bank_labels, int nb, VcBuffer test, const int32_t *test_labels,
                int nt, int D, int num_classes, int k, float temperature, VcKnnResult *out);

/* The k nearest bank rows of every query (cosine similarity of l2-normalized rows, on the
 * device, in chunks of 256 queries): sims and idx (nq, k) on the host, most similar first.
 * 1 <= k <= min(nb, 256). */
int vc_knn_search(VcContext *ctx, VcBuffer bank, int nb, VcBuffer queries, int nq, int D, int k, float *sims, int32_t *idx);

/* The vote for one row given its top-k similarities and bank indices (exposed for tests). */
int vc_knn_vote(const float *sims, const int32_t *idx, int k, const int32_t *bank_labels, int num_classes, float temperature,
                double *scores);

#endif
