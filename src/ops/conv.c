/* conv.c — host side of the 2-D convolution: im2col + GEMM, in chunks of images.
 *
 * Every pass is a GEMM whose two operands are stored along the reduction dimension (the
 * fast layout on lavapipe, and a fine one on GPUs), prepared in the `work` buffer:
 *
 *   forward  out[b][co][p]  = sum_k  Wp[co][k]   * col[n][k]      n = (b, p), k = (ci, ky, kx)
 *   dgrad    dcol[n][k]     = sum_co dT[n][co]   * WT[k][co];     d_in += col2im(dcol)
 *   wgrad    part[z][co][k] = sum_n  dP[co][n]   * colT[k][n]     (n in split z); d_w += sum_z part
 *
 * The batch is processed in chunks of `nb` images so that the unfolded matrices stay a
 * bounded size (cache-sized on CPUs) and every bound range stays under the device's
 * maxStorageBufferRange; wgrad accumulates its partial sums across chunks and folds them
 * once at the end (no float atomics). Rows are padded to 4 floats (one RGBA32F texel).
 *
 * Shaders: conv_pack (strided gather into padded rows), conv_im2col_{nk,kn},
 * conv_gemm_{cpu,gpu}, conv_col2im, conv_reduce. Shapes: B = batch, C = channels,
 * H/W = input size, Ho/Wo = output size, K = C_in * KH * KW.
 */
#include "ops/conv.h"

#include "ops/op.h"

/* ---- tunables (measured on lavapipe, 2 cores; see the report in the op-conv branch) ---- */
#define CPU_TM 4          /* register tile of one invocation of conv_gemm_cpu: TM x TN */
#define CPU_TN 4
#define CPU_GEMM_WG 64    /* invocations per workgroup of conv_gemm_cpu */
#define IM2COL_SEG 4      /* vec4s written per im2col invocation */
#define CPU_CHUNK_BYTES ((size_t)8 << 20)  /* unfolded matrix per chunk: stays in cache */
#define GPU_CHUNK_BYTES ((size_t)64 << 20) /* big enough to fill a GPU */
#define CPU_MIN_GROUPS 16 /* wgrad: split the reduction until this many workgroups run */
#define GPU_MIN_GROUPS 128
#define NODIV (1u << 30)  /* a divisor larger than any index: (n / NODIV) == 0 */
#define ALIGN 256         /* sub-buffer offsets: >= every device's texel/storage alignment */

static VcConvVariant g_variant = VC_CONV_AUTO;
static size_t g_chunk_bytes; /* 0: the device-class default */
void vc_conv2d_force_variant(VcConvVariant v) { g_variant = v; }
void vc_conv2d_set_chunk_bytes(size_t bytes) { g_chunk_bytes = bytes; }

static bool use_cpu_kernels(VcContext *ctx) {
    return g_variant == VC_CONV_CPU || (g_variant == VC_CONV_AUTO && vc_context_is_cpu(ctx));
}

double vc_conv2d_flops(const VcConvShape *s) {
    return 2.0 * s->B * s->C_out * vc_conv_out_h(s) * vc_conv_out_w(s) * (double)s->C_in * s->KH * s->KW;
}

/* ---- planning: chunk size and workspace layout, identical for every call on a shape ---- */
typedef struct Plan {
    uint32_t Ho, Wo, HWo;  /* output size */
    uint32_t K, Kp, Cop;   /* reduction length of the forward, padded to 4; C_out padded to 4 */
    uint32_t nb, chunks;   /* images per chunk, number of chunks */
    uint32_t splits;       /* wgrad partial sums */
    size_t in_img, out_img; /* floats per image of in and out */
    size_t off_w, off_x, off_y, off_part, total; /* workspace regions (bytes from the aligned base) */
} Plan;

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }

/* Workgroups of one wgrad GEMM split (C_out x K outputs). */
static uint32_t wgrad_groups(const VcConvShape *s, uint32_t K, bool cpu) {
    if (cpu) {
        size_t tiles = (size_t)((s->C_out + CPU_TM - 1) / CPU_TM) * ((K + CPU_TN - 1) / CPU_TN);
        return (uint32_t)((tiles + CPU_GEMM_WG - 1) / CPU_GEMM_WG);
    }
    return (uint32_t)(((s->C_out + 63) / 64) * ((K + 63) / 64));
}

static Plan make_plan(VcContext *ctx, const VcConvShape *s) {
    VC_ASSERT(s->B > 0 && s->C_in > 0 && s->C_out > 0 && s->KH > 0 && s->KW > 0 && s->stride > 0 && s->pad >= 0);
    VC_ASSERT(vc_conv_out_h(s) > 0 && vc_conv_out_w(s) > 0);
    const VcDeviceInfo *info = vc_context_info(ctx);
    bool cpu_dev = vc_context_is_cpu(ctx);
    Plan p = {0};
    p.Ho = (uint32_t)vc_conv_out_h(s);
    p.Wo = (uint32_t)vc_conv_out_w(s);
    p.HWo = p.Ho * p.Wo;
    p.K = (uint32_t)(s->C_in * s->KH * s->KW);
    p.Kp = (uint32_t)round_up(p.K, 4);
    p.Cop = (uint32_t)round_up((size_t)s->C_out, 4);
    p.in_img = (size_t)s->C_in * s->H * s->W;
    p.out_img = (size_t)s->C_out * p.HWo;

    /* images per chunk: the unfolded matrix (the largest region) near the chunk budget */
    size_t col_img = (size_t)p.HWo * VC_MAX(p.Kp, (size_t)s->C_out) * 4 + 16 * (size_t)p.K;
    size_t budget = g_chunk_bytes ? g_chunk_bytes : cpu_dev ? CPU_CHUNK_BYTES : GPU_CHUNK_BYTES;
    size_t range = info->max_storage_buffer_range;
    size_t nb = VC_MAX((size_t)1, budget / col_img);
    nb = VC_MIN(nb, (size_t)s->B);
    nb = VC_MIN(nb, (range - ALIGN) / (p.in_img * 4)); /* chunk ranges of in / out must be bindable */
    nb = VC_MIN(nb, (range - ALIGN) / (p.out_img * 4));
    VC_ASSERT(nb >= 1 && "one image of this convolution is larger than maxStorageBufferRange");
    p.nb = (uint32_t)nb;
    p.chunks = (uint32_t)((s->B + nb - 1) / nb);

    size_t N = nb * p.HWo, Np = round_up(N, 4);
    bool cpu = use_cpu_kernels(ctx);
    uint32_t groups = wgrad_groups(s, p.K, cpu), want = cpu ? CPU_MIN_GROUPS : GPU_MIN_GROUPS;
    p.splits = groups >= want ? 1 : (want + groups - 1) / groups;
    p.splits = (uint32_t)VC_MIN((size_t)p.splits, VC_MAX((size_t)1, Np / 4 / 16)); /* >= 16 vec4s each */

    size_t w_bytes = VC_MAX((size_t)s->C_out * p.Kp, (size_t)p.K * p.Cop) * 4;
    size_t x_bytes = VC_MAX(VC_MAX(N * p.Kp, N * p.K), (size_t)p.K * Np) * 4;
    size_t y_bytes = VC_MAX(N * p.Cop, (size_t)s->C_out * Np) * 4;
    size_t part_bytes = (size_t)p.splits * s->C_out * p.K * 4;
    VC_ASSERT(x_bytes <= range && y_bytes <= range && w_bytes <= range && part_bytes <= range);
    p.off_w = 0;
    p.off_x = round_up(p.off_w + w_bytes, ALIGN);
    p.off_y = round_up(p.off_x + x_bytes, ALIGN);
    p.off_part = round_up(p.off_y + y_bytes, ALIGN);
    p.total = round_up(p.off_part + part_bytes, ALIGN);
    return p;
}

size_t vc_conv2d_workspace_bytes(VcContext *ctx, const VcConvShape *s) {
    return make_plan(ctx, s).total + ALIGN; /* + ALIGN: the base is aligned up inside `work` */
}

/* Region [off, off + bytes) of the workspace, from its first ALIGN-aligned byte. */
static VcBuffer region(VcBuffer work, size_t off, size_t bytes) {
    size_t base = (size_t)(round_up(work.offset, ALIGN) - work.offset);
    VC_ASSERT(base + off + bytes <= work.size && "conv workspace smaller than vc_conv2d_workspace_bytes()");
    return vc_buffer_slice(work, base + off, round_up(bytes, 16));
}

/* ---- the passes ---- */
typedef struct PackPush {
    uint32_t rows, cols, cols4, rdiv, r_hi, r_lo, cdiv, c_hi, c_lo, total, src_off;
} PackPush;
_Static_assert(sizeof(PackPush) <= 128, "push constants");

/* dst[r][c] = src[src_off + (r / rdiv) * r_hi + (r % rdiv) * r_lo + (c / cdiv) * c_hi + (c % cdiv) * c_lo] */
static void pack(VcCmd *cmd, const char *label, VcBuffer src, VcBuffer dst, PackPush pc) {
    pc.total = pc.rows * pc.cols4;
    VC_ASSERT((size_t)pc.total * 16 <= dst.size);
    VcBuffer bufs[2] = {src, dst};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "conv_pack", "ss", sizeof pc);
    vc_dispatch_1d(cmd, p, bufs, 2, &pc, pc.total, label, 0, 4.0 * pc.rows * pc.cols + 16.0 * pc.total);
}

typedef struct Im2colPush {
    uint32_t n_pix, C_in, H, W, KH, KW, stride, pad, Ho, Wo, K, ld4, segs, total, x_off;
} Im2colPush;
_Static_assert(sizeof(Im2colPush) <= 128, "push constants");

/* Unfold nbc images of `in` (from element x_off) into col (n-major: [n][Kp]) or colT (k-major: [k][Np]). */
static void im2col(VcCmd *cmd, const VcConvShape *s, const Plan *pl, uint32_t nbc, VcBuffer in, uint32_t x_off,
                   VcBuffer col, bool k_major, const char *label) {
    uint32_t n_pix = nbc * pl->HWo;
    uint32_t rows = k_major ? pl->K : n_pix;
    uint32_t ld4 = k_major ? (uint32_t)round_up(n_pix, 4) / 4 : pl->Kp / 4;
    uint32_t segs = (ld4 + IM2COL_SEG - 1) / IM2COL_SEG;
    Im2colPush pc = {n_pix, (uint32_t)s->C_in, (uint32_t)s->H, (uint32_t)s->W, (uint32_t)s->KH, (uint32_t)s->KW,
                     (uint32_t)s->stride, (uint32_t)s->pad, pl->Ho, pl->Wo, pl->K, ld4, segs, rows * segs, x_off};
    VC_ASSERT((size_t)rows * ld4 * 16 <= col.size);
    VcPipelineDesc d = {.shader = k_major ? "conv_im2col_kn" : "conv_im2col_nk", .bindings = "ss",
                        .push_size = sizeof pc, .spec = {VC_WG_1D, IM2COL_SEG}, .spec_count = 2};
    VcBuffer bufs[2] = {in, col};
    vc_dispatch_1d(cmd, vc_pipeline_get(vc_cmd_context(cmd), &d), bufs, 2, &pc, pc.total, label, 0,
                   16.0 * rows * ld4 + 4.0 * nbc * pl->in_img);
}

typedef struct GemmPush {
    uint32_t M, N, K4, k4_split, lda4, ldb4, c_m, ndiv, c_hi, c_lo, c_z, accumulate, c_off;
} GemmPush;
_Static_assert(sizeof(GemmPush) <= 128, "push constants");

/* C[z][m, n] (+)= sum over split z of A[m][k] B[n][k]; A, B rows of lda4 / ldb4 vec4s. */
static void gemm(VcCmd *cmd, const char *label, VcBuffer a, VcBuffer b, VcBuffer c, GemmPush pc, uint32_t splits,
                 double flops) {
    VcContext *ctx = vc_cmd_context(cmd);
    pc.k4_split = (pc.K4 + splits - 1) / splits;
    VC_ASSERT((size_t)pc.M * pc.lda4 * 16 <= a.size && (size_t)pc.N * pc.ldb4 * 16 <= b.size);
    VcBuffer bufs[3] = {a, b, c};
    double bytes = 16.0 * ((double)pc.M * pc.lda4 + (double)pc.N * pc.ldb4) + 4.0 * pc.M * pc.N * splits * (1 + pc.accumulate);
    uint32_t gx, gy;
    if (use_cpu_kernels(ctx)) {
        VcPipelineDesc d = {.shader = "conv_gemm_cpu", .bindings = "tts", .push_size = sizeof pc,
                            .spec = {CPU_GEMM_WG, CPU_TM, CPU_TN}, .spec_count = 3};
        size_t tiles = (size_t)((pc.M + CPU_TM - 1) / CPU_TM) * ((pc.N + CPU_TN - 1) / CPU_TN);
        vc_grid_1d(tiles, CPU_GEMM_WG, &gx, &gy);
        vc_dispatch(cmd, vc_pipeline_get(ctx, &d), bufs, 3, &pc, gx, gy, splits, label, flops, bytes);
    } else {
        VcPipelineDesc d = {.shader = "conv_gemm_gpu", .bindings = "sss", .push_size = sizeof pc, .spec = {256}, .spec_count = 1};
        size_t tiles = (size_t)((pc.M + 63) / 64) * ((pc.N + 63) / 64); /* one workgroup per 64 x 64 tile */
        vc_grid_1d(tiles, 1, &gx, &gy);
        vc_dispatch(cmd, vc_pipeline_get(ctx, &d), bufs, 3, &pc, gx, gy, splits, label, flops, bytes);
    }
}

/* A bindable range holding images [b0, b0 + n) of a (B, per_img) tensor: its start is
 * aligned down to ALIGN (storage offsets must be aligned), and *elem_off is where image b0
 * begins inside it, in floats. The range may start before t.offset (still inside t.buf);
 * shaders only touch the elements of the chunk. */
static VcBuffer images(VcBuffer t, size_t per_img, uint32_t b0, uint32_t n, uint32_t *elem_off) {
    VC_ASSERT(t.offset % 4 == 0 && ((size_t)b0 + n) * per_img * 4 <= t.size);
    VkDeviceSize start = t.offset + (VkDeviceSize)b0 * per_img * 4, end = start + (VkDeviceSize)n * per_img * 4;
    VkDeviceSize aligned = start / ALIGN * ALIGN;
    *elem_off = (uint32_t)((start - aligned) / 4);
    VcBuffer r = {.buf = t.buf, .offset = aligned, .size = end - aligned};
    return r;
}

void vc_conv2d_forward(VcCmd *cmd, const VcConvShape *s, VcBuffer out, VcBuffer in, VcBuffer weight, VcBuffer work) {
    VcContext *ctx = vc_cmd_context(cmd);
    Plan pl = make_plan(ctx, s);
    VC_ASSERT(in.size >= (size_t)s->B * pl.in_img * 4 && out.size >= (size_t)s->B * pl.out_img * 4);
    VC_ASSERT(weight.size >= (size_t)s->C_out * pl.K * 4);
    uint32_t C_out = (uint32_t)s->C_out;
    VcBuffer wp = region(work, pl.off_w, (size_t)C_out * pl.Kp * 4);
    /* weight (C_out, K) -> Wp[co][k], rows padded to Kp */
    pack(cmd, "conv_fwd_pack_w", weight, wp,
         (PackPush){.rows = C_out, .cols = pl.K, .cols4 = pl.Kp / 4, .rdiv = NODIV, .r_lo = pl.K, .cdiv = NODIV, .c_lo = 1});
    for (uint32_t c = 0; c < pl.chunks; c++) {
        uint32_t b0 = c * pl.nb, nbc = VC_MIN(pl.nb, (uint32_t)s->B - b0), N = nbc * pl.HWo;
        VcBuffer col = region(work, pl.off_x, (size_t)N * pl.Kp * 4);
        uint32_t in_off, out_off;
        VcBuffer in_c = images(in, pl.in_img, b0, nbc, &in_off), out_c = images(out, pl.out_img, b0, nbc, &out_off);
        im2col(cmd, s, &pl, nbc, in_c, in_off, col, false, "conv_fwd_im2col");
        /* out[b][co][p] = Wp[co] . col[n = b * HWo + p] */
        GemmPush g = {.M = C_out, .N = N, .K4 = pl.Kp / 4, .lda4 = pl.Kp / 4, .ldb4 = pl.Kp / 4,
                      .c_m = pl.HWo, .ndiv = pl.HWo, .c_hi = C_out * pl.HWo, .c_lo = 1, .c_off = out_off};
        gemm(cmd, "conv_fwd_gemm", wp, col, out_c, g, 1, 2.0 * C_out * N * pl.K);
    }
}

typedef struct Col2imPush {
    uint32_t C_in, H, W, KH, KW, stride, pad, Ho, Wo, K, total, d_off;
} Col2imPush;
_Static_assert(sizeof(Col2imPush) <= 128, "push constants");

typedef struct ReducePush { uint32_t n, splits; } ReducePush;
_Static_assert(sizeof(ReducePush) <= 128, "push constants");

void vc_conv2d_backward(VcCmd *cmd, const VcConvShape *s, VcBuffer d_in, VcBuffer d_weight, VcBuffer d_out, VcBuffer in,
                        VcBuffer weight, VcBuffer work) {
    VcContext *ctx = vc_cmd_context(cmd);
    Plan pl = make_plan(ctx, s);
    bool dgrad = d_in.buf != VK_NULL_HANDLE;
    uint32_t C_out = (uint32_t)s->C_out;
    VC_ASSERT(in.size >= (size_t)s->B * pl.in_img * 4 && d_out.size >= (size_t)s->B * pl.out_img * 4);
    VC_ASSERT(weight.size >= (size_t)C_out * pl.K * 4 && d_weight.size >= (size_t)C_out * pl.K * 4);
    VC_ASSERT(!dgrad || d_in.size >= (size_t)s->B * pl.in_img * 4);
    VcBuffer wt = region(work, pl.off_w, (size_t)pl.K * pl.Cop * 4);
    VcBuffer part = region(work, pl.off_part, (size_t)pl.splits * C_out * pl.K * 4);
    /* weight (C_out, K) -> WT[k][co], rows padded to Cop */
    if (dgrad)
        pack(cmd, "conv_dgrad_pack_w", weight, wt,
             (PackPush){.rows = pl.K, .cols = C_out, .cols4 = pl.Cop / 4, .rdiv = NODIV, .r_lo = 1, .cdiv = NODIV, .c_lo = pl.K});
    for (uint32_t c = 0; c < pl.chunks; c++) {
        uint32_t b0 = c * pl.nb, nbc = VC_MIN(pl.nb, (uint32_t)s->B - b0), N = nbc * pl.HWo;
        uint32_t Np = (uint32_t)round_up(N, 4);
        uint32_t dout_off, in_off;
        VcBuffer dout_c = images(d_out, pl.out_img, b0, nbc, &dout_off), in_c = images(in, pl.in_img, b0, nbc, &in_off);
        if (dgrad) {
            VcBuffer dT = region(work, pl.off_y, (size_t)N * pl.Cop * 4);
            VcBuffer dcol = region(work, pl.off_x, (size_t)N * pl.K * 4);
            /* d_out[b][co][p] -> dT[n = b * HWo + p][co] */
            pack(cmd, "conv_dgrad_pack_dout", dout_c, dT,
                 (PackPush){.rows = N, .cols = C_out, .cols4 = pl.Cop / 4, .rdiv = pl.HWo, .r_hi = C_out * pl.HWo,
                            .r_lo = 1, .cdiv = NODIV, .c_lo = pl.HWo, .src_off = dout_off});
            /* dcol[n][k] = dT[n] . WT[k] */
            GemmPush g = {.M = N, .N = pl.K, .K4 = pl.Cop / 4, .lda4 = pl.Cop / 4, .ldb4 = pl.Cop / 4,
                          .c_m = pl.K, .ndiv = NODIV, .c_lo = 1};
            gemm(cmd, "conv_dgrad_gemm", dT, wt, dcol, g, 1, 2.0 * C_out * N * pl.K);
            uint32_t din_off;
            VcBuffer din_c = images(d_in, pl.in_img, b0, nbc, &din_off);
            Col2imPush cp = {(uint32_t)s->C_in, (uint32_t)s->H, (uint32_t)s->W, (uint32_t)s->KH, (uint32_t)s->KW,
                             (uint32_t)s->stride, (uint32_t)s->pad, pl.Ho, pl.Wo, pl.K, (uint32_t)(nbc * pl.in_img), din_off};
            VcBuffer bufs[2] = {dcol, din_c};
            VcPipeline *p = vc_pipeline_1d(ctx, "conv_col2im", "ss", sizeof cp);
            vc_dispatch_1d(cmd, p, bufs, 2, &cp, cp.total, "conv_dgrad_col2im", (double)N * pl.K,
                           4.0 * N * pl.K + 8.0 * cp.total);
        }
        /* wgrad: d_out[b][co][p] -> dP[co][n], in -> colT[k][n], pixels padded to Np */
        VcBuffer dP = region(work, pl.off_y, (size_t)C_out * Np * 4);
        VcBuffer colT = region(work, pl.off_x, (size_t)pl.K * Np * 4);
        pack(cmd, "conv_wgrad_pack_dout", dout_c, dP,
             (PackPush){.rows = C_out, .cols = N, .cols4 = Np / 4, .rdiv = NODIV, .r_lo = pl.HWo, .cdiv = pl.HWo,
                        .c_hi = C_out * pl.HWo, .c_lo = 1, .src_off = dout_off});
        im2col(cmd, s, &pl, nbc, in_c, in_off, colT, true, "conv_wgrad_im2col");
        /* part[z][co][k] (+)= dP[co] . colT[k] over split z of the pixels (+= after the first chunk) */
        GemmPush g = {.M = C_out, .N = pl.K, .K4 = Np / 4, .lda4 = Np / 4, .ldb4 = Np / 4,
                      .c_m = pl.K, .ndiv = NODIV, .c_lo = 1, .c_z = C_out * pl.K, .accumulate = c > 0};
        gemm(cmd, "conv_wgrad_gemm", dP, colT, part, g, pl.splits, 2.0 * C_out * N * pl.K);
    }
    ReducePush rp = {C_out * pl.K, pl.splits};
    VcBuffer bufs[2] = {part, d_weight};
    VcPipeline *p = vc_pipeline_1d(ctx, "conv_reduce", "ss", sizeof rp);
    vc_dispatch_1d(cmd, p, bufs, 2, &rp, rp.n, "conv_wgrad_reduce", (double)rp.n * rp.splits, 4.0 * rp.n * (rp.splits + 2));
}
