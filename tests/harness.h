/* harness.h — the one test harness: checks, normalized MSE, random data, finite differences.
 *
 * A test is an executable tests/test_<name>.c that calls CHECK/CHECK_NMSE and ends with
 * `return th_finish();` (exit status 0 only when every check held). GPU tests open the
 * device with th_gpu() — validation layer on — and th_finish() fails the test if the
 * layer reported anything.
 */
#ifndef VC_TEST_HARNESS_H
#define VC_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util.h"

/* Record one check; prints the message on failure (with file:line). */
#define CHECK(cond, ...) th_check((cond) != 0, __FILE__, __LINE__, __VA_ARGS__)
void th_check(int ok, const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Normalized MSE: sum((a-b)^2) / max(sum(b^2), tiny). b is the reference. */
double th_nmse(const float *a, const float *ref, size_t n);
double th_nmse_d(const float *a, const double *ref, size_t n);
/* Check nmse(got, ref) <= bound; on failure prints the worst element and the first values. */
#define CHECK_NMSE(got, ref, n, bound, what) th_check_nmse((got), (ref), (n), (bound), (what), __FILE__, __LINE__)
int th_check_nmse(const float *got, const float *ref, size_t n, double bound, const char *what, const char *file, int line);

/* Deterministic random data (xorshift): uniform in [lo, hi) and standard normal. */
void th_seed(uint64_t seed);
float th_uniform(float lo, float hi);
float th_normal(void);
void th_fill_uniform(float *x, size_t n, float lo, float hi);
void th_fill_normal(float *x, size_t n, float scale);

/* Whole file as a NUL-terminated string (length in *len), or NULL if it cannot be opened. */
char *th_read_file(const char *path, size_t *len);

/* Print "test <name>: N checks, M failed" and return the exit status (0 = all passed).
 * Also fails when the GPU context (if opened) reported validation messages. */
int th_finish(void);


/* Opens (once) the default Vulkan device with validation on; NULL-safe to call often.
 * Declared as void* here so CPU-only tests need no Vulkan headers. */
struct VcContext *th_gpu(void);
/* n floats of a device buffer from float offset `offset` into a new host array (free it). */
struct VcBuffer;
float *th_fetch(struct VcContext *ctx, struct VcBuffer b, size_t offset, size_t n);

#endif
