/* test_profile_table.c — vk/profile.c on hand-made timings (no GPU): rows by (op, layer)
 * summed over steps, layer passes named fwd/bwd by their order and timed from the first
 * dispatch's start to the last one's end, % of peak as the larger of the FLOP and byte
 * fractions, and the printed table sorted by total time. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "vk/profile.h"

int main(void) {
    /* one step: blocks.0 forward (2 dispatches), loss, blocks.0 backward, optimizer */
    VcTiming t[] = {
        {.label = "conv_fwd", .group = "blocks.0", .start_ms = 0, .ms = 2, .flops = 4e9, .bytes = 1e6},
        {.label = "relu_fwd", .group = "blocks.0", .start_ms = 2.5, .ms = 0.5, .bytes = 2e9},
        {.label = "ntxent", .group = "loss", .start_ms = 3, .ms = 1, .flops = 1e6},
        {.label = "conv_dgrad", .group = "blocks.0", .start_ms = 4, .ms = 3, .flops = 4e9},
        {.label = "conv_fwd", .group = "blocks.0", .start_ms = 7.25, .ms = 1, .flops = 1e9},
        {.label = "sgd", .group = NULL, .start_ms = 9, .ms = 0.5, .bytes = 1e9},
    };
    int n = (int)VC_COUNTOF(t);
    VcProfile p;
    vc_profile_init(&p);
    for (int s = 0; s < 3; s++) vc_profile_add(&p, t, n);
    vc_profile_add(&p, NULL, 0); /* a step without timings counts nothing */
    CHECK(p.steps == 3 && p.dispatches == n, "3 steps of %d dispatches (%d, %d)", n, p.steps, p.dispatches);
    CHECK(p.gpu_ms == 3 * 8.0, "GPU time = sum of dispatch times (%.2f)", p.gpu_ms);
    vc_profile_sort(&p);
    CHECK(p.nrows == 5, "rows by (op, layer): conv_fwd in blocks.0 is one row (%d rows)", p.nrows);
    CHECK(!strcmp(p.rows[0].label, "conv_fwd") && p.rows[0].calls == 6 && p.rows[0].ms == 9 && p.rows[0].flops == 15e9,
          "largest row: conv_fwd blocks.0, 6 calls, 9 ms, 15 GFLOP (%s %d %.2f)", p.rows[0].label, p.rows[0].calls, p.rows[0].ms);
    CHECK(!strcmp(p.rows[1].label, "conv_dgrad") && p.rows[1].ms == 9 && p.rows[2].ms == 3, "sorted by total time");
    bool fwd = false, bwd = false, loss = false;
    for (int i = 0; i < p.nspans; i++) {
        const VcProfileRow *s = &p.spans[i];
        if (!strcmp(s->span, "blocks.0 fwd")) fwd = s->calls == 3 && s->ms == 3 * 3.0 && s->flops == 3 * 4e9;
        if (!strcmp(s->span, "blocks.0 bwd")) bwd = s->calls == 3 && s->ms == 3 * 4.25 && s->flops == 3 * 5e9;
        if (!strcmp(s->span, "loss")) loss = s->calls == 3 && s->ms == 3.0;
    }
    CHECK(p.nspans == 3 && fwd && bwd && loss, "layer passes: blocks.0 fwd (3 ms incl. the gap), blocks.0 bwd, loss; none for "
                                               "ungrouped dispatches (%d spans)", p.nspans);
    /* conv_fwd: 15 GFLOP in 9 ms = 1667 GFLOP/s; bytes 3 MB -> 0.33 GB/s */
    VcPeakRates peak = {.gflops = 5000, .gbps = 100};
    CHECK(fabs(vc_profile_peak_pct(&p.rows[0], &peak) - 100.0 * (15e9 / 9e-3 / 1e9) / 5000) < 1e-9, "compute-bound %% of peak");
    const VcProfileRow *relu = NULL;
    for (int i = 0; i < p.nrows; i++)
        if (!strcmp(p.rows[i].label, "relu_fwd")) relu = &p.rows[i];
    CHECK(relu && fabs(vc_profile_peak_pct(relu, &peak) - 100.0 * (6e9 / 1.5e-3 / 1e9) / 100) < 1e-9, "memory-bound %% of peak");
    CHECK(vc_profile_peak_pct(&p.rows[0], NULL) == 0, "no peak: 0");

    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    vc_profile_print(f, &p, &peak, 3);
    fclose(f);
    CHECK(strstr(text, "% peak") && strstr(text, "... 2 more (op, layer) rows") && strstr(text, "by layer pass") &&
              strstr(text, "blocks.0 bwd") && strstr(text, "GPU time per step: 8.00 ms (sum of 6 dispatches) over 3 steps"),
          "printed table:\n%s", text);
    const char *a = strstr(text, "conv_fwd"), *b = strstr(text, "ntxent");
    CHECK(a && b && a < b, "table rows in time order");
    free(text);
    vc_profile_free(&p);
    return th_finish();
}
