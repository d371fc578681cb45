#version 450
// l2norm_fwd.comp — out = x / max(||x||, eps) per row (as PyTorch's F.normalize), and the
// unclamped norms, which the backward needs. One invocation per row: rows of a
// projection head are short (D = 64..2048) and there are few of them, so the op is a
// single pass over memory either way; per-row invocations need no reduction.

// before any include: functions compiled earlier would see the default size (1)
layout(local_size_x_id = 0) in;
#include "common.glsl"

layout(std430, binding = 0) writeonly buffer Out { float out_[]; };   // (rows, D)
layout(std430, binding = 1) readonly buffer X { float x[]; };         // (rows, D)
layout(std430, binding = 2) writeonly buffer Norms { float norms[]; }; // (rows)
layout(push_constant) uniform Push { uint rows; uint D; float eps; } pc;

void main() {
    uint r = flat_index();
    if (r >= pc.rows) return;
    uint base = r * pc.D;
    float ss = 0.0;
    for (uint k = 0; k < pc.D; k++) {
        float v = x[base + k];
        ss += v * v;
    }
    float n = sqrt(ss);
    float inv = 1.0 / max(n, pc.eps);
    for (uint k = 0; k < pc.D; k++) out_[base + k] = x[base + k] * inv;
    norms[r] = n;
}
