/* peak.h — the device's measured fp32 FMA throughput and memory bandwidth (`bench peak`).
 *
 * Two dedicated shaders: peak_fma (long independent FMA chains, vec4, in every lane) and
 * peak_copy (a streaming vec4 copy, source as storage or texel buffer: the faster counts). Each is timed by GPU timestamps, the work doubled
 * until one dispatch takes at least 20 ms, and the best of 5 runs kept. For comparison with
 * fill shaders, the write rate of vkCmdFillBuffer (the transfer path) is measured too. The result is
 * cached per device UUID and driver in the cache folder of the pipeline cache
 * ($XDG_CACHE_HOME/vkcontrast or ~/.cache/vkcontrast, file peak-<uuid>.json; the folder
 * $VKCONTRAST_PEAK_CACHE instead when set, e.g. by tests); `profile`
 * reads it for its "% of peak" column and measures on first use.
 */
#ifndef VC_OPS_PEAK_H
#define VC_OPS_PEAK_H

#include <stdbool.h>

#include "vk/profile.h"
#include "vk/vk.h"

#define VC_PEAK_FMA_WG 64u      /* invocations per workgroup of peak_fma and peak_copy */
#define VC_PEAK_FMA_MAX_ITERS 4096u
#define VC_PEAK_COPY_MAX_PER_INV 64u

/* sums (groups*64 floats): per invocation, the sum of its 8 vec4 chains after `iters`
 * rounds of x = x*a + b. FLOPs: groups * 64 * iters * 64. */
void vc_peak_fma(VcCmd *cmd, VcBuffer sums, uint32_t groups, uint32_t iters, float a, float b);
double vc_peak_fma_flops(uint32_t groups, uint32_t iters);
/* dst = src, n vec4s (16-byte aligned buffers of at least 16n bytes), src read as a storage
 * buffer or (texel) an RGBA32F texel buffer. Bytes: 32n. */
void vc_peak_copy(VcCmd *cmd, VcBuffer dst, VcBuffer src, uint32_t n, bool texel);

/* Run both benchmarks (a few seconds on lavapipe). VC_OK, or an error (no timestamps, OOM). */
int vc_peak_measure(VcContext *ctx, VcPeakRates *out);
/* The cached result for this device and driver, measuring (and caching) when there is
 * none or when remeasure is set; a remeasurement keeps the better of the new and cached
 * figures (other work sharing the device only lowers them). *cached says which. */
int vc_peak_get(VcContext *ctx, bool remeasure, VcPeakRates *out, bool *cached);
/* Path of the cache file for this device ("" when no cache folder is known). */
void vc_peak_cache_path(const VcContext *ctx, char *out, size_t n);

#endif
