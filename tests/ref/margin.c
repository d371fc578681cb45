/* margin.c (reference) — see margin.h. Written for clarity, O(N^2 D). */
#include "ref/margin.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double dot(const float *a, const float *b, int D) {
    double s = 0;
    for (int d = 0; d < D; d++) s += (double)a[d] * b[d];
    return s;
}

static uint32_t mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

int ref_triplet_random_negative(int N, uint32_t seed, uint32_t step, int i) {
    uint32_t c = mix32(mix32(mix32(seed ^ 0x74726970u) ^ step) + (uint32_t)i) % (uint32_t)(2 * N - 2);
    int n = (int)c;
    if (n >= i) n++;
    if (n >= N + i) n++;
    return n;
}

/* hardest negative of anchor i: largest similarity, lowest column on ties; *gap = best - second */
static int hardest(int N, int D, const float *z, int i, double *gap) {
    int best = -1;
    double sb = -INFINITY, s2 = -INFINITY;
    for (int j = 0; j < 2 * N; j++) {
        if (j == i || j == N + i) continue;
        double s = dot(z + (size_t)i * D, z + (size_t)j * D, D);
        if (s > sb) s2 = sb, sb = s, best = j;
        else if (s > s2) s2 = s;
    }
    if (gap) *gap = sb - s2;
    return best;
}

double ref_triplet(int N, int D, float margin, bool hard, uint32_t seed, uint32_t step, const float *z, float *dz,
                   int *neg) {
    if (dz) memset(dz, 0, (size_t)2 * N * D * sizeof(float));
    double loss = 0;
    for (int i = 0; i < N; i++) {
        int n = hard ? hardest(N, D, z, i, NULL) : ref_triplet_random_negative(N, seed, step, i), p = N + i;
        if (neg) neg[i] = n;
        const float *a = z + (size_t)i * D, *zn = z + (size_t)n * D, *zp = z + (size_t)p * D;
        double h = margin + dot(a, zn, D) - dot(a, zp, D);
        if (h <= 0) continue;
        loss += h;
        if (!dz) continue;
        for (int d = 0; d < D; d++) {
            dz[(size_t)i * D + d] += (float)((zn[d] - zp[d]) / N);
            dz[(size_t)n * D + d] += (float)(a[d] / N);
            dz[(size_t)p * D + d] -= (float)(a[d] / N);
        }
    }
    return loss / N;
}

double ref_triplet_kink_distance(int N, int D, float margin, bool hard, const float *z) {
    double dist = INFINITY;
    for (int i = 0; i < N; i++) {
        double gap;
        int n = hard ? hardest(N, D, z, i, &gap) : ref_triplet_random_negative(N, 0, 0, i);
        if (hard && gap < dist) dist = gap;
        double h = margin + dot(z + (size_t)i * D, z + (size_t)n * D, D) - dot(z + (size_t)i * D, z + (size_t)(N + i) * D, D);
        if (fabs(h) < dist) dist = fabs(h);
    }
    return dist;
}

/* v_i = z_i . (mean of block k's view-2 rows - mean of block k+1's) */
static double block_v(int N, int D, int b, const float *z, int i) {
    int first = i / b * b, next = (first + b) % N;
    double v = 0;
    for (int j = 0; j < b; j++)
        v += dot(z + (size_t)i * D, z + (size_t)(N + first + j) * D, D) - dot(z + (size_t)i * D, z + (size_t)(N + next + j) * D, D);
    return v / b;
}

double ref_block(int N, int D, int b, bool hinge, const float *z, float *dz) {
    if (dz) memset(dz, 0, (size_t)2 * N * D * sizeof(float));
    double loss = 0;
    for (int i = 0; i < N; i++) {
        double v = block_v(N, D, b, z, i), dv;
        if (hinge) {
            loss += v < 1 ? 1 - v : 0;
            dv = v < 1 ? -1 : 0;
        } else {
            loss += log1p(exp(-v));
            dv = -1 / (1 + exp(v));
        }
        if (!dz || dv == 0) continue;
        int first = i / b * b, next = (first + b) % N;
        double g = dv / ((double)N * b);
        for (int j = 0; j < b; j++) {
            const float *zp = z + (size_t)(N + first + j) * D, *zq = z + (size_t)(N + next + j) * D;
            for (int d = 0; d < D; d++) {
                dz[(size_t)i * D + d] += (float)(g * (zp[d] - zq[d]));
                dz[(size_t)(N + first + j) * D + d] += (float)(g * z[(size_t)i * D + d]);
                dz[(size_t)(N + next + j) * D + d] -= (float)(g * z[(size_t)i * D + d]);
            }
        }
    }
    return loss / N;
}

double ref_block_kink_distance(int N, int D, int b, const float *z) {
    double dist = INFINITY;
    for (int i = 0; i < N; i++) {
        double v = block_v(N, D, b, z, i);
        if (fabs(1 - v) < dist) dist = fabs(1 - v);
    }
    return dist;
}
