/* op.h — what every op's host side shares: grid sizing and the standard 1-D pipeline.
 *
 * Legend used across src/ops: B = batch, C = channels, H/W = spatial, D = embedding dim,
 * M/N/K = GEMM dims. Every buffer argument documents its shape as (dims).
 */
#ifndef VC_OPS_OP_H
#define VC_OPS_OP_H

#include "vk/vk.h"

/* Default workgroup size of 1-D elementwise shaders (specialization constant 0). */
#define VC_WG_1D 256u

/* Grid for n elements in 1-D workgroups of `wg` (see flat_index() in shaders/common.glsl). */
static inline void vc_grid_1d(size_t n, uint32_t wg, uint32_t *gx, uint32_t *gy) {
    size_t groups = (n + wg - 1) / wg;
    if (groups == 0) groups = 1;
    if (groups <= 65535) {
        *gx = (uint32_t)groups;
        *gy = 1;
    } else {
        *gx = 65535;
        *gy = (uint32_t)((groups + 65534) / 65535);
    }
}

/* Pipeline of a 1-D shader with workgroup size VC_WG_1D as spec constant 0. */
static inline VcPipeline *vc_pipeline_1d(VcContext *ctx, const char *shader, const char *bindings, uint32_t push_size) {
    VcPipelineDesc d = {.shader = shader, .bindings = bindings, .push_size = push_size, .spec = {VC_WG_1D}, .spec_count = 1};
    return vc_pipeline_get(ctx, &d);
}

/* Record a 1-D elementwise dispatch over n elements. */
static inline void vc_dispatch_1d(VcCmd *cmd, VcPipeline *p, const VcBuffer *bufs, int nbufs, const void *push, size_t n,
                                  const char *label, double flops, double bytes) {
    uint32_t gx, gy;
    vc_grid_1d(n, VC_WG_1D, &gx, &gy);
    vc_dispatch(cmd, p, bufs, nbufs, push, gx, gy, 1, label, flops, bytes);
}

#endif
