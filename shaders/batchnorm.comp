#version 450
// batchnorm.comp — BatchNorm forward (training and eval) and training-mode backward,
// one workgroup per channel, everything for that channel in one dispatch.
//
// x is (B, C, HW): a channel is B segments of HW contiguous values, C*HW apart. A
// workgroup walks its channel's n = B*HW values with a stride of the workgroup size
// (lane t takes values t, t + WG, ...), sums in registers, combines the lanes, and
// walks the channel again to write the output. Keeping a channel inside one workgroup
// means no scratch buffer, no second dispatch and no barrier between dispatches, and the
// later walks find the channel in cache (800 KB at batch 256 and 28x28).
//
// Statistics are exact two-pass: the mean m0 = sum(x)/n first, then the centred sums
// S1 = sum(x - m0) and S2 = sum((x - m0)^2). The mean is m0 + S1/n (S1 corrects the
// rounding of m0) and the biased variance S2/n - (S1/n)^2: no cancellation when the
// mean is large against the spread (mean 100, std 0.1 loses nothing).
//
// How lanes are combined (the variants):
//   TREE (default)  any workgroup size (a power of two): a shared-memory tree. For GPUs.
//   SUBGROUP        the workgroup is exactly one subgroup (the host sets WG to the
//                   subgroup size): subgroupAdd, no shared memory and no barrier. For
//                   lavapipe, where any barrier() in a shader makes every loop after it
//                   several times slower (measured: 4x on this kernel), while a
//                   workgroup of 8 lanes is one SIMD row of one thread anyway.
// How tensors are read:
//   VEC4            vec4s (HW % 4 == 0; the walk is then over HW/4 units per segment),
//                   inputs through RGBA32F texel buffers.
//   TEX1            floats, inputs through RGBA32F texel buffers (component i & 3 of
//                   texel i >> 2; needs B*C*HW % 4 == 0): 2x faster than storage-buffer
//                   loads on lavapipe, for HW = 49 (7x7) or 1 (BatchNorm1d).
//   (neither)       floats from storage buffers: any shape.
// BACKWARD computes the gradient instead of the forward.
//
// Split mode (large channels): one invocation may run only so many loop iterations
// (lavapipe silently stops an invocation after 65535 in total), and one workgroup per
// channel leaves a GPU idle when C is small. When a channel's walks would be too long,
// the host cuts every group's samples into chunks of nb and records three dispatches:
//   mode 1 STATS  workgroup (c, k): chunk k's partial sums -> part[(k G + g) C + c]
//                 forward: sum(x - s), sum((x - s)^2) around a shift s = the group's first
//                 value of the channel (one pass, no cancellation unless the mean is far
//                 from every sample); backward: sum(dy), sum(dy (x - mean))
//   mode 2 FINAL  workgroup c: folds the K chunks; forward: saved and running
//                 statistics; backward: d_gamma, d_beta and the group sums, kept at
//                 part[(K G + g) C + c] for mode 3
//   mode 3 APPLY  workgroup (c, k): writes chunk k's output (forward, also eval mode) or
//                 d_x (backward)
// Mode 0 is the fused kernel above: everything for a channel in one dispatch.
//! variant batchnorm_fwd
//! variant batchnorm_fwd_v4 -DVEC4=1
//! variant batchnorm_fwd_t1 -DTEX1=1
//! variant batchnorm_fwd_sg -DSUBGROUP=1
//! variant batchnorm_fwd_v4_sg -DVEC4=1 -DSUBGROUP=1
//! variant batchnorm_fwd_t1_sg -DTEX1=1 -DSUBGROUP=1
//! variant batchnorm_bwd -DBACKWARD=1
//! variant batchnorm_bwd_v4 -DBACKWARD=1 -DVEC4=1
//! variant batchnorm_bwd_t1 -DBACKWARD=1 -DTEX1=1
//! variant batchnorm_bwd_sg -DBACKWARD=1 -DSUBGROUP=1
//! variant batchnorm_bwd_v4_sg -DBACKWARD=1 -DVEC4=1 -DSUBGROUP=1
//! variant batchnorm_bwd_t1_sg -DBACKWARD=1 -DTEX1=1 -DSUBGROUP=1
#if SUBGROUP
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

layout(local_size_x_id = 0) in; // WG: a power of two

#if VEC4
#define T vec4
float hsum(vec4 v) { return (v.x + v.y) + (v.z + v.w); }
#else
#define T float
float hsum(float v) { return v; }
#endif

// Groups (MoCo's Shuffle-BN): the batch is split into G groups normalized with their
// own statistics (saved per group, (G, C)); the running statistics move towards the
// mean over groups of the group statistics (PyTorch running stats of each group, then
// averaged, as the MoCo CIFAR demo's SplitBatchNorm). The batch is `views` blocks of
// view_n samples, each cut into gv groups of B samples: runs of B consecutive samples,
// or (interleave) every gv-th sample. G = 1 is plain BatchNorm.
layout(push_constant) uniform Push {
    uint B, C;
    uint HWu;      // units per segment: HW, or HW/4 with VEC4
    uint n;        // values per channel and group, B*HW
    uint training; // forward: 1 batch statistics, 0 running statistics
    float momentum, eps;
    uint G;        // groups (B above is the samples per group)
    uint gv;       // groups per view
    uint view_n;   // samples per view, gv * B
    uint interleave;
    uint mode;     // 0 fused, 1 stats, 2 final, 3 apply (split mode, see above)
    uint nb;       // split mode: samples of a group per chunk
} pc;

// With VEC4 and TEX1 the read-only tensors are RGBA32F texel buffers: on lavapipe a
// texelFetch costs a fraction of an SSBO load (shared/notes/lavapipe-and-gpus.md), and
// GPUs read them through the texture path at full bandwidth.
#if VEC4
#define TENSOR_IN(bind, name) layout(binding = bind) uniform samplerBuffer name
#define LD(name, i) texelFetch(name, int(i))
#elif TEX1
#define TENSOR_IN(bind, name) layout(binding = bind) uniform samplerBuffer name
#define LD(name, i) texelFetch(name, int((i) >> 2))[(i) & 3]
#else
#define TENSOR_IN(bind, name) layout(std430, binding = bind) readonly buffer Buf##name { float name[]; }
#define LD(name, i) name[i]
#endif

#if BACKWARD
layout(std430, binding = 0) buffer DX { T d_x[]; };              // (B, C, HW) += (written only, in texel builds)
layout(std430, binding = 1) buffer DG { float d_gamma[]; };      // (C) +=
layout(std430, binding = 2) buffer DB { float d_beta[]; };       // (C) +=
TENSOR_IN(3, d_out);                                             // (B, C, HW)
TENSOR_IN(4, x);                                                 // (B, C, HW)
layout(std430, binding = 5) readonly buffer G { float gamma[]; };
layout(std430, binding = 6) readonly buffer SM { float save_mean[]; };
layout(std430, binding = 7) readonly buffer SI { float save_invstd[]; };
layout(std430, binding = 9) buffer P { vec2 part[]; }; // split mode: partial and group sums
#if VEC4 || TEX1
// d_x is also read through a texel view of the same memory (cheaper than the SSBO
// load on lavapipe); each element is read, then written, by the same invocation only.
TENSOR_IN(8, d_x_in);
#define LD_DX(i) LD(d_x_in, i)
#else
#define LD_DX(i) d_x[i]
#endif
// SET: d_x = the gradient (where it is d_x's first), without reading d_x
layout(constant_id = 1) const bool SET = false;
#define DX_OLD(i) (SET ? T(0) : LD_DX(i))
#else
layout(std430, binding = 0) writeonly buffer O { T out_[]; };    // (B, C, HW)
TENSOR_IN(1, x);                                                 // (B, C, HW)
layout(std430, binding = 2) readonly buffer G { float gamma[]; };
layout(std430, binding = 3) readonly buffer Bt { float beta[]; };
layout(std430, binding = 4) buffer RM { float running_mean[]; };
layout(std430, binding = 5) buffer RV { float running_var[]; };
layout(std430, binding = 6) buffer SM { float save_mean[]; };   // written; read back in split mode
layout(std430, binding = 7) buffer SI { float save_invstd[]; };
layout(std430, binding = 8) buffer P { vec2 part[]; }; // split mode: partial sums
#endif

#if SUBGROUP
// Sum of v over the workgroup, which is one subgroup. Should a driver ever split the
// workgroup, the result is NaN (every test then fails) rather than a partial sum.
vec2 wg_sum(vec2 v) { return gl_NumSubgroups == 1 ? subgroupAdd(v) : vec2(uintBitsToFloat(0x7fc00000u)); }
#else
shared vec2 red[gl_WorkGroupSize.x];

// Sum of v over the workgroup (a tree in shared memory); every lane gets the result.
vec2 wg_sum(vec2 v) {
    uint lid = gl_LocalInvocationID.x;
    red[lid] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
        if (lid < s) red[lid] += red[lid + s];
        barrier();
    }
    vec2 r = red[0];
    barrier(); // everyone has read red[0] before the next call overwrites it
    return r;
}
#endif

// The walk over one channel of one group: unit t = i*HWu + j (sample i of the group)
// lives at off = ((base + i*bstride)*C + c)*HWu + j. Stepping t by WG moves i by
// WG / HWu and j by WG % HWu (plus one carry), so the loop needs no division.
struct Walk { uint t, j, off; };
uint g_dj, g_doff, g_wrap, g_units, g_bstride;

void walk_setup() {
    uint wg = gl_WorkGroupSize.x;
    g_bstride = pc.interleave != 0u ? pc.gv : 1u;
    g_dj = wg % pc.HWu;
    g_doff = (wg / pc.HWu) * g_bstride * pc.C * pc.HWu + g_dj;
    g_wrap = g_bstride * pc.C * pc.HWu - pc.HWu;
    g_units = pc.B * pc.HWu;
}
// split mode: the walk covers samples [k nb, k nb + nb) of each group (base moves there)
uint chunks() { return (pc.B + pc.nb - 1u) / pc.nb; }
uint chunk_base(uint base, uint k) { return base + k * pc.nb * g_bstride; }
void chunk_units(uint k) { g_units = min(pc.nb, pc.B - k * pc.nb) * pc.HWu; }
// first sample of group g
uint group_base(uint g) {
    uint v = g / pc.gv, r = g % pc.gv;
    return v * pc.view_n + (pc.interleave != 0u ? r : r * pc.B);
}
Walk walk_start(uint c, uint base) {
    uint lid = gl_LocalInvocationID.x;
    Walk w;
    w.t = lid;
    w.j = lid % pc.HWu;
    w.off = ((base + (lid / pc.HWu) * g_bstride) * pc.C + c) * pc.HWu + w.j;
    return w;
}
void walk_next(inout Walk w) {
    w.t += gl_WorkGroupSize.x;
    w.j += g_dj;
    w.off += g_doff;
    if (w.j >= pc.HWu) {
        w.j -= pc.HWu;
        w.off += g_wrap;
    }
}

#if BACKWARD
void split_main(uint c, float n) {
    uint k = gl_WorkGroupID.y, K = chunks(), G = pc.G;
    if (pc.mode == 1u) {
        chunk_units(k);
        for (uint g = 0; g < G; g++) {
            float mean = save_mean[g * pc.C + c];
            T sdy = T(0), sdyx = T(0);
            for (Walk w = walk_start(c, chunk_base(group_base(g), k)); w.t < g_units; walk_next(w)) {
                T dy = LD(d_out, w.off);
                sdy += dy;
                sdyx += dy * (LD(x, w.off) - mean);
            }
            vec2 s = wg_sum(vec2(hsum(sdy), hsum(sdyx)));
            if (gl_LocalInvocationID.x == 0) part[(k * G + g) * pc.C + c] = s;
        }
    } else if (pc.mode == 2u) {
        if (gl_LocalInvocationID.x != 0) return;
        vec2 all = vec2(0);
        for (uint g = 0; g < G; g++) {
            vec2 s = vec2(0);
            for (uint j = 0; j < K; j++) s += part[(j * G + g) * pc.C + c];
            s.y *= save_invstd[g * pc.C + c]; // sum(dy), sum(dy xhat)
            part[(K * G + g) * pc.C + c] = s;
            all += s;
        }
        d_beta[c] += all.x;
        d_gamma[c] += all.y;
    } else {
        chunk_units(k);
        for (uint g = 0; g < G; g++) {
            uint sc = g * pc.C + c;
            float mean = save_mean[sc], invstd = save_invstd[sc];
            vec2 s = part[(K * G + g) * pc.C + c];
            float kk = gamma[c] * invstd, a = s.x / n, bx = s.y / n * invstd;
            for (Walk w = walk_start(c, chunk_base(group_base(g), k)); w.t < g_units; walk_next(w))
                d_x[w.off] = DX_OLD(w.off) + kk * ((LD(d_out, w.off) - a) - (LD(x, w.off) - mean) * bx);
        }
    }
}
#else
// the shift of group g's statistics: its first value of channel c
float shift_of(uint c, uint g) {
    uint off = group_base(g) * pc.C * pc.HWu + c * pc.HWu;
#if VEC4
    return LD(x, off).x;
#else
    return LD(x, off);
#endif
}

void split_main(uint c, float n) {
    uint k = gl_WorkGroupID.y, K = chunks(), G = pc.G;
    if (pc.mode == 1u) {
        chunk_units(k);
        for (uint g = 0; g < G; g++) {
            T sh = T(shift_of(c, g)), s1 = T(0), s2 = T(0);
            for (Walk w = walk_start(c, chunk_base(group_base(g), k)); w.t < g_units; walk_next(w)) {
                T d = LD(x, w.off) - sh;
                s1 += d;
                s2 += d * d;
            }
            vec2 S = wg_sum(vec2(hsum(s1), hsum(s2)));
            if (gl_LocalInvocationID.x == 0) part[(k * G + g) * pc.C + c] = S;
        }
    } else if (pc.mode == 2u) {
        if (gl_LocalInvocationID.x != 0) return;
        float mean_sum = 0, var_sum = 0;
        for (uint g = 0; g < G; g++) {
            vec2 S = vec2(0);
            for (uint j = 0; j < K; j++) S += part[(j * G + g) * pc.C + c];
            float m1 = S.x / n, var = max(S.y / n - m1 * m1, 0.0);
            part[(K * G + g) * pc.C + c] = vec2(shift_of(c, g), m1); // the mean, unrounded, for mode 3
            save_mean[g * pc.C + c] = shift_of(c, g) + m1;
            save_invstd[g * pc.C + c] = 1.0 / sqrt(var + pc.eps);
            mean_sum += shift_of(c, g) + m1;
            var_sum += pc.n > 1 ? var * (n / (n - 1.0)) : var;
        }
        float Gf = float(G);
        running_mean[c] = (1.0 - pc.momentum) * running_mean[c] + pc.momentum * (mean_sum / Gf);
        running_var[c] = (1.0 - pc.momentum) * running_var[c] + pc.momentum * (var_sum / Gf);
    } else {
        chunk_units(k);
        for (uint g = 0; g < G; g++) {
            vec2 m; // the mean as m.x + m.y: shift and centred mean keep its low bits
            float invstd;
            if (pc.training != 0) {
                m = part[(K * G + g) * pc.C + c];
                invstd = save_invstd[g * pc.C + c];
            } else {
                m = vec2(running_mean[c], 0);
                invstd = 1.0 / sqrt(running_var[c] + pc.eps);
            }
            float kk = gamma[c] * invstd, b = beta[c];
            for (Walk w = walk_start(c, chunk_base(group_base(g), k)); w.t < g_units; walk_next(w))
                out_[w.off] = ((LD(x, w.off) - m.x) - m.y) * kk + b;
        }
    }
}
#endif

void main() {
    walk_setup();
    float n = float(pc.n);
    if (pc.mode != 0u) {
        for (uint c = gl_WorkGroupID.x; c < pc.C; c += gl_NumWorkGroups.x) split_main(c, n);
        return;
    }
    // more channels than groups (C > 65535): loop; c is uniform, so the barriers are too
    for (uint c = gl_WorkGroupID.x; c < pc.C; c += gl_NumWorkGroups.x) {
#if BACKWARD
        float sum_dy_all = 0, sum_dyxh_all = 0;
        for (uint g = 0; g < pc.G; g++) {
            uint base = group_base(g), sc = g * pc.C + c;
            float mean = save_mean[sc], invstd = save_invstd[sc];
            T sdy = T(0), sdyx = T(0);
            for (Walk w = walk_start(c, base); w.t < g_units; walk_next(w)) {
                T dy = LD(d_out, w.off);
                sdy += dy;
                sdyx += dy * (LD(x, w.off) - mean);
            }
            vec2 s = wg_sum(vec2(hsum(sdy), hsum(sdyx)));
            float sum_dy = s.x, sum_dyxh = s.y * invstd; // sum(dy), sum(dy * xhat)
            sum_dy_all += sum_dy;
            sum_dyxh_all += sum_dyxh;
            // d_x += gamma invstd (dy - sum(dy)/n - xhat sum(dy xhat)/n)
            float k = gamma[c] * invstd, a = sum_dy / n, bx = sum_dyxh / n * invstd;
            for (Walk w = walk_start(c, base); w.t < g_units; walk_next(w))
                d_x[w.off] = DX_OLD(w.off) + k * ((LD(d_out, w.off) - a) - (LD(x, w.off) - mean) * bx);
        }
        if (gl_LocalInvocationID.x == 0) {
            d_beta[c] += sum_dy_all;
            d_gamma[c] += sum_dyxh_all;
        }
#else
        float mean_sum = 0, var_sum = 0; // over groups: batch means, unbiased variances
        for (uint g = 0; g < pc.G; g++) {
            uint base = group_base(g), sc = g * pc.C + c;
            float m0 = 0, m1 = 0, invstd;
            if (pc.training != 0) {
                T s = T(0);
                for (Walk w = walk_start(c, base); w.t < g_units; walk_next(w)) s += LD(x, w.off);
                m0 = wg_sum(vec2(hsum(s), 0)).x / n;
                T s1 = T(0), s2 = T(0);
                for (Walk w = walk_start(c, base); w.t < g_units; walk_next(w)) {
                    T d = LD(x, w.off) - m0;
                    s1 += d;
                    s2 += d * d;
                }
                vec2 S = wg_sum(vec2(hsum(s1), hsum(s2)));
                m1 = S.x / n; // the mean is m0 + m1
                float var = max(S.y / n - m1 * m1, 0.0);
                invstd = 1.0 / sqrt(var + pc.eps);
                mean_sum += m0 + m1;
                var_sum += pc.n > 1 ? var * (n / (n - 1.0)) : var;
                if (gl_LocalInvocationID.x == 0) {
                    save_mean[sc] = m0 + m1;
                    save_invstd[sc] = invstd;
                }
            } else {
                m0 = running_mean[c];
                invstd = 1.0 / sqrt(running_var[c] + pc.eps);
            }
            float k = gamma[c] * invstd, b = beta[c];
            for (Walk w = walk_start(c, base); w.t < g_units; walk_next(w)) out_[w.off] = ((LD(x, w.off) - m0) - m1) * k + b;
        }
        if (pc.training != 0 && gl_LocalInvocationID.x == 0) {
            float G = float(pc.G);
            running_mean[c] = (1.0 - pc.momentum) * running_mean[c] + pc.momentum * (mean_sum / G);
            running_var[c] = (1.0 - pc.momentum) * running_var[c] + pc.momentum * (var_sum / G);
        }
#endif
    }
}
