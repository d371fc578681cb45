/* util.h — errors, assertions, allocation and small helpers shared by every module.
 *
 * Recoverable errors (bad input, missing file, out of memory) are reported stb-style:
 * the failing function returns a non-zero status (or NULL) and leaves its outputs
 * untouched; the reason is stored with vc_set_error() and read with vc_last_error().
 * Internal invariants use VC_ASSERT, which is never compiled out and never used for
 * user input.
 */
#ifndef VC_UTIL_H
#define VC_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Status codes returned by fallible functions. */
enum { VC_OK = 0, VC_ERR = -1, VC_ERR_OOM = -2, VC_ERR_IO = -3, VC_ERR_FORMAT = -4, VC_ERR_ARG = -5 };

/* Store a printf-style message as the reason of the last failure (thread-local). */
void vc_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The reason of the last failure, or "" when none was set. */
const char *vc_last_error(void);

/* Always-on internal invariant: prints the expression and file:line, then aborts. */
#define VC_ASSERT(cond)                                                                     \
    do {                                                                                    \
        if (!(cond)) vc_assert_fail(#cond, __FILE__, __LINE__);                             \
    } while (0)
_Noreturn void vc_assert_fail(const char *expr, const char *file, int line);

/* Allocation through one place: aborts with a message if the host is out of memory. */
void *vc_malloc(size_t n);
void *vc_calloc(size_t count, size_t size);
void *vc_realloc(void *p, size_t n);
char *vc_strdup(const char *s);

/* Overflow-checked size arithmetic for sizes read from files: return 0 on overflow. */
int vc_mul_size(size_t a, size_t b, size_t *out);
int vc_add_size(size_t a, size_t b, size_t *out);

/* Monotonic wall clock in seconds. */
double vc_now(void);

#define VC_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VC_MAX(a, b) ((a) > (b) ? (a) : (b))
#define VC_CEIL_DIV(a, b) (((a) + (b)-1) / (b))
#define VC_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

#endif
