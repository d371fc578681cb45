#version 450
// reduce_rows.comp — out[r] = sum or max over the cols of row r of x (rows, cols).
//
// Two styles (see src/ops/util_ops.h): PER_WG = 0, one invocation walks a whole row
// (CPU devices: no shared memory, no barriers; about cols/4 + cols/64 loop iterations,
// which must stay below lavapipe's 65535); PER_WG = 1, one
// workgroup per row, each invocation a strided part, then a tree in shared memory
// (GPUs). The workgroup size (spec constant 0) is a power of two.
//
//! variant reduce_sum_rows_inv -DOP_MAX=0 -DPER_WG=0
//! variant reduce_max_rows_inv -DOP_MAX=1 -DPER_WG=0
//! variant reduce_sum_rows_wg -DOP_MAX=0 -DPER_WG=1
//! variant reduce_max_rows_wg -DOP_MAX=1 -DPER_WG=1
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Out { float outv[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform Push { uint rows, cols, o_off, x_off; } pc;

#if OP_MAX
#define COMBINE(a, b) max(a, b)
#define IDENTITY (-1.0 / 0.0)
#else
#define COMBINE(a, b) ((a) + (b))
#define IDENTITY 0.0
#endif

#if PER_WG
shared float red[gl_WorkGroupSize.x];
#endif

void main() {
#if PER_WG
    uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (row >= pc.rows) return; // uniform per workgroup
    uint lid = gl_LocalInvocationID.x;
    uint base = pc.x_off + row * pc.cols;
    float acc = IDENTITY;
    for (uint c = lid; c < pc.cols; c += gl_WorkGroupSize.x) acc = COMBINE(acc, x[base + c]);
    red[lid] = acc;
    barrier();
    for (uint h = gl_WorkGroupSize.x / 2u; h > 0u; h >>= 1) {
        if (lid < h) red[lid] = COMBINE(red[lid], red[lid + h]);
        barrier();
    }
    if (lid == 0u) outv[pc.o_off + row] = red[0];
#else
    uint row = flat_index();
    if (row >= pc.rows) return;
    uint base = pc.x_off + row * pc.cols;
    // blocks of 64 columns into 4 running partials, then into the row total: a float
    // sum then errs by about (16 + cols/64) roundings instead of cols/4
    vec4 acc = vec4(IDENTITY);
    uint c = 0u;
    while (c + 4u <= pc.cols) {
        uint block_end = min(c + 64u, pc.cols & ~3u);
        vec4 blk = vec4(IDENTITY);
        for (; c < block_end; c += 4u) {
            blk.x = COMBINE(blk.x, x[base + c]);
            blk.y = COMBINE(blk.y, x[base + c + 1u]);
            blk.z = COMBINE(blk.z, x[base + c + 2u]);
            blk.w = COMBINE(blk.w, x[base + c + 3u]);
        }
        acc = vec4(COMBINE(acc.x, blk.x), COMBINE(acc.y, blk.y), COMBINE(acc.z, blk.z), COMBINE(acc.w, blk.w));
    }
    for (; c < pc.cols; c++) acc.x = COMBINE(acc.x, x[base + c]);
    outv[pc.o_off + row] = COMBINE(COMBINE(acc.x, acc.y), COMBINE(acc.z, acc.w));
#endif
}
