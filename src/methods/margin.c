/* margin.c — the triplet and block-contrastive steps (see margin.h).
 *
 *   views (2N,C,H,W) -> encoder -> head -> z -> l2 normalize -> zn
 *   zn -> S = zn zn^T -> triplet or block row pass (loss terms, G = dL/dS) -> loss,
 *   d_zn = (G + G^T) zn -> l2 backward -> head/encoder backward -> optimizer
 */
#include "methods/margin.h"

#include <string.h>

#include "ops/loss.h"
#include "ops/margin.h"

typedef struct Margin {
    VcModel *m;
    VcNet *net;
    int N, D;
    bool block;
    float margin;   /* triplet */
    bool hard;      /* triplet: hardest negative, else random */
    int b;          /* block size */
    bool hinge;     /* block: hinge, else logistic */
    VcOptimConfig opt;
    VcBuffer zn, d_zn, norms; /* (2N, D), (2N, D), (2N) */
    VcBuffer loss, hyper;
    VcMarginBuffers mb;       /* S, G (2N, 2N), row losses, negatives */
    VcBuffer state[2];
    int nstate;
    VcParam *params;
    int nparams;
} Margin;

static void margin_record(VcMethod *me, VcCmd *cmd) {
    Margin *s = me->impl;
    int N2 = 2 * s->N, D = s->D;
    vc_net_zero_grads(s->net, cmd);
    vc_net_forward(s->net, cmd, true, true);
    vc_cmd_group(cmd, "loss");
    vc_l2norm_forward(cmd, N2, D, s->zn, vc_net_proj(s->net), s->norms);
    if (s->block) {
        vc_block_loss(cmd, s->N, D, s->b, s->hinge, s->loss, s->d_zn, s->zn, &s->mb);
    } else {
        VC_ASSERT(me->batch_info.buf); /* the seed of random mining; set by the run (method.h) */
        vc_triplet(cmd, s->N, D, s->margin, s->hard, s->loss, s->d_zn, s->zn, &s->mb, me->batch_info, s->hyper);
    }
    vc_l2norm_backward(cmd, N2, D, vc_net_proj_grad(s->net), s->d_zn, s->zn, s->norms);
    vc_net_backward(s->net, cmd);
    vc_cmd_group(cmd, "optimizer");
    vc_optim_step(cmd, &s->opt, s->params, s->nparams, s->hyper);
    vc_cmd_group(cmd, NULL);
}

static void margin_free(VcMethod *me) {
    if (!me) return;
    Margin *s = me->impl;
    if (s) {
        VcContext *ctx = s->m->ctx;
        vc_net_free(s->net);
        VcBuffer *bufs[] = {&s->zn, &s->d_zn, &s->norms, &s->loss, &s->hyper, &s->state[0], &s->state[1]};
        for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(ctx, bufs[i]);
        vc_margin_buffers_free(ctx, &s->mb);
        free(s->params);
        free(s);
    }
    free(me);
}

static VcMethod *margin_new(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt, bool block) {
    int N = c->batch, D = m->out_dim;
    if (block && (c->block_size < 1 || N % c->block_size != 0 || N / c->block_size < 2)) {
        vc_set_error("--block-size %d: expected a divisor of --batch %d that leaves at least 2 blocks (at most %d)",
                     c->block_size, N, N / 2);
        return NULL;
    }
    if (!block && !(c->margin >= 0)) {
        vc_set_error("--margin %g: expected a number from 0 to 4", c->margin);
        return NULL;
    }
    VcContext *ctx = m->ctx;
    VcMethod *me = vc_calloc(1, sizeof *me);
    Margin *s = vc_calloc(1, sizeof *s);
    me->impl = s;
    me->free = margin_free;
    *s = (Margin){.m = m, .N = N, .D = D, .block = block, .margin = c->margin, .hard = c->mining_hard != 0,
                  .b = c->block_size, .hinge = c->block_hinge != 0, .opt = *opt};
    s->net = vc_net_new(m, 2 * N);
    if (!s->net) goto fail;
    size_t zbytes = (size_t)2 * N * D * sizeof(float);
    if (vc_margin_buffers_alloc(ctx, N, &s->mb) != VC_OK) goto fail;
    if (vc_buffer_alloc(ctx, zbytes, "normalized projections", &s->zn) != VC_OK ||
        vc_buffer_alloc(ctx, zbytes, "projection gradients", &s->d_zn) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)2 * N * sizeof(float), "projection norms", &s->norms) != VC_OK ||
        vc_buffer_alloc_mapped(ctx, sizeof(float), "loss", &s->loss) != VC_OK ||
        vc_buffer_alloc_mapped(ctx, VC_HYPER_COUNT * sizeof(float), "hyper-parameters", &s->hyper) != VC_OK)
        goto fail;
    if (vc_model_optim_setup(m, opt->kind, s->state, &s->nstate, &s->params, &s->nparams) != VC_OK) goto fail;
    for (int i = 0; i < s->nstate; i++) me->state[i] = s->state[i];
    float *h = (float *)s->hyper.mapped;
    memset(h, 0, VC_HYPER_COUNT * sizeof(float));
    h[VC_HYPER_STEP] = 1.0f;
    me->title = block ? (s->hinge ? "block (hinge)" : "block (logistic)") : (s->hard ? "triplet (hard)" : "triplet (random)");
    me->views = 2;
    me->input = vc_net_input(s->net);
    me->loss = s->loss;
    me->hyper = s->hyper;
    me->eval_net = s->net;
    me->min_lr_factor = 0.0f;
    me->ema_m0 = 0.99f;
    me->nstate = s->nstate;
    me->record = margin_record;
    return me;
fail:
    margin_free(me);
    return NULL;
}

VcMethod *vc_method_triplet(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt) {
    return margin_new(c, m, opt, false);
}

VcMethod *vc_method_block(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt) {
    return margin_new(c, m, opt, true);
}

VcBuffer vc_margin_method_z(const VcMethod *me) { return ((Margin *)me->impl)->zn; }
VcBuffer vc_margin_method_negatives(const VcMethod *me) { return ((Margin *)me->impl)->mb.neg; }
