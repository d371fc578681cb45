/* context.c — Vulkan instance, device listing and selection, the compute queue.
 *
 * Selection follows DESIGN.md: --device (index or name substring), else
 * $VKCONTRAST_DEVICE, else the first discrete GPU, then integrated, virtual, CPU.
 * With validation on, the Khronos layer and a debug messenger are installed; every
 * message is printed and counted, and tests fail when the count is not zero.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <errno.h>

#include "internal.h"

const char *vc_vk_result_name(VkResult r) {
    switch (r) {
#define C(x) case x: return #x;
    C(VK_SUCCESS) C(VK_NOT_READY) C(VK_TIMEOUT) C(VK_INCOMPLETE)
    C(VK_ERROR_OUT_OF_HOST_MEMORY) C(VK_ERROR_OUT_OF_DEVICE_MEMORY)
    C(VK_ERROR_INITIALIZATION_FAILED) C(VK_ERROR_DEVICE_LOST) C(VK_ERROR_MEMORY_MAP_FAILED)
    C(VK_ERROR_LAYER_NOT_PRESENT) C(VK_ERROR_EXTENSION_NOT_PRESENT) C(VK_ERROR_FEATURE_NOT_PRESENT)
    C(VK_ERROR_INCOMPATIBLE_DRIVER) C(VK_ERROR_TOO_MANY_OBJECTS) C(VK_ERROR_FORMAT_NOT_SUPPORTED)
    C(VK_ERROR_FRAGMENTED_POOL) C(VK_ERROR_OUT_OF_POOL_MEMORY) C(VK_ERROR_INVALID_SHADER_NV)
#undef C
    default: return "VK_ERROR_(unknown)";
    }
}

void vc_vk_fail(const char *call, const char *file, int line, VkResult r) {
    fprintf(stderr, "vkcontrast: Vulkan call failed: %s -> %s (%d) at %s:%d\n", call,
            vc_vk_result_name(r), (int)r, file, line);
    fflush(stderr);
    abort();
}

static int g_validation_total; /* all contexts, including messages at destruction */
int vc_validation_message_total(void) { return g_validation_total; }

static VkBool32 VKAPI_PTR on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT type,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                 void *user) {
    (void)type;
    VcContext *ctx = user;
    ctx->validation_messages++;
    g_validation_total++;
    const char *level = severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "error" : "warning";
    fprintf(stderr, "vkcontrast: validation %s: %s\n", level, data->pMessage);
    return VK_FALSE;
}

static bool layer_available(const char *name) {
    uint32_t n = 0;
    vkEnumerateInstanceLayerProperties(&n, NULL);
    VkLayerProperties *props = vc_calloc(n, sizeof *props);
    vkEnumerateInstanceLayerProperties(&n, props);
    bool found = false;
    for (uint32_t i = 0; i < n; i++) found |= strcmp(props[i].layerName, name) == 0;
    free(props);
    return found;
}

static int create_instance(bool validation, VkInstance *out) {
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "vkcontrast",
                             .pEngineName = "vkcontrast",
                             .apiVersion = VK_API_VERSION_1_1};
    const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
    const char *exts[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, .pApplicationInfo = &app};
    if (validation) {
        if (!layer_available(layers[0])) {
            vc_set_error("validation requested but VK_LAYER_KHRONOS_validation is not installed "
                         "(Debian: apt-get install vulkan-validationlayers)");
            return VC_ERR;
        }
        ci.enabledLayerCount = 1;
        ci.ppEnabledLayerNames = layers;
        ci.enabledExtensionCount = 1;
        ci.ppEnabledExtensionNames = exts;
    }
    VkResult r = vkCreateInstance(&ci, NULL, out);
    if (r != VK_SUCCESS) {
        vc_set_error("cannot create a Vulkan instance (%s): is a Vulkan driver installed? "
                     "On a machine without a GPU, install Mesa's lavapipe (apt-get install mesa-vulkan-drivers)",
                     vc_vk_result_name(r));
        return VC_ERR;
    }
    return VC_OK;
}

static const char *type_name(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

static const char *vendor_name(uint32_t id) {
    switch (id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x8086: return "Intel";
    case 0x106B: return "Apple";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x10005: return "Mesa";
    default: return "unknown";
    }
}

static bool has_device_extension(VkPhysicalDevice pd, const char *name) {
    uint32_t n = 0;
    vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL);
    VkExtensionProperties *props = vc_calloc(n, sizeof *props);
    vkEnumerateDeviceExtensionProperties(pd, NULL, &n, props);
    bool found = false;
    for (uint32_t i = 0; i < n; i++) found |= strcmp(props[i].extensionName, name) == 0;
    free(props);
    return found;
}

static int compute_queue_family(VkPhysicalDevice pd, uint32_t *valid_bits) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties *q = vc_calloc(n, sizeof *q);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    int best = -1;
    /* prefer a compute-only family (async compute), else any with compute */
    for (uint32_t i = 0; i < n; i++)
        if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && !(q[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) { best = (int)i; break; }
    if (best < 0)
        for (uint32_t i = 0; i < n; i++)
            if (q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) { best = (int)i; break; }
    if (best >= 0 && valid_bits) *valid_bits = q[best].timestampValidBits;
    free(q);
    return best;
}

static void describe_device(VkPhysicalDevice pd, int index, VcDeviceInfo *d) {
    memset(d, 0, sizeof *d);
    d->index = index;
    VkPhysicalDeviceSubgroupProperties sub = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceDriverProperties drv = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES, .pNext = &sub};
    VkPhysicalDeviceIDProperties idp = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_ID_PROPERTIES, .pNext = &drv};
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &idp};
    VkPhysicalDeviceProperties base;
    vkGetPhysicalDeviceProperties(pd, &base);
    bool has_driver_props = base.apiVersion >= VK_API_VERSION_1_2 || has_device_extension(pd, "VK_KHR_driver_properties");
    if (!has_driver_props) sub.pNext = NULL, idp.pNext = &sub;
    vkGetPhysicalDeviceProperties2(pd, &p2);
    const VkPhysicalDeviceProperties *p = &p2.properties;
    snprintf(d->name, sizeof d->name, "%s", p->deviceName);
    if (has_driver_props)
        snprintf(d->driver, sizeof d->driver, "%s %s", drv.driverName, drv.driverInfo);
    else
        snprintf(d->driver, sizeof d->driver, "driver version 0x%x", p->driverVersion);
    d->type = type_name(p->deviceType);
    d->vendor_id = p->vendorID;
    d->device_id = p->deviceID;
    d->vendor = vendor_name(p->vendorID);
    d->api_version = p->apiVersion;
    memcpy(d->uuid, idp.deviceUUID, VK_UUID_SIZE);
    d->subgroup_size = sub.subgroupSize;
    d->subgroup_arithmetic = (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) && (sub.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
    d->shared_memory = p->limits.maxComputeSharedMemorySize;
    d->max_workgroup_invocations = p->limits.maxComputeWorkGroupInvocations;
    d->max_storage_buffer_range = p->limits.maxStorageBufferRange;
    d->max_texel_buffer_elements = p->limits.maxTexelBufferElements;
    d->timestamp_period_ns = p->limits.timestampPeriod;

    VkPhysicalDeviceMaintenance3Properties m3 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
    VkPhysicalDeviceProperties2 p2b = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &m3};
    vkGetPhysicalDeviceProperties2(pd, &p2b);
    d->max_allocation_size = m3.maxMemoryAllocationSize;

    VkPhysicalDeviceMemoryProperties mp;
    vkGetPhysicalDeviceMemoryProperties(pd, &mp);
    d->heap_count = (int)mp.memoryHeapCount;
    for (uint32_t i = 0; i < mp.memoryHeapCount; i++) {
        d->heap_size[i] = mp.memoryHeaps[i].size;
        d->heap_device_local[i] = (mp.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
    }
    for (uint32_t i = 0; i < mp.memoryTypeCount; i++) {
        VkMemoryPropertyFlags f = mp.memoryTypes[i].propertyFlags;
        if ((f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) && (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) &&
            (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) &&
            (p->deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU || p->deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU))
            d->unified_memory = true;
    }

    bool has_f16i8 = base.apiVersion >= VK_API_VERSION_1_2 || has_device_extension(pd, "VK_KHR_shader_float16_int8");
    VkPhysicalDeviceShaderFloat16Int8Features f16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
    VkPhysicalDevice16BitStorageFeatures s16 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
    VkPhysicalDevice8BitStorageFeatures s8 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES, .pNext = &s16};
    bool has_s8 = base.apiVersion >= VK_API_VERSION_1_2 || has_device_extension(pd, "VK_KHR_8bit_storage");
    if (has_f16i8) f16.pNext = has_s8 ? (void *)&s8 : (void *)&s16;
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                   .pNext = has_f16i8 ? (void *)&f16 : has_s8 ? (void *)&s8 : (void *)&s16};
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    d->fp16 = f16.shaderFloat16;
    d->int8 = f16.shaderInt8;
    d->storage8 = s8.storageBuffer8BitAccess;
    d->storage16 = s16.storageBuffer16BitAccess;
    d->coop_matrix = has_device_extension(pd, "VK_KHR_cooperative_matrix");
    compute_queue_family(pd, &d->timestamp_valid_bits);
    d->timestamps = d->timestamp_valid_bits > 0 && p->limits.timestampPeriod > 0;
}

static int enumerate(VkInstance inst, VkPhysicalDevice **out) {
    uint32_t n = 0;
    vkEnumeratePhysicalDevices(inst, &n, NULL);
    *out = vc_calloc(n, sizeof **out);
    vkEnumeratePhysicalDevices(inst, &n, *out);
    return (int)n;
}

int vc_devices_list(VcDeviceInfo *out, int max) {
    VkInstance inst;
    if (create_instance(false, &inst) != VC_OK) return 0;
    VkPhysicalDevice *pds;
    int n = enumerate(inst, &pds);
    if (n == 0) vc_set_error("no Vulkan device found (install mesa-vulkan-drivers for the CPU device lavapipe)");
    for (int i = 0; i < n && i < max; i++) describe_device(pds[i], i, &out[i]);
    free(pds);
    vkDestroyInstance(inst, NULL);
    return n < max ? n : max;
}

static int type_rank(const char *type) {
    static const char *order[] = {"discrete", "integrated", "virtual", "cpu", "other"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(type, order[i])) return i;
    return 5;
}

static bool contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return true;
    return false;
}

/* Pick by --device / $VKCONTRAST_DEVICE (index or name substring), else by type rank. */
static int pick_physical_device(VkInstance inst, const char *want, VkPhysicalDevice *pd, VcDeviceInfo *info) {
    VkPhysicalDevice *pds;
    int n = enumerate(inst, &pds);
    if (n == 0) {
        free(pds);
        vc_set_error("no Vulkan device found (install mesa-vulkan-drivers for the CPU device lavapipe)");
        return VC_ERR;
    }
    VcDeviceInfo *infos = vc_calloc((size_t)n, sizeof *infos);
    for (int i = 0; i < n; i++) describe_device(pds[i], i, &infos[i]);
    int chosen = -1;
    if (want && *want) {
        char *end;
        long idx = strtol(want, &end, 10);
        if (*end == '\0') {
            if (idx < 0 || idx >= n) {
                vc_set_error("--device %ld: no such device (there are %d; see `vkcontrast devices`)", idx, n);
                goto fail;
            }
            chosen = (int)idx;
        } else {
            for (int i = 0; i < n && chosen < 0; i++)
                if (contains_nocase(infos[i].name, want)) chosen = i;
            if (chosen < 0) {
                vc_set_error("--device '%s': no device name contains it (see `vkcontrast devices`)", want);
                goto fail;
            }
        }
    } else {
        for (int i = 0; i < n; i++)
            if (chosen < 0 || type_rank(infos[i].type) < type_rank(infos[chosen].type)) chosen = i;
    }
    if (compute_queue_family(pds[chosen], NULL) < 0) {
        vc_set_error("device %d (%s) has no compute queue", chosen, infos[chosen].name);
        goto fail;
    }
    *pd = pds[chosen];
    *info = infos[chosen];
    free(infos);
    free(pds);
    return VC_OK;
fail:
    free(infos);
    free(pds);
    return VC_ERR;
}

static int create_device(VcContext *ctx) {
    int fam = compute_queue_family(ctx->phys, NULL);
    ctx->queue_family = (uint32_t)fam;
    float prio = 1.0f;
    VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                   .queueFamilyIndex = ctx->queue_family,
                                   .queueCount = 1,
                                   .pQueuePriorities = &prio};
    /* Enable the storage features the shaders may use when the device has them. */
    VkPhysicalDevice8BitStorageFeatures s8 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES,
                                              .storageBuffer8BitAccess = ctx->info.storage8};
    const char *exts[2];
    uint32_t next = 0;
    bool need_8bit_ext = ctx->info.storage8 && ctx->info.api_version < VK_API_VERSION_1_2;
    if (need_8bit_ext) exts[next++] = "VK_KHR_8bit_storage";
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                   .pNext = ctx->info.storage8 ? &s8 : NULL};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &f2,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &qci,
                              .enabledExtensionCount = next,
                              .ppEnabledExtensionNames = exts};
    VkResult r = vkCreateDevice(ctx->phys, &dci, NULL, &ctx->device);
    if (r != VK_SUCCESS) {
        vc_set_error("cannot create the Vulkan device on %s: %s", ctx->info.name, vc_vk_result_name(r));
        return VC_ERR;
    }
    vkGetDeviceQueue(ctx->device, ctx->queue_family, 0, &ctx->queue);
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = ctx->queue_family};
    VC_CHECK(vkCreateCommandPool(ctx->device, &pci, NULL, &ctx->pool));
    return VC_OK;
}

static void install_messenger(VcContext *ctx) {
    PFN_vkCreateDebugUtilsMessengerEXT create =
        (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(ctx->instance, "vkCreateDebugUtilsMessengerEXT");
    if (!create) return;
    VkDebugUtilsMessengerCreateInfoEXT ci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation_message,
        .pUserData = ctx};
    VC_CHECK(create(ctx->instance, &ci, NULL, &ctx->messenger));
}

/* Defined in memory.c / pipeline.c. */
void vc_memory_init(VcContext *ctx);
void vc_memory_shutdown(VcContext *ctx);
void vc_pipelines_init(VcContext *ctx, bool use_disk_cache);
void vc_pipelines_shutdown(VcContext *ctx);

static bool env_flag(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

VcContext *vc_context_new(const VcContextOptions *opt) {
    VcContextOptions defaults = {.validation = -1, .pipeline_cache = 1};
    if (!opt) opt = &defaults;
    VcContext *ctx = vc_calloc(1, sizeof *ctx);
    ctx->validation = opt->validation < 0 ? env_flag("VKCONTRAST_VALIDATION") : opt->validation != 0;
    if (create_instance(ctx->validation, &ctx->instance) != VC_OK) {
        free(ctx);
        return NULL;
    }
    if (ctx->validation) install_messenger(ctx);
    const char *want = opt->device ? opt->device : getenv("VKCONTRAST_DEVICE");
    if (pick_physical_device(ctx->instance, want, &ctx->phys, &ctx->info) != VC_OK || create_device(ctx) != VC_OK) {
        vc_context_free(ctx);
        return NULL;
    }
    ctx->is_cpu = !strcmp(ctx->info.type, "cpu");
    vc_memory_init(ctx);
    vc_pipelines_init(ctx, opt->pipeline_cache != 0);
    return ctx;
}

void vc_context_free(VcContext *ctx) {
    if (!ctx) return;
    if (ctx->device) {
        vkDeviceWaitIdle(ctx->device);
        vc_pipelines_shutdown(ctx);
        vc_memory_shutdown(ctx);
        vkDestroyCommandPool(ctx->device, ctx->pool, NULL);
        vkDestroyDevice(ctx->device, NULL);
    }
    if (ctx->messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(ctx->instance, "vkDestroyDebugUtilsMessengerEXT");
        if (destroy) destroy(ctx->instance, ctx->messenger, NULL);
    }
    if (ctx->instance) vkDestroyInstance(ctx->instance, NULL);
    free(ctx);
}

const VcDeviceInfo *vc_context_info(const VcContext *ctx) { return &ctx->info; }
int vc_context_validation_messages(const VcContext *ctx) { return ctx->validation_messages; }
bool vc_context_is_cpu(const VcContext *ctx) { return ctx->is_cpu; }
