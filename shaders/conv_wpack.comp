#version 450
// conv_wpack.comp — weights (C_out, C_in, KH, KW) as rows of RGBA32F texels for the CPU
// kernels, 4 channels of the reduction per texel (zero past the last channel):
//   forward (DGRAD = 0): row co, texel (ky * KW + kx) * C4 + c4
//                        = w[co][4 c4 + q][ky][kx]
//   dgrad   (DGRAD = 1): for the phase (py, px) of a stride-s transposed convolution,
//                        row ci, texel (ty * TX + tx) * Co4 + co4
//                        = w[4 co4 + q][ci][py + s ty][px + s tx]
//                        (rows start at texel `base`; TX = taps of this phase along x)
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Wgt { float w[]; };
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; };

layout(push_constant) uniform Push {
    uint C_out, C_in, KH, KW;
    uint rows, row4;       // rows; texels per row
    uint C4;               // texels per tap (channels of the reduction / 4, rounded up)
    uint TX;               // taps per row of the kernel (KW, or the phase's count)
    uint stride, py, px;   // dgrad phase
    uint dgrad;            // 0 forward, 1 dgrad
    uint base;             // first texel of the output rows
    uint total;            // rows * row4
} pc;

void main() {
    uint e = flat_index();
    if (e >= pc.total) return;
    uint r = conv_udiv(e, pc.row4), t = e - r * pc.row4;
    uint tap = conv_udiv(t, pc.C4), c4 = t - tap * pc.C4;
    uint ty = conv_udiv(tap, pc.TX), tx = tap - ty * pc.TX;
    vec4 v = vec4(0.0);
    for (uint q = 0; q < 4; q++) {
        uint c = 4 * c4 + q;
        if (pc.dgrad == 0) {
            if (c < pc.C_in) v[q] = w[((r * pc.C_in + c) * pc.KH + ty) * pc.KW + tx];
        } else {
            uint ky = pc.py + pc.stride * ty, kx = pc.px + pc.stride * tx;
            if (c < pc.C_out && ky < pc.KH && kx < pc.KW) v[q] = w[((c * pc.C_in + r) * pc.KH + ky) * pc.KW + kx];
        }
    }
    dst[pc.base + e] = v;
}
