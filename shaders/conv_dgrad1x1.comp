#version 450
// conv_dgrad1x1.comp — dgrad of a 1x1 convolution (stride s, no padding), CPU devices,
// reading d_out in place:
//
//   d_in[b][ci][oy s][ox s] += sum_co Wp[co][ci] * d_out[b][co][p],  p = oy Wo + ox
//
// (d_in elsewhere gets nothing: its gradient there is 0). When d_out's (b, co) planes are
// whole, aligned RGBA32F texels (Ho Wo % 4 = 0), a texel of d_out is 4 consecutive pixels of
// one plane; otherwise (UNALIGNED) those 4 pixels are taken from 2 texels at the plane's
// offset (a shift that varies per plane, a few selects). An invocation computes TM input channels x TQ such
// texels of one image as outer products: per output channel co, TM / 4 texel fetches of
// the packed weights (4 input channels each) and TQ of d_out, then TM x TQ vec4
// multiply-adds. Against conv_igemm (dot products along co over an NHWC4 copy of d_out)
// it needs no copy of d_out, and the same number of fetches per multiply-add.
// Results are added to d_in one value at a time (the pixels are s apart).
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 16; // input channels per invocation (multiple of 4)
layout(constant_id = 2) const uint TQ = 4;  // texels of 4 pixels per invocation
layout(constant_id = 3) const bool UNALIGNED = false; // planes start anywhere (Ho Wo % 4 != 0)

layout(binding = 0) uniform samplerBuffer Wp; // (C_out, C4) texels: Wp[co][c4] = w[co][4 c4 .. 4 c4 + 3]
layout(binding = 1) uniform samplerBuffer D;  // d_out (nb, C_out, P) from element d_off (texel d_off / 4 if aligned)
layout(std430, binding = 2) buffer Din { float din[]; }; // (nb, C_in, H, W) from element o_off

layout(push_constant) uniform Push {
    uint C_in, C_out, C4;
    uint H, W, Wo, stride;
    uint P, P4;      // pixels per d_out plane (Ho Wo), texels of 4 pixels: ceil(P / 4)
    uint groups;     // texel groups per image: ceil(P4 / TQ)
    uint tiles;      // ceil(C_in / TM) * nb * groups
    uint d_off, o_off;
    uint d_texels;   // texels in D (UNALIGNED fetches are clamped into range)
} pc;

// 4 consecutive floats from element k (0..3) of a0 on (a0, a1)
vec4 shift4(vec4 a0, vec4 a1, uint k) {
    vec4 r = k == 0 ? a0 : vec4(a0.yzw, a1.x);
    r = k == 2 ? vec4(a0.zw, a1.xy) : r;
    return k == 3 ? vec4(a0.w, a1.xyz) : r;
}

void main() {
    uint t = flat_index();
    bool live = t < pc.tiles;
    t = min(t, pc.tiles - 1); // spare invocations redo the last tile, store nothing
    uint tiles_m = (pc.C_in + TM - 1) / TM;
    uint n = conv_udiv(t, tiles_m), tm = t - n * tiles_m; // m fastest: neighbours share d_out
    uint b = conv_udiv(n, pc.groups), g = n - b * pc.groups;
    uint c40 = tm * (TM / 4); // first weight texel of the tile
    uint q0 = g * TQ;         // first d_out texel of the tile

    int wrow[TM / 4];
    [[unroll]] for (uint i = 0; i < TM / 4; i++) wrow[i] = int(min(c40 + i, pc.C4 - 1));
    int drow[TQ]; // aligned: texel of pixel 4 (q0 + j) of plane (b, 0); unaligned: its element
    [[unroll]] for (uint j = 0; j < TQ; j++)
        drow[j] = UNALIGNED ? int(pc.d_off + b * pc.C_out * pc.P + 4 * min(q0 + j, pc.P4 - 1))
                            : int(pc.d_off + b * pc.C_out * pc.P4 + min(q0 + j, pc.P4 - 1));
    int last = int(pc.d_texels) - 1;

    vec4 acc[TM][TQ]; // acc[i][j][k]: input channel 4 c40 + i, pixel 4 (q0 + j) + k
    [[unroll]] for (uint i = 0; i < TM; i++)
        [[unroll]] for (uint j = 0; j < TQ; j++) acc[i][j] = vec4(0.0);
    for (uint co = 0; co < pc.C_out; co++) {
        vec4 a[TM / 4], d[TQ]; // every load first, then the multiply-adds
        [[unroll]] for (uint i = 0; i < TM / 4; i++) a[i] = texelFetch(Wp, int(co * pc.C4) + wrow[i]);
        if (UNALIGNED) {
            uint k = (uint(drow[0]) + co * pc.P) & 3; // the same shift for every texel of the plane
            [[unroll]] for (uint j = 0; j < TQ; j++) {
                int e = (drow[j] + int(co * pc.P)) >> 2;
                d[j] = shift4(texelFetch(D, min(e, last)), texelFetch(D, min(e + 1, last)), k);
            }
        } else {
            [[unroll]] for (uint j = 0; j < TQ; j++) d[j] = texelFetch(D, drow[j] + int(co * pc.P4));
        }
        [[unroll]] for (uint i = 0; i < TM; i++)
            [[unroll]] for (uint j = 0; j < TQ; j++) acc[i][j] += a[i / 4][i % 4] * d[j];
    }

    // d_in offsets of the tile's pixels: p = 4 q0 .. , walking along the output rows
    uint p = 4 * q0;
    uint oy = conv_udiv(p, pc.Wo), ox = p - oy * pc.Wo;
    uint HW = pc.H * pc.W;
    uint base = pc.o_off + (b * pc.C_in + 4 * c40) * HW;
    [[unroll]] for (uint j = 0; j < TQ; j++) {
        [[unroll]] for (uint k = 0; k < 4; k++) {
            uint pix = base + (oy * pc.W + ox) * pc.stride;
            bool in_plane = live && 4 * (q0 + j) + k < pc.P;
            [[unroll]] for (uint i = 0; i < TM; i++)
                if (in_plane && 4 * c40 + i < pc.C_in) din[pix + i * HW] += acc[i][j][k];
            ox++;
            bool wrap = ox == pc.Wo; // one pixel further: at most one wrap (selects, no loop)
            ox = wrap ? 0 : ox;
            oy += wrap ? 1 : 0;
        }
    }
}
