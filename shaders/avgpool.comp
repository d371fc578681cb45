#version 450
// avgpool.comp — global average pooling over HW: forward out (B, C) = mean_HW x
// (B, C, HW), backward d_x (B, C, HW) += d_out (B, C) / HW (SET builds: d_x =, no read).
// One invocation per row (b, c) walks the row's HW values (HW/4 vec4s in VEC4, used
// when HW % 4 == 0; TEX1 when only B*C*HW % 4 == 0, as at 7x7): rows are short, and
// one lane per row needs no division or reduction.
//! variant avgpool_fwd
//! variant avgpool_fwd_v4 -DVEC4=1
//! variant avgpool_fwd_t1 -DTEX1=1
//! variant avgpool_bwd -DBACKWARD=1
//! variant avgpool_bwd_v4 -DBACKWARD=1 -DVEC4=1
//! variant avgpool_bwd_t1 -DBACKWARD=1 -DTEX1=1
//! variant avgpool_bwd_set -DBACKWARD=1 -DSET=1
//! variant avgpool_bwd_set_v4 -DBACKWARD=1 -DSET=1 -DVEC4=1
#include "elementwise.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push {
    uint rows; // B*C
    uint HWu;  // units per row: HW, or HW/4 in VEC4
    float HW;
} pc;

#if BACKWARD
TENSOR_OUT(0, d_x);
layout(std430, binding = 1) readonly buffer DY { float d_out[]; };
#if !SET
TENSOR_IN(2, d_x_in); // the same memory as d_x
#endif
#else
layout(std430, binding = 0) writeonly buffer O { float out_[]; };
TENSOR_IN(1, x);
#endif

void main() {
    uint r = flat_index();
    if (r >= pc.rows) return;
    uint base = r * pc.HWu;
#if BACKWARD
    T g = T(d_out[r] / pc.HW);
#if SET
    for (uint j = 0; j < pc.HWu; j++) d_x[base + j] = g;
#else
    for (uint j = 0; j < pc.HWu; j++) d_x[base + j] = LD(d_x_in, base + j) + g;
#endif
#else
    T s = T(0);
    for (uint j = 0; j < pc.HWu; j++) s += LD(x, base + j);
#if VEC4
    out_[r] = ((s.x + s.y) + (s.z + s.w)) / pc.HW;
#else
    out_[r] = s / pc.HW;
#endif
#endif
}
