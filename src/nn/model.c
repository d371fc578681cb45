/* model.c — the tensor tables of small-resnet and resnet18, their arenas and init.
 *
 * Names are the contract of DESIGN.md: small-resnet uses stem/blocks/head, resnet18 the
 * torchvision names (conv1, bn1, layerL.I.convK, layerL.0.downsample.0/1) so a user can
 * load the backbone into torchvision. Both share one block structure (VcBlock).
 */
#include "nn/model.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

static int add_tensor(VcModel *m, VcTensorRole role, int ndim, const int *shape, const char *fmt, ...) {
    VC_ASSERT(m->nt < VC_MAX_TENSORS);
    VcTensorSpec *t = &m->t[m->nt];
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->ndim = ndim;
    t->n = 1;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i], t->n *= (size_t)shape[i];
    t->role = role;
    /* keep every tensor 64-float aligned: slices stay aligned for texel views (16 bytes)
     * and for the device's storage offset alignment (at most 256 bytes) */
    t->offset = m->arena_floats;
    m->arena_floats += (t->n + 63) / 64 * 64;
    return m->nt++;
}

static VcConvLayer add_conv(VcModel *m, const char *name, int C_in, int C_out, int k, int stride, int H, int W) {
    int shape[4] = {C_out, C_in, k, k};
    VcConvLayer c = {.s = {.C_in = C_in, .H = H, .W = W, .C_out = C_out, .KH = k, .KW = k, .stride = stride, .pad = k / 2}};
    c.w = add_tensor(m, VC_T_WEIGHT, 4, shape, "%s.weight", name);
    return c;
}

static VcBnLayer add_bn(VcModel *m, const char *name, int C) {
    VcBnLayer b = {.C = C};
    b.gamma = add_tensor(m, VC_T_NORM_WEIGHT, 1, &C, "%s.weight", name);
    b.beta = add_tensor(m, VC_T_NORM_BIAS, 1, &C, "%s.bias", name);
    b.mean = add_tensor(m, VC_T_RUNNING_MEAN, 1, &C, "%s.running_mean", name);
    b.var = add_tensor(m, VC_T_RUNNING_VAR, 1, &C, "%s.running_var", name);
    return b;
}

static VcLinearLayer add_linear(VcModel *m, const char *name, int in, int out) {
    VcLinearLayer l = {.in = in, .out = out};
    int shape[2] = {out, in};
    l.w = add_tensor(m, VC_T_WEIGHT, 2, shape, "%s.weight", name);
    l.b = add_tensor(m, VC_T_BIAS, 1, &out, "%s.bias", name);
    return l;
}

/* One residual block: names follow the model's convention (prefix, shortcut naming). */
static VcBlock add_block(VcModel *m, const char *prefix, bool torchvision, int C_in, int C_out, int stride, int H, int W) {
    VcBlock b = {.C_in = C_in, .C_out = C_out, .stride = stride, .H_in = H, .W_in = W};
    char name[VC_NAME_MAX];
    snprintf(name, sizeof name, "%s.conv1", prefix);
    b.conv1 = add_conv(m, name, C_in, C_out, 3, stride, H, W);
    snprintf(name, sizeof name, "%s.bn1", prefix);
    b.bn1 = add_bn(m, name, C_out);
    b.H_out = vc_conv_out_h(&b.conv1.s);
    b.W_out = vc_conv_out_w(&b.conv1.s);
    snprintf(name, sizeof name, "%s.conv2", prefix);
    b.conv2 = add_conv(m, name, C_out, C_out, 3, 1, b.H_out, b.W_out);
    snprintf(name, sizeof name, "%s.bn2", prefix);
    b.bn2 = add_bn(m, name, C_out);
    b.has_shortcut = stride != 1 || C_in != C_out;
    if (b.has_shortcut) {
        snprintf(name, sizeof name, torchvision ? "%s.downsample.0" : "%s.shortcut.conv", prefix);
        b.sc_conv = add_conv(m, name, C_in, C_out, 1, stride, H, W);
        b.sc_conv.s.pad = 0;
        snprintf(name, sizeof name, torchvision ? "%s.downsample.1" : "%s.shortcut.bn", prefix);
        b.sc_bn = add_bn(m, name, C_out);
    }
    return b;
}

static void build_small_resnet(VcModel *m) {
    int S = m->image_size;
    m->stem_conv = add_conv(m, "stem.conv", m->channels, 32, 3, 1, S, S);
    m->stem_bn = add_bn(m, "stem.bn", 32);
    static const int cfg[3][3] = {{32, 32, 1}, {32, 64, 2}, {64, 128, 2}};
    int H = S, W = S;
    for (int i = 0; i < 3; i++) {
        char prefix[32];
        snprintf(prefix, sizeof prefix, "blocks.%d", i);
        m->blocks[i] = add_block(m, prefix, false, cfg[i][0], cfg[i][1], cfg[i][2], H, W);
        H = m->blocks[i].H_out, W = m->blocks[i].W_out;
    }
    m->nblocks = 3;
    m->repr_dim = 128;
}

static void build_resnet18(VcModel *m) {
    int S = m->image_size;
    m->stem_conv = add_conv(m, "conv1", m->channels, 64, 3, 1, S, S);
    m->stem_bn = add_bn(m, "bn1", 64);
    int H = S, W = S, C = 64, n = 0;
    for (int layer = 0; layer < 4; layer++) {
        int C_out = 64 << layer;
        for (int i = 0; i < 2; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "layer%d.%d", layer + 1, i);
            int stride = (i == 0 && layer > 0) ? 2 : 1;
            m->blocks[n] = add_block(m, prefix, true, C, C_out, stride, H, W);
            H = m->blocks[n].H_out, W = m->blocks[n].W_out, C = C_out;
            n++;
        }
    }
    m->nblocks = n;
    m->repr_dim = 512;
}

/* splitmix64: a small seeded generator for weight init (not PyTorch's stream). */
static uint64_t next_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void init_weights(VcModel *m, uint64_t seed, float *host) {
    uint64_t s = seed;
    for (int i = 0; i < m->nt; i++) {
        VcTensorSpec *t = &m->t[i];
        float *x = host + t->offset;
        float value = t->role == VC_T_NORM_WEIGHT || t->role == VC_T_RUNNING_VAR ? 1.0f : 0.0f;
        if (t->role == VC_T_WEIGHT || t->role == VC_T_BIAS) {
            /* PyTorch default: kaiming_uniform(a = sqrt 5) gives U(-1/sqrt(fan_in), +);
             * linear biases likewise use 1/sqrt(fan_in) of their weight */
            const VcTensorSpec *w = t->role == VC_T_WEIGHT ? t : &m->t[i - 1];
            size_t fan_in = w->n / (size_t)w->shape[0];
            float bound = 1.0f / sqrtf((float)fan_in);
            for (size_t j = 0; j < t->n; j++) x[j] = bound * (2.0f * (float)((next_rand(&s) >> 40) / 16777216.0) - 1.0f);
        } else {
            for (size_t j = 0; j < t->n; j++) x[j] = value;
        }
    }
}

VcModel *vc_model_new(VcContext *ctx, VcModelKind kind, int channels, int image_size, int out_dim, uint64_t seed) {
    return vc_model_new_head(ctx, kind, channels, image_size, out_dim, seed, false);
}

VcModel *vc_model_new_head(VcContext *ctx, VcModelKind kind, int channels, int image_size, int out_dim, uint64_t seed,
                           bool linear_head) {
    if (channels < 1 || channels > 4 || image_size < 4 || image_size > 1024 || out_dim < 1 || out_dim > 8192) {
        vc_set_error("model: unsupported shape (channels %d, image size %d, out dim %d)", channels, image_size, out_dim);
        return NULL;
    }
    VcModel *m = vc_calloc(1, sizeof *m);
    m->ctx = ctx;
    m->kind = kind;
    m->channels = channels;
    m->image_size = image_size;
    m->out_dim = out_dim;
    if (kind == VC_MODEL_SMALL_RESNET) build_small_resnet(m);
    else build_resnet18(m);
    m->linear_head = linear_head;
    if (linear_head) {
        m->fc2 = add_linear(m, "head.fc", m->repr_dim, out_dim);
    } else {
        m->fc1 = add_linear(m, "head.fc1", m->repr_dim, m->repr_dim);
        m->head_bn = add_bn(m, "head.bn", m->repr_dim);
        m->fc2 = add_linear(m, "head.fc2", m->repr_dim, out_dim);
    }
    size_t bytes = m->arena_floats * sizeof(float);
    if (vc_buffer_alloc(ctx, bytes, "model weights", &m->weights) != VC_OK) {
        free(m);
        return NULL;
    }
    if (vc_buffer_alloc(ctx, bytes, "model gradients", &m->grads) != VC_OK) {
        vc_buffer_free(ctx, &m->weights);
        free(m);
        return NULL;
    }
    float *host = vc_calloc(m->arena_floats, sizeof(float));
    init_weights(m, seed, host);
    vc_model_upload(m, host);
    free(host);
    return m;
}

void vc_model_free(VcModel *m) {
    if (!m) return;
    vc_buffer_free(m->ctx, &m->weights);
    vc_buffer_free(m->ctx, &m->grads);
    free(m);
}

const VcTensorSpec *vc_model_find(const VcModel *m, const char *name) {
    for (int i = 0; i < m->nt; i++)
        if (!strcmp(m->t[i].name, name)) return &m->t[i];
    return NULL;
}

VcBuffer vc_model_weight(const VcModel *m, int i) {
    return vc_buffer_slice(m->weights, m->t[i].offset * sizeof(float), m->t[i].n * sizeof(float));
}

VcBuffer vc_model_grad(const VcModel *m, int i) {
    return vc_buffer_slice(m->grads, m->t[i].offset * sizeof(float), m->t[i].n * sizeof(float));
}

int vc_model_params(const VcModel *m, VcParam *out, int max, const VcBuffer *state0, const VcBuffer *state1) {
    int n = 0;
    for (int i = 0; i < m->nt; i++) {
        const VcTensorSpec *t = &m->t[i];
        if (!vc_tensor_is_param(t)) continue;
        VC_ASSERT(n < max);
        size_t off = t->offset * sizeof(float), bytes = t->n * sizeof(float);
        out[n] = (VcParam){.name = t->name, .w = vc_model_weight(m, i), .g = vc_model_grad(m, i), .n = t->n,
                           .no_decay = t->role != VC_T_WEIGHT};
        if (state0) out[n].state[0] = vc_buffer_slice(*state0, off, bytes);
        if (state1) out[n].state[1] = vc_buffer_slice(*state1, off, bytes);
        n++;
    }
    return n;
}

int vc_model_optim_setup(const VcModel *m, VcOptimKind kind, VcBuffer state[2], int *nstate, VcParam **params, int *nparams) {
    *nstate = vc_optim_state_slots(kind);
    for (int i = 0; i < *nstate; i++)
        if (vc_buffer_alloc(m->ctx, m->arena_floats * sizeof(float), "optimizer state", &state[i]) != VC_OK) return VC_ERR_OOM;
    *params = vc_calloc(VC_MAX_TENSORS, sizeof **params);
    *nparams = vc_model_params(m, *params, VC_MAX_TENSORS, *nstate > 0 ? &state[0] : NULL, *nstate > 1 ? &state[1] : NULL);
    if (kind != VC_OPTIM_LARS)
        for (int i = 0; i < *nparams; i++) (*params)[i].no_decay = false;
    return VC_OK;
}

void vc_model_download(const VcModel *m, float *host) {
    vc_buffer_download(m->ctx, m->weights, 0, host, m->arena_floats * sizeof(float));
}

void vc_model_upload(VcModel *m, const float *host) {
    vc_buffer_upload(m->ctx, m->weights, 0, host, m->arena_floats * sizeof(float));
}

const char *vc_model_kind_name(VcModelKind k) { return k == VC_MODEL_SMALL_RESNET ? "small-resnet" : "resnet18"; }

int vc_model_kind_parse(const char *s, VcModelKind *out) {
    if (!strcmp(s, "small-resnet")) *out = VC_MODEL_SMALL_RESNET;
    else if (!strcmp(s, "resnet18")) *out = VC_MODEL_RESNET18;
    else {
        vc_set_error("--model '%s': expected small-resnet or resnet18", s);
        return VC_ERR_ARG;
    }
    return VC_OK;
}
