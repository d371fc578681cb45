#version 450
// conv_direct.comp — forward convolution for few input channels (the stem: C_in = 1),
// CPU devices. With a reduction of only C_in KH KW values per output (9 for the stem), a
// GEMM-shaped kernel spends its time on per-output overhead (tile setup, accumulators,
// stores), so this kernel computes outputs directly:
//
//   out[b][co0 + c][oy][x0 + p] = sum_{ci, ky, kx} w[co0 + c][ci][ky][kx] *
//                                 in[b][ci][oy S + ky - pad][(x0 + p) S + kx - pad]
//
// One invocation: 4 consecutive output columns x0..x0+3 of one output row, for CB output
// channels. It loads the input window it needs once (CI KH (3 S + KW) values, zero
// outside the image), then does CB x 4 dot products of length CI KH KW from registers and
// stores 4 results at a time. The shape is compile-time (spec constants) so that every
// loop unrolls and every weight index is a constant: lavapipe then loads each weight once
// per SIMD group rather than once per lane. The weights of this dispatch's channel block
// start at element 0 of their binding (the host binds or packs them so).
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint CB = 32; // output channels per invocation (and dispatch)
layout(constant_id = 2) const uint CI = 1;  // input channels
layout(constant_id = 3) const uint KH = 3;
layout(constant_id = 4) const uint KW = 3;
layout(constant_id = 5) const uint S = 1;   // stride
layout(constant_id = 6) const bool VEC4 = false; // Wo % 4 = 0 and out_off % 4 = 0: vec4 stores

layout(std430, binding = 0) readonly buffer In { float x[]; };   // (nb, CI, H, W) from in_off
layout(std430, binding = 1) readonly buffer Wgt { float w[]; };  // (CB, CI, KH, KW) from element 0
layout(std430, binding = 2) buffer Out { float o[]; };           // (nb, C_out, Ho, Wo) from out_off
layout(std430, binding = 2) buffer Out4 { vec4 o4[]; };          // the same, for VEC4 stores

layout(push_constant) uniform Push {
    uint H, W, Ho, Wo, Wq;  // Wq = ceil(Wo / 4) quads per output row
    uint pad;
    uint total;             // nb * Ho * Wq invocations
    uint in_off, out_off;   // element offsets of the chunk's first image
    uint o_b;               // C_out Ho Wo: out elements per image
    uint co0;               // first output channel of this dispatch
} pc;

const uint WIN = 3 * S + KW; // input columns under 4 outputs

void main() {
    uint e = flat_index();
    bool live = e < pc.total;
    e = min(e, pc.total - 1); // no early return: the weight loads must stay outside control flow
    uint row = conv_udiv(e, pc.Wq), xq = e - row * pc.Wq;
    uint b = conv_udiv(row, pc.Ho), oy = row - b * pc.Ho;
    int x0 = int(4 * xq * S) - int(pc.pad);

    float v[CI * KH * WIN]; // the input window, zero outside the image
    [[unroll]] for (uint ci = 0; ci < CI; ci++)
        [[unroll]] for (uint ky = 0; ky < KH; ky++) {
            int y = int(oy * S + ky) - int(pc.pad);
            bool row_in = y >= 0 && y < int(pc.H);
            uint base = pc.in_off + ((b * CI + ci) * pc.H + uint(clamp(y, 0, int(pc.H) - 1))) * pc.W;
            [[unroll]] for (uint c = 0; c < WIN; c++) {
                int xx = x0 + int(c);
                float t = x[base + uint(clamp(xx, 0, int(pc.W) - 1))];
                v[(ci * KH + ky) * WIN + c] = row_in && xx >= 0 && xx < int(pc.W) ? t : 0.0;
            }
        }

    uint HWo = pc.Ho * pc.Wo;
    uint obase = pc.out_off + b * pc.o_b + pc.co0 * HWo + oy * pc.Wo + 4 * xq;
    [[unroll]] for (uint c = 0; c < CB; c++) {
        vec4 acc = vec4(0.0);
        [[unroll]] for (uint ci = 0; ci < CI; ci++)
            [[unroll]] for (uint ky = 0; ky < KH; ky++)
                [[unroll]] for (uint kx = 0; kx < KW; kx++) {
                    float wv = w[((c * CI + ci) * KH + ky) * KW + kx];
                    uint r = (ci * KH + ky) * WIN + kx;
                    acc += wv * vec4(v[r], v[r + S], v[r + 2 * S], v[r + 3 * S]);
                }
        uint i = obase + c * HWo;
        if (VEC4) {
            if (live) o4[i >> 2] = acc;
        } else {
            [[unroll]] for (uint p = 0; p < 4; p++)
                if (live && 4 * xq + p < pc.Wo) o[i + p] = acc[p];
        }
    }
}
