/* test_ring.c — fill and ring_store: values land in slot step mod R, other slots untouched;
 * one recording resubmitted with a new step writes a new slot. */
#include <string.h>

#include "harness.h"
#include "ops/fill.h"
#include "ops/ring.h"

int main(void) {
    VcContext *ctx = th_gpu();
    enum { R = 5, N = 3 };
    VcBuffer ring, src, hyper;
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, R * N * sizeof(float), "ring", &ring) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, N * sizeof(float), "src", &src) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, 8 * sizeof(float), "hyper", &hyper) == VC_OK);
    float *h = (float *)hyper.mapped, *r = (float *)ring.mapped;
    float ref[R * N];
    for (int i = 0; i < R * N; i++) ref[i] = -1.0f;
    VcCmd *init = vc_cmd_new(ctx, false);
    vc_fill(init, ring, R * N, -1.0f);
    vc_cmd_run(init);
    vc_cmd_free(init);

    VcCmd *cmd = vc_cmd_new(ctx, false);
    float vals[N] = {1.5f, -2.0f, 3.25f};
    vc_buffer_upload(ctx, src, 0, vals, sizeof vals);
    vc_ring_store(cmd, ring, R, src, N, hyper, 1);
    for (int step = 0; step < 12; step++) {
        h[1] = (float)step;
        vals[0] = (float)step;
        vc_buffer_upload(ctx, src, 0, vals, sizeof vals);
        vc_cmd_run(cmd);
        for (int i = 0; i < N; i++) ref[(step % R) * N + i] = vals[i];
        CHECK(memcmp(r, ref, sizeof ref) == 0, "ring after step %d", step);
    }
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &ring);
    vc_buffer_free(ctx, &src);
    vc_buffer_free(ctx, &hyper);
    return th_finish();
}
