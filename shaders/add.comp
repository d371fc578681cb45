#version 450
// add.comp — out = a + b (residual connections); out may be a or b.
//! variant add
//! variant add_v4 -DVEC4=1
#include "elementwise.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { uint n; } pc;
TENSOR_OUT(0, out_);
TENSOR_IN(1, a);
TENSOR_IN(2, b);

void main() {
    uint i = flat_index();
    if (i < pc.n) out_[i] = LD(a, i) + LD(b, i);
}
