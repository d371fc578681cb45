/* profile.c — sums of per-dispatch timings by (op, layer) and by layer pass; the table.
 * See profile.h for what is kept and how layer passes are named. */
#include "vk/profile.h"

#include <stdlib.h>
#include <string.h>

void vc_profile_init(VcProfile *p) { memset(p, 0, sizeof *p); }

void vc_profile_free(VcProfile *p) {
    free(p->rows);
    free(p->spans);
    memset(p, 0, sizeof *p);
}

static bool same(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }

static VcProfileRow *row_for(VcProfileRow **rows, int *n, int *cap, const char *label, const char *group, const char *span) {
    for (int i = 0; i < *n; i++) {
        VcProfileRow *r = &(*rows)[i];
        if (span ? !strcmp(r->span, span) : same(r->label, label) && same(r->group, group)) return r;
    }
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *rows = vc_realloc(*rows, sizeof **rows * (size_t)*cap);
    }
    VcProfileRow *r = &(*rows)[(*n)++];
    memset(r, 0, sizeof *r);
    snprintf(r->label, sizeof r->label, "%s", label ? label : "");
    snprintf(r->group, sizeof r->group, "%s", group ? group : "");
    if (span) snprintf(r->span, sizeof r->span, "%s", span);
    return r;
}

/* Name of the k-th (0-based) run of a group that has `runs` runs in the step. */
static void span_name(char *out, size_t n, const char *group, int k, int runs) {
    if (runs == 1) snprintf(out, n, "%s", group);
    else if (runs == 2) snprintf(out, n, "%s %s", group, k == 0 ? "fwd" : "bwd");
    else snprintf(out, n, "%s #%d", group, k + 1);
}

void vc_profile_add(VcProfile *p, const VcTiming *t, int n) {
    if (!t || n <= 0) return;
    p->steps++;
    p->dispatches = n;
    for (int i = 0; i < n; i++) {
        VcProfileRow *r = row_for(&p->rows, &p->nrows, &p->cap_rows, t[i].label, t[i].group, NULL);
        r->calls++;
        r->ms += t[i].ms;
        r->flops += t[i].flops;
        r->bytes += t[i].bytes;
        p->gpu_ms += t[i].ms;
    }
    /* contiguous runs of one group: a layer's forward or backward pass */
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && same(t[j + 1].group, t[i].group)) j++;
        if (t[i].group) {
            int runs = 0, k = 0;
            for (int a = 0; a < n; a++)
                if (same(t[a].group, t[i].group) && (a == 0 || !same(t[a - 1].group, t[i].group))) {
                    if (a < i) k++;
                    runs++;
                }
            char name[48];
            span_name(name, sizeof name, t[i].group, k, runs);
            VcProfileRow *s = row_for(&p->spans, &p->nspans, &p->cap_spans, NULL, t[i].group, name);
            s->calls++;
            s->ms += t[j].start_ms + t[j].ms - t[i].start_ms;
            for (int a = i; a <= j; a++) s->flops += t[a].flops, s->bytes += t[a].bytes;
        }
        i = j + 1;
    }
}

static int by_time(const void *a, const void *b) {
    double d = ((const VcProfileRow *)b)->ms - ((const VcProfileRow *)a)->ms;
    return (d > 0) - (d < 0);
}

void vc_profile_sort(VcProfile *p) {
    if (p->nrows) qsort(p->rows, (size_t)p->nrows, sizeof *p->rows, by_time); /* NULL when empty */
    if (p->nspans) qsort(p->spans, (size_t)p->nspans, sizeof *p->spans, by_time);
}

double vc_profile_peak_pct(const VcProfileRow *r, const VcPeakRates *peak) {
    if (!peak || r->ms <= 0) return 0;
    double s = r->ms * 1e-3, f = 0, b = 0;
    if (peak->gflops > 0) f = r->flops / s * 1e-9 / peak->gflops;
    if (peak->gbps > 0) b = r->bytes / s * 1e-9 / peak->gbps;
    return 100 * (f > b ? f : b);
}

static void print_row(FILE *f, const char *name, const char *layer, const VcProfileRow *r, double step_ms, int steps,
                      const VcPeakRates *peak) {
    double s = r->ms * 1e-3;
    fprintf(f, "%-22s %-16s %6d %10.2f %6.1f%% %10.1f %9.2f %8.2f", name, layer, r->calls, r->ms,
            step_ms > 0 ? 100 * r->ms / steps / step_ms : 0, r->calls ? 1e3 * r->ms / r->calls : 0,
            s > 0 ? r->flops / s * 1e-9 : 0, s > 0 ? r->bytes / s * 1e-9 : 0);
    if (peak && (peak->gflops > 0 || peak->gbps > 0)) fprintf(f, " %6.1f%%", vc_profile_peak_pct(r, peak));
    fputc('\n', f);
}

static void header(FILE *f, const char *first, const char *second, bool with_peak) {
    fprintf(f, "%-22s %-16s %6s %10s %7s %10s %9s %8s%s\n", first, second, "calls", "total ms", "% step", "mean us", "GFLOP/s",
            "GB/s", with_peak ? " % peak" : "");
}

void vc_profile_print(FILE *f, VcProfile *p, const VcPeakRates *peak, int max_rows) {
    vc_profile_sort(p);
    bool wp = peak && (peak->gflops > 0 || peak->gbps > 0);
    double step_ms = p->steps ? p->gpu_ms / p->steps : 0;
    header(f, "op", "layer", wp);
    int shown = p->nrows < max_rows ? p->nrows : max_rows;
    double rest = 0;
    for (int i = 0; i < p->nrows; i++) {
        if (i < shown) print_row(f, p->rows[i].label, p->rows[i].group[0] ? p->rows[i].group : "-", &p->rows[i], step_ms, p->steps, peak);
        else rest += p->rows[i].ms;
    }
    if (shown < p->nrows)
        fprintf(f, "... %d more (op, layer) rows: %.1f%% of the step\n", p->nrows - shown, step_ms > 0 ? 100 * rest / p->steps / step_ms : 0);

    /* totals per op, all layers together */
    VcProfile ops;
    vc_profile_init(&ops);
    for (int i = 0; i < p->nrows; i++) {
        VcProfileRow *o = row_for(&ops.rows, &ops.nrows, &ops.cap_rows, p->rows[i].label, NULL, NULL);
        o->calls += p->rows[i].calls, o->ms += p->rows[i].ms, o->flops += p->rows[i].flops, o->bytes += p->rows[i].bytes;
    }
    vc_profile_sort(&ops);
    fprintf(f, "\nby op (all layers):\n");
    header(f, "op", "", wp);
    double top = 0;
    for (int i = 0; i < ops.nrows; i++) {
        print_row(f, ops.rows[i].label, "", &ops.rows[i], step_ms, p->steps, peak);
        if (wp) top = VC_MAX(top, vc_profile_peak_pct(&ops.rows[i], peak));
    }
    vc_profile_free(&ops);
    if (top > 100)
        fprintf(f, "(above 100%% of peak: an op ran from cache faster than the streaming copy, or the peak was\n"
                   " measured while other work shared the device: `vkcontrast bench peak --remeasure` keeps the better)\n");

    fprintf(f, "\nby layer pass (first dispatch start to last dispatch end):\n");
    header(f, "layer pass", "", wp);
    for (int i = 0; i < p->nspans; i++) print_row(f, p->spans[i].span, "", &p->spans[i], step_ms, p->steps, peak);
    fprintf(f, "\nGPU time per step: %.2f ms (sum of %d dispatches) over %d steps\n", step_ms, p->dispatches, p->steps);
}
