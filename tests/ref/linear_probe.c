/* ref/linear_probe.c — reference linear probe (see ref/linear_probe.h). */
#include "ref/linear_probe.h"

#include <math.h>
#include <string.h>

#include "util.h"

/* x (n, D) -> (x - mean) / sqrt(var + eps), mean and biased variance of the train rows;
 * the test rows use the unbiased variance (BatchNorm's running estimate). */
static void standardize(const float *train, int ntrain, const float *test, int ntest, int D, double *xtr, double *xte) {
    for (int d = 0; d < D; d++) {
        double m = 0, v = 0;
        for (int i = 0; i < ntrain; i++) m += train[(size_t)i * D + d];
        m /= ntrain;
        for (int i = 0; i < ntrain; i++) v += (train[(size_t)i * D + d] - m) * (train[(size_t)i * D + d] - m);
        v /= ntrain;
        double unbiased = ntrain > 1 ? v * ntrain / (ntrain - 1) : v;
        for (int i = 0; i < ntrain; i++) xtr[(size_t)i * D + d] = (train[(size_t)i * D + d] - m) / sqrt(v + VC_LINEAR_PROBE_EPS);
        for (int i = 0; i < ntest; i++)
            xte[(size_t)i * D + d] = (test[(size_t)i * D + d] - m) / sqrt(unbiased + VC_LINEAR_PROBE_EPS);
    }
}

static void logits_of(const double *x, const double *w, const double *b, int D, int C, double *z) {
    for (int c = 0; c < C; c++) {
        double s = b[c];
        for (int d = 0; d < D; d++) s += x[d] * w[(size_t)c * D + d];
        z[c] = s;
    }
}

static double accuracy(const double *x, const int32_t *labels, int n, const double *w, const double *b, int D, int C) {
    double *z = vc_malloc(sizeof(double) * (size_t)C);
    long hits = 0;
    for (int i = 0; i < n; i++) {
        logits_of(x + (size_t)i * D, w, b, D, C, z);
        int best = 0;
        for (int c = 1; c < C; c++)
            if (z[c] > z[best]) best = c;
        hits += best == labels[i];
    }
    free(z);
    return (double)hits / n;
}

void ref_linear_probe(const float *train, const int32_t *train_labels, int ntrain, const float *test,
                      const int32_t *test_labels, int ntest, int D, int C, const VcLinearProbeConfig *cfg,
                      RefLinearProbe *out, float *weights) {
    size_t nw = (size_t)C * D;
    double *xtr = vc_malloc(sizeof(double) * (size_t)ntrain * D), *xte = vc_malloc(sizeof(double) * (size_t)ntest * D);
    standardize(train, ntrain, test, ntest, D, xtr, xte);
    float *w0 = vc_malloc(sizeof(float) * (nw + C));
    vc_linear_probe_init(w0, w0 + nw, C, D, cfg->seed);
    /* W and b in one array (W then b), with their gradient and momentum */
    double *w = vc_calloc(nw + C, sizeof(double)), *g = vc_calloc(nw + C, sizeof(double)), *buf = vc_calloc(nw + C, sizeof(double));
    for (size_t i = 0; i < nw + C; i++) w[i] = w0[i];
    double *z = vc_malloc(sizeof(double) * (size_t)C);
    int32_t *perm = vc_malloc(sizeof(int32_t) * (size_t)ntrain);
    int B = VC_MIN(cfg->batch, ntrain), steps = (ntrain + B - 1) / B;
    long total = (long)cfg->epochs * steps;
    double base = (double)cfg->lr * cfg->batch / 256.0, loss = 0;
    for (int e = 0; e < cfg->epochs; e++) {
        vc_linear_probe_order(perm, ntrain, cfg->seed, e);
        loss = 0;
        for (int s = 0; s < steps; s++) {
            int first = s * B, rows = VC_MIN(B, ntrain - first);
            memset(g, 0, sizeof(double) * (nw + C));
            double step_loss = 0;
            for (int r = 0; r < rows; r++) {
                const double *x = xtr + (size_t)perm[first + r] * D;
                int y = train_labels[perm[first + r]];
                logits_of(x, w, w + nw, D, C, z);
                double mx = z[0], sum = 0;
                for (int c = 1; c < C; c++) mx = fmax(mx, z[c]);
                for (int c = 0; c < C; c++) sum += exp(z[c] - mx);
                step_loss += log(sum) + mx - z[y];
                /* d loss_mean / d z = (softmax - onehot) / rows */
                for (int c = 0; c < C; c++) {
                    double dz = (exp(z[c] - mx) / sum - (c == y)) / rows;
                    for (int d = 0; d < D; d++) g[(size_t)c * D + d] += dz * x[d];
                    g[nw + c] += dz;
                }
            }
            loss += step_loss / rows;
            /* SGD with momentum (torch.optim.SGD): d = g + wd w; buf = m buf + d; w -= lr buf */
            long t = (long)e * steps + s;
            double lr = base * 0.5 * (1.0 + cos(M_PI * (double)t / (double)total));
            for (size_t i = 0; i < nw + C; i++) {
                double d = g[i] + cfg->weight_decay * w[i];
                buf[i] = cfg->momentum * buf[i] + d;
                w[i] -= lr * buf[i];
            }
        }
        loss /= steps;
    }
    out->loss = loss;
    out->train_top1 = accuracy(xtr, train_labels, ntrain, w, w + nw, D, C);
    out->test_top1 = accuracy(xte, test_labels, ntest, w, w + nw, D, C);
    if (weights)
        for (size_t i = 0; i < nw + C; i++) weights[i] = (float)w[i];
    free(xtr), free(xte), free(w0), free(w), free(g), free(buf), free(z), free(perm);
}
