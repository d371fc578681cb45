/* peak.c — host side of peak_fma.comp and peak_copy.comp, the measurement and its cache.
 * See peak.h. The cache is a small JSON object {"device", "driver", "gflops", "gbps", "fill_gbps"},
 * ignored when the driver string differs (a new driver may be faster). */
#include "ops/peak.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/json.h"

typedef struct { uint32_t iters; float a, b; } FmaPush;
typedef struct { uint32_t n, per_inv; } CopyPush;
_Static_assert(sizeof(FmaPush) <= 128 && sizeof(CopyPush) <= 128, "push constants");

double vc_peak_fma_flops(uint32_t groups, uint32_t iters) { return (double)groups * VC_PEAK_FMA_WG * iters * 64.0; }

void vc_peak_fma(VcCmd *cmd, VcBuffer sums, uint32_t groups, uint32_t iters, float a, float b) {
    vc_cmd_op_begin(cmd, "%u workgroups x %u rounds", groups, iters);
    VC_ASSERT(groups >= 1 && iters <= VC_PEAK_FMA_MAX_ITERS && sums.size >= (size_t)groups * VC_PEAK_FMA_WG * 4);
    VcPipelineDesc d = {.shader = "peak_fma", .bindings = "s", .push_size = sizeof(FmaPush)};
    FmaPush pc = {iters, a, b};
    vc_dispatch(cmd, vc_pipeline_get(vc_cmd_context(cmd), &d), &sums, 1, &pc, groups, 1, 1, "peak_fma",
                vc_peak_fma_flops(groups, iters), (double)groups * VC_PEAK_FMA_WG * 4);
    vc_cmd_op_end(cmd);
}

void vc_peak_copy(VcCmd *cmd, VcBuffer dst, VcBuffer src, uint32_t n, bool texel) {
    vc_cmd_op_begin(cmd, "n %u vec4", n);
    VC_ASSERT(n >= 1 && dst.size >= (size_t)n * 16 && src.size >= (size_t)n * 16);
    VcPipelineDesc d = {.shader = texel ? "peak_copy_texel" : "peak_copy", .bindings = texel ? "st" : "ss",
                        .push_size = sizeof(CopyPush)};
    uint32_t per_inv = 1;
    uint32_t groups = (n + VC_PEAK_FMA_WG * per_inv - 1) / (VC_PEAK_FMA_WG * per_inv);
    while (groups > 65535) { /* large buffers: more per invocation, within the loop limit */
        per_inv *= 2;
        VC_ASSERT(per_inv <= VC_PEAK_COPY_MAX_PER_INV);
        groups = (n + VC_PEAK_FMA_WG * per_inv - 1) / (VC_PEAK_FMA_WG * per_inv);
    }
    CopyPush pc = {n, per_inv};
    VcBuffer b[2] = {vc_buffer_slice(dst, 0, (size_t)n * 16), vc_buffer_slice(src, 0, (size_t)n * 16)};
    vc_dispatch(cmd, vc_pipeline_get(vc_cmd_context(cmd), &d), b, 2, &pc, groups, 1, 1, d.shader, 0, 32.0 * n);
    vc_cmd_op_end(cmd);
}

/* Best GPU ms of `reps` runs of a recorded one-dispatch command (after one warm-up). */
static double best_ms(VcCmd *cmd, int reps) {
    double best = 1e30;
    vc_cmd_run(cmd);
    for (int r = 0; r < reps; r++) {
        vc_cmd_run(cmd);
        int n = 0;
        const VcTiming *t = vc_cmd_timings(cmd, &n);
        if (n == 1 && t[0].ms < best) best = t[0].ms;
    }
    return best;
}

int vc_peak_measure(VcContext *ctx, VcPeakRates *out) {
    const VcDeviceInfo *info = vc_context_info(ctx);
    if (!info->timestamps) {
        vc_set_error("%s has no timestamp queries on its compute queue: cannot time the peak shaders", info->name);
        return VC_ERR;
    }
    const double min_ms = 20;
    const uint32_t iters = 1024;
    /* FMA: grow the grid until one dispatch is long enough to time well */
    uint32_t max_groups = 1u << 16;
    VcBuffer sums;
    if (vc_buffer_alloc(ctx, (size_t)max_groups * VC_PEAK_FMA_WG * 4, "peak_fma sums", &sums) != VC_OK) return VC_ERR_OOM;
    double gflops = 0;
    for (uint32_t groups = 64;; groups *= 2) {
        VcCmd *cmd = vc_cmd_new(ctx, true);
        vc_peak_fma(cmd, sums, groups, iters, 1.0f, 1.0f / 1024);
        double ms = best_ms(cmd, 5);
        vc_cmd_free(cmd);
        gflops = vc_peak_fma_flops(groups, iters) / (ms * 1e6);
        if (ms >= min_ms || groups == max_groups) break;
    }
    vc_buffer_free(ctx, &sums);
    /* bandwidth: two buffers of up to 64 MiB (past the last-level cache of CPUs) */
    size_t bytes = (size_t)64 << 20;
    if (bytes > info->max_storage_buffer_range) bytes = info->max_storage_buffer_range / 16 * 16;
    VcBuffer src, dst;
    if (vc_buffer_alloc(ctx, bytes, "peak_copy src", &src) != VC_OK) return VC_ERR_OOM;
    if (vc_buffer_alloc(ctx, bytes, "peak_copy dst", &dst) != VC_OK) {
        vc_buffer_free(ctx, &src);
        return VC_ERR_OOM;
    }
    VcCmd *fill = vc_cmd_new(ctx, true); /* the transfer path's fill, for comparison with fill shaders */
    vc_cmd_fill(fill, dst, bytes, 0);
    double fill_ms = best_ms(fill, 5);
    vc_cmd_free(fill);
    uint32_t n = (uint32_t)(bytes / 16);
    if (n > info->max_texel_buffer_elements) n = info->max_texel_buffer_elements;
    double ms = 1e30;
    for (int texel = 0; texel < 2; texel++) {
        VcCmd *cmd = vc_cmd_new(ctx, true);
        vc_peak_copy(cmd, dst, src, n, texel);
        ms = VC_MIN(ms, best_ms(cmd, 5));
        vc_cmd_free(cmd);
    }
    vc_buffer_free(ctx, &src);
    vc_buffer_free(ctx, &dst);
    out->gflops = gflops;
    out->gbps = 32.0 * n / (ms * 1e6);
    out->fill_gbps = (double)bytes / (fill_ms * 1e6);
    return VC_OK;
}

void vc_peak_cache_path(const VcContext *ctx, char *out, size_t n) {
    const char *own = getenv("VKCONTRAST_PEAK_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char dir[400];
    if (own && *own) snprintf(dir, sizeof dir, "%s", own);
    else if (xdg && *xdg) snprintf(dir, sizeof dir, "%s/vkcontrast", xdg);
    else if (home && *home) snprintf(dir, sizeof dir, "%s/.cache/vkcontrast", home);
    else {
        out[0] = 0;
        return;
    }
    const VcDeviceInfo *info = vc_context_info(ctx);
    char uuid[2 * VK_UUID_SIZE + 1];
    for (unsigned i = 0; i < VK_UUID_SIZE; i++) snprintf(uuid + 2 * i, 3, "%02x", info->uuid[i]);
    snprintf(out, n, "%s/peak-%s.json", dir, uuid);
}

static bool load_cache(const VcContext *ctx, const char *path, VcPeakRates *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char text[4096];
    size_t len = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    VcJsonError err;
    VcJson *j = vc_json_parse(text, len, &err);
    bool ok = false;
    double g = 0, b = 0, fb = 0;
    if (j && j->type == VC_JSON_OBJECT) {
        const VcJson *drv = vc_json_get(j, "driver");
        ok = drv && drv->type == VC_JSON_STRING && !strcmp(vc_json_string(drv), vc_context_info(ctx)->driver) &&
             vc_json_number(vc_json_get(j, "gflops"), &g) == VC_OK && vc_json_number(vc_json_get(j, "gbps"), &b) == VC_OK &&
             vc_json_number(vc_json_get(j, "fill_gbps"), &fb) == VC_OK && g > 0 && b > 0 && fb > 0;
    }
    vc_json_free(j);
    if (ok) out->gflops = g, out->gbps = b, out->fill_gbps = fb;
    return ok;
}

static void save_cache(const VcContext *ctx, const char *path, const VcPeakRates *r) {
    char dir[600];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) /* mkdir -p of the folder */
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0755);
            *p = '/';
        }
    VcJsonWriter w;
    vc_json_writer_init(&w, 2);
    vc_json_begin_object(&w);
    vc_json_field_string(&w, "device", vc_context_info(ctx)->name);
    vc_json_field_string(&w, "driver", vc_context_info(ctx)->driver);
    vc_json_field_number(&w, "gflops", r->gflops);
    vc_json_field_number(&w, "gbps", r->gbps);
    vc_json_field_number(&w, "fill_gbps", r->fill_gbps);
    vc_json_end_object(&w);
    if (vc_json_writer_save(&w, path) != VC_OK) /* a cache: failing to write it is not fatal */
        fprintf(stderr, "vkcontrast: note: %s\n", vc_last_error());
}

int vc_peak_get(VcContext *ctx, bool remeasure, VcPeakRates *out, bool *cached) {
    char path[600];
    vc_peak_cache_path(ctx, path, sizeof path);
    *cached = false;
    if (!remeasure && path[0] && load_cache(ctx, path, out)) {
        *cached = true;
        return VC_OK;
    }
    VcPeakRates r, old;
    int st = vc_peak_measure(ctx, &r);
    if (st != VC_OK) return st;
    /* a peak is the best the device has shown: a run that shared the device (on lavapipe,
     * the CPU) with other work measures less and must not replace a better one */
    if (path[0] && load_cache(ctx, path, &old))
        r.gflops = VC_MAX(r.gflops, old.gflops), r.gbps = VC_MAX(r.gbps, old.gbps), r.fill_gbps = VC_MAX(r.fill_gbps, old.fill_gbps);
    if (path[0]) save_cache(ctx, path, &r);
    *out = r;
    return VC_OK;
}
