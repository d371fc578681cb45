#version 450
// xent_finish.comp — cross-entropy pass 2 of 2, one workgroup: loss = (sum of the row
// losses that xent.comp stashed at each row's label entry) / rows, and each stash is
// replaced with the label's gradient (p - 1) * scale / rows, where p = exp(-row loss).
// Reads and writes one float per row, so one workgroup is plenty; the fixed summation
// order makes the loss deterministic.

// before any include: functions compiled earlier would see the default size (1)
layout(local_size_x_id = 0) in;
#include "xent_reduce.glsl"

layout(std430, binding = 0) writeonly buffer Loss { float loss; };      // (1)
layout(std430, binding = 1) buffer DL { float d_logits[]; };            // (rows, classes)
layout(std430, binding = 2) readonly buffer Y { int labels[]; };        // (rows)
layout(push_constant) uniform Push { uint rows; uint classes; float grad_scale; } pc;

void main() {
    uint l = gl_LocalInvocationID.x;
    float sum = 0.0;
    for (uint row = l; row < pc.rows; row += gl_WorkGroupSize.x) {
        int y = labels[row];
        if (y < 0 || uint(y) >= pc.classes) continue;
        uint at = row * pc.classes + uint(y);
        float row_loss = d_logits[at];
        sum += row_loss;
        d_logits[at] = (exp(-row_loss) - 1.0) * pc.grad_scale;
    }
    sum = wg_sum(sum);
    if (l == 0) loss = sum / float(pc.rows);
}
