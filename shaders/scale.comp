#version 450
// scale.comp — x *= alpha.
//! variant scale
//! variant scale_v4 -DVEC4=1
#include "elementwise.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { uint n; float alpha; } pc;
TENSOR_OUT(0, x);
TENSOR_IN(1, x_in); // the same memory as x

void main() {
    uint i = flat_index();
    if (i < pc.n) x[i] = pc.alpha * LD(x_in, i);
}
