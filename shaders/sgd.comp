#version 450
// sgd.comp — SGD with momentum and nesterov as torch.optim.SGD (dampening 0), and the
// LARS update (variant lars), over a table of parameter tiles (see optim_tiles.glsl).
//
// Per float: d = g + wd*w (wd = 0 for no_decay tiles); LARS adapted tiles scale d by
// the trust ratio eta*||w||/||d|| (1 when either norm is 0), summed from the per-tile
// partials written by lars_norms.comp; buf = momentum*buf + d; the step direction is
// buf, or d + momentum*buf with nesterov; w -= lr*direction. lr is read from the hyper
// buffer so the recorded step serves any schedule.
//
//! variant sgd
//! variant lars -DLARS=1
#include "optim_tiles.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer W { float w[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer B { float buf[]; };        // momentum (unused without momentum)
layout(std430, binding = 3) readonly buffer H { float hyper[]; };
layout(std430, binding = 4) readonly buffer T { VcOptimTile tiles[]; };
#ifdef LARS
layout(std430, binding = 5) readonly buffer P { vec2 partials[]; }; // per tile: (sum w^2, sum d^2)
#endif
layout(push_constant) uniform Push {
    uint tile_base, tile_end; // tiles of this dispatch
    uint hyper_off;           // element offset of hyper[0] in its window
    uint nesterov, use_momentum;
    float momentum, weight_decay, trust_coef;
} pc;

void main() {
    uint t = tile_index(pc.tile_base);
    if (t >= pc.tile_end) return;
    VcOptimTile tile = tiles[t];
    uint n = tile.meta.x;
    bool no_decay = (tile.meta.y & TILE_NO_DECAY) != 0u;
    float lr = hyper[pc.hyper_off];
    float wd = no_decay ? 0.0 : pc.weight_decay;
    float scale = 1.0;
#ifdef LARS
    if (!no_decay) {
        // the parameter's norms: every invocation sums the same few partials (uniform loads)
        vec2 s = vec2(0.0);
        for (uint i = 0u; i < tile.meta.w; i++) s += partials[tile.meta.z + i];
        float wn = sqrt(s.x), dn = sqrt(s.y);
        scale = (wn > 0.0 && dn > 0.0) ? pc.trust_coef * wn / dn : 1.0;
    }
#endif
    for (uint i = gl_LocalInvocationID.x; i < n; i += gl_WorkGroupSize.x) {
        float wi = w[tile.off.x + i];
        float d = (g[tile.off.y + i] + wd * wi) * scale;
        if (pc.use_momentum != 0u) {
            float b = pc.momentum * buf[tile.off.z + i] + d;
            buf[tile.off.z + i] = b;
            d = pc.nesterov != 0u ? d + pc.momentum * b : b;
        }
        w[tile.off.x + i] = wi - lr * d;
    }
}
