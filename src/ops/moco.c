/* moco.c — host side of shaders/moco.comp, plus the two GEMMs of the negatives. */
#include "ops/moco.h"

#include "ops/gemm.h"
#include "ops/op.h"

typedef struct { uint32_t R, D, K, off; float inv_t; } MocoPush;
_Static_assert(sizeof(MocoPush) <= 128, "push constants");

static bool fits(VcBuffer b, size_t floats) { return floats * sizeof(float) <= b.size; }

void vc_moco_logits(VcCmd *cmd, int R, int D, int K, int off, float temperature, VcBuffer logits, VcBuffer q, VcBuffer k,
                    VcBuffer queue) {
    vc_cmd_op_begin(cmd, "q %dx%d, queue %dx%d", R, D, K, D);
    VC_ASSERT(R >= 1 && D >= 1 && K >= 1 && off >= 0 && temperature > 0);
    VC_ASSERT(fits(logits, (size_t)R * (K + 1)) && fits(q, (size_t)R * D) && fits(k, (size_t)R * D) &&
              fits(queue, (size_t)(K + 1) * D));
    /* all K + 1 columns: column 0 meets the zero row, the positive kernel overwrites it */
    VcGemmShape g = {.M = R, .N = K + 1, .K = D, .trans_b = true, .alpha = 1.0f / temperature};
    vc_gemm(cmd, &g, q, queue, logits, NULL);
    MocoPush pc = {(uint32_t)R, (uint32_t)D, (uint32_t)K, (uint32_t)off, 1.0f / temperature};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "moco_pos_fwd", "sss", sizeof pc);
    VcBuffer b[3] = {logits, q, k};
    vc_dispatch_1d(cmd, p, b, 3, &pc, (size_t)R, "moco_pos_fwd", 2.0 * R * D, 4.0 * (2.0 * R * D + R));
    vc_cmd_op_end(cmd);
}

void vc_moco_logits_backward(VcCmd *cmd, int R, int D, int K, int off, float temperature, VcBuffer d_q, VcBuffer d_logits,
                             VcBuffer k, VcBuffer queue) {
    vc_cmd_op_begin(cmd, "q %dx%d, queue %dx%d", R, D, K, D);
    VC_ASSERT(fits(d_logits, (size_t)R * (K + 1)) && fits(d_q, (size_t)R * D) && fits(k, (size_t)R * D) &&
              fits(queue, (size_t)(K + 1) * D));
    VcGemmShape g = {.M = R, .N = D, .K = K + 1, .alpha = 1.0f / temperature};
    vc_gemm(cmd, &g, d_logits, queue, d_q, NULL);
    MocoPush pc = {(uint32_t)R, (uint32_t)D, (uint32_t)K, (uint32_t)off, 1.0f / temperature};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "moco_pos_bwd", "sss", sizeof pc);
    VcBuffer b[3] = {d_q, d_logits, k};
    vc_dispatch_1d(cmd, p, b, 3, &pc, (size_t)R * D, "moco_pos_bwd", 3.0 * R * D, 4.0 * (3.0 * R * D + R));
    vc_cmd_op_end(cmd);
}

void vc_moco_enqueue(VcCmd *cmd, int E, int D, int K, VcBuffer queue, VcBuffer k, VcBuffer hyper) {
    vc_cmd_op_begin(cmd, "%d keys of %d into %d", E, D, K);
    VC_ASSERT(E >= 1 && E <= K && K <= VC_MOCO_MAX_QUEUE);
    VC_ASSERT(fits(queue, (size_t)(K + 1) * D) && fits(k, (size_t)E * D));
    MocoPush pc = {(uint32_t)E, (uint32_t)D, (uint32_t)K, 0, 0};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "moco_enqueue", "sss", sizeof pc);
    VcBuffer b[3] = {queue, k, hyper};
    vc_dispatch_1d(cmd, p, b, 3, &pc, (size_t)E * D, "moco_enqueue", 0, 8.0 * E * D);
    vc_cmd_op_end(cmd);
}

int vc_moco_queue_ptr(long s, int E, int K) { return (int)((s % K) * (E % K) % K); }
