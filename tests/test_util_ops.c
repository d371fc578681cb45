/* test_util_ops.c — copy, row sum/max, gather/scatter rows and per-row top-k on the
 * GPU against tests/ref/util_ops.c, both kernel styles of each row op on every device,
 * with buffers given as slices at offsets that are not 256-byte aligned.
 *
 * These ops have no backward. copy, max, gather, scatter and top-k must be exact; row
 * sums are float sums in another order than the double reference (nmse bound 1e-12).
 * Top-k is checked against a full sort, including ties (lower index first), k = 1,
 * k = cols, rows with equal values only, -0 next to +0, and -inf.
 */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "ops/util_ops.h"
#include "ref/util_ops.h"
#include "vk/vk.h"

static const char *style_name(VcRowStyle s) { return s == VC_ROWS_PER_INVOCATION ? "per-invocation" : "per-workgroup"; }

/* A buffer of `floats` floats placed `skip` floats into a fresh allocation (a slice
 * whose offset is not 256-byte aligned when skip > 0), with GUARD_FLOATS floats of
 * GUARD_VALUE before (when skip > 0) and after it: a kernel that reads outside its slice
 * sees them, one that writes outside changes them. */
#define GUARD_FLOATS 64
#define GUARD_VALUE 12345.0f
typedef struct { VcBuffer whole, b; size_t total; } Slice;

static Slice slice_new(VcContext *ctx, size_t floats, size_t skip) {
    Slice s;
    s.total = floats + skip + GUARD_FLOATS;
    VC_ASSERT(vc_buffer_alloc(ctx, s.total * 4, "test", &s.whole) == VC_OK);
    float *fill = malloc(s.total * 4);
    for (size_t i = 0; i < s.total; i++) fill[i] = GUARD_VALUE;
    vc_buffer_upload(ctx, s.whole, 0, fill, s.total * 4);
    free(fill);
    s.b = vc_buffer_slice(s.whole, skip * 4, floats * 4);
    return s;
}

/* Are the floats of the allocation outside the slice [skip, skip + floats) untouched? */
static bool guards_intact(VcContext *ctx, const Slice *s, size_t floats, size_t skip) {
    float *all = malloc(s->total * 4);
    vc_buffer_download(ctx, s->whole, 0, all, s->total * 4);
    bool ok = true;
    for (size_t i = 0; i < s->total; i++)
        if ((i < skip || i >= skip + floats) && all[i] != GUARD_VALUE) ok = false;
    free(all);
    return ok;
}

static void test_copy(VcContext *ctx) {
    const size_t ns[] = {1, 7, 1000003};
    for (size_t t = 0; t < VC_COUNTOF(ns); t++) {
        size_t n = ns[t];
        Slice dst = slice_new(ctx, n, 1), src = slice_new(ctx, n, 3);
        float *x = malloc(n * 4), *y = malloc(n * 4);
        th_fill_normal(x, n, 1.0f);
        vc_buffer_upload(ctx, src.b, 0, x, n * 4);
        VcCmd *cmd = vc_cmd_new(ctx, false);
        vc_copy(cmd, n, dst.b, src.b);
        vc_cmd_run(cmd);
        vc_buffer_download(ctx, dst.b, 0, y, n * 4);
        CHECK(memcmp(x, y, n * 4) == 0, "copy of %zu floats between unaligned slices is exact", n);
        CHECK(guards_intact(ctx, &dst, n, 1), "copy of %zu floats writes nothing outside", n);
        vc_cmd_free(cmd);
        vc_buffer_free(ctx, &dst.whole), vc_buffer_free(ctx, &src.whole);
        free(x), free(y);
    }
}

static void test_reduce(VcContext *ctx) {
    const int shapes[][2] = {{1, 1}, {7, 13}, {1, 100000}, {300, 1}, {1000, 257}, {17, 60001}, {40, 33}};
    const VcRowStyle styles[2] = {VC_ROWS_PER_INVOCATION, VC_ROWS_PER_WORKGROUP};
    for (size_t t = 0; t < VC_COUNTOF(shapes); t++) {
        int rows = shapes[t][0], cols = shapes[t][1];
        size_t n = (size_t)rows * cols;
        float *x = malloc(n * 4), *got = malloc((size_t)rows * 4);
        double *ref = malloc((size_t)rows * 8);
        th_fill_normal(x, n, 1.0f);
        for (size_t i = 0; i < n; i += 3) x[i] += 0.5f; /* a non-zero mean: sums are not ~0 */
        Slice xs = slice_new(ctx, n, 5), out = slice_new(ctx, (size_t)rows, 1);
        vc_buffer_upload(ctx, xs.b, 0, x, n * 4);
        for (int op = 0; op < 2; op++) {
            if (op == 0) ref_reduce_sum_rows(rows, cols, ref, x);
            else ref_reduce_max_rows(rows, cols, ref, x);
            for (int s = 0; s < 2; s++) {
                VcCmd *cmd = vc_cmd_new(ctx, false);
                vc_reduce_rows_ex(cmd, op == 0 ? VC_REDUCE_SUM : VC_REDUCE_MAX, rows, cols, out.b, xs.b, styles[s]);
                vc_cmd_run(cmd);
                vc_cmd_free(cmd);
                vc_buffer_download(ctx, out.b, 0, got, (size_t)rows * 4);
                double e = th_nmse_d(got, ref, (size_t)rows);
                double bound = op == 0 ? 1e-12 : 0.0;
                CHECK(e <= bound, "%s rows %dx%d %s: nmse %.3g > %.3g", op ? "max" : "sum", rows, cols, style_name(styles[s]), e, bound);
                if (getenv("VC_TEST_VERBOSE"))
                    printf("  %s rows %5d x %-6d %-15s nmse %.3g (bound %.0g)\n", op ? "max" : "sum", rows, cols, style_name(styles[s]), e, bound);
            }
        }
        /* the AUTO entry points */
        VcCmd *cmd = vc_cmd_new(ctx, false);
        vc_reduce_sum_rows(cmd, rows, cols, out.b, xs.b);
        vc_cmd_run(cmd);
        vc_cmd_free(cmd);
        vc_buffer_download(ctx, out.b, 0, got, (size_t)rows * 4);
        ref_reduce_sum_rows(rows, cols, ref, x);
        CHECK(th_nmse_d(got, ref, (size_t)rows) <= 1e-12, "vc_reduce_sum_rows %dx%d", rows, cols);
        cmd = vc_cmd_new(ctx, false);
        vc_reduce_max_rows(cmd, rows, cols, out.b, xs.b);
        vc_cmd_run(cmd);
        vc_cmd_free(cmd);
        vc_buffer_download(ctx, out.b, 0, got, (size_t)rows * 4);
        ref_reduce_max_rows(rows, cols, ref, x);
        CHECK(th_nmse_d(got, ref, (size_t)rows) == 0, "vc_reduce_max_rows %dx%d", rows, cols);
        vc_buffer_free(ctx, &xs.whole), vc_buffer_free(ctx, &out.whole);
        free(x), free(got), free(ref);
    }
}

static void test_gather_scatter(VcContext *ctx) {
    const int shapes[][3] = {{1, 1, 1}, {37, 13, 50}, {300, 128, 1000}, {5, 7, 5}}; /* count, D, x_rows */
    for (size_t t = 0; t < VC_COUNTOF(shapes); t++) {
        int count = shapes[t][0], D = shapes[t][1], x_rows = shapes[t][2];
        size_t nx = (size_t)x_rows * D, nc = (size_t)count * D;
        float *x = malloc(nx * 4), *src = malloc(nc * 4), *got = malloc(VC_MAX(nx, nc) * 4), *ref = malloc(VC_MAX(nx, nc) * 4);
        int *idx = malloc(sizeof(int) * (size_t)count);
        /* distinct indices: a random permutation's prefix; one out of range when count > 3 */
        int *perm = malloc(sizeof(int) * (size_t)x_rows);
        for (int i = 0; i < x_rows; i++) perm[i] = i;
        for (int i = x_rows - 1; i > 0; i--) {
            int j = (int)th_uniform(0, (float)(i + 1)) % (i + 1), tmp = perm[i];
            perm[i] = perm[j], perm[j] = tmp;
        }
        for (int i = 0; i < count; i++) idx[i] = perm[i];
        if (count > 3) idx[1] = -1, idx[2] = x_rows;
        th_fill_normal(x, nx, 1.0f);
        th_fill_normal(src, nc, 1.0f);
        /* x's slice has D - 1 guard floats after its x_rows rows: still x_rows whole rows
         * for the kernel, but inside the bound range, so reading or writing row x_rows
         * (index out of range) would show */
        Slice xs = slice_new(ctx, nx + (size_t)D - 1, 3), ss = slice_new(ctx, nc, 1), os = slice_new(ctx, nc, 2);
        VcBuffer ib;
        VC_ASSERT(vc_buffer_alloc(ctx, sizeof(int) * (size_t)count, "idx", &ib) == VC_OK);
        vc_buffer_upload(ctx, xs.b, 0, x, nx * 4);
        vc_buffer_upload(ctx, ss.b, 0, src, nc * 4);
        vc_buffer_upload(ctx, ib, 0, idx, sizeof(int) * (size_t)count);
        /* gather, then scatter into x, in one recording */
        VcCmd *cmd = vc_cmd_new(ctx, false);
        vc_gather_rows(cmd, count, D, os.b, xs.b, ib);
        vc_scatter_rows(cmd, count, D, xs.b, ss.b, ib);
        vc_cmd_run(cmd);
        vc_cmd_free(cmd);
        ref_gather_rows(count, D, ref, x, x_rows, idx);
        vc_buffer_download(ctx, os.b, 0, got, nc * 4);
        CHECK(memcmp(got, ref, nc * 4) == 0, "gather %d rows of %d from %d (indices -1 and %d give zeros)", count, D, x_rows, x_rows);
        ref_scatter_rows(count, D, x, x_rows, src, idx);
        vc_buffer_download(ctx, xs.b, 0, got, nx * 4);
        CHECK(memcmp(got, x, nx * 4) == 0, "scatter %d rows of %d into %d (out-of-range indices skipped)", count, D, x_rows);
        CHECK(guards_intact(ctx, &xs, nx, 3), "scatter writes nothing outside x");
        CHECK(guards_intact(ctx, &os, nc, 2), "gather writes nothing outside out");
        vc_buffer_free(ctx, &xs.whole), vc_buffer_free(ctx, &ss.whole), vc_buffer_free(ctx, &os.whole), vc_buffer_free(ctx, &ib);
        free(x), free(src), free(got), free(ref), free(idx), free(perm);
    }
}

typedef enum { DATA_NORMAL, DATA_FEW_LEVELS, DATA_CONSTANT, DATA_SIGNED_ZERO_INF } TopkData;

static void topk_fill(float *x, size_t n, TopkData kind) {
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case DATA_NORMAL: x[i] = th_normal(); break;
        case DATA_FEW_LEVELS: x[i] = (float)((int)th_uniform(0, 6.0f)) - 2.0f; break; /* -2..3: ties everywhere */
        case DATA_CONSTANT: x[i] = 0.25f; break;
        case DATA_SIGNED_ZERO_INF: {
            float u = th_uniform(0, 1);
            x[i] = u < 0.3f ? -0.0f : u < 0.6f ? 0.0f : u < 0.8f ? -INFINITY : th_normal();
            break;
        }
        }
    }
}

/* Run both styles on (rows, cols, k) and compare `check_rows` rows (all when 0) with the
 * sort reference; with `timing`, print each style's GPU time. */
static void topk_case(VcContext *ctx, int rows, int cols, int k, TopkData data, int check_rows, bool timing) {
    size_t n = (size_t)rows * cols, nk = (size_t)rows * k;
    float *x = malloc(n * 4), *vals = malloc(nk * 4), *rv = malloc(nk * 4);
    int *idx = malloc(nk * 4), *ri = malloc(nk * 4);
    topk_fill(x, n, data);
    int cr = check_rows ? VC_MIN(check_rows, rows) : rows;
    ref_topk_rows(cr, cols, k, rv, ri, x);
    Slice xs = slice_new(ctx, n, 1), vs = slice_new(ctx, nk, 3), is = slice_new(ctx, nk, 2);
    vc_buffer_upload(ctx, xs.b, 0, x, n * 4);
    const VcRowStyle styles[2] = {VC_ROWS_PER_INVOCATION, VC_ROWS_PER_WORKGROUP};
    for (int s = 0; s < 2; s++) {
        VcCmd *cmd = vc_cmd_new(ctx, timing);
        vc_topk_rows_ex(cmd, rows, cols, k, vs.b, is.b, xs.b, styles[s]);
        double best = INFINITY;
        int passes = 0;
        /* the radix kernel on a CPU device is slow and only there to be tested: once */
        int reps = timing && !(styles[s] == VC_ROWS_PER_WORKGROUP && vc_context_is_cpu(ctx)) ? 3 : 1;
        for (int rep = 0; rep < reps; rep++) {
            vc_cmd_run(cmd);
            const VcTiming *tm = vc_cmd_timings(cmd, &passes);
            double ms = 0;
            for (int i = 0; i < passes; i++) ms += tm[i].ms;
            if (passes) best = fmin(best, ms);
        }
        vc_cmd_free(cmd);
        vc_buffer_download(ctx, vs.b, 0, vals, nk * 4);
        vc_buffer_download(ctx, is.b, 0, idx, nk * 4);
        size_t bad = 0, first = 0;
        for (size_t i = 0; i < (size_t)cr * k; i++)
            if (vals[i] != rv[i] || idx[i] != ri[i]) {
                if (!bad) first = i;
                bad++;
            }
        CHECK(bad == 0, "topk %dx%d k=%d data %d %s: %zu of %zu wrong; first at row %zu pos %zu: got (%g, %d) want (%g, %d)", rows, cols,
              k, (int)data, style_name(styles[s]), bad, (size_t)cr * k, first / k, first % k, vals[first], idx[first], rv[first],
              ri[first]);
        if (timing)
            printf("  perf: topk rows %d cols %d k %d %-15s %.2f ms (best of %d, %d dispatches)\n", rows, cols, k, style_name(styles[s]),
                   best, reps, passes);
    }
    vc_buffer_free(ctx, &xs.whole), vc_buffer_free(ctx, &vs.whole), vc_buffer_free(ctx, &is.whole);
    free(x), free(vals), free(rv), free(idx), free(ri);
}

static void test_topk(VcContext *ctx) {
    topk_case(ctx, 1, 1, 1, DATA_NORMAL, 0, false);
    topk_case(ctx, 3, 7, 7, DATA_NORMAL, 0, false);       /* k = cols */
    topk_case(ctx, 5, 1000, 1, DATA_NORMAL, 0, false);    /* k = 1 */
    topk_case(ctx, 7, 1001, 256, DATA_NORMAL, 0, false);  /* largest k */
    topk_case(ctx, 33, 5003, 200, DATA_NORMAL, 0, false);
    topk_case(ctx, 9, 300, 300 < 256 ? 300 : 256, DATA_FEW_LEVELS, 0, false);
    topk_case(ctx, 17, 4099, 200, DATA_FEW_LEVELS, 0, false);
    topk_case(ctx, 4, 70000, 200, DATA_FEW_LEVELS, 0, false); /* index passes over 3 bytes */
    topk_case(ctx, 6, 999, 37, DATA_CONSTANT, 0, false);
    topk_case(ctx, 6, 13, 13, DATA_CONSTANT, 0, false);
    topk_case(ctx, 11, 1500, 256, DATA_SIGNED_ZERO_INF, 0, false); /* ~100 zeros of both signs make the cut */
    topk_case(ctx, 70, 300, 200, DATA_SIGNED_ZERO_INF, 0, false);  /* -inf makes the cut */
    topk_case(ctx, 40, 3, 2, DATA_FEW_LEVELS, 0, false);
    topk_case(ctx, 64, 9000, 50, DATA_FEW_LEVELS, 0, false); /* several 4096-column steps per row */
    topk_case(ctx, 1, 1000, 3, DATA_FEW_LEVELS, 0, false);   /* one row: 41 segments, ties across merges */
    topk_case(ctx, 2, 5000, 8, DATA_SIGNED_ZERO_INF, 0, false);
    /* the AUTO entry point */
    {
        int rows = 20, cols = 777, k = 31;
        float *x = malloc((size_t)rows * cols * 4), *v = malloc((size_t)rows * k * 4), *rv = malloc((size_t)rows * k * 4);
        int *ix = malloc((size_t)rows * k * 4), *ri = malloc((size_t)rows * k * 4);
        topk_fill(x, (size_t)rows * cols, DATA_FEW_LEVELS);
        ref_topk_rows(rows, cols, k, rv, ri, x);
        VcBuffer xb, vb, ib;
        VC_ASSERT(vc_buffer_alloc(ctx, (size_t)rows * cols * 4, "x", &xb) == VC_OK);
        VC_ASSERT(vc_buffer_alloc(ctx, (size_t)rows * k * 4, "v", &vb) == VC_OK);
        VC_ASSERT(vc_buffer_alloc(ctx, (size_t)rows * k * 4, "i", &ib) == VC_OK);
        vc_buffer_upload(ctx, xb, 0, x, (size_t)rows * cols * 4);
        VcCmd *cmd = vc_cmd_new(ctx, false);
        vc_topk_rows(cmd, rows, cols, k, vb, ib, xb);
        vc_cmd_run(cmd);
        vc_cmd_free(cmd);
        vc_buffer_download(ctx, vb, 0, v, (size_t)rows * k * 4);
        vc_buffer_download(ctx, ib, 0, ix, (size_t)rows * k * 4);
        CHECK(!memcmp(v, rv, (size_t)rows * k * 4) && !memcmp(ix, ri, (size_t)rows * k * 4), "vc_topk_rows %dx%d k=%d", rows, cols, k);
        vc_buffer_free(ctx, &xb), vc_buffer_free(ctx, &vb), vc_buffer_free(ctx, &ib);
        free(x), free(v), free(rv), free(ix), free(ri);
    }
    /* the kNN shape of the report; 16 rows checked against the sort */
    if (vc_context_info(ctx)->timestamps) topk_case(ctx, 256, 60000, 200, DATA_NORMAL, 16, true);
}

int main(void) {
    th_seed(11);
    VcContext *ctx = th_gpu();
    test_copy(ctx);
    test_reduce(ctx);
    test_gather_scatter(ctx);
    test_topk(ctx);
    return th_finish();
}
