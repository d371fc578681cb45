// elementwise.glsl — shared by the elementwise shaders of the norm family (relu, add,
// axpy, scale, avgpool).
//
// Builds: scalar (floats from storage buffers), VEC4 (vec4s, n % 4 == 0) and, where a
// shader offers it, TEX1 (floats read as components of RGBA32F texels, for lengths that
// are multiples of 4 but rows that are not). In VEC4 and TEX1 the tensors an op reads
// come in as RGBA32F uniform texel buffers: on lavapipe texelFetch costs a fraction of a storage
// buffer load (shared/notes/lavapipe-and-gpus.md) and GPUs read them through the
// texture path at full bandwidth. Outputs are always storage buffers; an output that is
// also read (y += ...) is bound twice, once as input and once as output, and every
// element is read and then written by the same invocation only.
#ifndef VC_ELEMENTWISE_GLSL
#define VC_ELEMENTWISE_GLSL

#include "common.glsl"

#if VEC4
#define T vec4
#define TENSOR_IN(bind, name) layout(binding = bind) uniform samplerBuffer name
#define LD(name, i) texelFetch(name, int(i))
#elif TEX1
// floats read as components of RGBA32F texels (the tensor's length is a multiple of 4)
#define T float
#define TENSOR_IN(bind, name) layout(binding = bind) uniform samplerBuffer name
#define LD(name, i) texelFetch(name, int((i) >> 2))[(i) & 3]
#else
#define T float
#define TENSOR_IN(bind, name) layout(std430, binding = bind) readonly buffer Buf_##name { float name[]; }
#define LD(name, i) name[i]
#endif
#define TENSOR_OUT(bind, name) layout(std430, binding = bind) writeonly buffer Buf_##name { T name[]; }

#endif
