/* devices.c — `vkcontrast devices [--json]`: every Vulkan device and what vkcontrast
 * uses of it (DESIGN.md, Devices). The default pick is marked with '*'. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "vk/vk.h"

#define MAX_DEVICES 16

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static const char *yes(bool b) { return b ? "yes" : "no"; }
static const char *jbool(bool b) { return b ? "true" : "false"; }

static void print_text(const VcDeviceInfo *d, bool chosen) {
    printf("%c %d: %s\n", chosen ? '*' : ' ', d->index, d->name);
    printf("    vendor        %s (0x%04x), device 0x%04x, type %s\n", d->vendor, d->vendor_id, d->device_id, d->type);
    printf("    driver        %s, Vulkan %u.%u.%u\n", d->driver, VK_API_VERSION_MAJOR(d->api_version),
           VK_API_VERSION_MINOR(d->api_version), VK_API_VERSION_PATCH(d->api_version));
    for (int h = 0; h < d->heap_count; h++)
        printf("    memory heap %d %.0f MiB%s\n", h, d->heap_size[h] / 1048576.0, d->heap_device_local[h] ? " device-local" : "");
    printf("    unified mem   %s\n", yes(d->unified_memory));
    printf("    subgroup      %u, shared memory %u KiB, max workgroup %u\n", d->subgroup_size, d->shared_memory / 1024,
           d->max_workgroup_invocations);
    printf("    fp16 %s, int8 %s, 8-bit storage %s, 16-bit storage %s, cooperative matrix %s\n", yes(d->fp16), yes(d->int8),
           yes(d->storage8), yes(d->storage16), yes(d->coop_matrix));
    if (d->timestamps) printf("    timestamps    %.3g ns per tick, %u valid bits\n", d->timestamp_period_ns, d->timestamp_valid_bits);
    else printf("    timestamps    not supported on the compute queue\n");
}

static void print_json(const VcDeviceInfo *d, bool chosen, bool last) {
    printf("  {\"index\": %d, \"name\": ", d->index);
    json_string(d->name);
    printf(", \"vendor\": ");
    json_string(d->vendor);
    printf(", \"vendor_id\": %u, \"device_id\": %u, \"type\": \"%s\", \"driver\": ", d->vendor_id, d->device_id, d->type);
    json_string(d->driver);
    printf(", \"api_version\": \"%u.%u.%u\", \"default\": %s,\n   \"memory_heaps\": [", VK_API_VERSION_MAJOR(d->api_version),
           VK_API_VERSION_MINOR(d->api_version), VK_API_VERSION_PATCH(d->api_version), jbool(chosen));
    for (int h = 0; h < d->heap_count; h++)
        printf("%s{\"size\": %llu, \"device_local\": %s}", h ? ", " : "", (unsigned long long)d->heap_size[h],
               jbool(d->heap_device_local[h]));
    printf("], \"unified_memory\": %s,\n   \"subgroup_size\": %u, \"shared_memory\": %u, \"max_workgroup_invocations\": %u,\n",
           jbool(d->unified_memory), d->subgroup_size, d->shared_memory, d->max_workgroup_invocations);
    printf("   \"fp16\": %s, \"int8\": %s, \"storage_8bit\": %s, \"storage_16bit\": %s, \"cooperative_matrix\": %s,\n",
           jbool(d->fp16), jbool(d->int8), jbool(d->storage8), jbool(d->storage16), jbool(d->coop_matrix));
    printf("   \"timestamps\": %s, \"timestamp_period_ns\": %g, \"timestamp_valid_bits\": %u}%s\n", jbool(d->timestamps),
           d->timestamp_period_ns, d->timestamp_valid_bits, last ? "" : ",");
}

int cmd_devices(int argc, char **argv) {
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--help")) {
            puts("usage: vkcontrast devices [--json]\n\nLists every Vulkan device; '*' marks the one training would use\n"
                 "(--device N|NAME, else $VKCONTRAST_DEVICE, else discrete > integrated > virtual > cpu).");
            return 0;
        } else return cli_fail("devices: unknown option '%s' (expected --json)", argv[i]);
    }
    VcDeviceInfo devs[MAX_DEVICES];
    int n = vc_devices_list(devs, MAX_DEVICES);
    if (n == 0) return cli_fail("%s", vc_last_error());
    /* the default pick, by the same rule the context uses */
    VcContextOptions opt = {.validation = 0, .pipeline_cache = 0};
    VcContext *ctx = vc_context_new(&opt);
    int chosen = -1;
    if (ctx) {
        const VcDeviceInfo *c = vc_context_info(ctx);
        for (int i = 0; i < n; i++)
            if (!memcmp(devs[i].uuid, c->uuid, VK_UUID_SIZE) && !strcmp(devs[i].name, c->name)) chosen = i;
        vc_context_free(ctx);
    }
    if (json) puts("[");
    for (int i = 0; i < n; i++) {
        if (json) print_json(&devs[i], i == chosen, i == n - 1);
        else print_text(&devs[i], i == chosen);
    }
    if (json) puts("]");
    return 0;
}
