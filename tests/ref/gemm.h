/* ref/gemm.h — plain C references for GEMM and the linear layer built on it (double). */
#ifndef VC_REF_GEMM_H
#define VC_REF_GEMM_H

#include "ops/gemm.h"

/* The definition of vc_gemm (see src/ops/gemm.h) in double precision. c holds the whole C
 * buffer as double, c[0] being item 0's C[0][0]; only the items' M x N elements change. */
void ref_gemm(const VcGemmShape *s, const float *a, const float *b, const float *bias, double *c);

/* Linear layer, written from its definition (not through GEMM), as the oracle for the GEMM
 * identities layers use.  x (B, in), w (out, in), bias (out) or NULL, y (B, out):
 *   y[b][o] = sum_i x[b][i] w[o][i] + bias[o]                                          */
void ref_linear_forward(int B, int in, int out, const double *x, const double *w, const double *bias, double *y);
/* Given dy = dL/dy (B, out): dx (B, in) = dL/dx (overwritten), dw (out, in) += dL/dw,
 * db (out) += dL/dbias (skipped when NULL). */
void ref_linear_backward(int B, int in, int out, const double *x, const double *w, const double *dy, double *dx,
                         double *dw, double *db);

#endif
