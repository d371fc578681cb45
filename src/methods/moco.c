/* moco.c — the MoCo step (see moco.h): query and key encoders, queue, logits, update.
 *
 *   views -> copy -> query net input (R rows), key net input (R rows)
 *   EMA key <- query; key forward -> k -> l2 -> kn ; query forward -> q -> l2 -> qn
 *   logits (R, K+1) = [qn . kn+, qn . queue] / T -> cross-entropy (label 0) -> d_logits
 *   d_qn = d_logits [kn+; queue] / T -> l2 backward -> query backward -> optimizer
 *   enqueue kn at (step * R) mod K
 * R = N rows, or 2N when symmetric.
 */
#include "methods/moco.h"

#include <math.h>
#include <string.h>

#include "ops/loss.h"
#include "ops/moco.h"
#include "ops/util_ops.h"

struct VcMoco {
    VcModel *m;           /* query encoder: the trained model */
    VcModel *key;         /* key encoder: EMA of m */
    VcNet *qnet, *knet;
    int N, R, D, K, G, version;
    bool symmetric;
    float T;
    VcOptimConfig opt;
    VcBuffer views;       /* (2N, C, S, S) */
    VcBuffer qn, kn;      /* (R, D) normalized queries and keys */
    VcBuffer q_norms, k_norms; /* (R) */
    VcBuffer d_qn;        /* (R, D) */
    VcBuffer logits, d_logits; /* (R, K + 1) */
    VcBuffer labels;      /* (R) int32 zeros */
    VcBuffer queue;       /* (K + 1, D), row 0 zero */
    VcBuffer loss, hyper, ptr;
    VcBuffer state[2];
    int nstate;
    VcParam *params;
    int nparams;
    size_t view_floats;   /* floats of N views */
};


/* ---- the step ---- */

static void record_forward_backward(VcMoco *s, VcCmd *cmd) {
    vc_net_zero_grads(s->qnet, cmd);
    vc_cmd_group(cmd, "moco_ema");
    /* key <- m key + (1 - m) query, before this step's update (as MoCo) */
    vc_ema(cmd, s->m->arena_floats, s->key->weights, s->m->weights, s->hyper);
    vc_cmd_group(cmd, "moco_views");
    VcBuffer v1 = vc_buffer_slice(s->views, 0, s->view_floats * sizeof(float));
    VcBuffer v2 = vc_buffer_slice(s->views, s->view_floats * sizeof(float), s->view_floats * sizeof(float));
    if (s->symmetric) {
        vc_copy(cmd, 2 * s->view_floats, vc_net_input(s->qnet), s->views);
        vc_copy(cmd, 2 * s->view_floats, vc_net_input(s->knet), s->views);
    } else {
        vc_copy(cmd, s->view_floats, vc_net_input(s->qnet), v1);
        vc_copy(cmd, s->view_floats, vc_net_input(s->knet), v2);
    }
    /* keys: training-mode BN (shuffled groups), no gradient */
    vc_net_forward(s->knet, cmd, true, true);
    vc_cmd_group(cmd, "moco_keys");
    vc_l2norm_forward(cmd, s->R, s->D, s->kn, vc_net_proj(s->knet), s->k_norms);
    vc_net_forward(s->qnet, cmd, true, true);
    vc_cmd_group(cmd, "loss");
    int off = s->symmetric ? s->N : 0; /* query row i meets key row (i + off) mod R */
    vc_l2norm_forward(cmd, s->R, s->D, s->qn, vc_net_proj(s->qnet), s->q_norms);
    vc_moco_logits(cmd, s->R, s->D, s->K, off, s->T, s->logits, s->qn, s->kn, s->queue);
    vc_cross_entropy(cmd, s->R, s->K + 1, s->loss, s->d_logits, s->logits, s->labels, 1.0f);
    vc_moco_logits_backward(cmd, s->R, s->D, s->K, off, s->T, s->d_qn, s->d_logits, s->kn, s->queue);
    vc_l2norm_backward(cmd, s->R, s->D, vc_net_proj_grad(s->qnet), s->d_qn, s->qn, s->q_norms);
    vc_net_backward(s->qnet, cmd);
}

static void moco_record(VcMethod *me, VcCmd *cmd) {
    VcMoco *s = me->impl;
    record_forward_backward(s, cmd);
    vc_cmd_group(cmd, "optimizer");
    vc_optim_step(cmd, &s->opt, s->params, s->nparams, s->hyper);
    vc_cmd_group(cmd, "moco_enqueue");
    vc_moco_enqueue(cmd, s->R, s->D, s->K, s->queue, s->kn, s->hyper);
    vc_cmd_group(cmd, NULL);
}

/* ---- checkpoint state ---- */

static void moco_before_save(VcMethod *me, long step) {
    VcMoco *s = me->impl;
    *(float *)s->ptr.mapped = (float)vc_moco_queue_ptr(step, s->R, s->K);
}

static int moco_after_load(VcMethod *me, long step, const char *path) {
    VcMoco *s = me->impl;
    float got = *(const float *)s->ptr.mapped;
    int want = vc_moco_queue_ptr(step, s->R, s->K);
    if (got != (float)want) {
        vc_set_error("%s: moco.queue_ptr is %g but step %ld with %d keys per step and --queue %d gives %d (was the run "
                     "made with other --batch/--queue/--symmetric settings?)",
                     path, got, step, s->R, s->K, want);
        return VC_ERR_FORMAT;
    }
    return VC_OK;
}

static void moco_free(VcMethod *me) {
    if (!me) return;
    VcMoco *s = me->impl;
    if (s) {
        VcContext *ctx = s->m->ctx;
        vc_net_free(s->qnet);
        vc_net_free(s->knet);
        vc_model_free(s->key);
        VcBuffer *bufs[] = {&s->views, &s->qn,    &s->kn,     &s->q_norms, &s->k_norms, &s->d_qn,  &s->logits,  &s->d_logits,
                            &s->labels, &s->queue, &s->loss, &s->hyper,   &s->ptr,     &s->state[0], &s->state[1]};
        for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(ctx, bufs[i]);
        free(s->params);
        free(s);
    }
    free(me->extra);
    free(me);
}

/* ---- construction ---- */

static int check_settings(const VcTrainConfig *c, int R) {
    if (c->moco_version != 1 && c->moco_version != 2) {
        vc_set_error("--moco-version %d: expected 1 or 2", c->moco_version);
        return VC_ERR_ARG;
    }
    if (c->queue < R || c->queue > VC_MOCO_MAX_QUEUE) {
        vc_set_error("--queue %d: expected %d to %d (at least the %d keys one step enqueues: --batch %d%s)", c->queue, R,
                     VC_MOCO_MAX_QUEUE, R, c->batch, c->symmetric ? " x 2 with --symmetric" : "");
        return VC_ERR_ARG;
    }
    if (c->shuffle_groups < 1 || c->batch % c->shuffle_groups != 0) {
        vc_set_error("--shuffle-groups %d: expected a divisor of --batch %d (Shuffle-BN splits the batch into equal groups)",
                     c->shuffle_groups, c->batch);
        return VC_ERR_ARG;
    }
    if (!(c->temperature > 0)) {
        vc_set_error("--temperature must be positive (got %g)", c->temperature);
        return VC_ERR_ARG;
    }
    return VC_OK;
}

VcMethod *vc_method_moco(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt) {
    int N = c->batch, R = c->symmetric ? 2 * N : N;
    if (check_settings(c, R) != VC_OK) return NULL;
    VcContext *ctx = m->ctx;
    VcMethod *me = vc_calloc(1, sizeof *me);
    VcMoco *s = vc_calloc(1, sizeof *s);
    me->impl = s;
    me->free = moco_free;
    s->m = m;
    s->N = N;
    s->R = R;
    s->D = m->out_dim;
    s->K = c->queue;
    s->G = c->shuffle_groups;
    s->version = c->moco_version;
    s->symmetric = c->symmetric;
    s->T = c->temperature;
    s->opt = *opt;
    int V = c->symmetric ? 2 : 1, D = s->D, K = s->K;
    /* query: contiguous groups per view; key: interleaved (the shuffle) */
    VcBnGroups qg = {s->G * V, V, false}, kg = {s->G * V, V, true};
    s->qnet = vc_net_new_grouped(m, R, &qg);
    if (!s->qnet) goto fail;
    s->key = vc_model_new_head(ctx, m->kind, m->channels, m->image_size, m->out_dim, 0, m->linear_head);
    if (!s->key) goto fail;
    s->knet = vc_net_new_ex(s->key, R, &kg, true); /* keys get no gradient */
    if (!s->knet) goto fail;
    {
        /* the key encoder starts as a copy of the query encoder */
        float *w = vc_malloc(m->arena_floats * sizeof(float));
        vc_model_download(m, w);
        vc_model_upload(s->key, w);
        free(w);
    }
    s->view_floats = (size_t)N * m->channels * m->image_size * m->image_size;
    size_t rd = (size_t)R * D * sizeof(float), rl = (size_t)R * (K + 1) * sizeof(float);
    if (vc_buffer_alloc(ctx, 2 * s->view_floats * sizeof(float), "MoCo views", &s->views) != VC_OK ||
        vc_buffer_alloc(ctx, rd, "MoCo queries", &s->qn) != VC_OK || vc_buffer_alloc(ctx, rd, "MoCo keys", &s->kn) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)R * sizeof(float), "query norms", &s->q_norms) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)R * sizeof(float), "key norms", &s->k_norms) != VC_OK ||
        vc_buffer_alloc(ctx, rd, "query gradients", &s->d_qn) != VC_OK ||
        vc_buffer_alloc(ctx, rl, "MoCo logits", &s->logits) != VC_OK ||
        vc_buffer_alloc(ctx, rl, "MoCo logit gradients", &s->d_logits) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)R * sizeof(int32_t), "MoCo labels", &s->labels) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)(K + 1) * D * sizeof(float), "MoCo queue", &s->queue) != VC_OK ||
        vc_buffer_alloc_mapped(ctx, sizeof(float), "loss", &s->loss) != VC_OK ||
        vc_buffer_alloc_mapped(ctx, VC_HYPER_COUNT * sizeof(float), "hyper-parameters", &s->hyper) != VC_OK ||
        vc_buffer_alloc_mapped(ctx, sizeof(float), "queue pointer", &s->ptr) != VC_OK)
        goto fail;
    int32_t *zeros = vc_calloc((size_t)R, sizeof(int32_t));
    vc_buffer_upload(ctx, s->labels, 0, zeros, (size_t)R * sizeof(int32_t));
    free(zeros);
    vc_method_init_unit_rows(ctx, s->queue, K, D, c->seed ^ 0x6d6f636f71756575ull);
    if (vc_model_optim_setup(m, opt->kind, s->state, &s->nstate, &s->params, &s->nparams) != VC_OK) goto fail;
    for (int i = 0; i < s->nstate; i++) me->state[i] = s->state[i];
    float *h = (float *)s->hyper.mapped;
    memset(h, 0, VC_HYPER_COUNT * sizeof(float));
    h[VC_HYPER_STEP] = 1.0f;
    h[VC_HYPER_EMA] = c->moco_m;

    /* checkpoint extras: the key encoder's tensors, the queue and its pointer */
    me->extra = vc_calloc((size_t)s->key->nt + 2, sizeof *me->extra);
    for (int i = 0; i < s->key->nt; i++) {
        VcCheckpointExtra *e = &me->extra[me->nextra++];
        snprintf(e->name, sizeof e->name, "moco.key.%s", s->key->t[i].name);
        e->buf = vc_model_weight(s->key, i);
        e->n = s->key->t[i].n;
    }
    me->extra[me->nextra++] = (VcCheckpointExtra){.name = "moco.queue",
                                                  .buf = vc_buffer_slice(s->queue, (size_t)D * sizeof(float),
                                                                         (size_t)K * D * sizeof(float)),
                                                  .n = (size_t)K * D};
    me->extra[me->nextra++] = (VcCheckpointExtra){.name = "moco.queue_ptr", .buf = s->ptr, .n = 1};

    me->title = s->version == 1 ? "MoCo v1" : "MoCo v2";
    me->views = 2;
    me->input = s->views;
    me->loss = s->loss;
    me->hyper = s->hyper;
    me->eval_net = s->qnet;
    me->min_lr_factor = s->version == 1 ? 1.0f : 0.0f; /* v1: constant lr; v2: cosine */
    me->ema_m0 = c->moco_m;
    me->ema_ramp = c->moco_m_ramp;
    me->nstate = s->nstate;
    me->record = moco_record;
    me->before_save = moco_before_save;
    me->after_load = moco_after_load;
    return me;
fail:
    moco_free(me);
    return NULL;
}

/* ---- for tests ---- */

VcModel *vc_moco_key_model(const VcMethod *me) { return ((VcMoco *)me->impl)->key; }
VcNet *vc_moco_query_net(const VcMethod *me) { return ((VcMoco *)me->impl)->qnet; }
VcBuffer vc_moco_queue(const VcMethod *me) { return ((VcMoco *)me->impl)->queue; }
VcBuffer vc_moco_keys(const VcMethod *me) { return ((VcMoco *)me->impl)->kn; }
VcBuffer vc_moco_queries(const VcMethod *me) { return ((VcMoco *)me->impl)->qn; }
