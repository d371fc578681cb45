#version 450
// peak_fma.comp — fp32 multiply-add throughput (the vkpeak idea). Every invocation runs
// eight independent vec4 chains x = x*a + b for `iters` rounds: 8 x 4 fma = 64 FLOPs per
// round, with enough independent work per lane to hide the FMA latency. It writes the sum
// of its 32 values so no chain is dead code. a and b are push constants: the compiler
// cannot fold them. Keep iters small (the host caps it at 4096): lavapipe stops an
// invocation silently after 65535 loop iterations.
//
// Start values are multiples of 2^-10 below 2, so with a = 1 and b = 2^-10 every value
// and the sum are exact in fp32 and the result equals the closed form (tests/ref/peak.c).
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer Out { float sums[]; }; // (invocations)
layout(push_constant) uniform Push {
    uint iters; // rounds of the eight chains
    float a, b; // x = x*a + b
} pc;

void main() {
    uint gid = gl_GlobalInvocationID.x;
    vec4 x0 = vec4(float(gid & 255u) * (1.0 / 1024.0)) + vec4(0.0, 1.0, 2.0, 3.0) * (1.0 / 32.0);
    vec4 v0 = x0, v1 = x0 + 0.125, v2 = x0 + 0.25, v3 = x0 + 0.375;
    vec4 v4 = x0 + 0.5, v5 = x0 + 0.625, v6 = x0 + 0.75, v7 = x0 + 0.875;
    vec4 a = vec4(pc.a), b = vec4(pc.b);
    for (uint i = 0u; i < pc.iters; i++) {
        v0 = fma(v0, a, b);
        v1 = fma(v1, a, b);
        v2 = fma(v2, a, b);
        v3 = fma(v3, a, b);
        v4 = fma(v4, a, b);
        v5 = fma(v5, a, b);
        v6 = fma(v6, a, b);
        v7 = fma(v7, a, b);
    }
    vec4 s = ((v0 + v1) + (v2 + v3)) + ((v4 + v5) + (v6 + v7));
    sums[gid] = (s.x + s.y) + (s.z + s.w);
}
