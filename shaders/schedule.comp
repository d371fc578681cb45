#version 450
// schedule.comp — the step's hyper-parameters, computed on the GPU from a step counter.
//
// A recorded training step is resubmitted for a whole run, and up to three steps are in
// flight, so the host cannot write per-step values into a shared buffer. Instead the first
// dispatch of every step reads the count of completed steps, derives the learning rate
// (linear warmup, then cosine decay to min_factor * base), the 1-based step t, the MoCo
// EMA momentum (cosine ramp from m0 to 1 when ramp is on), and the batch's position in
// the epoch's permutation (and, for streamed data, the ring slot the batch's images were
// copied to), then increments the counter. Single invocation.
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer Counter { uint steps_done; };
layout(std430, binding = 1) writeonly buffer Hyper { float hyper[]; };
layout(std430, binding = 2) writeonly buffer Batch { uint batch_info[]; };
layout(push_constant) uniform Push {
    float base_lr;
    float min_factor;
    float ema_m0;
    uint ema_ramp;
    uint warmup_steps;
    uint total_steps;
    uint steps_per_epoch;
    uint batch;
    uint ring_steps;  // streamed data: batches the staging ring holds (0: data resident)
} pc;

const float PI = 3.14159265358979;

void main() {
    uint s = steps_done;
    float lr;
    if (s < pc.warmup_steps) {
        lr = pc.base_lr * float(s + 1u) / float(pc.warmup_steps);
    } else {
        float span = float(max(pc.total_steps, pc.warmup_steps + 1u) - pc.warmup_steps);
        float progress = min(float(s - pc.warmup_steps) / span, 1.0);
        float cosine = 0.5 * (1.0 + cos(PI * progress));
        lr = pc.base_lr * (pc.min_factor + (1.0 - pc.min_factor) * cosine);
    }
    float m = pc.ema_m0;
    if (pc.ema_ramp != 0u) {
        float progress = min(float(s) / float(max(pc.total_steps, 1u)), 1.0);
        m = 1.0 - (1.0 - pc.ema_m0) * 0.5 * (1.0 + cos(PI * progress));
    }
    hyper[0] = lr;          // VC_HYPER_LR
    hyper[1] = float(s + 1u); // VC_HYPER_STEP (1-based)
    hyper[2] = m;           // VC_HYPER_EMA
    uint spe = max(pc.steps_per_epoch, 1u);
    // the augmentation's step buffer (VcAugmentStep): [0] seed is the host's, then
    batch_info[1] = s / spe;                 // epoch
    batch_info[2] = (s % spe) * pc.batch;    // first index into the epoch's permutation
    if (pc.ring_steps != 0u)                 // slot_base: step k of an epoch is in ring slot k % ring
        batch_info[3] = ((s % spe) % pc.ring_steps) * pc.batch;
    batch_info[5] = s;                       // global step (0-based)
    steps_done = s + 1u;
}
