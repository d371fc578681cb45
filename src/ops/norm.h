/* norm.h — batch normalization, activations, residual add, scaling and pooling.
 *
 * BatchNorm follows PyTorch: eps, momentum (running = (1-m) running + m batch), batch
 * statistics in training with the biased variance for normalization and the unbiased
 * variance (n/(n-1)) for the running estimate. x is (B, C, HW); BatchNorm1d is HW = 1.
 * Backward functions accumulate into their d_ outputs (+=).
 */
#ifndef VC_OPS_NORM_H
#define VC_OPS_NORM_H

#include "vk/vk.h"

/* training: out = gamma (x - mean) invstd + beta with batch mean/invstd (saved to
 * save_mean/save_invstd (C)), running_mean/var (C) updated. eval: uses the running stats
 * and leaves save_* alone (they may be empty buffers). out may be x (in place; the
 * backward then lacks its input). With B*HW = 1 in training (PyTorch refuses it) the
 * running variance takes the biased variance, 0. */
void vc_batchnorm_forward(VcCmd *cmd, int B, int C, int HW, VcBuffer out, VcBuffer x, VcBuffer gamma, VcBuffer beta,
                          VcBuffer running_mean, VcBuffer running_var, VcBuffer save_mean, VcBuffer save_invstd,
                          bool training, float momentum, float eps);
/* d_x (B,C,HW) +=, d_gamma (C) +=, d_beta (C) += from d_out (B,C,HW) (training-mode BN). */
void vc_batchnorm_backward(VcCmd *cmd, int B, int C, int HW, VcBuffer d_x, VcBuffer d_gamma, VcBuffer d_beta, VcBuffer d_out,
                           VcBuffer x, VcBuffer gamma, VcBuffer save_mean, VcBuffer save_invstd);

/* Per-group statistics (MoCo's Shuffle-BN on one device, as the MoCo CIFAR demo's
 * SplitBatchNorm): the batch is `views` equal blocks, each cut into groups / views
 * groups of B / groups samples, either runs of consecutive samples or (interleave) every
 * (groups / views)-th sample of the block. Each group is normalized with its own batch
 * statistics, saved as (groups, C); the running statistics are updated with the mean over
 * groups of the group means and unbiased variances. Interleaved groups are the
 * contiguous groups of a batch shuffled by a fixed permutation (row i*gv + r <-> r*Bg + i
 * within a view), so a net with contiguous groups and one with interleaved groups see
 * each sample in different company: that is Shuffle-BN without a copy. Eval mode ignores
 * the groups. groups = 1 is vc_batchnorm_forward/backward. */
typedef struct VcBnGroups { int groups, views; bool interleave; } VcBnGroups;
/* VC_OK when g splits a batch of B evenly, else VC_ERR_ARG with the reason set. */
int vc_bn_groups_check(int B, const VcBnGroups *g);
void vc_batchnorm_forward_grouped(VcCmd *cmd, int B, int C, int HW, const VcBnGroups *groups, VcBuffer out, VcBuffer x,
                                  VcBuffer gamma, VcBuffer beta, VcBuffer running_mean, VcBuffer running_var,
                                  VcBuffer save_mean, VcBuffer save_invstd, bool training, float momentum, float eps);
void vc_batchnorm_backward_grouped(VcCmd *cmd, int B, int C, int HW, const VcBnGroups *groups, VcBuffer d_x, VcBuffer d_gamma,
                                   VcBuffer d_beta, VcBuffer d_out, VcBuffer x, VcBuffer gamma, VcBuffer save_mean,
                                   VcBuffer save_invstd);
/* The same with d_x = (not read; d_gamma and d_beta still +=). */
void vc_batchnorm_backward_grouped_set(VcCmd *cmd, int B, int C, int HW, const VcBnGroups *groups, VcBuffer d_x,
                                       VcBuffer d_gamma, VcBuffer d_beta, VcBuffer d_out, VcBuffer x, VcBuffer gamma,
                                       VcBuffer save_mean, VcBuffer save_invstd);

/* out = max(x, 0) (n); in place allowed (out == x). */
void vc_relu_forward(VcCmd *cmd, size_t n, VcBuffer out, VcBuffer x);
/* d_x += d_out * (out > 0); _set: d_x = d_out * (out > 0), d_x not read (where it gets
 * its first gradient: one read per value less). */
void vc_relu_backward(VcCmd *cmd, size_t n, VcBuffer d_x, VcBuffer d_out, VcBuffer out);
void vc_relu_backward_set(VcCmd *cmd, size_t n, VcBuffer d_x, VcBuffer d_out, VcBuffer out);
/* out = a + b (n); out may alias a or b. */
void vc_add(VcCmd *cmd, size_t n, VcBuffer out, VcBuffer a, VcBuffer b);
/* y += alpha * x (n). */
void vc_axpy(VcCmd *cmd, size_t n, VcBuffer y, float alpha, VcBuffer x);
/* x *= alpha (n). */
void vc_scale(VcCmd *cmd, size_t n, VcBuffer x, float alpha);
/* out (B, C) = mean over HW of x (B, C, HW). */
void vc_avgpool_forward(VcCmd *cmd, int B, int C, int HW, VcBuffer out, VcBuffer x);
/* d_x (B, C, HW) += d_out (B, C) / HW; _set: d_x =, not read. */
void vc_avgpool_backward(VcCmd *cmd, int B, int C, int HW, VcBuffer d_x, VcBuffer d_out);
void vc_avgpool_backward_set(VcCmd *cmd, int B, int C, int HW, VcBuffer d_x, VcBuffer d_out);

#endif
