/* fill.c — host side of shaders/fill.comp. */
#include "ops/fill.h"

#include "ops/op.h"

typedef struct { uint32_t n; float value; } FillPush;
_Static_assert(sizeof(FillPush) <= 128, "push constants");

void vc_fill(VcCmd *cmd, VcBuffer x, size_t n, float value) {
    VC_ASSERT(n * sizeof(float) <= x.size);
    VcContext *ctx = vc_cmd_context(cmd);
    VcPipeline *p = vc_pipeline_1d(ctx, "fill", "s", sizeof(FillPush));
    /* one dispatch per range the device can bind (128 MiB on lavapipe), 256-byte aligned */
    size_t chunk = (size_t)(vc_context_info(ctx)->max_storage_buffer_range / 256 * 256 / sizeof(float));
    for (size_t first = 0; first < n; first += chunk) {
        size_t count = VC_MIN(chunk, n - first);
        FillPush pc = {(uint32_t)count, value};
        VcBuffer part = vc_buffer_slice(x, first * sizeof(float), count * sizeof(float));
        vc_dispatch_1d(cmd, p, &part, 1, &pc, count, "fill", 0, 4.0 * (double)count);
    }
}
