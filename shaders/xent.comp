#version 450
// xent.comp — softmax cross-entropy with integer labels, pass 1 of 2: one workgroup per
// row (rows beyond the grid are looped over). The logits are read in aligned groups of
// 4 consecutive floats of the whole (rows x classes) array, each invocation taking every
// wg-th group that overlaps its row, and only twice: once for a running max and sum of
// exp (online softmax, so any finite logits work) and once to write the gradient.
// Writes d_logits = (softmax - onehot) * scale / rows, except at the label's own entry,
// which temporarily holds the row's loss lse - x[label]: the loss buffer has room for
// one float only, and this keeps the per-row losses without a scratch buffer.
// xent_finish.comp sums them and writes the real gradient there, exp(-loss) being the
// label's softmax probability.
// A label outside [0, classes) marks an ignored row: its d_logits row is 0 and it adds
// nothing to the loss (xent_finish skips it too).
// The texel variant reads the logits as RGBA32F texels (needs rows * classes % 4 == 0;
// much cheaper than storage-buffer loads on lavapipe); the plain variant takes any shape.
//! variant xent
//! variant xent_t -DTEXEL=1

// before any include: functions compiled earlier would see the default size (1)
layout(local_size_x_id = 0) in;
#include "xent_reduce.glsl"

layout(std430, binding = 0) writeonly buffer DL { float d_logits[]; }; // (rows, classes)
#ifdef TEXEL
layout(binding = 1) uniform samplerBuffer lt;                          // (rows * classes / 4) texels
#else
layout(std430, binding = 1) readonly buffer L { float logits[]; };     // (rows, classes)
#endif
layout(std430, binding = 2) readonly buffer Y { int labels[]; };       // (rows)
layout(push_constant) uniform Push { uint rows; uint classes; float grad_scale; } pc; // grad_scale = scale / rows

// The 4 logits of group g (flat indices 4g .. 4g+3); entries past the end read as 0.
vec4 load4(uint g) {
#ifdef TEXEL
    return texelFetch(lt, int(g));
#else
    uint n = pc.rows * pc.classes, e = 4 * g;
    return vec4(logits[min(e, n - 1)], logits[min(e + 1, n - 1)], logits[min(e + 2, n - 1)], logits[min(e + 3, n - 1)]);
#endif
}

void main() {
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x, C = pc.classes;
    for (uint row = gl_WorkGroupID.x; row < pc.rows; row += gl_NumWorkGroups.x) {
        uint base = row * C, end = base + C; // flat range of the row
        uint g0 = base / 4, g1 = (end + 3) / 4;  // groups overlapping it
        int y = labels[row];
        if (y < 0 || uint(y) >= C) { // ignored row (uniform across the workgroup)
            for (uint j = l; j < C; j += wg) d_logits[base + j] = 0.0;
            continue;
        }
        float m = VC_NEG, s = 0.0;
        for (uint g = g0 + l; g < g1; g += wg) {
            uvec4 e = 4 * g + uvec4(0, 1, 2, 3);
            // base <= e < end, as one unsigned compare (e < base wraps around)
            online_lse4(m, s, load4(g), lessThan(e - uvec4(base), uvec4(C)));
        }
        float lse = wg_logsumexp(m, s);
        uint at_label = base + uint(y);
        for (uint g = g0 + l; g < g1; g += wg) {
            vec4 v = load4(g);
            for (uint q = 0; q < 4; q++) {
                uint e = 4 * g + q;
                if (e - base >= C) continue; // outside the row (unsigned wrap as above)
                // exp(x - lse) = softmax; at the label: stash the row loss (see above)
                d_logits[e] = e == at_label ? lse - v[q] : exp(v[q] - lse) * pc.grad_scale;
            }
        }
    }
}
