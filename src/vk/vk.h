/* vk.h — the Vulkan core: device, memory, pipelines, command recording.
 *
 * Everything above this layer (ops, layers, methods) sees four objects:
 *   VcContext   one logical device with its compute queue, allocator and pipeline cache
 *   VcBuffer    a range of device memory (a value: slices are cheap copies)
 *   VcPipeline  a compute pipeline from embedded SPIR-V + specialization constants
 *   VcCmd       a recorded command buffer: a list of dispatches, resubmittable
 *
 * Design choices, and why:
 * - Memory: a few large VkDeviceMemory blocks, sub-allocated (first fit with coalescing).
 *   On unified-memory devices (lavapipe, integrated GPUs) every block is host-visible
 *   and persistently mapped, so uploads and downloads are memcpy with no staging copy.
 * - Descriptors: each recorded dispatch allocates its set from the VcCmd's pool; a VcCmd
 *   is recorded once and resubmitted, so sets live exactly as long as the recording.
 * - Barriers: a training step is a chain of dependent ops, so vc_dispatch puts one
 *   compute->compute memory barrier before every dispatch that follows another. The
 *   barrier's hand-off is named by the two dispatch labels in the debug label and trace.
 * - Timestamps: when a VcCmd is created with timing on, a timestamp pair surrounds each
 *   dispatch; vc_cmd_timings() reads them back after the command completed.
 */
#ifndef VC_VK_H
#define VC_VK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#include "util.h"

/* Report a failed Vulkan call with the call text, file:line and result name; aborts.
 * Used only for calls whose failure is a bug or a lost device (not for allocation). */
#define VC_CHECK(call)                                                                      \
    do {                                                                                    \
        VkResult vc_r_ = (call);                                                            \
        if (vc_r_ != VK_SUCCESS) vc_vk_fail(#call, __FILE__, __LINE__, vc_r_);              \
    } while (0)
_Noreturn void vc_vk_fail(const char *call, const char *file, int line, VkResult r);
const char *vc_vk_result_name(VkResult r);

/* ---- device description (what `vkcontrast devices` prints) ---- */
typedef struct VcDeviceInfo {
    int index;
    char name[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    char driver[VK_MAX_DRIVER_NAME_SIZE + VK_MAX_DRIVER_INFO_SIZE + 4];
    const char *type; /* "discrete", "integrated", "virtual", "cpu", "other" */
    uint32_t vendor_id, device_id, api_version;
    const char *vendor; /* "NVIDIA", "AMD", "Intel", "Apple", "Mesa/llvmpipe", ... */
    uint8_t uuid[VK_UUID_SIZE];
    int heap_count;
    uint64_t heap_size[VK_MAX_MEMORY_HEAPS];
    bool heap_device_local[VK_MAX_MEMORY_HEAPS];
    bool unified_memory; /* a memory type is both device-local and host-visible */
    uint32_t subgroup_size;
    bool subgroup_arithmetic; /* subgroupAdd & co. in compute shaders (KHR_shader_subgroup_arithmetic) */
    uint32_t shared_memory; /* maxComputeSharedMemorySize */
    uint32_t max_workgroup_invocations;
    uint64_t max_storage_buffer_range;
    uint32_t max_texel_buffer_elements; /* texels one uniform texel buffer view may hold */
    uint64_t max_allocation_size;
    bool fp16, int8, storage8, storage16, coop_matrix;
    bool timestamps;    /* compute queue has timestampValidBits > 0 */
    uint32_t timestamp_valid_bits;
    float timestamp_period_ns;
} VcDeviceInfo;

/* List every Vulkan device; returns the count (0 with an error set when Vulkan is missing). */
int vc_devices_list(VcDeviceInfo *out, int max);

/* ---- context ---- */
typedef struct VcContextOptions {
    const char *device;  /* index or name substring; NULL: $VKCONTRAST_DEVICE, then by type */
    int validation;      /* 1 on, 0 off, -1: $VKCONTRAST_VALIDATION */
    int pipeline_cache;  /* 1: load/save the on-disk pipeline cache (default in CLI) */
} VcContextOptions;

typedef struct VcContext VcContext;

VcContext *vc_context_new(const VcContextOptions *opt); /* NULL + error on failure */
void vc_context_free(VcContext *ctx);
const VcDeviceInfo *vc_context_info(const VcContext *ctx);
/* Number of validation messages (warnings or errors) seen so far. */
int vc_context_validation_messages(const VcContext *ctx);
/* Validation messages seen by any context of this process, including at destruction. */
int vc_validation_message_total(void);
/* Device class used to pick kernel variants: CPU-like (lavapipe/swiftshader) or GPU. */
bool vc_context_is_cpu(const VcContext *ctx);

/* ---- buffers ---- */
typedef struct VcBlock VcBlock;
typedef struct VcBuffer {
    VkBuffer buf;        /* the block's VkBuffer */
    VkDeviceSize offset; /* byte offset of this range inside buf */
    VkDeviceSize size;   /* bytes */
    uint8_t *mapped;     /* host pointer to offset, or NULL when not host-visible */
    VcBlock *block;      /* owning block (NULL for slices, which own nothing) */
} VcBuffer;

/* Allocate `bytes` of device memory (zeroed). Returns VC_OK or VC_ERR_OOM with a message
 * naming the size, heap and heap size; *out untouched on failure. */
int vc_buffer_alloc(VcContext *ctx, size_t bytes, const char *what, VcBuffer *out);
/* Like vc_buffer_alloc, but always host-visible and mapped (b.mapped != NULL): for small
 * data the host writes or reads every step (learning rate, loss slots) without copies. */
int vc_buffer_alloc_mapped(VcContext *ctx, size_t bytes, const char *what, VcBuffer *out);
void vc_buffer_free(VcContext *ctx, VcBuffer *b);
/* A sub-range [offset, offset+bytes) of b sharing its memory. */
VcBuffer vc_buffer_slice(VcBuffer b, size_t offset, size_t bytes);
/* Host <-> device copies (blocking). On unified memory these are memcpy. */
void vc_buffer_upload(VcContext *ctx, VcBuffer b, size_t offset, const void *src, size_t bytes);
void vc_buffer_download(VcContext *ctx, VcBuffer b, size_t offset, void *dst, size_t bytes);
/* Bytes currently allocated / peak, for bench and profile. */
size_t vc_memory_in_use(const VcContext *ctx);
size_t vc_memory_peak(const VcContext *ctx);

/* ---- pipelines ---- */
/* Binding kinds of a pipeline's descriptor set 0, one char per binding, in order:
 *   's' storage buffer, 't' uniform texel buffer read as RGBA32F (vec4). */
typedef struct VcPipelineDesc {
    const char *shader;     /* embedded shader name (file name or variant, no extension) */
    const char *bindings;   /* e.g. "sss" */
    uint32_t push_size;     /* bytes of the push-constant block (<= 128) */
    uint32_t spec[16];      /* specialization constants, ids 0..spec_count-1 */
    uint32_t spec_count;
} VcPipelineDesc;

typedef struct VcPipeline VcPipeline;
/* Get (create once, then cached in the context) the pipeline for this description. */
VcPipeline *vc_pipeline_get(VcContext *ctx, const VcPipelineDesc *desc);

/* Embedded SPIR-V lookup (generated at build time from shaders/). */
typedef struct VcShaderBlob {
    const char *name;
    const uint32_t *code;
    size_t size; /* bytes */
} VcShaderBlob;
const VcShaderBlob *vc_shader_find(const char *name);
extern const VcShaderBlob vc_shader_blobs[];
extern const size_t vc_shader_blob_count;

/* ---- command recording ---- */
typedef struct VcCmd VcCmd;
typedef struct VcTiming {
    const char *label; /* op name given at dispatch, e.g. "gemm" */
    const char *group; /* layer/group name set by vc_cmd_group, or NULL */
    double ms;         /* GPU time between the timestamps around the dispatch */
    double flops, bytes; /* the op's own counts, for GFLOP/s and GB/s */
    double start_ms;   /* start, relative to the first dispatch's start in the submission */
    uint32_t groups[3]; /* workgroups dispatched (x, y, z) */
    const char *shape; /* operand shapes of the op that recorded it (vc_cmd_op_begin), or NULL */
} VcTiming;

/* Ticks from timestamp t0 to t1 of a queue with `valid_bits` timestampValidBits: bits above
 * them are ignored and the difference is taken modulo 2^valid_bits (one wrap-around). */
static inline uint64_t vc_timestamp_ticks(uint64_t t0, uint64_t t1, uint32_t valid_bits) {
    uint64_t mask = valid_bits >= 64 ? ~0ull : (1ull << valid_bits) - 1;
    return ((t1 & mask) - (t0 & mask)) & mask;
}

VcCmd *vc_cmd_new(VcContext *ctx, bool timing);
void vc_cmd_free(VcCmd *cmd);
/* Record one dispatch. `bufs` are bound to set 0 in the pipeline's binding order. The
 * label names the op in timings and traces; flops/bytes are its work counts (0 if unknown). */
void vc_dispatch(VcCmd *cmd, VcPipeline *p, const VcBuffer *bufs, int nbufs, const void *push,
                 uint32_t groups_x, uint32_t groups_y, uint32_t groups_z, const char *label,
                 double flops, double bytes);
/* Name the layer/group that following dispatches belong to (NULL to clear). */
void vc_cmd_group(VcCmd *cmd, const char *group);
/* An op's recording scope: between begin and end every dispatch and transfer carries the
 * printf-formatted operand shapes (timings and traces show them, e.g. "x 256x32x28x28 ...").
 * Scopes nest (an op built from other ops); the outermost one names the dispatches. Every
 * begin needs its end before vc_cmd_end. */
void vc_cmd_op_begin(VcCmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vc_cmd_op_end(VcCmd *cmd);
/* A device buffer owned by the recording (freed by vc_cmd_free): for what an op's
 * dispatches need besides their operands, e.g. a table of parameter offsets or partial
 * sums. Filled with `bytes` from data (zeroed when data is NULL) before returning.
 * VC_OK, or VC_ERR_OOM with the message set and *out untouched. */
int vc_cmd_buffer(VcCmd *cmd, size_t bytes, const void *data, const char *what, VcBuffer *out);
/* Copy bytes between buffers inside the recording (a transfer, also barriered; timed like
 * a dispatch, label "copy"). */
void vc_cmd_copy(VcCmd *cmd, VcBuffer src, VcBuffer dst, size_t bytes);
/* Fill the first `bytes` (a multiple of 4) of dst with the 32-bit word (vkCmdFillBuffer: a
 * transfer, barriered and timed like a dispatch, label "fill_buffer"). For floats pass the
 * bit pattern; 0 is 0.0f. */
void vc_cmd_fill(VcCmd *cmd, VcBuffer dst, size_t bytes, uint32_t word);
/* Close the recording; after this it can be submitted any number of times. */
void vc_cmd_end(VcCmd *cmd);
/* Submit (ends the recording if still open). Does not wait. */
void vc_cmd_submit(VcCmd *cmd);
/* Wait for the last submission to complete. */
void vc_cmd_wait(VcCmd *cmd);
/* Submit and wait. */
void vc_cmd_run(VcCmd *cmd);
/* Timings of the last completed submission (count = number of dispatches and transfers, in
 * recording order), or NULL when the
 * command was made without timing or the device has no timestamps on its compute queue. */
const VcTiming *vc_cmd_timings(VcCmd *cmd, int *count);
int vc_cmd_dispatch_count(const VcCmd *cmd);
VcContext *vc_cmd_context(const VcCmd *cmd);

#endif
