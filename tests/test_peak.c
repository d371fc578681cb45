/* test_peak.c — the peak shaders against their references and closed forms, and the FLOP
 * and byte counts that `profile` divides by: every dispatch of a GEMM or a conv layer
 * carries counts that add up to the textbook formulas. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "ops/conv.h"
#include "ops/gemm.h"
#include "ops/peak.h"
#include "ref/peak.h"
#include "vk/vk.h"

/* Run peak_fma for `groups` workgroups and compare every invocation's sum with the
 * reference and the closed form (exact in fp32 for these a, b: all values are multiples
 * of 2^-10 below 2^14). */
static void check_fma(VcContext *ctx, uint32_t groups, uint32_t iters, float a, float b) {
    uint32_t n = groups * VC_PEAK_FMA_WG;
    VcBuffer sums;
    VC_ASSERT(vc_buffer_alloc(ctx, (size_t)n * 4, "sums", &sums) == VC_OK);
    VcCmd *cmd = vc_cmd_new(ctx, true);
    vc_peak_fma(cmd, sums, groups, iters, a, b);
    vc_cmd_run(cmd);
    int nt = 0;
    const VcTiming *t = vc_cmd_timings(cmd, &nt);
    CHECK(nt == 1 && t[0].flops == (double)groups * 64 * iters * 64 && t[0].ms >= 0,
          "peak_fma: one dispatch counting 64 FLOPs per round per invocation (%d, %.0f)", nt, nt ? t[0].flops : 0);
    float *got = vc_malloc((size_t)n * 4);
    vc_buffer_download(ctx, sums, 0, got, (size_t)n * 4);
    int bad = 0;
    for (uint32_t g = 0; g < n; g++) {
        double closed = 0;
        for (int k = 0; k < 8; k++)
            for (int c = 0; c < 4; c++) closed += ref_peak_fma_closed(ref_peak_fma_start(g, k, c), iters, a, b);
        float ref = ref_peak_fma(g, iters, a, b);
        if (got[g] != ref || fabs(got[g] - closed) > 1e-6 * fabs(closed)) {
            if (bad++ < 3) printf("  invocation %u: got %.9g, reference %.9g, closed form %.9g\n", g, got[g], ref, closed);
        }
    }
    CHECK(bad == 0, "peak_fma %u groups x %u rounds, a=%g b=%g: %d of %u sums differ", groups, iters, a, b, bad, n);
    free(got);
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &sums);
}

static void check_copy(VcContext *ctx, uint32_t n, bool texel) {
    size_t bytes = ((size_t)n + 8) * 16;
    float *src = vc_malloc(bytes), *dst = vc_malloc(bytes);
    th_fill_uniform(src, bytes / 4, -3, 3);
    VcBuffer bs, bd;
    VC_ASSERT(vc_buffer_alloc(ctx, bytes, "src", &bs) == VC_OK && vc_buffer_alloc(ctx, bytes, "dst", &bd) == VC_OK);
    vc_buffer_upload(ctx, bs, 0, src, bytes);
    VcCmd *cmd = vc_cmd_new(ctx, true);
    vc_peak_copy(cmd, bd, bs, n, texel);
    vc_cmd_run(cmd);
    int nt = 0;
    const VcTiming *t = vc_cmd_timings(cmd, &nt);
    CHECK(nt == 1 && t[0].bytes == 32.0 * n, "peak_copy counts 32 bytes per vec4");
    vc_buffer_download(ctx, bd, 0, dst, bytes);
    CHECK(memcmp(dst, src, (size_t)n * 16) == 0, "peak_copy%s n=%u: dst equals src", texel ? "_texel" : "", n);
    bool untouched = true;
    for (size_t i = (size_t)n * 4; i < bytes / 4; i++) untouched &= dst[i] == 0;
    CHECK(untouched, "peak_copy n=%u writes nothing past n", n);
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &bs);
    vc_buffer_free(ctx, &bd);
    free(src);
    free(dst);
}

/* Sum the FLOP and byte counts of every dispatch recorded in cmd; FLOPs of dispatches that
 * add up split-K partial sums ("..._reduce") go to *reduce_flops instead. */
static void counts(VcCmd *cmd, double *flops, double *bytes, double *reduce_flops) {
    vc_cmd_run(cmd);
    int n = 0;
    const VcTiming *t = vc_cmd_timings(cmd, &n);
    *flops = *bytes = *reduce_flops = 0;
    for (int i = 0; i < n; i++) {
        if (strstr(t[i].label, "reduce")) *reduce_flops += t[i].flops;
        else *flops += t[i].flops;
        *bytes += t[i].bytes;
    }
}

static void check_gemm_counts(VcContext *ctx, int M, int N, int K, bool trans_b) {
    VcBuffer a, b, c;
    VC_ASSERT(vc_buffer_alloc(ctx, (size_t)M * K * 4, "A", &a) == VC_OK && vc_buffer_alloc(ctx, (size_t)K * N * 4, "B", &b) == VC_OK &&
              vc_buffer_alloc(ctx, (size_t)M * N * 4, "C", &c) == VC_OK);
    VcGemmShape s = {.M = M, .N = N, .K = K, .trans_b = trans_b, .alpha = 1};
    VcCmd *cmd = vc_cmd_new(ctx, true);
    vc_gemm(cmd, &s, a, b, c, NULL);
    double f, by, red;
    counts(cmd, &f, &by, &red);
    f += red;
    double want = 2.0 * M * N * K, min_bytes = 4.0 * ((double)M * K + (double)K * N + (double)M * N);
    CHECK(f == want && vc_gemm_flops(&s) == want, "gemm %dx%dx%d: %.0f FLOPs counted, 2MNK = %.0f", M, N, K, f, want);
    CHECK(by >= min_bytes && by <= 64 * min_bytes, "gemm %dx%dx%d: %.0f bytes counted, operands are %.0f", M, N, K, by, min_bytes);
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &a), vc_buffer_free(ctx, &b), vc_buffer_free(ctx, &c);
}

static void check_conv_counts(VcContext *ctx, VcConvShape s) {
    int Ho = vc_conv_out_h(&s), Wo = vc_conv_out_w(&s);
    size_t nin = (size_t)s.B * s.C_in * s.H * s.W, nw = (size_t)s.C_out * s.C_in * s.KH * s.KW,
           nout = (size_t)s.B * s.C_out * Ho * Wo, nwork = vc_conv2d_workspace_bytes(ctx, &s);
    VcBuffer in, w, out, work, d_in, d_w;
    VC_ASSERT(vc_buffer_alloc(ctx, nin * 4, "in", &in) == VC_OK && vc_buffer_alloc(ctx, nw * 4, "w", &w) == VC_OK &&
              vc_buffer_alloc(ctx, nout * 4, "out", &out) == VC_OK && vc_buffer_alloc(ctx, nwork + 16, "work", &work) == VC_OK &&
              vc_buffer_alloc(ctx, nin * 4, "d_in", &d_in) == VC_OK && vc_buffer_alloc(ctx, nw * 4, "d_w", &d_w) == VC_OK);
    double want = 2.0 * s.B * s.C_out * Ho * Wo * s.C_in * s.KH * s.KW;
    double min_bytes = 4.0 * (double)(nin + nw + nout);
    VcCmd *cmd = vc_cmd_new(ctx, true);
    vc_conv2d_forward(cmd, &s, out, in, w, work);
    double f, by, red;
    counts(cmd, &f, &by, &red);
    vc_cmd_free(cmd);
    CHECK(red == 0 && fabs(f - want) <= 1e-9 * want && vc_conv2d_flops(&s) == want,
          "conv fwd B%d %d->%d %dx%d k%d s%d: %.0f FLOPs counted, 2*B*Cout*Ho*Wo*Cin*KH*KW = %.0f", s.B, s.C_in, s.C_out, s.H,
          s.W, s.KH, s.stride, f, want);
    CHECK(by >= min_bytes, "conv fwd: %.0f bytes counted >= tensors %.0f", by, min_bytes);
    cmd = vc_cmd_new(ctx, true);
    vc_conv2d_backward(cmd, &s, d_in, d_w, out, in, w, work);
    counts(cmd, &f, &by, &red);
    vc_cmd_free(cmd);
    CHECK(fabs(f - 2 * want) <= 1e-9 * want, "conv bwd (data + weight grads): %.0f FLOPs counted, 2 x forward = %.0f", f, 2 * want);
    CHECK(red >= 0 && red <= 0.1 * want, "conv bwd: split-K reduction adds %.0f FLOPs (<= 10%% of forward)", red);
    CHECK(by >= min_bytes, "conv bwd: %.0f bytes counted >= tensors %.0f", by, min_bytes);
    VcBuffer *bufs[] = {&in, &w, &out, &work, &d_in, &d_w};
    for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(ctx, bufs[i]);
}

/* Timestamp arithmetic: bits above timestampValidBits ignored, one wrap-around handled. */
static void check_timestamp_ticks(void) {
    CHECK(vc_timestamp_ticks(100, 250, 64) == 150, "plain difference");
    CHECK(vc_timestamp_ticks((1ull << 36) - 10, 5, 36) == 15, "36 valid bits: wrap-around");
    CHECK(vc_timestamp_ticks(~0ull - 1, 3, 64) == 5, "64 valid bits: wrap-around");
    CHECK(vc_timestamp_ticks(0xABCull << 40 | 100, 0x123ull << 40 | 150, 36) == 50, "bits above the valid ones ignored");
}

/* vc_cmd_fill: the range gets the word, its neighbours keep their values; it is ordered
 * after the dispatch before it (a copy that dispatch wrote) and timed as "fill_buffer". */
static void check_cmd_fill(VcContext *ctx) {
    enum { N = 1000 };
    float host[N];
    for (int i = 0; i < N; i++) host[i] = (float)i;
    VcBuffer a, b;
    VC_ASSERT(vc_buffer_alloc(ctx, N * 4, "fill a", &a) == VC_OK && vc_buffer_alloc(ctx, N * 4, "fill b", &b) == VC_OK);
    vc_buffer_upload(ctx, a, 0, host, sizeof host);
    VcCmd *cmd = vc_cmd_new(ctx, true);
    vc_peak_copy(cmd, b, a, N / 4, false);                                  /* b = a */
    vc_cmd_fill(cmd, vc_buffer_slice(b, 40, 4 * 300), 4 * 300, 0x3f800000u); /* b[10..309] = 1.0f */
    vc_cmd_run(cmd);
    int nt = 0;
    const VcTiming *t = vc_cmd_timings(cmd, &nt);
    CHECK(nt == 2 && !strcmp(t[1].label, "fill_buffer") && t[1].bytes == 1200 && t[1].ms >= 0 && t[1].start_ms >= t[0].start_ms,
          "fill timed after the dispatch (%d entries)", nt);
    vc_buffer_download(ctx, b, 0, host, sizeof host);
    int bad = 0;
    for (int i = 0; i < N; i++) bad += host[i] != (i >= 10 && i < 310 ? 1.0f : (float)i);
    CHECK(bad == 0, "vc_cmd_fill wrote exactly its range after the copy (%d wrong)", bad);
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &a);
    vc_buffer_free(ctx, &b);
}

int main(void) {
    check_timestamp_ticks();
    VcContext *ctx = th_gpu();
    if (!ctx) {
        printf("SKIP: no Vulkan device\n");
        return 77;
    }
    th_seed(4);
    check_fma(ctx, 3, 1000, 1.0f, 1.0f / 1024);
    check_fma(ctx, 5, VC_PEAK_FMA_MAX_ITERS, 1.0f, 1.0f / 1024); /* the longest loop the host allows runs to the end */
    check_fma(ctx, 1, 3, 0.5f, 1.0f);
    check_cmd_fill(ctx);
    check_copy(ctx, 1000, false);
    check_copy(ctx, 1000, true);
    check_copy(ctx, 64 * 16 * 3 + 5, true);
    check_gemm_counts(ctx, 64, 64, 64, false);
    check_gemm_counts(ctx, 37, 129, 71, true);
    check_conv_counts(ctx, (VcConvShape){.B = 2, .C_in = 3, .H = 9, .W = 9, .C_out = 5, .KH = 3, .KW = 3, .stride = 1, .pad = 1});
    check_conv_counts(ctx, (VcConvShape){.B = 3, .C_in = 8, .H = 14, .W = 14, .C_out = 16, .KH = 3, .KW = 3, .stride = 2, .pad = 1});
    check_conv_counts(ctx, (VcConvShape){.B = 2, .C_in = 16, .H = 8, .W = 8, .C_out = 8, .KH = 1, .KW = 1, .stride = 2, .pad = 0});
    return th_finish();
}
