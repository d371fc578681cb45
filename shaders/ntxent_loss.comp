#version 450
// ntxent_loss.comp — NT-Xent pass 2 of 3, one workgroup: loss = mean of the row losses
// that ntxent_rows.comp left on the diagonal of G, which is then cleared (G_ii = 0:
// the diagonal is outside the softmax) so ntxent_grad.comp can read G as it is.

// before any include: functions compiled earlier would see the default size (1)
layout(local_size_x_id = 0) in;
#include "xent_reduce.glsl"

layout(std430, binding = 0) writeonly buffer Loss { float loss; }; // (1)
layout(std430, binding = 1) buffer S { float g[]; };               // (N2, N2)
layout(push_constant) uniform Push { uint n2; } pc;

void main() {
    uint l = gl_LocalInvocationID.x;
    float sum = 0.0;
    for (uint i = l; i < pc.n2; i += gl_WorkGroupSize.x) {
        uint at = i * pc.n2 + i;
        sum += g[at];
        g[at] = 0.0;
    }
    sum = wg_sum(sum);
    if (l == 0) loss = sum / float(pc.n2);
}
