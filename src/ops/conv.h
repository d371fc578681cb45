/* conv.h — 2-D convolution (no bias), forward and backward, NCHW.
 *
 *   out[b, co, y, x] = sum_{ci, ky, kx} w[co, ci, ky, kx] * in[b, ci, y*stride - pad + ky, x*stride - pad + kx]
 *
 * Any kernel size, stride and padding (zero padding). H_out = (H + 2 pad - KH) / stride + 1.
 * Backward accumulates: d_in += dgrad, d_weight += wgrad (zero them explicitly first), or
 * with vc_conv2d_backward_set, d_in = dgrad.
 */
#ifndef VC_OPS_CONV_H
#define VC_OPS_CONV_H

#include "vk/vk.h"

typedef struct VcConvShape {
    int B, C_in, H, W;   /* input (B, C_in, H, W) */
    int C_out, KH, KW;   /* weight (C_out, C_in, KH, KW) */
    int stride, pad;
} VcConvShape;

static inline int vc_conv_out_h(const VcConvShape *s) { return (s->H + 2 * s->pad - s->KH) / s->stride + 1; }
static inline int vc_conv_out_w(const VcConvShape *s) { return (s->W + 2 * s->pad - s->KW) / s->stride + 1; }

/* Scratch bytes the conv kernels need for this shape (0 if none); pass a buffer at least
 * this large as `work` (it may be shared between layers: it is dead between calls). */
size_t vc_conv2d_workspace_bytes(VcContext *ctx, const VcConvShape *s);

/* out (B, C_out, Ho, Wo) = conv(in (B, C_in, H, W), weight (C_out, C_in, KH, KW)) */
void vc_conv2d_forward(VcCmd *cmd, const VcConvShape *s, VcBuffer out, VcBuffer in, VcBuffer weight, VcBuffer work);
/* d_in (B, C_in, H, W) += dgrad; skipped when d_in.buf is VK_NULL_HANDLE (first layer).
 * d_weight (C_out, C_in, KH, KW) += wgrad. d_out (B, C_out, Ho, Wo). */
void vc_conv2d_backward(VcCmd *cmd, const VcConvShape *s, VcBuffer d_in, VcBuffer d_weight, VcBuffer d_out, VcBuffer in,
                        VcBuffer weight, VcBuffer work);
/* The same with d_in = dgrad: for the first gradient into d_in, which is then never read
 * (cheaper on CPU devices, where every load and store is a loop over the SIMD lanes; a
 * strided dgrad that leaves pixels without taps zeroes them first). d_weight += wgrad. */
void vc_conv2d_backward_set(VcCmd *cmd, const VcConvShape *s, VcBuffer d_in, VcBuffer d_weight, VcBuffer d_out,
                            VcBuffer in, VcBuffer weight, VcBuffer work);

/* Kernel variants. AUTO picks by device class at recording time (vc_context_is_cpu):
 *   CPU: implicit GEMM with register tiles over RGBA32F texel copies of the operands, no
 *        shared memory (fast on lavapipe)
 *   GPU: im2col + shared-memory tiled GEMM over storage buffers.
 * Both run on every device; tests force each one. Process-wide; set it before asking for
 * the workspace size and recording. */
typedef enum VcConvVariant { VC_CONV_AUTO = 0, VC_CONV_CPU, VC_CONV_GPU } VcConvVariant;
void vc_conv2d_force_variant(VcConvVariant v);
/* Target size of the unfolded matrix of one chunk of images (0: the default for the device
 * class). The batch is processed in chunks of this size; for tests (many chunks on small
 * shapes) and tuning. Changes vc_conv2d_workspace_bytes. Process-wide. */
void vc_conv2d_set_chunk_bytes(size_t bytes);

/* FLOPs of the forward (2 * B * C_out * Ho * Wo * C_in * KH * KW); backward is twice that. */
double vc_conv2d_flops(const VcConvShape *s);

#endif
