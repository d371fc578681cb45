#version 450
// conv_rows4.comp — copy image rows of an NCHW tensor into rows of RGBA32F texels that
// hold 4 consecutive output columns, optionally strided, shifted and zero-padded:
//
//   dst[kx][b][c][yp][t] = vec4(src[b][c][yp rs - pt][(4 t + q) s + kx - pl], q = 0..3)
//
// (zero outside the image). The CPU wgrad reduces over pixels with dot products of such
// texels: d_out rows (nkx = 1, s = 1, no padding) against input rows, one copy per kernel
// column kx so that every tap starts on a texel boundary. One invocation per row, or per
// row and all its kx copies (MERGED, when their columns fit in a window of 4 texels) (the
// index arithmetic is most of the cost of a short row); the source is a texel buffer
// and the 4 values of a texel come from 2 (s = 1) or 3 (s = 2) texel fetches (one each
// for larger strides), against 4 scalar storage-buffer loads.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;
// MERGED: one invocation writes the row for every kx (rows = nb * C * Hp), from one
// window of 4 texels per output texel; needs 3 + 3 stride + nkx <= 16 (host checks).
layout(constant_id = 1) const bool MERGED = false;

layout(binding = 0) uniform samplerBuffer S;                      // (nb, C, H, W) from element src_off
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; }; // (nkx, nb, C, Hp, W4)

layout(push_constant) uniform Push {
    uint C, H, W;          // source
    uint Hp, W4;           // rows per plane (with padding), texels per row
    uint pt, pl, stride;   // top / left padding, column stride
    uint rs;               // row stride (> 1: subsample rows, for strided 1x1 convolutions)
    uint planes;           // nb * C
    uint rows;             // nkx * nb * C * Hp invocations (nb * C * Hp when MERGED)
    uint nkx;
    uint src_off;
    uint src_texels;
} pc;

void main() {
    uint row = flat_index();
    if (row >= pc.rows) return;
    uint plane = conv_udiv(row, pc.Hp), yp = row - plane * pc.Hp;
    uint kx = 0, bc = plane;
    if (!MERGED) {
        kx = conv_udiv(plane, pc.planes);
        bc = plane - kx * pc.planes;
    }
    uint kx_end = MERGED ? pc.nkx : kx + 1;
    uint kx_stride = pc.planes * pc.Hp * pc.W4; // texels between the copies of one row
    uint d = ((kx * pc.planes + bc) * pc.Hp + yp) * pc.W4;
    int y = int(yp * pc.rs) - int(pc.pt);
    if (y < 0 || y >= int(pc.H)) {
        for (uint c = kx; c < kx_end; c++, d += kx_stride)
            for (uint t = 0; t < pc.W4; t++) dst[d + t] = vec4(0.0);
        return;
    }
    int s = int(pc.stride);
    int x0 = int(kx) - int(pc.pl); // source column of output column 0
    int i0 = int(pc.src_off + bc * pc.H * pc.W) + y * int(pc.W) + x0;
    int last = int(pc.src_texels) - 1;
    for (uint t = 0; t < pc.W4; t++, x0 += 4 * s, i0 += 4 * s) {
        int t0 = i0 >> 2, k = i0 & 3;
        if (MERGED) { // texels t0 .. t0 + 3 hold this texel's columns for every kx
            vec4 a0 = texelFetch(S, clamp(t0, 0, last)), a1 = texelFetch(S, clamp(t0 + 1, 0, last));
            vec4 a2 = texelFetch(S, clamp(t0 + 2, 0, last)), a3 = texelFetch(S, clamp(t0 + 3, 0, last));
            for (uint c = 0; c < pc.nkx; c++) {
                vec4 v;
                [[unroll]] for (uint q = 0; q < 4; q++) {
                    int x = x0 + int(c) + int(q) * s;
                    v[q] = x >= 0 && x < int(pc.W) ? conv_pick4(a0, a1, a2, a3, k + int(c) + int(q) * s) : 0.0;
                }
                dst[d + c * kx_stride + t] = v;
            }
            continue;
        }
        vec4 v;
        if (s <= 2) { // the 4 values lie in 3 consecutive texels
            vec4 a0 = texelFetch(S, clamp(t0, 0, last)), a1 = texelFetch(S, clamp(t0 + 1, 0, last));
            vec4 a2 = s > 1 ? texelFetch(S, clamp(t0 + 2, 0, last)) : a1;
            [[unroll]] for (uint q = 0; q < 4; q++) v[q] = conv_pick(a0, a1, a2, k + int(q) * s);
        } else { // larger strides: one fetch per value
            [[unroll]] for (uint q = 0; q < 4; q++) {
                int i = i0 + int(q) * s;
                v[q] = conv_pick(texelFetch(S, clamp(i >> 2, 0, last)), vec4(0.0), vec4(0.0), i & 3);
            }
        }
        [[unroll]] for (uint q = 0; q < 4; q++) {
            int x = x0 + int(q) * s;
            if (x < 0 || x >= int(pc.W)) v[q] = 0.0;
        }
        dst[d + t] = v;
    }
}
