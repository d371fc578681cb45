/* ref/util_ops.h — plain references for copies, row reductions, gather/scatter and
 * top-k (the readable spec of the shaders behind src/ops/util_ops.h). */
#ifndef VC_REF_UTIL_OPS_H
#define VC_REF_UTIL_OPS_H

#include <stddef.h>

/* out (rows) = sum / max of each row of x (rows, cols), in double. */
void ref_reduce_sum_rows(int rows, int cols, double *out, const float *x);
void ref_reduce_max_rows(int rows, int cols, double *out, const float *x);
/* out (count, D)[i] = x[idx[i]]; an index outside [0, x_rows) gives zeros. */
void ref_gather_rows(int count, int D, float *out, const float *x, int x_rows, const int *idx);
/* x[idx[i]] = src (count, D)[i]; an index outside [0, x_rows) is skipped. */
void ref_scatter_rows(int count, int D, float *x, int x_rows, const float *src, const int *idx);
/* Per row: the k largest values, descending, ties by lower index — by sorting the whole
 * row's indices. values (rows, k), indices (rows, k). */
void ref_topk_rows(int rows, int cols, int k, float *values, int *indices, const float *x);

#endif
