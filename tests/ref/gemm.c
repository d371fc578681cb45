/* gemm.c (reference) — the plain triple loop GEMM the GPU kernels are checked against. */
#include "ref/gemm.h"

void ref_gemm(int M, int N, int K, bool trans_a, bool trans_b, int batch, size_t stride_a, size_t stride_b, size_t stride_c,
              double alpha, double beta, const float *a, const float *b, double *c, const float *bias) {
    if (batch < 1) batch = 1;
    for (int z = 0; z < batch; z++) {
        const float *az = a + z * stride_a, *bz = b + z * stride_b;
        double *cz = c + z * stride_c;
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double acc = 0;
                for (int k = 0; k < K; k++) {
                    double x = trans_a ? az[(size_t)k * M + m] : az[(size_t)m * K + k];
                    double y = trans_b ? bz[(size_t)n * K + k] : bz[(size_t)k * N + n];
                    acc += x * y;
                }
                double v = alpha * acc + (beta != 0 ? beta * cz[(size_t)m * N + n] : 0);
                cz[(size_t)m * N + n] = v + (bias ? bias[n] : 0);
            }
    }
}
