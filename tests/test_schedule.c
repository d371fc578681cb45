/* test_schedule.c — the GPU schedule vs its host formulas over a whole short run:
 * warmup, cosine, EMA ramp, epoch/first bookkeeping, and the counter increment. The
 * host formulas themselves are checked against hand-computed values. */
#include <math.h>

#include "harness.h"
#include "ops/schedule.h"

int main(void) {
    VcSchedule s = {.base_lr = 0.5f, .min_factor = 0.0f, .ema_m0 = 0.99f, .ema_ramp = true, .warmup_steps = 3,
                    .total_steps = 13, .steps_per_epoch = 4, .batch = 7};
    /* hand values: warmup 1/3, 2/3, 1 of base; end of cosine ~0 */
    CHECK(fabsf(vc_schedule_lr(&s, 0) - 0.5f / 3) < 1e-7f, "warmup step 0");
    CHECK(fabsf(vc_schedule_lr(&s, 2) - 0.5f) < 1e-7f, "warmup end");
    CHECK(fabsf(vc_schedule_lr(&s, 3) - 0.5f) < 1e-7f, "cosine start");
    CHECK(fabsf(vc_schedule_lr(&s, 8) - 0.25f) < 1e-6f, "cosine middle (5 of 10)");
    CHECK(fabsf(vc_schedule_ema(&s, 0) - 0.99f) < 1e-7f && fabsf(vc_schedule_ema(&s, 13) - 1.0f) < 1e-7f, "ema ramp ends");

    VcContext *ctx = th_gpu();
    VcBuffer counter, hyper, info;
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, 4, "counter", &counter) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, 8 * 4, "hyper", &hyper) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, 8 * 4, "info", &info) == VC_OK);
    ((uint32_t *)info.mapped)[0] = 12345;
    ((uint32_t *)info.mapped)[3] = 777; /* slot_base: left alone while the data is resident */
    uint32_t start = 1; /* as after resuming one completed step */
    *(uint32_t *)counter.mapped = start;
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_schedule_step(cmd, &s, counter, hyper, info);
    for (uint32_t step = start; step < 15; step++) {
        vc_cmd_run(cmd);
        const float *h = (const float *)hyper.mapped;
        const uint32_t *bi = (const uint32_t *)info.mapped;
        CHECK(fabsf(h[0] - vc_schedule_lr(&s, step)) <= 1e-6f, "lr at step %u: %g vs %g", step, h[0], vc_schedule_lr(&s, step));
        CHECK(h[1] == (float)(step + 1), "t at step %u", step);
        CHECK(fabsf(h[2] - vc_schedule_ema(&s, step)) <= 1e-6f, "ema at step %u", step);
        CHECK(bi[0] == 12345 && bi[1] == step / 4 && bi[2] == (step % 4) * 7 && bi[3] == 777 && bi[5] == step,
              "batch info at step %u", step);
        CHECK(*(uint32_t *)counter.mapped == step + 1, "counter after step %u", step);
    }
    vc_cmd_free(cmd);

    /* streamed data: step k of an epoch reads ring slot k % ring_steps */
    s.ring_steps = 3;
    *(uint32_t *)counter.mapped = 0;
    cmd = vc_cmd_new(ctx, false);
    vc_schedule_step(cmd, &s, counter, hyper, info);
    for (uint32_t step = 0; step < 9; step++) {
        vc_cmd_run(cmd);
        const uint32_t *bi = (const uint32_t *)info.mapped;
        CHECK(bi[2] == (step % 4) * 7 && bi[3] == (step % 4) % 3 * 7, "slot base at step %u: %u", step, bi[3]);
    }
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &counter);
    vc_buffer_free(ctx, &hyper);
    vc_buffer_free(ctx, &info);
    return th_finish();
}
