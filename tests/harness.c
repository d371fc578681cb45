/* harness.c — the test harness shared by every tests/test_*.c (see harness.h). */
#include "harness.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "vk/vk.h"

static int g_checks, g_failed;
static VcContext *g_ctx;

void th_check(int ok, const char *file, int line, const char *fmt, ...) {
    g_checks++;
    if (ok) return;
    g_failed++;
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

double th_nmse(const float *a, const float *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)ref[i];
        num += d * d;
        den += (double)ref[i] * (double)ref[i];
    }
    if (!isfinite(num)) return INFINITY;
    return num / (den > 1e-30 ? den : 1e-30);
}

double th_nmse_d(const float *a, const double *ref, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    if (!isfinite(num)) return INFINITY;
    return num / (den > 1e-30 ? den : 1e-30);
}

int th_check_nmse(const float *got, const float *ref, size_t n, double bound, const char *what, const char *file, int line) {
    double e = th_nmse(got, ref, n);
    int ok = e <= bound;
    if (!ok) {
        size_t worst = 0;
        double wd = -1;
        for (size_t i = 0; i < n; i++) {
            double d = fabs((double)got[i] - (double)ref[i]);
            if (!(d <= wd)) { wd = d; worst = i; }
        }
        th_check(0, file, line, "%s: nmse %.3g > bound %.3g; worst [%zu] got %.7g want %.7g; first: got %.6g %.6g %.6g want %.6g %.6g %.6g",
                 what, e, bound, worst, got[worst], ref[worst], n > 0 ? got[0] : 0.0, n > 1 ? got[1] : 0.0, n > 2 ? got[2] : 0.0,
                 n > 0 ? ref[0] : 0.0, n > 1 ? ref[1] : 0.0, n > 2 ? ref[2] : 0.0);
    } else {
        th_check(1, file, line, "%s", what);
    }
    if (getenv("VC_TEST_VERBOSE")) printf("  %-40s nmse %.3g (bound %.1g)\n", what, e, bound);
    return ok;
}

static uint64_t g_rng = 0x9E3779B97F4A7C15ull;
void th_seed(uint64_t seed) { g_rng = seed * 0x9E3779B97F4A7C15ull + 1; }
static uint64_t next_u64(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}
float th_uniform(float lo, float hi) { return lo + (hi - lo) * (float)((next_u64() >> 40) * (1.0 / 16777216.0)); }
float th_normal(void) {
    double u1 = ((next_u64() >> 11) + 1.0) * (1.0 / 9007199254740993.0);
    double u2 = (next_u64() >> 11) * (1.0 / 9007199254740992.0);
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
void th_fill_uniform(float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = th_uniform(lo, hi);
}
void th_fill_normal(float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = scale * th_normal();
}

char *th_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = vc_malloc((size_t)(n > 0 ? n : 0) + 1);
    *len = fread(s, 1, (size_t)(n > 0 ? n : 0), f);
    s[*len] = 0;
    fclose(f);
    return s;
}

VcContext *th_gpu(void) {
    if (g_ctx) return g_ctx;
    VcContextOptions opt = {.validation = 1, .pipeline_cache = 0};
    g_ctx = vc_context_new(&opt);
    if (!g_ctx) {
        fprintf(stderr, "FAIL: cannot open a Vulkan device: %s\n", vc_last_error());
        exit(1);
    }
    return g_ctx;
}

int th_finish(void) {
    if (g_ctx) {
        vc_context_free(g_ctx); /* destruction may itself report leaks */
        g_ctx = NULL;
        int msgs = vc_validation_message_total();
        g_checks++;
        if (msgs) {
            g_failed++;
            fprintf(stderr, "FAIL: the validation layer reported %d message(s)\n", msgs);
        }
    }
    printf("%d checks, %d failed\n", g_checks, g_failed);
    return g_failed ? 1 : 0;
}

float *th_fetch(VcContext *ctx, VcBuffer b, size_t offset, size_t n) {
    float *x = vc_malloc(n * sizeof(float));
    vc_buffer_download(ctx, b, offset * sizeof(float), x, n * sizeof(float));
    return x;
}
