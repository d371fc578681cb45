// elementwise.glsl — shared by the elementwise shaders of the norm family (relu, add,
// axpy, scale, avgpool).
//
// Two builds of each shader: scalar (one float per invocation, storage buffers) and
// VEC4 (one vec4 per invocation, n % 4 == 0). In VEC4 the tensors an op reads come in
// as RGBA32F uniform texel buffers: on lavapipe texelFetch costs a fraction of a storage
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
#else
#define T float
#define TENSOR_IN(bind, name) layout(std430, binding = bind) readonly buffer Buf_##name { float name[]; }
#define LD(name, i) name[i]
#endif
#define TENSOR_OUT(bind, name) layout(std430, binding = bind) writeonly buffer Buf_##name { T name[]; }

#endif
