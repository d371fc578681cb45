/* gemm.c — host side of the GEMM kernels: variant choice, bound ranges, batch and row
 * chunking, push constants.
 *
 * Kernels (all compute the same thing, see gemm.h; tests/test_gemm.c checks each):
 *   SIMPLE  shaders/gemm_simple.comp   one invocation per output; any shape
 *   TEXEL   shaders/gemm_reg.comp      register-blocked, for CPU devices. Variant
 *           gemm_reg_tex reads RGBA32F texel buffers; it needs each operand's contiguous
 *           dimension, offset and batch stride to be multiples of 4 floats. Otherwise
 *           (e.g. K = 9 with A (M, K), or a slice at an odd float offset) the same kernel
 *           runs as gemm_reg_ssbo, reading storage buffers one float at a time: 4-5x
 *           slower, but no copies and no scratch memory. The TEXEL variant never pads or
 *           transposes into scratch; callers that want its speed lay data out for it.
 *   TILED   shaders/gemm_tiled.comp    shared-memory tiles for GPUs
 *   AUTO    TEXEL on CPU devices (vc_context_is_cpu), TILED on GPUs.
 *
 * Bound ranges: each operand is bound from its first to its last element, with the start
 * aligned down to 256 bytes (the largest offset alignment Vulkan allows) and the element
 * offset passed in push constants, so slices at any float offset work. When a range
 * exceeds the device's limits (maxStorageBufferRange, maxTexelBufferElements; 128 MiB on
 * lavapipe) or the batch exceeds 65535 groups in z, the call is split into several
 * dispatches over batch items, then over rows of C (when A is not transposed).
 *
 * Long reductions: K > GEMM_MAX_K runs as dispatches over chunks of K, each adding its
 * partial product to C (the first applies beta and the bias, the rest beta = 1), because
 * lavapipe silently stops an invocation after 65535 loop iterations (a 9 x 10 x 600000
 * product came out wrong in every kernel before). K-contiguous operands keep their row
 * length lk = K in the push constants while the loop runs over the chunk.
 */
#include "ops/gemm.h"

#include <stdio.h>
#include <stdlib.h>

#include "ops/op.h"

/* Mirrors the push block in shaders/gemm_common.glsl. */
typedef struct GemmPush {
    uint32_t M, N, K;
    uint32_t a_off, b_off, c_off, bias_off; /* elements from the start of each bound range */
    uint32_t stride_a, stride_b, stride_c;  /* elements between batch items */
    float alpha, beta;
    uint32_t flags; /* 1: add bias; 2: C rows in whole vec4 (gemm_reg writes vec4) */
    uint32_t lk;    /* row length of K-contiguous operands (the whole K) */
} GemmPush;
_Static_assert(sizeof(GemmPush) <= 128, "push constants");

#define BIND_ALIGN 256u /* bytes: >= every device's min{Storage,Texel}BufferOffsetAlignment */
#define REG_TM 32       /* TM x TN of gemm_reg_tex, and TM of gemm_reg_ssbo (shaders/gemm_reg.comp) */
#define REG_TN 16
#define REG_SSBO_TN 8   /* gemm_reg_ssbo: smaller, as its loads make much more code to compile */
#define REG_WG 16       /* invocations per workgroup of gemm_reg */
#define SIMPLE_WG 16    /* 16 x 16 workgroups of gemm_simple */
#define GEMM_MAX_K 16384 /* K per dispatch (a multiple of 4): loop iterations stay far below 65535 */

static VcGemmVariant g_forced = VC_GEMM_AUTO;

void vc_gemm_force_variant(VcGemmVariant v) {
    VC_ASSERT(v >= VC_GEMM_AUTO && v < VC_GEMM_VARIANT_COUNT);
    g_forced = v;
}

const char *vc_gemm_variant_name(VcGemmVariant v) {
    switch (v) {
    case VC_GEMM_AUTO: return "auto";
    case VC_GEMM_SIMPLE: return "simple";
    case VC_GEMM_TEXEL: return "texel";
    case VC_GEMM_TILED: return "tiled";
    default: return "?";
    }
}

static int batch_of(const VcGemmShape *s) { return s->batch > 1 ? s->batch : 1; }

double vc_gemm_flops(const VcGemmShape *s) { return 2.0 * s->M * (double)s->N * s->K * batch_of(s); }

/* One operand's bound range: elements [first, first + count) of buffer b, bound from the
 * 256-byte boundary at or below `first`; *off receives the element offset inside. */
static VcBuffer bind_range(VcBuffer b, size_t first, size_t count, bool texel, uint32_t *off) {
    VC_ASSERT((b.offset & 3) == 0);
    VkDeviceSize start = b.offset + first * 4, aligned = start & ~(VkDeviceSize)(BIND_ALIGN - 1);
    VkDeviceSize end = start + count * 4;
    if (texel) end = (end + 15) & ~(VkDeviceSize)15; /* views are whole texels; allocations are padded to 256 B */
    *off = (uint32_t)((start - aligned) / 4);
    return (VcBuffer){.buf = b.buf, .offset = aligned, .size = end - aligned};
}

/* What one dispatch covers: batch items [b0, b0 + nb), rows of C [m0, m0 + mc), the
 * reduction over [k0, k0 + kc). */
typedef struct Chunk { int b0, nb, m0, mc, k0, kc; } Chunk;

/* Elements of each operand one dispatch reads or writes (from item b0's first element). */
static void chunk_extent(const VcGemmShape *s, const Chunk *ch, size_t ext[3], size_t first[3]) {
    size_t M = (size_t)s->M, N = (size_t)s->N, K = (size_t)s->K, k0 = (size_t)ch->k0, kc = (size_t)ch->kc;
    size_t last = (size_t)(ch->nb - 1);
    if (s->trans_a) first[0] = ch->b0 * s->stride_a + k0 * M + ch->m0, ext[0] = last * s->stride_a + (kc - 1) * M + ch->mc;
    else first[0] = ch->b0 * s->stride_a + ch->m0 * K + k0, ext[0] = last * s->stride_a + (ch->mc - 1) * K + kc;
    if (s->trans_b) first[1] = ch->b0 * s->stride_b + k0, ext[1] = last * s->stride_b + (N - 1) * K + kc;
    else first[1] = ch->b0 * s->stride_b + k0 * N, ext[1] = last * s->stride_b + kc * N;
    first[2] = ch->b0 * s->stride_c + ch->m0 * N, ext[2] = last * s->stride_c + ch->mc * N;
}

static bool chunk_fits(const VcDeviceInfo *info, const VcGemmShape *s, const Chunk *ch, bool texel) {
    size_t ext[3], first[3];
    chunk_extent(s, ch, ext, first);
    uint64_t storage = info->max_storage_buffer_range, texels = info->max_texel_buffer_elements;
    /* + 256 B for the aligned-down start, + 16 B for texel rounding */
    for (int i = 0; i < 2; i++) {
        uint64_t bytes = ext[i] * 4 + BIND_ALIGN + 16;
        if (texel ? bytes / 16 > texels : bytes > storage) return false;
        if (ext[i] + BIND_ALIGN / 4 > UINT32_MAX) return false; /* indices are 32-bit in the shaders */
    }
    return ext[2] * 4 + BIND_ALIGN <= storage && ext[2] + BIND_ALIGN / 4 <= UINT32_MAX;
}

/* Can gemm_reg_tex read this problem (contiguous dims, offsets and strides in whole texels)? */
static bool texel_ok(const VcGemmShape *s, VcBuffer a, VcBuffer b) {
    bool batched = batch_of(s) > 1;
    int ca = s->trans_a ? s->M : s->K, cb = s->trans_b ? s->K : s->N;
    if (ca % 4 || cb % 4 || a.offset % 16 || b.offset % 16) return false;
    if (batched && (s->stride_a % 4 || s->stride_b % 4)) return false;
    return true;
}

typedef struct Plan {
    VcPipeline *pipe;
    const char *bindings; /* kinds of A and B: "tt" or "ss" */
    int kind;             /* VC_GEMM_SIMPLE / TEXEL / TILED */
    uint32_t bm, bn;      /* TILED block sizes; TEXEL: outputs per invocation */
} Plan;

static Plan make_plan(VcContext *ctx, const VcGemmShape *s, VcGemmVariant v, bool texel) {
    const VcDeviceInfo *info = vc_context_info(ctx);
    Plan p = {.kind = v, .bindings = texel ? "ttss" : "ssss"};
    VcPipelineDesc d = {.push_size = sizeof(GemmPush), .bindings = p.bindings};
    if (v == VC_GEMM_SIMPLE) {
        d.shader = "gemm_simple";
        d.spec[0] = SIMPLE_WG, d.spec[1] = SIMPLE_WG, d.spec[2] = s->trans_a, d.spec[3] = s->trans_b;
        d.spec_count = 4;
    } else if (v == VC_GEMM_TEXEL) {
        d.shader = texel ? "gemm_reg_tex" : "gemm_reg_ssbo";
        p.bm = REG_TM, p.bn = texel ? REG_TN : REG_SSBO_TN;
        d.spec[0] = REG_WG, d.spec[1] = s->trans_a, d.spec[2] = s->trans_b;
        d.spec_count = 3;
    } else {
        /* 128 x 128 blocks (8 x 8 outputs per thread) when the problem has enough of them
         * to fill a GPU; BK = 32 when both 32-deep tiles take at most half the shared
         * memory, else 16 (8 with 128 x 128 blocks on a device with the minimum 16 KiB). */
        bool big = (double)s->M * s->N * batch_of(s) >= 256.0 * 128 * 128 && s->M >= 128 && s->N >= 128;
        p.bm = p.bn = big ? 128 : 64;
        size_t row = (size_t)(p.bm + 4 + p.bn + 4) * 4; /* shared bytes per k: both tiles, rows padded by a vec4 */
        uint32_t bk = 32 * row <= info->shared_memory / 2 ? 32 : 16;
        while (bk * row > info->shared_memory && bk > 4) bk /= 2;
        d.shader = "gemm_tiled";
        d.spec[0] = p.bm, d.spec[1] = p.bn, d.spec[2] = bk, d.spec[3] = s->trans_a, d.spec[4] = s->trans_b;
        d.spec_count = 5;
    }
    p.pipe = vc_pipeline_get(ctx, &d);
    return p;
}

static void record_chunk(VcCmd *cmd, const Plan *p, const VcGemmShape *s, const Chunk *ch, VcBuffer a, VcBuffer b,
                         VcBuffer c, const VcBuffer *bias) {
    size_t ext[3], first[3];
    chunk_extent(s, ch, ext, first);
    bool texel = p->bindings[0] == 't';
    bool first_k = ch->k0 == 0; /* later K chunks add to what the first wrote */
    if (!first_k) bias = NULL;
    GemmPush pc = {.M = (uint32_t)ch->mc, .N = (uint32_t)s->N, .K = (uint32_t)ch->kc, .lk = (uint32_t)s->K,
                   .stride_a = (uint32_t)s->stride_a, .stride_b = (uint32_t)s->stride_b, .stride_c = (uint32_t)s->stride_c,
                   .alpha = s->alpha == 0.0f ? 1.0f : s->alpha, .beta = first_k ? s->beta : 1.0f, .flags = bias != NULL};
    VcBuffer bufs[4];
    bufs[0] = bind_range(a, first[0], ext[0], texel, &pc.a_off);
    bufs[1] = bind_range(b, first[1], ext[1], texel, &pc.b_off);
    bufs[2] = bind_range(c, first[2], ext[2], false, &pc.c_off);
    if (bias) bufs[3] = bind_range(*bias, 0, (size_t)s->N, false, &pc.bias_off);
    else bufs[3] = bufs[2]; /* unused binding: any valid range */
    if (s->trans_a) pc.M = (uint32_t)s->M; /* A (K, M): M stays the leading dimension; rows are not split then */
    if (s->N % 4 == 0 && pc.c_off % 4 == 0 && (ch->nb == 1 || s->stride_c % 4 == 0) && (!bias || pc.bias_off % 4 == 0))
        pc.flags |= 2;

    uint32_t gx, gy;
    if (p->kind == VC_GEMM_SIMPLE) {
        gx = (uint32_t)VC_MIN(((size_t)s->N + SIMPLE_WG - 1) / SIMPLE_WG, 65535);
        gy = (uint32_t)VC_MIN(((size_t)ch->mc + SIMPLE_WG - 1) / SIMPLE_WG, 65535);
    } else if (p->kind == VC_GEMM_TEXEL) {
        size_t tiles = (((size_t)ch->mc + p->bm - 1) / p->bm) * (((size_t)s->N + p->bn - 1) / p->bn);
        vc_grid_1d(tiles, REG_WG, &gx, &gy);
    } else {
        gx = (uint32_t)VC_MIN(((size_t)s->N + p->bn - 1) / p->bn, 65535);
        gy = (uint32_t)VC_MIN(((size_t)ch->mc + p->bm - 1) / p->bm, 65535);
    }
    double items = ch->nb, M = ch->mc, N = s->N, K = ch->kc;
    double bytes = 4.0 * items * (M * K + K * N + M * N * (pc.beta != 0.0f ? 2 : 1));
    vc_dispatch(cmd, p->pipe, bufs, 4, &pc, gx, gy, (uint32_t)ch->nb, "gemm", 2.0 * items * M * N * K, bytes);
}

/* The variant and texel choice of vc_gemm, and the largest chunk of the problem one
 * dispatch can take within the device's limits: all batch items if possible, else fewer
 * items, else fewer rows of one item (only when A is (M, K): rows of A and C are then
 * contiguous). The texel kernel falls back to storage loads when even that fails. */
static bool choose(VcContext *ctx, const VcGemmShape *s, VcBuffer a, VcBuffer b, VcGemmVariant *v, bool *texel, Chunk *ch) {
    const VcDeviceInfo *info = vc_context_info(ctx);
    int batch = batch_of(s);
    *v = g_forced != VC_GEMM_AUTO ? g_forced : vc_context_is_cpu(ctx) ? VC_GEMM_TEXEL : VC_GEMM_TILED;
    *texel = *v == VC_GEMM_TEXEL && texel_ok(s, a, b);
    int kc = VC_MIN(s->K, GEMM_MAX_K);
    *ch = (Chunk){.b0 = 0, .nb = VC_MIN(batch, 65535), .m0 = 0, .mc = s->M, .k0 = 0, .kc = kc};
    while (!chunk_fits(info, s, ch, *texel)) {
        if (ch->nb > 1) ch->nb = (ch->nb + 1) / 2;
        else if (!s->trans_a && ch->mc > 64) ch->mc = (ch->mc + 1) / 2;
        else if (*texel) { *texel = false; *ch = (Chunk){0, VC_MIN(batch, 65535), 0, s->M, 0, kc}; }
        else return false;
    }
    return true;
}

const char *vc_gemm_kernel(VcContext *ctx, const VcGemmShape *s, VcBuffer a, VcBuffer b) {
    VcGemmVariant v;
    bool texel;
    Chunk ch;
    if (!choose(ctx, s, a, b, &v, &texel, &ch)) return "none (operand too large)";
    return v == VC_GEMM_SIMPLE ? "gemm_simple" : v == VC_GEMM_TILED ? "gemm_tiled" : texel ? "gemm_reg_tex" : "gemm_reg_ssbo";
}

void vc_gemm(VcCmd *cmd, const VcGemmShape *s, VcBuffer a, VcBuffer b, VcBuffer c, const VcBuffer *bias) {
    VcContext *ctx = vc_cmd_context(cmd);
    const VcDeviceInfo *info = vc_context_info(ctx);
    VC_ASSERT(s->M > 0 && s->N > 0 && s->K > 0);
    int batch = batch_of(s);
    size_t M = (size_t)s->M, N = (size_t)s->N, K = (size_t)s->K;
    /* the caller's buffers must hold every batch item */
    size_t last = (size_t)(batch - 1);
    /* A and B items may overlap (stride 0 shares one matrix between items); C items not */
    VC_ASSERT(batch == 1 || s->stride_c >= M * N);
    VC_ASSERT((last * s->stride_a + M * K) * 4 <= a.size && (last * s->stride_b + K * N) * 4 <= b.size);
    VC_ASSERT((last * s->stride_c + M * N) * 4 <= c.size && (!bias || N * 4 <= bias->size));

    VcGemmVariant v;
    bool texel;
    Chunk ch;
    if (!choose(ctx, s, a, b, &v, &texel, &ch)) {
        fprintf(stderr, "vkcontrast: gemm %dx%dx%d (trans_a %d): one operand exceeds the device's buffer range "
                        "of %llu bytes; split the problem\n", s->M, s->N, s->K, s->trans_a,
                (unsigned long long)info->max_storage_buffer_range);
        abort();
    }
    Plan p = make_plan(ctx, s, v, texel);
    int rows = ch.mc;
    vc_cmd_op_begin(cmd, "batch %d x (M %d, N %d, K %d)%s%s%s", batch, s->M, s->N, s->K, s->trans_a ? " A^T" : "",
                    s->trans_b ? " B^T" : "", bias ? " +bias" : "");
    for (int b0 = 0; b0 < batch; b0 += ch.nb) {
        for (int m0 = 0; m0 < s->M; m0 += rows) {
            for (int k0 = 0; k0 < s->K; k0 += ch.kc) {
                Chunk cur = {b0, VC_MIN(ch.nb, batch - b0), m0, VC_MIN(rows, s->M - m0), k0, VC_MIN(ch.kc, s->K - k0)};
                record_chunk(cmd, &p, s, &cur, a, b, c, bias);
            }
        }
    }
    vc_cmd_op_end(cmd);
}
