/* conv.c — host side of the 2-D convolution (forward, dgrad, wgrad), two kernel paths.
 *
 * CPU devices (lavapipe): implicit GEMM, no im2col matrix. On lavapipe a texel fetch costs
 * ~15 instructions per invocation (more for a scalar storage-buffer load), a multiply-add
 * 2 per 8 invocations, so a pass that writes and re-reads a KH*KW-fold unfolded matrix
 * costs as much as the GEMM itself. Instead each operand is copied once into a layout of
 * RGBA32F texels along its reduction dimension, and one kernel (conv_igemm: a TM x TN
 * register tile of dot products per invocation) fetches them directly for every tap:
 *   forward  out[b][co][y][x] = sum_{ky,kx,c4} Wp[co][ky,kx,c4] . xp[b][y s + ky][x s + kx][c4]
 *            xp = input in zero-padded NHWC4 (4 channels per texel, conv_nhwc4)
 *   dgrad    one implicit GEMM per stride phase (py, px) of the transposed convolution:
 *            d_in[b][ci][y][x] += sum_{ty,tx,co4} WTp[ci][ty,tx,co4] . dp[b][qy - ty][qx - tx][co4]
 *            ky = py + s ty, qy = (y + pad - py) / s (exact); dp = d_out in padded NHWC4
 *            1x1, no padding: conv_dgrad1x1 instead, outer products over co of weight texels
 *            (4 ci) and 4 consecutive pixels of a d_out plane (read in place, no copy; 2 texels
 *            and a shift when planes are not whole texels):
 *            d_in[b][ci][oy s][ox s] += sum_co Wp[co][ci] d_out[b][co][oy Wo + ox]
 *   wgrad    part[z][co][ci][ky][kx] = sum over the pixels of the images of split z of
 *            d_out x the input pixels tap (ky, kx) reads, as dot products of texels of 4
 *            pixels (then d_weight += sum_z part, conv_reduce), in one of two forms:
 *            rows: Dr[b][co][oy][t] . Xs[kx][b][ci][oy s + ky][t], Dr = d_out rows (d_out
 *            itself when its rows are whole texels), Xs = input rows shifted by kx
 *            (conv_rows4); with stride 1 the Ho rows of a tap are one run (one inner loop)
 *            planes (1x1, strided): Dp[b][co][t] . Xg[ky KW + kx][b][ci][t] over whole
 *            planes of ceil(Ho Wo / 4) texels, Xg = the pixels each tap reads (conv_plane4),
 *            Dp = d_out in place when its planes are whole, aligned texels (Ho Wo % 4 = 0),
 *            else a plane copy (strided rows would be short, Wo / 4 texels, partly wasted)
 * Weights are repacked per call (conv_wpack, tiny).
 * Few input channels (C_in KH KW <= 27, the stem): the forward is conv_direct instead, with
 * no copies: 4 output columns x 32 channels per invocation from registers (a GEMM-shaped
 * kernel spends its time on per-output overhead when the reduction is only 9 long). Its
 * time is mostly the stores (lavapipe stores a vec4 as 4 per-lane scalar stores, ~5 ns per
 * invocation on one core; the stem's forward ran 2.5x faster with its stores masked off).
 *
 * GPU devices: im2col into `work` + a shared-memory tiled GEMM (conv_gemm), both operands
 * along the reduction: forward col[n][k]; dgrad dcol = dT . WT then a col2im gather;
 * wgrad part[z] = dP . colT over split z of the pixels, then conv_reduce.
 *
 * Both paths run the batch in chunks of `nb` images so that every scratch matrix stays a
 * bounded size (cache-sized on CPUs) and every bound range stays under the device's
 * maxStorageBufferRange; wgrad accumulates its partial sums across chunks and folds them
 * once at the end (no float atomics). Chunks of the user's tensors are bound from an
 * aligned-down offset with the remainder passed as an element offset, so any image size
 * and any buffer offset work.
 *
 * Shapes: B = batch, C = channels, H/W = input size, Ho/Wo = output size, K = C_in KH KW.
 */
#include "ops/conv.h"

#include "ops/fill.h"
#include "ops/op.h"

/* ---- tunables (measured on lavapipe, 2 cores) ---- */
#ifndef IG_TM
#define IG_TM 16          /* conv_igemm: register tile (rows m x columns n) of one invocation */
#define IG_TN 16
#define IG_WG 16          /* invocations per workgroup of conv_igemm */
#endif
#define DG1_TM 16         /* conv_dgrad1x1: input channels x texels (4 pixels) per invocation */
#define DG1_TQ 4
#define CPU_MIN_LANES 256 /* wgrad: split the reduction until this many invocations run */
#define CPU_CHUNK_BYTES ((size_t)16 << 20) /* padded copies of one chunk (CPU path) */
#define GPU_CHUNK_BYTES ((size_t)64 << 20) /* unfolded matrix of one chunk (GPU path) */
#define IM2COL_SEG 4      /* vec4s written per im2col invocation */
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

static size_t round_up(size_t x, size_t a) { return (x + a - 1) / a * a; }
static uint32_t div_up(uint32_t x, uint32_t d) { return (x + d - 1) / d; }

/* Region [off, off + bytes) of the workspace, counted from its first ALIGN-aligned byte. */
static VcBuffer region(VcBuffer work, size_t off, size_t bytes) {
    size_t base = (size_t)(round_up(work.offset, ALIGN) - work.offset);
    VC_ASSERT(base + off + bytes <= work.size && "conv workspace smaller than vc_conv2d_workspace_bytes()");
    return vc_buffer_slice(work, base + off, round_up(bytes, 16));
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

/* The same range bound as RGBA32F texels: its size rounded up to whole texels (still
 * inside t.buf: buffers are carved from blocks in multiples of 256 bytes). */
static VcBuffer images_tex(VcBuffer t, size_t per_img, uint32_t b0, uint32_t n, uint32_t *elem_off) {
    VcBuffer r = images(t, per_img, b0, n, elem_off);
    r.size = round_up(r.size, 16);
    return r;
}

/* Images per chunk: scratch bytes per image near the budget, and chunk ranges of the
 * (B, per_img) tensors bindable (<= maxStorageBufferRange, with the alignment slack). */
static uint32_t images_per_chunk(VcContext *ctx, const VcConvShape *s, size_t scratch_per_img, size_t budget_default) {
    size_t range = vc_context_info(ctx)->max_storage_buffer_range;
    size_t budget = g_chunk_bytes ? g_chunk_bytes : budget_default;
    size_t in_img = (size_t)s->C_in * s->H * s->W * 4, out_img = (size_t)s->C_out * vc_conv_out_h(s) * vc_conv_out_w(s) * 4;
    size_t nb = VC_MAX((size_t)1, budget / scratch_per_img);
    nb = VC_MIN(nb, (size_t)s->B);
    nb = VC_MIN(nb, (range - ALIGN) / in_img);
    nb = VC_MIN(nb, (range - ALIGN) / out_img);
    VC_ASSERT(nb >= 1 && "one image of this convolution is larger than maxStorageBufferRange");
    /* chunks of equal size: a short last chunk would cost nearly a whole one (the wgrad
     * runs the same splits over it, most of them on padding images) */
    size_t chunks = (s->B + nb - 1) / nb;
    return (uint32_t)((s->B + chunks - 1) / chunks);
}

static void check_shape(const VcConvShape *s) {
    VC_ASSERT(s->B > 0 && s->C_in > 0 && s->C_out > 0 && s->KH > 0 && s->KW > 0 && s->stride > 0 && s->pad >= 0);
    VC_ASSERT(vc_conv_out_h(s) > 0 && vc_conv_out_w(s) > 0);
}

typedef struct ReducePush { uint32_t n, splits; } ReducePush;
_Static_assert(sizeof(ReducePush) <= 128, "push constants");

/* d_weight (n) += sum over splits of part (splits, n) */
static void reduce_splits(VcCmd *cmd, VcBuffer part, VcBuffer d_weight, uint32_t n, uint32_t splits) {
    ReducePush rp = {n, splits};
    VcBuffer bufs[2] = {part, d_weight};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "conv_reduce", "ss", sizeof rp);
    vc_dispatch_1d(cmd, p, bufs, 2, &rp, n, "conv_wgrad_reduce", (double)n * splits, 4.0 * n * (splits + 2));
}

/* ======================= CPU path: padded copies + implicit GEMM ======================= */

/* Few input channels (the stem): conv_direct, see direct_forward(). CB output channels
 * per dispatch, their weights packed at 256-byte aligned blocks of the workspace. */
#define DIRECT_MAX_K 27  /* C_in KH KW */
#define DIRECT_CB 32
static uint32_t direct_cb(const VcConvShape *s) { return s->C_out <= DIRECT_CB ? (uint32_t)s->C_out : DIRECT_CB; }
static bool direct_ok(const VcConvShape *s) {
    return s->C_in * s->KH * s->KW <= DIRECT_MAX_K && s->stride <= 2 && (s->C_out <= DIRECT_CB || s->C_out % DIRECT_CB == 0);
}
static size_t direct_block_floats(const VcConvShape *s) { return round_up((size_t)direct_cb(s) * s->C_in * s->KH * s->KW, 64); }
static size_t direct_w_bytes(const VcConvShape *s) {
    return direct_ok(s) ? (size_t)s->C_out / direct_cb(s) * direct_block_floats(s) * 4 : 0;
}

/* The wgrad's register tile: IG_TM x IG_TN, except that a short n = C_in KH KW (the stem:
 * 9) is covered by one tile of exactly that width (no wasted columns), with twice the rows. */
static void wgrad_tile(const VcConvShape *s, uint32_t *tm, uint32_t *tn) {
    uint32_t n = (uint32_t)(s->C_in * s->KH * s->KW);
    *tm = IG_TM, *tn = IG_TN;
    if (n < IG_TN) *tm = 2 * IG_TM, *tn = n;
}

typedef struct CpuPlan {
    uint32_t Ho, Wo, KT;       /* output size; taps KH * KW */
    uint32_t C4, Co4;          /* texels per pixel of the NHWC4 input / d_out */
    uint32_t Hp, Wp;           /* padded input copy: pad on every side, or (1x1, stride s) the Ho x Wo pixels read */
    uint32_t ss, sc;           /* copy's source stride; the kernel's stride over the copy (ss sc = stride) */
    uint32_t Hd, Wd, Pt, Pl;   /* padded d_out for the dgrad taps: top / left padding */
    uint32_t Wo4;              /* texels per output row (wgrad copies) */
    uint32_t wtm, wtn;         /* wgrad register tile (m = C_out, n = C_in KH KW) */
    uint32_t nb, chunks, splits; /* images per chunk and chunks (forward, dgrad); wgrad splits at most */
    size_t off_w, off_x, off_d, off_part, total; /* workspace regions, bytes */
} CpuPlan;

static CpuPlan cpu_plan(VcContext *ctx, const VcConvShape *s) {
    check_shape(s);
    CpuPlan p = {0};
    uint32_t st = (uint32_t)s->stride;
    p.Ho = (uint32_t)vc_conv_out_h(s);
    p.Wo = (uint32_t)vc_conv_out_w(s);
    p.KT = (uint32_t)(s->KH * s->KW);
    p.C4 = div_up((uint32_t)s->C_in, 4);
    p.Co4 = div_up((uint32_t)s->C_out, 4);
    if (s->KH == 1 && s->KW == 1 && st > 1) { /* strided 1x1: copy only the pixels it reads */
        p.Hp = p.Ho, p.Wp = p.Wo, p.ss = st, p.sc = 1;
    } else {
        p.Hp = (uint32_t)(s->H + 2 * s->pad), p.Wp = (uint32_t)(s->W + 2 * s->pad), p.ss = 1, p.sc = st;
    }
    /* dgrad reads d_out rows qy - ty, qy = (y + pad - py) / s in [0, (H - 1 + pad) / s],
     * ty < ceil(KH / s): pad d_out above by ceil(KH / s) - 1 and below up to that qy. */
    p.Pt = div_up((uint32_t)s->KH, st) - 1;
    p.Pl = div_up((uint32_t)s->KW, st) - 1;
    uint32_t qy_max = (uint32_t)(s->H - 1 + s->pad) / st, qx_max = (uint32_t)(s->W - 1 + s->pad) / st;
    p.Hd = p.Pt + VC_MAX(p.Ho, qy_max + 1);
    p.Wd = p.Pl + VC_MAX(p.Wo, qx_max + 1);
    p.Wo4 = div_up(p.Wo, 4);
    /* per image: X holds the NHWC4 input (forward) or the wgrad's copies of it (KW shifted
     * rows; strided: KH KW tap planes, see wgrad_planes), D the NHWC4 d_out (dgrad) or its
     * row copy (wgrad); plane copies of d_out (wgrad) are no larger than the row copies
     * (ceil(Ho Wo / 4) <= Ho ceil(Wo / 4) texels) */
    size_t x_img = VC_MAX((size_t)p.Hp * p.Wp * p.C4, (size_t)s->KW * s->C_in * p.Hp * p.Wo4) * 16;
    if (st > 1) x_img = VC_MAX(x_img, (size_t)p.KT * s->C_in * div_up(p.Ho * p.Wo, 4) * 16);
    size_t d_img = VC_MAX((size_t)p.Hd * p.Wd * p.Co4, (size_t)s->C_out * p.Ho * p.Wo4) * 16;
    p.nb = images_per_chunk(ctx, s, x_img + d_img, CPU_CHUNK_BYTES);
    p.chunks = div_up((uint32_t)s->B, p.nb);
    /* wgrad: split the images of a chunk until enough invocations run */
    wgrad_tile(s, &p.wtm, &p.wtn);
    uint32_t tiles = div_up((uint32_t)s->C_out, p.wtm) * div_up((uint32_t)s->C_in * p.KT, p.wtn);
    p.splits = tiles >= CPU_MIN_LANES ? 1 : div_up(CPU_MIN_LANES, tiles);
    p.splits = VC_MIN(p.splits, (uint32_t)s->B); /* the wgrad's chunks may be larger than nb (wgrad_chunk) */
    size_t w_bytes = (size_t)p.KT * VC_MAX((size_t)s->C_out * p.C4, (size_t)s->C_in * p.Co4) * 16;
    w_bytes = VC_MAX(w_bytes, direct_w_bytes(s));
    size_t part_bytes = (size_t)p.splits * s->C_out * s->C_in * p.KT * 4;
    size_t range = vc_context_info(ctx)->max_storage_buffer_range;
    VC_ASSERT(w_bytes <= range && p.nb * x_img <= range && p.nb * d_img <= range && part_bytes <= range);
    p.off_w = 0;
    p.off_x = round_up(w_bytes, ALIGN);
    p.off_d = round_up(p.off_x + p.nb * x_img, ALIGN);
    p.off_part = round_up(p.off_d + p.nb * d_img + 2 * ALIGN, ALIGN); /* + slack: wgrad_chunk() aligns its copies */
    p.total = round_up(p.off_part + part_bytes, ALIGN);
    return p;
}

/* The CPU wgrad's two forms. Rows: the reduction runs along output rows of 4-pixel texels
 * (d_out rows against KW shifted copies of the input rows); with unit stride the Ho rows of
 * a tap are one run. Planes (1x1 and strided convolutions): along whole output planes of
 * ceil(Ho Wo / 4) texels, d_out's planes against one copy of the input per tap holding the
 * pixels that tap reads (conv_plane4): one run per plane with no per-row padding, where a
 * strided row form has short rows (Wo / 4 texels) and a texel per row partly wasted. */
static bool wgrad_planes(const VcConvShape *s) { return (s->KH == 1 && s->KW == 1) || (s->stride > 1 && s->KW <= 9); }

/* The wgrad's chunk. Its parallelism is tiles x splits, a split taking at least one image,
 * so a small output (the stem's 32 x 9: one tile) wants more images per chunk than the
 * plan's to fill CPU_MIN_LANES invocations: up to as many as its copies (KW shifted input
 * rows, or the pixels of a 1x1, plus a row/plane copy of d_out when it cannot be read in
 * place) fit into the scratch the plan reserves for one chunk's copies (regions x and d,
 * adjacent; the wgrad's copies are smaller than the dgrad's). Otherwise the plan's chunk
 * (larger ones measured slower: cache). Chunks of equal size. *xs_img, *dr_img: bytes per
 * image of the two copies. */
static uint32_t wgrad_chunk(VcContext *ctx, const VcConvShape *s, const CpuPlan *p, bool copy_dout, size_t *xs_img,
                            size_t *dr_img) {
    bool planes = wgrad_planes(s);
    size_t px4 = planes ? div_up(p->Ho * p->Wo, 4) : (size_t)p->Ho * p->Wo4; /* texels per d_out plane copy */
    *xs_img = (planes ? (size_t)p->KT * s->C_in * px4 : (size_t)s->KW * s->C_in * p->Hp * p->Wo4) * 16;
    *dr_img = (size_t)s->C_out * px4 * 16;
    if (p->splits <= p->nb) return p->nb;
    size_t per_img = round_up(*xs_img + (copy_dout ? *dr_img : 0), 16), scratch = p->off_part - p->off_x - 2 * ALIGN;
    size_t range = vc_context_info(ctx)->max_storage_buffer_range;
    size_t in_img = (size_t)s->C_in * s->H * s->W * 4, out_img = (size_t)s->C_out * p->Ho * p->Wo * 4;
    size_t nb = VC_MIN(scratch / per_img, (size_t)p->splits); /* <= splits: one image per split at most */
    nb = VC_MIN(nb, (range - ALIGN) / in_img);
    nb = VC_MIN(nb, (range - ALIGN) / out_img);
    nb = VC_MIN(nb, range / *xs_img);
    nb = VC_MAX(nb, (size_t)p->nb); /* the plan's chunk always fits */
    size_t chunks = (s->B + nb - 1) / nb;
    return (uint32_t)((s->B + chunks - 1) / chunks);
}

typedef struct Nhwc4Push {
    uint32_t C, H, W, C4, Hp, Wp, pt, pl, ss, Wq, total, src_off, src_texels;
} Nhwc4Push;
_Static_assert(sizeof(Nhwc4Push) <= 128, "push constants");

/* dst (nb, Hp, Wp, C4) texels = zero-padded copy of src (nb, C, H, W) texels from element
 * src_off, every ss-th row and column */
static void nhwc4(VcCmd *cmd, const char *label, VcBuffer src, uint32_t src_off, VcBuffer dst, uint32_t nb, uint32_t C,
                  uint32_t H, uint32_t W, uint32_t Hp, uint32_t Wp, uint32_t pt, uint32_t pl, uint32_t ss) {
    uint32_t C4 = div_up(C, 4), Wq = div_up(Wp, 4);
    Nhwc4Push pc = {C, H, W, C4, Hp, Wp, pt, pl, ss, Wq, nb * Hp * Wq * C4, src_off, (uint32_t)(src.size / 16)};
    VC_ASSERT((size_t)nb * Hp * Wp * C4 * 16 <= dst.size);
    VcBuffer bufs[2] = {src, dst};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "conv_nhwc4", "ts", sizeof pc);
    vc_dispatch_1d(cmd, p, bufs, 2, &pc, pc.total, label, 0, 4.0 * nb * C * H * W + 16.0 * nb * Hp * Wp * C4);
}

typedef struct Rows4Push {
    uint32_t C, H, W, Hp, W4, pt, pl, stride, rs, planes, rows, nkx, src_off, src_texels;
} Rows4Push;
_Static_assert(sizeof(Rows4Push) <= 128, "push constants");

/* dst (nkx, nb, C, Hp, W4) texels: rows of src (nb, C, H, W), see shaders/conv_rows4.comp */
static void rows4(VcCmd *cmd, const char *label, VcBuffer src, uint32_t src_off, VcBuffer dst, uint32_t nkx, uint32_t nb,
                  uint32_t C, uint32_t H, uint32_t W, uint32_t Hp, uint32_t W4, uint32_t pt, uint32_t pl, uint32_t stride,
                  uint32_t rs) {
    /* all kx copies of a row from one window of 4 texels when its columns fit: the
     * window starts up to 3 columns early and spans 3 strides + nkx columns */
    bool merged = nkx > 1 && 3 + 3 * stride + nkx <= 16;
    Rows4Push pc = {C, H, W, Hp, W4, pt, pl, stride, rs, nb * C, (merged ? 1 : nkx) * nb * C * Hp, nkx, src_off,
                    (uint32_t)(src.size / 16)};
    VC_ASSERT((size_t)nkx * nb * C * Hp * W4 * 16 <= dst.size);
    VcBuffer bufs[2] = {src, dst};
    VcPipelineDesc d = {.shader = "conv_rows4", .bindings = "ts", .push_size = sizeof pc, .spec = {VC_WG_1D, merged},
                        .spec_count = 2};
    VcPipeline *p = vc_pipeline_get(vc_cmd_context(cmd), &d);
    vc_dispatch_1d(cmd, p, bufs, 2, &pc, pc.rows, label, 0, 4.0 * nb * C * H * W + 16.0 * nkx * nb * C * Hp * W4);
}

typedef struct Plane4Push {
    uint32_t H, W, Ho, Wo, P4, stride, pad, planes, total, src_off, src_texels;
} Plane4Push;
_Static_assert(sizeof(Plane4Push) <= 128, "push constants");

/* dst (KH KW, nb C, P4) texels: for every tap (ky, kx), the Ho x Wo pixels (strided,
 * padded) it reads from each plane of src (nb, C, H, W), 4 consecutive pixels per texel,
 * see shaders/conv_plane4.comp */
static void plane4(VcCmd *cmd, const char *label, VcBuffer src, uint32_t src_off, VcBuffer dst, uint32_t nb, uint32_t C,
                   uint32_t H, uint32_t W, uint32_t Ho, uint32_t Wo, uint32_t stride, uint32_t pad, uint32_t KH, uint32_t KW) {
    uint32_t P4 = div_up(Ho * Wo, 4);
    VC_ASSERT(KW <= 9 && "conv_plane4: a pixel's KW columns must lie in 3 texels");
    Plane4Push pc = {H, W, Ho, Wo, P4, stride, pad, nb * C, KH * nb * C * P4, src_off, (uint32_t)(src.size / 16)};
    VC_ASSERT((size_t)pc.total * KW * 16 <= dst.size);
    VcBuffer bufs[2] = {src, dst};
    bool whole = KH == 1 && KW == 1 && stride == 1 && pad == 0 && Ho == H && Wo == W;
    VcPipelineDesc d = {.shader = "conv_plane4", .bindings = "ts", .push_size = sizeof pc, .spec = {VC_WG_1D, KW, whole},
                        .spec_count = 3};
    vc_dispatch_1d(cmd, vc_pipeline_get(vc_cmd_context(cmd), &d), bufs, 2, &pc, pc.total, label, 0,
                   4.0 * nb * C * H * W + 16.0 * pc.total * KW);
}

typedef struct WpackPush {
    uint32_t C_out, C_in, KH, KW, rows, row4, C4, TX, stride, py, px, dgrad, base, total;
} WpackPush;
_Static_assert(sizeof(WpackPush) <= 128, "push constants");

static void wpack(VcCmd *cmd, const char *label, VcBuffer weight, VcBuffer dst, WpackPush pc) {
    pc.total = pc.rows * pc.row4;
    VC_ASSERT(((size_t)pc.base + pc.total) * 16 <= dst.size);
    VcBuffer bufs[2] = {weight, dst};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "conv_wpack", "ss", sizeof pc);
    vc_dispatch_1d(cmd, p, bufs, 2, &pc, pc.total, label, 0, 32.0 * pc.total);
}

typedef struct IgemmPush {
    uint32_t M, N, Hq, Wq, Hs, Ws, C4, su, sv, r0, c0, L1, L2, L3;
    int32_t a1, a2, b1, b2;
    uint32_t splits, l1_split, a_off, a_m, o_off, o_m, o_b, o_u, o_v, o_z;
} IgemmPush;
_Static_assert(sizeof(IgemmPush) <= 128, "push constants");

/* One conv_igemm dispatch (see shaders/conv_igemm.comp) with the reduction in `splits`;
 * out += result when `accumulate`, else out = result. */
static void igemm(VcCmd *cmd, const char *label, VcBuffer a, VcBuffer b, VcBuffer out, IgemmPush pc, uint32_t splits,
                  bool accumulate, uint32_t TM, uint32_t TN, double flops) {
    pc.splits = splits;
    pc.l1_split = div_up(pc.L1, splits);
    /* lavapipe ends an invocation silently after 65535 loop iterations */
    VC_ASSERT((uint64_t)pc.l1_split * (1 + (uint64_t)pc.L2 * (1 + pc.L3)) < 65535 && "conv_igemm: reduction too long for one dispatch");
    size_t tiles = (size_t)div_up(pc.M, TM) * div_up(pc.N, TN);
    uint32_t gx, gy;
    vc_grid_1d(tiles * splits, IG_WG, &gx, &gy);
    /* 4 results per store when each aligned group of 4 columns is 4 consecutive, aligned
     * out elements: whole rows (u) of the n grid in a row-major plane of 4k elements */
    bool vec4 = pc.o_v == 1 && pc.o_u == pc.Wq && (pc.Hq * pc.Wq) % 4 == 0 && TN % 4 == 0 && pc.o_off % 4 == 0 &&
                pc.o_m % 4 == 0 && pc.o_b % 4 == 0 && pc.o_z % 4 == 0;
    VcPipelineDesc d = {.shader = "conv_igemm", .bindings = "tts", .push_size = sizeof pc,
                        .spec = {IG_WG, TM, TN, accumulate, vec4}, .spec_count = 5};
    VcBuffer bufs[3] = {a, b, out};
    double bytes = (double)a.size + (double)b.size + 4.0 * pc.M * pc.N * splits * (1 + accumulate);
    vc_dispatch(cmd, vc_pipeline_get(vc_cmd_context(cmd), &d), bufs, 3, &pc, gx, gy, 1, label, flops, bytes);
}

typedef struct Dgrad1x1Push {
    uint32_t C_in, C_out, C4, H, W, Wo, stride, P, P4, groups, tiles, d_off, o_off, d_texels;
} Dgrad1x1Push;
_Static_assert(sizeof(Dgrad1x1Push) <= 128, "push constants");

/* d_in += dgrad of a 1x1 convolution over nbc images, d_out read in place (from element
 * dout_off), see shaders/conv_dgrad1x1.comp */
static void dgrad1x1(VcCmd *cmd, const VcConvShape *s, VcBuffer wp, VcBuffer dout_c, uint32_t dout_off, VcBuffer din_c,
                     uint32_t din_off, uint32_t nbc, CpuPlan pl) {
    uint32_t P = pl.Ho * pl.Wo, P4 = div_up(P, 4), groups = div_up(P4, DG1_TQ);
    bool unaligned = P % 4 || dout_off % 4;
    Dgrad1x1Push pc = {(uint32_t)s->C_in, (uint32_t)s->C_out, pl.C4, (uint32_t)s->H, (uint32_t)s->W, pl.Wo,
                       (uint32_t)s->stride, P, P4, groups, div_up((uint32_t)s->C_in, DG1_TM) * nbc * groups,
                       unaligned ? dout_off : dout_off / 4, din_off, (uint32_t)(dout_c.size / 16)};
    uint32_t gx, gy;
    vc_grid_1d(pc.tiles, IG_WG, &gx, &gy);
    VcPipelineDesc d = {.shader = "conv_dgrad1x1", .bindings = "tts", .push_size = sizeof pc,
                        .spec = {IG_WG, DG1_TM, DG1_TQ, unaligned}, .spec_count = 4};
    VcBuffer bufs[3] = {wp, dout_c, din_c};
    double flops = 2.0 * s->C_in * s->C_out * nbc * pl.Ho * pl.Wo;
    vc_dispatch(cmd, vc_pipeline_get(vc_cmd_context(cmd), &d), bufs, 3, &pc, gx, gy, 1, "conv_dgrad_1x1", flops,
                (double)wp.size + (double)dout_c.size + 8.0 * nbc * s->C_in * pl.Ho * pl.Wo);
}

static void cpu_forward(VcCmd *cmd, const VcConvShape *s, VcBuffer out, VcBuffer in, VcBuffer weight, VcBuffer work) {
    CpuPlan pl = cpu_plan(vc_cmd_context(cmd), s);
    uint32_t C_out = (uint32_t)s->C_out, C_in = (uint32_t)s->C_in, HWo = pl.Ho * pl.Wo;
    uint32_t KH = (uint32_t)s->KH, KW = (uint32_t)s->KW;
    size_t in_img = (size_t)C_in * s->H * s->W, out_img = (size_t)C_out * HWo;
    VcBuffer wp = region(work, pl.off_w, (size_t)C_out * pl.KT * pl.C4 * 16);
    /* weight (C_out, C_in, KH, KW) -> Wp[co][(ky KW + kx) C4 + c4] texels */
    wpack(cmd, "conv_fwd_pack_w", weight, wp,
          (WpackPush){.C_out = C_out, .C_in = C_in, .KH = KH, .KW = KW, .rows = C_out, .row4 = pl.KT * pl.C4,
                      .C4 = pl.C4, .TX = KW, .stride = 1});
    for (uint32_t c = 0; c < pl.chunks; c++) {
        uint32_t b0 = c * pl.nb, nbc = VC_MIN(pl.nb, (uint32_t)s->B - b0);
        uint32_t in_off, out_off;
        VcBuffer in_c = images_tex(in, in_img, b0, nbc, &in_off), out_c = images(out, out_img, b0, nbc, &out_off);
        VcBuffer xp = region(work, pl.off_x, (size_t)nbc * pl.Hp * pl.Wp * pl.C4 * 16);
        nhwc4(cmd, "conv_fwd_nhwc4", in_c, in_off, xp, nbc, C_in, (uint32_t)s->H, (uint32_t)s->W, pl.Hp, pl.Wp,
              (uint32_t)s->pad, (uint32_t)s->pad, pl.ss);
        /* out[b][co][y][x] = sum_{ky, kx, c4} Wp[co][ky, kx, c4] . xp[b][y s + ky][x s + kx][c4] */
        IgemmPush g = {.M = C_out, .N = nbc * HWo, .Hq = pl.Ho, .Wq = pl.Wo, .Hs = pl.Hp, .Ws = pl.Wp, .C4 = pl.C4,
                       .su = pl.sc, .sv = pl.sc, .L1 = KH, .L2 = KW, .L3 = pl.C4, .a1 = (int32_t)(KW * pl.C4),
                       .a2 = (int32_t)pl.C4, .b1 = (int32_t)(pl.Wp * pl.C4), .b2 = (int32_t)pl.C4, .a_m = pl.KT * pl.C4,
                       .o_off = out_off, .o_m = HWo, .o_b = C_out * HWo, .o_u = pl.Wo, .o_v = 1};
        igemm(cmd, "conv_fwd_gemm", wp, xp, out_c, g, 1, false, IG_TM, IG_TN, 2.0 * C_out * nbc * HWo * C_in * pl.KT);
    }
}

/* set: d_in = dgrad (else +=) */
static void cpu_backward(VcCmd *cmd, const VcConvShape *s, VcBuffer d_in, bool set, VcBuffer d_weight, VcBuffer d_out,
                         VcBuffer in, VcBuffer weight, VcBuffer work) {
    CpuPlan pl = cpu_plan(vc_cmd_context(cmd), s);
    bool dgrad = d_in.buf != VK_NULL_HANDLE;
    uint32_t C_out = (uint32_t)s->C_out, C_in = (uint32_t)s->C_in, HWo = pl.Ho * pl.Wo;
    uint32_t H = (uint32_t)s->H, W = (uint32_t)s->W, st = (uint32_t)s->stride, pad = (uint32_t)s->pad;
    uint32_t KH = (uint32_t)s->KH, KW = (uint32_t)s->KW;
    size_t in_img = (size_t)C_in * H * W, out_img = (size_t)C_out * HWo;
    VcBuffer wt = region(work, pl.off_w, (size_t)C_in * pl.KT * pl.Co4 * 16);
    VcBuffer part = region(work, pl.off_part, (size_t)pl.splits * C_out * C_in * pl.KT * 4);

    /* stride phases (py, px) of the transposed convolution: taps ky = py + s ty; the
     * input rows y = y0 + s u with (y + pad - py) divisible by s; d_out row qy0 + u - ty */
    typedef struct Phase { uint32_t TY, TX, Hq, Wq, y0, x0, qy0, qx0, base; } Phase;
    Phase ph[64];
    uint32_t nph = 0, base = 0;
    /* 1x1 without padding: conv_dgrad1x1 reads d_out in place, weights packed as the
     * forward's Wp[co][c4] */
    bool dgrad_1x1 = dgrad && KH == 1 && KW == 1 && pad == 0;
    /* d_in = dgrad: the phase GEMMs overwrite their pixels when every phase has taps
     * (KH, KW >= s), else (and conv_dgrad1x1) d_in is zeroed and they add */
    bool overwrite = set && !dgrad_1x1 && KH >= st && KW >= st;
    if (set && dgrad && !overwrite) vc_fill(cmd, vc_buffer_slice(d_in, 0, s->B * in_img * 4), s->B * in_img, 0.0f);
    if (dgrad_1x1)
        wpack(cmd, "conv_dgrad_pack_w", weight, region(work, pl.off_w, (size_t)C_out * pl.C4 * 16),
              (WpackPush){.C_out = C_out, .C_in = C_in, .KH = 1, .KW = 1, .rows = C_out, .row4 = pl.C4, .C4 = pl.C4,
                          .TX = 1, .stride = 1});
    else if (dgrad) {
        VC_ASSERT(st * st <= 64 && "dgrad supports strides up to 8");
        for (uint32_t py = 0; py < st; py++)
            for (uint32_t px = 0; px < st; px++) {
                Phase f = {0};
                f.TY = py < KH ? div_up(KH - py, st) : 0;
                f.TX = px < KW ? div_up(KW - px, st) : 0;
                f.y0 = (py + st - pad % st) % st;
                f.x0 = (px + st - pad % st) % st;
                f.Hq = f.y0 < H ? (H - 1 - f.y0) / st + 1 : 0;
                f.Wq = f.x0 < W ? (W - 1 - f.x0) / st + 1 : 0;
                if (!f.TY || !f.TX || !f.Hq || !f.Wq) continue; /* no taps: gradient 0 there */
                f.qy0 = (f.y0 + pad - py) / st;
                f.qx0 = (f.x0 + pad - px) / st;
                f.base = base;
                base += C_in * f.TY * f.TX * pl.Co4;
                /* weight -> WTp[ci][(ty TX + tx) Co4 + co4] texels of this phase */
                wpack(cmd, "conv_dgrad_pack_w", weight, wt,
                      (WpackPush){.C_out = C_out, .C_in = C_in, .KH = KH, .KW = KW, .rows = C_in,
                                  .row4 = f.TY * f.TX * pl.Co4, .C4 = pl.Co4, .TX = f.TX, .stride = st, .py = py,
                                  .px = px, .dgrad = 1, .base = f.base});
                ph[nph++] = f;
            }
    }
    for (uint32_t c = 0; dgrad && c < pl.chunks; c++) {
        uint32_t b0 = c * pl.nb, nbc = VC_MIN(pl.nb, (uint32_t)s->B - b0);
        uint32_t dout_off;
        VcBuffer dout_c = images_tex(d_out, out_img, b0, nbc, &dout_off);
        if (dgrad_1x1) {
            uint32_t din_off;
            VcBuffer din_c = images(d_in, in_img, b0, nbc, &din_off);
            dgrad1x1(cmd, s, region(work, pl.off_w, (size_t)C_out * pl.C4 * 16), dout_c, dout_off, din_c, din_off, nbc, pl);
        } else if (dgrad) {
            uint32_t din_off;
            VcBuffer din_c = images(d_in, in_img, b0, nbc, &din_off);
            VcBuffer dp = region(work, pl.off_d, (size_t)nbc * pl.Hd * pl.Wd * pl.Co4 * 16);
            nhwc4(cmd, "conv_dgrad_nhwc4", dout_c, dout_off, dp, nbc, C_out, pl.Ho, pl.Wo, pl.Hd, pl.Wd, pl.Pt, pl.Pl, 1);
            for (uint32_t i = 0; i < nph; i++) {
                const Phase *f = &ph[i];
                /* d_in[b][ci][y0 + s u][x0 + s v] += sum_{ty, tx, co4}
                 *     WTp[ci][ty, tx, co4] . dp[b][Pt + qy0 + u - ty][Pl + qx0 + v - tx][co4] */
                IgemmPush g = {.M = C_in, .N = nbc * f->Hq * f->Wq, .Hq = f->Hq, .Wq = f->Wq, .Hs = pl.Hd, .Ws = pl.Wd,
                               .C4 = pl.Co4, .su = 1, .sv = 1, .r0 = pl.Pt + f->qy0, .c0 = pl.Pl + f->qx0, .L1 = f->TY,
                               .L2 = f->TX, .L3 = pl.Co4, .a1 = (int32_t)(f->TX * pl.Co4), .a2 = (int32_t)pl.Co4,
                               .b1 = -(int32_t)(pl.Wd * pl.Co4), .b2 = -(int32_t)pl.Co4, .a_off = f->base,
                               .a_m = f->TY * f->TX * pl.Co4, .o_off = din_off + f->y0 * W + f->x0, .o_m = H * W,
                               .o_b = C_in * H * W, .o_u = st * W, .o_v = st};
                igemm(cmd, "conv_dgrad_gemm", wt, dp, din_c, g, 1, !overwrite, IG_TM, IG_TN,
                      2.0 * C_in * g.N * C_out * f->TY * f->TX);
            }
        }
    }
    /* wgrad, in its own chunks (wgrad_chunk): copies in the x and d regions, one after the other */
    bool planes = wgrad_planes(s);
    /* d_out is read in place when its rows (planes form: planes) are whole, aligned texels:
     * then every chunk starts aligned too (a chunk is whole images of a multiple of 4 floats) */
    bool copy_dout = (planes ? HWo % 4 != 0 : pl.Wo % 4 != 0) || d_out.offset % 16 != 0;
    size_t xs_img, dr_img;
    uint32_t nbw = wgrad_chunk(vc_cmd_context(cmd), s, &pl, copy_dout, &xs_img, &dr_img), chunks_w = div_up((uint32_t)s->B, nbw);
    for (uint32_t c = 0; c < chunks_w; c++) {
        uint32_t b0 = c * nbw, nbc = VC_MIN(nbw, (uint32_t)s->B - b0), splits = VC_MIN(pl.splits, nbc);
        uint32_t dout_off, in_off;
        VcBuffer dout_c = images_tex(d_out, out_img, b0, nbc, &dout_off), in_c = images_tex(in, in_img, b0, nbc, &in_off);
        VcBuffer xs = region(work, pl.off_x, nbc * xs_img);
        size_t dr_at = pl.off_x + round_up(nbc * xs_img, ALIGN);
        VC_ASSERT(copy_dout || dout_off % 4 == 0);
        if (planes) {
            /* the reduction runs over whole planes of P4 = ceil(Ho Wo / 4) texels:
             * part[z][co][ci][ky][kx] (+)= sum over images b of split z, texels t of
             *     Dp[b][co][t] . Xg[ky KW + kx][b][ci][t],
             * Xg (xs) = the pixels each tap reads (conv_plane4), Dp = d_out read in place when its
             * planes are whole, aligned texels, else a conv_plane4 copy of it */
            uint32_t P4 = div_up(HWo, 4);
            VcBuffer dpl = dout_c;
            uint32_t dpl_off = dout_off / 4;
            if (copy_dout) {
                dpl = region(work, dr_at, nbc * dr_img), dpl_off = 0;
                plane4(cmd, "conv_wgrad_planes_dout", dout_c, dout_off, dpl, nbc, C_out, pl.Ho, pl.Wo, pl.Ho, pl.Wo, 1, 0, 1, 1);
            }
            plane4(cmd, "conv_wgrad_planes_in", in_c, in_off, xs, nbc, C_in, H, W, pl.Ho, pl.Wo, st, pad, KH, KW);
            /* n = (ci, ky, kx) on a KH x KW grid: Xg row (ci + ky KW nbc C_in) P4 + kx nbc C_in P4 */
            IgemmPush g = {.M = C_out, .N = C_in * pl.KT, .Hq = KH, .Wq = KW, .Hs = 1, .Ws = P4, .C4 = 1,
                           .su = KW * nbc * C_in, .sv = nbc * C_in * P4, .L1 = nbc, .L2 = 1, .L3 = P4,
                           .a1 = (int32_t)(C_out * P4), .b1 = (int32_t)(C_in * P4), .a_off = dpl_off, .a_m = P4,
                           .o_m = C_in * pl.KT, .o_b = pl.KT, .o_u = KW, .o_v = 1, .o_z = C_out * C_in * pl.KT};
            igemm(cmd, "conv_wgrad_gemm", dpl, xs, part, g, splits, c > 0, pl.wtm, pl.wtn,
                  2.0 * C_out * nbc * HWo * C_in * pl.KT);
            continue;
        }
        /* rows form: d_out rows -> Dr[b][co][oy][t] and KW shifted input rows
         * Xs[kx][b][ci][yp][t] = in[b][ci][yp - pad][(4 t + q) s + kx - pad], 4 pixels per texel */
        VcBuffer dr = dout_c;
        uint32_t dr_off = dout_off / 4;
        if (copy_dout) { /* else d_out's rows are whole texels already */
            dr = region(work, dr_at, nbc * dr_img), dr_off = 0;
            rows4(cmd, "conv_wgrad_rows_dout", dout_c, dout_off, dr, 1, nbc, C_out, pl.Ho, pl.Wo, pl.Ho, pl.Wo4, 0, 0, 1, 1);
        }
        rows4(cmd, "conv_wgrad_rows_in", in_c, in_off, xs, KW, nbc, C_in, H, W, pl.Hp, pl.Wo4, pad, pad, st, pl.ss);
        /* part[z][co][ci][ky][kx] (+)= sum over images of split z, rows oy, texels t of
         *     Dr[b][co][oy][t] . Xs[kx][b][ci][oy s + ky][t]       (+= after the first chunk) */
        IgemmPush g = {.M = C_out, .N = C_in * pl.KT, .Hq = KH, .Wq = KW, .Hs = pl.Hp, .Ws = pl.Wo4, .C4 = 1, .su = 1,
                       .sv = nbc * C_in * pl.Hp * pl.Wo4, .L1 = nbc, .L2 = pl.Ho, .L3 = pl.Wo4,
                       .a1 = (int32_t)(C_out * pl.Ho * pl.Wo4), .a2 = (int32_t)pl.Wo4,
                       .b1 = (int32_t)(C_in * pl.Hp * pl.Wo4), .b2 = (int32_t)(pl.sc * pl.Wo4), .a_off = dr_off,
                       .a_m = pl.Ho * pl.Wo4,
                       .o_m = C_in * pl.KT, .o_b = pl.KT, .o_u = KW, .o_v = 1, .o_z = C_out * C_in * pl.KT};
        if (pl.sc == 1) {
            /* unit row stride: the Ho rows a tap reads are consecutive in both operands, so
             * (oy, t) is one run of Ho Wo4 texels (one long inner loop instead of Ho short ones) */
            g.L2 = 1, g.L3 = pl.Ho * pl.Wo4, g.a2 = g.b2 = 0;
        }
        /* the first chunk writes the partial sums, the others add to them */
        igemm(cmd, "conv_wgrad_gemm", dr, xs, part, g, splits, c > 0, pl.wtm, pl.wtn, 2.0 * C_out * nbc * HWo * C_in * pl.KT);
    }
    /* the first chunk (the largest) wrote every partial sum the fold reads */
    reduce_splits(cmd, part, d_weight, C_out * C_in * pl.KT, VC_MIN(pl.splits, nbw));
}

/* ======================= GPU path: im2col + shared-memory GEMM ======================= */

typedef struct GpuPlan {
    uint32_t Ho, Wo, HWo;  /* output size */
    uint32_t K, Kp, Cop;   /* reduction length of the forward, padded to 4; C_out padded to 4 */
    uint32_t nb, chunks;   /* images per chunk, number of chunks */
    uint32_t splits;       /* wgrad partial sums */
    size_t in_img, out_img; /* floats per image of in and out */
    size_t off_w, off_x, off_y, off_part, total; /* workspace regions (bytes from the aligned base) */
} GpuPlan;

static GpuPlan gpu_plan(VcContext *ctx, const VcConvShape *s) {
    check_shape(s);
    GpuPlan p = {0};
    p.Ho = (uint32_t)vc_conv_out_h(s);
    p.Wo = (uint32_t)vc_conv_out_w(s);
    p.HWo = p.Ho * p.Wo;
    p.K = (uint32_t)(s->C_in * s->KH * s->KW);
    p.Kp = (uint32_t)round_up(p.K, 4);
    p.Cop = (uint32_t)round_up((size_t)s->C_out, 4);
    p.in_img = (size_t)s->C_in * s->H * s->W;
    p.out_img = (size_t)s->C_out * p.HWo;
    /* the unfolded matrix (the largest region) near the chunk budget */
    size_t col_img = (size_t)p.HWo * VC_MAX(p.Kp, (size_t)p.Cop) * 4 + 16 * (size_t)p.K;
    p.nb = images_per_chunk(ctx, s, col_img, vc_context_is_cpu(ctx) ? CPU_CHUNK_BYTES : GPU_CHUNK_BYTES);
    p.chunks = div_up((uint32_t)s->B, p.nb);

    size_t N = (size_t)p.nb * p.HWo, Np = round_up(N, 4);
    uint32_t groups = div_up((uint32_t)s->C_out, 64) * div_up(p.K, 64);
    p.splits = groups >= GPU_MIN_GROUPS ? 1 : div_up(GPU_MIN_GROUPS, groups);
    p.splits = (uint32_t)VC_MIN((size_t)p.splits, VC_MAX((size_t)1, Np / 4 / 16)); /* >= 16 vec4s each */

    size_t w_bytes = VC_MAX((size_t)s->C_out * p.Kp, (size_t)p.K * p.Cop) * 4;
    size_t x_bytes = VC_MAX(VC_MAX(N * p.Kp, N * p.K), (size_t)p.K * Np) * 4;
    size_t y_bytes = VC_MAX(N * p.Cop, (size_t)s->C_out * Np) * 4;
    size_t part_bytes = (size_t)p.splits * s->C_out * p.K * 4;
    size_t range = vc_context_info(ctx)->max_storage_buffer_range;
    VC_ASSERT(x_bytes <= range && y_bytes <= range && w_bytes <= range && part_bytes <= range);
    p.off_w = 0;
    p.off_x = round_up(p.off_w + w_bytes, ALIGN);
    p.off_y = round_up(p.off_x + x_bytes, ALIGN);
    p.off_part = round_up(p.off_y + y_bytes, ALIGN);
    p.total = round_up(p.off_part + part_bytes, ALIGN);
    return p;
}

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
static void im2col(VcCmd *cmd, const VcConvShape *s, const GpuPlan *pl, uint32_t nbc, VcBuffer in, uint32_t x_off,
                   VcBuffer col, bool k_major, const char *label) {
    uint32_t n_pix = nbc * pl->HWo;
    uint32_t rows = k_major ? pl->K : n_pix;
    uint32_t ld4 = k_major ? (uint32_t)round_up(n_pix, 4) / 4 : pl->Kp / 4;
    uint32_t segs = div_up(ld4, IM2COL_SEG);
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
    pc.k4_split = div_up(pc.K4, splits);
    VC_ASSERT((size_t)pc.M * pc.lda4 * 16 <= a.size && (size_t)pc.N * pc.ldb4 * 16 <= b.size);
    VcBuffer bufs[3] = {a, b, c};
    double bytes = 16.0 * ((double)pc.M * pc.lda4 + (double)pc.N * pc.ldb4) + 4.0 * pc.M * pc.N * splits * (1 + pc.accumulate);
    uint32_t gx, gy;
    VcPipelineDesc d = {.shader = "conv_gemm", .bindings = "sss", .push_size = sizeof pc, .spec = {256}, .spec_count = 1};
    size_t tiles = (size_t)div_up(pc.M, 64) * div_up(pc.N, 64); /* one workgroup per 64 x 64 tile */
    vc_grid_1d(tiles, 1, &gx, &gy);
    vc_dispatch(cmd, vc_pipeline_get(vc_cmd_context(cmd), &d), bufs, 3, &pc, gx, gy, splits, label, flops, bytes);
}

static void gpu_forward(VcCmd *cmd, const VcConvShape *s, VcBuffer out, VcBuffer in, VcBuffer weight, VcBuffer work) {
    GpuPlan pl = gpu_plan(vc_cmd_context(cmd), s);
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
    uint32_t C_in, H, W, KH, KW, stride, pad, Ho, Wo, K, total, d_off, accumulate;
} Col2imPush;
_Static_assert(sizeof(Col2imPush) <= 128, "push constants");

static void gpu_backward(VcCmd *cmd, const VcConvShape *s, VcBuffer d_in, bool set, VcBuffer d_weight, VcBuffer d_out,
                         VcBuffer in, VcBuffer weight, VcBuffer work) {
    VcContext *ctx = vc_cmd_context(cmd);
    GpuPlan pl = gpu_plan(ctx, s);
    bool dgrad = d_in.buf != VK_NULL_HANDLE;
    uint32_t C_out = (uint32_t)s->C_out;
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
                             (uint32_t)s->stride, (uint32_t)s->pad, pl.Ho, pl.Wo, pl.K, (uint32_t)(nbc * pl.in_img), din_off,
                             !set};
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
    reduce_splits(cmd, part, d_weight, C_out * pl.K, pl.splits);
}

/* ======================= CPU path, few input channels: direct convolution ======================= */

typedef struct DirectPush {
    uint32_t H, W, Ho, Wo, Wq, pad, total, in_off, out_off, o_b, co0;
} DirectPush;
_Static_assert(sizeof(DirectPush) <= 128, "push constants");

/* out = conv(in, weight) by conv_direct: no copies of the input, one dispatch per chunk of
 * images and block of CB output channels. */
static void direct_forward(VcCmd *cmd, const VcConvShape *s, VcBuffer out, VcBuffer in, VcBuffer weight, VcBuffer work) {
    CpuPlan pl = cpu_plan(vc_cmd_context(cmd), s);
    uint32_t CB = direct_cb(s), K = (uint32_t)(s->C_in * s->KH * s->KW), blocks = (uint32_t)s->C_out / CB;
    uint32_t blk = (uint32_t)direct_block_floats(s), HWo = pl.Ho * pl.Wo, Wq = div_up(pl.Wo, 4);
    size_t in_img = (size_t)s->C_in * s->H * s->W, out_img = (size_t)s->C_out * HWo;
    VcBuffer wp = region(work, pl.off_w, (size_t)blocks * blk * 4);
    /* weight (C_out, C_in, KH, KW) -> blocks of CB output channels, each at a 256-byte boundary */
    pack(cmd, "conv_fwd_pack_w", weight, wp,
         (PackPush){.rows = blocks, .cols = CB * K, .cols4 = blk / 4, .rdiv = NODIV, .r_lo = CB * K, .cdiv = NODIV, .c_lo = 1});
    for (uint32_t c = 0; c < pl.chunks; c++) {
        uint32_t b0 = c * pl.nb, nbc = VC_MIN(pl.nb, (uint32_t)s->B - b0);
        uint32_t in_off, out_off;
        VcBuffer in_c = images(in, in_img, b0, nbc, &in_off), out_c = images(out, out_img, b0, nbc, &out_off);
        bool vec4 = pl.Wo % 4 == 0 && out_off % 4 == 0;
        VcPipelineDesc d = {.shader = "conv_direct", .bindings = "sss", .push_size = sizeof(DirectPush),
                            .spec = {VC_WG_1D, CB, (uint32_t)s->C_in, (uint32_t)s->KH, (uint32_t)s->KW, (uint32_t)s->stride, vec4},
                            .spec_count = 7};
        VcPipeline *p = vc_pipeline_get(vc_cmd_context(cmd), &d);
        for (uint32_t z = 0; z < blocks; z++) {
            DirectPush pc = {(uint32_t)s->H, (uint32_t)s->W, pl.Ho, pl.Wo, Wq, (uint32_t)s->pad, nbc * pl.Ho * Wq, in_off,
                             out_off, (uint32_t)out_img, z * CB};
            VcBuffer bufs[3] = {in_c, vc_buffer_slice(wp, (size_t)z * blk * 4, (size_t)blk * 4), out_c};
            vc_dispatch_1d(cmd, p, bufs, 3, &pc, pc.total, "conv_fwd_direct", 2.0 * nbc * CB * HWo * K,
                           4.0 * (nbc * in_img + (double)nbc * CB * HWo));
        }
    }
}

/* ======================= API ======================= */

size_t vc_conv2d_workspace_bytes(VcContext *ctx, const VcConvShape *s) {
    /* room for either path (tests switch variants on one device); + ALIGN: the base is
     * aligned up inside `work` */
    return VC_MAX(cpu_plan(ctx, s).total, gpu_plan(ctx, s).total) + ALIGN;
}

/* The op scope of a conv pass: input, weight, stride/padding and output shapes. */
static void conv_scope(VcCmd *cmd, const VcConvShape *s) {
    vc_cmd_op_begin(cmd, "x %dx%dx%dx%d w %dx%dx%dx%d s%d p%d -> %dx%dx%dx%d", s->B, s->C_in, s->H, s->W, s->C_out,
                    s->C_in, s->KH, s->KW, s->stride, s->pad, s->B, s->C_out, vc_conv_out_h(s), vc_conv_out_w(s));
}

void vc_conv2d_forward(VcCmd *cmd, const VcConvShape *s, VcBuffer out, VcBuffer in, VcBuffer weight, VcBuffer work) {
    check_shape(s);
    size_t in_n = (size_t)s->B * s->C_in * s->H * s->W, out_n = (size_t)s->B * s->C_out * vc_conv_out_h(s) * vc_conv_out_w(s);
    VC_ASSERT(in.size >= in_n * 4 && out.size >= out_n * 4 && weight.size >= (size_t)s->C_out * s->C_in * s->KH * s->KW * 4);
    conv_scope(cmd, s);
    if (use_cpu_kernels(vc_cmd_context(cmd))) {
        if (direct_ok(s)) direct_forward(cmd, s, out, in, weight, work);
        else cpu_forward(cmd, s, out, in, weight, work);
    } else gpu_forward(cmd, s, out, in, weight, work);
    vc_cmd_op_end(cmd);
}

static void backward(VcCmd *cmd, const VcConvShape *s, VcBuffer d_in, bool set, VcBuffer d_weight, VcBuffer d_out,
                     VcBuffer in, VcBuffer weight, VcBuffer work) {
    check_shape(s);
    size_t in_n = (size_t)s->B * s->C_in * s->H * s->W, out_n = (size_t)s->B * s->C_out * vc_conv_out_h(s) * vc_conv_out_w(s);
    size_t w_n = (size_t)s->C_out * s->C_in * s->KH * s->KW;
    VC_ASSERT(in.size >= in_n * 4 && d_out.size >= out_n * 4 && weight.size >= w_n * 4 && d_weight.size >= w_n * 4);
    VC_ASSERT(d_in.buf == VK_NULL_HANDLE || d_in.size >= in_n * 4);
    conv_scope(cmd, s);
    if (use_cpu_kernels(vc_cmd_context(cmd))) cpu_backward(cmd, s, d_in, set, d_weight, d_out, in, weight, work);
    else gpu_backward(cmd, s, d_in, set, d_weight, d_out, in, weight, work);
    vc_cmd_op_end(cmd);
}

void vc_conv2d_backward(VcCmd *cmd, const VcConvShape *s, VcBuffer d_in, VcBuffer d_weight, VcBuffer d_out, VcBuffer in,
                        VcBuffer weight, VcBuffer work) {
    backward(cmd, s, d_in, false, d_weight, d_out, in, weight, work);
}

void vc_conv2d_backward_set(VcCmd *cmd, const VcConvShape *s, VcBuffer d_in, VcBuffer d_weight, VcBuffer d_out,
                            VcBuffer in, VcBuffer weight, VcBuffer work) {
    backward(cmd, s, d_in, true, d_weight, d_out, in, weight, work);
}
