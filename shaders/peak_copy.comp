#version 450
// peak_copy.comp — memory bandwidth: a streaming vec4 copy dst = src. Each invocation
// copies `per_inv` vec4s a grid-stride apart, so consecutive invocations touch consecutive
// 16-byte words (coalesced on GPUs, one contiguous vector load per subgroup on lavapipe).
// Bytes moved: 32 per vec4 (one read, one write). per_inv stays small (the host caps it
// at 64): lavapipe stops an invocation silently after 65535 loop iterations.
// The texel variant reads src through an RGBA32F texel buffer: on lavapipe that load is
// 2-3x cheaper than an SSBO load, and our fast kernels read that way; the host keeps the
// faster of the two as the device's bandwidth.
//
//! variant peak_copy
//! variant peak_copy_texel -DTEXEL=1
layout(local_size_x = 64) in;
layout(std430, binding = 0) writeonly buffer Dst { vec4 dst[]; }; // (n)
#ifdef TEXEL
layout(binding = 1) uniform samplerBuffer src;                    // (n) texels
#define LOAD(i) texelFetch(src, int(i))
#else
layout(std430, binding = 1) readonly buffer Src { vec4 src[]; };  // (n)
#define LOAD(i) src[i]
#endif
layout(push_constant) uniform Push {
    uint n;       // vec4s to copy
    uint per_inv; // vec4s per invocation
} pc;

void main() {
    uint stride = gl_NumWorkGroups.x * 64u;
    for (uint k = 0u; k < pc.per_inv; k++) {
        uint i = gl_GlobalInvocationID.x + k * stride;
        if (i < pc.n) dst[i] = LOAD(i);
    }
}
