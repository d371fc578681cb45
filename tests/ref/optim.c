/* ref/optim.c — reference optimizers, written as plainly as the formulas in ops/optim.h.
 * Hyper-parameters arrive as the floats the GPU sees, widened to double. */
#include "ref/optim.h"

#include <math.h>

static double norm2(const double *x, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * x[i];
    return sqrt(s);
}

/* SGD momentum step on direction d (already decayed / scaled); buf = state[0]. */
static void sgd_apply(const VcOptimConfig *cfg, RefParam *p, const double *d, double lr) {
    double mom = cfg->momentum;
    for (size_t i = 0; i < p->n; i++) {
        double step = d[i];
        if (mom != 0) {
            double *buf = p->state[0];
            buf[i] = mom * buf[i] + d[i];
            step = cfg->nesterov ? d[i] + mom * buf[i] : buf[i];
        }
        p->w[i] -= lr * step;
    }
}

static void sgd_or_lars(const VcOptimConfig *cfg, RefParam *p, double lr) {
    double wd = p->no_decay ? 0.0 : (double)cfg->weight_decay;
    double *d = malloc(p->n * sizeof(double));
    for (size_t i = 0; i < p->n; i++) d[i] = p->g[i] + wd * p->w[i];
    if (cfg->kind == VC_OPTIM_LARS && !p->no_decay) {
        double wn = norm2(p->w, p->n), dn = norm2(d, p->n);
        double trust = (wn > 0 && dn > 0) ? (double)cfg->trust_coef * wn / dn : 1.0;
        for (size_t i = 0; i < p->n; i++) d[i] *= trust;
    }
    sgd_apply(cfg, p, d, lr);
    free(d);
}

static void adamw(const VcOptimConfig *cfg, RefParam *p, double lr, double t) {
    double b1 = cfg->beta1, b2 = cfg->beta2, eps = cfg->eps;
    double wd = p->no_decay ? 0.0 : (double)cfg->weight_decay;
    double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
    for (size_t i = 0; i < p->n; i++) {
        double g = p->g[i];
        p->w[i] *= 1 - lr * wd; /* decoupled weight decay */
        double *m = &p->state[0][i], *v = &p->state[1][i];
        *m = b1 * *m + (1 - b1) * g;
        *v = b2 * *v + (1 - b2) * g * g;
        double mhat = *m / bc1, vhat = *v / bc2;
        p->w[i] -= lr * mhat / (sqrt(vhat) + eps);
    }
}

void ref_optim_step(const VcOptimConfig *cfg, RefParam *params, int count, double lr, double t) {
    for (int i = 0; i < count; i++) {
        if (cfg->kind == VC_OPTIM_ADAMW) adamw(cfg, &params[i], lr, t);
        else sgd_or_lars(cfg, &params[i], lr);
    }
}

void ref_ema(size_t n, double *target, const double *source, double m) {
    for (size_t i = 0; i < n; i++) target[i] = m * target[i] + (1 - m) * source[i];
}
