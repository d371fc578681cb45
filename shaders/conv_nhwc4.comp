#version 450
// conv_nhwc4.comp — copy a chunk of an NCHW tensor into a zero-padded "NHWC4" layout:
//   dst[b][yp][xp][c4] = vec4(src[b][4 c4 + q][yp ss - pt][xp ss - pl], q = 0..3)
// (zero outside the image and for channels >= C). One RGBA32F texel then holds 4 channels
// of one pixel, so the CPU conv kernels read their operand along the channel (reduction)
// dimension with one texel fetch and no bounds checks: the padding is materialised.
// ss > 1 subsamples (a strided 1x1 convolution reads only those pixels).
//
// An invocation transposes a 4 x 4 block (4 channels x 4 consecutive columns): it reads
// each channel's 4 columns with 2 (3 if ss = 2) texel fetches from the source (bound as a texel buffer;
// rows need not be 4-aligned) and writes 4 texels. Per-lane loads are what costs on
// lavapipe, and a texel fetch brings 4 floats for the price of one scalar load.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;

layout(binding = 0) uniform samplerBuffer S;                      // (nb, C, H, W) from element src_off
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; }; // (nb, Hp, Wp, C4)

layout(push_constant) uniform Push {
    uint C, H, W, C4;
    uint Hp, Wp, pt, pl;   // padded size, top and left padding
    uint ss;               // source stride
    uint Wq;               // blocks of 4 columns per padded row: ceil(Wp / 4)
    uint total;            // nb * Hp * Wq * C4 invocations
    uint src_off;
    uint src_texels;       // texels in S (fetches are clamped into range)
} pc;

void main() {
    uint e = flat_index();
    if (e >= pc.total) return;
    uint blk = conv_udiv(e, pc.C4), c4 = e - blk * pc.C4;
    uint row = conv_udiv(blk, pc.Wq), xq = blk - row * pc.Wq;
    uint b = conv_udiv(row, pc.Hp), yp = row - b * pc.Hp;
    int ss = int(pc.ss);
    int y = int(yp) * ss - int(pc.pt), x0 = int(4 * xq) * ss - int(pc.pl);
    bool row_in = y >= 0 && y < int(pc.H);
    vec4 v[4]; // v[p][q]: column x0 + p, channel 4 c4 + q
    [[unroll]] for (uint q = 0; q < 4; q++) {
        uint c = 4 * c4 + q;
        // source element of column x0 (may be outside the row; masked below)
        int i0 = int(pc.src_off + (b * pc.C + min(c, pc.C - 1)) * pc.H * pc.W) + (row_in ? y : 0) * int(pc.W) + x0;
        int t0 = i0 >> 2, k = i0 & 3;
        int last = int(pc.src_texels) - 1;
        vec4 a0 = texelFetch(S, clamp(t0, 0, last)), a1 = texelFetch(S, clamp(t0 + 1, 0, last));
        vec4 a2 = ss > 1 ? texelFetch(S, clamp(t0 + 2, 0, last)) : a1;
        [[unroll]] for (uint p = 0; p < 4; p++) {
            int x = x0 + int(p) * ss;
            bool in_img = row_in && c < pc.C && x >= 0 && x < int(pc.W);
            float val = ss <= 2 ? conv_pick(a0, a1, a2, k + int(p) * ss) // window of 3 texels
                                : conv_pick(texelFetch(S, clamp((i0 + int(p) * ss) >> 2, 0, last)), a0, a0, (k + int(p) * ss) & 3);
            v[p][q] = in_img ? val : 0.0;
        }
    }
    uint d = (row * pc.Wp + 4 * xq) * pc.C4 + c4;
    [[unroll]] for (uint p = 0; p < 4; p++)
        if (4 * xq + p < pc.Wp) dst[d + p * pc.C4] = v[p];
}
