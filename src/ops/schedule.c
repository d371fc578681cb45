/* schedule.c — host side of shaders/schedule.comp, and its formulas on the host. */
#include "ops/schedule.h"

#include <math.h>

typedef struct {
    float base_lr, min_factor, ema_m0;
    uint32_t ema_ramp, warmup_steps, total_steps, steps_per_epoch, batch, ring_steps;
} SchedulePush;
_Static_assert(sizeof(SchedulePush) <= 128, "push constants");

void vc_schedule_step(VcCmd *cmd, const VcSchedule *s, VcBuffer counter, VcBuffer hyper, VcBuffer batch_info) {
    vc_cmd_op_begin(cmd, "1 step");
    SchedulePush pc = {s->base_lr, s->min_factor, s->ema_m0, s->ema_ramp, s->warmup_steps, s->total_steps, s->steps_per_epoch, s->batch, s->ring_steps};
    VcPipelineDesc d = {.shader = "schedule", .bindings = "sss", .push_size = sizeof pc};
    VcBuffer bufs[3] = {counter, hyper, batch_info};
    vc_dispatch(cmd, vc_pipeline_get(vc_cmd_context(cmd), &d), bufs, 3, &pc, 1, 1, 1, "schedule", 0, 32);
    vc_cmd_op_end(cmd);
}

float vc_schedule_lr(const VcSchedule *s, uint32_t step) {
    if (step < s->warmup_steps) return s->base_lr * (float)(step + 1) / (float)s->warmup_steps;
    uint32_t total = s->total_steps > s->warmup_steps + 1 ? s->total_steps : s->warmup_steps + 1;
    float progress = fminf((float)(step - s->warmup_steps) / (float)(total - s->warmup_steps), 1.0f);
    float cosine = 0.5f * (1.0f + cosf(3.14159265358979f * progress));
    return s->base_lr * (s->min_factor + (1.0f - s->min_factor) * cosine);
}

float vc_schedule_ema(const VcSchedule *s, uint32_t step) {
    if (!s->ema_ramp) return s->ema_m0;
    float progress = fminf((float)step / (float)(s->total_steps ? s->total_steps : 1), 1.0f);
    return 1.0f - (1.0f - s->ema_m0) * 0.5f * (1.0f + cosf(3.14159265358979f * progress));
}
