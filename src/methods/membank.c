/* membank.c — the memory-bank step (see membank.h).
 *
 *   indices (images of the step, negatives) -> gather pos = bank[idx], negs = bank[neg]
 *   forward -> z -> l2 -> f ; logits (N, K+1) = [f . pos, f . negs] / T ; mask own entry
 *   cross-entropy (label 0) -> d_f = d_logits [pos; negs] / T -> l2 backward -> backward
 *   optimizer ; bank[idx] = normalize(m pos + (1 - m) f)
 */
#include "methods/membank.h"

#include <math.h>
#include <string.h>

#include "ops/loss.h"
#include "ops/membank.h"
#include "ops/moco.h"
#include "ops/util_ops.h"

typedef struct Membank {
    VcModel *m;
    VcNet *net;
    int N, D, K, n;
    bool all;
    float T, bank_m;
    VcOptimConfig opt;
    VcBuffer bank;             /* (n + 1, D), row 0 zero */
    VcBuffer idx;              /* (N + K) int32 bank rows: the step's images, then negatives */
    VcBuffer pos;              /* (N, D) bank rows of the step's images */
    VcBuffer negs;             /* (K + 1, D) row 0 zero, rows 1..K the negatives (unless all) */
    VcBuffer f, norms, d_f;    /* (N, D), (N), (N, D) */
    VcBuffer logits, d_logits; /* (N, K + 1) */
    VcBuffer labels, loss, hyper;
    VcBuffer state[2];
    int nstate;
    VcParam *params;
    int nparams;
} Membank;

static void membank_record(VcMethod *me, VcCmd *cmd) {
    Membank *s = me->impl;
    VC_ASSERT(me->perm.buf && me->batch_info.buf); /* set by the run (method.h) */
    int N = s->N, D = s->D, K = s->K;
    vc_net_zero_grads(s->net, cmd);
    vc_cmd_group(cmd, "membank_gather");
    vc_membank_indices(cmd, N, K, s->n, s->all, s->idx, me->perm, me->batch_info, s->hyper);
    vc_gather_rows(cmd, N, D, s->pos, s->bank, s->idx);
    VcBuffer negs = s->bank;
    if (!s->all) {
        VcBuffer neg_idx = vc_buffer_slice(s->idx, (size_t)N * 4, (size_t)K * 4);
        vc_gather_rows(cmd, K, D, vc_buffer_slice(s->negs, (size_t)D * 4, (size_t)K * D * 4), s->bank, neg_idx);
        negs = s->negs;
    }
    vc_net_forward(s->net, cmd, true, true);
    vc_cmd_group(cmd, "loss");
    vc_l2norm_forward(cmd, N, D, s->f, vc_net_proj(s->net), s->norms);
    vc_moco_logits(cmd, N, D, K, 0, s->T, s->logits, s->f, s->pos, negs);
    vc_membank_mask(cmd, N, K, s->all, s->logits, s->idx);
    vc_cross_entropy(cmd, N, K + 1, s->loss, s->d_logits, s->logits, s->labels, 1.0f);
    vc_moco_logits_backward(cmd, N, D, K, 0, s->T, s->d_f, s->d_logits, s->pos, negs);
    vc_l2norm_backward(cmd, N, D, vc_net_proj_grad(s->net), s->d_f, s->f, s->norms);
    vc_net_backward(s->net, cmd);
    vc_cmd_group(cmd, "optimizer");
    vc_optim_step(cmd, &s->opt, s->params, s->nparams, s->hyper);
    vc_cmd_group(cmd, "membank_update");
    vc_membank_update(cmd, N, D, s->n, s->bank_m, s->bank, s->f, s->pos, s->idx);
    vc_cmd_group(cmd, NULL);
}

static void membank_free(VcMethod *me) {
    if (!me) return;
    Membank *s = me->impl;
    if (s) {
        VcContext *ctx = s->m->ctx;
        vc_net_free(s->net);
        VcBuffer *bufs[] = {&s->bank, &s->idx,    &s->pos,   &s->negs, &s->f,      &s->norms,    &s->d_f,
                            &s->logits, &s->d_logits, &s->labels, &s->loss, &s->hyper, &s->state[0], &s->state[1]};
        for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(ctx, bufs[i]);
        free(s->params);
        free(s);
    }
    free(me->extra);
    free(me);
}

VcMethod *vc_method_membank(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt, int n_data) {
    int N = c->batch, D = m->out_dim, K = c->negatives > 0 ? c->negatives : n_data;
    if (n_data < 1 || n_data > (1 << 24)) {
        vc_set_error("--method membank: the bank holds one vector per image; %d images is out of range (1 to 16777216)",
                     n_data);
        return NULL;
    }
    if (!(c->temperature > 0)) {
        vc_set_error("--temperature must be positive (got %g)", c->temperature);
        return NULL;
    }
    VcContext *ctx = m->ctx;
    size_t logit_bytes = (size_t)N * (K + 1) * sizeof(float);
    if (logit_bytes > vc_context_info(ctx)->max_storage_buffer_range) {
        vc_set_error("--negatives %s: the logits (%d x %d floats, %.0f MiB) exceed what %s can bind (%.0f MiB); use fewer "
                     "negatives or a smaller --batch",
                     c->negatives > 0 ? "K" : "all", N, K + 1, logit_bytes / 1048576.0, vc_context_info(ctx)->name,
                     vc_context_info(ctx)->max_storage_buffer_range / 1048576.0);
        return NULL;
    }
    VcMethod *me = vc_calloc(1, sizeof *me);
    Membank *s = vc_calloc(1, sizeof *s);
    me->impl = s;
    me->free = membank_free;
    *s = (Membank){.m = m, .N = N, .D = D, .K = K, .n = n_data, .all = c->negatives <= 0, .T = c->temperature,
                   .bank_m = c->bank_m, .opt = *opt};
    s->net = vc_net_new(m, N);
    if (!s->net) goto fail;
    size_t nd = (size_t)N * D * sizeof(float);
    if (vc_buffer_alloc(ctx, (size_t)(n_data + 1) * D * sizeof(float), "memory bank", &s->bank) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)(N + K) * sizeof(int32_t), "memory bank indices", &s->idx) != VC_OK ||
        vc_buffer_alloc(ctx, nd, "memory bank positives", &s->pos) != VC_OK ||
        (!s->all && vc_buffer_alloc(ctx, (size_t)(K + 1) * D * sizeof(float), "memory bank negatives", &s->negs) != VC_OK) ||
        vc_buffer_alloc(ctx, nd, "features", &s->f) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)N * sizeof(float), "feature norms", &s->norms) != VC_OK ||
        vc_buffer_alloc(ctx, nd, "feature gradients", &s->d_f) != VC_OK ||
        vc_buffer_alloc(ctx, logit_bytes, "memory bank logits", &s->logits) != VC_OK ||
        vc_buffer_alloc(ctx, logit_bytes, "memory bank logit gradients", &s->d_logits) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)N * sizeof(int32_t), "labels", &s->labels) != VC_OK ||
        vc_buffer_alloc_mapped(ctx, sizeof(float), "loss", &s->loss) != VC_OK ||
        vc_buffer_alloc_mapped(ctx, VC_HYPER_COUNT * sizeof(float), "hyper-parameters", &s->hyper) != VC_OK)
        goto fail;
    int32_t *zeros = vc_calloc((size_t)N, sizeof(int32_t));
    vc_buffer_upload(ctx, s->labels, 0, zeros, (size_t)N * sizeof(int32_t));
    free(zeros);
    if (!s->all) {
        float *row0 = vc_calloc((size_t)D, sizeof(float));
        vc_buffer_upload(ctx, s->negs, 0, row0, (size_t)D * sizeof(float));
        free(row0);
    }
    vc_method_init_unit_rows(ctx, s->bank, n_data, D, c->seed ^ 0x6d656d62616e6bull);
    if (vc_model_optim_setup(m, opt->kind, s->state, &s->nstate, &s->params, &s->nparams) != VC_OK) goto fail;
    for (int i = 0; i < s->nstate; i++) me->state[i] = s->state[i];
    float *h = (float *)s->hyper.mapped;
    memset(h, 0, VC_HYPER_COUNT * sizeof(float));
    h[VC_HYPER_STEP] = 1.0f;

    me->extra = vc_calloc(1, sizeof *me->extra);
    me->extra[me->nextra++] = (VcCheckpointExtra){
        .name = "membank.bank", .buf = vc_buffer_slice(s->bank, (size_t)D * 4, (size_t)n_data * D * 4), .n = (size_t)n_data * D};
    me->title = "memory bank";
    me->views = 1;
    me->input = vc_net_input(s->net);
    me->loss = s->loss;
    me->hyper = s->hyper;
    me->eval_net = s->net;
    me->min_lr_factor = 0.0f;
    me->ema_m0 = 0.99f;
    me->nstate = s->nstate;
    me->record = membank_record;
    return me;
fail:
    membank_free(me);
    return NULL;
}

VcBuffer vc_membank_bank(const VcMethod *me) { return ((Membank *)me->impl)->bank; }
VcBuffer vc_membank_features(const VcMethod *me) { return ((Membank *)me->impl)->f; }
