#version 450
// conv_plane4.comp — gather the pixels a 1x1 convolution reads into whole planes of
// RGBA32F texels, 4 consecutive output pixels per texel:
//
//   dst[bc][t] = vec4(src[bc][oy(p) s - pad][ox(p) s - pad], p = 4 t + q, q = 0..3)
//   oy(p) = p / Wo, ox(p) = p % Wo   (zero outside the image and for p >= Ho Wo)
//
// The CPU wgrad of a 1x1 convolution reduces over the pixels of each (image, channel)
// plane: with planes packed without per-row padding (ceil(Ho Wo / 4) texels) its inner
// loop runs over one plane in one go, and a d_out whose planes are whole, aligned texels
// is read in place (no copy at all). One invocation per destination texel; each value is
// one texel fetch of the source (bound as a texel buffer from an aligned-down offset):
// the 4 pixels of a texel may lie on two rows.
#extension GL_EXT_control_flow_attributes : require
#include "common.glsl"
#include "conv.glsl"

layout(local_size_x_id = 0) in;

layout(binding = 0) uniform samplerBuffer S;                      // (nb, C, H, W) from element src_off
layout(std430, binding = 1) writeonly buffer Dst { vec4 dst[]; }; // (nb C, P4)

layout(push_constant) uniform Push {
    uint H, W;         // source plane
    uint Ho, Wo, P4;   // output plane; texels per destination plane ceil(Ho Wo / 4)
    uint stride, pad;
    uint total;        // nb C P4 invocations
    uint src_off;
    uint src_texels;   // texels in S (fetches are clamped into range)
} pc;

void main() {
    uint e = flat_index();
    if (e >= pc.total) return;
    uint bc = conv_udiv(e, pc.P4), t = e - bc * pc.P4;
    uint P = pc.Ho * pc.Wo;
    int last = int(pc.src_texels) - 1;
    uint p0 = min(4 * t, P - 1);
    uint oy = conv_udiv(p0, pc.Wo), ox = p0 - oy * pc.Wo; // then step along the row, wrapping
    vec4 v;
    [[unroll]] for (uint q = 0; q < 4; q++) {
        int y = int(oy * pc.stride) - int(pc.pad), x = int(ox * pc.stride) - int(pc.pad);
        bool in_img = 4 * t + q < P && y >= 0 && y < int(pc.H) && x >= 0 && x < int(pc.W);
        int i = int(pc.src_off + bc * pc.H * pc.W) + clamp(y, 0, int(pc.H) - 1) * int(pc.W) + clamp(x, 0, int(pc.W) - 1);
        float val = conv_pick(texelFetch(S, clamp(i >> 2, 0, last)), vec4(0.0), vec4(0.0), i & 3);
        v[q] = in_img ? val : 0.0;
        ox++;
        bool wrap = ox == pc.Wo; // one pixel further: at most one wrap (selects, no loop)
        ox = wrap ? 0 : ox;
        oy += wrap ? 1 : 0;
    }
    dst[e] = v;
}
