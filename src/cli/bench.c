/* bench.c — `vkcontrast bench ops [--json] [--quick] [--detail] [--only NAME]`: GFLOP/s of our
 * GEMM and of every conv layer of small-resnet (batch 256, 28x28) and resnet18 (batch 128,
 * 32x32) — forward, dgrad and wgrad
 * rows (the stem has no dgrad) — next to OpenBLAS sgemm on the same shapes, in the same run.
 * Times are GPU timestamps (median of the timed repeats after a warm-up); OpenBLAS is timed
 * by the wall clock (median). Conv layers are compared with OpenBLAS doing the same work as
 * one GEMM (C_out x B*Ho*Wo x C_in*KH*KW; im2col not counted). --detail prints every
 * dispatch of the last run; --only runs the rows whose name contains NAME. */
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

/* Passes a conv's dispatches belong to, by label ("conv_dgrad_*", "conv_wgrad_*"). */
enum { PASS_ALL, PASS_DGRAD, PASS_WGRAD, PASS_COUNT };
static int pass_of(const char *label) {
    if (strstr(label, "dgrad")) return PASS_DGRAD;
    if (strstr(label, "wgrad")) return PASS_WGRAD;
    return PASS_ALL;
}

/* Median GPU ms of the recorded command over `reps` runs after one warm-up, in total
 * (ms[PASS_ALL]) and for the dgrad and wgrad dispatches alone. `detail`: print every
 * dispatch of the last run. */
static void time_cmd(VcCmd *cmd, int reps, bool detail, double ms_out[PASS_COUNT]) {
    double t[PASS_COUNT][32];
    vc_cmd_run(cmd);
    int n = 0;
    for (int r = 0; r < reps; r++) {
        vc_cmd_run(cmd);
        const VcTiming *tm = vc_cmd_timings(cmd, &n);
        for (int p = 0; p < PASS_COUNT; p++) t[p][r] = 0;
        for (int i = 0; i < n; i++) {
            t[PASS_ALL][r] += tm[i].ms;
            if (pass_of(tm[i].label) != PASS_ALL) t[pass_of(tm[i].label)][r] += tm[i].ms;
        }
    }
    for (int p = 0; p < PASS_COUNT; p++) ms_out[p] = median(t[p], reps);
    if (detail) {
        const VcTiming *tm = vc_cmd_timings(cmd, &n);
        for (int i = 0; i < n; i++)
            printf("    %-28s %8.3f ms %8.1f GFLOP/s\n", tm[i].label, tm[i].ms, tm[i].flops / (tm[i].ms * 1e6));
    }
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
    bool json = false, quick = false, detail = false;
    const char *only = NULL;
    if (argc >= 2 && !strcmp(argv[1], "peak")) return cmd_bench_peak(argc - 1, argv + 1); /* bench_peak.c */
    if (argc < 2 || strcmp(argv[1], "ops") != 0) return cmd_bench_train(argc, argv); /* bench_train.c */
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--quick")) quick = true;
        else if (!strcmp(argv[i], "--detail")) detail = true;
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else return cli_fail("bench ops: unknown option '%s' (expected --json, --quick, --detail or --only NAME)", argv[i]);
    }
    detail = detail && !json;
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
    char name[96];
    snprintf(name, sizeof name, "gemm %dx%dx%d", G, G, G);
    double ms[PASS_COUNT];
    if (!only || strstr(name, only)) {
        VcCmd *cmd = vc_cmd_new(ctx, true);
        vc_gemm(cmd, &gs, x, w, y, NULL);
        time_cmd(cmd, reps, detail, ms);
        row(json, &first, name, "fwd", vc_gemm_flops(&gs), ms[PASS_ALL], blas_ms(G, G, G, reps));
        vc_cmd_free(cmd);
    }
    /* every conv layer shape of small-resnet at batch B (28x28 input), then of resnet18 (CIFAR
     * stem, 32x32 input) at batch B/2 (its activations at B would not fit the bench buffers) */
    static const struct { const char *name; int C_in, H, C_out, K, stride, resnet18; } L[] = {
        {"stem 1->32 3x3 @28", 1, 28, 32, 3, 1, 0},          {"blocks.0 32->32 3x3 @28", 32, 28, 32, 3, 1, 0},
        {"blocks.1.conv1 32->64 3x3 s2", 32, 28, 64, 3, 2, 0}, {"blocks.1.conv2 64->64 3x3 @14", 64, 14, 64, 3, 1, 0},
        {"blocks.1.shortcut 32->64 1x1 s2", 32, 28, 64, 1, 2, 0}, {"blocks.2.conv1 64->128 3x3 s2", 64, 14, 128, 3, 2, 0},
        {"blocks.2.conv2 128->128 3x3 @7", 128, 7, 128, 3, 1, 0}, {"blocks.2.shortcut 64->128 1x1 s2", 64, 14, 128, 1, 2, 0},
        {"r18 conv1 3->64 3x3 @32", 3, 32, 64, 3, 1, 1},       {"r18 layer1 64->64 3x3 @32", 64, 32, 64, 3, 1, 1},
        {"r18 layer2.0.conv1 64->128 s2", 64, 32, 128, 3, 2, 1}, {"r18 layer2 128->128 3x3 @16", 128, 16, 128, 3, 1, 1},
        {"r18 layer2.0.downsample 1x1 s2", 64, 32, 128, 1, 2, 1}, {"r18 layer3.0.conv1 128->256 s2", 128, 16, 256, 3, 2, 1},
        {"r18 layer3 256->256 3x3 @8", 256, 8, 256, 3, 1, 1},   {"r18 layer3.0.downsample 1x1 s2", 128, 16, 256, 1, 2, 1},
        {"r18 layer4.0.conv1 256->512 s2", 256, 8, 512, 3, 2, 1}, {"r18 layer4 512->512 3x3 @4", 512, 4, 512, 3, 1, 1},
        {"r18 layer4.0.downsample 1x1 s2", 256, 8, 512, 1, 2, 1}};
    for (size_t i = 0; i < VC_COUNTOF(L); i++) {
        VcConvShape s = {.B = L[i].resnet18 ? B / 2 : B, .C_in = L[i].C_in, .H = L[i].H, .W = L[i].H, .C_out = L[i].C_out,
                         .KH = L[i].K, .KW = L[i].K, .stride = L[i].stride, .pad = L[i].K / 2};
        size_t need = vc_conv2d_workspace_bytes(ctx, &s);
        if (only && !strstr(L[i].name, only)) continue;
        if (need > work.size) {
            if (!json) printf("%-34s skipped: needs %zu MiB of workspace\n", L[i].name, need >> 20);
            continue;
        }
        int Ho = vc_conv_out_h(&s), Wo = vc_conv_out_w(&s);
        int M = s.C_out, N = s.B * Ho * Wo, K = s.C_in * s.KH * s.KW;
        double blas = blas_ms(M, N, K, reps), flops = vc_conv2d_flops(&s);
        VcCmd *cmd = vc_cmd_new(ctx, true);
        vc_conv2d_forward(cmd, &s, y, x, w, work);
        time_cmd(cmd, reps, detail, ms);
        row(json, &first, L[i].name, "fwd", flops, ms[PASS_ALL], blas);
        vc_cmd_free(cmd);
        /* backward: dgrad and wgrad rows (a first layer has no dgrad), each the same work as
         * the forward; the wgrad's final fold of its partial sums is counted in the wgrad.
         * d_in as the network writes it (src/nn/net.c): a 3x3 conv gives its input the first
         * gradient (d_in =), a 1x1 shortcut adds to it (+=) */
        bool dgrad = i != 0 && i != 8;
        cmd = vc_cmd_new(ctx, true);
        (L[i].K == 3 ? vc_conv2d_backward_set : vc_conv2d_backward)(cmd, &s, dgrad ? x : (VcBuffer){0}, w, y, x, w, work);
        time_cmd(cmd, reps, detail, ms);
        if (dgrad) row(json, &first, L[i].name, "dgrad", flops, ms[PASS_DGRAD], blas);
        row(json, &first, L[i].name, "wgrad", flops, ms[PASS_WGRAD], blas);
        vc_cmd_free(cmd);
    }
    if (json) printf("\n]}\n");
    vc_buffer_free(ctx, &x), vc_buffer_free(ctx, &w), vc_buffer_free(ctx, &y), vc_buffer_free(ctx, &work);
    vc_context_free(ctx);
    return 0;
}
