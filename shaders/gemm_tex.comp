#version 450
// gemm_tex.comp — C = alpha * A B^T + beta * C (+ bias) with A (M, K) and B (N, K) both
// read along K as RGBA32F texels (K a multiple of 4). On lavapipe a texel fetch costs far
// less than a storage-buffer load and reading both operands along K lets every step load
// whole vec4s before its multiply-adds (shared/notes). Each invocation owns a TM x TN tile
// of C (specialization constants); the batch item is the workgroup's z (strides in floats, multiples of 4).
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 4; // rows of C per invocation
layout(constant_id = 2) const uint TN = 4; // columns of C per invocation

layout(binding = 0) uniform samplerBuffer A;
layout(binding = 1) uniform samplerBuffer B;
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
    uint t = min(tile, pc.tiles - 1u);
    uint m0 = (t / pc.tiles_n) * TM, n0 = (t % pc.tiles_n) * TN;
    uint K4 = pc.K / 4u;
    int ao = int(gl_WorkGroupID.z * pc.stride_a / 4u), bo = int(gl_WorkGroupID.z * pc.stride_b / 4u);
    int arow[TM], brow[TN];
    for (uint i = 0; i < TM; i++) arow[i] = ao + int(min(m0 + i, pc.M - 1u) * K4);
    for (uint j = 0; j < TN; j++) brow[j] = bo + int(min(n0 + j, pc.N - 1u) * K4);
    vec4 acc[TM][TN];
    for (uint i = 0; i < TM; i++)
        for (uint j = 0; j < TN; j++) acc[i][j] = vec4(0.0);
    for (int k = 0; k < int(K4); k++) {
        vec4 av[TM], bv[TN];
        for (uint i = 0; i < TM; i++) av[i] = texelFetch(A, arow[i] + k);
        for (uint j = 0; j < TN; j++) bv[j] = texelFetch(B, brow[j] + k);
        for (uint i = 0; i < TM; i++)
            for (uint j = 0; j < TN; j++) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
    if (tile >= pc.tiles) return;
    uint co = gl_WorkGroupID.z * pc.stride_c;
    for (uint i = 0; i < TM; i++) {
        uint m = m0 + i;
        for (uint j = 0; j < TN; j++) {
            uint n = n0 + j;
            if (m < pc.M && n < pc.N) {
                uint idx = co + m * pc.N + n;
                vec4 a4 = acc[i][j];
                float v = pc.alpha * ((a4.x + a4.y) + (a4.z + a4.w));
                if (pc.beta != 0.0) v += pc.beta * c[idx];
                if (pc.has_bias != 0u) v += bias[n];
                c[idx] = v;
            }
        }
    }
}
