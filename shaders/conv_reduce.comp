#version 450
// conv_reduce.comp — wgrad, last pass: d_weight[i] += sum over splits s of part[s][i].
// The wgrad GEMM splits its long reduction (batch x pixels) into `splits` partial sums so
// that enough workgroups run in parallel; this folds them without float atomics.
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer Part { float part[]; }; // (splits, n)
layout(std430, binding = 1) buffer DW { float dw[]; };             // (n)

layout(push_constant) uniform Push { uint n, splits; } pc;

void main() {
    uint i = flat_index();
    if (i >= pc.n) return;
    float acc = 0.0;
    for (uint s = 0; s < pc.splits; s++) acc += part[s * pc.n + i];
    dw[i] += acc;
}
