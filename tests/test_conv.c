/* test_conv.c — 2-D convolution: the reference backward against central finite
 * differences, then every kernel variant (CPU: texel-buffer register tiles; GPU: shared
 * memory tiles) against the reference, forward and backward, on odd shapes, in one chunk
 * and in many chunks (batch split, unaligned image offsets), with accumulation (+=)
 * checked by running the same recording twice.
 *
 * VC_CONV_BENCH=1 (or =B for batch B) instead times the small-resnet conv layers at batch
 * 256 with GPU timestamps and prints GFLOP/s of forward, dgrad and wgrad.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "harness.h"
#include "ops/conv.h"
#include "ref/conv.h"
#include "vk/vk.h"

/* fp32 GEMM sums of up to ~600 products against double: observed nmse ~1e-14 */
#define FWD_BOUND 1e-11
#define BWD_BOUND 1e-11
#define FD_BOUND 1e-14 /* the op is linear in each argument: differences are exact up to rounding */

static size_t n_in(const VcConvShape *s) { return (size_t)s->B * s->C_in * s->H * s->W; }
static size_t n_w(const VcConvShape *s) { return (size_t)s->C_out * s->C_in * s->KH * s->KW; }
static size_t n_out(const VcConvShape *s) { return (size_t)s->B * s->C_out * vc_conv_out_h(s) * vc_conv_out_w(s); }

static double *dalloc(size_t n) { return vc_calloc(n ? n : 1, sizeof(double)); }

static double nmse_dd(const double *a, const double *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) num += (a[i] - ref[i]) * (a[i] - ref[i]), den += ref[i] * ref[i];
    return num / (den > 1e-30 ? den : 1e-30);
}

static void shape_name(const VcConvShape *s, char *buf, size_t n) {
    snprintf(buf, n, "B%d %dx%dx%d -> %d k%dx%d s%d p%d", s->B, s->C_in, s->H, s->W, s->C_out, s->KH, s->KW, s->stride, s->pad);
}

/* L = sum(out * g) for a fixed random g: dL/din and dL/dw from the reference backward
 * against central differences of the reference forward, every element. */
static void check_finite_differences(const VcConvShape *s) {
    size_t ni = n_in(s), nw = n_w(s), no = n_out(s);
    double *in = dalloc(ni), *w = dalloc(nw), *g = dalloc(no), *out = dalloc(no);
    double *d_in = dalloc(ni), *d_w = dalloc(nw), *num_in = dalloc(ni), *num_w = dalloc(nw);
    for (size_t i = 0; i < ni; i++) in[i] = th_normal();
    for (size_t i = 0; i < nw; i++) w[i] = th_normal();
    for (size_t i = 0; i < no; i++) g[i] = th_normal();
    ref_conv2d_backward(s, d_in, d_w, g, in, w);
    const double eps = 1e-3;
    for (int which = 0; which < 2; which++) {
        double *x = which ? w : in, *num = which ? num_w : num_in;
        size_t n = which ? nw : ni;
        for (size_t i = 0; i < n; i++) {
            double keep = x[i], lp = 0, lm = 0;
            x[i] = keep + eps;
            ref_conv2d_forward(s, out, in, w);
            for (size_t j = 0; j < no; j++) lp += out[j] * g[j];
            x[i] = keep - eps;
            ref_conv2d_forward(s, out, in, w);
            for (size_t j = 0; j < no; j++) lm += out[j] * g[j];
            x[i] = keep;
            num[i] = (lp - lm) / (2 * eps);
        }
    }
    char name[96], what[160];
    shape_name(s, name, sizeof name);
    double e_in = nmse_dd(d_in, num_in, ni), e_w = nmse_dd(d_w, num_w, nw);
    snprintf(what, sizeof what, "ref d_in vs finite differences (%s)", name);
    CHECK(e_in <= FD_BOUND, "%s: nmse %.3g > %.1g", what, e_in, FD_BOUND);
    snprintf(what, sizeof what, "ref d_w vs finite differences (%s)", name);
    CHECK(e_w <= FD_BOUND, "%s: nmse %.3g > %.1g", what, e_w, FD_BOUND);
    if (getenv("VC_TEST_VERBOSE")) printf("  fd %-40s d_in nmse %.3g, d_w nmse %.3g\n", name, e_in, e_w);
    free(in), free(w), free(g), free(out), free(d_in), free(d_w), free(num_in), free(num_w);
}

static VcBuffer alloc_up(VcContext *ctx, const float *x, size_t n, const char *what) {
    VcBuffer b;
    VC_ASSERT(vc_buffer_alloc(ctx, n * 4, what, &b) == VC_OK);
    if (x) vc_buffer_upload(ctx, b, 0, x, n * 4);
    return b;
}

static void to_float(float *dst, const double *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

static double g_worst_fwd, g_worst_bwd;

/* GPU forward and backward of one shape with one variant against the reference.
 * chunk_bytes != 0 forces small chunks; offset_in shifts `in` and `d_in` to an unaligned
 * offset inside a larger buffer; with_din == false passes a null d_in (first layer). */
static void check_gpu(VcContext *ctx, const VcConvShape *s, VcConvVariant variant, size_t chunk_bytes, size_t offset_in,
                      bool with_din, bool set) {
    vc_conv2d_force_variant(variant);
    vc_conv2d_set_chunk_bytes(chunk_bytes);
    size_t ni = n_in(s), nw = n_w(s), no = n_out(s);
    float *in = vc_malloc(ni * 4), *w = vc_malloc(nw * 4), *g = vc_malloc(no * 4);
    float *din0 = vc_malloc(ni * 4), *dw0 = vc_malloc(nw * 4);
    th_fill_normal(in, ni, 1.0f);
    th_fill_normal(w, nw, 1.0f);
    th_fill_normal(g, no, 1.0f);
    th_fill_normal(din0, ni, 1.0f);
    th_fill_normal(dw0, nw, 1.0f);

    double *din = dalloc(ni), *dw = dalloc(nw), *dout = dalloc(no), *dref_out = dalloc(no), *dg = dalloc(no);
    double *ref_din = dalloc(ni), *ref_dw = dalloc(nw);
    for (size_t i = 0; i < ni; i++) din[i] = in[i];
    for (size_t i = 0; i < nw; i++) dw[i] = w[i];
    for (size_t i = 0; i < no; i++) dg[i] = g[i];
    ref_conv2d_forward(s, dref_out, din, dw);
    ref_conv2d_backward(s, ref_din, ref_dw, dg, din, dw);

    /* in, d_in and d_out live at offset_in bytes inside larger buffers */
    VcBuffer in_all = alloc_up(ctx, NULL, ni + offset_in / 4 + 1, "in");
    VcBuffer din_all = alloc_up(ctx, NULL, ni + offset_in / 4 + 1, "d_in");
    VcBuffer b_in = vc_buffer_slice(in_all, offset_in, ni * 4), b_din = vc_buffer_slice(din_all, offset_in, ni * 4);
    vc_buffer_upload(ctx, b_in, 0, in, ni * 4);
    vc_buffer_upload(ctx, b_din, 0, din0, ni * 4);
    VcBuffer g_all = alloc_up(ctx, NULL, no + offset_in / 4 + 1, "d_out"), b_g = vc_buffer_slice(g_all, offset_in, no * 4);
    vc_buffer_upload(ctx, b_g, 0, g, no * 4);
    VcBuffer b_w = alloc_up(ctx, w, nw, "w"), b_dw = alloc_up(ctx, dw0, nw, "d_w");
    VcBuffer b_out = alloc_up(ctx, NULL, no, "out");
    size_t ws = vc_conv2d_workspace_bytes(ctx, s);
    VcBuffer b_work;
    VC_ASSERT(vc_buffer_alloc(ctx, ws, "conv work", &b_work) == VC_OK);
    /* NaN everywhere in the workspace: a kernel that reads scratch nobody wrote fails */
    VcCmd *poison = vc_cmd_new(ctx, false);
    vc_cmd_fill(poison, b_work, b_work.size, 0x7fc00000u);
    vc_cmd_end(poison);
    vc_cmd_run(poison);
    vc_cmd_free(poison);

    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_conv2d_forward(cmd, s, b_out, b_in, b_w, b_work);
    VcBuffer null_din = {0};
    (set ? vc_conv2d_backward_set : vc_conv2d_backward)(cmd, s, with_din ? b_din : null_din, b_dw, b_g, b_in, b_w, b_work);

    char name[96], what[200];
    shape_name(s, name, sizeof name);
    const char *vname = variant == VC_CONV_CPU ? "cpu" : variant == VC_CONV_GPU ? "gpu" : "auto";
    float *got_out = vc_malloc(no * 4), *got_din = vc_malloc(ni * 4), *got_dw = vc_malloc(nw * 4);
    float *want_out = vc_malloc(no * 4), *want_din = vc_malloc(ni * 4), *want_dw = vc_malloc(nw * 4);
    to_float(want_out, dref_out, no);
    /* run the recording twice: the forward overwrites, the backward accumulates twice */
    for (int run = 1; run <= 2; run++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        vc_cmd_run(cmd);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (getenv("VC_TEST_VERBOSE"))
            printf("  %s run %d: %.3f s\n", name, run, (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
        vc_buffer_download(ctx, b_out, 0, got_out, no * 4);
        vc_buffer_download(ctx, b_din, 0, got_din, ni * 4);
        vc_buffer_download(ctx, b_dw, 0, got_dw, nw * 4);
        for (size_t i = 0; i < ni; i++) want_din[i] = (float)(set ? ref_din[i] : din0[i] + run * ref_din[i]);
        for (size_t i = 0; i < nw; i++) want_dw[i] = (float)(dw0[i] + run * ref_dw[i]);
        snprintf(what, sizeof what, "%s forward run %d (%s)", vname, run, name);
        CHECK_NMSE(got_out, want_out, no, FWD_BOUND, what);
        g_worst_fwd = fmax(g_worst_fwd, th_nmse(got_out, want_out, no));
        if (with_din) {
            if (set) snprintf(what, sizeof what, "%s d_in = dgrad, run %d (%s)", vname, run, name);
            else snprintf(what, sizeof what, "%s d_in = d_in0 + %d dgrad (%s)", vname, run, name);
            CHECK_NMSE(got_din, want_din, ni, BWD_BOUND, what);
            g_worst_bwd = fmax(g_worst_bwd, th_nmse(got_din, want_din, ni));
        } else {
            CHECK(memcmp(got_din, din0, ni * 4) == 0, "%s d_in untouched when skipped (%s)", vname, name);
        }
        snprintf(what, sizeof what, "%s d_w = d_w0 + %d wgrad (%s)", vname, run, name);
        CHECK_NMSE(got_dw, want_dw, nw, BWD_BOUND, what);
        g_worst_bwd = fmax(g_worst_bwd, th_nmse(got_dw, want_dw, nw));
    }
    /* the pure gradients too (not hidden by the pre-filled values) */
    for (size_t i = 0; i < nw; i++) got_dw[i] = (got_dw[i] - dw0[i]) / 2, want_dw[i] = (float)ref_dw[i];
    snprintf(what, sizeof what, "%s wgrad alone (%s)", vname, name);
    CHECK_NMSE(got_dw, want_dw, nw, 1e-9, what);
    if (with_din && !set) {
        for (size_t i = 0; i < ni; i++) got_din[i] = (got_din[i] - din0[i]) / 2, want_din[i] = (float)ref_din[i];
        snprintf(what, sizeof what, "%s dgrad alone (%s)", vname, name);
        CHECK_NMSE(got_din, want_din, ni, 1e-9, what);
    }

    vc_cmd_free(cmd);
    VcBuffer *bufs[] = {&in_all, &din_all, &b_w, &g_all, &b_dw, &b_out, &b_work};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) vc_buffer_free(ctx, bufs[i]);
    free(in), free(w), free(g), free(din0), free(dw0), free(din), free(dw), free(dout), free(dref_out), free(dg);
    free(ref_din), free(ref_dw), free(got_out), free(got_din), free(got_dw), free(want_out), free(want_din), free(want_dw);
    vc_conv2d_force_variant(VC_CONV_AUTO);
    vc_conv2d_set_chunk_bytes(0);
}

/* ---- benchmark: the small-resnet conv layers (28x28, fp32) ---- */
static const struct { const char *name; VcConvShape s; } g_resnet[] = {
    {"stem 1->32 3x3 @28", {0, 1, 28, 28, 32, 3, 3, 1, 1}},
    {"b0 32->32 3x3 @28", {0, 32, 28, 28, 32, 3, 3, 1, 1}},
    {"b1 32->64 3x3 s2 @28", {0, 32, 28, 28, 64, 3, 3, 2, 1}},
    {"b1 64->64 3x3 @14", {0, 64, 14, 14, 64, 3, 3, 1, 1}},
    {"b1 sc 32->64 1x1 s2", {0, 32, 28, 28, 64, 1, 1, 2, 0}},
    {"b2 64->128 3x3 s2 @14", {0, 64, 14, 14, 128, 3, 3, 2, 1}},
    {"b2 128->128 3x3 @7", {0, 128, 7, 7, 128, 3, 3, 1, 1}},
    {"b2 sc 64->128 1x1 s2", {0, 64, 14, 14, 128, 1, 1, 2, 0}},
};

static double sum_ms(const VcTiming *t, int n, const char *prefix) {
    double ms = 0;
    for (int i = 0; i < n; i++)
        if (!strncmp(t[i].label, prefix, strlen(prefix))) ms += t[i].ms;
    return ms;
}

static double cpu_seconds(void) {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)r.ru_utime.tv_sec + 1e-6 * (double)r.ru_utime.tv_usec + (double)r.ru_stime.tv_sec + 1e-6 * (double)r.ru_stime.tv_usec;
}

static void bench(int batch) {
    VcContextOptions opt = {.validation = 0};
    VcContext *ctx = vc_context_new(&opt);
    if (!ctx) { fprintf(stderr, "no device: %s\n", vc_last_error()); exit(1); }
    const VcDeviceInfo *info = vc_context_info(ctx);
    printf("device %s, batch %d, variant %s, times = best of 3 (GPU timestamps)\n", info->name, batch,
           vc_context_is_cpu(ctx) ? "cpu" : "gpu");
    printf("(bwd = dgrad + wgrad; per CPU-s: FLOPs of the recorded passes (VC_CONV_ONLY=fwd|bwd|wgrad, default\n"
           " all) per second of this process's CPU time, an estimate of the GFLOP/s of 1 core, less sensitive to\n"
           " other processes than wall time)\n");
    printf("%-24s %7s %8s | %8s %8s %8s %8s | GFLOP/s fwd  dgrad  wgrad    bwd | per CPU-s\n", "layer", "GFLOP", "work MiB", "fwd ms",
           "dgrad ms", "wgrad ms", "bwd ms");
    double tot_flops = 0, tot_ms[4] = {0}, tot_cpu = 0, tot_work = 0;
    for (size_t l = 0; l < sizeof g_resnet / sizeof *g_resnet; l++) {
        VcConvShape s = g_resnet[l].s;
        s.B = batch;
        if (getenv("VC_CONV_LAYER") && !strstr(g_resnet[l].name, getenv("VC_CONV_LAYER"))) continue;
        size_t ni = n_in(&s), nw = n_w(&s), no = n_out(&s);
        float *x = vc_malloc(VC_MAX(ni, VC_MAX(nw, no)) * 4);
        th_fill_normal(x, VC_MAX(ni, VC_MAX(nw, no)), 1.0f);
        VcBuffer b_in = alloc_up(ctx, x, ni, "in"), b_din = alloc_up(ctx, NULL, ni, "d_in"), b_w = alloc_up(ctx, x, nw, "w");
        VcBuffer b_dw = alloc_up(ctx, NULL, nw, "d_w"), b_out = alloc_up(ctx, NULL, no, "out"), b_g = alloc_up(ctx, x, no, "d_out");
        size_t ws = vc_conv2d_workspace_bytes(ctx, &s);
        VcBuffer b_work;
        VC_ASSERT(vc_buffer_alloc(ctx, ws, "work", &b_work) == VC_OK);
        VcCmd *cmd = vc_cmd_new(ctx, true);
        /* VC_CONV_ONLY=fwd|bwd|wgrad records only that part (for the per CPU-s column) */
        const char *only = getenv("VC_CONV_ONLY") ? getenv("VC_CONV_ONLY") : "";
        bool do_fwd = !strcmp(only, "fwd") || !*only, do_bwd = strcmp(only, "fwd") != 0;
        bool do_dgrad = l != 0 && do_bwd && strcmp(only, "wgrad") != 0; /* counted only when recorded */
        if (do_fwd) vc_conv2d_forward(cmd, &s, b_out, b_in, b_w, b_work);
        VcBuffer no_din = {0}; /* the stem is the first layer: no d_in, as in training */
        if (do_bwd) vc_conv2d_backward(cmd, &s, do_dgrad ? b_din : no_din, b_dw, b_g, b_in, b_w, b_work);
        double work_flops = (do_fwd + do_bwd + do_dgrad) * vc_conv2d_flops(&s);
        double best[4] = {1e30, 1e30, 1e30, 1e30};
        vc_cmd_run(cmd); /* warm-up: pipeline compilation */
        double cpu0 = cpu_seconds();
        for (int rep = 0; rep < 3; rep++) {
            vc_cmd_run(cmd);
            int n = 0;
            const VcTiming *t = vc_cmd_timings(cmd, &n);
            double ms[4] = {sum_ms(t, n, "conv_fwd"), sum_ms(t, n, "conv_dgrad"), sum_ms(t, n, "conv_wgrad"), 0};
            ms[3] = ms[1] + ms[2] + sum_ms(t, n, "conv_bwd");
            for (int i = 0; i < 4; i++) best[i] = fmin(best[i], ms[i]);
            if (rep == 2 && getenv("VC_CONV_BENCH_DETAIL")) { /* per-kernel totals of the last run */
                const char *labels[16];
                int nl = 0;
                for (int i = 0; i < n; i++) {
                    int j = 0;
                    while (j < nl && strcmp(labels[j], t[i].label)) j++;
                    if (j == nl && nl < 16) labels[nl++] = t[i].label;
                }
                for (int j = 0; j < nl; j++) {
                    double lms = 0, lf = 0;
                    int cnt = 0;
                    for (int i = 0; i < n; i++)
                        if (!strcmp(labels[j], t[i].label)) lms += t[i].ms, lf += t[i].flops, cnt++;
                    printf("    %-22s x%-4d %8.2f ms %7.1f GFLOP/s\n", labels[j], cnt, lms, lf / lms * 1e-6);
                }
            }
        }
        double cpu = (cpu_seconds() - cpu0) / 3;
        double f = vc_conv2d_flops(&s);
        printf("%-24s %7.3f %8.1f | %8.2f %8.2f %8.2f %8.2f | %10.1f %6.1f %6.1f %6.1f | %5.1f\n", g_resnet[l].name, f * 1e-9,
               ws / 1048576.0, best[0], best[1], best[2], best[3], f / best[0] * 1e-6, f / best[1] * 1e-6, f / best[2] * 1e-6,
               2 * f / best[3] * 1e-6, work_flops / cpu * 1e-9);
        tot_cpu += cpu;
        tot_work += work_flops;
        tot_flops += f;
        for (int i = 0; i < 4; i++) tot_ms[i] += best[i];
        vc_cmd_free(cmd);
        VcBuffer *bufs[] = {&b_in, &b_din, &b_w, &b_dw, &b_out, &b_g, &b_work};
        for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) vc_buffer_free(ctx, bufs[i]);
        free(x);
    }
    printf("%-24s %7.3f %8s | %8.2f %8.2f %8.2f %8.2f | %10.1f %6.1f %6.1f %6.1f | %5.1f\n", "all layers", tot_flops * 1e-9, "",
           tot_ms[0], tot_ms[1], tot_ms[2], tot_ms[3], tot_flops / tot_ms[0] * 1e-6, tot_flops / tot_ms[1] * 1e-6,
           tot_flops / tot_ms[2] * 1e-6, 2 * tot_flops / tot_ms[3] * 1e-6, tot_work / tot_cpu * 1e-9);
    vc_context_free(ctx);
}

int main(void) {
    const char *b = getenv("VC_CONV_BENCH");
    if (b && *b) {
        int batch = atoi(b) > 1 ? atoi(b) : 256;
        const char *v = getenv("VC_CONV_VARIANT");
        if (v) vc_conv2d_force_variant(!strcmp(v, "gpu") ? VC_CONV_GPU : VC_CONV_CPU);
        const char *c = getenv("VC_CONV_CHUNK_KB");
        if (c) vc_conv2d_set_chunk_bytes((size_t)atol(c) << 10);
        bench(batch);
        return 0;
    }
    clock_t t0 = clock();
    th_seed(42);
    /* B, C_in, H, W, C_out, KH, KW, stride, pad */
    static const VcConvShape fd[] = {
        {2, 3, 5, 7, 2, 3, 3, 2, 1}, {1, 1, 4, 4, 3, 1, 1, 1, 0}, {1, 2, 6, 5, 3, 5, 5, 1, 2}, {2, 2, 7, 6, 2, 3, 3, 1, 0},
    };
    for (size_t i = 0; i < sizeof fd / sizeof *fd; i++) check_finite_differences(&fd[i]);

    VcContext *ctx = th_gpu();
    static const VcConvShape shapes[] = {
        {1, 1, 7, 13, 5, 3, 3, 1, 1},   /* C_in 1, batch 1, odd image */
        {2, 3, 7, 13, 5, 3, 3, 2, 1},   /* stride 2 on odd sizes */
        {3, 3, 9, 11, 5, 5, 5, 1, 0},   /* 5x5, pad 0 */
        {2, 3, 9, 11, 5, 5, 5, 2, 2},   /* 5x5, stride 2, pad 2 */
        {2, 4, 8, 8, 6, 1, 1, 2, 0},    /* 1x1 stride 2 (shortcut) */
        {5, 6, 5, 5, 7, 1, 1, 1, 0},    /* 1x1 stride 1 */
        {2, 3, 11, 10, 4, 3, 2, 3, 1},  /* 3x2 kernel, stride 3 */
        {2, 3, 10, 11, 5, 1, 1, 3, 0},  /* 1x1 stride 3 */
        {3, 1, 28, 28, 32, 3, 3, 1, 1}, /* small-resnet stem */
        {2, 32, 28, 28, 64, 3, 3, 2, 1}, /* small-resnet block 1 conv1 */
        {2, 2, 9, 8, 64, 3, 3, 1, 1},   /* few input channels, two blocks of output channels (CPU: conv_direct) */
        /* 1x1 with Ho Wo % 4 = 0 (CPU: d_out read in place by the wgrad and conv_dgrad1x1;
         * the other 1x1 shapes above take its unaligned variant) */
        {1, 5, 9, 7, 6, 1, 1, 2, 0},    /* batch 1, odd sizes, C_in 5 */
        {2, 6, 7, 3, 9, 1, 1, 2, 0},    /* rows of 2 output pixels: a texel spans 2 rows */
        {2, 19, 8, 8, 8, 1, 1, 2, 0},   /* C_in 19: a partial tile of input channels */
        {2, 19, 4, 5, 7, 1, 1, 1, 0},   /* stride 1 */
        {2, 3, 5, 6, 4, 1, 1, 2, 1},    /* 1x1 with padding (CPU: NHWC4 copy + conv_igemm) */
        {1, 2, 9, 25, 3, 3, 11, 2, 2},  /* 11 wide, stride 2 (CPU wgrad: the rows form, KW > 9) */
    };
    const size_t n_shapes = sizeof shapes / sizeof *shapes;
    for (int v = 0; v < 2; v++) {
        VcConvVariant variant = v ? VC_CONV_GPU : VC_CONV_CPU;
        for (size_t i = 0; i < n_shapes; i++) {
            check_gpu(ctx, &shapes[i], variant, 0, 0, true, false);
            /* one image per chunk, in / d_in / d_out at unaligned offsets */
            check_gpu(ctx, &shapes[i], variant, 1, 12, i != 0, false);
            /* d_in = dgrad (d_in starts as random values: every pixel must be written) */
            check_gpu(ctx, &shapes[i], variant, 0, 0, true, true);
            check_gpu(ctx, &shapes[i], variant, 1, 12, true, true);
        }
    }
    /* CPU wgrad in chunks larger than the forward's (its copies are smaller: wgrad_chunk in
     * src/ops/conv.c), several of them, the last one shorter: a first layer (no d_in), one
     * image per forward chunk, wgrad chunks of 10, 10, 9; a 1x1, chunks of 2 vs 6, 6, 6, 6, 5 */
    VcConvShape stem29 = {29, 1, 28, 28, 32, 3, 3, 1, 1}, sc29 = {29, 4, 8, 8, 6, 1, 1, 2, 0};
    check_gpu(ctx, &stem29, VC_CONV_CPU, 250000, 0, false, false);
    check_gpu(ctx, &sc29, VC_CONV_CPU, 1536, 0, true, false);
    /* the shortcut shape of small-resnet, null d_in on the default variant */
    VcConvShape sc = {2, 32, 28, 28, 64, 1, 1, 2, 0};
    check_gpu(ctx, &sc, VC_CONV_AUTO, 0, 0, false, false);
    printf("worst nmse: forward %.3g, backward %.3g; %.1f s CPU\n", g_worst_fwd, g_worst_bwd, (double)(clock() - t0) / CLOCKS_PER_SEC);
    return th_finish();
}
