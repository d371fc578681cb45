/* ref/loss.c — double-precision references for row L2 normalization, softmax
 * cross-entropy and NT-Xent (see ref/loss.h). Written for clarity, not speed: every
 * formula appears once, in the order a reader would derive it. */
#include "ref/loss.h"

#include <math.h>
#include <stdlib.h>

#include "util.h"

void ref_l2norm_forward(int rows, int D, double *out, const double *x, double *norms, double eps) {
    for (int r = 0; r < rows; r++) {
        const double *xr = x + (size_t)r * D;
        double ss = 0;
        for (int k = 0; k < D; k++) ss += xr[k] * xr[k];
        double n = sqrt(ss);
        norms[r] = n;
        for (int k = 0; k < D; k++) out[(size_t)r * D + k] = xr[k] / fmax(n, eps);
    }
}

void ref_l2norm_backward(int rows, int D, double *d_x, const double *d_out, const double *out, const double *norms,
                         double eps) {
    for (int r = 0; r < rows; r++) {
        const double *g = d_out + (size_t)r * D, *y = out + (size_t)r * D;
        double *dx = d_x + (size_t)r * D;
        if (norms[r] > eps) {
            /* y = x/n, dn/dx = y: dy/dx = (I - y y^T) / n, symmetric */
            double dot = 0;
            for (int k = 0; k < D; k++) dot += g[k] * y[k];
            for (int k = 0; k < D; k++) dx[k] += (g[k] - y[k] * dot) / norms[r];
        } else {
            for (int k = 0; k < D; k++) dx[k] += g[k] / eps;
        }
    }
}

double ref_cross_entropy(int rows, int classes, const double *logits, const int32_t *labels, double scale,
                         double *d_logits) {
    double sum = 0;
    for (int r = 0; r < rows; r++) {
        const double *x = logits + (size_t)r * classes;
        double *d = d_logits ? d_logits + (size_t)r * classes : NULL;
        int y = labels[r];
        if (y < 0 || y >= classes) { /* ignored row */
            if (d)
                for (int j = 0; j < classes; j++) d[j] = 0;
            continue;
        }
        double m = x[0];
        for (int j = 1; j < classes; j++) m = fmax(m, x[j]);
        double s = 0;
        for (int j = 0; j < classes; j++) s += exp(x[j] - m);
        double lse = m + log(s);
        sum += lse - x[y];
        if (d)
            for (int j = 0; j < classes; j++) d[j] = (exp(x[j] - lse) - (j == y)) * scale / rows;
    }
    return sum / rows;
}

double ref_ntxent(int N2, int D, double temperature, const double *z, double *dz) {
    VC_ASSERT(N2 >= 2 && N2 % 2 == 0);
    int N = N2 / 2;
    double *G = vc_calloc((size_t)N2 * N2, sizeof(double));
    double sum = 0;
    for (int i = 0; i < N2; i++) {
        int pos = (i + N) % N2;
        double *s = G + (size_t)i * N2; /* row i of S, then of G */
        for (int j = 0; j < N2; j++) {
            double dot = 0;
            for (int k = 0; k < D; k++) dot += z[(size_t)i * D + k] * z[(size_t)j * D + k];
            s[j] = dot / temperature;
        }
        double m = -INFINITY;
        for (int j = 0; j < N2; j++)
            if (j != i) m = fmax(m, s[j]);
        double se = 0;
        for (int j = 0; j < N2; j++)
            if (j != i) se += exp(s[j] - m);
        double lse = m + log(se);
        sum += lse - s[pos];
        /* dL/dS_ij = (P_ij - Y_ij) / N2 and dS_ij/dz = (z_j e_i + z_i e_j) / T */
        for (int j = 0; j < N2; j++) s[j] = j == i ? 0.0 : (exp(s[j] - lse) - (j == pos)) / (N2 * temperature);
    }
    if (dz) {
        for (int i = 0; i < N2; i++)
            for (int k = 0; k < D; k++) {
                double acc = 0;
                for (int j = 0; j < N2; j++) acc += (G[(size_t)i * N2 + j] + G[(size_t)j * N2 + i]) * z[(size_t)j * D + k];
                dz[(size_t)i * D + k] = acc;
            }
    }
    free(G);
    return sum / N2;
}
