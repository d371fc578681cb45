/* pool.c — host side of avgpool.comp (global average pooling over HW).
 *
 * One invocation per (b, c) row; the vec4 build when HW % 4 == 0, else the float build
 * reading through texel views when B*C*HW % 4 == 0 (both need buffers that can be bound
 * as texel buffers), else floats from storage buffers. Inputs longer than the device's storage-buffer range are done
 * in chunks of whole rows (a multiple of 64 rows, so every chunk keeps the alignment).
 */
#include "ops/norm.h"

#include "ops/norm_internal.h"
#include "ops/op.h"

typedef struct {
    uint32_t rows, HWu;
    float HW;
} PoolPush;
_Static_assert(sizeof(PoolPush) <= 128, "push constants");

/* backward with set: d_x = (no read of d_x; floats or vec4s, the TEX1 build's texel view
 * is only for reading d_x) */
static void pool_run(VcCmd *cmd, bool backward, bool set, int B, int C, int HW, VcBuffer big, VcBuffer small) {
    VcContext *ctx = vc_cmd_context(cmd);
    VC_ASSERT(B > 0 && C > 0 && HW > 0);
    size_t rows = (size_t)B * C, n = rows * HW;
    VC_ASSERT(n * 4 <= big.size && rows * 4 <= small.size);
    VcBuffer both[2] = {big, small};
    /* 0: floats from storage buffers, 1: vec4s, 2: floats through texel views */
    int io = !vc_norm_texel_ok(both, 2) ? 0 : HW % 4 == 0 ? 1 : n % 4 == 0 ? 2 : 0;
    if (set) io = io == 1; /* the vec4 build, or floats (nothing to read through a texel view) */
    bool vec4 = io == 1;
    /* literals: the pipeline keeps the pointers */
    static const char *const names[3][3] = {{"avgpool_fwd", "avgpool_fwd_v4", "avgpool_fwd_t1"},
                                            {"avgpool_bwd", "avgpool_bwd_v4", "avgpool_bwd_t1"},
                                            {"avgpool_bwd_set", "avgpool_bwd_set_v4", NULL}};
    /* forward: out (s), x (t in texel builds); backward: d_x (s), d_out (s), d_x again (t) */
    static const char *const kinds[3][2] = {{"ss", "st"}, {"sss", "sst"}, {"ss", "ss"}};
    int kind = backward + set;
    VcPipeline *p = vc_pipeline_1d(ctx, names[kind][io], kinds[kind][io != 0], sizeof(PoolPush));
    size_t chunk_rows = vc_norm_chunk_floats(ctx) / (size_t)HW / 64 * 64;
    VC_ASSERT(chunk_rows > 0);
    vc_cmd_op_begin(cmd, "x %dx%dx%d (B, C, HW) -> %dx%d", B, C, HW, B, C);
    for (size_t r0 = 0; r0 < rows; r0 += chunk_rows) {
        size_t nr = VC_MIN(chunk_rows, rows - r0);
        VcBuffer bg = vc_buffer_slice(big, r0 * HW * 4, nr * HW * 4), sm = vc_buffer_slice(small, r0 * 4, nr * 4);
        PoolPush pc = {(uint32_t)nr, (uint32_t)(vec4 ? HW / 4 : HW), (float)HW};
        double elems = (double)nr * HW;
        if (backward) {
            VcBuffer b[3] = {bg, sm, bg};
            vc_dispatch_1d(cmd, p, b, set ? 2 : 3, &pc, nr, "avgpool_bwd", elems, (set ? 4.0 : 8.0) * elems + 4.0 * nr);
        } else {
            VcBuffer b[2] = {sm, bg};
            vc_dispatch_1d(cmd, p, b, 2, &pc, nr, "avgpool_fwd", elems, 4.0 * elems + 4.0 * nr);
        }
    }
    vc_cmd_op_end(cmd);
}

void vc_avgpool_forward(VcCmd *cmd, int B, int C, int HW, VcBuffer out, VcBuffer x) {
    pool_run(cmd, false, false, B, C, HW, x, out);
}

void vc_avgpool_backward(VcCmd *cmd, int B, int C, int HW, VcBuffer d_x, VcBuffer d_out) {
    pool_run(cmd, true, false, B, C, HW, d_x, d_out);
}

void vc_avgpool_backward_set(VcCmd *cmd, int B, int C, int HW, VcBuffer d_x, VcBuffer d_out) {
    pool_run(cmd, true, true, B, C, HW, d_x, d_out);
}
