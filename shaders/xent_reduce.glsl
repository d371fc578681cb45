// xent_reduce.glsl — workgroup-wide max / sum through shared memory, for the row-wise
// softmax kernels (xent*.comp, ntxent*.comp). Portable: no subgroup operations, so it is
// correct for any subgroup size; the workgroup size (spec constant 0) must be a power of
// two, which the host guarantees. Every invocation of the workgroup must call these
// functions (they contain barriers) and all get the same result.
#ifndef VC_XENT_REDUCE_GLSL
#define VC_XENT_REDUCE_GLSL

// Include it AFTER `layout(local_size_x_id = 0) in;`: glslang compiles a function that
// precedes that line with gl_WorkGroupSize = (1, 1, 1), and these loops would vanish.
// The array has the largest size the host uses (VC_ROW_WG_MAX in src/ops/loss.c).
shared float vc_red[256];

float wg_max(float v) {
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    vc_red[l] = v;
    barrier();
    for (uint s = wg / 2; s > 0; s >>= 1) {
        if (l < s) vc_red[l] = max(vc_red[l], vc_red[l + s]);
        barrier();
    }
    float r = vc_red[0];
    barrier(); // everyone read vc_red[0] -> the next reduction may overwrite it
    return r;
}

float wg_sum(float v) {
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    vc_red[l] = v;
    barrier();
    for (uint s = wg / 2; s > 0; s >>= 1) {
        if (l < s) vc_red[l] += vc_red[l + s];
        barrier();
    }
    float r = vc_red[0];
    barrier();
    return r;
}

#endif
