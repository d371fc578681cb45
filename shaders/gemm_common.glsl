// gemm_common.glsl — what every GEMM kernel shares: the push constants (mirrored by
// GemmPush in src/ops/gemm.c), the C and bias bindings, and the epilogue that writes one
// output element.
//
// Bindings of every GEMM kernel: 0 A, 1 B (storage or texel buffers, per kernel),
// 2 C (storage, read-write), 3 bias (storage; bound to C when there is no bias).
// Offsets are in elements from the start of each bound range: the host binds ranges
// aligned down to 256 bytes (the largest offset alignment Vulkan allows), so slices at any
// float offset work. Batch item z (gl_WorkGroupID.z) starts z * stride_* elements later.
#ifndef VC_GEMM_COMMON_GLSL
#define VC_GEMM_COMMON_GLSL

layout(push_constant) uniform Push {
    uint M, N, K;
    uint a_off, b_off, c_off, bias_off;
    uint stride_a, stride_b, stride_c;
    float alpha, beta;
    uint flags; // 1: add bias; 2: C may be written as vec4 (gemm_reg only)
    uint lk;    // row length of K-contiguous operands (A (M, K), B (N, K)); K <= lk when
                // the host runs K in chunks (lavapipe's loop limit), else lk = K
} pc;

layout(std430, binding = 2) buffer BufC { float c[]; };
layout(std430, binding = 3) readonly buffer BufBias { float bias[]; };

// C[z][m][n] = alpha * acc (+ bias[n]) (+ beta * C[z][m][n]). beta = 0 never reads C, so
// C may hold anything (NaN included) before, as in BLAS. The caller checks m < M, n < N.
void gemm_store(uint z, uint m, uint n, float acc) {
    uint i = pc.c_off + z * pc.stride_c + m * pc.N + n;
    float v = pc.alpha * acc;
    if ((pc.flags & 1u) != 0u) v += bias[pc.bias_off + n];
    if (pc.beta != 0.0) v += pc.beta * c[i];
    c[i] = v;
}

#endif
