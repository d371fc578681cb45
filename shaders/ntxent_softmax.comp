#version 450
// ntxent_softmax.comp — NT-Xent pass 2 of 4, one workgroup per row i of S (in place):
// P_ij = softmax over j != i of S_ij (row max subtracted), then
//   G_ij = (P_ij - [j == pos(i)]) / (N2 T),   pos(i) = (i + N2/2) mod N2,
// which is dL/dS_ij / T for L = the mean row loss. The diagonal is not part of the
// softmax (G_ii = 0); it is free, so it temporarily holds the row's loss
// lse_i - S_i,pos(i) for ntxent_loss.comp, which sums and clears it.
// before any include: functions compiled earlier would see the default size (1)
layout(local_size_x_id = 0) in;
#include "xent_reduce.glsl"

layout(std430, binding = 0) buffer S { float sim[]; }; // (N2, N2): S in, G out
layout(push_constant) uniform Push { uint n2; float g_scale; } pc; // g_scale = 1 / (N2 T)

void main() {
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x, n2 = pc.n2;
    for (uint i = gl_WorkGroupID.x; i < n2; i += gl_NumWorkGroups.x) {
        uint base = i * n2, pos = (i + n2 / 2) % n2;
        float m = -3.402823466e38;
        for (uint j = l; j < n2; j += wg)
            if (j != i) m = max(m, sim[base + j]);
        m = wg_max(m);
        float s = 0.0;
        for (uint j = l; j < n2; j += wg)
            if (j != i) s += exp(sim[base + j] - m);
        s = wg_sum(s);
        float lse = m + log(s);
        float s_pos = sim[base + pos];
        barrier(); // everyone read S_i,pos -> it may be overwritten
        for (uint j = l; j < n2; j += wg) {
            float g = exp(sim[base + j] - lse) - (j == pos ? 1.0 : 0.0);
            sim[base + j] = j == i ? lse - s_pos : g * pc.g_scale;
        }
    }
}
