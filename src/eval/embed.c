/* embed.c — run the encoder over a dataset in chunks of the net's batch (see embed.h). */
#include "eval/embed.h"

#include <string.h>

#include "ops/loss.h"
#include "ops/util_ops.h"

int vc_embed_images(VcNet *net, VcBuffer data, int n, int C, int H, int W, const float *mean, const float *std, bool normalize,
                    VcBuffer out) {
    const VcModel *m = vc_net_model(net);
    VcContext *ctx = m->ctx;
    int B = vc_net_batch(net), D = m->repr_dim;
    VcAugmentConfig cfg = vc_augment_config_eval(C);
    memcpy(cfg.mean, mean, sizeof(float) * (size_t)C);
    memcpy(cfg.std, std, sizeof(float) * (size_t)C);
    VcAugmentShape sh = {.C = C, .H = H, .W = W, .S = m->image_size, .N = B, .V = 1, .n_data = n};
    VcAugment *aug = vc_augment_new(ctx, &cfg, &sh);
    if (!aug) return VC_ERR;
    VcBuffer perm = {0}, step = {0}, norms = {0};
    int st = VC_ERR_OOM;
    if (vc_buffer_alloc_mapped(ctx, (size_t)n * sizeof(int32_t), "embedding order", &perm) != VC_OK ||
        vc_buffer_alloc_mapped(ctx, sizeof(VcAugmentStep), "embedding step", &step) != VC_OK ||
        vc_buffer_alloc(ctx, (size_t)B * sizeof(float), "norms", &norms) != VC_OK)
        goto done;
    int32_t *p = (int32_t *)perm.mapped;
    for (int i = 0; i < n; i++) p[i] = i;
    for (int first = 0; first < n; first += B) {
        int rows = VC_MIN(B, n - first);
        VcAugmentStep as = {.first = (uint32_t)first};
        vc_augment_step_write(ctx, step, &as);
        VcBuffer dst = vc_buffer_slice(out, (size_t)first * (size_t)D * sizeof(float), (size_t)rows * (size_t)D * sizeof(float));
        VcCmd *cmd = vc_cmd_new(ctx, false);
        vc_augment_record(cmd, aug, vc_net_input(net), data, perm, step);
        vc_net_forward(net, cmd, false, false);
        if (normalize) vc_l2norm_forward(cmd, rows, D, dst, vc_net_repr(net), norms);
        else vc_copy(cmd, (size_t)rows * (size_t)D, dst, vc_net_repr(net));
        vc_cmd_run(cmd);
        vc_cmd_free(cmd);
    }
    st = VC_OK;
done:
    vc_buffer_free(ctx, &perm);
    vc_buffer_free(ctx, &step);
    vc_buffer_free(ctx, &norms);
    vc_augment_free(aug);
    return st;
}
