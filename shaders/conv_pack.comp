#version 450
// conv_pack.comp — gather a strided 2-D view of a tensor into a row-major matrix whose
// rows are padded with zeros to a multiple of 4 floats (one RGBA32F texel), the layout the
// GEMM kernels read along their reduction dimension. Used for
//   weight (C_out, K)        -> Wp[co][k]          (forward, K padded)
//   weight (C_out, K)        -> WT[k][co]          (dgrad: reduce over C_out)
//   d_out (nb, C_out, Ho*Wo) -> dT[n][co]          (dgrad, n = pixel (b, p))
//   d_out (nb, C_out, Ho*Wo) -> dP[co][n]          (wgrad: reduce over pixels)
// Element (r, c), r < rows and c < cols, comes from
//   src[src_off + (r / rdiv) * r_hi + (r % rdiv) * r_lo + (c / cdiv) * c_hi + (c % cdiv) * c_lo].
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; };

layout(push_constant) uniform Push {
    uint rows, cols, cols4;      // valid rows and columns; row length in vec4s
    uint rdiv, r_hi, r_lo;
    uint cdiv, c_hi, c_lo;
    uint total;                  // rows * cols4
    uint src_off;                // element offset added to every source index
} pc;

void main() {
    uint e = flat_index();
    if (e >= pc.total) return;
    uint r = conv_udiv(e, pc.cols4);
    uint c = (e - r * pc.cols4) * 4;
    uint rq = conv_udiv(r, pc.rdiv);
    uint rbase = pc.src_off + rq * pc.r_hi + (r - rq * pc.rdiv) * pc.r_lo;
    uint cq = conv_udiv(c, pc.cdiv), cr = c - cq * pc.cdiv;
    vec4 o;
    for (uint j = 0; j < 4; j++) {
        o[j] = c + j < pc.cols ? src[rbase + cq * pc.c_hi + cr * pc.c_lo] : 0.0;
        if (++cr == pc.cdiv) { cr = 0; cq++; }
    }
    dst[e] = o;
}
