/* elementwise.c — host side of relu.comp, add.comp, axpy.comp and scale.comp.
 *
 * Every op here is one pass over n floats: one invocation per float, or per vec4 when n
 * is a multiple of 4 and every buffer starts at an offset a texel view may start at (the
 * VEC4 build reads its inputs through RGBA32F texel buffers, see shaders/elementwise.glsl).
 * Tensors longer than the device's maxStorageBufferRange (128 MiB on lavapipe) are done
 * in chunks, one dispatch per chunk, each on slices of the buffers.
 */
#include "ops/norm.h"

#include "ops/op.h"
#include "ops/norm_internal.h"

typedef struct { uint32_t n; float alpha; } EwPush;
_Static_assert(sizeof(EwPush) <= 128, "push constants");

size_t vc_norm_chunk_floats(VcContext *ctx) {
    /* a power of two, so chunk offsets keep every alignment the first chunk has */
    uint64_t range = vc_context_info(ctx)->max_storage_buffer_range / 4;
    size_t ch = (size_t)1 << 26; /* 256 MiB: 2^24 texels, within VC_NORM_MAX_TEXELS */
    while (ch > range && ch > 64) ch >>= 1;
    return ch;
}

bool vc_norm_texel_ok(const VcBuffer *bufs, int nbufs) {
    for (int i = 0; i < nbufs; i++)
        if (bufs[i].offset % VC_NORM_TEXEL_ALIGN) return false;
    return true;
}

/* Run shader[vec4] over n floats. bufs[0] is the output (a storage buffer); bufs[1..]
 * are inputs, texel buffers in the vec4 build. Each dispatch gets the slice of its chunk.
 * (Names and binding strings are literals: the pipeline keeps the pointers.) */
static void ew_run(VcCmd *cmd, const char *const shader[2], size_t n, float alpha, const VcBuffer *bufs, int nbufs,
                   const char *label, double flops_per, double bytes_per) {
    static const char *const kinds[2][5] = {{"", "s", "ss", "sss", "ssss"}, {"", "s", "st", "stt", "sttt"}};
    VcContext *ctx = vc_cmd_context(cmd);
    VC_ASSERT(nbufs >= 1 && nbufs <= 4);
    for (int i = 0; i < nbufs; i++) VC_ASSERT(n * 4 <= bufs[i].size);
    if (n == 0) return;
    bool vec4 = n % 4 == 0 && vc_norm_texel_ok(bufs, nbufs);
    VcPipeline *p = vc_pipeline_1d(ctx, shader[vec4], kinds[vec4][nbufs], sizeof(EwPush));
    size_t chunk = vc_norm_chunk_floats(ctx);
    vc_cmd_op_begin(cmd, "n %zu", n);
    for (size_t start = 0; start < n; start += chunk) {
        size_t len = VC_MIN(chunk, n - start);
        VcBuffer slices[4];
        for (int i = 0; i < nbufs; i++) slices[i] = vc_buffer_slice(bufs[i], start * 4, len * 4);
        EwPush pc = {(uint32_t)(vec4 ? len / 4 : len), alpha};
        vc_dispatch_1d(cmd, p, slices, nbufs, &pc, pc.n, label, flops_per * (double)len, bytes_per * (double)len);
    }
    vc_cmd_op_end(cmd);
}

void vc_relu_forward(VcCmd *cmd, size_t n, VcBuffer out, VcBuffer x) {
    static const char *const names[2] = {"relu_fwd", "relu_fwd_v4"};
    VcBuffer b[2] = {out, x};
    ew_run(cmd, names, n, 0, b, 2, "relu_fwd", 1, 8);
}

void vc_relu_backward(VcCmd *cmd, size_t n, VcBuffer d_x, VcBuffer d_out, VcBuffer out) {
    static const char *const names[2] = {"relu_bwd", "relu_bwd_v4"};
    VcBuffer b[4] = {d_x, d_out, out, d_x};
    ew_run(cmd, names, n, 0, b, 4, "relu_bwd", 1, 16);
}

void vc_relu_backward_set(VcCmd *cmd, size_t n, VcBuffer d_x, VcBuffer d_out, VcBuffer out) {
    static const char *const names[2] = {"relu_bwd_set", "relu_bwd_set_v4"};
    VcBuffer b[3] = {d_x, d_out, out};
    ew_run(cmd, names, n, 0, b, 3, "relu_bwd", 1, 12);
}

void vc_add(VcCmd *cmd, size_t n, VcBuffer out, VcBuffer a, VcBuffer b) {
    static const char *const names[2] = {"add", "add_v4"};
    VcBuffer bufs[3] = {out, a, b};
    ew_run(cmd, names, n, 0, bufs, 3, "add", 1, 12);
}

void vc_axpy(VcCmd *cmd, size_t n, VcBuffer y, float alpha, VcBuffer x) {
    static const char *const names[2] = {"axpy", "axpy_v4"};
    VcBuffer b[3] = {y, x, y};
    ew_run(cmd, names, n, alpha, b, 3, "axpy", 2, 12);
}

void vc_scale(VcCmd *cmd, size_t n, VcBuffer x, float alpha) {
    static const char *const names[2] = {"scale", "scale_v4"};
    VcBuffer b[2] = {x, x};
    ew_run(cmd, names, n, alpha, b, 2, "scale", 1, 8);
}
