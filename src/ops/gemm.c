/* gemm.c — host side of shaders/gemm.comp (see gemm.h for the contract).
 *
 * Operands are bound as given (slices must respect the device's storage offset alignment,
 * which the model and activation arenas do: every tensor starts on 256 bytes). One
 * dispatch per call; the batch is the grid's z dimension.
 */
#include "ops/gemm.h"

#include "ops/op.h"

#define GEMM_WG 64u
#define TEX_TM 16u /* rows and columns of C per invocation of the texel kernel */
#define TEX_TN 8u

typedef struct {
    uint32_t M, N, K, stride_a, stride_b, stride_c;
    float alpha, beta;
    uint32_t has_bias, tiles_n, tiles;
} GemmPush;
_Static_assert(sizeof(GemmPush) <= 128, "push constants");

static VcGemmVariant g_forced = VC_GEMM_AUTO;

void vc_gemm_force_variant(VcGemmVariant v) { g_forced = v; }

const char *vc_gemm_variant_name(VcGemmVariant v) {
    switch (v) {
    case VC_GEMM_SIMPLE: return "simple";
    case VC_GEMM_REG4: return "reg4";
    case VC_GEMM_TEXEL: return "texel";
    default: return "auto";
    }
}

double vc_gemm_flops(const VcGemmShape *s) { return 2.0 * s->M * (double)s->N * s->K * (s->batch > 1 ? s->batch : 1); }

/* Bytes of an operand region that batch items [0, batch) touch. */
static size_t span(size_t item, size_t stride, int batch) { return (batch > 1 ? (size_t)(batch - 1) * stride : 0) + item; }

bool vc_gemm_texel_ok(const VcGemmShape *s, VcBuffer a, VcBuffer b) {
    bool batched = s->batch > 1;
    return !s->trans_a && s->trans_b && s->K % 4 == 0 && a.offset % 16 == 0 && b.offset % 16 == 0 && a.size % 16 == 0 &&
           b.size % 16 == 0 && (!batched || (s->stride_a % 4 == 0 && s->stride_b % 4 == 0));
}

void vc_gemm(VcCmd *cmd, const VcGemmShape *s, VcBuffer a, VcBuffer b, VcBuffer c, const VcBuffer *bias) {
    VC_ASSERT(s->M >= 1 && s->N >= 1 && s->K >= 1);
    int batch = s->batch > 1 ? s->batch : 1;
    VC_ASSERT(batch <= 65535);
    size_t M = (size_t)s->M, N = (size_t)s->N, K = (size_t)s->K;
    VC_ASSERT(span(M * K, s->stride_a, batch) * 4 <= a.size && span(K * N, s->stride_b, batch) * 4 <= b.size);
    VC_ASSERT(span(M * N, s->stride_c, batch) * 4 <= c.size && (!bias || N * 4 <= bias->size));
    bool texel_ok = vc_gemm_texel_ok(s, a, b);
    VcGemmVariant v = g_forced != VC_GEMM_AUTO ? g_forced : texel_ok ? VC_GEMM_TEXEL : VC_GEMM_REG4;
    if (v == VC_GEMM_TEXEL && !texel_ok) v = VC_GEMM_REG4; /* forced but not applicable */
    uint32_t tile = v == VC_GEMM_SIMPLE ? 1 : 4, tm = v == VC_GEMM_TEXEL ? TEX_TM : tile, tn = v == VC_GEMM_TEXEL ? TEX_TN : tile;
    VcContext *ctx = vc_cmd_context(cmd);
    static const char *shader[] = {"gemm_reg4", "gemm_simple", "gemm_reg4", "gemm_tex"};
    VcPipelineDesc d = {.shader = shader[v], .bindings = v == VC_GEMM_TEXEL ? "ttss" : "ssss",
                        .push_size = sizeof(GemmPush), .spec = {GEMM_WG, s->trans_a, s->trans_b}, .spec_count = 3};
    if (v == VC_GEMM_TEXEL) d.spec[1] = tm, d.spec[2] = tn;
    size_t tiles_n = (N + tn - 1) / tn, tiles = ((M + tm - 1) / tm) * tiles_n;
    VC_ASSERT(tiles <= UINT32_MAX);
    GemmPush pc = {(uint32_t)M, (uint32_t)N, (uint32_t)K, (uint32_t)s->stride_a, (uint32_t)s->stride_b, (uint32_t)s->stride_c,
                   s->alpha == 0.0f ? 1.0f : s->alpha, s->beta, bias != NULL, (uint32_t)tiles_n, (uint32_t)tiles};
    VcBuffer bufs[4] = {a, b, c, bias ? *bias : c};
    uint32_t gx, gy;
    vc_grid_1d(tiles, GEMM_WG, &gx, &gy);
    double bytes = 4.0 * batch * (double)(M * K + K * N + M * N * (s->beta != 0.0f ? 2 : 1));
    vc_dispatch(cmd, vc_pipeline_get(ctx, &d), bufs, 4, &pc, gx, gy, (uint32_t)batch, "gemm", vc_gemm_flops(s), bytes);
}
