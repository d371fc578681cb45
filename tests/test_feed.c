/* test_feed.c — streamed data gives exactly the views and embeddings of resident data.
 *
 * A synthetic dataset runs through the recorded schedule -> augment step for two epochs,
 * submitted as training does (three steps in flight, the loader filling a small ring
 * ahead), once resident and once streamed; every step's views are kept on the GPU
 * (ring_store, slot = step) and must match bit for bit. Then vc_feed_embed through the
 * ring vs resident, and the AUTO rule on made-up device limits.
 */
#include <string.h>

#include "data/feed.h"
#include "eval/embed.h"
#include "harness.h"
#include "ops/augment.h"
#include "ops/optim.h"
#include "ops/ring.h"
#include "ops/schedule.h"

enum { N_IMAGES = 203, C = 1, S = 12, BATCH = 16, EPOCHS = 2 };

static void permutation(int32_t *p, int n, int epoch) {
    for (int i = 0; i < n; i++) p[i] = i;
    th_seed(100 + (uint64_t)epoch);
    for (int i = n - 1; i > 0; i--) {
        float u[1];
        th_fill_uniform(u, 1, 0.0f, 1.0f);
        int j = (int)(u[0] * (float)(i + 1)) % (i + 1);
        int32_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

/* Every step's views of EPOCHS epochs, in step order (host copy, caller frees). */
static float *run_views(VcContext *ctx, const VcDataset *d, VcFeedMode mode, size_t *views_floats) {
    VcFeed *feed = vc_feed_new(ctx, d, BATCH, mode, "test images");
    VC_ASSERT(feed);
    CHECK(vc_feed_streaming(feed) == (mode == VC_FEED_STREAM), "mode %d", (int)mode);
    int spe = d->n / BATCH, total = EPOCHS * spe;
    VcAugmentConfig cfg = vc_augment_config_simclr(C);
    VcAugmentShape sh = {.C = C, .H = S, .W = S, .S = S, .N = BATCH, .V = 2, .n_data = vc_feed_slots(feed)};
    VcAugment *aug = vc_augment_new(ctx, &cfg, &sh);
    VC_ASSERT(aug);
    size_t nv = vc_augment_views_bytes(aug) / sizeof(float);
    VcBuffer views, perm, step, counter, hyper, out;
    VC_ASSERT(vc_buffer_alloc(ctx, nv * sizeof(float), "views", &views) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, (size_t)d->n * sizeof(int32_t), "perm", &perm) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, sizeof(VcAugmentStep), "step", &step) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, sizeof(uint32_t), "counter", &counter) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, VC_HYPER_COUNT * sizeof(float), "hyper", &hyper) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, (size_t)total * nv * sizeof(float), "all views", &out) == VC_OK);
    VcSchedule sched = {.base_lr = 1, .total_steps = (uint32_t)total, .steps_per_epoch = (uint32_t)spe, .batch = BATCH,
                        .ring_steps = (uint32_t)vc_feed_ring_steps(feed)};
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_schedule_step(cmd, &sched, counter, hyper, step);
    vc_augment_record(cmd, aug, views, vc_feed_data(feed), perm, step);
    vc_ring_store(cmd, out, total, views, nv, hyper, VC_HYPER_STEP); /* slot (t = step + 1) mod total */
    vc_cmd_end(cmd);
    for (int e = 0; e < EPOCHS; e++) {
        permutation((int32_t *)perm.mapped, d->n, e);
        VcAugmentStep as = {.seed = 7, .epoch = (uint32_t)e, .flags = vc_feed_augment_flags(feed)};
        vc_augment_step_write(ctx, step, &as);
        vc_feed_begin_epoch(feed, (const int32_t *)perm.mapped, spe);
        for (int k = 0; k < spe; k++) {
            vc_feed_wait_step(feed, k);
            vc_cmd_submit(cmd); /* returns once step k - 3 has completed */
            vc_feed_completed(feed, k - 2);
        }
        vc_cmd_wait(cmd);
    }
    float *host = vc_malloc((size_t)total * nv * sizeof(float));
    vc_buffer_download(ctx, out, 0, host, (size_t)total * nv * sizeof(float));
    *views_floats = (size_t)total * nv;
    vc_cmd_free(cmd);
    VcBuffer bufs[] = {views, perm, step, counter, hyper, out};
    for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(ctx, &bufs[i]);
    vc_augment_free(aug);
    vc_feed_free(feed);
    return host;
}

static float *run_embed(VcContext *ctx, VcModel *m, const VcDataset *d, VcFeedMode mode) {
    VcFeed *feed = vc_feed_new(ctx, d, BATCH, mode, "test images");
    VC_ASSERT(feed);
    VcNet *net = vc_net_new(m, 24); /* a chunk size that does not divide the ring */
    VC_ASSERT(net);
    VcBuffer out;
    size_t n = (size_t)d->n * m->repr_dim;
    VC_ASSERT(vc_buffer_alloc(ctx, n * sizeof(float), "embeddings", &out) == VC_OK);
    float mean[3] = {0.4f}, std[3] = {0.3f};
    CHECK(vc_feed_embed(feed, net, mean, std, true, out) == VC_OK, "embed: %s", vc_last_error());
    float *host = vc_malloc(n * sizeof(float));
    vc_buffer_download(ctx, out, 0, host, n * sizeof(float));
    vc_buffer_free(ctx, &out);
    vc_net_free(net);
    vc_feed_free(feed);
    return host;
}

int main(void) {
    VcContext *ctx = th_gpu();
    VcDataset d = {.n = N_IMAGES, .c = C, .h = S, .w = S};
    d.pixels = vc_malloc((size_t)N_IMAGES * C * S * S);
    for (size_t i = 0; i < (size_t)N_IMAGES * C * S * S; i++) d.pixels[i] = (uint8_t)(i * 2654435761u >> 13);

    vc_feed_set_ring_steps(4); /* the smallest ring: the loader can run only one step ahead */
    size_t n1, n2;
    float *resident = run_views(ctx, &d, VC_FEED_RESIDENT, &n1);
    float *streamed = run_views(ctx, &d, VC_FEED_STREAM, &n2);
    CHECK(n1 == n2 && memcmp(resident, streamed, n1 * sizeof(float)) == 0, "streamed views differ from resident ones");
    double energy = 0;
    for (size_t i = 0; i < n1; i++) energy += (double)resident[i] * resident[i];
    CHECK(energy > 0.1 * (double)n1, "views are not empty (mean square %.3g)", energy / (double)n1);
    free(resident);
    free(streamed);

    vc_feed_set_ring_steps(5); /* ring * batch = 80 images: the 203 embed in 2 chunks of 64 and one of 75 */
    VcModel *m = vc_model_new(ctx, VC_MODEL_SMALL_RESNET, C, S, 16, 3);
    VC_ASSERT(m);
    float *e1 = run_embed(ctx, m, &d, VC_FEED_RESIDENT), *e2 = run_embed(ctx, m, &d, VC_FEED_STREAM);
    CHECK(memcmp(e1, e2, (size_t)N_IMAGES * m->repr_dim * sizeof(float)) == 0, "streamed embeddings differ from resident ones");
    free(e1);
    free(e2);
    vc_model_free(m);
    vc_feed_set_ring_steps(0);

    /* the AUTO rule */
    VcDeviceInfo info = {.heap_count = 2, .heap_size = {8ull << 30, 64ull << 30}, .heap_device_local = {true, false},
                         .max_storage_buffer_range = 1ull << 32, .max_allocation_size = 4ull << 30};
    CHECK(vc_feed_fits(&info, 3ull << 30), "3 GiB fits an 8 GiB device");
    CHECK(!vc_feed_fits(&info, 4ull << 30 | 1), "over the largest allocation streams");
    info.heap_size[0] = 6ull << 30;
    CHECK(!vc_feed_fits(&info, 3ull << 30 | 1), "over half the device-local heap streams");
    info.max_storage_buffer_range = 128ull << 20;
    CHECK(!vc_feed_fits(&info, (512ull << 20) + 1), "over four storage ranges streams");

    free(d.pixels);
    return th_finish();
}
