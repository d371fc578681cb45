/* ref/norm.c — double-precision references for batchnorm, relu, add, axpy, scale and
 * global average pooling (see ref/norm.h). Written for reading, not for speed. */
#include "ref/norm.h"

#include <math.h>
#include <stdlib.h>

/* x[b, c, j] of a (B, C, HW) tensor */
#define AT(p, b, c, j) (p)[((size_t)(b) * (size_t)C + (size_t)(c)) * (size_t)HW + (size_t)(j)]

void ref_batchnorm_forward(int B, int C, int HW, double *out, const double *x, const double *gamma, const double *beta,
                           double *running_mean, double *running_var, double *save_mean, double *save_invstd,
                           bool training, double momentum, double eps) {
    double n = (double)B * HW;
    for (int c = 0; c < C; c++) {
        double mean, var;
        if (training) {
            /* two-pass: the mean, then the mean squared deviation (biased variance) */
            double s = 0;
            for (int b = 0; b < B; b++)
                for (int j = 0; j < HW; j++) s += AT(x, b, c, j);
            mean = s / n;
            double ss = 0;
            for (int b = 0; b < B; b++)
                for (int j = 0; j < HW; j++) ss += (AT(x, b, c, j) - mean) * (AT(x, b, c, j) - mean);
            var = ss / n;
            double unbiased = n > 1 ? var * n / (n - 1) : var;
            save_mean[c] = mean;
            save_invstd[c] = 1.0 / sqrt(var + eps);
            running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean;
            running_var[c] = (1 - momentum) * running_var[c] + momentum * unbiased;
        } else {
            mean = running_mean[c];
            var = running_var[c];
        }
        double invstd = 1.0 / sqrt(var + eps);
        for (int b = 0; b < B; b++)
            for (int j = 0; j < HW; j++) AT(out, b, c, j) = (AT(x, b, c, j) - mean) * invstd * gamma[c] + beta[c];
    }
}

/* With xhat = (x - mean) invstd and y = gamma xhat + beta, where mean and invstd depend
 * on every x of the channel:
 *   d_beta = sum dy,  d_gamma = sum dy xhat,
 *   d_x = gamma invstd / n (n dy - sum dy - xhat sum(dy xhat)). */
void ref_batchnorm_backward(int B, int C, int HW, double *d_x, double *d_gamma, double *d_beta, const double *d_out,
                            const double *x, const double *gamma, const double *save_mean, const double *save_invstd) {
    double n = (double)B * HW;
    for (int c = 0; c < C; c++) {
        double sdy = 0, sdyxh = 0;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < HW; j++) {
                double xh = (AT(x, b, c, j) - save_mean[c]) * save_invstd[c];
                sdy += AT(d_out, b, c, j);
                sdyxh += AT(d_out, b, c, j) * xh;
            }
        d_beta[c] += sdy;
        d_gamma[c] += sdyxh;
        for (int b = 0; b < B; b++)
            for (int j = 0; j < HW; j++) {
                double xh = (AT(x, b, c, j) - save_mean[c]) * save_invstd[c];
                AT(d_x, b, c, j) += gamma[c] * save_invstd[c] / n * (n * AT(d_out, b, c, j) - sdy - xh * sdyxh);
            }
    }
}

void ref_relu_forward(size_t n, double *out, const double *x) {
    for (size_t i = 0; i < n; i++) out[i] = x[i] > 0 ? x[i] : 0;
}

void ref_relu_backward(size_t n, double *d_x, const double *d_out, const double *out) {
    for (size_t i = 0; i < n; i++) d_x[i] += out[i] > 0 ? d_out[i] : 0;
}

void ref_add(size_t n, double *out, const double *a, const double *b) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

void ref_axpy(size_t n, double *y, double alpha, const double *x) {
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

void ref_scale(size_t n, double *x, double alpha) {
    for (size_t i = 0; i < n; i++) x[i] *= alpha;
}

void ref_avgpool_forward(int B, int C, int HW, double *out, const double *x) {
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int j = 0; j < HW; j++) s += AT(x, b, c, j);
            out[(size_t)b * C + c] = s / HW;
        }
}

void ref_avgpool_backward(int B, int C, int HW, double *d_x, const double *d_out) {
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int j = 0; j < HW; j++) AT(d_x, b, c, j) += d_out[(size_t)b * C + c] / HW;
}

/* ---- grouped BatchNorm: plain BatchNorm on each group's samples ---- */

int ref_bn_group_member(int B, int groups, int views, bool interleave, int g, int i) {
    int gv = groups / views, per_view = B / views, Bg = B / groups;
    int v = g / gv, r = g % gv;
    return v * per_view + (interleave ? r + i * gv : r * Bg + i);
}

/* copy the samples of group g of x (B, C, HW) into / out of xg (Bg, C, HW) */
static void group_copy(int B, int C, int HW, int groups, int views, bool interleave, int g, double *xg, double *x, bool in) {
    size_t s = (size_t)C * HW;
    for (int i = 0; i < B / groups; i++) {
        int b = ref_bn_group_member(B, groups, views, interleave, g, i);
        for (size_t k = 0; k < s; k++) {
            if (in) xg[(size_t)i * s + k] = x[(size_t)b * s + k];
            else x[(size_t)b * s + k] = xg[(size_t)i * s + k];
        }
    }
}

void ref_batchnorm_forward_grouped(int B, int C, int HW, int groups, int views, bool interleave, double *out, const double *x,
                                   const double *gamma, const double *beta, double *running_mean, double *running_var,
                                   double *save_mean, double *save_invstd, double momentum, double eps) {
    int Bg = B / groups;
    size_t ng = (size_t)Bg * C * HW;
    double *xg = malloc(ng * sizeof *xg), *og = malloc(ng * sizeof *og);
    double *rm = malloc((size_t)C * sizeof *rm), *rv = malloc((size_t)C * sizeof *rv);
    double *rm_sum = calloc((size_t)C, sizeof *rm_sum), *rv_sum = calloc((size_t)C, sizeof *rv_sum);
    for (int g = 0; g < groups; g++) {
        group_copy(B, C, HW, groups, views, interleave, g, xg, (double *)x, true);
        for (int c = 0; c < C; c++) rm[c] = running_mean[c], rv[c] = running_var[c];
        ref_batchnorm_forward(Bg, C, HW, og, xg, gamma, beta, rm, rv, save_mean + (size_t)g * C, save_invstd + (size_t)g * C,
                              true, momentum, eps);
        for (int c = 0; c < C; c++) rm_sum[c] += rm[c], rv_sum[c] += rv[c];
        group_copy(B, C, HW, groups, views, interleave, g, og, out, false);
    }
    for (int c = 0; c < C; c++) running_mean[c] = rm_sum[c] / groups, running_var[c] = rv_sum[c] / groups;
    free(xg), free(og), free(rm), free(rv), free(rm_sum), free(rv_sum);
}

void ref_batchnorm_backward_grouped(int B, int C, int HW, int groups, int views, bool interleave, double *d_x, double *d_gamma,
                                    double *d_beta, const double *d_out, const double *x, const double *gamma,
                                    const double *save_mean, const double *save_invstd) {
    int Bg = B / groups;
    size_t ng = (size_t)Bg * C * HW;
    double *xg = malloc(ng * sizeof *xg), *dyg = malloc(ng * sizeof *dyg), *dxg = malloc(ng * sizeof *dxg);
    for (int g = 0; g < groups; g++) {
        group_copy(B, C, HW, groups, views, interleave, g, xg, (double *)x, true);
        group_copy(B, C, HW, groups, views, interleave, g, dyg, (double *)d_out, true);
        group_copy(B, C, HW, groups, views, interleave, g, dxg, d_x, true);
        ref_batchnorm_backward(Bg, C, HW, dxg, d_gamma, d_beta, dyg, xg, gamma, save_mean + (size_t)g * C,
                               save_invstd + (size_t)g * C);
        group_copy(B, C, HW, groups, views, interleave, g, dxg, d_x, false);
    }
    free(xg), free(dyg), free(dxg);
}
