/* schedule.h — per-step hyper-parameters computed on the GPU (see shaders/schedule.comp).
 *
 * Buffers: counter (1 uint: steps completed; the host writes it once, e.g. on resume),
 * hyper (VC_HYPER_COUNT floats, see ops/optim.h), batch_info: the augmentation's step
 * buffer (VcAugmentStep, 8 uints): [1] epoch, [2] first index of the batch in the epoch's
 * permutation and [5] the global step are written, and with ring_steps > 0 (streamed data,
 * src/data/feed.h) [3] slot_base = ((step % steps_per_epoch) % ring_steps) * batch; [0]
 * (the seed) and [4] (flags) are left to the host.
 */
#ifndef VC_OPS_SCHEDULE_H
#define VC_OPS_SCHEDULE_H

#include "vk/vk.h"

typedef struct VcSchedule {
    float base_lr;         /* peak learning rate */
    float min_factor;      /* cosine decays to base_lr * min_factor */
    float ema_m0;          /* MoCo momentum (start of the ramp) */
    bool ema_ramp;         /* cosine ramp of the momentum to 1 */
    uint32_t warmup_steps; /* linear warmup from base/warmup to base */
    uint32_t total_steps;
    uint32_t steps_per_epoch;
    uint32_t batch;
    uint32_t ring_steps;   /* streamed data: batches in the staging ring; 0 when resident */
} VcSchedule;

void vc_schedule_step(VcCmd *cmd, const VcSchedule *s, VcBuffer counter, VcBuffer hyper, VcBuffer batch_info);
/* The same formulas on the host (for logging the lr and for tests). */
float vc_schedule_lr(const VcSchedule *s, uint32_t step);
float vc_schedule_ema(const VcSchedule *s, uint32_t step);

#endif
