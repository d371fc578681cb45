/* test_elementwise.c — relu (forward, backward), add, axpy, scale and global average
 * pooling (forward, backward) against the double references in ref/norm.c.
 *
 * Lengths cover the vec4 build (n % 4 == 0) and the scalar build (n % 4 != 0), n = 1,
 * sizes that are no multiple of the workgroup, in-place use (relu out == x, add out == a
 * or b), accumulation (gradients start non-zero), and a tensor longer than the device's
 * maxStorageBufferRange (split into chunks) when that range is small enough to test.
 * Backward references are checked against central finite differences first.
 */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "ops/norm.h"
#include "ref/norm.h"
#include "vk/vk.h"

static double *to_double(const float *a, size_t n) {
    double *d = vc_malloc((n ? n : 1) * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = a[i];
    return d;
}
static VcBuffer upload(VcContext *ctx, const float *a, size_t n) {
    VcBuffer b;
    VC_ASSERT(vc_buffer_alloc(ctx, n * 4, "test", &b) == VC_OK);
    vc_buffer_upload(ctx, b, 0, a, n * 4);
    return b;
}
static float *download(VcContext *ctx, VcBuffer b, size_t n) {
    float *a = vc_malloc((n ? n : 1) * 4);
    vc_buffer_download(ctx, b, 0, a, n * 4);
    return a;
}
static void check_d(const float *got, const double *ref, size_t n, double bound, const char *what) {
    float *rf = vc_malloc(n * 4);
    for (size_t i = 0; i < n; i++) rf[i] = (float)ref[i];
    double e = th_nmse_d(got, ref, n);
    CHECK(e <= bound, "%s: nmse %.3g > %.3g", what, e, bound);
    if (e > bound || getenv("VC_TEST_VERBOSE")) CHECK_NMSE(got, rf, n, bound, what);
    free(rf);
}
static void run(VcContext *ctx, void (*record)(VcCmd *, void *), void *arg) {
    VcCmd *cmd = vc_cmd_new(ctx, false);
    record(cmd, arg);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);
}

/* ---- finite differences on the references ---- */

static double nmse_dd(const double *a, const double *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += (a[i] - ref[i]) * (a[i] - ref[i]), den += ref[i] * ref[i];
    return num / (den > 1e-30 ? den : 1e-30);
}

static void test_reference_gradients(void) {
    const double h = 1e-6;
    /* relu: L = sum(w relu(x)), x kept at least 0.1 away from the kink */
    enum { N = 37 };
    double x[N], w[N], out[N], dx[N] = {0}, ndx[N];
    for (int i = 0; i < N; i++) {
        x[i] = th_uniform(0.1f, 2.0f) * (i % 3 ? 1 : -1);
        w[i] = th_normal();
    }
    ref_relu_forward(N, out, x);
    ref_relu_backward(N, dx, w, out);
    for (int i = 0; i < N; i++) {
        double keep = x[i], lp = 0, lm = 0, o[N];
        x[i] = keep + h;
        ref_relu_forward(N, o, x);
        for (int k = 0; k < N; k++) lp += w[k] * o[k];
        x[i] = keep - h;
        ref_relu_forward(N, o, x);
        for (int k = 0; k < N; k++) lm += w[k] * o[k];
        x[i] = keep;
        ndx[i] = (lp - lm) / (2 * h);
    }
    double e = nmse_dd(dx, ndx, N);
    CHECK(e < 1e-14, "reference relu backward vs finite differences: nmse %.3g", e);

    /* avgpool: L = sum(v avgpool(x)) over (B, C, HW) = (2, 3, 5) */
    enum { B = 2, C = 3, HW = 5, NX = B * C * HW };
    double px[NX], v[B * C], po[B * C], pdx[NX] = {0}, npdx[NX];
    for (int i = 0; i < NX; i++) px[i] = th_normal();
    for (int i = 0; i < B * C; i++) v[i] = th_normal();
    ref_avgpool_backward(B, C, HW, pdx, v);
    for (int i = 0; i < NX; i++) {
        double keep = px[i], lp = 0, lm = 0;
        px[i] = keep + h;
        ref_avgpool_forward(B, C, HW, po, px);
        for (int k = 0; k < B * C; k++) lp += v[k] * po[k];
        px[i] = keep - h;
        ref_avgpool_forward(B, C, HW, po, px);
        for (int k = 0; k < B * C; k++) lm += v[k] * po[k];
        px[i] = keep;
        npdx[i] = (lp - lm) / (2 * h);
    }
    e = nmse_dd(pdx, npdx, NX);
    CHECK(e < 1e-14, "reference avgpool backward vs finite differences: nmse %.3g", e);
    if (getenv("VC_TEST_VERBOSE")) printf("  reference backward vs FD: relu and avgpool checked\n");
}

/* ---- elementwise ops, GPU vs reference ---- */

typedef struct {
    size_t n;
    VcBuffer a, b, c, d;
    float alpha;
    int which;
} EwArgs;

static void rec_relu(VcCmd *cmd, void *p) { EwArgs *a = p; vc_relu_forward(cmd, a->n, a->a, a->b); }
static void rec_relu_inplace(VcCmd *cmd, void *p) { EwArgs *a = p; vc_relu_forward(cmd, a->n, a->b, a->b); }
static void rec_relu_bwd(VcCmd *cmd, void *p) { EwArgs *a = p; vc_relu_backward(cmd, a->n, a->c, a->d, a->a); }
static void rec_relu_bwd_set(VcCmd *cmd, void *p) { EwArgs *a = p; vc_relu_backward_set(cmd, a->n, a->c, a->d, a->a); }
static float *nans(size_t n) { /* an output that must be written, never read */
    float *x = vc_malloc((n ? n : 1) * 4);
    for (size_t i = 0; i < n; i++) x[i] = NAN;
    return x;
}
static void rec_add(VcCmd *cmd, void *p) {
    EwArgs *a = p;
    VcBuffer out = a->which == 0 ? a->c : a->which == 1 ? a->a : a->b;
    vc_add(cmd, a->n, out, a->a, a->b);
}
static void rec_axpy(VcCmd *cmd, void *p) { EwArgs *a = p; vc_axpy(cmd, a->n, a->a, a->alpha, a->b); }
static void rec_scale(VcCmd *cmd, void *p) { EwArgs *a = p; vc_scale(cmd, a->n, a->a, a->alpha); }

static void test_elementwise(VcContext *ctx, size_t n) {
    char what[128];
    float *x = vc_malloc(n * 4), *y = vc_malloc(n * 4), *g = vc_malloc(n * 4), *dy = vc_malloc(n * 4);
    th_fill_normal(x, n, 1.0f);
    th_fill_normal(y, n, 2.0f);
    th_fill_normal(g, n, 0.5f); /* gradients start non-zero */
    th_fill_normal(dy, n, 1.0f);
    if (n > 2) x[1] = 0.0f, x[2] = -0.0f; /* exact zeros: relu' is 0 there, as in PyTorch */
    double *dx = to_double(x, n), *dyy = to_double(y, n), *dg = to_double(g, n), *ddy = to_double(dy, n);
    double *ref = vc_malloc(n * 8), *ref2 = vc_malloc(n * 8);

    /* relu forward, out of place then in place: exact */
    EwArgs a = {.n = n};
    VC_ASSERT(vc_buffer_alloc(ctx, n * 4, "out", &a.a) == VC_OK);
    a.b = upload(ctx, x, n);
    run(ctx, rec_relu, &a);
    float *got = download(ctx, a.a, n);
    ref_relu_forward(n, ref, dx);
    snprintf(what, sizeof what, "relu forward n=%zu (exact)", n);
    check_d(got, ref, n, 0.0, what);
    free(got);
    run(ctx, rec_relu_inplace, &a);
    got = download(ctx, a.b, n);
    snprintf(what, sizeof what, "relu forward in place n=%zu (exact)", n);
    check_d(got, ref, n, 0.0, what);
    free(got);

    /* relu backward from the forward's output, into a non-zero d_x */
    a.c = upload(ctx, g, n);
    a.d = upload(ctx, dy, n);
    run(ctx, rec_relu_bwd, &a);
    got = download(ctx, a.c, n);
    memcpy(ref2, dg, n * 8);
    ref_relu_backward(n, ref2, ddy, ref);
    snprintf(what, sizeof what, "relu backward (+=) n=%zu", n);
    check_d(got, ref2, n, 1e-14, what);
    free(got);
    /* d_x = ..., over NaN */
    float *poison = nans(n);
    vc_buffer_upload(ctx, a.c, 0, poison, n * 4);
    run(ctx, rec_relu_bwd_set, &a);
    got = download(ctx, a.c, n);
    memset(ref2, 0, n * 8);
    ref_relu_backward(n, ref2, ddy, ref);
    snprintf(what, sizeof what, "relu backward (=, over NaN) n=%zu", n);
    check_d(got, ref2, n, 1e-14, what);
    free(got), free(poison);
    vc_buffer_free(ctx, &a.a), vc_buffer_free(ctx, &a.b), vc_buffer_free(ctx, &a.c), vc_buffer_free(ctx, &a.d);

    /* add: separate output, out == a, out == b */
    ref_add(n, ref, dx, dyy);
    for (int which = 0; which < 3; which++) {
        EwArgs s = {.n = n, .which = which};
        s.a = upload(ctx, x, n);
        s.b = upload(ctx, y, n);
        VC_ASSERT(vc_buffer_alloc(ctx, n * 4, "out", &s.c) == VC_OK);
        run(ctx, rec_add, &s);
        got = download(ctx, which == 0 ? s.c : which == 1 ? s.a : s.b, n);
        snprintf(what, sizeof what, "add n=%zu out %s", n, which == 0 ? "separate" : which == 1 ? "== a" : "== b");
        check_d(got, ref, n, 1e-14, what);
        free(got);
        vc_buffer_free(ctx, &s.a), vc_buffer_free(ctx, &s.b), vc_buffer_free(ctx, &s.c);
    }

    /* axpy, scale */
    EwArgs s = {.n = n, .alpha = -0.37f};
    s.a = upload(ctx, y, n);
    s.b = upload(ctx, x, n);
    run(ctx, rec_axpy, &s);
    got = download(ctx, s.a, n);
    memcpy(ref, dyy, n * 8);
    ref_axpy(n, ref, (double)s.alpha, dx);
    snprintf(what, sizeof what, "axpy n=%zu", n);
    check_d(got, ref, n, 1e-14, what);
    free(got);
    s.alpha = 1.7f;
    run(ctx, rec_scale, &s);
    got = download(ctx, s.a, n);
    ref_scale(n, ref, (double)s.alpha);
    snprintf(what, sizeof what, "scale (after axpy) n=%zu", n);
    check_d(got, ref, n, 1e-14, what);
    free(got);
    vc_buffer_free(ctx, &s.a), vc_buffer_free(ctx, &s.b);

    free(x), free(y), free(g), free(dy), free(dx), free(dyy), free(dg), free(ddy), free(ref), free(ref2);
}

/* ---- average pooling ---- */

typedef struct { int B, C, HW; VcBuffer x, out, dx, dout; } PoolArgs;
static void rec_pool(VcCmd *cmd, void *p) {
    PoolArgs *a = p;
    vc_avgpool_forward(cmd, a->B, a->C, a->HW, a->out, a->x);
    vc_avgpool_backward(cmd, a->B, a->C, a->HW, a->dx, a->dout);
}
static void rec_pool_bwd_set(VcCmd *cmd, void *p) {
    PoolArgs *a = p;
    vc_avgpool_backward_set(cmd, a->B, a->C, a->HW, a->dx, a->dout);
}

static void test_avgpool(VcContext *ctx, int B, int C, int HW) {
    size_t n = (size_t)B * C * HW, rows = (size_t)B * C;
    char what[128];
    float *x = vc_malloc(n * 4), *g = vc_malloc(n * 4), *dout = vc_malloc(rows * 4);
    th_fill_normal(x, n, 1.0f);
    th_fill_normal(g, n, 0.5f);
    th_fill_normal(dout, rows, 1.0f);
    PoolArgs a = {B, C, HW, upload(ctx, x, n), {0}, upload(ctx, g, n), upload(ctx, dout, rows)};
    VC_ASSERT(vc_buffer_alloc(ctx, rows * 4, "pool out", &a.out) == VC_OK);
    run(ctx, rec_pool, &a);
    double *dx = to_double(x, n), *ref = vc_malloc(rows * 8), *rdx = to_double(g, n), *ddout = to_double(dout, rows);
    ref_avgpool_forward(B, C, HW, ref, dx);
    ref_avgpool_backward(B, C, HW, rdx, ddout);
    float *got = download(ctx, a.out, rows), *gdx = download(ctx, a.dx, n);
    snprintf(what, sizeof what, "avgpool forward (%d,%d,%d)", B, C, HW);
    check_d(got, ref, rows, 1e-12, what);
    snprintf(what, sizeof what, "avgpool backward (+=) (%d,%d,%d)", B, C, HW);
    check_d(gdx, rdx, n, 1e-14, what);
    float *poison = nans(n);
    vc_buffer_upload(ctx, a.dx, 0, poison, n * 4);
    run(ctx, rec_pool_bwd_set, &a);
    free(gdx);
    gdx = download(ctx, a.dx, n);
    memset(rdx, 0, n * 8);
    ref_avgpool_backward(B, C, HW, rdx, ddout);
    snprintf(what, sizeof what, "avgpool backward (=, over NaN) (%d,%d,%d)", B, C, HW);
    check_d(gdx, rdx, n, 1e-14, what);
    free(poison);
    vc_buffer_free(ctx, &a.x), vc_buffer_free(ctx, &a.out), vc_buffer_free(ctx, &a.dx), vc_buffer_free(ctx, &a.dout);
    free(x), free(g), free(dout), free(dx), free(ref), free(rdx), free(ddout), free(got), free(gdx);
}

/* ---- longer than one storage-buffer binding: split into chunks ---- */

typedef struct { size_t n; VcBuffer x, out, dout; } ChunkArgs;
static void rec_chunked(VcCmd *cmd, void *p) {
    ChunkArgs *a = p;
    int rows = (int)(a->n / 4);
    vc_relu_forward(cmd, a->n, a->x, a->x);           /* x = relu(x0), in place */
    vc_axpy(cmd, a->n, a->x, 0.5f, a->x);             /* x = 1.5 relu(x0) (x aliases y) */
    vc_avgpool_forward(cmd, rows, 1, 4, a->out, a->x); /* out = row means */
    vc_avgpool_backward(cmd, rows, 1, 4, a->x, a->dout); /* x += d_out / 4 */
}

/* One buffer 1028 floats longer than the device's storage-buffer range goes through
 * relu, axpy and avgpool forward/backward; every value is a small multiple of 1/8, so
 * the expected results are exact. */
static void test_chunked(VcContext *ctx) {
    uint64_t range = vc_context_info(ctx)->max_storage_buffer_range;
    if (range > ((uint64_t)256 << 20)) {
        printf("  chunked ops: skipped (maxStorageBufferRange %.0f MiB is too large to test here)\n", range / 1048576.0);
        return;
    }
    size_t n = (size_t)(range / 4) + 1028, rows = n / 4;
    float *x0 = vc_malloc(n * 4), *dout = vc_malloc(rows * 4);
    for (size_t i = 0; i < n; i++) x0[i] = (float)(int)(((uint32_t)i * 2654435761u) >> 23) - 256.0f;
    for (size_t r = 0; r < rows; r++) dout[r] = (float)(r % 5);
    ChunkArgs a = {n, upload(ctx, x0, n), {0}, upload(ctx, dout, rows)};
    VC_ASSERT(vc_buffer_alloc(ctx, rows * 4, "pool out", &a.out) == VC_OK);
    run(ctx, rec_chunked, &a);
    float *gx = download(ctx, a.x, n), *gout = download(ctx, a.out, rows);
    size_t bad_x = 0, bad_out = 0;
    for (size_t r = 0; r < rows; r++) {
        float v[4], s = 0;
        for (int j = 0; j < 4; j++) {
            v[j] = 1.5f * (x0[r * 4 + j] > 0 ? x0[r * 4 + j] : 0);
            s += v[j];
            bad_x += gx[r * 4 + j] != v[j] + dout[r] / 4;
        }
        bad_out += gout[r] != s / 4;
    }
    CHECK(bad_x == 0 && bad_out == 0, "chunked relu/axpy/avgpool over %zu floats (range %.0f MiB): %zu + %zu wrong", n,
          range / 1048576.0, bad_x, bad_out);
    vc_buffer_free(ctx, &a.x), vc_buffer_free(ctx, &a.out), vc_buffer_free(ctx, &a.dout);
    free(x0), free(dout), free(gx), free(gout);
}

int main(void) {
    th_seed(2);
    test_reference_gradients();
    VcContext *ctx = th_gpu();
    /* n % 4 == 0 takes the vec4 build, the others the scalar one */
    static const size_t lengths[] = {1, 3, 4, 91, 1000, 4096, 65537, 1000003, 1 << 20};
    for (size_t i = 0; i < VC_COUNTOF(lengths); i++) test_elementwise(ctx, lengths[i]);
    static const int pools[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 3, 7}, {2, 3, 16}, {5, 7, 13}, {256, 128, 49}, {64, 32, 196}, {2, 70001, 4}};
    for (size_t i = 0; i < VC_COUNTOF(pools); i++) test_avgpool(ctx, pools[i][0], pools[i][1], pools[i][2]);
    test_chunked(ctx);
    return th_finish();
}
