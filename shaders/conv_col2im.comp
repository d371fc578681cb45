#version 450
// conv_col2im.comp — dgrad, second half: fold the patch gradients of one chunk of images
// back onto the input and accumulate, d_in[b, ci, y, x] += sum over the taps (ky, kx) that
// read this pixel of dcol[pixel (b, oy, ox)][k = (ci, ky, kx)], where
// oy = (y + pad - ky) / stride must be exact and in range (same for x).
// One invocation per input element: a gather, so no atomics are needed.
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer DCol { float dcol[]; }; // (nb * Ho * Wo, K)
layout(std430, binding = 1) buffer DIn { float d_in[]; };          // (nb, C_in, H, W)

layout(push_constant) uniform Push {
    uint C_in, H, W, KH, KW, stride, pad, Ho, Wo;
    uint K;
    uint total; // nb * C_in * H * W
    uint d_off; // element offset of the chunk's first image in d_in
    uint accumulate; // 1: d_in += result, 0: d_in = result
} pc;

void main() {
    uint e = flat_index();
    if (e >= pc.total) return;
    uint HW = pc.H * pc.W;
    uint bc = conv_udiv(e, HW), p = e - bc * HW;   // bc = b * C_in + ci
    uint y = conv_udiv(p, pc.W), x = p - y * pc.W;
    uint b = conv_udiv(bc, pc.C_in), ci = bc - b * pc.C_in;
    uint ty = y + pc.pad, tx = x + pc.pad;          // ky = ty - oy * stride
    float acc = 0.0;
    // taps with ky = ty (mod stride): oy = (ty - ky) / stride falls by one per step
    uint qy = conv_udiv(ty, pc.stride), qx = conv_udiv(tx, pc.stride);
    uint ky0 = ty - qy * pc.stride, kx0 = tx - qx * pc.stride;
    for (uint ky = ky0, oy = qy; ky < pc.KH && ky <= ty; ky += pc.stride, oy--) {
        if (oy >= pc.Ho) continue;
        for (uint kx = kx0, ox = qx; kx < pc.KW && kx <= tx; kx += pc.stride, ox--) {
            if (ox >= pc.Wo) continue;
            uint n = (b * pc.Ho + oy) * pc.Wo + ox;
            acc += dcol[n * pc.K + (ci * pc.KH + ky) * pc.KW + kx];
        }
    }
    if (pc.accumulate != 0u) acc += d_in[pc.d_off + e];
    d_in[pc.d_off + e] = acc;
}
