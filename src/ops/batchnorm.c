/* batchnorm.c — host side of shaders/batchnorm.comp (BatchNorm forward and backward).
 *
 * One dispatch per call: one workgroup per channel reduces the channel's B*HW values
 * (two-pass mean and variance in the forward, sum(dy) and sum(dy xhat) in the backward)
 * and then writes the channel's output, so there is no scratch buffer and nothing
 * caller-visible beyond the declared API. Channels too long for one invocation's loop
 * budget (lavapipe stops an invocation after 65535 loop iterations, silently: the stem
 * at 1100 views of 28x28 lost a third of its output) run in split mode instead: chunks of
 * samples per workgroup, partial sums in a recording-owned buffer, three dispatches
 * (stats, fold, apply; see the shader). The channel loop inside the shader covers
 * C > 65535. With HW % 4 == 0 the vec4 build is used (a quarter of the loads and index
 * arithmetic), else with B*C*HW % 4 == 0 the float build that reads through texel
 * views, else the float build on storage buffers.
 *
 * Grouped calls (MoCo's Shuffle-BN) walk the channel group by group inside the same
 * workgroup, so the running statistics average the groups' statistics without a second
 * dispatch; one group is the plain BatchNorm.
 *
 * Workgroup size: on CPU devices (lavapipe) the workgroup is one subgroup (8 lanes, one
 * SIMD row) reducing with subgroupAdd, because a barrier anywhere in a lavapipe shader
 * slows all its loops down several-fold; GPUs get 256 lanes per channel and a
 * shared-memory tree, so that each channel has many loads in flight.
 */
#include "ops/norm.h"

#include <stdlib.h>
#include <string.h>

#include "ops/norm_internal.h"
#include "ops/op.h"

typedef struct {
    uint32_t B, C, HWu, n, training;
    float momentum, eps;
    uint32_t G, gv, view_n, interleave; /* groups: see shaders/batchnorm.comp */
    uint32_t mode, nb;                  /* split mode: see shaders/batchnorm.comp */
} BatchnormPush;
_Static_assert(sizeof(BatchnormPush) <= 128, "push constants");

#define BN_WG_GPU 256u
/* Loop iterations one invocation may run per dispatch: lavapipe stops an invocation
 * silently after 65535 in total (all loops together); half of it leaves room for the
 * channel and group loops around the walks. */
#define BN_ITER_BUDGET 32768u

/* the [0, bytes) range of b, checked */
static VcBuffer range(VcBuffer b, size_t bytes) {
    VC_ASSERT(bytes <= b.size);
    return vc_buffer_slice(b, 0, bytes);
}

/* Which way lanes are combined: "sg" (one subgroup per workgroup, subgroupAdd) on CPU
 * devices, "tree" (shared memory) elsewhere. VKCONTRAST_BN_REDUCE=tree|sg overrides
 * the choice (the test runs the tree on lavapipe too). sg is not for GPUs whose drivers
 * may run a workgroup as several smaller subgroups than they report (AMD wave32, Intel
 * SIMD8/16): the shader then writes NaN rather than a partial sum. */
static bool use_subgroup(VcContext *ctx) {
    const VcDeviceInfo *info = vc_context_info(ctx);
    bool can = info->subgroup_arithmetic && info->subgroup_size >= 1 && info->subgroup_size <= info->max_workgroup_invocations;
    const char *force = getenv("VKCONTRAST_BN_REDUCE");
    if (force && !strcmp(force, "tree")) return false;
    if (force && !strcmp(force, "sg")) return can;
    return can && vc_context_is_cpu(ctx);
}

/* Lanes per workgroup: one subgroup, or a power of two for the tree (128 is the Vulkan
 * minimum of maxComputeWorkGroupInvocations). */
static uint32_t bn_wg(VcContext *ctx) {
    uint32_t wg = use_subgroup(ctx) ? vc_context_info(ctx)->subgroup_size : BN_WG_GPU;
    return wg > vc_context_info(ctx)->max_workgroup_invocations ? 128 : wg;
}

/* How the shader reads tensors (see shaders/batchnorm.comp). */
typedef enum { BN_IO_SSBO, BN_IO_VEC4, BN_IO_TEX1 } BnIo;

static BnIo bn_io(int B, int C, int HW, const VcBuffer *tensors, int ntensors) {
    if (!vc_norm_texel_ok(tensors, ntensors) || (size_t)B * C * HW / 4 > VC_NORM_MAX_TEXELS) return BN_IO_SSBO;
    if (HW % 4 == 0) return BN_IO_VEC4;
    if ((size_t)B * C * HW % 4 == 0) return BN_IO_TEX1; /* the texel views cover the tensor exactly */
    return BN_IO_SSBO;
}

/* set (backward): d_x = instead of += (specialization constant SET) */
static VcPipeline *bn_pipeline(VcContext *ctx, bool backward, BnIo io, bool set) {
    /* literals: the pipeline keeps the pointers */
    static const char *const names[2][3][2] = {
        {{"batchnorm_fwd", "batchnorm_fwd_sg"}, {"batchnorm_fwd_v4", "batchnorm_fwd_v4_sg"}, {"batchnorm_fwd_t1", "batchnorm_fwd_t1_sg"}},
        {{"batchnorm_bwd", "batchnorm_bwd_sg"}, {"batchnorm_bwd_v4", "batchnorm_bwd_v4_sg"}, {"batchnorm_bwd_t1", "batchnorm_bwd_t1_sg"}}};
    /* texel builds read x (forward), d_out, x and d_x again (backward) as texel buffers */
    static const char *const bindings[2][2] = {{"sssssssss", "stsssssss"}, {"ssssssssss", "sssttsssts"}};
    VcPipelineDesc d = {.shader = names[backward][io][use_subgroup(ctx)], .bindings = bindings[backward][io != BN_IO_SSBO],
                        .push_size = sizeof(BatchnormPush), .spec = {bn_wg(ctx), set}, .spec_count = backward ? 2 : 1};
    return vc_pipeline_get(ctx, &d);
}

/* Split mode (shaders/batchnorm.comp): the samples of a group per chunk so that no
 * invocation runs more than BN_ITER_BUDGET loop iterations in one dispatch, or 0 when
 * the fused kernel stays within it (`walks` walks over each group). The environment
 * variable VKCONTRAST_BN_SPLIT=nb forces split mode with chunks of nb (tests). */
static uint32_t bn_split(VcContext *ctx, const BatchnormPush *pc, int walks) {
    const char *force = getenv("VKCONTRAST_BN_SPLIT");
    if (force && atoi(force) > 0) return VC_MIN((uint32_t)atoi(force), pc->B);
    uint64_t wg = bn_wg(ctx), rounds = VC_CEIL_DIV((uint64_t)pc->C, 65535) * pc->G; /* channel and group loops */
    if (rounds * walks * VC_CEIL_DIV((uint64_t)pc->B * pc->HWu, wg) <= BN_ITER_BUDGET) return 0;
    uint64_t nb = BN_ITER_BUDGET / rounds * wg / pc->HWu; /* one walk per dispatch */
    VC_ASSERT(nb >= 1 && "BatchNorm: one sample's channel is too long for one invocation's loop budget");
    return (uint32_t)VC_MIN(nb, (uint64_t)pc->B);
}

/* Record a call: fused (one dispatch), or split mode's dispatches for chunks of nb. */
static void bn_record(VcCmd *cmd, VcPipeline *p, VcBuffer *bufs, int nbufs, BatchnormPush pc, uint32_t nb, bool stats,
                      const char *label, double flops, double bytes) {
    uint32_t gx = (uint32_t)VC_MIN(pc.C, 65535u);
    if (!nb) {
        bufs[nbufs - 1] = bufs[2]; /* the partial sums are not used */
        vc_dispatch(cmd, p, bufs, nbufs, &pc, gx, 1, 1, label, flops, bytes);
        return;
    }
    uint32_t K = VC_CEIL_DIV(pc.B, nb);
    VC_ASSERT(vc_cmd_buffer(cmd, (size_t)(K + 1) * pc.G * pc.C * 8, NULL, "BatchNorm partial sums", &bufs[nbufs - 1]) == VC_OK);
    pc.nb = nb;
    if (stats) {
        pc.mode = 1;
        vc_dispatch(cmd, p, bufs, nbufs, &pc, gx, K, 1, label, flops / 2, bytes / 2);
        pc.mode = 2;
        vc_dispatch(cmd, p, bufs, nbufs, &pc, gx, 1, 1, label, 0, 16.0 * K * pc.G * pc.C);
    }
    pc.mode = 3;
    vc_dispatch(cmd, p, bufs, nbufs, &pc, gx, K, 1, label, stats ? flops / 2 : flops, stats ? bytes / 2 : bytes);
}

/* The push constants of a call over (B, C, HW) with groups g (NULL: one group). */
static BatchnormPush bn_push(VcContext *ctx, int B, int C, int HW, bool vec4, const VcBnGroups *g) {
    VC_ASSERT(B > 0 && C > 0 && HW > 0);
    /* A channel spans the whole tensor, so it is bound whole: a tensor larger than the
     * device's storage-buffer range (128 MiB on lavapipe) is not supported here. Not
     * reachable from `train` on lavapipe: resnet18 at 32x32 reaches 128 MiB at batch 256,
     * and at batch 300 its activations already exceed the 2 GiB allocation limit, which
     * `train` reports. */
    VC_ASSERT((uint64_t)B * (uint64_t)C * (uint64_t)HW * 4 <= vc_context_info(ctx)->max_storage_buffer_range);
    int G = g ? g->groups : 1, V = g ? g->views : 1;
    VC_ASSERT(G >= 1 && V >= 1 && G % V == 0 && B % G == 0);
    int Bg = B / G;
    return (BatchnormPush){.B = (uint32_t)Bg, .C = (uint32_t)C, .HWu = (uint32_t)(vec4 ? HW / 4 : HW),
                           .n = (uint32_t)(Bg * HW), .G = (uint32_t)G, .gv = (uint32_t)(G / V),
                           .view_n = (uint32_t)(B / V), .interleave = g && g->interleave};
}

/* The op scope of a BatchNorm call: (B, C, HW) and the statistics groups. */
static void bn_scope(VcCmd *cmd, int B, int C, int HW, uint32_t G) {
    if (G > 1) vc_cmd_op_begin(cmd, "x %dx%dx%d (B, C, HW), %u groups", B, C, HW, G);
    else vc_cmd_op_begin(cmd, "x %dx%dx%d (B, C, HW)", B, C, HW);
}

int vc_bn_groups_check(int B, const VcBnGroups *g) {
    if (g->groups < 1 || g->views < 1 || g->groups % g->views != 0 || B % g->groups != 0) {
        vc_set_error("BatchNorm groups: %d groups over %d views do not split a batch of %d evenly", g->groups, g->views, B);
        return VC_ERR_ARG;
    }
    return VC_OK;
}

void vc_batchnorm_forward_grouped(VcCmd *cmd, int B, int C, int HW, const VcBnGroups *groups, VcBuffer out, VcBuffer x,
                                  VcBuffer gamma, VcBuffer beta, VcBuffer running_mean, VcBuffer running_var,
                                  VcBuffer save_mean, VcBuffer save_invstd, bool training, float momentum, float eps) {
    VcContext *ctx = vc_cmd_context(cmd);
    VcBuffer tensors[2] = {out, x};
    BnIo io = bn_io(B, C, HW, tensors, 2);
    BatchnormPush pc = bn_push(ctx, B, C, HW, io == BN_IO_VEC4, training ? groups : NULL);
    pc.training = training;
    pc.momentum = momentum;
    pc.eps = eps;
    size_t nx = (size_t)B * C * HW * 4, nc = (size_t)C * 4, ns = nc * pc.G;
    /* eval mode neither reads nor writes save_*: callers may pass empty buffers */
    if (!training && !save_mean.buf) save_mean = gamma;
    if (!training && !save_invstd.buf) save_invstd = gamma;
    if (!training) ns = nc;
    VcBuffer bufs[9] = {range(out, nx),          range(x, nx),           range(gamma, nc),     range(beta, nc),
                        range(running_mean, nc), range(running_var, nc), range(save_mean, ns), range(save_invstd, ns)};
    /* bytes: compulsory traffic, each tensor once (x read, out written); the shader's
     * second and third walks over x are meant to hit cache */
    double elems = (double)B * C * HW;
    bn_scope(cmd, B, C, HW, pc.G);
    bn_record(cmd, bn_pipeline(ctx, false, io, false), bufs, 9, pc, bn_split(ctx, &pc, training ? 3 : 1), training,
              training ? "batchnorm_fwd" : "batchnorm_fwd_eval", (training ? 8.0 : 3.0) * elems, 8.0 * elems);
    vc_cmd_op_end(cmd);
}

void vc_batchnorm_forward(VcCmd *cmd, int B, int C, int HW, VcBuffer out, VcBuffer x, VcBuffer gamma, VcBuffer beta,
                          VcBuffer running_mean, VcBuffer running_var, VcBuffer save_mean, VcBuffer save_invstd,
                          bool training, float momentum, float eps) {
    vc_batchnorm_forward_grouped(cmd, B, C, HW, NULL, out, x, gamma, beta, running_mean, running_var, save_mean, save_invstd,
                                 training, momentum, eps);
}

static void bn_backward(VcCmd *cmd, int B, int C, int HW, const VcBnGroups *groups, bool set, VcBuffer d_x, VcBuffer d_gamma,
                        VcBuffer d_beta, VcBuffer d_out, VcBuffer x, VcBuffer gamma, VcBuffer save_mean,
                        VcBuffer save_invstd) {
    VcContext *ctx = vc_cmd_context(cmd);
    VcBuffer tensors[3] = {d_x, d_out, x};
    BnIo io = bn_io(B, C, HW, tensors, 3);
    BatchnormPush pc = bn_push(ctx, B, C, HW, io == BN_IO_VEC4, groups);
    size_t nx = (size_t)B * C * HW * 4, nc = (size_t)C * 4, ns = nc * pc.G;
    /* binding 8: d_x again, read through a texel view in the texel builds */
    VcBuffer bufs[10] = {range(d_x, nx), range(d_gamma, nc),   range(d_beta, nc),      range(d_out, nx), range(x, nx),
                         range(gamma, nc), range(save_mean, ns), range(save_invstd, ns), range(d_x, nx)};
    /* bytes: compulsory traffic (d_out, x, d_x read once; d_x written) */
    double elems = (double)B * C * HW;
    bn_scope(cmd, B, C, HW, pc.G);
    bn_record(cmd, bn_pipeline(ctx, true, io, set), bufs, 10, pc, bn_split(ctx, &pc, 2), true, "batchnorm_bwd", 11.0 * elems,
              (set ? 12.0 : 16.0) * elems);
    vc_cmd_op_end(cmd);
}

void vc_batchnorm_backward_grouped(VcCmd *cmd, int B, int C, int HW, const VcBnGroups *groups, VcBuffer d_x, VcBuffer d_gamma,
                                   VcBuffer d_beta, VcBuffer d_out, VcBuffer x, VcBuffer gamma, VcBuffer save_mean,
                                   VcBuffer save_invstd) {
    bn_backward(cmd, B, C, HW, groups, false, d_x, d_gamma, d_beta, d_out, x, gamma, save_mean, save_invstd);
}

void vc_batchnorm_backward_grouped_set(VcCmd *cmd, int B, int C, int HW, const VcBnGroups *groups, VcBuffer d_x,
                                       VcBuffer d_gamma, VcBuffer d_beta, VcBuffer d_out, VcBuffer x, VcBuffer gamma,
                                       VcBuffer save_mean, VcBuffer save_invstd) {
    bn_backward(cmd, B, C, HW, groups, true, d_x, d_gamma, d_beta, d_out, x, gamma, save_mean, save_invstd);
}

void vc_batchnorm_backward(VcCmd *cmd, int B, int C, int HW, VcBuffer d_x, VcBuffer d_gamma, VcBuffer d_beta, VcBuffer d_out,
                           VcBuffer x, VcBuffer gamma, VcBuffer save_mean, VcBuffer save_invstd) {
    vc_batchnorm_backward_grouped(cmd, B, C, HW, NULL, d_x, d_gamma, d_beta, d_out, x, gamma, save_mean, save_invstd);
}
