#version 450
// l2norm_bwd.comp — d_x += gradient of out = x / max(||x||, eps), one invocation per row.
// With n = ||x|| > eps: out = x / n and dn/dx = out, so d(out)/dx = (I - out out^T) / n,
// which is symmetric: d_x += (d_out - out <d_out, out>) / n. Otherwise the clamp is
// active, out = x / eps is linear, and d_x += d_out / eps (PyTorch's clamp_min passes
// no gradient to the norm there).

// before any include: functions compiled earlier would see the default size (1)
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(std430, binding = 0) buffer DX { float d_x[]; };                // (rows, D), +=
layout(std430, binding = 1) readonly buffer DOut { float d_out[]; };  // (rows, D)
layout(std430, binding = 2) readonly buffer Out { float out_[]; };    // (rows, D)
layout(std430, binding = 3) readonly buffer Norms { float norms[]; }; // (rows)
layout(push_constant) uniform Push { uint rows; uint D; float eps; } pc;

void main() {
    uint r = flat_index();
    if (r >= pc.rows) return;
    uint base = r * pc.D;
    float n = norms[r];
    if (n > pc.eps) {
        float dot = 0.0;
        for (uint k = 0; k < pc.D; k++) dot += d_out[base + k] * out_[base + k];
        float inv = 1.0 / n;
        for (uint k = 0; k < pc.D; k++) d_x[base + k] += (d_out[base + k] - out_[base + k] * dot) * inv;
    } else {
        float inv = 1.0 / pc.eps;
        for (uint k = 0; k < pc.D; k++) d_x[base + k] += d_out[base + k] * inv;
    }
}
