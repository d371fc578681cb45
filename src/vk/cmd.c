/* cmd.c — recording dispatches into a command buffer that is submitted many times.
 *
 * A VcCmd owns what its recording refers to: descriptor sets (from its own pools),
 * texel-buffer views, the timestamp query pool, the labels and small op-private buffers
 * (vc_cmd_buffer: offset tables, partial sums). Recording is append-only;
 * vc_cmd_end closes it, after which vc_cmd_submit may be called any number of times,
 * also while an earlier submission is still running (simultaneous use, fence ring).
 *
 * Barriers: every dispatch or copy after the first is preceded by one memory barrier
 * (compute/transfer writes -> compute/transfer reads and writes): ops in a step form a
 * chain, each reading what the previous wrote. The command buffer also opens with a
 * barrier so a resubmission sees everything the previous submission wrote.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define SETS_PER_POOL 128
#define QUERIES_PER_POOL 2048
#define FENCE_RING 3

struct VcCmd {
    VcContext *ctx;
    VkCommandBuffer cb;
    bool recording, timing;
    VkDescriptorPool *pools;
    int pool_count, sets_left, storage_left, texel_left;
    VkBufferView *views;
    int view_count, view_cap;
    VkQueryPool *queries; /* QUERIES_PER_POOL each; dispatch i uses 2i, 2i+1 */
    int query_pool_count;
    VcTiming *timings;
    int ndispatch, cap_dispatch;
    bool need_barrier;
    char *group;
    const char *shape; /* of the outermost open op scope */
    int op_depth;
    char **strings;
    int string_count, string_cap;
    VkFence fences[FENCE_RING];
    bool fence_pending[FENCE_RING];
    int fence_next;
    VcBuffer *owned; /* buffers made by vc_cmd_buffer, freed with the recording */
    int owned_count, owned_cap;
};

static const char *keep_string(VcCmd *c, const char *s) {
    if (!s) return NULL;
    for (int i = 0; i < c->string_count; i++)
        if (!strcmp(c->strings[i], s)) return c->strings[i];
    if (c->string_count == c->string_cap) {
        c->string_cap = c->string_cap ? 2 * c->string_cap : 32;
        c->strings = vc_realloc(c->strings, sizeof(char *) * (size_t)c->string_cap);
    }
    return c->strings[c->string_count++] = vc_strdup(s);
}

VcCmd *vc_cmd_new(VcContext *ctx, bool timing) {
    VcCmd *c = vc_calloc(1, sizeof *c);
    c->ctx = ctx;
    c->timing = timing && ctx->info.timestamps;
    VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                      .commandPool = ctx->pool,
                                      .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                      .commandBufferCount = 1};
    VC_CHECK(vkAllocateCommandBuffers(ctx->device, &ai, &c->cb));
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_SIMULTANEOUS_USE_BIT};
    VC_CHECK(vkBeginCommandBuffer(c->cb, &bi));
    c->recording = true;
    /* previous submissions' writes (and host writes) -> this submission */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_MEMORY_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT};
    vkCmdPipelineBarrier(c->cb, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    for (int i = 0; i < FENCE_RING; i++) VC_CHECK(vkCreateFence(ctx->device, &fci, NULL, &c->fences[i]));
    return c;
}

void vc_cmd_free(VcCmd *c) {
    if (!c) return;
    VkDevice dev = c->ctx->device;
    vc_cmd_wait(c);
    if (c->recording) vkEndCommandBuffer(c->cb);
    vkFreeCommandBuffers(dev, c->ctx->pool, 1, &c->cb);
    for (int i = 0; i < c->pool_count; i++) vkDestroyDescriptorPool(dev, c->pools[i], NULL);
    for (int i = 0; i < c->view_count; i++) vkDestroyBufferView(dev, c->views[i], NULL);
    for (int i = 0; i < c->query_pool_count; i++) vkDestroyQueryPool(dev, c->queries[i], NULL);
    for (int i = 0; i < FENCE_RING; i++) vkDestroyFence(dev, c->fences[i], NULL);
    for (int i = 0; i < c->string_count; i++) free(c->strings[i]);
    for (int i = 0; i < c->owned_count; i++) vc_buffer_free(c->ctx, &c->owned[i]);
    free(c->owned);
    free(c->strings);
    free(c->pools);
    free(c->views);
    free(c->queries);
    free(c->timings);
    free(c);
}

VcContext *vc_cmd_context(const VcCmd *c) { return c->ctx; }
int vc_cmd_dispatch_count(const VcCmd *c) { return c->ndispatch; }

int vc_cmd_buffer(VcCmd *c, size_t bytes, const void *data, const char *what, VcBuffer *out) {
    VcBuffer b;
    int st = vc_buffer_alloc(c->ctx, bytes, what, &b);
    if (st != VC_OK) return st;
    if (data) vc_buffer_upload(c->ctx, b, 0, data, bytes);
    if (c->owned_count == c->owned_cap) {
        c->owned_cap = c->owned_cap ? 2 * c->owned_cap : 8;
        c->owned = vc_realloc(c->owned, sizeof(VcBuffer) * (size_t)c->owned_cap);
    }
    c->owned[c->owned_count++] = b;
    *out = b;
    return VC_OK;
}

void vc_cmd_group(VcCmd *c, const char *group) { c->group = (char *)keep_string(c, group); }

void vc_cmd_op_begin(VcCmd *c, const char *fmt, ...) {
    if (c->op_depth++ > 0) return;
    char text[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    c->shape = keep_string(c, text);
}

void vc_cmd_op_end(VcCmd *c) {
    VC_ASSERT(c->op_depth > 0 && "vc_cmd_op_end without vc_cmd_op_begin");
    if (--c->op_depth == 0) c->shape = NULL;
}

static void barrier(VcCmd *c) {
    if (!c->need_barrier) return;
    /* previous dispatch/copy wrote -> next dispatch/copy reads or writes */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                                           VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    vkCmdPipelineBarrier(c->cb, stages, stages, 0, 1, &mb, 0, NULL, 0, NULL);
}

static VkDescriptorSet alloc_set(VcCmd *c, VcPipeline *p, int nstorage, int ntexel) {
    if (c->sets_left < 1 || c->storage_left < nstorage || c->texel_left < ntexel) {
        VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, SETS_PER_POOL * 12},
                                         {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, SETS_PER_POOL * 4}};
        VkDescriptorPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                         .maxSets = SETS_PER_POOL,
                                         .poolSizeCount = 2,
                                         .pPoolSizes = sizes};
        c->pools = vc_realloc(c->pools, sizeof(VkDescriptorPool) * (size_t)(c->pool_count + 1));
        VC_CHECK(vkCreateDescriptorPool(c->ctx->device, &ci, NULL, &c->pools[c->pool_count++]));
        c->sets_left = SETS_PER_POOL;
        c->storage_left = SETS_PER_POOL * 12;
        c->texel_left = SETS_PER_POOL * 4;
        VC_ASSERT(nstorage <= c->storage_left && ntexel <= c->texel_left);
    }
    VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                      .descriptorPool = c->pools[c->pool_count - 1],
                                      .descriptorSetCount = 1,
                                      .pSetLayouts = &p->set_layout};
    VkDescriptorSet set;
    VC_CHECK(vkAllocateDescriptorSets(c->ctx->device, &ai, &set));
    c->sets_left--;
    c->storage_left -= nstorage;
    c->texel_left -= ntexel;
    return set;
}

static VkBufferView make_view(VcCmd *c, VcBuffer b) {
    VC_ASSERT(b.offset % 16 == 0 && b.size % 16 == 0);
    VkBufferViewCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO,
                                 .buffer = b.buf,
                                 .format = VK_FORMAT_R32G32B32A32_SFLOAT,
                                 .offset = b.offset,
                                 .range = b.size};
    if (c->view_count == c->view_cap) {
        c->view_cap = c->view_cap ? 2 * c->view_cap : 16;
        c->views = vc_realloc(c->views, sizeof(VkBufferView) * (size_t)c->view_cap);
    }
    VC_CHECK(vkCreateBufferView(c->ctx->device, &ci, NULL, &c->views[c->view_count]));
    return c->views[c->view_count++];
}

static void write_timestamp(VcCmd *c, int query, VkPipelineStageFlagBits stage) {
    int pool = query / QUERIES_PER_POOL;
    if (pool == c->query_pool_count) {
        VkQueryPoolCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                    .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                    .queryCount = QUERIES_PER_POOL};
        c->queries = vc_realloc(c->queries, sizeof(VkQueryPool) * (size_t)(pool + 1));
        VC_CHECK(vkCreateQueryPool(c->ctx->device, &ci, NULL, &c->queries[pool]));
        c->query_pool_count++;
        /* Reset inside the recording: every submission starts from unavailable queries. */
        vkCmdResetQueryPool(c->cb, c->queries[pool], 0, QUERIES_PER_POOL);
    }
    vkCmdWriteTimestamp(c->cb, stage, c->queries[pool], (uint32_t)(query % QUERIES_PER_POOL));
}

static VcTiming *next_timing(VcCmd *c) {
    if (c->ndispatch == c->cap_dispatch) {
        c->cap_dispatch = c->cap_dispatch ? 2 * c->cap_dispatch : 64;
        c->timings = vc_realloc(c->timings, sizeof(VcTiming) * (size_t)c->cap_dispatch);
    }
    return &c->timings[c->ndispatch++];
}

void vc_dispatch(VcCmd *c, VcPipeline *p, const VcBuffer *bufs, int nbufs, const void *push, uint32_t gx, uint32_t gy,
                 uint32_t gz, const char *label, double flops, double bytes) {
    VC_ASSERT(c->recording);
    const char *kinds = p->desc.bindings;
    VC_ASSERT((int)strlen(kinds) == nbufs && nbufs <= 32);
    VC_ASSERT(gx >= 1 && gy >= 1 && gz >= 1);
    int nstorage = 0, ntexel = 0;
    for (int i = 0; i < nbufs; i++) {
        if (kinds[i] == 's') nstorage++;
        else ntexel++;
    }
    VkDescriptorSet set = alloc_set(c, p, nstorage, ntexel);
    VkWriteDescriptorSet writes[32];
    VkDescriptorBufferInfo infos[32];
    VkBufferView views[32];
    for (int i = 0; i < nbufs; i++) {
        VC_ASSERT(bufs[i].buf != VK_NULL_HANDLE);
        writes[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                           .dstSet = set,
                                           .dstBinding = (uint32_t)i,
                                           .descriptorCount = 1};
        if (kinds[i] == 's') {
            VC_ASSERT(bufs[i].size <= c->ctx->info.max_storage_buffer_range);
            infos[i] = (VkDescriptorBufferInfo){bufs[i].buf, bufs[i].offset, bufs[i].size ? bufs[i].size : VK_WHOLE_SIZE};
            writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
            writes[i].pBufferInfo = &infos[i];
        } else {
            views[i] = make_view(c, bufs[i]);
            writes[i].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
            writes[i].pTexelBufferView = &views[i];
        }
    }
    vkUpdateDescriptorSets(c->ctx->device, (uint32_t)nbufs, writes, 0, NULL);

    barrier(c);
    int index = c->ndispatch;
    VcTiming *t = next_timing(c);
    *t = (VcTiming){.label = keep_string(c, label), .group = c->group, .flops = flops, .bytes = bytes, .groups = {gx, gy, gz},
                    .shape = c->shape};
    if (c->timing) write_timestamp(c, 2 * index, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
    vkCmdBindPipeline(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->pipeline);
    vkCmdBindDescriptorSets(c->cb, VK_PIPELINE_BIND_POINT_COMPUTE, p->layout, 0, 1, &set, 0, NULL);
    if (p->desc.push_size) vkCmdPushConstants(c->cb, p->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, p->desc.push_size, push);
    vkCmdDispatch(c->cb, gx, gy, gz);
    if (c->timing) write_timestamp(c, 2 * index + 1, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT);
    c->need_barrier = true;
}

/* Open/close the timing entry of a transfer command. */
static int transfer_begin(VcCmd *c, const char *label, double bytes) {
    barrier(c);
    int index = c->ndispatch;
    *next_timing(c) = (VcTiming){.label = keep_string(c, label), .group = c->group, .bytes = bytes, .shape = c->shape};
    if (c->timing) write_timestamp(c, 2 * index, VK_PIPELINE_STAGE_TRANSFER_BIT);
    return index;
}

static void transfer_end(VcCmd *c, int index) {
    if (c->timing) write_timestamp(c, 2 * index + 1, VK_PIPELINE_STAGE_TRANSFER_BIT);
    c->need_barrier = true;
}

void vc_cmd_copy(VcCmd *c, VcBuffer src, VcBuffer dst, size_t bytes) {
    VC_ASSERT(c->recording && bytes <= src.size && bytes <= dst.size);
    int index = transfer_begin(c, "copy", 2.0 * (double)bytes);
    VkBufferCopy region = {src.offset, dst.offset, bytes};
    vkCmdCopyBuffer(c->cb, src.buf, dst.buf, 1, &region);
    transfer_end(c, index);
}

void vc_cmd_fill(VcCmd *c, VcBuffer dst, size_t bytes, uint32_t word) {
    VC_ASSERT(c->recording && bytes <= dst.size && bytes % 4 == 0 && dst.offset % 4 == 0);
    if (bytes == 0) return;
    int index = transfer_begin(c, "fill_buffer", (double)bytes);
    vkCmdFillBuffer(c->cb, dst.buf, dst.offset, bytes, word);
    transfer_end(c, index);
}

void vc_cmd_end(VcCmd *c) {
    if (!c->recording) return;
    VC_ASSERT(c->op_depth == 0 && "an op scope (vc_cmd_op_begin) left open");
    /* last dispatch wrote -> host reads after the fence */
    VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                          .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
                          .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
    vkCmdPipelineBarrier(c->cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                         VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, NULL, 0, NULL);
    VC_CHECK(vkEndCommandBuffer(c->cb));
    c->recording = false;
}

void vc_cmd_submit(VcCmd *c) {
    vc_cmd_end(c);
    int slot = c->fence_next;
    c->fence_next = (slot + 1) % FENCE_RING;
    if (c->fence_pending[slot]) {
        VC_CHECK(vkWaitForFences(c->ctx->device, 1, &c->fences[slot], VK_TRUE, UINT64_MAX));
    }
    VC_CHECK(vkResetFences(c->ctx->device, 1, &c->fences[slot]));
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &c->cb};
    VC_CHECK(vkQueueSubmit(c->ctx->queue, 1, &si, c->fences[slot]));
    c->fence_pending[slot] = true;
}

void vc_cmd_wait(VcCmd *c) {
    for (int i = 0; i < FENCE_RING; i++) {
        if (!c->fence_pending[i]) continue;
        VC_CHECK(vkWaitForFences(c->ctx->device, 1, &c->fences[i], VK_TRUE, UINT64_MAX));
        c->fence_pending[i] = false;
    }
}

void vc_cmd_run(VcCmd *c) {
    vc_cmd_submit(c);
    vc_cmd_wait(c);
}

const VcTiming *vc_cmd_timings(VcCmd *c, int *count) {
    *count = 0;
    if (!c->timing || !c->ndispatch) return NULL;
    vc_cmd_wait(c);
    uint32_t bits = c->ctx->info.timestamp_valid_bits;
    double period_ms = c->ctx->info.timestamp_period_ns * 1e-6;
    uint64_t first_stamp = 0;
    for (int pool = 0; pool < c->query_pool_count; pool++) {
        int first = pool * QUERIES_PER_POOL;
        int n = VC_MIN(QUERIES_PER_POOL, 2 * c->ndispatch - first);
        uint64_t stamps[QUERIES_PER_POOL];
        VC_CHECK(vkGetQueryPoolResults(c->ctx->device, c->queries[pool], 0, (uint32_t)n, sizeof stamps, stamps,
                                       sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
        for (int q = 0; q + 1 < n; q += 2) {
            if (first + q == 0) first_stamp = stamps[q];
            c->timings[(first + q) / 2].ms = (double)vc_timestamp_ticks(stamps[q], stamps[q + 1], bits) * period_ms;
            c->timings[(first + q) / 2].start_ms = (double)vc_timestamp_ticks(first_stamp, stamps[q], bits) * period_ms;
        }
    }
    *count = c->ndispatch;
    return c->timings;
}
