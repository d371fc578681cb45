#version 450
// ema.comp — MoCo's momentum (key) encoder update: target = m*target + (1-m)*source,
// with m = hyper[2] read on the GPU so the momentum may follow a schedule.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer Tgt { float target[]; };
layout(std430, binding = 1) readonly buffer Src { float source[]; };
layout(std430, binding = 2) readonly buffer H { float hyper[]; };
layout(push_constant) uniform Push {
    uint n;
    uint t_off, s_off, h_off; // element offsets of the first float in each window
} pc;

void main() {
    uint i = flat_index();
    if (i >= pc.n) return;
    float m = hyper[pc.h_off + 2u];
    target[pc.t_off + i] = m * target[pc.t_off + i] + (1.0 - m) * source[pc.s_off + i];
}
