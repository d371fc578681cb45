/* internal.h — the Vulkan core's private structs, shared by the files of src/vk only. */
#ifndef VC_VK_INTERNAL_H
#define VC_VK_INTERNAL_H

#include "vk.h"

struct VcBlock {
    VkDeviceMemory memory;
    VkBuffer buffer;
    VkDeviceSize size;
    uint8_t *mapped;
    bool host;          /* from the host-visible pool (vc_buffer_alloc_mapped) */
    /* free list: sorted, non-overlapping [off, off+len) ranges */
    VkDeviceSize *free_off, *free_len;
    int free_count, free_cap;
    struct VcBlock *next;
};

struct VcPipeline {
    VcPipelineDesc desc; /* desc.shader and desc.bindings point at the copies below */
    char shader[96], bindings[33];
    char key[256];
    VkDescriptorSetLayout set_layout;
    VkPipelineLayout layout;
    VkPipeline pipeline;
    VkShaderModule module;
    struct VcPipeline *next;
};

struct VcContext {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    VcDeviceInfo info;
    VkPhysicalDeviceMemoryProperties memprops;
    uint32_t mem_type;         /* memory type used for all blocks */
    uint32_t host_mem_type;    /* host-visible type for vc_buffer_alloc_mapped */
    bool host_visible;         /* blocks are mapped (unified memory) */
    VkDeviceSize align;        /* sub-allocation alignment */
    VkDeviceSize block_size;   /* default block size */
    VcBlock *blocks;
    size_t in_use, peak;
    VcPipeline *pipelines;
    VkPipelineCache pipeline_cache;
    char cache_path[512];
    VkCommandPool pool;
    VcBuffer staging;          /* for discrete devices: host-visible staging range */
    VkDeviceMemory staging_mem;
    VkBuffer staging_buf;
    void *staging_map;
    VkDeviceSize staging_size;
    int validation_messages;
    bool validation;
    bool is_cpu;
};

#endif
