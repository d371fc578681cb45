/* simclr.c — the SimCLR step: forward, NT-Xent, backward and update in one recording.
 *
 *   views (2N,C,H,W) -> encoder -> h (2N,128) -> head -> z (2N,D) -> l2 normalize -> zn
 *   zn -> NT-Xent(T) -> loss, d_zn -> l2 backward -> d_z -> head/encoder backward
 *   -> optimizer over all parameters (lr from the hyper buffer)
 */
#include "methods/simclr.h"

#include "ops/loss.h"

struct VcSimclr {
    VcModel *m;
    VcNet *net;
    int N;
    float T;
    VcOptimConfig opt;
    VcBuffer zn, d_zn, norms, sim, loss, hyper;
    VcBuffer state[2];
    int nstate;
    VcParam *params;
    int nparams;
};

VcSimclr *vc_simclr_new(VcModel *m, int N, float temperature, const VcOptimConfig *opt) {
    if (N < 1) {
        vc_set_error("--batch must be at least 1 (got %d)", N);
        return NULL;
    }
    if (!(temperature > 0)) {
        vc_set_error("--temperature must be positive (got %g)", temperature);
        return NULL;
    }
    VcContext *ctx = m->ctx;
    VcSimclr *s = vc_calloc(1, sizeof *s);
    s->m = m;
    s->N = N;
    s->T = temperature;
    s->opt = *opt;
    int N2 = 2 * N, D = m->out_dim;
    s->net = vc_net_new(m, N2);
    if (!s->net) goto fail;
    size_t zbytes = (size_t)N2 * (size_t)D * sizeof(float);
    if (vc_buffer_alloc(ctx, zbytes, "normalized projections", &s->zn) != VC_OK) goto fail;
    if (vc_buffer_alloc(ctx, zbytes, "projection gradients", &s->d_zn) != VC_OK) goto fail;
    if (vc_buffer_alloc(ctx, (size_t)N2 * sizeof(float), "projection norms", &s->norms) != VC_OK) goto fail;
    if (vc_buffer_alloc(ctx, (size_t)N2 * (size_t)(N2 + 1) * sizeof(float), "similarity matrix", &s->sim) != VC_OK) goto fail;
    if (vc_buffer_alloc_mapped(ctx, sizeof(float), "loss", &s->loss) != VC_OK) goto fail;
    if (vc_buffer_alloc_mapped(ctx, VC_HYPER_COUNT * sizeof(float), "hyper-parameters", &s->hyper) != VC_OK) goto fail;
    if (vc_model_optim_setup(m, opt->kind, s->state, &s->nstate, &s->params, &s->nparams) != VC_OK) goto fail;
    vc_simclr_set_hyper(s, 0.0f, 1);
    return s;
fail:
    vc_simclr_free(s);
    return NULL;
}

void vc_simclr_free(VcSimclr *s) {
    if (!s) return;
    VcContext *ctx = s->m->ctx;
    vc_net_free(s->net);
    VcBuffer *bufs[] = {&s->zn, &s->d_zn, &s->norms, &s->sim, &s->loss, &s->hyper, &s->state[0], &s->state[1]};
    for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(ctx, bufs[i]);
    free(s->params);
    free(s);
}

VcNet *vc_simclr_net(const VcSimclr *s) { return s->net; }
VcBuffer vc_simclr_input(const VcSimclr *s) { return vc_net_input(s->net); }
VcBuffer vc_simclr_loss(const VcSimclr *s) { return s->loss; }
VcBuffer vc_simclr_hyper(const VcSimclr *s) { return s->hyper; }

int vc_simclr_optim_state(const VcSimclr *s, VcBuffer *state, int max) {
    for (int i = 0; i < s->nstate && i < max; i++) state[i] = s->state[i];
    return s->nstate;
}

void vc_simclr_set_hyper(VcSimclr *s, float lr, int step) {
    float *h = (float *)s->hyper.mapped;
    h[VC_HYPER_LR] = lr;
    h[VC_HYPER_STEP] = (float)step;
}

void vc_simclr_record_update(VcSimclr *s, VcCmd *cmd) {
    vc_cmd_group(cmd, "optimizer");
    vc_optim_step(cmd, &s->opt, s->params, s->nparams, s->hyper);
    vc_cmd_group(cmd, NULL);
}

void vc_simclr_record(VcSimclr *s, VcCmd *cmd, bool update) {
    int N2 = 2 * s->N, D = s->m->out_dim;
    vc_net_zero_grads(s->net, cmd);
    vc_net_forward(s->net, cmd, true, true);
    vc_cmd_group(cmd, "loss");
    vc_l2norm_forward(cmd, N2, D, s->zn, vc_net_proj(s->net), s->norms);
    vc_ntxent(cmd, N2, D, s->T, s->loss, s->d_zn, s->zn, s->sim);
    vc_l2norm_backward(cmd, N2, D, vc_net_proj_grad(s->net), s->d_zn, s->zn, s->norms);
    vc_net_backward(s->net, cmd);
    if (update) vc_simclr_record_update(s, cmd);
}

/* ---- as a training method (methods/method.h) ---- */

#include "methods/method.h"

static void simclr_method_record(VcMethod *me, VcCmd *cmd) { vc_simclr_record(me->impl, cmd, true); }

static void simclr_method_free(VcMethod *me) {
    vc_simclr_free(me->impl);
    free(me);
}

VcMethod *vc_method_simclr(const VcTrainConfig *c, VcModel *m, const VcOptimConfig *opt) {
    VcSimclr *s = vc_simclr_new(m, c->batch, c->temperature, opt);
    if (!s) return NULL;
    VcMethod *me = vc_calloc(1, sizeof *me);
    *me = (VcMethod){.title = "SimCLR", .views = 2, .input = vc_simclr_input(s), .loss = s->loss, .hyper = s->hyper,
                     .eval_net = s->net, .min_lr_factor = 0.0f, .ema_m0 = 0.99f, .nstate = s->nstate,
                     .record = simclr_method_record, .free = simclr_method_free, .impl = s};
    for (int i = 0; i < s->nstate; i++) me->state[i] = s->state[i];
    return me;
}
