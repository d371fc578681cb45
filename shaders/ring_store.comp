#version 450
// ring_store.comp — ring[slot, i] = src[i] with slot = step mod R, step read from the
// hyper buffer. Lets one recorded step leave its loss in a different host-visible slot
// every time it runs, so the host reads step k's loss later without stalling the GPU.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Ring { float ring[]; };
layout(std430, binding = 1) readonly buffer Src { float src[]; };
layout(std430, binding = 2) readonly buffer Hyper { float hyper[]; };
layout(push_constant) uniform Push { uint n; uint slots; uint step_index; } pc;

void main() {
    uint i = flat_index();
    if (i >= pc.n) return;
    uint slot = uint(hyper[pc.step_index]) % pc.slots;
    ring[slot * pc.n + i] = src[i];
}
