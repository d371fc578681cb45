/* test_loss.c — row L2 normalization, softmax cross-entropy and NT-Xent:
 *   1. the double-precision references (tests/ref/loss.c) against central finite
 *      differences (NT-Xent through z directly, z not normalized: the op's math must not
 *      rely on unit rows);
 *   2. the GPU ops against the references on odd shapes (rows 1, classes 1, N2 = 2,
 *      sizes that are not multiples of any tile or workgroup, > 65535 rows);
 *   3. sanity values: identical z gives loss log(2N - 1) and dz = 0;
 *   4. gradient outputs: l2norm backward accumulates (+=), cross-entropy and NT-Xent write;
 *   5. NT-Xent timings at 2N = 512, D = 64 (printed).
 * Bounds (fp32 GPU vs double reference, normalized MSE): l2norm 1e-12 forward and
 * backward; cross-entropy gradient 1e-9; NT-Xent dz 1e-9; losses |gpu - ref| <= 1e-5 * max(1, |ref|).
 */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "ops/fill.h"
#include "ops/loss.h"
#include "ref/loss.h"
#include "vk/vk.h"

#define EPS 1e-12
#define FD_BOUND 1e-12  /* nmse of reference gradient vs central differences */

static double *to_double(const float *x, size_t n) {
    double *d = vc_malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static float *to_float(const double *x, size_t n) {
    float *f = vc_malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) f[i] = (float)x[i];
    return f;
}

static double nmse_dd(const double *a, const double *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - ref[i]) * (a[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return isfinite(num) ? num / (den > 1e-300 ? den : 1e-300) : INFINITY;
}

/* Device buffer holding `bytes`, filled from src when given. */
static VcBuffer dev(VcContext *ctx, size_t bytes, const void *src) {
    VcBuffer b;
    VC_ASSERT(vc_buffer_alloc(ctx, bytes, "test", &b) == VC_OK);
    if (src) vc_buffer_upload(ctx, b, 0, src, bytes);
    return b;
}

static float *download(VcContext *ctx, VcBuffer b, size_t n) {
    float *x = vc_malloc(n * sizeof(float));
    vc_buffer_download(ctx, b, 0, x, n * sizeof(float));
    return x;
}

/* Which kernels run (vc_loss_force_*), for the messages: "" = the device's own choice. */
static const char *g_mode = "";
static void set_mode(bool plain, bool gpu_sizes) {
    vc_loss_force_plain(plain);
    vc_loss_force_gpu_sizes(gpu_sizes);
    g_mode = gpu_sizes ? " [plain, GPU sizes]" : plain ? " [plain]" : "";
}

static void check_loss(float got, double want, const char *what) {
    double tol = 1e-5 * fmax(1.0, fabs(want));
    CHECK(fabs(got - want) <= tol, "%s: loss %.8g, reference %.8g (tolerance %.2g)", what, got, want, tol);
    if (getenv("VC_TEST_VERBOSE")) printf("  %-40s loss %.8g ref %.8g diff %.2g\n", what, got, want, fabs(got - want));
}

/* ---------------------------------------------------------------- l2norm */

/* x rows with a mix of scales; `tiny` makes every row fall under eps (the clamp branch). */
static void fill_rows(float *x, int rows, int D, bool tiny) {
    th_fill_normal(x, (size_t)rows * D, 1.0f);
    for (int r = 0; r < rows; r++) {
        float s = tiny ? 3e-14f : (r % 3 == 0 ? 100.0f : r % 3 == 1 ? 0.01f : 1.0f);
        if (tiny && r == rows - 1 && rows > 1) s = 0; /* an all-zero row */
        for (int k = 0; k < D; k++) x[(size_t)r * D + k] *= s;
    }
}

static double l2_objective(int rows, int D, const double *x, const double *w) {
    double *out = vc_malloc((size_t)rows * D * sizeof(double)), *norms = vc_malloc((size_t)rows * sizeof(double));
    ref_l2norm_forward(rows, D, out, x, norms, EPS);
    double f = 0;
    for (size_t i = 0; i < (size_t)rows * D; i++) f += w[i] * out[i];
    free(out);
    free(norms);
    return f;
}

static void test_l2norm_fd(int rows, int D, bool tiny) {
    size_t n = (size_t)rows * D;
    float *xf = vc_malloc(n * 4), *wf = vc_malloc(n * 4);
    fill_rows(xf, rows, D, tiny);
    if (tiny && rows > 1) xf[n - 1] = 1e-14f; /* keep the last row tiny but nonzero: no kink inside the step */
    th_fill_normal(wf, n, 1.0f);
    double *x = to_double(xf, n), *w = to_double(wf, n);
    double *out = vc_malloc(n * 8), *norms = vc_malloc((size_t)rows * 8), *dx = vc_calloc(n, 8), *fd = vc_malloc(n * 8);
    ref_l2norm_forward(rows, D, out, x, norms, EPS);
    ref_l2norm_backward(rows, D, dx, w, out, norms, EPS);
    for (size_t i = 0; i < n; i++) {
        double h = 1e-6 * fmax(norms[i / D], EPS), keep = x[i];
        x[i] = keep + h;
        double fp = l2_objective(rows, D, x, w);
        x[i] = keep - h;
        double fm = l2_objective(rows, D, x, w);
        x[i] = keep;
        fd[i] = (fp - fm) / (2 * h);
    }
    double e = nmse_dd(dx, fd, n);
    CHECK(e <= FD_BOUND, "l2norm reference backward vs finite differences %dx%d%s: nmse %.3g", rows, D, tiny ? " (eps branch)" : "", e);
    if (getenv("VC_TEST_VERBOSE")) printf("  l2norm fd %dx%d%s nmse %.3g\n", rows, D, tiny ? " eps" : "", e);
    free(xf), free(wf), free(x), free(w), free(out), free(norms), free(dx), free(fd);
}

static void test_l2norm_gpu(VcContext *ctx, int rows, int D, bool tiny) {
    size_t n = (size_t)rows * D;
    char what[96];
    float *xf = vc_malloc(n * 4), *gf = vc_malloc(n * 4), *dx0 = vc_malloc(n * 4);
    fill_rows(xf, rows, D, tiny);
    th_fill_normal(gf, n, 1.0f);
    th_fill_normal(dx0, n, tiny ? 1e12f : 1.0f); /* backward accumulates onto this */
    VcBuffer bx = dev(ctx, n * 4, xf), bout = dev(ctx, n * 4, NULL), bn = dev(ctx, (size_t)rows * 4, NULL);
    VcBuffer bg = dev(ctx, n * 4, gf), bdx = dev(ctx, n * 4, dx0);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_l2norm_forward(cmd, rows, D, bout, bx, bn);
    vc_l2norm_backward(cmd, rows, D, bdx, bg, bout, bn);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);

    double *x = to_double(xf, n), *g = to_double(gf, n), *dx = to_double(dx0, n);
    double *out = vc_malloc(n * 8), *norms = vc_malloc((size_t)rows * 8);
    ref_l2norm_forward(rows, D, out, x, norms, EPS);
    ref_l2norm_backward(rows, D, dx, g, out, norms, EPS);
    float *got_out = download(ctx, bout, n), *got_n = download(ctx, bn, rows), *got_dx = download(ctx, bdx, n);
    float *ro = to_float(out, n), *rn = to_float(norms, rows), *rdx = to_float(dx, n);
    snprintf(what, sizeof what, "l2norm forward %dx%d%s", rows, D, tiny ? " eps" : "");
    CHECK_NMSE(got_out, ro, n, 1e-12, what);
    snprintf(what, sizeof what, "l2norm norms %dx%d%s", rows, D, tiny ? " eps" : "");
    CHECK_NMSE(got_n, rn, rows, 1e-12, what);
    snprintf(what, sizeof what, "l2norm backward (+=) %dx%d%s", rows, D, tiny ? " eps" : "");
    CHECK_NMSE(got_dx, rdx, n, 1e-12, what);
    vc_buffer_free(ctx, &bx), vc_buffer_free(ctx, &bout), vc_buffer_free(ctx, &bn), vc_buffer_free(ctx, &bg),
        vc_buffer_free(ctx, &bdx);
    free(xf), free(gf), free(dx0), free(x), free(g), free(dx), free(out), free(norms);
    free(got_out), free(got_n), free(got_dx), free(ro), free(rn), free(rdx);
}

/* More rows than one grid dimension of 256-wide groups holds (vc_grid_1d's y > 1), D = 1
 * (a wider row would pass lavapipe's 128 MiB binding limit). Odd rows: out = sign(x),
 * norms = |x|, the backward adds 0. Even rows are 0, under eps: the backward adds
 * d_out / eps = 1, so a row processed twice shows. */
static void test_l2norm_big(VcContext *ctx) {
    int rows = 65535 * 256 + 1001;
    size_t n = (size_t)rows, bad = 0, first = 0;
    float *x = vc_malloc(n * 4), *got = vc_malloc(n * 4);
    for (size_t i = 0; i < n; i++) x[i] = i % 2 == 0 ? 0.0f : (i % 3 == 0 ? -1.0f : 1.0f) * (float)(1 + i % 1000);
    VcBuffer bx = dev(ctx, n * 4, x), bout = dev(ctx, n * 4, NULL), bn = dev(ctx, n * 4, NULL), bg = dev(ctx, n * 4, NULL);
    VcBuffer bdx = dev(ctx, n * 4, NULL);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_fill(cmd, bg, n, 1e-12f);
    vc_fill(cmd, bdx, n, 1.0f);
    vc_l2norm_forward(cmd, rows, 1, bout, bx, bn);
    vc_l2norm_backward(cmd, rows, 1, bdx, bg, bout, bn);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);
    /* x * (1 / |x|) is within an ulp of +-1, not always exactly */
    vc_buffer_download(ctx, bout, 0, got, n * 4);
    for (size_t i = 0; i < n; i++)
        if (fabsf(got[i] - (x[i] == 0 ? 0.0f : x[i] < 0 ? -1.0f : 1.0f)) > 2e-7f && bad++ == 0) first = i;
    CHECK(bad == 0, "l2norm out, %d rows of D = 1: %zu wrong, first [%zu] x %g out %.9g", rows, bad, first, x[first], got[first]);
    vc_buffer_download(ctx, bn, 0, got, n * 4);
    bad = 0;
    for (size_t i = 0; i < n; i++)
        if (got[i] != fabsf(x[i]) && bad++ == 0) first = i;
    CHECK(bad == 0, "l2norm norms, %d rows of D = 1: %zu wrong, first [%zu] x %g norm %.9g", rows, bad, first, x[first], got[first]);
    vc_buffer_download(ctx, bdx, 0, got, n * 4);
    bad = 0;
    for (size_t i = 0; i < n; i++)
        if (fabsf(got[i] - (x[i] == 0 ? 2.0f : 1.0f)) > 5e-7f && bad++ == 0) first = i;
    CHECK(bad == 0, "l2norm d_x, %d rows of D = 1: %zu wrong, first [%zu] x %g d_x %.9g", rows, bad, first, x[first], got[first]);
    vc_buffer_free(ctx, &bx), vc_buffer_free(ctx, &bout), vc_buffer_free(ctx, &bn), vc_buffer_free(ctx, &bg),
        vc_buffer_free(ctx, &bdx);
    free(x), free(got);
}

/* ---------------------------------------------------------------- cross-entropy */

static void make_labels(int32_t *y, int rows, int classes, bool ignored) {
    for (int r = 0; r < rows; r++) y[r] = (int32_t)((r * 7919u + 13u) % (unsigned)classes);
    if (ignored && rows > 2) {
        y[1] = -1;
        y[rows - 1] = classes; /* out of range on both sides */
    }
}

static void test_xent_fd(int rows, int classes, bool ignored) {
    size_t n = (size_t)rows * classes;
    float *lf = vc_malloc(n * 4);
    th_fill_normal(lf, n, 2.0f);
    int32_t *y = vc_malloc((size_t)rows * 4);
    make_labels(y, rows, classes, ignored);
    double *l = to_double(lf, n), *d = vc_malloc(n * 8), *fd = vc_malloc(n * 8);
    ref_cross_entropy(rows, classes, l, y, 1.0, d);
    for (size_t i = 0; i < n; i++) {
        double h = 1e-5, keep = l[i];
        l[i] = keep + h;
        double fp = ref_cross_entropy(rows, classes, l, y, 1.0, NULL);
        l[i] = keep - h;
        double fm = ref_cross_entropy(rows, classes, l, y, 1.0, NULL);
        l[i] = keep;
        fd[i] = (fp - fm) / (2 * h);
    }
    double e = nmse_dd(d, fd, n);
    /* classes = 1: the loss is identically 0 and so are both gradients */
    bool zero = true;
    for (size_t i = 0; i < n; i++) zero = zero && fd[i] == 0 && d[i] == 0;
    CHECK(classes == 1 ? zero : e <= FD_BOUND, "cross-entropy reference vs finite differences %dx%d: nmse %.3g", rows, classes, e);
    if (getenv("VC_TEST_VERBOSE")) printf("  xent fd %dx%d nmse %.3g\n", rows, classes, e);
    free(lf), free(y), free(l), free(d), free(fd);
}

static void test_xent_gpu(VcContext *ctx, int rows, int classes, float logit_scale, float scale, bool ignored) {
    size_t n = (size_t)rows * classes;
    char what[96];
    float *lf = vc_malloc(n * 4), *garbage = vc_malloc(n * 4);
    th_fill_normal(lf, n, logit_scale);
    for (size_t i = 0; i < n; i++) garbage[i] = 123.0f; /* d_logits is written, not accumulated */
    int32_t *y = vc_malloc((size_t)rows * 4);
    make_labels(y, rows, classes, ignored);
    VcBuffer bl = dev(ctx, n * 4, lf), bd = dev(ctx, n * 4, garbage), by = dev(ctx, (size_t)rows * 4, y);
    VcBuffer bloss = dev(ctx, 4, NULL);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_cross_entropy(cmd, rows, classes, bloss, bd, bl, by, scale);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);

    double *l = to_double(lf, n), *d = vc_malloc(n * 8);
    double want = ref_cross_entropy(rows, classes, l, y, scale, d);
    float got, *gd = download(ctx, bd, n), *rd = to_float(d, n);
    vc_buffer_download(ctx, bloss, 0, &got, 4);
    snprintf(what, sizeof what, "cross-entropy %dx%d (logits x%g, scale %g%s)%s", rows, classes, logit_scale, scale,
             ignored ? ", ignored rows" : "", g_mode);
    check_loss(got, want, what);
    if (classes == 1) {
        int bad = 0;
        for (size_t i = 0; i < n; i++) bad += gd[i] != 0.0f;
        CHECK(bad == 0, "%s: %d nonzero gradients with one class", what, bad);
    } else {
        CHECK_NMSE(gd, rd, n, 1e-9, what);
    }
    vc_buffer_free(ctx, &bl), vc_buffer_free(ctx, &bd), vc_buffer_free(ctx, &by), vc_buffer_free(ctx, &bloss);
    free(lf), free(garbage), free(y), free(l), free(d), free(gd), free(rd);
}

/* ---------------------------------------------------------------- NT-Xent */

static void normalize_rows(float *z, int rows, int D) {
    for (int r = 0; r < rows; r++) {
        double ss = 0;
        for (int k = 0; k < D; k++) ss += (double)z[(size_t)r * D + k] * z[(size_t)r * D + k];
        for (int k = 0; k < D; k++) z[(size_t)r * D + k] = (float)(z[(size_t)r * D + k] / sqrt(ss));
    }
}

static void test_ntxent_fd(int N2, int D, double T) {
    size_t n = (size_t)N2 * D;
    float *zf = vc_malloc(n * 4);
    th_fill_normal(zf, n, 0.7f); /* not normalized: the gradient formula must hold for any z */
    double *z = to_double(zf, n), *dz = vc_malloc(n * 8), *fd = vc_malloc(n * 8);
    ref_ntxent(N2, D, T, z, dz);
    for (size_t i = 0; i < n; i++) {
        double h = 1e-6, keep = z[i];
        z[i] = keep + h;
        double fp = ref_ntxent(N2, D, T, z, NULL);
        z[i] = keep - h;
        double fm = ref_ntxent(N2, D, T, z, NULL);
        z[i] = keep;
        fd[i] = (fp - fm) / (2 * h);
    }
    double e = nmse_dd(dz, fd, n);
    if (N2 == 2) { /* one candidate per row, the positive: loss 0, gradient 0 */
        double mx = 0;
        for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(dz[i]) + fabs(fd[i]));
        CHECK(mx < 1e-9, "NT-Xent N2 = 2: gradient %.3g, expected 0", mx);
    } else {
        CHECK(e <= FD_BOUND, "NT-Xent reference vs finite differences N2=%d D=%d T=%g: nmse %.3g", N2, D, T, e);
    }
    if (getenv("VC_TEST_VERBOSE")) printf("  ntxent fd N2=%d D=%d T=%g nmse %.3g\n", N2, D, T, e);
    free(zf), free(z), free(dz), free(fd);
}

/* Runs the op on z (N2, D); returns the loss and fills dz (n floats). sim gets `extra`
 * floats past N2^2 to check that a larger scratch is fine. */
static float run_ntxent(VcContext *ctx, int N2, int D, float T, const float *z, float *dz_out, size_t extra) {
    size_t n = (size_t)N2 * D;
    float *garbage = vc_malloc(n * 4);
    for (size_t i = 0; i < n; i++) garbage[i] = 123.0f; /* dz is written, not accumulated */
    VcBuffer bz = dev(ctx, n * 4, z), bdz = dev(ctx, n * 4, garbage), bs = dev(ctx, ((size_t)N2 * N2 + extra) * 4, NULL);
    VcBuffer bloss = dev(ctx, 4, NULL);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_ntxent(cmd, N2, D, T, bloss, bdz, bz, bs);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);
    float loss;
    vc_buffer_download(ctx, bloss, 0, &loss, 4);
    vc_buffer_download(ctx, bdz, 0, dz_out, n * 4);
    vc_buffer_free(ctx, &bz), vc_buffer_free(ctx, &bdz), vc_buffer_free(ctx, &bs), vc_buffer_free(ctx, &bloss);
    free(garbage);
    return loss;
}

/* unit: rows of z normalized (as the op is used); otherwise z is N(0, 0.7^2) per entry,
 * which the kernels must handle exactly as well (they assume nothing about the norms). */
static void test_ntxent_gpu_z(VcContext *ctx, int N2, int D, float T, bool unit) {
    size_t n = (size_t)N2 * D;
    char what[120];
    float *zf = vc_malloc(n * 4), *got = vc_malloc(n * 4);
    th_fill_normal(zf, n, unit ? 1.0f : 0.7f);
    if (unit) normalize_rows(zf, N2, D);
    float loss = run_ntxent(ctx, N2, D, T, zf, got, (size_t)N2 % 7);
    double *z = to_double(zf, n), *dz = vc_malloc(n * 8);
    double want = ref_ntxent(N2, D, T, z, dz);
    float *rdz = to_float(dz, n);
    snprintf(what, sizeof what, "NT-Xent N2=%d D=%d T=%g%s%s", N2, D, T, unit ? "" : " (z not normalized)", g_mode);
    check_loss(loss, want, what);
    if (N2 == 2) {
        int bad = 0;
        for (size_t i = 0; i < n; i++) bad += fabsf(got[i]) > 1e-6f;
        CHECK(bad == 0, "%s: dz should be 0 (one candidate per row), %d entries are not", what, bad);
    } else {
        snprintf(what, sizeof what, "NT-Xent dz N2=%d D=%d T=%g%s%s", N2, D, T, unit ? "" : " (z not normalized)", g_mode);
        CHECK_NMSE(got, rdz, n, 1e-9, what);
    }
    free(zf), free(got), free(z), free(dz), free(rdz);
}

static void test_ntxent_gpu(VcContext *ctx, int N2, int D, float T) { test_ntxent_gpu_z(ctx, N2, D, T, true); }

/* All z equal: every row's softmax is uniform over 2N - 1 candidates. */
static void test_ntxent_identical(VcContext *ctx, int N2, int D) {
    size_t n = (size_t)N2 * D;
    float *zf = vc_malloc(n * 4), *got = vc_malloc(n * 4), u[64];
    th_fill_normal(u, (size_t)D, 1.0f);
    normalize_rows(u, 1, D);
    for (int r = 0; r < N2; r++) memcpy(zf + (size_t)r * D, u, (size_t)D * 4);
    double want = log(N2 - 1.0);
    double *z = to_double(zf, n);
    double ref = ref_ntxent(N2, D, 0.1, z, NULL);
    CHECK(fabs(ref - want) < 1e-9, "reference: identical z gives %.10g, want log(2N-1) = %.10g", ref, want);
    float loss = run_ntxent(ctx, N2, D, 0.1f, zf, got, 0);
    CHECK(fabsf(loss - (float)want) < 1e-5 * want, "GPU%s: identical z (N2=%d) gives %.8g, want log(2N-1) = %.8g", g_mode, N2,
          loss, want);
    float mx = 0;
    for (size_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(got[i]));
    CHECK(mx < 1e-5f, "GPU%s: identical z (N2=%d) gives dz = 0, max |dz| = %g", g_mode, N2, mx);
    if (getenv("VC_TEST_VERBOSE")) printf("  identical z N2=%d%s: loss %.8g (log(2N-1) %.8g), max |dz| %.2g\n", N2, g_mode, loss, want, mx);
    free(zf), free(got), free(z);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void time_ntxent(VcContext *ctx, int N2, int D, float T) {
    if (!vc_context_info(ctx)->timestamps) return;
    size_t n = (size_t)N2 * D;
    float *zf = vc_malloc(n * 4);
    th_fill_normal(zf, n, 1.0f);
    normalize_rows(zf, N2, D);
    VcBuffer bz = dev(ctx, n * 4, zf), bdz = dev(ctx, n * 4, NULL), bs = dev(ctx, (size_t)N2 * N2 * 4, NULL), bl = dev(ctx, 4, NULL);
    VcCmd *cmd = vc_cmd_new(ctx, true);
    vc_ntxent(cmd, N2, D, T, bl, bdz, bz, bs);
    enum { RUNS = 15, MAXD = 8 };
    double ms[MAXD][RUNS], total[RUNS];
    int count = 0;
    const VcTiming *t = NULL;
    vc_cmd_run(cmd); /* warm-up */
    for (int r = 0; r < RUNS; r++) {
        vc_cmd_run(cmd);
        t = vc_cmd_timings(cmd, &count);
        VC_ASSERT(count >= 1 && count <= MAXD);
        total[r] = 0;
        for (int i = 0; i < count; i++) total[r] += ms[i][r] = t[i].ms;
    }
    printf("NT-Xent N2=%d D=%d on %s, %d runs (min, median; GFLOP/s and GB/s at the min):\n", N2, D,
           vc_context_info(ctx)->name, RUNS);
    for (int i = 0; i < count; i++) {
        qsort(ms[i], RUNS, sizeof(double), cmp_double);
        double m = ms[i][0];
        printf("  %-16s %8.3f %8.3f ms %8.2f GFLOP/s %8.2f GB/s\n", t[i].label, m, ms[i][RUNS / 2], t[i].flops / m * 1e-6,
               t[i].bytes / m * 1e-6);
    }
    qsort(total, RUNS, sizeof(double), cmp_double);
    printf("  %-16s %8.3f %8.3f ms\n", "total", total[0], total[RUNS / 2]);
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &bz), vc_buffer_free(ctx, &bdz), vc_buffer_free(ctx, &bs), vc_buffer_free(ctx, &bl);
    free(zf);
}

int main(void) {
    th_seed(42);
    /* 1. references vs finite differences */
    test_l2norm_fd(1, 1, false);
    test_l2norm_fd(3, 5, false);
    test_l2norm_fd(3, 4, true);
    test_xent_fd(1, 1, false);
    test_xent_fd(3, 7, false);
    test_xent_fd(5, 4, true);
    test_ntxent_fd(2, 3, 0.5);
    test_ntxent_fd(6, 4, 0.5);
    test_ntxent_fd(14, 5, 0.1);

    /* 2. GPU vs references */
    VcContext *ctx = th_gpu();
    const int l2[][2] = {{1, 1}, {1, 64}, {7, 13}, {33, 64}, {300, 5}, {257, 128}};
    for (size_t i = 0; i < VC_COUNTOF(l2); i++) test_l2norm_gpu(ctx, l2[i][0], l2[i][1], false);
    test_l2norm_gpu(ctx, 5, 7, true);
    test_l2norm_big(ctx);

    test_xent_gpu(ctx, 1, 1, 1.0f, 1.0f, false);
    test_xent_gpu(ctx, 7, 13, 1.0f, 1.0f, false);
    test_xent_gpu(ctx, 33, 1, 1.0f, 1.0f, false);
    test_xent_gpu(ctx, 9, 3, 1.0f, 0.5f, true);
    test_xent_gpu(ctx, 64, 17, 30.0f, 1.0f, false); /* logits far beyond exp's range */
    test_xent_gpu(ctx, 5, 1000, 3.0f, 1.0f, false);
    test_xent_gpu(ctx, 300, 999, 1.0f, 2.0f, true);
    test_xent_gpu(ctx, 70001, 3, 1.0f, 1.0f, false); /* more rows than one grid dimension */

    const struct { int N2, D; float T; } nt[] = {{2, 3, 0.5f},  {6, 4, 0.5f},  {14, 5, 0.1f}, {36, 8, 0.2f},
                                                {130, 3, 0.07f}, {64, 12, 0.5f}, {512, 64, 0.2f}, {1000, 20, 0.1f}};
    for (size_t i = 0; i < VC_COUNTOF(nt); i++) test_ntxent_gpu(ctx, nt[i].N2, nt[i].D, nt[i].T);
    test_ntxent_gpu_z(ctx, 14, 5, 0.5f, false);
    test_ntxent_gpu_z(ctx, 36, 8, 0.5f, false);
    set_mode(true, false); /* the storage-buffer kernels on shapes the texel ones take */
    test_xent_gpu(ctx, 64, 17, 30.0f, 1.0f, false);
    test_xent_gpu(ctx, 300, 999, 1.0f, 2.0f, true);
    test_ntxent_gpu(ctx, 36, 8, 0.2f);
    test_ntxent_gpu(ctx, 512, 64, 0.2f);
    set_mode(false, false);
    test_ntxent_identical(ctx, 6, 5);
    test_ntxent_identical(ctx, 512, 64);

    /* what a GPU runs (storage buffers, GPU sizes), on whatever device runs the test */
    set_mode(true, true);
    test_xent_gpu(ctx, 7, 13, 1.0f, 1.0f, false);
    test_xent_gpu(ctx, 300, 999, 1.0f, 2.0f, true);
    test_xent_gpu(ctx, 70001, 3, 1.0f, 1.0f, false);
    test_ntxent_gpu(ctx, 14, 5, 0.1f);
    test_ntxent_gpu(ctx, 1000, 20, 0.1f);
    test_ntxent_gpu(ctx, 512, 64, 0.2f);
    test_ntxent_gpu_z(ctx, 36, 8, 0.5f, false);
    test_ntxent_identical(ctx, 512, 64);
    set_mode(false, false);

    /* 3. timings */
    time_ntxent(ctx, 512, 64, 0.2f);
    return th_finish();
}
