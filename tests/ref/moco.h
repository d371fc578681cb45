/* ref/moco.h — plain C references (double) for ops/moco.h. queue here is (K, D): slot r of
 * the ring is row r (the device buffer keeps a zero row in front of it). */
#ifndef VC_REF_MOCO_H
#define VC_REF_MOCO_H

/* logits (R, K+1): [q_i . k_{(i+off) mod R}, q_i . queue_0..K-1] / T */
void ref_moco_logits(int R, int D, int K, int off, double T, double *logits, const double *q, const double *k,
                     const double *queue);
/* d_q (R, D) = gradient of sum(d_logits * logits) with respect to q (written) */
void ref_moco_logits_backward(int R, int D, int K, int off, double T, double *d_q, const double *d_logits, const double *k,
                              const double *queue);
/* the enqueue of 0-based step s: slot (s E + j) mod K = k_j for j < E */
void ref_moco_enqueue(int E, int D, int K, long s, double *queue, const double *k);

#endif
