/* ring.c — host side of shaders/ring_store.comp. */
#include "ops/ring.h"

#include "ops/op.h"

typedef struct { uint32_t n, slots, step_index; } RingPush;
_Static_assert(sizeof(RingPush) <= 128, "push constants");

void vc_ring_store(VcCmd *cmd, VcBuffer ring, int slots, VcBuffer src, size_t n, VcBuffer hyper, int step_index) {
    vc_cmd_op_begin(cmd, "n %zu, %d slots", n, slots);
    VC_ASSERT(slots >= 1 && (size_t)slots * n * sizeof(float) <= ring.size && n * sizeof(float) <= src.size);
    RingPush pc = {(uint32_t)n, (uint32_t)slots, (uint32_t)step_index};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "ring_store", "sss", sizeof pc);
    VcBuffer bufs[3] = {ring, src, hyper};
    vc_dispatch_1d(cmd, p, bufs, 3, &pc, n, "ring_store", 0, 8.0 * (double)n);
    vc_cmd_op_end(cmd);
}
