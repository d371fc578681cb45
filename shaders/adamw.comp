#version 450
// adamw.comp — AdamW as torch.optim.AdamW over a table of parameter tiles.
//
// Per float: w *= 1 - lr*wd (decoupled decay, skipped for no_decay tiles);
// m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
// w -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// — PyTorch's order of operations, so eps enters exactly as it does there.
// lr = hyper[0] and the 1-based step t = hyper[1] are read on the GPU. The bias
// corrections 1 - b^t are computed as -expm1(t ln b) (ln b from the host in double):
// 1 - pow(b, t) in float loses most digits when b^t is close to 1 (b2 = 0.999, small t).
#include "optim_tiles.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) buffer W { float w[]; };
layout(std430, binding = 1) readonly buffer G { float g[]; };
layout(std430, binding = 2) buffer M { float m1[]; }; // first moment
layout(std430, binding = 3) buffer V { float m2[]; }; // second moment
layout(std430, binding = 4) readonly buffer H { float hyper[]; };
layout(std430, binding = 5) readonly buffer T { VcOptimTile tiles[]; };
layout(push_constant) uniform Push {
    uint tile_base, tile_end, hyper_off;
    float beta1, beta2, eps, weight_decay;
    float ln_beta1, ln_beta2; // natural logs of the betas
} pc;

// 1 - b^t = -expm1(t ln b) for t ln b <= 0, accurate to float precision: a Horner
// series where there is cancellation (|x| <= 0.5: 10 terms leave < 1e-9 relative),
// else 1 - exp(x), which then has none.
float one_minus_pow(float ln_b, float t) {
    float x = t * ln_b;
    if (x < -0.5) return 1.0 - exp(x);
    float s = 1.0;
    for (int i = 10; i >= 2; i--) s = 1.0 + s * x / float(i);
    return -x * s;
}

void main() {
    uint t = tile_index(pc.tile_base);
    if (t >= pc.tile_end) return;
    VcOptimTile tile = tiles[t];
    float lr = hyper[pc.hyper_off];
    float step = hyper[pc.hyper_off + 1u];
    float decay = (tile.meta.y & TILE_NO_DECAY) != 0u ? 1.0 : 1.0 - lr * pc.weight_decay;
    float step_size = lr / one_minus_pow(pc.ln_beta1, step);
    float bc2_sqrt = sqrt(one_minus_pow(pc.ln_beta2, step));
    for (uint i = gl_LocalInvocationID.x; i < tile.meta.x; i += gl_WorkGroupSize.x) {
        float gi = g[tile.off.y + i];
        float m = pc.beta1 * m1[tile.off.z + i] + (1.0 - pc.beta1) * gi;
        float v = pc.beta2 * m2[tile.off.w + i] + (1.0 - pc.beta2) * gi * gi;
        m1[tile.off.z + i] = m;
        m2[tile.off.w + i] = v;
        w[tile.off.x + i] = w[tile.off.x + i] * decay - step_size * m / (sqrt(v) / bc2_sqrt + pc.eps);
    }
}
