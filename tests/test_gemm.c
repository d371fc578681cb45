/* test_gemm.c — every GEMM kernel variant against the double-precision reference.
 *
 * For each variant (simple, texel, tiled; auto on NT and TT only) and each of the 4
 * transpose combinations: odd shapes (1x1x1 up to 129x31x257), batched shapes with gaps
 * between items, bias on and off, alpha != 1, beta = 1 accumulation, a B shared by all
 * batch items (stride 0), and operands sliced at non-zero offsets (16-byte aligned ones,
 * which the texel kernel reads directly, and odd ones, which send it to its storage-buffer
 * fallback). Elements of C outside the items must stay untouched, and beta = 0 must not
 * read C (it is filled with NaN then).
 * GEMM has no backward of its own; the linear-layer identities built on it
 * (dX = dY W, dW += dY^T X, db += 1^T dY) are checked against a reference written from the
 * definition, which is itself checked by finite differences.
 * Also: a batch over 65535 items (several dispatches in z) and a C larger than lavapipe's
 * 128 MiB storage range (split into row chunks).
 */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "ops/gemm.h"
#include "ref/gemm.h"
#include "vk/vk.h"

/* fp32 accumulation over K <= 257 terms: relative error ~ sqrt(K) * 6e-8, nmse ~ 1e-12 */
#define GEMM_NMSE 1e-10
#define GUARD 4 /* elements before and after each operand inside its buffer */

typedef struct Opts {
    bool bias;
    float alpha, beta;
    size_t off; /* element offset of every operand inside its buffer (after GUARD) */
} Opts;

typedef struct Mat {
    VcBuffer buf, view; /* view: the operand's slice */
    float *host;        /* whole buffer contents */
    size_t len;         /* elements of the whole buffer */
} Mat;

static Mat mat_new(VcContext *ctx, size_t n, size_t off, bool nan) {
    Mat m;
    m.len = GUARD + off + n + GUARD;
    m.host = vc_malloc(m.len * sizeof(float));
    th_fill_uniform(m.host, m.len, -1.0f, 1.0f);
    if (nan)
        for (size_t i = 0; i < n; i++) m.host[GUARD + off + i] = NAN;
    CHECK(vc_buffer_alloc(ctx, m.len * 4, "gemm test", &m.buf) == VC_OK, "alloc");
    vc_buffer_upload(ctx, m.buf, 0, m.host, m.len * 4);
    m.view = vc_buffer_slice(m.buf, (GUARD + off) * 4, n * 4);
    return m;
}

static void mat_free(VcContext *ctx, Mat *m) {
    vc_buffer_free(ctx, &m->buf);
    free(m->host);
}

static size_t extent(int batch, size_t stride, size_t item) { return (size_t)(batch > 1 ? batch - 1 : 0) * stride + item; }

/* One GEMM on the device vs ref_gemm; returns false when a check failed. */
static bool run_case(VcContext *ctx, const VcGemmShape *s, const Opts *o, const char *what) {
    size_t M = (size_t)s->M, N = (size_t)s->N, K = (size_t)s->K;
    int batch = s->batch > 1 ? s->batch : 1;
    size_t na = extent(batch, s->stride_a, M * K), nb = extent(batch, s->stride_b, K * N), nc = extent(batch, s->stride_c, M * N);
    Mat a = mat_new(ctx, na, o->off, false), b = mat_new(ctx, nb, o->off, false), bias = mat_new(ctx, N, o->off, false);
    Mat c = mat_new(ctx, nc, o->off, false);
    if (o->beta == 0.0f) /* beta = 0 must not read C: NaN in every item */
        for (int z = 0; z < batch; z++)
            for (size_t i = 0; i < M * N; i++) c.host[GUARD + o->off + z * s->stride_c + i] = NAN;
    vc_buffer_upload(ctx, c.buf, 0, c.host, c.len * 4);

    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_gemm(cmd, s, a.view, b.view, c.view, o->bias ? &bias.view : NULL);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);

    double *want = vc_malloc(nc * sizeof(double));
    for (size_t i = 0; i < nc; i++) want[i] = c.host[GUARD + o->off + i];
    ref_gemm(s, a.host + GUARD + o->off, b.host + GUARD + o->off, o->bias ? bias.host + GUARD + o->off : NULL, want);
    float *got = vc_malloc(c.len * 4);
    vc_buffer_download(ctx, c.buf, 0, got, c.len * 4);

    /* items compared by nmse, everything else (guards, gaps between items) bit for bit */
    float *gi = vc_malloc(batch * M * N * 4), *wi = vc_malloc(batch * M * N * 4);
    int untouched = 0, outside = 0;
    for (size_t i = 0; i < c.len; i++) {
        size_t rel = i - GUARD - o->off;
        bool inside = i >= GUARD + o->off && rel < nc && rel % (batch > 1 ? s->stride_c : nc) < M * N;
        if (inside) {
            size_t z = batch > 1 ? rel / s->stride_c : 0, e = batch > 1 ? rel % s->stride_c : rel;
            gi[z * M * N + e] = got[i];
            wi[z * M * N + e] = (float)want[rel];
        } else {
            outside++;
            untouched += memcmp(&got[i], &c.host[i], 4) == 0;
        }
    }
    const char *kernel = vc_gemm_kernel(ctx, s, a.view, b.view);
    char label[200];
    snprintf(label, sizeof label, "%s [%s] %dx%dx%d %c%c batch %d bias %d alpha %g beta %g off %zu", what, kernel, s->M, s->N,
             s->K, s->trans_a ? 'T' : 'N', s->trans_b ? 'T' : 'N', batch, o->bias, s->alpha, s->beta, o->off);
    bool ok = CHECK_NMSE(gi, wi, batch * M * N, GEMM_NMSE, label);
    CHECK(untouched == outside, "%s: %d of %d elements outside C changed", label, outside - untouched, outside);
    ok &= untouched == outside;
    free(gi), free(wi), free(got), free(want);
    mat_free(ctx, &a), mat_free(ctx, &b), mat_free(ctx, &bias), mat_free(ctx, &c);
    return ok;
}

typedef struct Shape { int M, N, K, batch, gap; } Shape;

static const Shape shapes[] = {
    {1, 1, 1, 1, 0},     {7, 13, 5, 1, 0},   {33, 65, 17, 1, 0}, {64, 64, 64, 1, 0},
    {129, 31, 257, 1, 0}, {36, 20, 13, 1, 0}, /* M, N multiples of 4 with a K tail: texel kernel with A (K, M), B (K, N) */
    {68, 44, 28, 3, 8},  /* batched, every count a multiple of 4: texel kernel, batch in z */
    {7, 13, 5, 3, 3},    /* batched with odd strides */
};

static void test_variants(VcContext *ctx) {
    for (int v = VC_GEMM_SIMPLE; v <= VC_GEMM_VARIANT_COUNT; v++) {
        VcGemmVariant var = v == VC_GEMM_VARIANT_COUNT ? VC_GEMM_AUTO : (VcGemmVariant)v;
        vc_gemm_force_variant(var);
        int failed = 0;
        /* auto only picks one of the kernels above: two transpose combinations are enough */
        for (int t = var == VC_GEMM_AUTO ? 2 : 0; t < 4; t++) {
            for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
                const Shape *sh = &shapes[i];
                VcGemmShape s = {.M = sh->M, .N = sh->N, .K = sh->K, .trans_a = t & 1, .trans_b = t >> 1, .batch = sh->batch};
                if (sh->batch > 1) {
                    s.stride_a = (size_t)sh->M * sh->K + sh->gap;
                    s.stride_b = (size_t)sh->K * sh->N + sh->gap;
                    s.stride_c = (size_t)sh->M * sh->N + sh->gap;
                }
                /* plain: no bias, beta 0 (C is NaN), offset 0 */
                Opts plain = {.bias = false, .alpha = 1, .beta = 0, .off = 0};
                s.alpha = 0; /* read as 1 */
                s.beta = 0;
                failed += !run_case(ctx, &s, &plain, vc_gemm_variant_name(var));
                /* bias, alpha, accumulation into C, sliced operands: aligned offsets on
                 * even shapes, odd ones on the others */
                Opts full = {.bias = true, .alpha = 0.5f, .beta = 1, .off = i % 2 ? 3 : 4};
                s.alpha = 0.5f;
                s.beta = 1;
                failed += !run_case(ctx, &s, &full, vc_gemm_variant_name(var));
                if (sh->batch > 1) { /* one B shared by every item (stride 0) */
                    Opts shared = {.bias = true, .alpha = 1, .beta = 0, .off = 8};
                    VcGemmShape s0 = s;
                    s0.stride_b = 0, s0.alpha = 1, s0.beta = 0;
                    failed += !run_case(ctx, &s0, &shared, vc_gemm_variant_name(var));
                }
                if (i == 3) { /* beta other than 0 and 1, no bias */
                    Opts scaled = {.bias = false, .alpha = -2, .beta = 0.25f, .off = 64};
                    s.alpha = -2, s.beta = 0.25f;
                    failed += !run_case(ctx, &s, &scaled, vc_gemm_variant_name(var));
                }
            }
        }
        printf("variant %-6s: %s\n", vc_gemm_variant_name(var), failed ? "FAILED" : "ok");
    }
    vc_gemm_force_variant(VC_GEMM_AUTO);
}

/* ---- linear layer: the reference's gradients by finite differences, then the GEMM identities ---- */

static double linear_loss(int B, int in, int out, const double *x, const double *w, const double *bias, const double *g) {
    double *y = vc_malloc(sizeof(double) * B * out), L = 0;
    ref_linear_forward(B, in, out, x, w, bias, y);
    for (int i = 0; i < B * out; i++) L += g[i] * y[i]; /* L = sum(g * y), so dL/dy = g */
    free(y);
    return L;
}

/* Central differences of L with respect to every element of p (n elements). */
static void numeric_grad(int B, int in, int out, double *x, double *w, double *bias, const double *g, double *p, size_t n,
                         double *grad) {
    const double h = 1e-4;
    for (size_t i = 0; i < n; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double lp = linear_loss(B, in, out, x, w, bias, g);
        p[i] = keep - h;
        double lm = linear_loss(B, in, out, x, w, bias, g);
        p[i] = keep;
        grad[i] = (lp - lm) / (2 * h);
    }
}

static double nmse_dd(const double *a, const double *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += (a[i] - ref[i]) * (a[i] - ref[i]), den += ref[i] * ref[i];
    return num / (den > 1e-300 ? den : 1e-300);
}

static void test_linear_reference(void) {
    int B = 5, in = 7, out = 3;
    double x[35], w[21], bias[3], g[15], dx[35], dw[21] = {0}, db[3] = {0}, nx[35], nw[21], nb[3];
    for (int i = 0; i < 35; i++) x[i] = th_normal();
    for (int i = 0; i < 21; i++) w[i] = th_normal();
    for (int i = 0; i < 3; i++) bias[i] = th_normal();
    for (int i = 0; i < 15; i++) g[i] = th_normal();
    ref_linear_backward(B, in, out, x, w, g, dx, dw, db);
    numeric_grad(B, in, out, x, w, bias, g, x, 35, nx);
    numeric_grad(B, in, out, x, w, bias, g, w, 21, nw);
    numeric_grad(B, in, out, x, w, bias, g, bias, 3, nb);
    /* L is linear in each tensor, so central differences are exact up to rounding */
    double ex = nmse_dd(dx, nx, 35), ew = nmse_dd(dw, nw, 21), eb = nmse_dd(db, nb, 3);
    CHECK(ex < 1e-16 && ew < 1e-16 && eb < 1e-16, "linear reference vs finite differences: nmse dx %.3g dw %.3g db %.3g", ex, ew,
          eb);
    if (getenv("VC_TEST_VERBOSE")) printf("  linear ref vs FD: nmse dx %.3g dw %.3g db %.3g\n", ex, ew, eb);
}

static VcBuffer upload(VcContext *ctx, const float *x, size_t n) {
    VcBuffer b;
    CHECK(vc_buffer_alloc(ctx, n * 4, "linear", &b) == VC_OK, "alloc");
    vc_buffer_upload(ctx, b, 0, x, n * 4);
    return b;
}

static void to_float(const double *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = (float)x[i];
}

static void test_linear_gemm(VcContext *ctx, const char *name, int B, int in, int out) {
    size_t nx = (size_t)B * in, nw = (size_t)out * in, ny = (size_t)B * out;
    float *x = vc_malloc(nx * 4), *w = vc_malloc(nw * 4), *bias = vc_malloc(out * 4), *dy = vc_malloc(ny * 4);
    float *dw0 = vc_malloc(nw * 4), *db0 = vc_malloc(out * 4), *ones = vc_malloc(B * 4);
    th_fill_normal(x, nx, 1), th_fill_normal(w, nw, 0.3f), th_fill_normal(bias, out, 1), th_fill_normal(dy, ny, 1);
    th_fill_normal(dw0, nw, 1), th_fill_normal(db0, out, 1); /* gradients accumulate onto these */
    for (int i = 0; i < B; i++) ones[i] = 1;
    double *xd = vc_malloc(nx * 8), *wd = vc_malloc(nw * 8), *bd = vc_malloc(out * 8), *dyd = vc_malloc(ny * 8);
    double *yd = vc_malloc(ny * 8), *dxd = vc_malloc(nx * 8), *dwd = vc_malloc(nw * 8), *dbd = vc_malloc(out * 8);
    for (size_t i = 0; i < nx; i++) xd[i] = x[i];
    for (size_t i = 0; i < nw; i++) wd[i] = w[i], dwd[i] = dw0[i];
    for (int i = 0; i < out; i++) bd[i] = bias[i], dbd[i] = db0[i];
    for (size_t i = 0; i < ny; i++) dyd[i] = dy[i];
    ref_linear_forward(B, in, out, xd, wd, bd, yd);
    ref_linear_backward(B, in, out, xd, wd, dyd, dxd, dwd, dbd);
    float *want = vc_malloc(VC_MAX(VC_MAX(nx, nw), ny) * 4), *got = vc_malloc(VC_MAX(VC_MAX(nx, nw), ny) * 4);

    VcBuffer bx = upload(ctx, x, nx), bw = upload(ctx, w, nw), bb = upload(ctx, bias, out), bdy = upload(ctx, dy, ny);
    VcBuffer bones = upload(ctx, ones, B), by = upload(ctx, want, ny), bdx = upload(ctx, want, nx);
    VcBuffer bdw = upload(ctx, dw0, nw), bdb = upload(ctx, db0, out);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    /* y (B, out) = x (B, in) . w^T + bias:  M = B, N = out, K = in, B operand w stored (N, K) */
    VcGemmShape fwd = {.M = B, .N = out, .K = in, .trans_b = true};
    vc_gemm(cmd, &fwd, bx, bw, by, &bb);
    /* dx (B, in) = dy (B, out) . w (out, in):  M = B, N = in, K = out, no transposes */
    VcGemmShape gx = {.M = B, .N = in, .K = out};
    vc_gemm(cmd, &gx, bdy, bw, bdx, NULL);
    /* dw (out, in) += dy^T . x:  M = out, N = in, K = B, A = dy stored (K, M) */
    VcGemmShape gw = {.M = out, .N = in, .K = B, .trans_a = true, .beta = 1};
    vc_gemm(cmd, &gw, bdy, bx, bdw, NULL);
    /* db (1, out) += 1^T . dy:  M = 1, N = out, K = B */
    VcGemmShape gb = {.M = 1, .N = out, .K = B, .beta = 1};
    vc_gemm(cmd, &gb, bones, bdy, bdb, NULL);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);

    char what[120];
    vc_buffer_download(ctx, by, 0, got, ny * 4), to_float(yd, want, ny);
    snprintf(what, sizeof what, "linear %dx%d->%d y = x w^T + b (%s)", B, in, out, name);
    CHECK_NMSE(got, want, ny, GEMM_NMSE, what);
    vc_buffer_download(ctx, bdx, 0, got, nx * 4), to_float(dxd, want, nx);
    snprintf(what, sizeof what, "linear %dx%d->%d dx = dy w (%s)", B, in, out, name);
    CHECK_NMSE(got, want, nx, GEMM_NMSE, what);
    vc_buffer_download(ctx, bdw, 0, got, nw * 4), to_float(dwd, want, nw);
    snprintf(what, sizeof what, "linear %dx%d->%d dw += dy^T x (%s)", B, in, out, name);
    CHECK_NMSE(got, want, nw, GEMM_NMSE, what);
    vc_buffer_download(ctx, bdb, 0, got, out * 4), to_float(dbd, want, out);
    snprintf(what, sizeof what, "linear %dx%d->%d db += 1^T dy (%s)", B, in, out, name);
    CHECK_NMSE(got, want, out, GEMM_NMSE, what);

    VcBuffer all[] = {bx, bw, bb, bdy, bones, by, bdx, bdw, bdb};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) vc_buffer_free(ctx, &all[i]);
    free(x), free(w), free(bias), free(dy), free(dw0), free(db0), free(ones), free(xd), free(wd), free(bd), free(dyd);
    free(yd), free(dxd), free(dwd), free(dbd), free(want), free(got);
}

/* The tiled kernel's 128 x 128 blocks (picked when C has >= 4M elements, M, N >= 128). */
static void test_tiled_big_blocks(VcContext *ctx) {
    vc_gemm_force_variant(VC_GEMM_TILED);
    for (int t = 0; t < 4; t += 3) { /* NN and TT */
        VcGemmShape s = {.M = 2049, .N = 2051, .K = 7, .trans_a = t & 1, .trans_b = t >> 1, .alpha = 1, .beta = 1};
        Opts o = {.bias = true, .alpha = 1, .beta = 1, .off = 3};
        run_case(ctx, &s, &o, "tiled 128x128 blocks");
    }
    vc_gemm_force_variant(VC_GEMM_AUTO);
}

/* A reduction longer than one invocation may loop on lavapipe (65535 iterations, then it
 * stops silently: before K was chunked, 9 x 10 x 600000 came out wrong in every kernel).
 * Every kernel, all four transpose cases, with beta, alpha and bias (applied once). */
static void test_long_k(VcContext *ctx) {
    for (int v = VC_GEMM_SIMPLE; v < VC_GEMM_VARIANT_COUNT; v++) {
        vc_gemm_force_variant((VcGemmVariant)v);
        /* K past the limit of the simple kernel (one iteration per k) and gemm_reg (one per
         * 8 k); the tiled kernel (one per 16-32 k) gets the same chunks, checked at 70000
         * for speed. Simple and tiled run NT (both operands K-contiguous) and TN. */
        bool reg = v == VC_GEMM_TEXEL;
        for (int t = reg ? 0 : 1; t < (reg ? 4 : 3); t++) {
            VcGemmShape s = {.M = 9, .N = 12, .K = reg ? 600000 : 70000, .trans_a = t & 1, .trans_b = t >> 1, .alpha = 0.5f,
                             .beta = 1};
            Opts o = {.bias = true, .alpha = 0.5f, .beta = 1, .off = 4};
            run_case(ctx, &s, &o, "long K");
        }
    }
    vc_gemm_force_variant(VC_GEMM_TEXEL); /* K not a multiple of 4: storage-buffer loads, beta 0 */
    VcGemmShape s = {.M = 5, .N = 3, .K = 70001, .trans_b = true, .alpha = 1, .beta = 0};
    Opts o = {.bias = true, .alpha = 1, .beta = 0, .off = 1};
    run_case(ctx, &s, &o, "long odd K");
    vc_gemm_force_variant(VC_GEMM_AUTO);
}

/* A batch too long for one dispatch (z <= 65535). */
static void test_long_batch(VcContext *ctx) {
    int batch = 70001;
    VcGemmShape s = {.M = 1, .N = 2, .K = 3, .batch = batch, .stride_a = 3, .stride_b = 6, .stride_c = 2, .alpha = 1, .beta = 0};
    Opts o = {.bias = true, .alpha = 1, .beta = 0, .off = 1};
    vc_gemm_force_variant(VC_GEMM_SIMPLE);
    run_case(ctx, &s, &o, "long batch");
    vc_gemm_force_variant(VC_GEMM_TEXEL);
    run_case(ctx, &s, &o, "long batch");
    vc_gemm_force_variant(VC_GEMM_AUTO);
}

/* C of 134.5 MB: over lavapipe's 128 MiB storage range, so it is written in row chunks. */
static void test_huge_c(VcContext *ctx) {
    int M = 8200, N = 4100, K = 4;
    size_t nc = (size_t)M * N;
    if (vc_context_info(ctx)->max_storage_buffer_range >= nc * 4) printf("huge C: fits one binding on this device\n");
    float *a = vc_malloc((size_t)M * K * 4), *b = vc_malloc((size_t)K * N * 4);
    th_fill_uniform(a, (size_t)M * K, -1, 1), th_fill_uniform(b, (size_t)K * N, -1, 1);
    VcBuffer ba = upload(ctx, a, (size_t)M * K), bb = upload(ctx, b, (size_t)K * N), bc;
    if (vc_buffer_alloc(ctx, nc * 4, "huge C", &bc) != VC_OK) {
        CHECK(0, "cannot allocate the 134 MB C: %s", vc_last_error());
        return;
    }
    VcGemmShape s = {.M = M, .N = N, .K = K};
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_gemm(cmd, &s, ba, bb, bc, NULL);
    int dispatches = vc_cmd_dispatch_count(cmd);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);
    float *got = vc_malloc(nc * 4), *want = vc_malloc(nc * 4);
    vc_buffer_download(ctx, bc, 0, got, nc * 4);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double acc = 0;
            for (int k = 0; k < K; k++) acc += (double)a[m * K + k] * b[k * N + n];
            want[(size_t)m * N + n] = (float)acc;
        }
    char what[100];
    snprintf(what, sizeof what, "huge C %dx%dx%d in %d dispatches (%s)", M, N, K, dispatches, vc_gemm_kernel(ctx, &s, ba, bb));
    CHECK_NMSE(got, want, nc, GEMM_NMSE, what);
    if (vc_context_info(ctx)->max_storage_buffer_range < nc * 4) CHECK(dispatches > 1, "huge C was split (%d)", dispatches);
    vc_buffer_free(ctx, &ba), vc_buffer_free(ctx, &bb), vc_buffer_free(ctx, &bc);
    free(a), free(b), free(got), free(want);
}

int main(void) {
    VcContext *ctx = th_gpu();
    printf("device: %s (%s)\n", vc_context_info(ctx)->name, vc_context_is_cpu(ctx) ? "cpu" : "gpu");
    th_seed(42);
    test_variants(ctx);
    test_linear_reference();
    for (int v = VC_GEMM_SIMPLE; v < VC_GEMM_VARIANT_COUNT; v++) {
        vc_gemm_force_variant((VcGemmVariant)v);
        test_linear_gemm(ctx, vc_gemm_variant_name((VcGemmVariant)v), 37, 29, 11);
        test_linear_gemm(ctx, vc_gemm_variant_name((VcGemmVariant)v), 64, 128, 64);
    }
    vc_gemm_force_variant(VC_GEMM_AUTO);
    test_tiled_big_blocks(ctx);
    test_long_batch(ctx);
    test_huge_c(ctx);
    test_long_k(ctx);
    return th_finish();
}
