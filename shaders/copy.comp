#version 450
// copy.comp — dst = src over n floats; either may be a slice at any float offset
// (d_off / s_off skip the floats between the 256-byte-aligned window start and the data).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Dst { float dst[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(push_constant) uniform Push { uint n, d_off, s_off; } pc;

void main() {
    uint i = flat_index();
    if (i < pc.n) dst[pc.d_off + i] = src[pc.s_off + i];
}
