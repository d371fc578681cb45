/* test_core.c — the Vulkan core: buffers, upload/download, slices, recording and
 * resubmission, timestamps, the sub-allocator, and the out-of-memory message. */
#include <string.h>

#include "harness.h"
#include "ops/fill.h"
#include "vk/vk.h"

static void test_upload_download(VcContext *ctx) {
    size_t n = 1000003;
    float *src = vc_malloc(n * 4), *dst = vc_malloc(n * 4);
    th_fill_normal(src, n, 1.0f);
    VcBuffer b;
    CHECK(vc_buffer_alloc(ctx, n * 4, "test", &b) == VC_OK, "alloc");
    vc_buffer_upload(ctx, b, 0, src, n * 4);
    vc_buffer_download(ctx, b, 0, dst, n * 4);
    CHECK(memcmp(src, dst, n * 4) == 0, "round trip of %zu floats", n);
    vc_buffer_free(ctx, &b);
    free(src);
    free(dst);
}

static void test_fill_slices_resubmit(VcContext *ctx) {
    size_t n = 7 * 13 * 1001;
    VcBuffer b;
    CHECK(vc_buffer_alloc(ctx, n * 4, "fill", &b) == VC_OK, "alloc");
    /* fill the middle third through a slice, twice through one recording */
    size_t third = n / 3 / 64 * 64;
    VcCmd *cmd = vc_cmd_new(ctx, true);
    vc_fill(cmd, b, n, 1.5f);
    vc_fill(cmd, vc_buffer_slice(b, third * 4, third * 4), third, -2.0f);
    vc_cmd_run(cmd);
    float *x = vc_malloc(n * 4);
    vc_buffer_download(ctx, b, 0, x, n * 4);
    int bad = 0;
    for (size_t i = 0; i < n; i++) bad += x[i] != ((i >= third && i < 2 * third) ? -2.0f : 1.5f);
    CHECK(bad == 0, "fill + slice: %d wrong elements", bad);
    /* resubmit after the host changed the buffer: the recording runs again */
    memset(x, 0, n * 4);
    vc_buffer_upload(ctx, b, 0, x, n * 4);
    vc_cmd_submit(cmd);
    vc_cmd_submit(cmd); /* two in flight */
    vc_cmd_wait(cmd);
    vc_buffer_download(ctx, b, 0, x, n * 4);
    CHECK(x[0] == 1.5f && x[third] == -2.0f && x[n - 1] == 1.5f, "resubmitted recording ran");
    int count = 0;
    const VcTiming *t = vc_cmd_timings(cmd, &count);
    if (vc_context_info(ctx)->timestamps) {
        CHECK(count == 2 && t && !strcmp(t[0].label, "fill_buffer"), "two timed fills");
        for (int i = 0; i < count; i++) CHECK(t[i].ms >= 0 && t[i].ms < 10000, "timing %d = %g ms", i, t[i].ms);
    }
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &b);
    free(x);
}

static void test_allocator(VcContext *ctx) {
    /* many small buffers, free every other one, reallocate: memory accounting holds */
    enum { N = 300 };
    VcBuffer bufs[N];
    size_t base = vc_memory_in_use(ctx);
    for (int i = 0; i < N; i++) CHECK(vc_buffer_alloc(ctx, (size_t)(i * 37 + 5) * 4, "small", &bufs[i]) == VC_OK, "alloc %d", i);
    for (int i = 0; i < N; i += 2) vc_buffer_free(ctx, &bufs[i]);
    for (int i = 0; i < N; i += 2) CHECK(vc_buffer_alloc(ctx, (size_t)(i * 37 + 5) * 4, "again", &bufs[i]) == VC_OK, "realloc %d", i);
    /* distinct, non-overlapping ranges within each VkBuffer */
    int overlaps = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++)
            if (bufs[i].buf == bufs[j].buf && bufs[i].offset < bufs[j].offset + bufs[j].size &&
                bufs[j].offset < bufs[i].offset + bufs[i].size)
                overlaps++;
    CHECK(overlaps == 0, "%d overlapping ranges", overlaps);
    for (int i = 0; i < N; i++) vc_buffer_free(ctx, &bufs[i]);
    CHECK(vc_memory_in_use(ctx) == base, "all memory returned (%zu vs %zu)", vc_memory_in_use(ctx), base);
}

static void test_oom(VcContext *ctx) {
    VcBuffer b = {0};
    int st = vc_buffer_alloc(ctx, (size_t)1 << 50, "an absurd tensor", &b);
    CHECK(st == VC_ERR_OOM, "absurd allocation fails with VC_ERR_OOM (got %d)", st);
    CHECK(b.buf == VK_NULL_HANDLE, "output untouched on failure");
    CHECK(strstr(vc_last_error(), "an absurd tensor") != NULL, "message names the buffer: %s", vc_last_error());
    CHECK(strstr(vc_last_error(), "MiB") != NULL, "message gives sizes: %s", vc_last_error());
}

int main(void) {
    VcContext *ctx = th_gpu();
    const VcDeviceInfo *info = vc_context_info(ctx);
    printf("device: %s (%s), subgroup %u, shared %u B\n", info->name, info->type, info->subgroup_size, info->shared_memory);
    CHECK(info->subgroup_size > 0, "subgroup size known");
    test_upload_download(ctx);
    test_fill_slices_resubmit(ctx);
    test_allocator(ctx);
    test_oom(ctx);
    return th_finish();
}
