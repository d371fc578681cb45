#version 450
// xent.comp — softmax cross-entropy with integer labels, pass 1 of 2: one workgroup per
// row (rows beyond the grid are looped over). The row max is subtracted before exp, so
// any finite logits work. Writes d_logits = (softmax - onehot) * scale / rows, except at
// the label's own entry, which temporarily holds the row's loss lse - x[label]: the
// loss buffer has room for one float only, and this keeps the per-row losses without
// a scratch buffer. xent_finish.comp sums them and writes the real gradient there,
// exp(-loss) being the label's softmax probability.
// A label outside [0, classes) marks an ignored row: its d_logits row is 0 and it adds
// nothing to the loss (xent_finish skips it too).
// before any include: functions compiled earlier would see the default size (1)
layout(local_size_x_id = 0) in;
#include "xent_reduce.glsl"

layout(std430, binding = 0) writeonly buffer DL { float d_logits[]; }; // (rows, classes)
layout(std430, binding = 1) readonly buffer L { float logits[]; };     // (rows, classes)
layout(std430, binding = 2) readonly buffer Y { int labels[]; };       // (rows)
layout(push_constant) uniform Push { uint rows; uint classes; float grad_scale; } pc; // grad_scale = scale / rows

void main() {
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x, C = pc.classes;
    for (uint row = gl_WorkGroupID.x; row < pc.rows; row += gl_NumWorkGroups.x) {
        uint base = row * C;
        int y = labels[row];
        if (y < 0 || uint(y) >= C) { // ignored row (uniform across the workgroup)
            for (uint j = l; j < C; j += wg) d_logits[base + j] = 0.0;
            continue;
        }
        float m = -3.402823466e38;
        for (uint j = l; j < C; j += wg) m = max(m, logits[base + j]);
        m = wg_max(m);
        float s = 0.0;
        for (uint j = l; j < C; j += wg) s += exp(logits[base + j] - m);
        s = wg_sum(s);
        float lse = m + log(s);
        for (uint j = l; j < C; j += wg) {
            float x = logits[base + j];
            // exp(x - lse) = softmax_j; at the label: stash the row loss (see above)
            d_logits[base + j] = j == uint(y) ? lse - x : exp(x - lse) * pc.grad_scale;
        }
    }
}
