/* ref/loss.h — plain C references (double precision) for src/ops/loss.c: the oracle the
 * GPU kernels are tested against, and the readable statement of the math.
 *
 * Shapes: rows x D row-major for l2norm, rows x classes for cross-entropy, N2 x D for
 * NT-Xent (N2 = 2N views, positives i <-> i+N mod N2).
 */
#ifndef VC_TEST_REF_LOSS_H
#define VC_TEST_REF_LOSS_H

#include <stdint.h>

/* out = x / max(||x||, eps) per row; norms[r] = ||x_r|| (unclamped). */
void ref_l2norm_forward(int rows, int D, double *out, const double *x, double *norms, double eps);
/* d_x += d(out)/d(x)^T d_out: (d_out - out <d_out,out>) / ||x|| when ||x|| > eps, else
 * d_out / eps (the clamp is active, out = x / eps is linear in x). */
void ref_l2norm_backward(int rows, int D, double *d_x, const double *d_out, const double *out, const double *norms,
                         double eps);

/* Returns mean over rows of -log softmax(logits_r)[labels_r]; d_logits (may be NULL)
 * written with (softmax - onehot) * scale / rows. A label outside [0, classes) marks an
 * ignored row: it adds 0 to the loss sum (the mean still divides by rows) and its
 * d_logits row is 0. */
double ref_cross_entropy(int rows, int classes, const double *logits, const int32_t *labels, double scale,
                         double *d_logits);

/* NT-Xent: S = z z^T / T, diagonal excluded; returns the mean over the N2 rows of
 * -log softmax(S_i)[pos(i)], pos(i) = (i + N2/2) mod N2. dz (may be NULL) written with
 * the gradient of that mean with respect to z, treating z as free (no normalization
 * assumed): dz = (G + G^T) z, G = (P - Y) / (N2 T). */
double ref_ntxent(int N2, int D, double temperature, const double *z, double *dz);

#endif
