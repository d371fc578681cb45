// xent_reduce.glsl — workgroup-wide reductions through shared memory for the row-wise
// softmax kernels (xent*.comp, ntxent*.comp). Portable: no subgroup operations, so it is
// correct for any subgroup size; the workgroup size (spec constant 0) must be a power of
// two, which the host guarantees. Every invocation of the workgroup must call these
// functions (they contain barriers) and all get the same result.
// Include it AFTER `layout(local_size_x_id = 0) in;`: glslang compiles a function that
// precedes that line with gl_WorkGroupSize = (1, 1, 1), and these loops would vanish.
// The arrays have the largest size the host uses (VC_ROW_WG_MAX in src/ops/loss.c).
#ifndef VC_XENT_REDUCE_GLSL
#define VC_XENT_REDUCE_GLSL

shared float vc_red_a[256], vc_red_b[256];

const float VC_NEG = -3.402823466e38; // "minus infinity" that keeps exp(NEG - NEG) finite

float wg_sum(float v) {
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    vc_red_a[l] = v;
    barrier();
    for (uint h = wg / 2; h > 0; h >>= 1) {
        if (l < h) vc_red_a[l] += vc_red_a[l + h];
        barrier();
    }
    float r = vc_red_a[0];
    barrier(); // everyone read vc_red_a[0] -> the next reduction may overwrite it
    return r;
}

// Merge per-invocation partial softmax normalizers: each invocation has seen values x
// with maximum m and s = sum exp(x - m) (m = VC_NEG, s = 0 when it saw none). Returns
// log(sum over the workgroup of exp(x)) = M + log(sum_l s_l exp(m_l - M)), M = max_l m_l.
float wg_logsumexp(float m, float s) {
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    vc_red_a[l] = m;
    vc_red_b[l] = s;
    barrier();
    for (uint h = wg / 2; h > 0; h >>= 1) {
        if (l < h) {
            float m1 = vc_red_a[l], m2 = vc_red_a[l + h], mx = max(m1, m2);
            vc_red_b[l] = vc_red_b[l] * exp(m1 - mx) + vc_red_b[l + h] * exp(m2 - mx);
            vc_red_a[l] = mx;
        }
        barrier();
    }
    float r = vc_red_a[0] + log(vc_red_b[0]);
    barrier();
    return r;
}

// Online softmax normalizer: fold the valid entries of v into (m, s) as defined above.
void online_lse4(inout float m, inout float s, vec4 v, bvec4 valid) {
    float bm = VC_NEG;
    for (int q = 0; q < 4; q++)
        if (valid[q]) bm = max(bm, v[q]);
    float mn = max(m, bm), add = 0.0;
    for (int q = 0; q < 4; q++)
        if (valid[q]) add += exp(v[q] - mn);
    s = s * exp(m - mn) + add;
    m = mn;
}

#endif
