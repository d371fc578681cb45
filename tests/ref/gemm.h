/* gemm.h (reference) — C = alpha op(A) op(B) + beta C (+ bias), in double, batched. */
#ifndef VC_REF_GEMM_H
#define VC_REF_GEMM_H

#include <stdbool.h>
#include <stddef.h>

void ref_gemm(int M, int N, int K, bool trans_a, bool trans_b, int batch, size_t stride_a, size_t stride_b, size_t stride_c,
              double alpha, double beta, const float *a, const float *b, double *c, const float *bias);

#endif
