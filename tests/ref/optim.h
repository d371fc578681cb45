/* ref/optim.h — plain double-precision reference optimizers (the readable spec of
 * shaders/sgd.comp, lars_norms.comp, adamw.comp and ema.comp). */
#ifndef VC_REF_OPTIM_H
#define VC_REF_OPTIM_H

#include <stdbool.h>
#include <stddef.h>

#include "ops/optim.h"

/* One parameter in double: weights, gradient, state slots (zero-initialised). */
typedef struct RefParam {
    double *w;
    const double *g;
    double *state[2];
    size_t n;
    bool no_decay;
} RefParam;

/* One step of cfg->kind over every parameter with learning rate lr and (AdamW) the
 * 1-based step t; the formulas are those of ops/optim.h. */
void ref_optim_step(const VcOptimConfig *cfg, RefParam *params, int count, double lr, double t);
/* target = m * target + (1 - m) * source. */
void ref_ema(size_t n, double *target, const double *source, double m);

#endif
