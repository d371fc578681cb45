/* ref/moco.c — double-precision references for MoCo's logits and queue (see ref/moco.h). */
#include "ref/moco.h"

void ref_moco_logits(int R, int D, int K, int off, double T, double *logits, const double *q, const double *k,
                     const double *queue) {
    for (int i = 0; i < R; i++) {
        const double *qi = q + (long)i * D, *kp = k + (long)((i + off) % R) * D;
        double pos = 0;
        for (int d = 0; d < D; d++) pos += qi[d] * kp[d];
        logits[(long)i * (K + 1)] = pos / T;
        for (int r = 0; r < K; r++) {
            double s = 0;
            for (int d = 0; d < D; d++) s += qi[d] * queue[(long)r * D + d];
            logits[(long)i * (K + 1) + 1 + r] = s / T;
        }
    }
}

void ref_moco_logits_backward(int R, int D, int K, int off, double T, double *d_q, const double *d_logits, const double *k,
                              const double *queue) {
    for (int i = 0; i < R; i++) {
        const double *dl = d_logits + (long)i * (K + 1), *kp = k + (long)((i + off) % R) * D;
        for (int d = 0; d < D; d++) {
            double s = dl[0] * kp[d];
            for (int r = 0; r < K; r++) s += dl[1 + r] * queue[(long)r * D + d];
            d_q[(long)i * D + d] = s / T;
        }
    }
}

void ref_moco_enqueue(int E, int D, int K, long s, double *queue, const double *k) {
    for (int j = 0; j < E; j++) {
        long slot = (s * (long)E + j) % K;
        for (int d = 0; d < D; d++) queue[slot * D + d] = k[(long)j * D + d];
    }
}
