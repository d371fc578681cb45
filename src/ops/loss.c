/* loss.c — host side of the loss shaders: row L2 normalization (l2norm_*.comp), softmax
 * cross-entropy (xent*.comp) and NT-Xent (ntxent_*.comp).
 *
 * Both losses end in a single float on the device with no scratch buffer beyond what the
 * API passes in: each row's loss is parked in a gradient entry that is not final yet
 * (cross-entropy: the label's entry; NT-Xent: the diagonal of G, outside the softmax),
 * and a one-workgroup pass sums them in a fixed order and writes the real value back.
 *
 * NT-Xent in four dispatches, with `sim` the only N2 x N2 matrix:
 *   1 ntxent_sim      S = z z^T / T                         (2 N2^2 D flops)
 *   2 ntxent_softmax  S -> G = (P - Y) / (N2 T) in place, row losses on the diagonal
 *   3 ntxent_loss     loss = mean of the diagonal, diagonal cleared
 *   4 ntxent_grad     dz = (G + G^T) z                      (4 N2^2 D flops)
 * Passes 1 and 4 are register-blocked (TM x TN outputs per invocation), with vec4 loads
 * when the shapes and buffer offsets allow it, and a scalar variant for any shape.
 */
#include "ops/loss.h"

#include <stdlib.h>

#include "ops/op.h"

#define VC_L2NORM_EPS 1e-12f

typedef struct { uint32_t rows, D; float eps; } L2Push;
typedef struct { uint32_t rows, classes; float grad_scale; } XentPush;
typedef struct { uint32_t n2, D; float inv_t; uint32_t tiles_n; } SimPush;
typedef struct { uint32_t n2; float g_scale; } SoftmaxPush;
typedef struct { uint32_t n2; } NtLossPush;
typedef struct { uint32_t n2, D, tiles_d; } GradPush;
_Static_assert(sizeof(L2Push) <= 128 && sizeof(XentPush) <= 128 && sizeof(SimPush) <= 128, "push constants");
_Static_assert(sizeof(SoftmaxPush) <= 128 && sizeof(NtLossPush) <= 128 && sizeof(GradPush) <= 128, "push constants");

static bool fits(VcBuffer b, size_t floats) { return floats * sizeof(float) <= b.size; }

/* ---- l2norm ---- */

void vc_l2norm_forward(VcCmd *cmd, int rows, int D, VcBuffer out, VcBuffer x, VcBuffer norms) {
    VC_ASSERT(rows >= 1 && D >= 1 && (size_t)rows * D <= UINT32_MAX);
    VC_ASSERT(fits(out, (size_t)rows * D) && fits(x, (size_t)rows * D) && fits(norms, (size_t)rows));
    L2Push pc = {(uint32_t)rows, (uint32_t)D, VC_L2NORM_EPS};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "l2norm_fwd", "sss", sizeof pc);
    VcBuffer b[3] = {out, x, norms};
    double n = (double)rows * D;
    vc_dispatch_1d(cmd, p, b, 3, &pc, (size_t)rows, "l2norm_fwd", 3 * n, 4 * (2 * n + rows));
}

void vc_l2norm_backward(VcCmd *cmd, int rows, int D, VcBuffer d_x, VcBuffer d_out, VcBuffer out, VcBuffer norms) {
    VC_ASSERT(rows >= 1 && D >= 1 && (size_t)rows * D <= UINT32_MAX);
    VC_ASSERT(fits(d_x, (size_t)rows * D) && fits(d_out, (size_t)rows * D) && fits(out, (size_t)rows * D) &&
              fits(norms, (size_t)rows));
    L2Push pc = {(uint32_t)rows, (uint32_t)D, VC_L2NORM_EPS};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "l2norm_bwd", "ssss", sizeof pc);
    VcBuffer b[4] = {d_x, d_out, out, norms};
    double n = (double)rows * D;
    vc_dispatch_1d(cmd, p, b, 4, &pc, (size_t)rows, "l2norm_bwd", 5 * n, 4 * (4 * n + rows));
}

/* ---- row-softmax workgroups ---- */

/* Workgroup size (a power of two) for a kernel that spreads one row of `len` over a
 * workgroup. CPU devices run a workgroup on one thread, SIMD across invocations, and pay
 * for every barrier of the reduction: small groups. GPUs want enough lanes per row. */
static uint32_t row_wg(VcContext *ctx, int len) {
    uint32_t cap = vc_context_is_cpu(ctx) ? 16 : 256, wg = 32;
    while (wg < cap && (int)wg < len) wg *= 2;
    return VC_MIN(wg, cap);
}

/* Largest workgroup of the kernels using shaders/xent_reduce.glsl (its shared array). */
#define VC_ROW_WG_MAX 256u

static VcPipeline *row_pipeline(VcContext *ctx, const char *shader, const char *bindings, uint32_t push, uint32_t wg) {
    VC_ASSERT(wg >= 1 && wg <= VC_ROW_WG_MAX && (wg & (wg - 1)) == 0);
    VcPipelineDesc d = {.shader = shader, .bindings = bindings, .push_size = push, .spec = {wg}, .spec_count = 1};
    return vc_pipeline_get(ctx, &d);
}

/* ---- cross-entropy ---- */

void vc_cross_entropy(VcCmd *cmd, int rows, int classes, VcBuffer loss, VcBuffer d_logits, VcBuffer logits, VcBuffer labels,
                      float scale) {
    VC_ASSERT(rows >= 1 && classes >= 1 && (size_t)rows * classes <= UINT32_MAX);
    VC_ASSERT(fits(loss, 1) && fits(d_logits, (size_t)rows * classes) && fits(logits, (size_t)rows * classes) &&
              labels.size >= (size_t)rows * sizeof(int32_t));
    VcContext *ctx = vc_cmd_context(cmd);
    XentPush pc = {(uint32_t)rows, (uint32_t)classes, scale / (float)rows};
    double n = (double)rows * classes;

    VcPipeline *p = row_pipeline(ctx, "xent", "sss", sizeof pc, row_wg(ctx, classes));
    VcBuffer b1[3] = {d_logits, logits, labels};
    vc_dispatch(cmd, p, b1, 3, &pc, (uint32_t)VC_MIN(rows, 65535), 1, 1, "xent", 6 * n, 4 * (3 * n + rows));

    uint32_t wg = vc_context_is_cpu(ctx) ? 64 : 256;
    p = row_pipeline(ctx, "xent_finish", "sss", sizeof pc, wg);
    VcBuffer b2[3] = {loss, d_logits, labels};
    vc_dispatch(cmd, p, b2, 3, &pc, 1, 1, 1, "xent_finish", 4.0 * rows, 4 * (3.0 * rows + 1));
}

/* ---- NT-Xent ---- */

/* Register tiles of passes 1 and 4. On CPU devices bigger blocks amortize the
 * bounds-checked loads; on GPUs smaller blocks give more invocations (occupancy). */
typedef struct { uint32_t wg, sim_tm, sim_tn, grad_tm, grad_td; } NtTiles;

static NtTiles nt_tiles(VcContext *ctx) {
    if (vc_context_is_cpu(ctx)) return (NtTiles){64, 4, 4, 8, 8};
    return (NtTiles){64, 4, 4, 4, 4};
}

static bool aligned16(VcBuffer b) { return b.offset % 16 == 0; }

void vc_ntxent(VcCmd *cmd, int N2, int D, float temperature, VcBuffer loss, VcBuffer dz, VcBuffer z, VcBuffer sim) {
    VC_ASSERT(N2 >= 2 && N2 % 2 == 0 && N2 <= 65535 && D >= 1 && temperature > 0);
    VC_ASSERT((size_t)N2 * N2 <= UINT32_MAX && (size_t)N2 * D <= UINT32_MAX);
    VC_ASSERT(fits(loss, 1) && fits(dz, (size_t)N2 * D) && fits(z, (size_t)N2 * D) && fits(sim, (size_t)N2 * N2));
    VcContext *ctx = vc_cmd_context(cmd);
    NtTiles t = nt_tiles(ctx);
    double nn = (double)N2 * N2, nd = (double)N2 * D;
    VcBuffer S = vc_buffer_slice(sim, 0, nn * sizeof(float));

    /* 1: S = z z^T / T */
    bool vec = D % 4 == 0 && aligned16(z);
    uint32_t tm = t.sim_tm, tn = t.sim_tn;
    SimPush sp = {(uint32_t)N2, (uint32_t)D, 1.0f / temperature, (uint32_t)VC_CEIL_DIV((uint32_t)N2, tn)};
    VcPipelineDesc d1 = {.shader = vec ? "ntxent_sim4" : "ntxent_sim", .bindings = "ss", .push_size = sizeof sp,
                         .spec = {t.wg, tm, tn}, .spec_count = 3};
    size_t tiles = (size_t)VC_CEIL_DIV((uint32_t)N2, tm) * sp.tiles_n;
    uint32_t gx, gy;
    vc_grid_1d(tiles, t.wg, &gx, &gy);
    VcBuffer b1[2] = {S, z};
    vc_dispatch(cmd, vc_pipeline_get(ctx, &d1), b1, 2, &sp, gx, gy, 1, "ntxent_sim", 2 * nn * D,
                4 * (nn + nd * ((double)N2 / tm + (double)N2 / tn)));

    /* 2: G = (softmax(S) - Y) / (N2 T), row losses on the diagonal */
    SoftmaxPush mp = {(uint32_t)N2, 1.0f / ((float)N2 * temperature)};
    VcPipeline *p = row_pipeline(ctx, "ntxent_softmax", "s", sizeof mp, row_wg(ctx, N2));
    vc_dispatch(cmd, p, &S, 1, &mp, (uint32_t)N2, 1, 1, "ntxent_softmax", 8 * nn, 4 * 3 * nn);

    /* 3: loss = mean of the diagonal, which is then cleared */
    NtLossPush lp = {(uint32_t)N2};
    p = row_pipeline(ctx, "ntxent_loss", "ss", sizeof lp, vc_context_is_cpu(ctx) ? 64 : 256);
    VcBuffer b3[2] = {loss, S};
    vc_dispatch(cmd, p, b3, 2, &lp, 1, 1, 1, "ntxent_loss", N2, 4 * (2.0 * N2 + 1));

    /* 4: dz = (G + G^T) z */
    uint32_t gm = t.grad_tm, gd = t.grad_td;
    vec = N2 % 4 == 0 && D % 4 == 0 && aligned16(z) && aligned16(dz) && aligned16(S);
    if (vec) {
        while (N2 % gm) gm /= 2; /* powers of two >= 4 */
        while (D % gd) gd /= 2;
        vec = gm >= 4 && gd >= 4;
    }
    if (!vec) gm = t.grad_tm, gd = t.grad_td;
    GradPush gp = {(uint32_t)N2, (uint32_t)D, (uint32_t)VC_CEIL_DIV((uint32_t)D, gd)};
    VcPipelineDesc d4 = {.shader = vec ? "ntxent_grad4" : "ntxent_grad", .bindings = "sss", .push_size = sizeof gp,
                         .spec = {t.wg, gm, gd}, .spec_count = 3};
    tiles = (size_t)VC_CEIL_DIV((uint32_t)N2, gm) * gp.tiles_d;
    vc_grid_1d(tiles, t.wg, &gx, &gy);
    VcBuffer b4[3] = {dz, S, z};
    vc_dispatch(cmd, vc_pipeline_get(ctx, &d4), b4, 3, &gp, gx, gy, 1, "ntxent_grad", 4 * nn * D,
                4 * (nd + 2 * nn * gp.tiles_d + nd * (double)N2 / gm));
}
