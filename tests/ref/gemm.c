/* ref/gemm.c — the readable specification of vc_gemm and of the linear layer's gradients.
 * Straight loops in double precision; tests compare the GPU kernels against these. */
#include "ref/gemm.h"

void ref_gemm(const VcGemmShape *s, const float *a, const float *b, const float *bias, double *c) {
    int batch = s->batch > 1 ? s->batch : 1;
    double alpha = s->alpha == 0.0f ? 1.0 : s->alpha, beta = s->beta;
    for (int z = 0; z < batch; z++) {
        const float *A = a + z * s->stride_a, *B = b + z * s->stride_b;
        double *C = c + z * s->stride_c;
        for (int m = 0; m < s->M; m++) {
            for (int n = 0; n < s->N; n++) {
                double acc = 0;
                for (int k = 0; k < s->K; k++) {
                    double x = s->trans_a ? A[(size_t)k * s->M + m] : A[(size_t)m * s->K + k]; /* op(A)[m][k] */
                    double y = s->trans_b ? B[(size_t)n * s->K + k] : B[(size_t)k * s->N + n]; /* op(B)[k][n] */
                    acc += x * y;
                }
                double *out = &C[(size_t)m * s->N + n];
                /* beta = 0 ignores the old C entirely (it may be NaN) */
                *out = alpha * acc + (bias ? bias[n] : 0.0) + (beta != 0.0 ? beta * *out : 0.0);
            }
        }
    }
}

void ref_linear_forward(int B, int in, int out, const double *x, const double *w, const double *bias, double *y) {
    for (int b = 0; b < B; b++)
        for (int o = 0; o < out; o++) {
            double acc = bias ? bias[o] : 0.0;
            for (int i = 0; i < in; i++) acc += x[b * in + i] * w[o * in + i];
            y[b * out + o] = acc;
        }
}

/* dL/dx[b][i] = sum_o dy[b][o] * w[o][i]   (y depends on x[b][i] through every output o)
 * dL/dw[o][i] = sum_b dy[b][o] * x[b][i]   (w[o][i] is used by every batch row)
 * dL/db[o]    = sum_b dy[b][o] */
void ref_linear_backward(int B, int in, int out, const double *x, const double *w, const double *dy, double *dx,
                         double *dw, double *db) {
    for (int b = 0; b < B; b++)
        for (int i = 0; i < in; i++) {
            double acc = 0;
            for (int o = 0; o < out; o++) acc += dy[b * out + o] * w[o * in + i];
            dx[b * in + i] = acc;
        }
    for (int o = 0; o < out; o++) {
        for (int i = 0; i < in; i++) {
            double acc = 0;
            for (int b = 0; b < B; b++) acc += dy[b * out + o] * x[b * in + i];
            dw[o * in + i] += acc;
        }
        if (db) {
            double acc = 0;
            for (int b = 0; b < B; b++) acc += dy[b * out + o];
            db[o] += acc;
        }
    }
}
