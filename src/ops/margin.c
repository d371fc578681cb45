/* margin.c — host side of shaders/margin.comp: S = z z^T, the row pass (loss terms and
 * G = dL/dS), the mean, and dz = G z + G^T z. */
#include "ops/margin.h"

#include "ops/gemm.h"
#include "ops/op.h"

typedef struct { uint32_t N, b, mode; float margin; } MarginPush;
_Static_assert(sizeof(MarginPush) <= 128, "push constants");

int vc_margin_buffers_alloc(VcContext *ctx, int N, VcMarginBuffers *b) {
    size_t N2 = 2 * (size_t)N, sq = N2 * N2 * sizeof(float);
    if (sq > vc_context_info(ctx)->max_storage_buffer_range) {
        vc_set_error("--batch %d: the similarity matrix (%zu x %zu floats, %.0f MiB) exceeds what %s can bind (%.0f MiB); "
                     "use a smaller --batch",
                     N, N2, N2, sq / 1048576.0, vc_context_info(ctx)->name,
                     vc_context_info(ctx)->max_storage_buffer_range / 1048576.0);
        return VC_ERR_ARG;
    }
    if (vc_buffer_alloc(ctx, sq, "similarity matrix", &b->sim) != VC_OK ||
        vc_buffer_alloc(ctx, sq, "similarity gradients", &b->G) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)N * sizeof(float), "row losses", &b->rowloss) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)N * sizeof(int32_t), "triplet negatives", &b->neg) != VC_OK)
        return VC_ERR_OOM;
    return VC_OK;
}

void vc_margin_buffers_free(VcContext *ctx, VcMarginBuffers *b) {
    VcBuffer *bufs[] = {&b->sim, &b->G, &b->rowloss, &b->neg};
    for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(ctx, bufs[i]);
}

/* S (2N, 2N) = z z^T */
static void similarity(VcCmd *cmd, int N2, int D, VcBuffer sim, VcBuffer z) {
    VcGemmShape s = {.M = N2, .N = N2, .K = D, .trans_b = true, .alpha = 1, .beta = 0};
    vc_gemm(cmd, &s, z, z, sim, NULL);
}

/* loss = mean of the row terms; dz = G z + G^T z */
static void finish(VcCmd *cmd, int N, int D, VcBuffer loss, VcBuffer dz, VcBuffer z, const VcMarginBuffers *b) {
    MarginPush pc = {(uint32_t)N, 0, 0, 0};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "margin_loss", "ss", sizeof pc);
    VcBuffer lb[2] = {loss, b->rowloss};
    vc_dispatch_1d(cmd, p, lb, 2, &pc, 1, "margin_loss", N, 4.0 * N);
    int N2 = 2 * N;
    VcGemmShape g = {.M = N2, .N = D, .K = N2, .alpha = 1, .beta = 0};
    vc_gemm(cmd, &g, b->G, z, dz, NULL); // G written -> dz = G z
    g.trans_a = true, g.beta = 1;
    vc_gemm(cmd, &g, b->G, z, dz, NULL); // dz += G^T z
}

void vc_triplet(VcCmd *cmd, int N, int D, float margin, bool hard, VcBuffer loss, VcBuffer dz, VcBuffer z,
                const VcMarginBuffers *b, VcBuffer batch_info, VcBuffer hyper) {
    vc_cmd_op_begin(cmd, "z %dx%d (2N, D)%s", 2 * N, D, hard ? ", hard" : ", random");
    VC_ASSERT(N >= 2 && D >= 1 && z.size >= (size_t)2 * N * D * 4 && dz.size >= (size_t)2 * N * D * 4);
    int N2 = 2 * N;
    similarity(cmd, N2, D, b->sim, z);
    MarginPush pc = {(uint32_t)N, 0, hard ? 1u : 0u, margin};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "triplet_rows", "ssssss", sizeof pc);
    VcBuffer rb[6] = {b->G, b->rowloss, b->sim, b->neg, batch_info, hyper};
    vc_dispatch_1d(cmd, p, rb, 6, &pc, (size_t)N2, "triplet_rows", 2.0 * N * N2, 4.0 * 2 * N2 * N2);
    finish(cmd, N, D, loss, dz, z, b);
    vc_cmd_op_end(cmd);
}

void vc_block_loss(VcCmd *cmd, int N, int D, int block, bool hinge, VcBuffer loss, VcBuffer dz, VcBuffer z,
                   const VcMarginBuffers *b) {
    vc_cmd_op_begin(cmd, "z %dx%d (2N, D), block %d", 2 * N, D, block);
    VC_ASSERT(block >= 1 && N % block == 0 && N / block >= 2 && z.size >= (size_t)2 * N * D * 4);
    int N2 = 2 * N;
    similarity(cmd, N2, D, b->sim, z);
    MarginPush pc = {(uint32_t)N, (uint32_t)block, hinge ? 1u : 0u, 0};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "block_rows", "sss", sizeof pc);
    VcBuffer rb[3] = {b->G, b->rowloss, b->sim};
    vc_dispatch_1d(cmd, p, rb, 3, &pc, (size_t)N2, "block_rows", 4.0 * N * block, 4.0 * (N2 * N2 + 2 * N * block));
    finish(cmd, N, D, loss, dz, z, b);
    vc_cmd_op_end(cmd);
}
