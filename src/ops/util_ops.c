/* util_ops.c — host side of copy.comp, reduce_rows.comp, gather_rows.comp,
 * scatter_rows.comp and topk_rows.comp.
 *
 * Buffers may be slices at any float offset: each is bound through vc_window (the range
 * from the 256-byte boundary below) and the shader adds the skipped floats. Row ops pick
 * their kernel style per device class (see util_ops.h) unless the _ex call forces one.
 */
#include "ops/util_ops.h"

#include "ops/op.h"

typedef struct { uint32_t n, d_off, s_off; } CopyPush;
typedef struct { uint32_t rows, cols, o_off, x_off; } ReducePush;
typedef struct { uint32_t count, D, x_rows, a_off, b_off, i_off; } RowsPush; /* gather: a = out, b = x; scatter: a = x, b = src */
typedef struct { uint32_t rows, cols, k, v_off, i_off, x_off; } TopkPush; /* topk_radix */
typedef struct {
    uint32_t rows, cols, k, v_off, i_off, x_off;
    uint32_t seg_len, nseg, xi_off;
    uint32_t step_first, step_len, init, finish, final_pass;
} TopkHeapPush;
_Static_assert(sizeof(CopyPush) <= 128 && sizeof(ReducePush) <= 128, "push constants");
_Static_assert(sizeof(RowsPush) <= 128 && sizeof(TopkPush) <= 128 && sizeof(TopkHeapPush) <= 128, "push constants");

/* lavapipe ends a shader invocation whose loops together ran 65535 iterations (gallivm's
 * loop limiter, shared by all loops of a shader): kernels that loop over a row must keep
 * their trip counts below it. */
#define LAVAPIPE_LOOP_LIMIT 65535u

VcBuffer vc_window(VcBuffer b, size_t first, size_t count, uint32_t *skip) {
    VC_ASSERT(b.offset % 4 == 0 && (first + count) * 4 <= b.size);
    VkDeviceSize start = b.offset + first * 4, base = start & ~(VkDeviceSize)255;
    *skip = (uint32_t)((start - base) / 4);
    return (VcBuffer){.buf = b.buf, .offset = base, .size = start - base + count * 4};
}

/* Floats per dispatch of an elementwise op so that every window fits the device's
 * storage-buffer range (a window may start 252 bytes before its data) and 32-bit indices. */
static size_t chunk_floats(VcContext *ctx) {
    uint64_t range = VC_MIN(vc_context_info(ctx)->max_storage_buffer_range, (uint64_t)UINT32_MAX);
    return (size_t)(range / 4 - 64) / 1024 * 1024;
}

void vc_copy(VcCmd *cmd, size_t n, VcBuffer dst, VcBuffer src) {
    if (n == 0) return;
    vc_cmd_op_begin(cmd, "n %zu", n);
    VC_ASSERT(dst.size >= n * 4 && src.size >= n * 4);
    VcContext *ctx = vc_cmd_context(cmd);
    VcPipeline *p = vc_pipeline_1d(ctx, "copy", "ss", sizeof(CopyPush));
    size_t chunk = chunk_floats(ctx);
    for (size_t first = 0; first < n; first += chunk) {
        size_t len = VC_MIN(chunk, n - first);
        CopyPush pc = {(uint32_t)len, 0, 0};
        VcBuffer bufs[2] = {vc_window(dst, first, len, &pc.d_off), vc_window(src, first, len, &pc.s_off)};
        vc_dispatch_1d(cmd, p, bufs, 2, &pc, len, "copy", 0, 8.0 * (double)len);
    }
    vc_cmd_op_end(cmd);
}

/* A CPU device runs a workgroup as a loop on one thread: a row per invocation needs
 * no barriers and spreads rows over the cores, as long as there are enough rows. */
static bool per_invocation(VcContext *ctx, VcRowStyle style, int rows) {
    if (style != VC_ROWS_AUTO) return style == VC_ROWS_PER_INVOCATION;
    return vc_context_is_cpu(ctx) && rows >= 16;
}

/* Longest row the per-invocation reduction takes (cols/4 + cols/64 loop iterations). */
#define REDUCE_INV_MAX_COLS 200000

/* Workgroup size for one-workgroup-per-row kernels: a power of two, no larger than
 * the row needs (at least 32 so the tree stays short), at most 256. */
static uint32_t row_wg(int cols) {
    uint32_t wg = 32;
    while (wg < 256 && wg < (uint32_t)cols) wg *= 2;
    return wg;
}

void vc_reduce_rows_ex(VcCmd *cmd, VcReduceOp op, int rows, int cols, VcBuffer out, VcBuffer x, VcRowStyle style) {
    VC_ASSERT(rows >= 0 && cols >= 1);
    if (rows == 0) return;
    vc_cmd_op_begin(cmd, "x %dx%d (rows, cols)", rows, cols);
    VcContext *ctx = vc_cmd_context(cmd);
    size_t n = (size_t)rows * (size_t)cols;
    VC_ASSERT(n <= UINT32_MAX);
    ReducePush pc = {(uint32_t)rows, (uint32_t)cols, 0, 0};
    VcBuffer bufs[2] = {vc_window(out, 0, (size_t)rows, &pc.o_off), vc_window(x, 0, n, &pc.x_off)};
    const char *label = op == VC_REDUCE_SUM ? "reduce_sum_rows" : "reduce_max_rows";
    char name[64];
    uint32_t gx, gy, wg;
    bool inv = per_invocation(ctx, style, rows);
    if (style == VC_ROWS_AUTO && cols > REDUCE_INV_MAX_COLS) inv = false;
    VC_ASSERT(!inv || cols <= REDUCE_INV_MAX_COLS);
    if (inv) {
        wg = 16; /* two SIMD-8 batches: enough groups to keep every core busy */
        vc_grid_1d((size_t)rows, wg, &gx, &gy);
        snprintf(name, sizeof name, "%s_inv", label);
    } else {
        wg = row_wg(cols);
        VC_ASSERT((uint32_t)cols / wg + 64 < LAVAPIPE_LOOP_LIMIT); /* 16M columns */
        vc_grid_1d((size_t)rows, 1, &gx, &gy);
        snprintf(name, sizeof name, "%s_wg", label);
    }
    VcPipelineDesc d = {.shader = name, .bindings = "ss", .push_size = sizeof pc, .spec = {wg}, .spec_count = 1};
    vc_dispatch(cmd, vc_pipeline_get(ctx, &d), bufs, 2, &pc, gx, gy, 1, label, (double)n, 4.0 * ((double)n + rows));
    vc_cmd_op_end(cmd);
}

void vc_reduce_sum_rows(VcCmd *cmd, int rows, int cols, VcBuffer out, VcBuffer x) {
    vc_reduce_rows_ex(cmd, VC_REDUCE_SUM, rows, cols, out, x, VC_ROWS_AUTO);
}

void vc_reduce_max_rows(VcCmd *cmd, int rows, int cols, VcBuffer out, VcBuffer x) {
    vc_reduce_rows_ex(cmd, VC_REDUCE_MAX, rows, cols, out, x, VC_ROWS_AUTO);
}

/* gather (a = out, b = x) or scatter (a = x, b = src): x is the buffer indexed by idx,
 * whose row count (from its size) bounds the indices. */
static void rows_op(VcCmd *cmd, bool gather, int count, int D, VcBuffer a, VcBuffer b, VcBuffer idx) {
    VC_ASSERT(count >= 0 && D >= 1);
    if (count == 0) return;
    vc_cmd_op_begin(cmd, "%d rows of %d", count, D);
    const char *shader = gather ? "gather_rows" : "scatter_rows";
    size_t n = (size_t)count * (size_t)D, table_rows = (gather ? b : a).size / 4 / (size_t)D;
    VC_ASSERT(n <= UINT32_MAX && table_rows * (size_t)D <= UINT32_MAX);
    RowsPush pc = {(uint32_t)count, (uint32_t)D, (uint32_t)table_rows, 0, 0, 0};
    size_t x_n = (gather ? b : a).size / 4; /* all of x is bound; the shader bounds idx by x_rows */
    size_t a_n = gather ? n : x_n, b_n = gather ? x_n : n;
    VcBuffer bufs[3] = {vc_window(a, 0, a_n, &pc.a_off), vc_window(b, 0, b_n, &pc.b_off), vc_window(idx, 0, (size_t)count, &pc.i_off)};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), shader, "sss", sizeof pc);
    vc_dispatch_1d(cmd, p, bufs, 3, &pc, n, shader, 0, 8.0 * (double)n + 4.0 * count);
    vc_cmd_op_end(cmd);
}

void vc_gather_rows(VcCmd *cmd, int count, int D, VcBuffer out, VcBuffer x, VcBuffer idx) {
    rows_op(cmd, true, count, D, out, x, idx);
}

void vc_scatter_rows(VcCmd *cmd, int count, int D, VcBuffer x, VcBuffer src, VcBuffer idx) {
    rows_op(cmd, false, count, D, x, src, idx);
}

/* Per-invocation top-k (see topk_rows.comp): a row may be cut into segments when there
 * are too few rows to keep the cores busy; while a row has more than one segment, each
 * writes its top k to a scratch buffer and the next pass merges them as (value, index)
 * pairs. Each pass is a series of dispatches of TOPK_STEP columns, the heaps kept in a
 * buffer between them, so that the worst case (every element enters the heap) stays
 * below lavapipe's loop limit. */
#define TOPK_STEP 4096u
#define TOPK_MIN_TASKS 64u

static void topk_heap(VcCmd *cmd, uint32_t rows, uint32_t cols, uint32_t k, VcBuffer values, VcBuffer indices, VcBuffer x) {
    VcContext *ctx = vc_cmd_context(cmd);
    /* worst-case loop iterations of one dispatch: heap fill and heapify (k + k/2 * 9),
     * the scan (STEP + STEP/32 chunks), one insertion per element and chunk (STEP +
     * STEP/32) sifting 9 levels each, the final sort (k * 10) */
    _Static_assert(256 + 128 * 9 + 2 * (TOPK_STEP + TOPK_STEP / 32) + TOPK_STEP * 9 + 256 * 10 + 64 < LAVAPIPE_LOOP_LIMIT, "loop limit");
    VcBuffer in_v = x, in_i = x;
    bool has_xi = false;
    uint32_t len = cols;
    for (;;) {
        /* segments: one per row, more when rows are few, each keeping at least 8k elements */
        uint32_t nseg = VC_MAX(1u, VC_MIN(VC_CEIL_DIV(TOPK_MIN_TASKS, rows), len / (8 * k)));
        uint32_t seg_len = VC_CEIL_DIV(len, nseg);
        nseg = VC_CEIL_DIV(len, seg_len);
        /* every segment holds at least k elements, so no list carries empty slots into a
         * merge (the kernel's tie rule relies on it) */
        while (nseg > 1 && len - (nseg - 1) * seg_len < k) {
            nseg--;
            seg_len = VC_CEIL_DIV(len, nseg);
            nseg = VC_CEIL_DIV(len, seg_len);
        }
        size_t tasks = (size_t)rows * nseg, nheap = tasks * k;
        VC_ASSERT(nheap <= UINT32_MAX);
        bool final = nseg == 1;
        VcBuffer out_v = values, out_i = indices;
        if (!final) {
            VC_ASSERT(vc_cmd_buffer(cmd, nheap * 4, NULL, "top-k candidate values", &out_v) == VC_OK);
            VC_ASSERT(vc_cmd_buffer(cmd, nheap * 4, NULL, "top-k candidate indices", &out_i) == VC_OK);
        }
        /* heaps: (k + 2 rounded up to even) uvec2 slots per task, see topk_rows.comp */
        size_t heap_bytes = tasks * (size_t)((k + 3) & ~1u) * 8;
        VcBuffer heap;
        VC_ASSERT(vc_cmd_buffer(cmd, heap_bytes, NULL, "top-k heaps", &heap) == VC_OK);
        size_t nin = (size_t)rows * len;
        uint32_t gx, gy;
        vc_grid_1d(tasks, 8, &gx, &gy);
        VcPipelineDesc d = {.shader = "topk_heap", .bindings = "ssssss", .push_size = sizeof(TopkHeapPush), .spec = {8, has_xi}, .spec_count = 2};
        VcPipeline *p = vc_pipeline_get(ctx, &d);
        for (uint32_t s0 = 0; s0 < seg_len; s0 += TOPK_STEP) {
            TopkHeapPush pc = {rows, len, k, 0, 0, 0, seg_len, nseg, 0, s0, TOPK_STEP, s0 == 0, s0 + TOPK_STEP >= seg_len, final};
            VcBuffer bufs[6] = {vc_window(out_v, 0, nheap, &pc.v_off), vc_window(out_i, 0, nheap, &pc.i_off),
                                vc_window(in_v, 0, nin, &pc.x_off), vc_window(in_i, 0, has_xi ? nin : 1, &pc.xi_off), heap, heap};
            double step_elems = (double)rows * nseg * VC_MIN(TOPK_STEP, seg_len - s0);
            vc_dispatch(cmd, p, bufs, 6, &pc, gx, gy, 1, "topk_rows", step_elems, 4.0 * (has_xi ? 2 : 1) * step_elems);
        }
        if (final) break;
        in_v = out_v, in_i = out_i, has_xi = true;
        len = nseg * k;
    }
}

void vc_topk_rows_ex(VcCmd *cmd, int rows, int cols, int k, VcBuffer values, VcBuffer indices, VcBuffer x, VcRowStyle style) {
    VC_ASSERT(rows >= 0 && k >= 1 && k <= 256 && k <= cols);
    if (rows == 0) return;
    vc_cmd_op_begin(cmd, "x %dx%d (rows, cols), k %d", rows, cols, k);
    VcContext *ctx = vc_cmd_context(cmd);
    size_t n = (size_t)rows * (size_t)cols, nk = (size_t)rows * (size_t)k;
    VC_ASSERT(n <= UINT32_MAX && values.size >= nk * 4 && indices.size >= nk * 4 && x.size >= n * 4);
    /* CPU devices always take the heap kernel: it cuts rows into segments when there are
     * few, and the radix kernel's shared atomics and barriers are slow there */
    bool heap = style == VC_ROWS_AUTO ? vc_context_is_cpu(ctx) : style == VC_ROWS_PER_INVOCATION;
    if (heap) {
        topk_heap(cmd, (uint32_t)rows, (uint32_t)cols, (uint32_t)k, values, indices, x);
        vc_cmd_op_end(cmd);
        return;
    }
    TopkPush pc = {(uint32_t)rows, (uint32_t)cols, (uint32_t)k, 0, 0, 0};
    VcBuffer bufs[3] = {vc_window(values, 0, nk, &pc.v_off), vc_window(indices, 0, nk, &pc.i_off), vc_window(x, 0, n, &pc.x_off)};
    uint32_t gx, gy;
    vc_grid_1d((size_t)rows, 1, &gx, &gy);
    /* 256 invocations: one histogram bin each */
    VcPipelineDesc d = {.shader = "topk_radix", .bindings = "sss", .push_size = sizeof pc, .spec = {256}, .spec_count = 1};
    /* work: about five passes over the row (four key bytes, the collection) */
    vc_dispatch(cmd, vc_pipeline_get(ctx, &d), bufs, 3, &pc, gx, gy, 1, "topk_rows", 5.0 * (double)n, 20.0 * (double)n + 8.0 * (double)nk);
    vc_cmd_op_end(cmd);
}

void vc_topk_rows(VcCmd *cmd, int rows, int cols, int k, VcBuffer values, VcBuffer indices, VcBuffer x) {
    vc_topk_rows_ex(cmd, rows, cols, k, values, indices, x, VC_ROWS_AUTO);
}
