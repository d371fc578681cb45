/* ref/norm.h — plain C references (double precision) for the ops of src/ops/norm.h.
 *
 * These are the readable spec and the oracle of tests/test_batchnorm.c and
 * tests/test_elementwise.c: straightforward loops, no tricks, double everywhere so that
 * central finite differences on them are accurate. Layouts and semantics match norm.h:
 * x is (B, C, HW) row-major (NCHW with HW = H*W; BatchNorm1d is HW = 1), backward
 * functions accumulate (+=) into their d_ outputs.
 */
#ifndef VC_REF_NORM_H
#define VC_REF_NORM_H

#include <stdbool.h>
#include <stddef.h>

/* BatchNorm as PyTorch. training: normalise with the batch mean and the biased variance
 * over n = B*HW values per channel, write save_mean/save_invstd (C), and update
 * running_mean/running_var (C) with momentum (the running variance takes the unbiased
 * variance, n/(n-1); n = 1 leaves it as the biased one, 0). eval: normalise with the
 * running statistics; save_* untouched (may be NULL). */
void ref_batchnorm_forward(int B, int C, int HW, double *out, const double *x, const double *gamma, const double *beta,
                           double *running_mean, double *running_var, double *save_mean, double *save_invstd,
                           bool training, double momentum, double eps);
/* Training-mode backward: d_x (B,C,HW) +=, d_gamma (C) +=, d_beta (C) +=. */
void ref_batchnorm_backward(int B, int C, int HW, double *d_x, double *d_gamma, double *d_beta, const double *d_out,
                            const double *x, const double *gamma, const double *save_mean, const double *save_invstd);

/* Grouped BatchNorm (norm.h, VcBnGroups; MoCo's Shuffle-BN): each of the `groups` groups
 * is normalized with its own statistics by ref_batchnorm_forward on a copy of its samples;
 * save_* are (groups, C); the running statistics are the mean over groups of what each
 * group's own update would give. Group membership: the batch is `views` blocks, each cut
 * into gv = groups/views groups of B/groups samples, runs of consecutive samples or
 * (interleave) every gv-th sample. groups = 1 is ref_batchnorm_forward. */
void ref_batchnorm_forward_grouped(int B, int C, int HW, int groups, int views, bool interleave, double *out, const double *x,
                                   const double *gamma, const double *beta, double *running_mean, double *running_var,
                                   double *save_mean, double *save_invstd, double momentum, double eps);
/* Its backward: ref_batchnorm_backward per group, parameter gradients summed. */
void ref_batchnorm_backward_grouped(int B, int C, int HW, int groups, int views, bool interleave, double *d_x, double *d_gamma,
                                    double *d_beta, const double *d_out, const double *x, const double *gamma,
                                    const double *save_mean, const double *save_invstd);
/* Sample index of member i of group g (the layout above). */
int ref_bn_group_member(int B, int groups, int views, bool interleave, int g, int i);

void ref_relu_forward(size_t n, double *out, const double *x);                       /* out = max(x, 0) */
void ref_relu_backward(size_t n, double *d_x, const double *d_out, const double *out); /* d_x += d_out (out > 0) */
void ref_add(size_t n, double *out, const double *a, const double *b);                /* out = a + b */
void ref_axpy(size_t n, double *y, double alpha, const double *x);                    /* y += alpha x */
void ref_scale(size_t n, double *x, double alpha);                                    /* x *= alpha */
void ref_avgpool_forward(int B, int C, int HW, double *out, const double *x);         /* (B,C) = mean_HW x */
void ref_avgpool_backward(int B, int C, int HW, double *d_x, const double *d_out);    /* d_x += d_out / HW */

#endif
