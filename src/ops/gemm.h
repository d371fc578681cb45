/* gemm.h — general matrix multiply, the workhorse of linear layers and the similarity matrix.
 *
 *   C[b] = alpha * op(A[b]) · op(B[b]) + beta * C[b]  (+ bias[n] on every row when bias given)
 *
 * All matrices are row-major fp32. op(A) is M x K: A is stored (M, K), or (K, M) when
 * trans_a. op(B) is K x N: B is stored (K, N), or (N, K) when trans_b. C is (M, N).
 * beta = 1 accumulates (gradients use +=). Batched: item b starts stride_* elements after
 * item b-1; stride_a or stride_b may be 0 (one A or B for every item), stride_c >= M*N. Kernel variants are picked per device class at pipeline creation (texel-buffer
 * register blocking on CPU devices, shared-memory tiles on GPUs); every variant is tested.
 */
#ifndef VC_OPS_GEMM_H
#define VC_OPS_GEMM_H

#include "vk/vk.h"

typedef struct VcGemmShape {
    int M, N, K;
    bool trans_a, trans_b;
    int batch;                              /* 0 or 1: not batched */
    size_t stride_a, stride_b, stride_c;    /* elements between batch items */
    float alpha, beta;                      /* alpha 0 is read as 1 */
} VcGemmShape;

/* a: A, b: B, c: C as above; bias: (N) or NULL. */
void vc_gemm(VcCmd *cmd, const VcGemmShape *s, VcBuffer a, VcBuffer b, VcBuffer c, const VcBuffer *bias);

/* Kernel variants, for tests and benchmarks; VC_GEMM_AUTO picks by device class. */
typedef enum { VC_GEMM_AUTO = 0, VC_GEMM_SIMPLE, VC_GEMM_TEXEL, VC_GEMM_TILED, VC_GEMM_VARIANT_COUNT } VcGemmVariant;
void vc_gemm_force_variant(VcGemmVariant v);
const char *vc_gemm_variant_name(VcGemmVariant v);

/* Name of the shader vc_gemm would run for this call on this device under the current
 * variant choice ("gemm_simple", "gemm_reg_tex", "gemm_reg_ssbo", "gemm_tiled"), for
 * benchmarks and tests: the TEXEL variant reads texel buffers only when the layout allows. */
const char *vc_gemm_kernel(VcContext *ctx, const VcGemmShape *s, VcBuffer a, VcBuffer b);

/* FLOPs of one call (2*M*N*K per batch item), for profiles and benchmarks. */
double vc_gemm_flops(const VcGemmShape *s);

#endif
