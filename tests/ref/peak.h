/* ref/peak.h — plain C references of the peak shaders (the readable spec). */
#ifndef VC_REF_PEAK_H
#define VC_REF_PEAK_H

#include <stdint.h>

/* peak_fma.comp for invocation gid: eight vec4 chains from their start values, `iters`
 * rounds of x = x*a + b (in float, as the shader), then the same summation order. */
float ref_peak_fma(uint32_t gid, uint32_t iters, float a, float b);
/* The closed form of one chain: a^n x0 + b (1 + a + ... + a^(n-1)), in double. */
double ref_peak_fma_closed(double x0, uint32_t iters, double a, double b);
/* Start value of chain k (0..7), component c (0..3) of invocation gid. */
double ref_peak_fma_start(uint32_t gid, int k, int c);

#endif
