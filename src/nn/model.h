/* model.h — models as named tensors in one arena, and the layers that record their passes.
 *
 * Every tensor of a model (parameters and BatchNorm running statistics) has a contract
 * name (DESIGN.md, Models) and lives at an offset in one weight arena; gradients live at
 * the same offsets in a gradient arena. One buffer for all weights makes checkpoints,
 * EMA (MoCo's key encoder: one dispatch over parameters and running stats) and zeroing
 * gradients (one fill) single operations.
 *
 * A VcNet is a model planned for a batch shape: it owns the activations and their
 * gradients and records forward and backward into a VcCmd. Shapes are static for a run,
 * so a step is recorded once and resubmitted.
 *
 * Legend: B = batch, C = channels, H/W = spatial, D = embedding dim.
 */
#ifndef VC_NN_MODEL_H
#define VC_NN_MODEL_H

#include "ops/conv.h"
#include "ops/norm.h"
#include "ops/optim.h"
#include "vk/vk.h"

#define VC_MAX_TENSORS 160
#define VC_NAME_MAX 64

typedef enum { VC_T_WEIGHT, VC_T_BIAS, VC_T_NORM_WEIGHT, VC_T_NORM_BIAS, VC_T_RUNNING_MEAN, VC_T_RUNNING_VAR } VcTensorRole;

typedef struct VcTensorSpec {
    char name[VC_NAME_MAX];
    int ndim;
    int shape[4];
    size_t offset; /* floats from the start of the arena */
    size_t n;      /* elements */
    VcTensorRole role;
} VcTensorSpec;

static inline bool vc_tensor_is_param(const VcTensorSpec *t) { return t->role <= VC_T_NORM_BIAS; }

typedef enum { VC_MODEL_SMALL_RESNET, VC_MODEL_RESNET18 } VcModelKind;

/* Layer descriptions (indices into the model's tensor table). */
typedef struct VcConvLayer { VcConvShape s; int w; } VcConvLayer; /* s.B is set per net */
typedef struct VcBnLayer { int C; int gamma, beta, mean, var; } VcBnLayer;
typedef struct VcLinearLayer { int in, out; int w, b; } VcLinearLayer;

typedef struct VcBlock {
    VcConvLayer conv1, conv2, sc_conv;
    VcBnLayer bn1, bn2, sc_bn;
    bool has_shortcut;
    int C_in, C_out, stride, H_in, W_in, H_out, W_out;
} VcBlock;

typedef struct VcModel {
    VcContext *ctx;
    VcModelKind kind;
    int channels, image_size, out_dim, repr_dim;
    int nt;
    VcTensorSpec t[VC_MAX_TENSORS];
    size_t arena_floats;
    VcBuffer weights; /* all tensors (arena_floats) */
    VcBuffer grads;   /* same layout; running-stat slots unused */
    /* architecture */
    VcConvLayer stem_conv;
    VcBnLayer stem_bn;
    int nblocks;
    VcBlock blocks[8];
    VcLinearLayer fc1, fc2; /* linear_head: fc2 is head.fc, fc1 and head_bn are unused */
    VcBnLayer head_bn;
    bool linear_head;       /* MoCo v1's head: one linear layer head.fc (repr -> out_dim) */
} VcModel;

/* Build a model's tensor table and allocate its arenas (weights initialised as PyTorch's
 * defaults from `seed`: kaiming-uniform(a=sqrt(5)) convs/linears, BN gamma 1 beta 0,
 * running var 1). Returns NULL with an error set (e.g. out of device memory). */
VcModel *vc_model_new(VcContext *ctx, VcModelKind kind, int channels, int image_size, int out_dim, uint64_t seed);
/* The same with the head chosen: linear_head gives head.fc (repr_dim -> out_dim, bias)
 * instead of head.fc1 / head.bn / ReLU / head.fc2 (MoCo v1 against v2 and SimCLR). */
VcModel *vc_model_new_head(VcContext *ctx, VcModelKind kind, int channels, int image_size, int out_dim, uint64_t seed,
                           bool linear_head);
void vc_model_free(VcModel *m);
const VcTensorSpec *vc_model_find(const VcModel *m, const char *name);
/* A tensor's slice of the weight / gradient arena. */
VcBuffer vc_model_weight(const VcModel *m, int tensor);
VcBuffer vc_model_grad(const VcModel *m, int tensor);
/* The optimizer's view of the parameters (biases and norm parameters marked no_decay);
 * state buffers are slices of `state` arenas allocated by the caller (arena_floats each). */
int vc_model_params(const VcModel *m, VcParam *out, int max, const VcBuffer *state0, const VcBuffer *state1);
/* What a method's optimizer needs: vc_optim_state_slots(kind) zeroed state arenas in
 * state[] (*nstate of them) and the parameter list over them (*params, VC_MAX_TENSORS
 * entries allocated, *nparams used; free it). LARS excludes biases and norm parameters
 * from decay and adaptation (SimCLR); SGD and AdamW decay every parameter, as PyTorch's
 * optimizers with one group. VC_OK or VC_ERR_OOM (what was allocated is in state[]). */
int vc_model_optim_setup(const VcModel *m, VcOptimKind kind, VcBuffer state[2], int *nstate, VcParam **params, int *nparams);
/* Host copies of the whole weight arena (arena_floats floats). */
void vc_model_download(const VcModel *m, float *host);
void vc_model_upload(VcModel *m, const float *host);
const char *vc_model_kind_name(VcModelKind k);
int vc_model_kind_parse(const char *s, VcModelKind *out);

/* ---- a model planned for a batch ---- */
typedef struct VcNet VcNet;

/* Plan `m` for batches of B images; allocates activations. NULL + error on OOM. */
VcNet *vc_net_new(VcModel *m, int B);
/* The same with BatchNorm statistics per group in training mode (MoCo's Shuffle-BN, see
 * VcBnGroups in ops/norm.h); NULL groups = vc_net_new. NULL + error if they do not split B. */
VcNet *vc_net_new_grouped(VcModel *m, int B, const VcBnGroups *groups);
/* The same, and forward_only: no activation-gradient arena (about half the net's memory);
 * vc_net_backward and vc_net_zero_grads are then refused, vc_net_proj_grad is empty. */
VcNet *vc_net_new_ex(VcModel *m, int B, const VcBnGroups *groups, bool forward_only);
void vc_net_free(VcNet *n);
VcModel *vc_net_model(const VcNet *n);
int vc_net_batch(const VcNet *n);
/* Input (B, C, H, W) the forward reads; fill it by upload or by the augmentation shader. */
VcBuffer vc_net_input(const VcNet *n);
/* Representation h (B, repr_dim) after the pool, and projection z (B, out_dim) before
 * any normalization; d_z (B, out_dim) is the gradient the loss writes for backward. */
VcBuffer vc_net_repr(const VcNet *n);
VcBuffer vc_net_proj(const VcNet *n);
VcBuffer vc_net_proj_grad(const VcNet *n);
/* Record the forward pass (training: BN batch statistics and running-stat updates;
 * with_head false stops at the representation). */
void vc_net_forward(VcNet *n, VcCmd *cmd, bool training, bool with_head);
/* Record the backward pass from d_z; parameter gradients accumulate into the model's
 * gradient arena (zero it first with vc_net_zero_grads). */
void vc_net_backward(VcNet *n, VcCmd *cmd);
void vc_net_zero_grads(VcNet *n, VcCmd *cmd);
/* Tests: fill every activation gradient with `value` (NaN proves that the backward writes
 * each one before reading it: only d_z is zeroed per step). */
void vc_net_fill_act_grads(VcNet *n, VcCmd *cmd, float value);
/* Named activation buffers for tests and debugging ("stem", "blocks.0", ...), or a NULL buffer. */
VcBuffer vc_net_activation(const VcNet *n, const char *name);

#endif
