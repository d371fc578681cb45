/* ref/conv.c — the direct 7-loop convolution and its adjoint, written for clarity. */
#include "ref/conv.h"

/* Visits every (b, co, oy, ox, ci, ky, kx) term whose input pixel lies inside the image
 * (the others multiply padding zeros). The backward is the same loop with the product
 * rule applied to each term, so forward and backward cannot disagree on indexing. */
#define CONV_LOOPS(s, BODY)                                                                       \
    do {                                                                                          \
        int Ho_ = vc_conv_out_h(s), Wo_ = vc_conv_out_w(s);                                       \
        for (int b = 0; b < (s)->B; b++)                                                          \
            for (int co = 0; co < (s)->C_out; co++)                                               \
                for (int oy = 0; oy < Ho_; oy++)                                                  \
                    for (int ox = 0; ox < Wo_; ox++) {                                            \
                        size_t o = (((size_t)b * (s)->C_out + co) * Ho_ + oy) * Wo_ + ox;         \
                        for (int ci = 0; ci < (s)->C_in; ci++)                                    \
                            for (int ky = 0; ky < (s)->KH; ky++)                                  \
                                for (int kx = 0; kx < (s)->KW; kx++) {                            \
                                    int y = oy * (s)->stride - (s)->pad + ky;                     \
                                    int x = ox * (s)->stride - (s)->pad + kx;                     \
                                    if (y < 0 || y >= (s)->H || x < 0 || x >= (s)->W) continue;   \
                                    size_t i = (((size_t)b * (s)->C_in + ci) * (s)->H + y) * (s)->W + x; \
                                    size_t k = (((size_t)co * (s)->C_in + ci) * (s)->KH + ky) * (s)->KW + kx; \
                                    BODY;                                                         \
                                }                                                                 \
                    }                                                                             \
    } while (0)

void ref_conv2d_forward(const VcConvShape *s, double *out, const double *in, const double *w) {
    size_t n_out = (size_t)s->B * s->C_out * vc_conv_out_h(s) * vc_conv_out_w(s);
    for (size_t i = 0; i < n_out; i++) out[i] = 0;
    CONV_LOOPS(s, out[o] += w[k] * in[i]);
}

void ref_conv2d_backward(const VcConvShape *s, double *d_in, double *d_w, const double *d_out, const double *in,
                         const double *w) {
    /* out[o] += w[k] * in[i]  =>  d_w[k] += d_out[o] * in[i],  d_in[i] += d_out[o] * w[k] */
    CONV_LOOPS(s, {
        d_w[k] += d_out[o] * in[i];
        if (d_in) d_in[i] += d_out[o] * w[k];
    });
}
