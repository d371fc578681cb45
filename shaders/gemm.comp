#version 450
// gemm.comp — C[z] = alpha * op(A[z]) op(B[z]) + beta * C[z] (+ bias[n]), row-major fp32.
//
// Each invocation owns a TILE x TILE block of C held in registers and walks K once,
// loading TILE values of each operand per step (indices clamped at the edges, stores
// guarded). TILE = 1 is the readable reference kernel. Transposes and the workgroup size
// are specialization constants; the batch item is the workgroup's z.
//! variant gemm_simple -DTILE=1
//! variant gemm_reg4 -DTILE=4
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TRANS_A = 0;
layout(constant_id = 2) const uint TRANS_B = 0;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer C { float c[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
layout(push_constant) uniform Push {
    uint M, N, K;
    uint stride_a, stride_b, stride_c;
    float alpha, beta;
    uint has_bias;
    uint tiles_n;
    uint tiles;
} pc;

void main() {
    uint tile = gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x;
    uint t = min(tile, pc.tiles - 1u); // surplus invocations recompute the last tile, never store
    uint m0 = (t / pc.tiles_n) * TILE, n0 = (t % pc.tiles_n) * TILE;
    uint ao = gl_WorkGroupID.z * pc.stride_a, bo = gl_WorkGroupID.z * pc.stride_b, co = gl_WorkGroupID.z * pc.stride_c;
    uint am[TILE], bn[TILE];
    for (uint i = 0; i < TILE; i++) {
        am[i] = min(m0 + i, pc.M - 1u);
        bn[i] = min(n0 + i, pc.N - 1u);
    }
    float acc[TILE][TILE];
    for (uint i = 0; i < TILE; i++)
        for (uint j = 0; j < TILE; j++) acc[i][j] = 0.0;
    for (uint k = 0; k < pc.K; k++) {
        float av[TILE], bv[TILE];
        for (uint i = 0; i < TILE; i++) av[i] = TRANS_A != 0u ? a[ao + k * pc.M + am[i]] : a[ao + am[i] * pc.K + k];
        for (uint j = 0; j < TILE; j++) bv[j] = TRANS_B != 0u ? b[bo + bn[j] * pc.K + k] : b[bo + k * pc.N + bn[j]];
        for (uint i = 0; i < TILE; i++)
            for (uint j = 0; j < TILE; j++) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    if (tile >= pc.tiles) return;
    for (uint i = 0; i < TILE; i++) {
        uint m = m0 + i;
        for (uint j = 0; j < TILE; j++) {
            uint n = n0 + j;
            if (m < pc.M && n < pc.N) {
                uint idx = co + m * pc.N + n;
                float v = pc.alpha * acc[i][j];
                if (pc.beta != 0.0) v += pc.beta * c[idx];
                if (pc.has_bias != 0u) v += bias[n];
                c[idx] = v;
            }
        }
    }
}
