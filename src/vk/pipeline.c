/* pipeline.c — compute pipelines from embedded SPIR-V, cached in memory and on disk.
 *
 * A pipeline is named by its description (shader, binding kinds, push size and
 * specialization constants); vc_pipeline_get() builds it once per context and returns
 * the same object afterwards, so ops may ask for their pipeline every time they record.
 * The VkPipelineCache is stored under $XDG_CACHE_HOME/vkcontrast (or ~/.cache/vkcontrast),
 * one file per device UUID, written atomically (temp file + rename).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

const VcShaderBlob *vc_shader_find(const char *name) {
    for (size_t i = 0; i < vc_shader_blob_count; i++)
        if (!strcmp(vc_shader_blobs[i].name, name)) return &vc_shader_blobs[i];
    return NULL;
}

static void cache_path(VcContext *ctx, char *out, size_t n) {
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[400];
    if (xdg && *xdg) snprintf(dir, sizeof dir, "%s/vkcontrast", xdg);
    else if (home && *home) snprintf(dir, sizeof dir, "%s/.cache/vkcontrast", home);
    else { out[0] = 0; return; }
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++) snprintf(uuid + 2 * i, 3, "%02x", ctx->info.uuid[i]);
    snprintf(out, n, "%s/pipelines-%s.bin", dir, uuid);
}

static void *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *data = len > 0 ? vc_malloc((size_t)len) : NULL;
    if (data && fread(data, 1, (size_t)len, f) != (size_t)len) { free(data); data = NULL; }
    fclose(f);
    *size = data ? (size_t)len : 0;
    return data;
}

void vc_pipelines_init(VcContext *ctx, bool use_disk_cache) {
    size_t size = 0;
    void *data = NULL;
    if (use_disk_cache) {
        cache_path(ctx, ctx->cache_path, sizeof ctx->cache_path);
        if (ctx->cache_path[0]) data = read_file(ctx->cache_path, &size);
    }
    /* A cache from another driver version is rejected by the driver itself (header check). */
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO, .initialDataSize = size, .pInitialData = data};
    if (vkCreatePipelineCache(ctx->device, &ci, NULL, &ctx->pipeline_cache) != VK_SUCCESS) {
        ci.initialDataSize = 0, ci.pInitialData = NULL;
        VC_CHECK(vkCreatePipelineCache(ctx->device, &ci, NULL, &ctx->pipeline_cache));
    }
    free(data);
}

static void mkdir_parents(const char *path) {
    char tmp[512];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') { *p = 0; mkdir(tmp, 0755); *p = '/'; }
}

static void save_cache(VcContext *ctx) {
    if (!ctx->cache_path[0]) return;
    size_t size = 0;
    if (vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &size, NULL) != VK_SUCCESS || !size) return;
    void *data = vc_malloc(size);
    if (vkGetPipelineCacheData(ctx->device, ctx->pipeline_cache, &size, data) == VK_SUCCESS) {
        mkdir_parents(ctx->cache_path);
        char tmp[600];
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", ctx->cache_path, (int)getpid());
        FILE *f = fopen(tmp, "wb");
        bool ok = f && fwrite(data, 1, size, f) == size;
        if (f) ok &= fclose(f) == 0;
        if (ok) ok = rename(tmp, ctx->cache_path) == 0;
        if (!ok) unlink(tmp); /* the cache is an optimisation: failing to save it is not an error */
    }
    free(data);
}

void vc_pipelines_shutdown(VcContext *ctx) {
    save_cache(ctx);
    while (ctx->pipelines) {
        VcPipeline *p = ctx->pipelines;
        ctx->pipelines = p->next;
        vkDestroyPipeline(ctx->device, p->pipeline, NULL);
        vkDestroyPipelineLayout(ctx->device, p->layout, NULL);
        vkDestroyDescriptorSetLayout(ctx->device, p->set_layout, NULL);
        vkDestroyShaderModule(ctx->device, p->module, NULL);
        free(p);
    }
    vkDestroyPipelineCache(ctx->device, ctx->pipeline_cache, NULL);
}

static void make_key(const VcPipelineDesc *d, char *key, size_t n) {
    int len = snprintf(key, n, "%s|%s|%u", d->shader, d->bindings, d->push_size);
    for (uint32_t i = 0; i < d->spec_count && len < (int)n; i++) len += snprintf(key + len, n - (size_t)len, "|%u", d->spec[i]);
}

VcPipeline *vc_pipeline_get(VcContext *ctx, const VcPipelineDesc *d) {
    char key[256];
    make_key(d, key, sizeof key);
    for (VcPipeline *p = ctx->pipelines; p; p = p->next)
        if (!strcmp(p->key, key)) return p;

    const VcShaderBlob *blob = vc_shader_find(d->shader);
    if (!blob) {
        fprintf(stderr, "vkcontrast: internal error: no embedded shader named '%s'\n", d->shader);
        abort();
    }
    VC_ASSERT(d->push_size <= 128 && d->spec_count <= 16);
    VcPipeline *p = vc_calloc(1, sizeof *p);
    p->desc = *d;
    VC_ASSERT(strlen(d->shader) < sizeof p->shader && strlen(d->bindings) < sizeof p->bindings);
    snprintf(p->shader, sizeof p->shader, "%s", d->shader);
    snprintf(p->bindings, sizeof p->bindings, "%s", d->bindings);
    p->desc.shader = p->shader; /* the caller's strings may not outlive this call */
    p->desc.bindings = p->bindings;
    snprintf(p->key, sizeof p->key, "%s", key);

    uint32_t nb = (uint32_t)strlen(d->bindings);
    VkDescriptorSetLayoutBinding binds[32];
    VC_ASSERT(nb <= 32);
    for (uint32_t i = 0; i < nb; i++) {
        VC_ASSERT(d->bindings[i] == 's' || d->bindings[i] == 't');
        binds[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = d->bindings[i] == 's' ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER : VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    }
    VkDescriptorSetLayoutCreateInfo dl = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO, .bindingCount = nb, .pBindings = binds};
    VC_CHECK(vkCreateDescriptorSetLayout(ctx->device, &dl, NULL, &p->set_layout));
    VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = d->push_size};
    VkPipelineLayoutCreateInfo pl = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                     .setLayoutCount = 1,
                                     .pSetLayouts = &p->set_layout,
                                     .pushConstantRangeCount = d->push_size ? 1 : 0,
                                     .pPushConstantRanges = &pr};
    VC_CHECK(vkCreatePipelineLayout(ctx->device, &pl, NULL, &p->layout));
    VkShaderModuleCreateInfo sm = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO, .codeSize = blob->size, .pCode = blob->code};
    VC_CHECK(vkCreateShaderModule(ctx->device, &sm, NULL, &p->module));

    VkSpecializationMapEntry entries[16];
    for (uint32_t i = 0; i < d->spec_count; i++) entries[i] = (VkSpecializationMapEntry){i, i * 4, 4};
    VkSpecializationInfo si = {.mapEntryCount = d->spec_count, .pMapEntries = entries, .dataSize = d->spec_count * 4, .pData = d->spec};
    VkComputePipelineCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = p->module,
                  .pName = "main",
                  .pSpecializationInfo = d->spec_count ? &si : NULL},
        .layout = p->layout};
    double t0 = vc_now();
    VC_CHECK(vkCreateComputePipelines(ctx->device, ctx->pipeline_cache, 1, &ci, NULL, &p->pipeline));
    if (getenv("VKCONTRAST_DEBUG_PIPELINES")) fprintf(stderr, "vkcontrast: pipeline %s built in %.0f ms\n", key, 1e3 * (vc_now() - t0));
    p->next = ctx->pipelines;
    ctx->pipelines = p;
    return p;
}
