/* net.c — a model planned for a batch: activations, their gradients, and the recording
 * of forward and backward (llm.c style: the passes read top to bottom).
 *
 * Each BatchNorm output is followed by an in-place ReLU where the architecture has one,
 * so one buffer holds "bn out, then relu out"; its gradient needs two buffers (after and
 * before the ReLU). All activation gradients live in one arena. The backward op that gives
 * a buffer its first gradient writes it (=, no read: cheaper on CPU devices, and no fill
 * of the arena); later ones add (+=), as at a block input (conv1 writes it, the shortcut
 * or the identity adds). Only d_z, which the loss adds into, is zeroed at each step.
 */
#include <string.h>

#include "nn/model.h"
#include "ops/fill.h"
#include "ops/gemm.h"
#include "ops/norm.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

/* An activation: value, gradient, and for BN+ReLU outputs the pre-ReLU gradient. */
typedef struct Act { VcBuffer x, d, d_pre; size_t n; } Act;
/* Per-BN saved statistics of the forward (C each). */
typedef struct BnSave { VcBuffer mean, invstd; } BnSave;

typedef struct NetBlock {
    Act c1, a1, c2, a2, sc_c, sc_a; /* a2: block output (bn2 + shortcut, relu) */
    BnSave s1, s2, s_sc;
} NetBlock;

struct VcNet {
    VcModel *m;
    int B;
    VcBnGroups groups;       /* training-mode BN statistics per group (1 group: the batch) */
    bool forward_only;       /* no activation gradients (MoCo's key encoder) */
    VcBuffer act_arena, grad_arena, work, ones;
    size_t act_used, grad_used, act_floats, grad_floats;
    VcBuffer input;          /* (B, C, S, S) */
    Act stem_c, stem_a;
    BnSave stem_s;
    NetBlock blocks[8];
    Act h;                   /* (B, repr) */
    Act f1, hb, z;           /* head: fc1 out, bn+relu, fc2 out (B, out_dim) */
    BnSave head_s;
};

/* ---- planning: sizes first (dry run), then the same walk hands out slices ---- */
typedef struct Planner { VcNet *n; bool dry; } Planner;

static size_t round_floats(size_t n) { return (n + 63) / 64 * 64; }

static VcBuffer take(Planner *p, VcBuffer arena, size_t *used, size_t n) {
    size_t at = *used;
    *used += round_floats(n);
    if (p->dry) return (VcBuffer){0};
    return vc_buffer_slice(arena, at * sizeof(float), n * sizeof(float));
}

static Act plan_act(Planner *p, size_t n, bool relu) {
    Act a = {.n = n};
    a.x = take(p, p->n->act_arena, &p->n->act_used, n);
    if (p->n->forward_only) return a;
    a.d = take(p, p->n->grad_arena, &p->n->grad_used, n);
    if (relu) a.d_pre = take(p, p->n->grad_arena, &p->n->grad_used, n);
    return a;
}

static BnSave plan_bn(Planner *p, int C) {
    BnSave s;
    size_t G = (size_t)p->n->groups.groups;
    s.mean = take(p, p->n->act_arena, &p->n->act_used, (size_t)C * G);
    s.invstd = take(p, p->n->act_arena, &p->n->act_used, (size_t)C * G);
    return s;
}

static void plan(Planner *p) {
    VcNet *n = p->n;
    VcModel *m = n->m;
    size_t B = (size_t)n->B, S = (size_t)m->image_size;
    n->act_used = n->grad_used = 0;
    n->input = take(p, n->act_arena, &n->act_used, B * (size_t)m->channels * S * S);
    size_t stem_n = B * (size_t)m->stem_conv.s.C_out * S * S;
    n->stem_c = plan_act(p, stem_n, false);
    n->stem_a = plan_act(p, stem_n, true);
    n->stem_s = plan_bn(p, m->stem_conv.s.C_out);
    for (int i = 0; i < m->nblocks; i++) {
        const VcBlock *b = &m->blocks[i];
        NetBlock *nb = &n->blocks[i];
        size_t out_n = B * (size_t)b->C_out * (size_t)b->H_out * (size_t)b->W_out;
        nb->c1 = plan_act(p, out_n, false);
        nb->a1 = plan_act(p, out_n, true);
        nb->c2 = plan_act(p, out_n, false);
        nb->a2 = plan_act(p, out_n, true);
        nb->s1 = plan_bn(p, b->C_out);
        nb->s2 = plan_bn(p, b->C_out);
        if (b->has_shortcut) {
            nb->sc_c = plan_act(p, out_n, false);
            nb->sc_a = plan_act(p, out_n, false);
            nb->s_sc = plan_bn(p, b->C_out);
        }
    }
    n->h = plan_act(p, B * (size_t)m->repr_dim, false);
    if (!m->linear_head) {
        n->f1 = plan_act(p, B * (size_t)m->repr_dim, false);
        n->hb = plan_act(p, B * (size_t)m->repr_dim, true);
        n->head_s = plan_bn(p, m->repr_dim);
    }
    n->z = plan_act(p, B * (size_t)m->out_dim, false);
}

static VcConvShape conv_shape(const VcNet *n, const VcConvLayer *c) {
    VcConvShape s = c->s;
    s.B = n->B;
    return s;
}

VcNet *vc_net_new(VcModel *m, int B) { return vc_net_new_grouped(m, B, NULL); }

VcNet *vc_net_new_grouped(VcModel *m, int B, const VcBnGroups *groups) { return vc_net_new_ex(m, B, groups, false); }

VcNet *vc_net_new_ex(VcModel *m, int B, const VcBnGroups *groups, bool forward_only) {
    if (B < 1) {
        vc_set_error("batch size must be at least 1 (got %d)", B);
        return NULL;
    }
    VcBnGroups g = groups ? *groups : (VcBnGroups){1, 1, false};
    if (vc_bn_groups_check(B, &g) != VC_OK) return NULL;
    VcContext *ctx = m->ctx;
    VcNet *n = vc_calloc(1, sizeof *n);
    n->m = m;
    n->B = B;
    n->groups = g;
    n->forward_only = forward_only;
    Planner p = {n, true};
    plan(&p);
    n->act_floats = n->act_used;
    n->grad_floats = n->grad_used;
    size_t work = 0;
    VcConvShape s = conv_shape(n, &m->stem_conv);
    work = VC_MAX(work, vc_conv2d_workspace_bytes(ctx, &s));
    for (int i = 0; i < m->nblocks; i++) {
        const VcBlock *b = &m->blocks[i];
        s = conv_shape(n, &b->conv1), work = VC_MAX(work, vc_conv2d_workspace_bytes(ctx, &s));
        s = conv_shape(n, &b->conv2), work = VC_MAX(work, vc_conv2d_workspace_bytes(ctx, &s));
        if (b->has_shortcut) s = conv_shape(n, &b->sc_conv), work = VC_MAX(work, vc_conv2d_workspace_bytes(ctx, &s));
    }
    if (vc_buffer_alloc(ctx, n->act_floats * sizeof(float), "activations", &n->act_arena) != VC_OK) goto fail;
    if (!forward_only &&
        vc_buffer_alloc(ctx, n->grad_floats * sizeof(float), "activation gradients", &n->grad_arena) != VC_OK)
        goto fail;
    if (vc_buffer_alloc(ctx, VC_MAX(work, 16), "convolution workspace", &n->work) != VC_OK) goto fail;
    if (vc_buffer_alloc(ctx, (size_t)B * sizeof(float), "ones", &n->ones) != VC_OK) goto fail;
    float *ones = vc_malloc((size_t)B * sizeof(float));
    for (int i = 0; i < B; i++) ones[i] = 1.0f;
    vc_buffer_upload(ctx, n->ones, 0, ones, (size_t)B * sizeof(float));
    free(ones);
    p.dry = false;
    plan(&p);
    return n;
fail:
    vc_net_free(n);
    return NULL;
}

void vc_net_free(VcNet *n) {
    if (!n) return;
    VcContext *ctx = n->m->ctx;
    vc_buffer_free(ctx, &n->act_arena);
    vc_buffer_free(ctx, &n->grad_arena);
    vc_buffer_free(ctx, &n->work);
    vc_buffer_free(ctx, &n->ones);
    free(n);
}

VcModel *vc_net_model(const VcNet *n) { return n->m; }
int vc_net_batch(const VcNet *n) { return n->B; }
VcBuffer vc_net_input(const VcNet *n) { return n->input; }
VcBuffer vc_net_repr(const VcNet *n) { return n->h.x; }
VcBuffer vc_net_proj(const VcNet *n) { return n->z.x; }
VcBuffer vc_net_proj_grad(const VcNet *n) { return n->z.d; }

VcBuffer vc_net_activation(const VcNet *n, const char *name) {
    if (!strcmp(name, "stem")) return n->stem_a.x;
    if (!strcmp(name, "h")) return n->h.x;
    if (!strcmp(name, "z")) return n->z.x;
    for (int i = 0; i < n->m->nblocks; i++) {
        char want[32];
        snprintf(want, sizeof want, "blocks.%d", i);
        if (!strcmp(name, want)) return n->blocks[i].a2.x;
    }
    return (VcBuffer){0};
}

/* ---- layer helpers: one call records a layer's forward or backward ---- */

static void bn_forward(VcNet *n, VcCmd *cmd, const VcBnLayer *bn, int HW, Act *out, VcBuffer x, BnSave *s, bool training,
                       bool relu) {
    VcModel *m = n->m;
    vc_batchnorm_forward_grouped(cmd, n->B, bn->C, HW, &n->groups, out->x, x, vc_model_weight(m, bn->gamma),
                                 vc_model_weight(m, bn->beta), vc_model_weight(m, bn->mean), vc_model_weight(m, bn->var),
                                 s->mean, s->invstd, training, BN_MOMENTUM, BN_EPS);
    if (relu) vc_relu_forward(cmd, out->n, out->x, out->x);
}

/* d of the BN input = ..., given the BN (+ReLU) output activation `out` (both first writes). */
static void bn_backward(VcNet *n, VcCmd *cmd, const VcBnLayer *bn, int HW, Act *out, VcBuffer x, VcBuffer d_x, BnSave *s,
                        bool relu) {
    VcModel *m = n->m;
    VcBuffer d_bn_out = out->d;
    if (relu) {
        vc_relu_backward_set(cmd, out->n, out->d_pre, out->d, out->x);
        d_bn_out = out->d_pre;
    }
    vc_batchnorm_backward_grouped_set(cmd, n->B, bn->C, HW, &n->groups, d_x, vc_model_grad(m, bn->gamma),
                                      vc_model_grad(m, bn->beta), d_bn_out, x, vc_model_weight(m, bn->gamma), s->mean,
                                      s->invstd);
}

static void conv_forward(VcNet *n, VcCmd *cmd, const VcConvLayer *c, VcBuffer out, VcBuffer in) {
    VcConvShape s = conv_shape(n, c);
    vc_conv2d_forward(cmd, &s, out, in, vc_model_weight(n->m, c->w), n->work);
}

/* d_in += dgrad, or (set) d_in = dgrad where the conv gives d_in its first gradient (cheaper
 * on CPU devices: no read of d_in) */
static void conv_backward(VcNet *n, VcCmd *cmd, const VcConvLayer *c, VcBuffer d_in, bool set, VcBuffer d_out,
                          VcBuffer in) {
    VcConvShape s = conv_shape(n, c);
    (set ? vc_conv2d_backward_set : vc_conv2d_backward)(cmd, &s, d_in, vc_model_grad(n->m, c->w), d_out, in,
                                                      vc_model_weight(n->m, c->w), n->work);
}

/* y (B, out) = x (B, in) W^T + b */
static void linear_forward(VcNet *n, VcCmd *cmd, const VcLinearLayer *l, VcBuffer y, VcBuffer x) {
    VcGemmShape g = {.M = n->B, .N = l->out, .K = l->in, .trans_b = true, .alpha = 1};
    VcBuffer bias = vc_model_weight(n->m, l->b);
    vc_gemm(cmd, &g, x, vc_model_weight(n->m, l->w), y, &bias);
}

/* d_x (B, in) = d_y W (its first gradient) ; d_W (out, in) += d_y^T x ; d_b (out) += column sums of d_y */
static void linear_backward(VcNet *n, VcCmd *cmd, const VcLinearLayer *l, VcBuffer d_x, VcBuffer d_y, VcBuffer x) {
    VcModel *m = n->m;
    VcGemmShape dx = {.M = n->B, .N = l->in, .K = l->out, .alpha = 1, .beta = 0};
    vc_gemm(cmd, &dx, d_y, vc_model_weight(m, l->w), d_x, NULL);
    VcGemmShape dw = {.M = l->out, .N = l->in, .K = n->B, .trans_a = true, .alpha = 1, .beta = 1};
    vc_gemm(cmd, &dw, d_y, x, vc_model_grad(m, l->w), NULL);
    VcGemmShape db = {.M = 1, .N = l->out, .K = n->B, .alpha = 1, .beta = 1};
    vc_gemm(cmd, &db, n->ones, d_y, vc_model_grad(m, l->b), NULL);
}

/* ---- the passes ---- */

void vc_net_zero_grads(VcNet *n, VcCmd *cmd) {
    VC_ASSERT(!n->forward_only && "a forward-only net has no gradients");
    vc_cmd_group(cmd, "zero_grad");
    vc_fill(cmd, n->z.d, n->z.n, 0.0f); /* the loss adds into d_z; every other gradient is first written (=) */
    vc_fill(cmd, n->m->grads, n->m->arena_floats, 0.0f);
}

void vc_net_fill_act_grads(VcNet *n, VcCmd *cmd, float value) {
    VC_ASSERT(!n->forward_only && "a forward-only net has no gradients");
    vc_fill(cmd, n->grad_arena, n->grad_floats, value);
}

void vc_net_forward(VcNet *n, VcCmd *cmd, bool training, bool with_head) {
    VcModel *m = n->m;
    int S = m->image_size;
    vc_cmd_group(cmd, "stem");
    conv_forward(n, cmd, &m->stem_conv, n->stem_c.x, n->input);
    bn_forward(n, cmd, &m->stem_bn, S * S, &n->stem_a, n->stem_c.x, &n->stem_s, training, true);
    VcBuffer in = n->stem_a.x;
    for (int i = 0; i < m->nblocks; i++) {
        const VcBlock *b = &m->blocks[i];
        NetBlock *nb = &n->blocks[i];
        char group[32];
        snprintf(group, sizeof group, "blocks.%d", i);
        vc_cmd_group(cmd, group);
        int HW = b->H_out * b->W_out;
        conv_forward(n, cmd, &b->conv1, nb->c1.x, in);
        bn_forward(n, cmd, &b->bn1, HW, &nb->a1, nb->c1.x, &nb->s1, training, true);
        conv_forward(n, cmd, &b->conv2, nb->c2.x, nb->a1.x);
        bn_forward(n, cmd, &b->bn2, HW, &nb->a2, nb->c2.x, &nb->s2, training, false);
        VcBuffer shortcut = in;
        if (b->has_shortcut) {
            conv_forward(n, cmd, &b->sc_conv, nb->sc_c.x, in);
            bn_forward(n, cmd, &b->sc_bn, HW, &nb->sc_a, nb->sc_c.x, &nb->s_sc, training, false);
            shortcut = nb->sc_a.x;
        }
        vc_add(cmd, nb->a2.n, nb->a2.x, nb->a2.x, shortcut);
        vc_relu_forward(cmd, nb->a2.n, nb->a2.x, nb->a2.x);
        in = nb->a2.x;
    }
    const VcBlock *last = &m->blocks[m->nblocks - 1];
    vc_cmd_group(cmd, "pool");
    vc_avgpool_forward(cmd, n->B, last->C_out, last->H_out * last->W_out, n->h.x, in);
    if (!with_head) {
        vc_cmd_group(cmd, NULL);
        return;
    }
    vc_cmd_group(cmd, "head");
    if (m->linear_head) {
        linear_forward(n, cmd, &m->fc2, n->z.x, n->h.x);
    } else {
        linear_forward(n, cmd, &m->fc1, n->f1.x, n->h.x);
        bn_forward(n, cmd, &m->head_bn, 1, &n->hb, n->f1.x, &n->head_s, training, true);
        linear_forward(n, cmd, &m->fc2, n->z.x, n->hb.x);
    }
    vc_cmd_group(cmd, NULL);
}

void vc_net_backward(VcNet *n, VcCmd *cmd) {
    VC_ASSERT(!n->forward_only && "a forward-only net has no backward");
    VcModel *m = n->m;
    int S = m->image_size;
    vc_cmd_group(cmd, "head");
    if (m->linear_head) {
        linear_backward(n, cmd, &m->fc2, n->h.d, n->z.d, n->h.x);
    } else {
        linear_backward(n, cmd, &m->fc2, n->hb.d, n->z.d, n->hb.x);
        bn_backward(n, cmd, &m->head_bn, 1, &n->hb, n->f1.x, n->f1.d, &n->head_s, true);
        linear_backward(n, cmd, &m->fc1, n->h.d, n->f1.d, n->h.x);
    }
    const VcBlock *last = &m->blocks[m->nblocks - 1];
    NetBlock *nlast = &n->blocks[m->nblocks - 1];
    vc_cmd_group(cmd, "pool");
    vc_avgpool_backward_set(cmd, n->B, last->C_out, last->H_out * last->W_out, nlast->a2.d, n->h.d);
    for (int i = m->nblocks - 1; i >= 0; i--) {
        const VcBlock *b = &m->blocks[i];
        NetBlock *nb = &n->blocks[i];
        char group[32];
        snprintf(group, sizeof group, "blocks.%d", i);
        vc_cmd_group(cmd, group);
        Act *in = i > 0 ? &n->blocks[i - 1].a2 : &n->stem_a;
        int HW = b->H_out * b->W_out;
        /* block output = relu(bn2 + shortcut): d_pre is the gradient of the sum; the main
         * path first, so that conv1 gives the block input its first gradient (=) and the
         * shortcut adds to it */
        vc_relu_backward_set(cmd, nb->a2.n, nb->a2.d_pre, nb->a2.d, nb->a2.x);
        VcBuffer d_sum = nb->a2.d_pre;
        vc_batchnorm_backward_grouped_set(cmd, n->B, b->C_out, HW, &n->groups, nb->c2.d, vc_model_grad(m, b->bn2.gamma),
                                          vc_model_grad(m, b->bn2.beta), d_sum, nb->c2.x, vc_model_weight(m, b->bn2.gamma),
                                          nb->s2.mean, nb->s2.invstd);
        conv_backward(n, cmd, &b->conv2, nb->a1.d, true, nb->c2.d, nb->a1.x);
        bn_backward(n, cmd, &b->bn1, HW, &nb->a1, nb->c1.x, nb->c1.d, &nb->s1, true);
        conv_backward(n, cmd, &b->conv1, in->d, true, nb->c1.d, in->x);
        if (b->has_shortcut) {
            vc_batchnorm_backward_grouped_set(cmd, n->B, b->C_out, HW, &n->groups, nb->sc_c.d,
                                              vc_model_grad(m, b->sc_bn.gamma), vc_model_grad(m, b->sc_bn.beta), d_sum,
                                              nb->sc_c.x, vc_model_weight(m, b->sc_bn.gamma), nb->s_sc.mean, nb->s_sc.invstd);
            conv_backward(n, cmd, &b->sc_conv, in->d, false, nb->sc_c.d, in->x);
        } else {
            vc_axpy(cmd, in->n, in->d, 1.0f, d_sum);
        }
    }
    vc_cmd_group(cmd, "stem");
    bn_backward(n, cmd, &m->stem_bn, S * S, &n->stem_a, n->stem_c.x, n->stem_c.d, &n->stem_s, true);
    conv_backward(n, cmd, &m->stem_conv, (VcBuffer){0}, false, n->stem_c.d, n->input);
    vc_cmd_group(cmd, NULL);
}
