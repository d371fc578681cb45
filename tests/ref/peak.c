/* ref/peak.c — references of peak_fma.comp (see the shader for the chains' start values).
 * peak_copy.comp needs none: its reference is memcpy. */
#include "ref/peak.h"

#include <math.h>

double ref_peak_fma_start(uint32_t gid, int k, int c) { return (gid & 255u) / 1024.0 + c / 32.0 + k / 8.0; }

double ref_peak_fma_closed(double x0, uint32_t iters, double a, double b) {
    double an = pow(a, iters), geo = a == 1.0 ? (double)iters : (1.0 - an) / (1.0 - a);
    return an * x0 + b * geo;
}

float ref_peak_fma(uint32_t gid, uint32_t iters, float a, float b) {
    float v[8][4];
    for (int k = 0; k < 8; k++)
        for (int c = 0; c < 4; c++) v[k][c] = (float)ref_peak_fma_start(gid, k, c);
    for (uint32_t i = 0; i < iters; i++)
        for (int k = 0; k < 8; k++)
            for (int c = 0; c < 4; c++) v[k][c] = fmaf(v[k][c], a, b);
    float s[4];
    for (int c = 0; c < 4; c++)
        s[c] = ((v[0][c] + v[1][c]) + (v[2][c] + v[3][c])) + ((v[4][c] + v[5][c]) + (v[6][c] + v[7][c]));
    return (s[0] + s[1]) + (s[2] + s[3]);
}
