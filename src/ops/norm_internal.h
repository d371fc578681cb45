/* norm_internal.h — what batchnorm.c, elementwise.c and pool.c share (not public). */
#ifndef VC_OPS_NORM_INTERNAL_H
#define VC_OPS_NORM_INTERNAL_H

#include "vk/vk.h"

/* The largest minTexelBufferOffsetAlignment Vulkan allows: a buffer whose offset is a
 * multiple of it can be bound as a texel buffer on any device (allocations are). */
#define VC_NORM_TEXEL_ALIGN 256u

/* Texel views are kept to this many RGBA32F texels (1 GiB): maxTexelBufferElements is
 * not in VcDeviceInfo, and desktop drivers report 2^27 and up. */
#define VC_NORM_MAX_TEXELS ((size_t)1 << 26)

/* Floats per dispatch for ops that split long tensors: a power of two that fits the
 * device's maxStorageBufferRange (2^25 on lavapipe) and any texel buffer. */
size_t vc_norm_chunk_floats(VcContext *ctx);
/* Every buffer may be bound as a texel buffer (offset alignment). */
bool vc_norm_texel_ok(const VcBuffer *bufs, int nbufs);

#endif
