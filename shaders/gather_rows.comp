#version 450
// gather_rows.comp — out (count, D)[i] = x[idx[i]] for int32 row indices; an index
// outside [0, x_rows) gives a row of zeros (never an out-of-bounds read).
// One invocation per output float.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Out { float outv[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) readonly buffer I { int idx[]; };
layout(push_constant) uniform Push { uint count, D, x_rows, o_off, x_off, i_off; } pc;

void main() {
    uint i = flat_index();
    if (i >= pc.count * pc.D) return;
    uint r = i / pc.D, c = i - r * pc.D;
    int src = idx[pc.i_off + r];
    outv[pc.o_off + i] = (src >= 0 && uint(src) < pc.x_rows) ? x[pc.x_off + uint(src) * pc.D + c] : 0.0;
}
