#version 450
// relu.comp — ReLU forward out = max(x, 0) (in place allowed: out may be x) and
// backward d_x += d_out * (out > 0), which needs only the forward's output; the SET
// builds write d_x = d_out * (out > 0) without reading d_x.
// n counts units: floats, or vec4s in the VEC4 build (see elementwise.glsl).
//! variant relu_fwd
//! variant relu_fwd_v4 -DVEC4=1
//! variant relu_bwd -DBACKWARD=1
//! variant relu_bwd_v4 -DBACKWARD=1 -DVEC4=1
//! variant relu_bwd_set -DBACKWARD=1 -DSET=1
//! variant relu_bwd_set_v4 -DBACKWARD=1 -DSET=1 -DVEC4=1
#include "elementwise.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push { uint n; } pc;

#if BACKWARD
TENSOR_OUT(0, d_x);
TENSOR_IN(1, d_out);
TENSOR_IN(2, out_);
#if !SET
TENSOR_IN(3, d_x_in); // the same memory as d_x
#endif
#else
TENSOR_OUT(0, out_);
TENSOR_IN(1, x);
#endif

void main() {
    uint i = flat_index();
    if (i >= pc.n) return;
#if BACKWARD
    // where out > 0 the gradient passes; at out == 0 (x <= 0) it is 0, as in PyTorch
    T o = LD(out_, i), dy = LD(d_out, i);
#if VEC4
    dy = mix(vec4(0), dy, greaterThan(o, vec4(0)));
#else
    dy = o > 0 ? dy : 0.0;
#endif
#if SET
    d_x[i] = dy;
#else
    d_x[i] = LD(d_x_in, i) + dy;
#endif
#else
    out_[i] = max(LD(x, i), T(0));
#endif
}
