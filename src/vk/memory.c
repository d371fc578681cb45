/* memory.c — device memory: a few large blocks, sub-allocated; staging for discrete GPUs.
 *
 * Each block is one VkDeviceMemory with one VkBuffer over all of it (storage, texel and
 * transfer usage), and a VcBuffer is an aligned range of that buffer. Ranges are carved
 * first-fit from a sorted free list that coalesces on free. On unified memory the block
 * is mapped once and host copies are memcpy; otherwise they go through a staging buffer.
 */
#include <string.h>

#include "internal.h"

#define MIB (1024.0 * 1024.0)

static int find_memory_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits, VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < mp->memoryTypeCount; i++)
        if ((bits & (1u << i)) && (mp->memoryTypes[i].propertyFlags & want) == want) return (int)i;
    return -1;
}

static VkBufferUsageFlags block_usage(void) {
    return VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
           VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
}

void vc_memory_init(VcContext *ctx) {
    vkGetPhysicalDeviceMemoryProperties(ctx->phys, &ctx->memprops);
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties(ctx->phys, &p);
    ctx->align = 256;
    ctx->align = VC_MAX(ctx->align, p.limits.minStorageBufferOffsetAlignment);
    ctx->align = VC_MAX(ctx->align, p.limits.minTexelBufferOffsetAlignment);
    ctx->block_size = 256u << 20;
    if (ctx->info.max_allocation_size && ctx->block_size > ctx->info.max_allocation_size)
        ctx->block_size = ctx->info.max_allocation_size;

    /* Probe the memory type bits a block buffer accepts. */
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 4096, .usage = block_usage()};
    VkBuffer probe;
    VC_CHECK(vkCreateBuffer(ctx->device, &bci, NULL, &probe));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx->device, probe, &req);
    vkDestroyBuffer(ctx->device, probe, NULL);

    VkMemoryPropertyFlags unified = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                    VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int t = -1;
    if (ctx->info.unified_memory) t = find_memory_type(&ctx->memprops, req.memoryTypeBits, unified);
    if (t >= 0) {
        ctx->host_visible = true;
    } else {
        t = find_memory_type(&ctx->memprops, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
        if (t < 0) t = find_memory_type(&ctx->memprops, req.memoryTypeBits, 0);
        ctx->host_visible = false;
    }
    VC_ASSERT(t >= 0);
    ctx->mem_type = (uint32_t)t;
    /* host pool: device-local and host-visible (unified memory, resizable BAR) if any */
    int h = find_memory_type(&ctx->memprops, req.memoryTypeBits, unified);
    if (h < 0) h = find_memory_type(&ctx->memprops, req.memoryTypeBits, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    VC_ASSERT(h >= 0);
    ctx->host_mem_type = (uint32_t)h;
}

static void block_destroy(VcContext *ctx, VcBlock *b) {
    vkDestroyBuffer(ctx->device, b->buffer, NULL);
    vkFreeMemory(ctx->device, b->memory, NULL);
    free(b->free_off);
    free(b->free_len);
    free(b);
}

void vc_memory_shutdown(VcContext *ctx) {
    while (ctx->blocks) {
        VcBlock *b = ctx->blocks;
        ctx->blocks = b->next;
        block_destroy(ctx, b);
    }
    if (ctx->staging_buf) {
        vkDestroyBuffer(ctx->device, ctx->staging_buf, NULL);
        vkFreeMemory(ctx->device, ctx->staging_mem, NULL);
    }
}

static void oom_message(VcContext *ctx, size_t bytes, const char *what, VkResult r) {
    uint32_t heap = ctx->memprops.memoryTypes[ctx->mem_type].heapIndex;
    vc_set_error("out of device memory: asked for %.1f MiB for %s on %s, heap %u of %.0f MiB "
                 "(vkcontrast holds %.1f MiB)%s%s; try a smaller --batch or model",
                 bytes / MIB, what ? what : "a buffer", ctx->info.name, heap,
                 ctx->memprops.memoryHeaps[heap].size / MIB, ctx->in_use / MIB, r ? ": " : "",
                 r ? vc_vk_result_name(r) : "");
}

static VcBlock *block_new(VcContext *ctx, VkDeviceSize size, bool host, const char *what, int *status) {
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = size, .usage = block_usage()};
    VcBlock *b = vc_calloc(1, sizeof *b);
    VC_CHECK(vkCreateBuffer(ctx->device, &bci, NULL, &b->buffer));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx->device, b->buffer, &req);
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size,
                               .memoryTypeIndex = host ? ctx->host_mem_type : ctx->mem_type};
    uint32_t heap = ctx->memprops.memoryTypes[ai.memoryTypeIndex].heapIndex;
    VkResult r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    if (ctx->in_use + size <= ctx->memprops.memoryHeaps[heap].size) r = vkAllocateMemory(ctx->device, &ai, NULL, &b->memory);
    if (r != VK_SUCCESS) {
        oom_message(ctx, (size_t)size, what, r == VK_ERROR_OUT_OF_DEVICE_MEMORY ? VK_SUCCESS : r);
        vkDestroyBuffer(ctx->device, b->buffer, NULL);
        free(b);
        *status = VC_ERR_OOM;
        return NULL;
    }
    VC_CHECK(vkBindBufferMemory(ctx->device, b->buffer, b->memory, 0));
    if (ctx->host_visible || host) VC_CHECK(vkMapMemory(ctx->device, b->memory, 0, VK_WHOLE_SIZE, 0, (void **)&b->mapped));
    b->host = host;
    b->size = size;
    b->free_cap = 16;
    b->free_off = vc_malloc(sizeof(VkDeviceSize) * 16);
    b->free_len = vc_malloc(sizeof(VkDeviceSize) * 16);
    b->free_off[0] = 0;
    b->free_len[0] = size;
    b->free_count = 1;
    b->next = ctx->blocks;
    ctx->blocks = b;
    return b;
}

static bool block_take(VcBlock *b, VkDeviceSize size, VkDeviceSize *off) {
    for (int i = 0; i < b->free_count; i++) {
        if (b->free_len[i] < size) continue;
        *off = b->free_off[i];
        b->free_off[i] += size;
        b->free_len[i] -= size;
        if (b->free_len[i] == 0) {
            memmove(&b->free_off[i], &b->free_off[i + 1], sizeof(VkDeviceSize) * (size_t)(b->free_count - i - 1));
            memmove(&b->free_len[i], &b->free_len[i + 1], sizeof(VkDeviceSize) * (size_t)(b->free_count - i - 1));
            b->free_count--;
        }
        return true;
    }
    return false;
}

static void block_give(VcBlock *b, VkDeviceSize off, VkDeviceSize size) {
    int i = 0;
    while (i < b->free_count && b->free_off[i] < off) i++;
    if (b->free_count == b->free_cap) {
        b->free_cap *= 2;
        b->free_off = vc_realloc(b->free_off, sizeof(VkDeviceSize) * (size_t)b->free_cap);
        b->free_len = vc_realloc(b->free_len, sizeof(VkDeviceSize) * (size_t)b->free_cap);
    }
    memmove(&b->free_off[i + 1], &b->free_off[i], sizeof(VkDeviceSize) * (size_t)(b->free_count - i));
    memmove(&b->free_len[i + 1], &b->free_len[i], sizeof(VkDeviceSize) * (size_t)(b->free_count - i));
    b->free_off[i] = off;
    b->free_len[i] = size;
    b->free_count++;
    /* coalesce with the next, then the previous range */
    if (i + 1 < b->free_count && b->free_off[i] + b->free_len[i] == b->free_off[i + 1]) {
        b->free_len[i] += b->free_len[i + 1];
        memmove(&b->free_off[i + 1], &b->free_off[i + 2], sizeof(VkDeviceSize) * (size_t)(b->free_count - i - 2));
        memmove(&b->free_len[i + 1], &b->free_len[i + 2], sizeof(VkDeviceSize) * (size_t)(b->free_count - i - 2));
        b->free_count--;
    }
    if (i > 0 && b->free_off[i - 1] + b->free_len[i - 1] == b->free_off[i]) {
        b->free_len[i - 1] += b->free_len[i];
        memmove(&b->free_off[i], &b->free_off[i + 1], sizeof(VkDeviceSize) * (size_t)(b->free_count - i - 1));
        memmove(&b->free_len[i], &b->free_len[i + 1], sizeof(VkDeviceSize) * (size_t)(b->free_count - i - 1));
        b->free_count--;
    }
}

/* Record and run a one-shot command buffer (uploads, zero fills on discrete devices). */
typedef void (*OneShotFn)(VkCommandBuffer cb, void *user);
static void run_oneshot(VcContext *ctx, OneShotFn fn, void *user) {
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = ctx->pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VkCommandBuffer cb;
    VC_CHECK(vkAllocateCommandBuffers(ctx->device, &ai, &cb));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VC_CHECK(vkBeginCommandBuffer(cb, &bi));
    /* everything before (earlier submissions) -> this transfer */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT};
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    fn(cb, user);
    vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    VC_CHECK(vkEndCommandBuffer(cb));
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    VkFence fence;
    VC_CHECK(vkCreateFence(ctx->device, &fci, NULL, &fence));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cb};
    VC_CHECK(vkQueueSubmit(ctx->queue, 1, &si, fence));
    VC_CHECK(vkWaitForFences(ctx->device, 1, &fence, VK_TRUE, UINT64_MAX));
    vkDestroyFence(ctx->device, fence, NULL);
    vkFreeCommandBuffers(ctx->device, ctx->pool, 1, &cb);
}

typedef struct { VkBuffer buf; VkDeviceSize off, size; } FillArgs;
static void record_zero(VkCommandBuffer cb, void *user) {
    FillArgs *a = user;
    vkCmdFillBuffer(cb, a->buf, a->off, a->size, 0);
}

static int buffer_alloc(VcContext *ctx, size_t bytes, bool host, const char *what, VcBuffer *out) {
    VkDeviceSize size = ((VkDeviceSize)(bytes ? bytes : 4) + ctx->align - 1) / ctx->align * ctx->align;
    VkDeviceSize off = 0;
    host = host && !ctx->host_visible; /* on unified memory every block is mapped already */
    VcBlock *b = ctx->blocks;
    for (; b; b = b->next)
        if (b->host == host && block_take(b, size, &off)) break;
    if (!b) {
        if (ctx->info.max_allocation_size && size > ctx->info.max_allocation_size) {
            vc_set_error("%s needs %.1f MiB in one piece but %s allows at most %.1f MiB per allocation",
                         what ? what : "a buffer", size / MIB, ctx->info.name, ctx->info.max_allocation_size / MIB);
            return VC_ERR_OOM;
        }
        int status = VC_OK;
        VkDeviceSize block = host ? VC_MIN(ctx->block_size, (VkDeviceSize)16 << 20) : ctx->block_size;
        b = block_new(ctx, VC_MAX(size, block), host, what, &status);
        if (!b && size < block) b = block_new(ctx, size, host, what, &status); /* tight fit */
        if (!b) return status;
        VC_ASSERT(block_take(b, size, &off));
    }
    ctx->in_use += size;
    if (ctx->in_use > ctx->peak) ctx->peak = ctx->in_use;
    VcBuffer r = {.buf = b->buffer, .offset = off, .size = bytes, .mapped = b->mapped ? b->mapped + off : NULL, .block = b};
    if (r.mapped) {
        memset(r.mapped, 0, bytes);
    } else {
        FillArgs a = {b->buffer, off, size};
        run_oneshot(ctx, record_zero, &a);
    }
    *out = r;
    return VC_OK;
}

int vc_buffer_alloc(VcContext *ctx, size_t bytes, const char *what, VcBuffer *out) {
    return buffer_alloc(ctx, bytes, false, what, out);
}

int vc_buffer_alloc_mapped(VcContext *ctx, size_t bytes, const char *what, VcBuffer *out) {
    return buffer_alloc(ctx, bytes, true, what, out);
}

void vc_buffer_free(VcContext *ctx, VcBuffer *b) {
    if (!b || !b->block) return;
    VkDeviceSize size = ((VkDeviceSize)(b->size ? b->size : 4) + ctx->align - 1) / ctx->align * ctx->align;
    block_give(b->block, b->offset, size);
    ctx->in_use -= size;
    memset(b, 0, sizeof *b);
}

VcBuffer vc_buffer_slice(VcBuffer b, size_t offset, size_t bytes) {
    VC_ASSERT(offset + bytes <= b.size);
    VcBuffer s = b;
    s.offset += offset;
    s.size = bytes;
    s.mapped = b.mapped ? b.mapped + offset : NULL;
    s.block = NULL;
    return s;
}

size_t vc_memory_in_use(const VcContext *ctx) { return ctx->in_use; }
size_t vc_memory_peak(const VcContext *ctx) { return ctx->peak; }

/* ---- staging (devices without unified memory) ---- */
static void ensure_staging(VcContext *ctx) {
    if (ctx->staging_buf) return;
    ctx->staging_size = 64u << 20;
    VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                              .size = ctx->staging_size,
                              .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT};
    VC_CHECK(vkCreateBuffer(ctx->device, &bci, NULL, &ctx->staging_buf));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(ctx->device, ctx->staging_buf, &req);
    int t = find_memory_type(&ctx->memprops, req.memoryTypeBits,
                             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                                 VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    if (t < 0)
        t = find_memory_type(&ctx->memprops, req.memoryTypeBits,
                             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    VC_ASSERT(t >= 0);
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO, .allocationSize = req.size, .memoryTypeIndex = (uint32_t)t};
    VC_CHECK(vkAllocateMemory(ctx->device, &ai, NULL, &ctx->staging_mem));
    VC_CHECK(vkBindBufferMemory(ctx->device, ctx->staging_buf, ctx->staging_mem, 0));
    VC_CHECK(vkMapMemory(ctx->device, ctx->staging_mem, 0, VK_WHOLE_SIZE, 0, &ctx->staging_map));
}

typedef struct { VkBuffer src, dst; VkBufferCopy region; } CopyArgs;
static void record_copy(VkCommandBuffer cb, void *user) {
    CopyArgs *a = user;
    vkCmdCopyBuffer(cb, a->src, a->dst, 1, &a->region);
}

void vc_buffer_upload(VcContext *ctx, VcBuffer b, size_t offset, const void *src, size_t bytes) {
    VC_ASSERT(offset + bytes <= b.size);
    if (b.mapped) {
        memcpy(b.mapped + offset, src, bytes);
        return;
    }
    ensure_staging(ctx);
    for (size_t done = 0; done < bytes;) {
        size_t n = VC_MIN(bytes - done, (size_t)ctx->staging_size);
        memcpy(ctx->staging_map, (const uint8_t *)src + done, n);
        CopyArgs a = {ctx->staging_buf, b.buf, {0, b.offset + offset + done, n}};
        run_oneshot(ctx, record_copy, &a);
        done += n;
    }
}

void vc_buffer_download(VcContext *ctx, VcBuffer b, size_t offset, void *dst, size_t bytes) {
    VC_ASSERT(offset + bytes <= b.size);
    if (b.mapped) {
        memcpy(dst, b.mapped + offset, bytes);
        return;
    }
    ensure_staging(ctx);
    for (size_t done = 0; done < bytes;) {
        size_t n = VC_MIN(bytes - done, (size_t)ctx->staging_size);
        CopyArgs a = {b.buf, ctx->staging_buf, {b.offset + offset + done, 0, n}};
        run_oneshot(ctx, record_copy, &a);
        memcpy((uint8_t *)dst + done, ctx->staging_map, n);
        done += n;
    }
}
