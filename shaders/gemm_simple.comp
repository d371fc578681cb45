#version 450
// gemm_simple.comp — the readable GEMM: one invocation per output element, any shape and
// any transposes. It is the kernel the faster ones are checked against, and the
// fallback for shapes nothing else takes. Semantics: see src/ops/gemm.h.
//
// Grid: x over N, y over M (2-D workgroups, sizes from spec constants 0 and 1), z over the
// batch. Invocations loop when the grid was capped at 65535 groups per dimension.
#include "gemm_common.glsl"

layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const bool TRANS_A = false; // A stored (K, M) instead of (M, K)
layout(constant_id = 3) const bool TRANS_B = false; // B stored (N, K) instead of (K, N)

layout(std430, binding = 0) readonly buffer BufA { float a[]; };
layout(std430, binding = 1) readonly buffer BufB { float b[]; };

void main() {
    uint z = gl_WorkGroupID.z;
    uint a0 = pc.a_off + z * pc.stride_a, b0 = pc.b_off + z * pc.stride_b;
    uint step_m = gl_NumWorkGroups.y * gl_WorkGroupSize.y, step_n = gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    for (uint m = gl_GlobalInvocationID.y; m < pc.M; m += step_m) {
        for (uint n = gl_GlobalInvocationID.x; n < pc.N; n += step_n) {
            float acc = 0.0;
            for (uint k = 0u; k < pc.K; k++) {
                float x = a[a0 + (TRANS_A ? k * pc.M + m : m * pc.lk + k)];
                float y = b[b0 + (TRANS_B ? n * pc.lk + k : k * pc.N + n)];
                acc += x * y;
            }
            gemm_store(z, m, n, acc);
        }
    }
}
