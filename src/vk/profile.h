/* profile.h — per-dispatch GPU timings of a recorded step, summed over steps.
 *
 * A VcProfile takes the VcTimings of each completed submission (vc_cmd_timings) and keeps:
 *   rows    one per (op label, layer group): calls, GPU ms, FLOPs, bytes
 *   spans   one per contiguous run of dispatches of one group in the step ("blocks.1 fwd"):
 *           the time from the run's first dispatch start to its last dispatch end
 * A group that appears twice in a step (a layer's forward, then its backward) has its runs
 * named "<group> fwd" and "<group> bwd"; a group seen once keeps its name, more runs get
 * "#k". Percentages are of the summed dispatch time of a step.
 */
#ifndef VC_VK_PROFILE_H
#define VC_VK_PROFILE_H

#include <stdio.h>

#include "vk/vk.h"

typedef struct VcProfileRow {
    char label[40];    /* op (shader) name (copied: the VcCmd may be gone when printing) */
    char group[40];    /* layer group, "" for none */
    char span[48];     /* for spans: the run's name ("blocks.1 bwd") */
    int calls;
    double ms, flops, bytes;
} VcProfileRow;

typedef struct VcProfile {
    VcProfileRow *rows, *spans;
    int nrows, nspans, cap_rows, cap_spans;
    int steps;
    int dispatches; /* dispatches per step (of the last step added) */
    double gpu_ms;  /* summed dispatch time over all steps */
} VcProfile;

/* Device peaks used for the "% of peak" column; 0 where unknown. */
typedef struct VcPeakRates {
    double gflops; /* fp32 FMA throughput, GFLOP/s (an FMA is 2 FLOPs) */
    double gbps;   /* memory bandwidth, GB/s (streaming copy, read + write bytes) */
    double fill_gbps; /* vkCmdFillBuffer write rate, GB/s (not used for % of peak) */
} VcPeakRates;

void vc_profile_init(VcProfile *p);
void vc_profile_free(VcProfile *p);
/* Add one step's timings (n dispatches). */
void vc_profile_add(VcProfile *p, const VcTiming *t, int n);
/* Sort rows and spans by total time, largest first. */
void vc_profile_sort(VcProfile *p);
/* Percentage of a row's achieved rate against the peak: the larger of the FLOP and
 * byte fractions (the op's bound), or 0 when neither peak nor count is known. */
double vc_profile_peak_pct(const VcProfileRow *r, const VcPeakRates *peak);
/* Print the table (sorted first): top `max_rows` (op, layer) rows, then totals per op,
 * then the per-layer spans. peak may be NULL. */
void vc_profile_print(FILE *f, VcProfile *p, const VcPeakRates *peak, int max_rows);

#endif
