#version 450
// conv_im2col.comp — unfold input patches of one chunk of images into a matrix, so that a
// convolution becomes a GEMM that reads both operands along its reduction dimension.
//
//   conv_im2col_nk (forward):  col[n][k]  rows n = pixel (b, oy, ox), k = (ci, ky, kx),
//                              row length ld4 vec4s (K rounded up to 4, padding zeroed)
//   conv_im2col_kn (wgrad):    colT[k][n] rows k, row length ld4 vec4s (pixels rounded up
//                              to 4, padding zeroed)
// Both hold in[b, ci, oy*stride - pad + ky, ox*stride - pad + kx] (0 outside the image).
// One invocation writes SEG consecutive vec4s of one row, decomposing its first index once
// and stepping the rest (integer division is expensive on CPU devices, see conv.glsl).
//
//! variant conv_im2col_nk -DROW_IS_PIXEL=1
//! variant conv_im2col_kn -DROW_IS_PIXEL=0
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint SEG = 4; // vec4s per invocation

layout(std430, binding = 0) readonly buffer In { float x[]; };   // (nb, C_in, H, W) from x_off: the chunk's images
layout(std430, binding = 1) writeonly buffer Col { vec4 col[]; };

layout(push_constant) uniform Push {
    uint n_pix;                  // pixels in the chunk: nb * Ho * Wo
    uint C_in, H, W, KH, KW, stride, pad, Ho, Wo;
    uint K;                      // C_in * KH * KW
    uint ld4;                    // row length in vec4s
    uint segs;                   // invocations per row: ceil(ld4 / SEG)
    uint total;                  // rows * segs
    uint x_off;                  // element offset of the chunk's first image in x
} pc;

// Patch element (pixel (b, oy, ox), tap (ci, ky, kx)); zero padding outside the image.
float patch_value(uint b, uint oy, uint ox, uint ci, uint ky, uint kx) {
    int y = int(oy * pc.stride + ky) - int(pc.pad);
    int xx = int(ox * pc.stride + kx) - int(pc.pad);
    if (y < 0 || y >= int(pc.H) || xx < 0 || xx >= int(pc.W)) return 0.0;
    return x[pc.x_off + ((b * pc.C_in + ci) * pc.H + uint(y)) * pc.W + uint(xx)];
}

void main() {
    uint e = flat_index();
    if (e >= pc.total) return;
    uint row = conv_udiv(e, pc.segs);
    uint v0 = (e - row * pc.segs) * SEG; // first vec4 of this invocation in its row
    uint v1 = min(v0 + SEG, pc.ld4);
    uint HWo = pc.Ho * pc.Wo, KHW = pc.KH * pc.KW;
#if ROW_IS_PIXEL
    // row = pixel; walk k = 4 * v0 ... along (ci, ky, kx)
    uint n = row;
    uint b = conv_udiv(n, HWo), p = n - b * HWo;
    uint oy = conv_udiv(p, pc.Wo), ox = p - oy * pc.Wo;
    uint k = 4 * v0;
    uint ci = conv_udiv(k, KHW), r = k - ci * KHW;
    uint ky = conv_udiv(r, pc.KW), kx = r - ky * pc.KW;
    for (uint v = v0; v < v1; v++) {
        vec4 o;
        for (uint j = 0; j < 4; j++) {
            o[j] = k < pc.K ? patch_value(b, oy, ox, ci, ky, kx) : 0.0;
            k++;
            if (++kx == pc.KW) { kx = 0; if (++ky == pc.KH) { ky = 0; ci++; } }
        }
        col[row * pc.ld4 + v] = o;
    }
#else
    // row = tap k; walk pixels n = 4 * v0 ... along (b, oy, ox)
    uint k = row;
    uint ci = conv_udiv(k, KHW), r = k - ci * KHW;
    uint ky = conv_udiv(r, pc.KW), kx = r - ky * pc.KW;
    uint n = 4 * v0;
    uint b = conv_udiv(n, HWo), p = n - b * HWo;
    uint oy = conv_udiv(p, pc.Wo), ox = p - oy * pc.Wo;
    for (uint v = v0; v < v1; v++) {
        vec4 o;
        for (uint j = 0; j < 4; j++) {
            o[j] = n < pc.n_pix ? patch_value(b, oy, ox, ci, ky, kx) : 0.0;
            n++;
            if (++ox == pc.Wo) { ox = 0; if (++oy == pc.Ho) { oy = 0; b++; } }
        }
        col[row * pc.ld4 + v] = o;
    }
#endif
}
