/* ref/linear_probe.h — the linear probe of eval/linear_probe.h in plain double precision:
 * the readable spec of what the device runs (standardize, then mini-batch softmax
 * regression with SGD momentum and a cosine learning rate, then arg-max scoring). */
#ifndef VC_REF_LINEAR_PROBE_H
#define VC_REF_LINEAR_PROBE_H

#include <stdint.h>

#include "eval/linear_probe.h"

typedef struct RefLinearProbe {
    double train_top1, test_top1;
    double loss; /* mean step loss of the last epoch */
} RefLinearProbe;

/* Same init (vc_linear_probe_init) and row order (vc_linear_probe_order) as the device run;
 * weights (optional): classes*D + classes floats, W then b after training. */
void ref_linear_probe(const float *train, const int32_t *train_labels, int ntrain, const float *test,
                      const int32_t *test_labels, int ntest, int D, int classes, const VcLinearProbeConfig *cfg,
                      RefLinearProbe *out, float *weights);

#endif
