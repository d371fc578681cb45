#version 450
// scatter_rows.comp — x[idx[i]] = src (count, D)[i] for distinct int32 row indices
// (MoCo's queue / the memory bank update); an index outside [0, x_rows) is skipped.
// One invocation per source float.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(std430, binding = 2) readonly buffer I { int idx[]; };
layout(push_constant) uniform Push { uint count, D, x_rows, x_off, s_off, i_off; } pc;

void main() {
    uint i = flat_index();
    if (i >= pc.count * pc.D) return;
    uint r = i / pc.D, c = i - r * pc.D;
    int dst = idx[pc.i_off + r];
    if (dst >= 0 && uint(dst) < pc.x_rows) x[pc.x_off + uint(dst) * pc.D + c] = src[pc.s_off + i];
}
