/* report.c — report.html from a run folder's metrics.jsonl and config.json (see report.h).
 *
 * The page is built in memory (open_memstream) and written with vc_write_atomic. Charts
 * are hand-made SVG: a frame, min/max labels on both axes, a polyline through the points
 * and one circle per point carrying its exact value.
 */
#include "io/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/json.h"

#define MAX_EPOCHS 100000

typedef struct Series {
    const char *key, *title;
    double *y;
    bool *has;
    int count; /* points present */
} Series;

static char *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = vc_malloc(cap);
    for (size_t got; (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (cap - n < 2) buf = vc_realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static void html_escape(FILE *f, const char *s) {
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void base64(FILE *f, const unsigned char *p, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        fputc(tab[v >> 18 & 63], f);
        fputc(tab[v >> 12 & 63], f);
        fputc(i + 1 < n ? tab[v >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? tab[v & 63] : '=', f);
    }
}

/* One chart: x = epochs, y = the series' values where present. */
static void chart(FILE *f, const double *x, int n, const Series *s) {
    const double W = 440, H = 230, L = 64, R = 12, T = 28, B = 36;
    double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
    for (int i = 0; i < n; i++) {
        if (!s->has[i]) continue;
        x0 = fmin(x0, x[i]), x1 = fmax(x1, x[i]), y0 = fmin(y0, s->y[i]), y1 = fmax(y1, s->y[i]);
    }
    fprintf(f, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"chart-%s\" width=\"%g\" height=\"%g\" "
               "viewBox=\"0 0 %g %g\">\n", s->key, W, H, W, H);
    fprintf(f, "<text x=\"%g\" y=\"18\" class=\"title\">%s</text>\n", L, s->title);
    fprintf(f, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" class=\"frame\"/>\n", L, T, W - L - R, H - T - B);
    if (s->count == 0) {
        fprintf(f, "<text x=\"%g\" y=\"%g\">not measured in this run</text>\n</svg></figure>\n", L + 10, T + 30);
        return;
    }
    if (x1 == x0) x0 -= 1, x1 += 1;
    if (y1 == y0) y0 -= fabs(y0) > 0 ? 0.05 * fabs(y0) : 1, y1 += fabs(y1) > 0 ? 0.05 * fabs(y1) : 1;
    double sx = (W - L - R) / (x1 - x0), sy = (H - T - B) / (y1 - y0);
#define PX(v) (L + ((v) - x0) * sx)
#define PY(v) (H - B - ((v) - y0) * sy)
    fprintf(f, "<text x=\"%g\" y=\"%g\" class=\"tick\" text-anchor=\"end\">%.4g</text>\n", L - 4, T + 10, y1);
    fprintf(f, "<text x=\"%g\" y=\"%g\" class=\"tick\" text-anchor=\"end\">%.4g</text>\n", L - 4, H - B, y0);
    fprintf(f, "<text x=\"%g\" y=\"%g\" class=\"tick\">%.4g</text>\n", L, H - B + 16, x0);
    fprintf(f, "<text x=\"%g\" y=\"%g\" class=\"tick\" text-anchor=\"end\">%.4g</text>\n", W - R, H - B + 16, x1);
    fprintf(f, "<text x=\"%g\" y=\"%g\" class=\"tick\" text-anchor=\"middle\">epoch</text>\n", (L + W - R) / 2, H - 6);
    fprintf(f, "<polyline class=\"line\" points=\"");
    for (int i = 0; i < n; i++)
        if (s->has[i]) fprintf(f, "%.1f,%.1f ", PX(x[i]), PY(s->y[i]));
    fprintf(f, "\"/>\n");
    for (int i = 0; i < n; i++) {
        if (!s->has[i]) continue;
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" data-epoch=\"%g\" data-value=\"%.9g\"><title>epoch %g: %.6g</title></circle>\n",
                PX(x[i]), PY(s->y[i]), x[i], s->y[i], x[i], s->y[i]);
    }
#undef PX
#undef PY
    fprintf(f, "</svg></figure>\n");
}

static void profile_table(FILE *f, VcProfile *p) {
    vc_profile_sort(p);
    double step_ms = p->steps ? p->gpu_ms / p->steps : 0;
    fprintf(f, "<h2>Top ops (GPU timestamps, %d steps at the start of the run)</h2>\n", p->steps);
    fprintf(f, "<p>GPU time per step: %.2f ms over %d dispatches. Full table: <code>vkcontrast profile</code>.</p>\n", step_ms,
            p->dispatches);
    fprintf(f, "<table><tr><th>op</th><th>layer</th><th>calls/step</th><th>ms/step</th><th>%% of step</th><th>GFLOP/s</th>"
               "<th>GB/s</th></tr>\n");
    for (int i = 0; i < p->nrows && i < 10; i++) {
        const VcProfileRow *r = &p->rows[i];
        double s = r->ms * 1e-3;
        fputs("<tr><td>", f);
        html_escape(f, r->label);
        fputs("</td><td>", f);
        html_escape(f, r->group[0] ? r->group : "-");
        fprintf(f, "</td><td>%.1f</td><td>%.2f</td><td>%.1f</td><td>%.2f</td><td>%.2f</td></tr>\n", (double)r->calls / p->steps,
                r->ms / p->steps, step_ms > 0 ? 100 * r->ms / p->steps / step_ms : 0, s > 0 ? r->flops / s * 1e-9 : 0,
                s > 0 ? r->bytes / s * 1e-9 : 0);
    }
    fputs("</table>\n", f);
}

static const char *style =
    "body{font-family:system-ui,sans-serif;margin:24px;max-width:1000px;color:#222}"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}"
    "figure{display:inline-block;margin:0 12px 12px 0}"
    ".chart .frame{fill:none;stroke:#999}.chart .line{fill:none;stroke:#1f6fb4;stroke-width:2}"
    ".chart circle{fill:#1f6fb4}.chart .title{font-weight:bold;font-size:13px}.chart .tick{font-size:11px;fill:#555}"
    "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "td:first-child,td:nth-child(2),th{text-align:left}pre{background:#f6f6f6;padding:10px;font-size:12px}"
    "img.grid{image-rendering:pixelated;border:1px solid #ccc}";

int vc_report_write(const char *run_dir, VcProfile *prof, const char *grid_png) {
    char path[700];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
    size_t len = 0;
    char *metrics = read_all(path, &len);
    if (!metrics) {
        vc_set_error("report: cannot read %s: %s", path, strerror(errno));
        return VC_ERR_IO;
    }
    /* the per-epoch series */
    int cap = 64, n = 0;
    double *x = vc_malloc(sizeof(double) * (size_t)cap);
    Series series[] = {{.key = "loss", .title = "loss (mean over the epoch)"},
                       {.key = "knn_top1", .title = "kNN top-1 accuracy"},
                       {.key = "lr", .title = "learning rate (end of epoch)"},
                       {.key = "images_per_s", .title = "images/s"}};
    enum { NS = (int)VC_COUNTOF(series) };
    for (int k = 0; k < NS; k++) {
        series[k].y = vc_malloc(sizeof(double) * (size_t)cap);
        series[k].has = vc_malloc(sizeof(bool) * (size_t)cap);
    }
    int line_no = 0, st = VC_OK;
    for (char *line = metrics, *next; line && *line && n < MAX_EPOCHS; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        line_no++;
        if (!*line) continue;
        VcJsonError err;
        VcJson *j = vc_json_parse(line, strlen(line), &err);
        double epoch;
        if (!j || vc_json_number(vc_json_get(j, "epoch"), &epoch) != VC_OK) {
            vc_set_error("report: %s line %d: expected a JSON object with \"epoch\"%s%s", path, line_no, j ? "" : ": ",
                         j ? "" : err.message);
            vc_json_free(j);
            st = VC_ERR_FORMAT;
            break;
        }
        if (n == cap) {
            cap *= 2;
            x = vc_realloc(x, sizeof(double) * (size_t)cap);
            for (int k = 0; k < NS; k++) {
                series[k].y = vc_realloc(series[k].y, sizeof(double) * (size_t)cap);
                series[k].has = vc_realloc(series[k].has, sizeof(bool) * (size_t)cap);
            }
        }
        x[n] = epoch;
        for (int k = 0; k < NS; k++) {
            double v;
            series[k].has[n] = vc_json_number(vc_json_get(j, series[k].key), &v) == VC_OK && isfinite(v);
            series[k].y[n] = series[k].has[n] ? v : 0;
            series[k].count += series[k].has[n];
        }
        n++;
        vc_json_free(j);
    }
    free(metrics);
    char *config = NULL;
    if (st == VC_OK) {
        snprintf(path, sizeof path, "%s/config.json", run_dir);
        config = read_all(path, &len); /* optional: shown when present */
    }
    unsigned char *png = NULL;
    size_t png_len = 0;
    if (st == VC_OK && grid_png) png = (unsigned char *)read_all(grid_png, &png_len);

    char *page = NULL;
    size_t page_len = 0;
    FILE *f = st == VC_OK ? open_memstream(&page, &page_len) : NULL;
    if (f) {
        fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>vkcontrast run ");
        html_escape(f, run_dir);
        fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>vkcontrast run <code>", style);
        html_escape(f, run_dir);
        fprintf(f, "</code></h1>\n");
        if (n > 0) {
            fprintf(f, "<p>%d epoch%s logged; last: epoch %g", n, n == 1 ? "" : "s", x[n - 1]);
            if (series[0].has[n - 1]) fprintf(f, ", loss %.4f", series[0].y[n - 1]);
            if (series[1].count) {
                for (int i = n - 1; i >= 0; i--)
                    if (series[1].has[i]) {
                        fprintf(f, ", kNN top-1 %.2f%% (epoch %g)", 100 * series[1].y[i], x[i]);
                        break;
                    }
            }
            if (series[3].has[n - 1]) fprintf(f, ", %.0f images/s", series[3].y[n - 1]);
            fprintf(f, ".</p>\n");
        }
        fprintf(f, "<h2>Curves</h2>\n");
        for (int k = 0; k < NS; k++) chart(f, x, n, &series[k]);
        if (png && png_len) {
            fprintf(f, "<h2>Augmentation</h2>\n<p>Per row: an image, then augmented views made by the training shader.</p>\n");
            fprintf(f, "<img class=\"grid\" alt=\"augmentation grid\" src=\"data:image/png;base64,");
            base64(f, png, png_len);
            fprintf(f, "\">\n");
        }
        if (prof && prof->steps > 0) profile_table(f, prof);
        if (config) {
            fprintf(f, "<h2>Config</h2>\n<pre>");
            html_escape(f, config);
            fprintf(f, "</pre>\n");
        }
        fprintf(f, "</body>\n</html>\n");
        if (fclose(f) != 0) {
            vc_set_error("report: out of memory building the page");
            st = VC_ERR_IO;
        }
    } else if (st == VC_OK) {
        vc_set_error("report: out of memory building the page");
        st = VC_ERR_IO;
    }
    if (st == VC_OK) {
        snprintf(path, sizeof path, "%s/report.html", run_dir);
        const void *parts[1] = {page};
        size_t sizes[1] = {page_len};
        st = vc_write_atomic(path, parts, sizes, 1);
    }
    free(page);
    free(png);
    free(config);
    free(x);
    for (int k = 0; k < NS; k++) free(series[k].y), free(series[k].has);
    return st;
}
