/* util_ops.h — copies, reductions, row gather/scatter and per-row top-k. */
#ifndef VC_OPS_UTIL_OPS_H
#define VC_OPS_UTIL_OPS_H

#include "vk/vk.h"

/* dst = src (n floats). */
void vc_copy(VcCmd *cmd, size_t n, VcBuffer dst, VcBuffer src);
/* out (rows) = sum / max over each row of x (rows, cols). */
void vc_reduce_sum_rows(VcCmd *cmd, int rows, int cols, VcBuffer out, VcBuffer x);
void vc_reduce_max_rows(VcCmd *cmd, int rows, int cols, VcBuffer out, VcBuffer x);
/* out (count, D)[i] = x[idx[i]] ; idx int32 (count). */
void vc_gather_rows(VcCmd *cmd, int count, int D, VcBuffer out, VcBuffer x, VcBuffer idx);
/* x[idx[i]] = src (count, D)[i] ; indices must be distinct. */
void vc_scatter_rows(VcCmd *cmd, int count, int D, VcBuffer x, VcBuffer src, VcBuffer idx);
/* Per row of x (rows, cols): the k largest values, descending, and their column indices
 * (int32); ties broken by the lower index. k <= 256 and k <= cols. */
void vc_topk_rows(VcCmd *cmd, int rows, int cols, int k, VcBuffer values, VcBuffer indices, VcBuffer x);

#endif
