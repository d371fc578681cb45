/* loss.c — host side of the loss shaders: row L2 normalization (l2norm_*.comp), softmax
 * cross-entropy (xent*.comp) and NT-Xent (ntxent_*.comp).
 *
 * Both losses end in a single float on the device with no scratch buffer beyond what the
 * API passes in: each row's loss is parked in a gradient entry that is not final yet
 * (cross-entropy: the label's entry; NT-Xent: the diagonal of G, outside the softmax),
 * and a one-workgroup pass sums them in a fixed order and writes the real value back.
 *
 * NT-Xent in three dispatches, with `sim` the only N2 x N2 matrix:
 *   1 ntxent_rows  S = z z^T / T, then G = (P - Y) / (N2 T) in place, row losses on the
 *                  diagonal; a workgroup owns TM whole rows, so the softmax normalizer
 *                  is found while S is computed (online max / sum) (2 N2^2 D flops)
 *   2 ntxent_loss  loss = mean of the diagonal, diagonal cleared
 *   3 ntxent_grad  dz = (G + G^T) z                              (4 N2^2 D flops)
 * Passes 1 and 3 are register-blocked. On CPU devices they (and cross-entropy) read their
 * big inputs as RGBA32F texel buffers where shapes and offsets allow (much cheaper than
 * storage-buffer loads on lavapipe); the plain storage-buffer variants take any shape
 * and are what GPUs run.
 */
#include "ops/loss.h"

#include "ops/op.h"

#define VC_L2NORM_EPS 1e-12f

typedef struct { uint32_t rows, D; float eps; } L2Push;
typedef struct { uint32_t rows, classes; float grad_scale; } XentPush;
typedef struct { uint32_t n2, D; float inv_t, g_scale; } RowsPush;
typedef struct { uint32_t n2; } NtLossPush;
typedef struct { uint32_t n2, D; } GradPush;
_Static_assert(sizeof(L2Push) <= 128 && sizeof(XentPush) <= 128 && sizeof(RowsPush) <= 128, "push constants");
_Static_assert(sizeof(NtLossPush) <= 128 && sizeof(GradPush) <= 128, "push constants");

static bool fits(VcBuffer b, size_t floats) { return floats * sizeof(float) <= b.size; }

/* Kernel choice (see loss.h): texel-buffer reads and CPU sizes on CPU devices. */
static bool g_force_gpu_sizes, g_force_plain;
void vc_loss_force_gpu_sizes(bool on) { g_force_gpu_sizes = on; }
void vc_loss_force_plain(bool on) { g_force_plain = on; }
static bool cpu_sizes(VcContext *ctx) { return vc_context_is_cpu(ctx) && !g_force_gpu_sizes; }

/* Read b as RGBA32F texels? Only on CPU devices, where it pays (GPUs load storage
 * buffers well, and their texel-count limits vary). The view's offset must be aligned to
 * minTexelBufferOffsetAlignment (<= 256 by the spec; every vc_buffer_alloc range is
 * 256-aligned), its size a multiple of 16 bytes (the caller checks the shape). */
static bool use_texel(VcContext *ctx, VcBuffer b) { return vc_context_is_cpu(ctx) && !g_force_plain && b.offset % 256 == 0; }

/* ---- l2norm ---- */

void vc_l2norm_forward(VcCmd *cmd, int rows, int D, VcBuffer out, VcBuffer x, VcBuffer norms) {
    vc_cmd_op_begin(cmd, "x %dx%d (rows, D)", rows, D);
    VC_ASSERT(rows >= 1 && D >= 1 && D <= VC_L2NORM_MAX_D && (size_t)rows * D <= UINT32_MAX);
    VC_ASSERT(fits(out, (size_t)rows * D) && fits(x, (size_t)rows * D) && fits(norms, (size_t)rows));
    L2Push pc = {(uint32_t)rows, (uint32_t)D, VC_L2NORM_EPS};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "l2norm_fwd", "sss", sizeof pc);
    VcBuffer b[3] = {out, x, norms};
    double n = (double)rows * D;
    vc_dispatch_1d(cmd, p, b, 3, &pc, (size_t)rows, "l2norm_fwd", 3 * n, 4 * (2 * n + rows));
    vc_cmd_op_end(cmd);
}

void vc_l2norm_backward(VcCmd *cmd, int rows, int D, VcBuffer d_x, VcBuffer d_out, VcBuffer out, VcBuffer norms) {
    vc_cmd_op_begin(cmd, "x %dx%d (rows, D)", rows, D);
    VC_ASSERT(rows >= 1 && D >= 1 && D <= VC_L2NORM_MAX_D && (size_t)rows * D <= UINT32_MAX);
    VC_ASSERT(fits(d_x, (size_t)rows * D) && fits(d_out, (size_t)rows * D) && fits(out, (size_t)rows * D) &&
              fits(norms, (size_t)rows));
    L2Push pc = {(uint32_t)rows, (uint32_t)D, VC_L2NORM_EPS};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "l2norm_bwd", "ssss", sizeof pc);
    VcBuffer b[4] = {d_x, d_out, out, norms};
    double n = (double)rows * D;
    vc_dispatch_1d(cmd, p, b, 4, &pc, (size_t)rows, "l2norm_bwd", 5 * n, 4 * (4 * n + rows));
    vc_cmd_op_end(cmd);
}

/* ---- row-softmax workgroups ---- */

/* Largest workgroup of the kernels with shared arrays (shaders/xent_reduce.glsl,
 * ntxent_rows.comp: 256 floats each). */
#define VC_ROW_WG_MAX 256u

/* Workgroup size (a power of two) for a kernel that spreads one row of `len` over a
 * workgroup. CPU devices run a workgroup on one thread, SIMD across invocations, and pay
 * for every barrier of the reduction: small groups. GPUs want enough lanes per row. */
static uint32_t row_wg(VcContext *ctx, int len) {
    if (cpu_sizes(ctx)) return len <= 256 ? 8 : 16;
    uint32_t wg = 32;
    while (wg < VC_ROW_WG_MAX && (int)wg < len) wg *= 2;
    return wg;
}

static VcPipeline *row_pipeline(VcContext *ctx, const char *shader, const char *bindings, uint32_t push, uint32_t wg) {
    VC_ASSERT(wg >= 1 && wg <= VC_ROW_WG_MAX && (wg & (wg - 1)) == 0);
    VcPipelineDesc d = {.shader = shader, .bindings = bindings, .push_size = push, .spec = {wg}, .spec_count = 1};
    return vc_pipeline_get(ctx, &d);
}

/* ---- cross-entropy ---- */

void vc_cross_entropy(VcCmd *cmd, int rows, int classes, VcBuffer loss, VcBuffer d_logits, VcBuffer logits, VcBuffer labels,
                      float scale) {
    vc_cmd_op_begin(cmd, "logits %dx%d (rows, classes)", rows, classes);
    VC_ASSERT(rows >= 1 && classes >= 1 && (size_t)rows * classes <= UINT32_MAX);
    VC_ASSERT(fits(loss, 1) && fits(d_logits, (size_t)rows * classes) && fits(logits, (size_t)rows * classes) &&
              labels.size >= (size_t)rows * sizeof(int32_t));
    VcContext *ctx = vc_cmd_context(cmd);
    XentPush pc = {(uint32_t)rows, (uint32_t)classes, scale / (float)rows};
    double n = (double)rows * classes;

    bool tex = (size_t)rows * classes % 4 == 0 && use_texel(ctx, logits);
    VcPipeline *p = row_pipeline(ctx, tex ? "xent_t" : "xent", tex ? "sts" : "sss", sizeof pc, row_wg(ctx, classes));
    VcBuffer b1[3] = {d_logits, vc_buffer_slice(logits, 0, (size_t)n * sizeof(float)), labels};
    vc_dispatch(cmd, p, b1, 3, &pc, (uint32_t)VC_MIN(rows, 65535), 1, 1, "xent", 6 * n, 4 * (3 * n + rows));

    uint32_t wg = cpu_sizes(ctx) ? 64 : 256;
    p = row_pipeline(ctx, "xent_finish", "sss", sizeof pc, wg);
    VcBuffer b2[3] = {loss, d_logits, labels};
    vc_dispatch(cmd, p, b2, 3, &pc, 1, 1, 1, "xent_finish", 4.0 * rows, 4 * (3.0 * rows + 1));
    vc_cmd_op_end(cmd);
}

/* ---- NT-Xent ---- */

/* Register tiles of passes 1 and 3 and their workgroup sizes. CPU devices (lavapipe) run
 * a workgroup on one thread, 8 lanes wide, and pay for every barrier and storage-buffer
 * load: one SIMD-wide group per row block and bigger register blocks. GPUs want more
 * invocations per row block. rows_wg * rows_tm <= VC_ROW_WG_MAX (shared arrays). */
typedef struct { uint32_t rows_wg, rows_tm, rows_tn, grad_wg, grad_tm, grad_td; } NtTiles;

static NtTiles nt_tiles(VcContext *ctx) {
    if (cpu_sizes(ctx)) return (NtTiles){8, 4, 4, 8, 8, 8};
    return (NtTiles){64, 4, 4, 64, 4, 4};
}

/* Workgroup size for `blocks` invocations along x: a power of two up to `cap`. */
static uint32_t wg_for(size_t blocks, uint32_t cap) {
    uint32_t wg = 1;
    while (wg < cap && wg < blocks) wg *= 2;
    return wg;
}

void vc_ntxent(VcCmd *cmd, int N2, int D, float temperature, VcBuffer loss, VcBuffer dz, VcBuffer z, VcBuffer sim) {
    vc_cmd_op_begin(cmd, "z %dx%d (2N, D) -> sim %dx%d", N2, D, N2, N2);
    VC_ASSERT(N2 >= 2 && N2 % 2 == 0 && N2 <= 65535 && D >= 1 && temperature > 0);
    VC_ASSERT((size_t)N2 * N2 <= UINT32_MAX && (size_t)N2 * D <= UINT32_MAX);
    VC_ASSERT(fits(loss, 1) && fits(dz, (size_t)N2 * D) && fits(z, (size_t)N2 * D) && fits(sim, (size_t)N2 * N2));
    VcContext *ctx = vc_cmd_context(cmd);
    NtTiles t = nt_tiles(ctx);
    double nn = (double)N2 * N2, nd = (double)N2 * D;
    /* exact ranges: texel views must be multiples of 16 bytes, which these are when used */
    VcBuffer S = vc_buffer_slice(sim, 0, (size_t)nn * sizeof(float));
    VcBuffer Z = vc_buffer_slice(z, 0, (size_t)nd * sizeof(float));

    /* 1: S = z z^T / T and G = (softmax(S) - Y) / (N2 T) in place, row losses on the diagonal */
    bool tex = D % 4 == 0 && use_texel(ctx, z);
    uint32_t tm = t.rows_tm, tn = t.rows_tn, wg = t.rows_wg;
    VC_ASSERT(tm * wg <= VC_ROW_WG_MAX);
    RowsPush rp = {(uint32_t)N2, (uint32_t)D, 1.0f / temperature, 1.0f / ((float)N2 * temperature)};
    VcPipelineDesc d1 = {.shader = tex ? "ntxent_rows_t" : "ntxent_rows", .bindings = tex ? "st" : "ss",
                         .push_size = sizeof rp, .spec = {wg, tm, tn}, .spec_count = 3};
    VcBuffer b1[2] = {S, Z};
    vc_dispatch(cmd, vc_pipeline_get(ctx, &d1), b1, 2, &rp, VC_CEIL_DIV((uint32_t)N2, tm), 1, 1, "ntxent_rows",
                2 * nn * D + 12 * nn, 4 * (3 * nn + nd * ((double)N2 / tm + 1)));

    /* 2: loss = mean of the diagonal, which is then cleared */
    NtLossPush lp = {(uint32_t)N2};
    VcPipeline *p = row_pipeline(ctx, "ntxent_loss", "ss", sizeof lp, cpu_sizes(ctx) ? 64 : 256);
    VcBuffer b2[2] = {loss, S};
    vc_dispatch(cmd, p, b2, 2, &lp, 1, 1, 1, "ntxent_loss", N2, 4 * (2.0 * N2 + 1));

    /* 3: dz = (G + G^T) z; workgroup y = a block of TM rows, x = blocks of TD columns */
    uint32_t gm = t.grad_tm, gd = t.grad_td;
    tex = N2 % 4 == 0 && D % 4 == 0 && use_texel(ctx, z) && use_texel(ctx, sim);
    if (tex) {
        while (gm > 4 && N2 % gm) gm /= 2; /* powers of two >= 4 */
        while (gd > 4 && D % gd) gd /= 2;
        tex = gm % 4 == 0 && gd % 4 == 0 && N2 % gm == 0 && D % gd == 0;
    }
    if (!tex) gm = t.grad_tm, gd = t.grad_td;
    GradPush gp = {(uint32_t)N2, (uint32_t)D};
    size_t blocks = VC_CEIL_DIV((size_t)D, gd);
    wg = wg_for(blocks, t.grad_wg);
    VcPipelineDesc d3 = {.shader = tex ? "ntxent_grad_t" : "ntxent_grad", .bindings = tex ? "stt" : "sss",
                         .push_size = sizeof gp, .spec = {wg, gm, gd}, .spec_count = 3};
    VcBuffer b3[3] = {dz, S, Z};
    vc_dispatch(cmd, vc_pipeline_get(ctx, &d3), b3, 3, &gp, (uint32_t)VC_CEIL_DIV(blocks, wg), VC_CEIL_DIV((uint32_t)N2, gm), 1,
                "ntxent_grad", 4 * nn * D, 4 * (nd + 2 * nn + nd * (double)N2 / gm));
    vc_cmd_op_end(cmd);
}
