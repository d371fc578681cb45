/* test_gemm.c — every GEMM variant vs the double reference: all transposes, odd shapes,
 * batched with strides, bias, beta = 1 accumulation, operands at non-zero offsets. The
 * linear layer's backward built from it is checked by the golden test against PyTorch. */
#include <string.h>

#include "harness.h"
#include "ops/gemm.h"
#include "ref/gemm.h"

#define BOUND 1e-10 /* fp32 accumulation over K <= 257 of O(1) values */

static void run_case(VcContext *ctx, VcGemmVariant v, int M, int N, int K, bool ta, bool tb, int batch, bool use_bias, float beta) {
    int nb = batch > 1 ? batch : 1;
    size_t sa = (size_t)M * K + 4, sb = (size_t)K * N + 8, sc = (size_t)M * N + 64; /* strides with gaps */
    size_t na = sa * nb, nbuf = sb * nb, nc = sc * nb;
    float *a = vc_malloc(na * 4), *b = vc_malloc(nbuf * 4), *c = vc_malloc(nc * 4), *bias = vc_malloc((size_t)N * 4);
    double *want = vc_malloc(nc * sizeof(double));
    th_fill_uniform(a, na, -1, 1), th_fill_uniform(b, nbuf, -1, 1), th_fill_uniform(c, nc, -1, 1), th_fill_uniform(bias, N, -1, 1);
    for (size_t i = 0; i < nc; i++) want[i] = c[i];
    ref_gemm(M, N, K, ta, tb, nb, sa, sb, sc, 1.0, beta, a, b, want, use_bias ? bias : NULL);
    /* operands live 256 bytes into their buffers: slices at non-zero offsets */
    VcBuffer A, B, C, Bi;
    VC_ASSERT(vc_buffer_alloc(ctx, na * 4 + 256, "A", &A) == VC_OK && vc_buffer_alloc(ctx, nbuf * 4 + 256, "B", &B) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, nc * 4 + 256, "C", &C) == VC_OK && vc_buffer_alloc(ctx, (size_t)N * 4 + 256, "bias", &Bi) == VC_OK);
    VcBuffer a_s = vc_buffer_slice(A, 256, na * 4), b_s = vc_buffer_slice(B, 256, nbuf * 4), c_s = vc_buffer_slice(C, 256, nc * 4);
    VcBuffer bias_s = vc_buffer_slice(Bi, 256, (size_t)N * 4);
    vc_buffer_upload(ctx, a_s, 0, a, na * 4), vc_buffer_upload(ctx, b_s, 0, b, nbuf * 4);
    vc_buffer_upload(ctx, c_s, 0, c, nc * 4), vc_buffer_upload(ctx, bias_s, 0, bias, (size_t)N * 4);
    vc_gemm_force_variant(v);
    if (v == VC_GEMM_TEXEL && !vc_gemm_texel_ok(&(VcGemmShape){.M = M, .N = N, .K = K, .trans_a = ta, .trans_b = tb, .batch = batch,
                                                                .stride_a = sa, .stride_b = sb}, a_s, b_s))
        v = VC_GEMM_REG4; /* the texel kernel falls back: name what actually ran */
    VcGemmShape s = {.M = M, .N = N, .K = K, .trans_a = ta, .trans_b = tb, .batch = batch, .stride_a = sa, .stride_b = sb,
                     .stride_c = sc, .alpha = 1, .beta = beta};
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_gemm(cmd, &s, a_s, b_s, c_s, use_bias ? &bias_s : NULL);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);
    vc_gemm_force_variant(VC_GEMM_AUTO);
    vc_buffer_download(ctx, c_s, 0, c, nc * 4);
    /* compare only the C regions (gaps must be untouched: compare them exactly too) */
    float *gotf = vc_malloc(nc * 4), *wantf = vc_malloc(nc * 4);
    for (size_t i = 0; i < nc; i++) gotf[i] = c[i], wantf[i] = (float)want[i];
    char what[160];
    snprintf(what, sizeof what, "%s %dx%dx%d ta%d tb%d batch %d bias %d beta %g", vc_gemm_variant_name(v), M, N, K, ta, tb, batch,
             use_bias, beta);
    CHECK_NMSE(gotf, wantf, nc, BOUND, what);
    free(a), free(b), free(c), free(bias), free(want), free(gotf), free(wantf);
    vc_buffer_free(ctx, &A), vc_buffer_free(ctx, &B), vc_buffer_free(ctx, &C), vc_buffer_free(ctx, &Bi);
}

int main(void) {
    VcContext *ctx = th_gpu();
    th_seed(3);
    static const int shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {33, 65, 17}, {64, 64, 64}, {129, 31, 257}, {1, 128, 512},
                                    {7, 13, 4}, {33, 65, 20}, {129, 31, 256}};
    for (int v = VC_GEMM_SIMPLE; v < VC_GEMM_VARIANT_COUNT; v++)
        for (size_t i = 0; i < VC_COUNTOF(shapes); i++)
            for (int t = 0; t < 4; t++)
                run_case(ctx, (VcGemmVariant)v, shapes[i][0], shapes[i][1], shapes[i][2], t & 1, t >> 1, 1, i % 2 == 1,
                         i % 3 == 2 ? 1.0f : 0.0f);
    for (int v = VC_GEMM_SIMPLE; v < VC_GEMM_VARIANT_COUNT; v++) {
        run_case(ctx, (VcGemmVariant)v, 9, 11, 8, false, true, 3, true, 1.0f);
        run_case(ctx, (VcGemmVariant)v, 9, 11, 6, false, true, 3, true, 1.0f);
        run_case(ctx, (VcGemmVariant)v, 5, 4, 7, true, false, 3, false, 0.0f);
    }
    CHECK(vc_gemm_flops(&(VcGemmShape){.M = 2, .N = 3, .K = 4, .batch = 5}) == 240, "flop count 2*M*N*K*batch");
    return th_finish();
}
