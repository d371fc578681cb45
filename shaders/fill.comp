#version 450
// fill.comp — x[i] = value for i < n (zeroing gradients, initialising buffers).
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer X { float x[]; };
layout(push_constant) uniform Push { uint n; float value; } pc;

void main() {
    uint i = flat_index();
    if (i < pc.n) x[i] = pc.value;
}
