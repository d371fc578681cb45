#version 450
// axpy.comp — y += alpha * x (gradient accumulation, EMA updates).
//! variant axpy
//! variant axpy_v4 -DVEC4=1
#include "elementwise.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { uint n; float alpha; } pc;
TENSOR_OUT(0, y);
TENSOR_IN(1, x);
TENSOR_IN(2, y_in); // the same memory as y

void main() {
    uint i = flat_index();
    if (i < pc.n) y[i] = LD(y_in, i) + pc.alpha * LD(x, i);
}
