/* ref/conv.h — plain C reference of 2-D convolution (no bias), NCHW, in double precision.
 *
 * The oracle for src/ops/conv.c and the readable spec of the op:
 *   out[b, co, y, x] = sum_{ci, ky, kx} w[co, ci, ky, kx] * in[b, ci, y*stride - pad + ky, x*stride - pad + kx]
 * with zero padding. Shapes use VcConvShape from ops/conv.h.
 */
#ifndef VC_TEST_REF_CONV_H
#define VC_TEST_REF_CONV_H

#include "ops/conv.h"

/* out (B, C_out, Ho, Wo) = conv(in (B, C_in, H, W), w (C_out, C_in, KH, KW)) */
void ref_conv2d_forward(const VcConvShape *s, double *out, const double *in, const double *w);
/* d_in (B, C_in, H, W) += dL/din (skipped when d_in is NULL); d_w (C_out, C_in, KH, KW) += dL/dw,
 * given d_out = dL/dout (B, C_out, Ho, Wo). */
void ref_conv2d_backward(const VcConvShape *s, double *d_in, double *d_w, const double *d_out, const double *in,
                         const double *w);

#endif
