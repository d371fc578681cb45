/* fill.c — host side of shaders/fill.comp. */
#include "ops/fill.h"

#include "ops/op.h"

typedef struct { uint32_t n; float value; } FillPush;
_Static_assert(sizeof(FillPush) <= 128, "push constants");

void vc_fill(VcCmd *cmd, VcBuffer x, size_t n, float value) {
    VC_ASSERT(n * sizeof(float) <= x.size && n <= UINT32_MAX);
    FillPush pc = {(uint32_t)n, value};
    VcPipeline *p = vc_pipeline_1d(vc_cmd_context(cmd), "fill", "s", sizeof pc);
    vc_dispatch_1d(cmd, p, &x, 1, &pc, n, "fill", 0, 4.0 * (double)n);
}
