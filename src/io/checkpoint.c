/* checkpoint.c — save and load a run's state as safetensors (see checkpoint.h). */
#include "io/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "io/json.h"

const char *vc_checkpoint_slot_name(VcOptimKind kind, int slot) {
    if (kind == VC_OPTIM_ADAMW) return slot == 0 ? "exp_avg" : "exp_avg_sq";
    return "momentum";
}

static int add_tensor(VcSafetensorsWriter *w, const char *name, const VcTensorSpec *t, const float *data) {
    int64_t shape[4];
    for (int i = 0; i < t->ndim; i++) shape[i] = t->shape[i];
    return vc_st_add_f32(w, name, shape, t->ndim, data);
}

static void float_array(char *out, size_t n, const float *v, int count) {
    size_t len = (size_t)snprintf(out, n, "[");
    for (int i = 0; i < count && len < n; i++) len += (size_t)snprintf(out + len, n - len, "%s%.9g", i ? ", " : "", v[i]);
    if (len < n) snprintf(out + len, n - len, "]");
}

int vc_checkpoint_save(const char *path, const VcModel *m, VcOptimKind kind, const VcBuffer *state, int nstate,
                       const VcCheckpointExtra *extra, int nextra, const VcCheckpointMeta *meta) {
    VcContext *ctx = m->ctx;
    float *host = vc_malloc(m->arena_floats * sizeof(float));
    VcSafetensorsWriter *w = vc_st_writer_new();
    int st = VC_OK;
    vc_model_download(m, host);
    for (int i = 0; i < m->nt && st == VC_OK; i++) st = add_tensor(w, m->t[i].name, &m->t[i], host + m->t[i].offset);
    for (int s = 0; s < nstate && st == VC_OK; s++) {
        vc_buffer_download(ctx, state[s], 0, host, m->arena_floats * sizeof(float));
        for (int i = 0; i < m->nt && st == VC_OK; i++) {
            if (!vc_tensor_is_param(&m->t[i])) continue;
            char name[160];
            snprintf(name, sizeof name, "optim.%s.%s", m->t[i].name, vc_checkpoint_slot_name(kind, s));
            st = add_tensor(w, name, &m->t[i], host + m->t[i].offset);
        }
    }
    for (int e = 0; e < nextra && st == VC_OK; e++) {
        float *x = vc_malloc(extra[e].n * sizeof(float));
        vc_buffer_download(ctx, extra[e].buf, 0, x, extra[e].n * sizeof(float));
        int64_t shape[1] = {(int64_t)extra[e].n};
        st = vc_st_add_f32(w, extra[e].name, shape, 1, x);
        free(x);
    }
    char buf[256];
    vc_st_set_meta(w, "method", meta->method);
    vc_st_set_meta(w, "model", vc_model_kind_name(meta->model));
    snprintf(buf, sizeof buf, "%d", meta->channels), vc_st_set_meta(w, "channels", buf);
    snprintf(buf, sizeof buf, "%d", meta->image_size), vc_st_set_meta(w, "image_size", buf);
    snprintf(buf, sizeof buf, "%d", meta->out_dim), vc_st_set_meta(w, "out_dim", buf);
    float_array(buf, sizeof buf, meta->mean, meta->channels), vc_st_set_meta(w, "input_mean", buf);
    float_array(buf, sizeof buf, meta->std, meta->channels), vc_st_set_meta(w, "input_std", buf);
    snprintf(buf, sizeof buf, "%d", meta->epoch), vc_st_set_meta(w, "epoch", buf);
    snprintf(buf, sizeof buf, "%ld", meta->step), vc_st_set_meta(w, "step", buf);
    snprintf(buf, sizeof buf, "%" PRIu64, meta->seed), vc_st_set_meta(w, "seed", buf);
    vc_st_set_meta(w, "optimizer", kind == VC_OPTIM_SGD ? "sgd" : kind == VC_OPTIM_LARS ? "lars" : "adamw");
    if (st == VC_OK) st = vc_st_writer_save(w, path);
    vc_st_writer_free(w);
    free(host);
    return st;
}

static int meta_int(const VcSafetensors *st, const char *path, const char *key, long lo, long hi, long *out) {
    const char *v = vc_st_meta(st, key);
    char *end;
    if (!v) {
        vc_set_error("%s: checkpoint metadata has no '%s'", path, key);
        return VC_ERR_FORMAT;
    }
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v || x < lo || x > hi) {
        vc_set_error("%s: checkpoint metadata '%s' = '%s' is not an integer in [%ld, %ld]", path, key, v, lo, hi);
        return VC_ERR_FORMAT;
    }
    *out = x;
    return VC_OK;
}

static int meta_floats(const VcSafetensors *st, const char *path, const char *key, int count, float *out) {
    const char *v = vc_st_meta(st, key);
    if (!v) {
        vc_set_error("%s: checkpoint metadata has no '%s'", path, key);
        return VC_ERR_FORMAT;
    }
    VcJsonError err;
    VcJson *j = vc_json_parse(v, strlen(v), &err);
    int ok = j && j->type == VC_JSON_ARRAY && (int)vc_json_count(j) == count;
    for (int i = 0; ok && i < count; i++) {
        const VcJson *x = vc_json_at(j, (size_t)i);
        double d = 0;
        ok = x && vc_json_number(x, &d) == VC_OK && isfinite(d);
        if (ok) out[i] = (float)d;
    }
    vc_json_free(j);
    if (!ok) {
        vc_set_error("%s: checkpoint metadata '%s' = '%s' is not a JSON array of %d numbers", path, key, v, count);
        return VC_ERR_FORMAT;
    }
    return VC_OK;
}

int vc_checkpoint_read_meta(const VcSafetensors *st, const char *path, VcCheckpointMeta *out) {
    VcCheckpointMeta m = {0};
    const char *method = vc_st_meta(st, "method"), *model = vc_st_meta(st, "model");
    if (!method || !model) {
        vc_set_error("%s: not a vkcontrast checkpoint (no 'method'/'model' in __metadata__)", path);
        return VC_ERR_FORMAT;
    }
    snprintf(m.method, sizeof m.method, "%s", method);
    if (vc_model_kind_parse(model, &m.model) != VC_OK) {
        vc_set_error("%s: unknown model '%s' in checkpoint metadata", path, model);
        return VC_ERR_FORMAT;
    }
    long v;
    const char *seed = vc_st_meta(st, "seed");
    if (meta_int(st, path, "channels", 1, 3, &v)) return VC_ERR_FORMAT;
    if (v == 2) {
        vc_set_error("%s: checkpoint metadata 'channels' = '2': expected 1 (grayscale) or 3 (RGB)", path);
        return VC_ERR_FORMAT;
    }
    m.channels = (int)v;
    if (meta_int(st, path, "image_size", 4, 1024, &v)) return VC_ERR_FORMAT;
    m.image_size = (int)v;
    if (meta_int(st, path, "out_dim", 1, 8192, &v)) return VC_ERR_FORMAT;
    m.out_dim = (int)v;
    if (meta_int(st, path, "epoch", 0, 1L << 30, &v)) return VC_ERR_FORMAT;
    m.epoch = (int)v;
    if (meta_int(st, path, "step", 0, 1L << 62, &v)) return VC_ERR_FORMAT;
    m.step = v;
    if (!seed) {
        vc_set_error("%s: checkpoint metadata has no 'seed'", path);
        return VC_ERR_FORMAT;
    }
    m.seed = strtoull(seed, NULL, 10);
    if (meta_floats(st, path, "input_mean", m.channels, m.mean) || meta_floats(st, path, "input_std", m.channels, m.std))
        return VC_ERR_FORMAT;
    for (int c = 0; c < m.channels; c++)
        if (!(m.std[c] > 0)) {
            vc_set_error("%s: checkpoint metadata 'input_std' = '%s': every value must be > 0", path, vc_st_meta(st, "input_std"));
            return VC_ERR_FORMAT;
        }
    *out = m;
    return VC_OK;
}

static const float *tensor_for(const VcSafetensors *st, const char *path, const char *name, const VcTensorSpec *t) {
    int64_t shape[4];
    for (int i = 0; i < t->ndim; i++) shape[i] = t->shape[i];
    const float *x = vc_st_get_f32(st, name, shape, t->ndim);
    if (!x) {
        char why[512];
        snprintf(why, sizeof why, "%s", vc_last_error());
        vc_set_error("%s: %s", path, why);
    }
    return x;
}

VcModel *vc_checkpoint_load_model(const VcSafetensors *st, const char *path, VcContext *ctx, const VcCheckpointMeta *meta) {
    bool linear_head = vc_st_get(st, "head.fc.weight") != NULL; /* MoCo v1 */
    VcModel *m = vc_model_new_head(ctx, meta->model, meta->channels, meta->image_size, meta->out_dim, 0, linear_head);
    if (!m) return NULL;
    float *host = vc_calloc(m->arena_floats, sizeof(float));
    for (int i = 0; i < m->nt; i++) {
        const float *x = tensor_for(st, path, m->t[i].name, &m->t[i]);
        if (!x) {
            free(host);
            vc_model_free(m);
            return NULL;
        }
        memcpy(host + m->t[i].offset, x, m->t[i].n * sizeof(float));
    }
    vc_model_upload(m, host);
    free(host);
    return m;
}

int vc_checkpoint_load_state(const VcSafetensors *st, const char *path, const VcModel *m, VcOptimKind kind,
                             const VcBuffer *state, int nstate, const VcCheckpointExtra *extra, int nextra) {
    float *host = vc_calloc(m->arena_floats, sizeof(float));
    for (int s = 0; s < nstate; s++) {
        for (int i = 0; i < m->nt; i++) {
            if (!vc_tensor_is_param(&m->t[i])) continue;
            char name[160];
            snprintf(name, sizeof name, "optim.%s.%s", m->t[i].name, vc_checkpoint_slot_name(kind, s));
            const float *x = tensor_for(st, path, name, &m->t[i]);
            if (!x) {
                free(host);
                return VC_ERR_FORMAT;
            }
            memcpy(host + m->t[i].offset, x, m->t[i].n * sizeof(float));
        }
        vc_buffer_upload(m->ctx, state[s], 0, host, m->arena_floats * sizeof(float));
    }
    free(host);
    for (int e = 0; e < nextra; e++) {
        int64_t shape[1] = {(int64_t)extra[e].n};
        const float *x = vc_st_get_f32(st, extra[e].name, shape, 1);
        if (!x) {
            char why[512];
            snprintf(why, sizeof why, "%s", vc_last_error());
            vc_set_error("%s: %s", path, why);
            return VC_ERR_FORMAT;
        }
        vc_buffer_upload(m->ctx, extra[e].buf, 0, x, extra[e].n * sizeof(float));
    }
    return VC_OK;
}
