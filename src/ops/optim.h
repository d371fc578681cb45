/* optim.h — optimizers (SGD, LARS, AdamW) and the MoCo EMA, as shaders over parameters.
 *
 * The learning rate (and for EMA the momentum) is read on the GPU from a small `hyper`
 * buffer the host writes before each submission, so one recorded step serves a whole
 * schedule. hyper layout (floats): [0] lr, [1] step count t (1-based, for Adam's bias
 * correction), [2] EMA momentum m.
 *
 * Update rules (all as PyTorch computes them; d is the direction, lr = hyper[0]):
 *   SGD    d = g + wd*w (wd = 0 for no_decay); buf = momentum*buf + d;
 *          d = nesterov ? d + momentum*buf : buf; w -= lr*d   (torch.optim.SGD, dampening 0)
 *   LARS   adapted params: d = g + wd*w, r = eta*||w||/||d|| (1 when either norm is 0),
 *          d = r*d, then the SGD momentum step; no_decay params: plain SGD momentum step
 *          (SimCLR's LARS; the learning rate stays outside the momentum buffer, as in
 *          solo-learn/lightly, so a schedule changes the whole step at once)
 *   AdamW  w *= 1 - lr*wd; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 *          w -= (lr / (1-b1^t)) * m / (sqrt(v) / sqrt(1-b2^t) + eps)   (torch.optim.AdamW)
 *   EMA    target = m*target + (1-m)*source
 *
 * Dispatches: the parameters are cut into tiles of a few thousand floats, one workgroup
 * per tile, described by a small table the recording owns (vc_cmd_buffer). Parameters
 * whose buffers share VkBuffers (separate allocations from one memory block, or slices
 * of one arena) are bound once as covering windows, so a whole model is one dispatch
 * (SGD, AdamW) or two (LARS: per-tile partial norms, then the update, which sums its
 * parameter's partials). Parameters in other VkBuffers start another dispatch.
 */
#ifndef VC_OPS_OPTIM_H
#define VC_OPS_OPTIM_H

#include "vk/vk.h"

enum { VC_HYPER_LR = 0, VC_HYPER_STEP = 1, VC_HYPER_EMA = 2, VC_HYPER_COUNT = 8 };

typedef enum { VC_OPTIM_SGD, VC_OPTIM_LARS, VC_OPTIM_ADAMW } VcOptimKind;

typedef struct VcOptimConfig {
    VcOptimKind kind;
    float momentum;      /* SGD/LARS, e.g. 0.9 */
    float weight_decay;  /* SGD: L2 added to the gradient (PyTorch SGD); AdamW: decoupled */
    bool nesterov;       /* SGD */
    float trust_coef;    /* LARS eta, e.g. 0.001 */
    float beta1, beta2, eps; /* AdamW */
} VcOptimConfig;

/* One parameter tensor: weights, gradient and its state slots (allocated by the caller,
 * zero-initialised; SGD/LARS use state[0] (momentum), AdamW state[0] and state[1]). */
typedef struct VcParam {
    const char *name;
    VcBuffer w, g, state[2];
    size_t n;
    bool no_decay; /* biases and norm parameters: no weight decay, no LARS adaptation */
} VcParam;

/* Number of state slots the optimizer keeps per parameter. */
int vc_optim_state_slots(VcOptimKind kind);
/* Record one update of every parameter. */
void vc_optim_step(VcCmd *cmd, const VcOptimConfig *cfg, const VcParam *params, int count, VcBuffer hyper);

/* For tests: cap the bytes one bound window may span (default: the device's storage
 * buffer range), to exercise the splitting of a parameter list into several dispatches.
 * 0 restores the default. */
void vc_optim_set_window_limit(size_t bytes);

/* target = m * target + (1 - m) * source over n floats, m = hyper[VC_HYPER_EMA]. */
void vc_ema(VcCmd *cmd, size_t n, VcBuffer target, VcBuffer source, VcBuffer hyper);

#endif
