#version 450
// lars_norms.comp — first half of a LARS step: per tile, the partial sums of w^2 and
// d^2 with d = g + wd*w, written to partials[tile]. The update (sgd.comp, variant lars)
// adds up the partials of its parameter, so all parameter norms cost one dispatch
// whatever the number of parameters. no_decay tiles are not adapted and write zeros.
#include "optim_tiles.glsl"

layout(local_size_x_id = 0) in; // a power of two (tree reduction below)
layout(std430, binding = 0) readonly buffer W { float w[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) readonly buffer T { VcOptimTile tiles[]; };
layout(std430, binding = 3) writeonly buffer P { vec2 partials[]; };
layout(push_constant) uniform Push {
    uint tile_base, tile_end;
    float weight_decay;
} pc;

shared vec2 red[gl_WorkGroupSize.x];

void main() {
    uint t = tile_index(pc.tile_base);
    if (t >= pc.tile_end) return; // whole workgroup leaves together: t is uniform
    VcOptimTile tile = tiles[t];
    uint lid = gl_LocalInvocationID.x;
    vec2 s = vec2(0.0);
    if ((tile.meta.y & TILE_NO_DECAY) == 0u) {
        for (uint i = lid; i < tile.meta.x; i += gl_WorkGroupSize.x) {
            float wi = w[tile.off.x + i];
            float d = g[tile.off.y + i] + pc.weight_decay * wi;
            s += vec2(wi * wi, d * d);
        }
    }
    red[lid] = s;
    barrier();
    for (uint h = gl_WorkGroupSize.x / 2u; h > 0u; h >>= 1) {
        if (lid < h) red[lid] += red[lid + h];
        barrier();
    }
    if (lid == 0u) partials[t] = red[0];
}
