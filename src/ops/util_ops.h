/* util_ops.h — copies, reductions, row gather/scatter and per-row top-k.
 *
 * Every op here accepts buffers at any 4-byte-aligned offset (slices of an arena): the
 * bound range starts at the 256-byte boundary below (the largest storage-buffer offset
 * alignment Vulkan allows) and the shader skips the floats in front (vc_window).
 *
 * Row ops come in two kernel styles, picked per device class (see
 * /work/shared/notes/lavapipe-and-gpus.md): on CPU devices one invocation owns a whole
 * row or a segment of it (no shared memory, no barriers); on GPUs one workgroup owns a
 * row and cooperates through shared memory. The _ex functions force a style, so both
 * stay tested on any device.
 *
 * Two lavapipe (Mesa 22.3 gallivm) facts shape the CPU kernels: both sides of every
 * branch execute, with lanes masked off rather than skipped (only loops exit early),
 * and an invocation is cut off silently once all its loops together ran 65535
 * iterations (the "loop limiter"); long rows are therefore split over several
 * dispatches or segments.
 */
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

/* ---- additions ---- */

/* Kernel style of a row op: AUTO picks by device class. */
typedef enum { VC_ROWS_AUTO, VC_ROWS_PER_INVOCATION, VC_ROWS_PER_WORKGROUP } VcRowStyle;
typedef enum { VC_REDUCE_SUM, VC_REDUCE_MAX } VcReduceOp;

/* vc_reduce_sum_rows / vc_reduce_max_rows with the kernel style chosen by the caller. */
void vc_reduce_rows_ex(VcCmd *cmd, VcReduceOp op, int rows, int cols, VcBuffer out, VcBuffer x, VcRowStyle style);
/* vc_topk_rows with the kernel style chosen by the caller: PER_INVOCATION keeps a
 * k-entry min-heap per row segment (CPU devices; AUTO takes it on every CPU device),
 * PER_WORKGROUP finds the k-th largest by radix select over the row in shared memory,
 * then ranks the k winners (GPUs). Rows must not contain NaN. */
void vc_topk_rows_ex(VcCmd *cmd, int rows, int cols, int k, VcBuffer values, VcBuffer indices, VcBuffer x, VcRowStyle style);

/* The range to bind for floats [first, first + count) of b, starting at the 256-byte
 * boundary at or below; *skip = floats between the bound start and element `first`.
 * b.offset must be a multiple of 4. */
VcBuffer vc_window(VcBuffer b, size_t first, size_t count, uint32_t *skip);

#endif
