#version 450
// conv_plane4.comp — gather the pixels one kernel tap of a convolution reads into whole
// planes of RGBA32F texels, 4 consecutive output pixels per texel:
//
//   dst[tap][bc][t] = vec4(src[bc][oy(p) s - pad + ky][ox(p) s - pad + kx], p = 4 t + q, q = 0..3)
//   oy(p) = p / Wo, ox(p) = p % Wo, tap = ky KW + kx   (zero outside the image and for p >= Ho Wo)
//
// The CPU wgrad of a 1x1 or strided convolution reduces over the pixels of each (image,
// channel) plane, per tap: with planes packed without per-row padding (ceil(Ho Wo / 4)
// texels) its inner loop runs over one plane in one go, and a d_out whose planes are whole,
// aligned texels is read in place (no copy at all; d_out's own copy is this with one tap).
// One invocation per destination texel and row of taps ky: it fetches the texels that hold
// each of its 4 pixels' KW columns once (1 to 3 per pixel; the source is a texel buffer bound from
// an aligned-down offset; the 4 pixels may lie on two rows) and writes the texel of every kx.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint KW = 1; // kernel width (<= 9): tap = ky KW + kx (a constant: the kx loop unrolls)
// WHOLE: the plane itself (one tap, stride 1, no padding, Ho Wo = H W): texel t is elements
// 4 t .. 4 t + 3 of the plane, 2 fetches and a shift, no per-pixel indices (d_out's copy)
layout(constant_id = 2) const bool WHOLE = false;

layout(binding = 0) uniform samplerBuffer S;                      // (nb, C, H, W) from element src_off
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; }; // (nb C, P4)

layout(push_constant) uniform Push {
    uint H, W;         // source plane
    uint Ho, Wo, P4;   // output plane; texels per destination plane ceil(Ho Wo / 4)
    uint stride, pad;
    uint planes;       // nb C planes per tap
    uint total;        // KH nb C P4 invocations (one writes the texel of every kx)
    uint src_off;
    uint src_texels;   // texels in S (fetches are clamped into range)
} pc;

void main() {
    uint e = flat_index();
    if (e >= pc.total) return;
    uint plane = conv_udiv(e, pc.P4), t = e - plane * pc.P4;
    uint ky = conv_udiv(plane, pc.planes), bc = plane - ky * pc.planes;
    uint P = pc.Ho * pc.Wo;
    int last = int(pc.src_texels) - 1;
    if (WHOLE) {
        int i0 = int(pc.src_off + bc * P + 4 * t), t0 = i0 >> 2;
        vec4 a = texelFetch(S, clamp(t0, 0, last)), b = texelFetch(S, clamp(t0 + 1, 0, last));
        int k = i0 & 3;
        vec4 v;
        [[unroll]] for (uint q = 0; q < 4; q++) v[q] = 4 * t + q < P ? conv_pick(a, b, b, k + int(q)) : 0.0;
        dst[e] = v;
        return;
    }
    uint p0 = min(4 * t, P - 1);
    uint oy = conv_udiv(p0, pc.Wo), ox = p0 - oy * pc.Wo; // then step along the row, wrapping
    // per pixel q: the 12 elements from texel i0[q] >> 2 on hold its columns x0 .. x0 + KW - 1
    // (KW <= 9, host checks); one fetch of each texel they span (1 for KW = 1, 2 up to KW = 5),
    // then every tap kx picks from them
    vec4 a0[4], a1[4], a2[4];
    int k0[4], x0[4];
    bool ok[4];
    [[unroll]] for (uint q = 0; q < 4; q++) {
        int y = int(oy * pc.stride + ky) - int(pc.pad);
        x0[q] = int(ox * pc.stride) - int(pc.pad);
        ok[q] = 4 * t + q < P && y >= 0 && y < int(pc.H);
        int i0 = int(pc.src_off + bc * pc.H * pc.W) + clamp(y, 0, int(pc.H) - 1) * int(pc.W) + x0[q];
        int t0 = i0 >> 2; // (arithmetic shift: i0 < 0 only left of the image, masked)
        k0[q] = i0 & 3;
        a0[q] = texelFetch(S, clamp(t0, 0, last)); // as many texels as KW columns may span
        a1[q] = KW > 1 ? texelFetch(S, clamp(t0 + 1, 0, last)) : a0[q];
        a2[q] = KW > 5 ? texelFetch(S, clamp(t0 + 2, 0, last)) : a1[q];
        ox++;
        bool wrap = ox == pc.Wo; // one pixel further: at most one wrap (selects, no loop)
        ox = wrap ? 0 : ox;
        oy += wrap ? 1 : 0;
    }
    uint d = (ky * KW * pc.planes + bc) * pc.P4 + t, tap_stride = pc.planes * pc.P4;
    [[unroll]] for (uint kx = 0; kx < KW; kx++, d += tap_stride) {
        vec4 v;
        [[unroll]] for (uint q = 0; q < 4; q++) {
            int x = x0[q] + int(kx);
            float val = conv_pick(a0[q], a1[q], a2[q], k0[q] + int(kx));
            v[q] = ok[q] && x >= 0 && x < int(pc.W) ? val : 0.0;
        }
        dst[d] = v;
    }
}
