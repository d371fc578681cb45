/* membank.c — host side of shaders/membank.comp. */
#include "ops/membank.h"

#include "ops/op.h"

typedef struct { uint32_t N, K, n, D, all; float m; } MembankPush;
_Static_assert(sizeof(MembankPush) <= 128, "push constants");

void vc_membank_indices(VcCmd *cmd, int N, int K, int n, bool all, VcBuffer idx, VcBuffer perm, VcBuffer batch_info,
                        VcBuffer hyper) {
    vc_cmd_op_begin(cmd, "%d samples, %d negatives of %d", N, K, n);
    VC_ASSERT(N >= 1 && K >= 1 && n >= 1 && idx.size >= (size_t)(N + K) * 4);
    MembankPush pc = {(uint32_t)N, (uint32_t)K, (uint32_t)n, 0, all, 0};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "membank_index", "ssss", sizeof pc);
    VcBuffer b[4] = {idx, perm, batch_info, hyper};
    vc_dispatch_1d(cmd, p, b, 4, &pc, (size_t)(N + K), "membank_index", 0, 8.0 * (N + K));
    vc_cmd_op_end(cmd);
}

void vc_membank_mask(VcCmd *cmd, int N, int K, bool all, VcBuffer logits, VcBuffer idx) {
    vc_cmd_op_begin(cmd, "logits %dx%d", N, K);
    VC_ASSERT(logits.size >= (size_t)N * (K + 1) * 4 && idx.size >= (size_t)(all ? N : N + K) * 4);
    MembankPush pc = {(uint32_t)N, (uint32_t)K, 0, 0, all, 0};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "membank_mask", "ss", sizeof pc);
    VcBuffer b[2] = {logits, idx};
    vc_dispatch_1d(cmd, p, b, 2, &pc, (size_t)N * K, "membank_mask", 0, 8.0 * N * K);
    vc_cmd_op_end(cmd);
}

void vc_membank_update(VcCmd *cmd, int N, int D, int n, float m, VcBuffer bank, VcBuffer f, VcBuffer pos, VcBuffer idx) {
    vc_cmd_op_begin(cmd, "%d rows of %d into a bank of %d", N, D, n);
    VC_ASSERT(bank.size >= (size_t)(n + 1) * D * 4 && f.size >= (size_t)N * D * 4 && pos.size >= (size_t)N * D * 4);
    MembankPush pc = {(uint32_t)N, 0, (uint32_t)n, (uint32_t)D, 0, m};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "membank_update", "ssss", sizeof pc);
    VcBuffer b[4] = {bank, f, pos, idx};
    vc_dispatch_1d(cmd, p, b, 4, &pc, (size_t)N, "membank_update", 6.0 * N * D, 4.0 * 3 * N * D);
    vc_cmd_op_end(cmd);
}
