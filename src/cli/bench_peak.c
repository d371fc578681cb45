/* bench_peak.c — `vkcontrast bench peak [--json] [--remeasure] [--device N|NAME]`: the device's
 * fp32 FMA throughput and memory bandwidth from dedicated shaders (ops/peak.c), cached per
 * device; the peer in the same run is the device's own best case, which `profile` divides by. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "ops/peak.h"

int cmd_bench_peak(int argc, char **argv) {
    bool json = false, remeasure = false;
    const char *device = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) json = true;
        else if (!strcmp(argv[i], "--remeasure")) remeasure = true;
        else if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: vkcontrast bench peak [--json] [--remeasure] [--device N|NAME]\n\n"
                   "Measures fp32 multiply-add throughput (peak_fma.comp: 8 independent vec4 FMA chains per\n"
                   "invocation) and memory bandwidth (peak_copy.comp: streaming vec4 copy, read + write bytes)\n"
                   "with GPU timestamps, and caches the result per device UUID and driver. `profile` reports\n"
                   "each op's achieved rate as %% of these. --remeasure measures again and keeps the better of\n"
                   "the new and cached figures (a device shared with other work measures low); delete the\n"
                   "cache file to start over.\n");
            return 0;
        } else return cli_fail("bench peak: unknown option '%s' (expected --json, --remeasure or --device N|NAME)", argv[i]);
    }
    VcContextOptions co = {.device = device, .validation = -1, .pipeline_cache = 1};
    VcContext *ctx = vc_context_new(&co);
    if (!ctx) return cli_fail("bench peak: %s", vc_last_error());
    VcPeakRates r;
    bool cached = false;
    int st = vc_peak_get(ctx, remeasure, &r, &cached);
    if (st != VC_OK) {
        vc_context_free(ctx);
        return cli_fail("bench peak: %s", vc_last_error());
    }
    char path[600];
    vc_peak_cache_path(ctx, path, sizeof path);
    const VcDeviceInfo *info = vc_context_info(ctx);
    if (json)
        printf("{\"device\": \"%s\", \"fp32_gflops\": %.3f, \"bandwidth_gbps\": %.3f, \"fill_gbps\": %.3f, \"cached\": %s}\n",
               info->name, r.gflops, r.gbps, r.fill_gbps, cached ? "true" : "false");
    else
        printf("device %s\nfp32 FMA   %10.1f GFLOP/s\nbandwidth  %10.1f GB/s (copy shader: read + write)\n"
               "fill       %10.1f GB/s (vkCmdFillBuffer, for comparison with fill shaders)\n%s %s\n",
               info->name, r.gflops, r.gbps, r.fill_gbps, cached ? "cached in" : "measured; cached in",
               path[0] ? path : "(no cache folder)");
    vc_context_free(ctx);
    return 0;
}
