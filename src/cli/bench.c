/* bench.c — `vkcontrast bench ops [--json] [--quick]`: GFLOP/s of our GEMM and of every conv
 * layer of small-resnet (batch 256, 28x28) next to OpenBLAS sgemm on the same shapes, in
 * the same run. Times are GPU timestamps (median of the timed repeats after a warm-up);
 * OpenBLAS is timed by the wall clock (median). Conv layers are compared with OpenBLAS
 * doing the same work as one GEMM (C_out x B*Ho*Wo x C_in*KH*KW; im2col not counted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ops/conv.h"
#include "ops/gemm.h"
#include "vk/vk.h"

#ifdef VC_HAVE_OPENBLAS
#include <cblas.h>
#endif

static int cmp_double(const void *a, const void *b) {
    double d = *(const double *)a - *(const double *)b;
    return (d > 0) - (d < 0);
}

static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return x[n / 2];
}

/* Median GPU ms of the recorded command over `reps` runs after one warm-up. */
static double time_cmd(VcCmd *cmd, int reps) {
    double t[32];
    vc_cmd_run(cmd);
    for (int r = 0; r < reps; r++) {
        vc_cmd_run(cmd);
        int n = 0;
        const VcTiming *tm = vc_cmd_timings(cmd, &n);
        double ms = 0;
        for (int i = 0; i < n; i++) ms += tm[i].ms;
        t[r] = ms;
    }
    return median(t, reps);
}

static double blas_ms(int M, int N, int K, int reps) {
#ifdef VC_HAVE_OPENBLAS
    float *a = calloc((size_t)M * K, 4), *b = calloc((size_t)K * N, 4), *c = calloc((size_t)M * N, 4);
    double t[32];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
    for (int r = 0; r < reps; r++) {
        double t0 = vc_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, a, K, b, K, 0.0f, c, N);
        t[r] = 1e3 * (vc_now() - t0);
    }
    free(a), free(b), free(c);
    return median(t, reps);
#else
    (void)M, (void)N, (void)K, (void)reps;
    return 0;
#endif
}

static void row(bool json, bool *first, const char *name, const char *pass, double flops, double ms, double blas) {
    double g = flops / (ms * 1e6), gb = blas > 0 ? flops / (blas * 1e6) : 0;
    if (json)
        printf("%s\n  {\"op\": \"%s\", \"pass\": \"%s\", \"gflops\": %.2f, \"openblas_gflops\": %.2f, \"ratio\": %.3f}", *first ? "" : ",",
               name, pass, g, gb, gb > 0 ? g / gb : 0);
    else
        printf("%-34s %-6s %9.1f %11.1f %8.3f\n", name, pass, g, gb, gb > 0 ? g / gb : 0);
    *first = false;
}

int cmd_bench(int argc, char **argv) {
    bool json = false, quick = false;
    if (argc >= 2 && !strcmp(argv[1], "peak")) return cmd_bench_peak(argc - 1, argv + 1); /* bench_peak.c */
    if (argc < 2 || strcmp(argv[1], "ops") != 0) return cmd_bench_train(argc, argv); /* bench_train.c */
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--quick")) quick = true;
        else return cli_fail("bench ops: unknown option '%s' (expected --json or --quick)", argv[i]);
    }
    VcContextOptions co = {.validation = -1, .pipeline_cache = 1};
    VcContext *ctx = vc_context_new(&co);
    if (!ctx) return cli_fail("bench: %s", vc_last_error());
    const VcDeviceInfo *info = vc_context_info(ctx);
    if (!info->timestamps) {
        vc_context_free(ctx);
        return cli_fail("bench: %s has no timestamp support on its compute queue", info->name);
    }
    int reps = quick ? 3 : 7, B = quick ? 32 : 256, G = quick ? 512 : 2048;
#ifdef VC_HAVE_OPENBLAS
    const char *peer = "OpenBLAS sgemm";
#else
    const char *peer = "none (built without OpenBLAS)";
#endif
    if (json) printf("{\"device\": \"%s\", \"peer\": \"%s\", \"results\": [", info->name, peer);
    else printf("device %s; peer %s (same machine, same run)\n%-34s %-6s %9s %11s %8s\n", info->name, peer, "op", "pass",
                "GFLOP/s", "peer GF/s", "ratio");
    bool first = true;
    size_t big = (size_t)64 << 20;
    VcBuffer x, w, y, work;
    if (vc_buffer_alloc(ctx, big, "bench x", &x) || vc_buffer_alloc(ctx, big, "bench w", &w) ||
        vc_buffer_alloc(ctx, big, "bench y", &y) || vc_buffer_alloc(ctx, big, "bench work", &work)) {
        vc_context_free(ctx);
        return cli_fail("bench: %s", vc_last_error());
    }
    /* GEMM at G^3, B stored (N, K) as a linear layer's weight */
    VcGemmShape gs = {.M = G, .N = G, .K = G, .trans_b = true, .alpha = 1};
    VcCmd *cmd = vc_cmd_new(ctx, true);
    vc_gemm(cmd, &gs, x, w, y, NULL);
    char name[96];
    snprintf(name, sizeof name, "gemm %dx%dx%d", G, G, G);
    row(json, &first, name, "fwd", vc_gemm_flops(&gs), time_cmd(cmd, reps), blas_ms(G, G, G, reps));
    vc_cmd_free(cmd);
    /* every conv layer of small-resnet at batch B (28x28 input) */
    static const struct { const char *name; int C_in, H, C_out, K, stride; } L[] = {
        {"stem 1->32 3x3 @28", 1, 28, 32, 3, 1},          {"blocks.0 32->32 3x3 @28", 32, 28, 32, 3, 1},
        {"blocks.1.conv1 32->64 3x3 s2", 32, 28, 64, 3, 2}, {"blocks.1.conv2 64->64 3x3 @14", 64, 14, 64, 3, 1},
        {"blocks.1.shortcut 32->64 1x1 s2", 32, 28, 64, 1, 2}, {"blocks.2.conv1 64->128 3x3 s2", 64, 14, 128, 3, 2},
        {"blocks.2.conv2 128->128 3x3 @7", 128, 7, 128, 3, 1}, {"blocks.2.shortcut 64->128 1x1 s2", 64, 14, 128, 1, 2}};
    for (size_t i = 0; i < VC_COUNTOF(L); i++) {
        VcConvShape s = {.B = B, .C_in = L[i].C_in, .H = L[i].H, .W = L[i].H, .C_out = L[i].C_out, .KH = L[i].K,
                         .KW = L[i].K, .stride = L[i].stride, .pad = L[i].K / 2};
        size_t need = vc_conv2d_workspace_bytes(ctx, &s);
        if (need > work.size) continue;
        int Ho = vc_conv_out_h(&s), Wo = vc_conv_out_w(&s);
        int M = s.C_out, N = s.B * Ho * Wo, K = s.C_in * s.KH * s.KW;
        double blas = blas_ms(M, N, K, reps);
        cmd = vc_cmd_new(ctx, true);
        vc_conv2d_forward(cmd, &s, y, x, w, work);
        row(json, &first, L[i].name, "fwd", vc_conv2d_flops(&s), time_cmd(cmd, reps), blas);
        vc_cmd_free(cmd);
        cmd = vc_cmd_new(ctx, true);
        vc_conv2d_backward(cmd, &s, i == 0 ? (VcBuffer){0} : x, w, y, x, w, work);
        row(json, &first, L[i].name, "bwd", (i == 0 ? 1 : 2) * vc_conv2d_flops(&s), time_cmd(cmd, reps), (i == 0 ? 1 : 2) * blas);
        vc_cmd_free(cmd);
    }
    if (json) printf("\n]}\n");
    vc_buffer_free(ctx, &x), vc_buffer_free(ctx, &w), vc_buffer_free(ctx, &y), vc_buffer_free(ctx, &work);
    vc_context_free(ctx);
    return 0;
}
