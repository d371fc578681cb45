/* util.c — error reporting, assertions and the one allocation path (see util.h). */
#include "util.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static _Thread_local char g_error[1024];

void vc_set_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_error, sizeof g_error, fmt, ap);
    va_end(ap);
}

const char *vc_last_error(void) { return g_error; }

void vc_assert_fail(const char *expr, const char *file, int line) {
    fprintf(stderr, "vkcontrast: internal error: assertion '%s' failed at %s:%d\n", expr, file, line);
    fflush(stderr);
    abort();
}

static void *check_alloc(void *p, size_t n) {
    if (!p && n) {
        fprintf(stderr, "vkcontrast: out of host memory (asked for %zu bytes)\n", n);
        abort();
    }
    return p;
}

void *vc_malloc(size_t n) { return check_alloc(malloc(n ? n : 1), n); }
void *vc_calloc(size_t count, size_t size) { return check_alloc(calloc(count ? count : 1, size ? size : 1), count * size); }
void *vc_realloc(void *p, size_t n) { return check_alloc(realloc(p, n ? n : 1), n); }
char *vc_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(vc_malloc(n), s, n);
}

int vc_mul_size(size_t a, size_t b, size_t *out) {
    if (a && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

int vc_add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

double vc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
