/* bench.c — `vkcontrast bench ops [--json] [--quick]`: GFLOP/s of the GEMM kernels on the
 * shapes training uses, next to OpenBLAS sgemm on the same shapes in the same run.
 *
 * Shapes: square GEMMs (2048^3, 1024^3) and the im2col GEMM of every conv layer of
 * small-resnet at batch 256 on 28x28 inputs (M = C_out, N = B*Ho*Wo, K = C_in*KH*KW).
 * vkcontrast is timed with GPU timestamps (vc_cmd_timings: the sum of the call's
 * dispatches, or wall clock around vc_cmd_run on devices without timestamps); OpenBLAS
 * with the wall clock around cblas_sgemm. Both report the median of several runs after
 * one warm-up run (which also compiles the pipeline). Ratios, not absolute numbers, are
 * the point (STYLE.md): other programs running on the machine move both sides.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ops/conv.h"
#include "ops/gemm.h"
#include "vk/vk.h"

#ifdef VC_HAVE_OPENBLAS
#include <cblas.h>
#endif

typedef struct BenchOpts {
    bool json, quick;
    int runs;
    VcGemmVariant variant;
} BenchOpts;

typedef struct BenchRow {
    char name[64];
    VcGemmShape shape;
    const char *kernel;
    double gflops, blas_gflops; /* blas 0: not measured */
} BenchRow;

/* s as a JSON string literal (names and driver strings may hold quotes) */
static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

static void fill_random(float *x, size_t n, uint32_t seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u; /* LCG: values in [-1, 1) */
        x[i] = (float)(seed >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
}

/* Seconds of one vc_gemm, median over opt->runs after a warm-up. */
static double time_vkcontrast(VcContext *ctx, const VcGemmShape *s, VcBuffer a, VcBuffer b, VcBuffer c, const BenchOpts *opt) {
    bool stamps = vc_context_info(ctx)->timestamps;
    VcCmd *cmd = vc_cmd_new(ctx, stamps);
    vc_gemm(cmd, s, a, b, c, NULL);
    vc_cmd_end(cmd);
    vc_cmd_run(cmd); /* warm-up: lavapipe compiles the shader at its first dispatch */
    double t[32];
    for (int r = 0; r < opt->runs; r++) {
        double t0 = now_s();
        vc_cmd_run(cmd);
        t[r] = now_s() - t0;
        int n = 0;
        const VcTiming *tm = vc_cmd_timings(cmd, &n);
        if (tm) {
            double ms = 0;
            for (int i = 0; i < n; i++) ms += tm[i].ms;
            t[r] = ms * 1e-3;
        }
    }
    vc_cmd_free(cmd);
    return median(t, opt->runs);
}

#ifdef VC_HAVE_OPENBLAS
static double time_openblas(const VcGemmShape *s, const float *a, const float *b, float *c, const BenchOpts *opt) {
    int lda = s->trans_a ? s->M : s->K, ldb = s->trans_b ? s->K : s->N;
    double t[32];
    for (int r = -1; r < opt->runs; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, s->trans_a ? CblasTrans : CblasNoTrans, s->trans_b ? CblasTrans : CblasNoTrans, s->M, s->N,
                    s->K, 1.0f, a, lda, b, ldb, 0.0f, c, s->N);
        if (r >= 0) t[r] = now_s() - t0;
    }
    return median(t, opt->runs);
}
#endif

/* Measure one GEMM shape on both sides. Returns VC_OK, or an error with a message. */
static int bench_gemm(VcContext *ctx, const char *name, const VcGemmShape *s, const BenchOpts *opt, BenchRow *row) {
    size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
    *row = (BenchRow){.shape = *s};
    snprintf(row->name, sizeof row->name, "%s", name);
    float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4);
    VcBuffer ba = {0}, bb = {0}, bc = {0};
    int st = VC_OK;
    if (!a || !b || !c) {
        vc_set_error("bench %s: out of host memory for %.0f MB of operands", name, 4e-6 * (double)(na + nb + nc));
        st = VC_ERR_OOM;
        goto done;
    }
    fill_random(a, na, 1), fill_random(b, nb, 2);
    if ((st = vc_buffer_alloc(ctx, na * 4, "bench A", &ba)) || (st = vc_buffer_alloc(ctx, nb * 4, "bench B", &bb)) ||
        (st = vc_buffer_alloc(ctx, nc * 4, "bench C", &bc)))
        goto done;
    vc_buffer_upload(ctx, ba, 0, a, na * 4);
    vc_buffer_upload(ctx, bb, 0, b, nb * 4);
    row->kernel = vc_gemm_kernel(ctx, s, ba, bb);
    row->gflops = vc_gemm_flops(s) / time_vkcontrast(ctx, s, ba, bb, bc, opt) * 1e-9;
#ifdef VC_HAVE_OPENBLAS
    row->blas_gflops = vc_gemm_flops(s) / time_openblas(s, a, b, c, opt) * 1e-9;
#endif
done:
    vc_buffer_free(ctx, &ba), vc_buffer_free(ctx, &bb), vc_buffer_free(ctx, &bc);
    free(a), free(b), free(c);
    return st;
}

static void print_row(const BenchRow *r, const BenchOpts *opt, bool first) {
    const VcGemmShape *s = &r->shape;
    char layout[3] = {s->trans_a ? 'T' : 'N', s->trans_b ? 'T' : 'N', 0};
    if (opt->json) {
        printf("%s\n    {\"name\": \"%s\", \"M\": %d, \"N\": %d, \"K\": %d, \"layout\": \"%s\", \"kernel\": \"%s\", "
               "\"gflops\": %.2f, ",
               first ? "" : ",", r->name, s->M, s->N, s->K, layout, r->kernel, r->gflops);
        if (r->blas_gflops > 0) printf("\"openblas_gflops\": %.2f, \"ratio\": %.3f}", r->blas_gflops, r->gflops / r->blas_gflops);
        else printf("\"openblas_gflops\": null, \"ratio\": null}");
        return;
    }
    char shape[40];
    snprintf(shape, sizeof shape, "%dx%dx%d %s", s->M, s->N, s->K, layout);
    printf("%-30s %-22s %-14s %9.1f", r->name, shape, r->kernel, r->gflops);
    if (r->blas_gflops > 0) printf(" %9.1f %7.2f\n", r->blas_gflops, r->gflops / r->blas_gflops);
    else printf(" %9s %7s\n", "-", "-");
    fflush(stdout);
}

/* ---- conv layers -------------------------------------------------------------------
 * CONV ENGINEER: this is where vc_conv2d_forward / vc_conv2d_backward get timed, next to
 * OpenBLAS on the same GEMM (the im2col view of the layer), once the conv kernels land.
 * Until then each layer is timed as its im2col GEMM through vc_gemm:
 *   weights (C_out, C_in*KH*KW) as A (M, K)  x  im2col (C_in*KH*KW, B*Ho*Wo) as B (K, N),
 * i.e. M = C_out, N = B*Ho*Wo, K = C_in*KH*KW, no transposes. */
static int bench_conv_layers(VcContext *ctx, const char *const *names, const VcConvShape *layers, int count,
                             const BenchOpts *opt, BenchRow *rows, int *nrows) {
    for (int i = 0; i < count; i++) {
        const VcConvShape *c = &layers[i];
        VcGemmShape s = {.M = c->C_out, .N = c->B * vc_conv_out_h(c) * vc_conv_out_w(c), .K = c->C_in * c->KH * c->KW};
        char name[64];
        snprintf(name, sizeof name, "conv %s", names[i]);
        int st = bench_gemm(ctx, name, &s, opt, &rows[*nrows]);
        if (st != VC_OK) return st;
        print_row(&rows[*nrows], opt, *nrows == 0);
        (*nrows)++;
    }
    return VC_OK;
}

/* The conv layers of small-resnet (DESIGN.md, Models) for 28x28 inputs with C_in = 1. */
static int small_resnet_layers(int B, const char **names, VcConvShape *l) {
    int n = 0;
#define LAYER(nm, ci, h, co, k, st, pd) (names[n] = nm, l[n++] = (VcConvShape){B, ci, h, h, co, k, k, st, pd})
    LAYER("stem 1->32 @28", 1, 28, 32, 3, 1, 1);
    LAYER("b0.conv1 32->32 @28", 32, 28, 32, 3, 1, 1);
    LAYER("b0.conv2 32->32 @28", 32, 28, 32, 3, 1, 1);
    LAYER("b1.conv1 32->64 s2 @28", 32, 28, 64, 3, 2, 1);
    LAYER("b1.conv2 64->64 @14", 64, 14, 64, 3, 1, 1);
    LAYER("b1.shortcut 32->64 s2", 32, 28, 64, 1, 2, 0);
    LAYER("b2.conv1 64->128 s2 @14", 64, 14, 128, 3, 2, 1);
    LAYER("b2.conv2 128->128 @7", 128, 7, 128, 3, 1, 1);
    LAYER("b2.shortcut 64->128 s2", 64, 14, 128, 1, 2, 0);
#undef LAYER
    return n;
}

static int bench_ops(int argc, char **argv) {
    BenchOpts opt = {.runs = 5, .variant = VC_GEMM_AUTO};
    const char *device = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) opt.json = true;
        else if (!strcmp(argv[i], "--quick")) opt.quick = true;
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
        else if (!strcmp(argv[i], "--variant") && i + 1 < argc) {
            const char *v = argv[++i];
            int found = -1;
            for (int k = 0; k < VC_GEMM_VARIANT_COUNT; k++)
                if (!strcmp(v, vc_gemm_variant_name((VcGemmVariant)k))) found = k;
            if (found < 0) return cli_fail("bench ops: unknown --variant '%s' (auto, simple, texel, tiled)", v);
            opt.variant = (VcGemmVariant)found;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: vkcontrast bench ops [--json] [--quick] [--device N|NAME] [--variant auto|simple|texel|tiled]\n"
                   "GFLOP/s of the GEMM kernels (2048^3, 1024^3 and the im2col GEMM of each small-resnet conv layer\n"
                   "at batch 256, 28x28) next to OpenBLAS sgemm on the same shapes, measured in the same run.\n"
                   "--quick: 1024^3 only among the squares, batch 64 for the conv layers, 3 runs per shape.\n");
            return 0;
        } else return cli_fail("bench ops: unknown option '%s' (try --help)", argv[i]);
    }
    if (opt.quick) opt.runs = 3;
    VcContextOptions co = {.device = device, .validation = -1, .pipeline_cache = 1};
    VcContext *ctx = vc_context_new(&co);
    if (!ctx) return cli_fail("bench ops: cannot open a Vulkan device: %s", vc_last_error());
    vc_gemm_force_variant(opt.variant);
    const VcDeviceInfo *info = vc_context_info(ctx);
    const char *timing = info->timestamps ? "GPU timestamps" : "wall clock around vc_cmd_run";
    char blas[300] = "not built with OpenBLAS";
#ifdef VC_HAVE_OPENBLAS
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    openblas_set_num_threads(cpus > 0 ? (int)cpus : 1);
    snprintf(blas, sizeof blas, "%s, core %s, %d threads", openblas_get_config(), openblas_get_corename(), openblas_get_num_threads());
#endif
    int batch = opt.quick ? 64 : 256;
    if (opt.json) {
        printf("{\"device\": "), json_str(info->name);
        printf(", \"device_type\": \"%s\", \"driver\": ", info->type), json_str(info->driver);
        printf(", \"variant\": \"%s\", \"openblas\": ", vc_gemm_variant_name(opt.variant)), json_str(blas);
        printf(",\n \"timing\": \"%s\", \"runs\": %d, \"conv_batch\": %d, \"results\": [", timing, opt.runs, batch);
    } else {
        printf("vkcontrast bench ops\n  device:   %s (%s, %s)\n  peer:     OpenBLAS sgemm: %s\n", info->name, info->type,
               info->driver, blas);
        printf("  timing:   vkcontrast %s, OpenBLAS wall clock; median of %d runs after a warm-up\n", timing, opt.runs);
        printf("  variant:  %s; conv layers of small-resnet at batch %d, 28x28, as im2col GEMMs\n\n", vc_gemm_variant_name(opt.variant),
               batch);
        printf("%-30s %-22s %-14s %9s %9s %7s\n", "op", "MxNxK layout", "kernel", "GFLOP/s", "OpenBLAS", "ratio");
    }

    BenchRow rows[32];
    int nrows = 0, st = VC_OK;
    int squares[] = {2048, 1024};
    for (int i = opt.quick ? 1 : 0; i < 2 && st == VC_OK; i++) {
        int n = squares[i];
        VcGemmShape s = {.M = n, .N = n, .K = n, .trans_b = true};
        char name[64];
        snprintf(name, sizeof name, "gemm %d^3", n);
        if ((st = bench_gemm(ctx, name, &s, &opt, &rows[nrows])) == VC_OK) print_row(&rows[nrows], &opt, nrows == 0), nrows++;
    }
    if (st == VC_OK) {
        const char *names[16];
        VcConvShape layers[16];
        int n = small_resnet_layers(batch, names, layers);
        st = bench_conv_layers(ctx, names, layers, n, &opt, rows, &nrows);
    }
    if (opt.json) printf("\n]}\n");
    vc_context_free(ctx);
    if (st != VC_OK) return cli_fail("bench ops: %s", vc_last_error());
    return 0;
}

int cmd_bench(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "ops")) return bench_ops(argc - 2, argv + 2);
    return cli_fail("bench: only `vkcontrast bench ops [--json] [--quick]` exists so far (training benchmarks come with train)");
}
