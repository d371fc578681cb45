/* augment.c — host side of shaders/augment.comp: recipes, checks, binding and recording.
 *
 * The shader does all the work (see augment.h for the recipe and the RNG layout); this
 * file turns a VcAugmentConfig into the push constants once per run, splits a dataset
 * larger than one storage-buffer range into up to four bindings, and records the one
 * dispatch (a workgroup per view) that every step resubmits.
 */
#include "ops/augment.h"

#include <math.h>
#include <string.h>

#include "ops/op.h"

#define MAX_PARTS 4
#define MAX_SIDE 2047 /* crop rounding is exact up to here (see round_sqrt in the shader) */

/* Mirrors `Push` in shaders/augment.comp (shapes and switches are specialization
 * constants: see spec_constants()). */
typedef struct AugPush {
    uint32_t N, n_data, per_part;
    float scale_lo, scale_hi, logr_lo;
    float logr_hi, flip_p, jitter_p, gray_p;
    float blur_p, sigma_lo, sigma_hi, solar_p;
    float solar_t, bri, con, sat;
    float hue, mean0, mean1, mean2;
    float std0, std1, std2;
} AugPush;
_Static_assert(sizeof(AugPush) <= 128, "push constants");

/* Specialization constant FLAGS: what a run can draw (the shader compiles the rest out). */
enum { F_CROP = 1, F_ORDER = 2, F_BRI = 4, F_CON = 8, F_SAT = 16, F_HUE = 32, F_GRAY = 64, F_BLUR = 128, F_SOLAR = 256 };

struct VcAugment {
    VcContext *ctx;
    VcAugmentConfig cfg;
    VcAugmentShape shape;
    AugPush push;
    int parts;
    uint32_t flags, blur_k;
    VcPipeline *views_pipe, *params_pipe;
    VcBuffer params;  /* (V*N) VcAugmentParams: the sampler's output, read by the views */
    VcBuffer scratch; /* (V*N, C, S, S) for the blur passes; unset when blur_p == 0 */
};

VcAugmentConfig vc_augment_config_eval(int channels) {
    VcAugmentConfig c = {0};
    c.random_crop = false;
    c.scale_min = 1.0f;
    c.scale_max = 1.0f;
    c.ratio_min = 3.0f / 4.0f;
    c.ratio_max = 4.0f / 3.0f;
    c.jitter_random_order = true;
    c.blur_sigma_min = 0.1f;
    c.blur_sigma_max = 2.0f;
    c.solarize_threshold = 0.5f;
    if (channels == 3) { /* CIFAR-10 training set */
        const float mean[3] = {0.4914f, 0.4822f, 0.4465f}, std[3] = {0.2470f, 0.2435f, 0.2616f};
        memcpy(c.mean, mean, sizeof mean);
        memcpy(c.std, std, sizeof std);
    } else { /* Fashion-MNIST training set */
        for (int i = 0; i < 3; i++) {
            c.mean[i] = 0.2860f;
            c.std[i] = 0.3530f;
        }
    }
    return c;
}

VcAugmentConfig vc_augment_config_simclr(int channels) {
    VcAugmentConfig c = vc_augment_config_eval(channels);
    c.random_crop = true;
    c.flip_p = 0.5f;
    c.jitter_p = 0.8f;
    c.brightness = 0.4f;
    c.contrast = 0.4f;
    if (channels == 3) { /* SimCLR's CIFAR recipe */
        c.scale_min = 0.08f;
        c.saturation = 0.4f;
        c.hue = 0.1f;
        c.grayscale_p = 0.2f;
    } else { /* small grayscale digits and clothes: milder crops, no colour */
        c.scale_min = 0.3f;
    }
    return c;
}

VcAugmentConfig vc_augment_config_method(const char *method, int moco_version, int channels) {
    VcAugmentConfig c = vc_augment_config_simclr(channels);
    if (channels != 3) return c;
    bool moco = !strcmp(method, "moco"), instdisc = !strcmp(method, "membank") || (moco && moco_version == 1);
    if (moco || instdisc) c.scale_min = 0.2f;
    if (instdisc) { /* InstDisc / MoCo v1: ColorJitter(0.4, 0.4, 0.4, 0.4) on every view */
        c.jitter_p = 1.0f;
        c.saturation = 0.4f;
        c.hue = 0.4f;
        c.grayscale_p = 0.2f;
    }
    return c;
}

static int bad(const char *field, double value, const char *want) {
    vc_set_error("augmentation setting %s = %g: %s", field, value, want);
    return VC_ERR_ARG;
}

static bool finite_in(float x, float lo, float hi) { return isfinite(x) && x >= lo && x <= hi; }

int vc_augment_config_check(const VcAugmentConfig *c, int channels) {
    if (channels != 1 && channels != 3) return bad("channels", channels, "must be 1 (grayscale) or 3 (RGB)");
    if (c->random_crop) {
        if (!finite_in(c->scale_min, 1e-6f, 1e6f)) return bad("scale_min", c->scale_min, "must be > 0");
        if (!finite_in(c->scale_max, c->scale_min, 1e6f)) return bad("scale_max", c->scale_max, "must be >= scale_min");
        if (!finite_in(c->ratio_min, 1e-6f, 1e6f)) return bad("ratio_min", c->ratio_min, "must be > 0");
        if (!finite_in(c->ratio_max, c->ratio_min, 1e6f)) return bad("ratio_max", c->ratio_max, "must be >= ratio_min");
    }
    const struct { const char *name; float p; } probs[] = {{"flip_p", c->flip_p}, {"jitter_p", c->jitter_p},
                                                           {"grayscale_p", c->grayscale_p}, {"blur_p", c->blur_p},
                                                           {"solarize_p", c->solarize_p}};
    for (size_t i = 0; i < VC_COUNTOF(probs); i++)
        if (!finite_in(probs[i].p, 0, 1)) return bad(probs[i].name, probs[i].p, "a probability must be in [0, 1]");
    if (!finite_in(c->brightness, 0, 1e6f)) return bad("brightness", c->brightness, "must be >= 0");
    if (!finite_in(c->contrast, 0, 1e6f)) return bad("contrast", c->contrast, "must be >= 0");
    if (!finite_in(c->saturation, 0, 1e6f)) return bad("saturation", c->saturation, "must be >= 0");
    if (!finite_in(c->hue, 0, 0.5f)) return bad("hue", c->hue, "must be in [0, 0.5]");
    if (c->blur_p > 0) {
        if (c->blur_kernel < 0 || c->blur_kernel > VC_AUGMENT_MAX_KERNEL || (c->blur_kernel > 0 && c->blur_kernel % 2 == 0))
            return bad("blur_kernel", c->blur_kernel, "must be 0 (automatic) or odd and <= 63");
        if (!finite_in(c->blur_sigma_min, 1e-3f, 1e3f)) return bad("blur_sigma_min", c->blur_sigma_min, "must be > 0");
        if (!finite_in(c->blur_sigma_max, c->blur_sigma_min, 1e3f))
            return bad("blur_sigma_max", c->blur_sigma_max, "must be >= blur_sigma_min");
    }
    if (!isfinite(c->solarize_threshold)) return bad("solarize_threshold", c->solarize_threshold, "must be finite");
    for (int i = 0; i < channels; i++) {
        if (!isfinite(c->mean[i])) return bad("mean", c->mean[i], "must be finite");
        if (!finite_in(c->std[i], 1e-6f, 1e6f)) return bad("std", c->std[i], "must be > 0");
    }
    return VC_OK;
}

void vc_augment_dataset_stats(const uint8_t *data, size_t n, int C, int H, int W, float *mean, float *std) {
    size_t hw = (size_t)H * W;
    for (int c = 0; c < C; c++) {
        double s = 0, s2 = 0;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = data + (i * C + (size_t)c) * hw;
            uint64_t a = 0, a2 = 0; /* exact per image */
            for (size_t k = 0; k < hw; k++) {
                a += p[k];
                a2 += (uint64_t)p[k] * p[k];
            }
            s += (double)a;
            s2 += (double)a2;
        }
        double cnt = (double)n * (double)hw, m = s / cnt / 255.0, var = s2 / cnt / (255.0 * 255.0) - m * m;
        mean[c] = (float)m;
        std[c] = (float)sqrt(var > 0 ? var : 0);
    }
}

size_t vc_augment_data_bytes(size_t n, int C, int H, int W) { return (n * (size_t)C * H * W + 3) / 4 * 4; }

size_t vc_augment_views_bytes(const VcAugment *a) {
    const VcAugmentShape *s = &a->shape;
    return (size_t)s->V * s->N * s->C * s->S * s->S * sizeof(float);
}

const VcAugmentShape *vc_augment_shape(const VcAugment *a) { return &a->shape; }
const VcAugmentConfig *vc_augment_config(const VcAugment *a) { return &a->cfg; }

static uint32_t gcd_u32(uint32_t a, uint32_t b) {
    while (b) {
        uint32_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int check_shape(const VcAugmentShape *s) {
    if (s->C != 1 && s->C != 3) return bad("channels", s->C, "must be 1 or 3");
    if (s->H < 1 || s->H > MAX_SIDE || s->W < 1 || s->W > MAX_SIDE)
        return bad("source size", s->H < 1 || s->H > MAX_SIDE ? s->H : s->W, "image sides must be 1..2047");
    if (s->S < 1 || s->S > MAX_SIDE) return bad("output size", s->S, "must be 1..2047");
    if (s->N < 1 || s->N > 65535) return bad("batch", s->N, "must be 1..65535");
    if (s->V < 1 || s->V > 65535) return bad("views", s->V, "must be 1..65535");
    if (s->n_data < 1) return bad("dataset size", s->n_data, "must be >= 1");
    return VC_OK;
}

VcAugment *vc_augment_new(VcContext *ctx, const VcAugmentConfig *cfg, const VcAugmentShape *shape) {
    return vc_augment_new_wg(ctx, cfg, shape, 0);
}

VcAugment *vc_augment_new_wg(VcContext *ctx, const VcAugmentConfig *cfg, const VcAugmentShape *shape, int workgroup) {
    if (workgroup != 0 && (workgroup < 1 || workgroup > 1024 || (workgroup & (workgroup - 1)))) {
        vc_set_error("augmentation workgroup size %d: must be a power of two up to 1024", workgroup);
        return NULL;
    }
    if (check_shape(shape) != VC_OK || vc_augment_config_check(cfg, shape->C) != VC_OK) return NULL;
    const VcDeviceInfo *info = vc_context_info(ctx);
    const VcAugmentShape *s = shape;
    size_t out_bytes = (size_t)s->V * s->N * s->C * s->S * s->S * sizeof(float);
    if (out_bytes > info->max_storage_buffer_range) {
        vc_set_error("augmentation output of %d views x %d images of %dx%dx%d is %.1f MiB, more than %s can bind "
                     "(%.0f MiB): use a smaller batch",
                     s->V, s->N, s->C, s->S, s->S, out_bytes / 1048576.0, info->name, info->max_storage_buffer_range / 1048576.0);
        return NULL;
    }
    /* Split the dataset into bindable ranges of whole images starting at 256-byte offsets
     * (the largest minStorageBufferOffsetAlignment Vulkan allows). */
    size_t sample = (size_t)s->C * s->H * s->W;
    size_t per_part = (size_t)s->n_data;
    if (vc_augment_data_bytes((size_t)s->n_data, s->C, s->H, s->W) > info->max_storage_buffer_range) {
        size_t step = 256 / gcd_u32(256, (uint32_t)(sample % 256 ? sample % 256 : 256));
        per_part = (size_t)(info->max_storage_buffer_range - 4) / sample / step * step;
    }
    int parts = per_part ? (int)(((size_t)s->n_data + per_part - 1) / per_part) : MAX_PARTS + 1;
    if (parts > MAX_PARTS) {
        vc_set_error("dataset of %d images of %dx%dx%d (%.1f MiB) is larger than %d bindable ranges of %.0f MiB on %s: "
                     "stream it in chunks",
                     s->n_data, s->C, s->H, s->W, (double)s->n_data * sample / 1048576.0, MAX_PARTS,
                     info->max_storage_buffer_range / 1048576.0, info->name);
        return NULL;
    }

    VcAugment *a = vc_calloc(1, sizeof *a);
    a->ctx = ctx;
    a->cfg = *cfg;
    a->shape = *shape;
    a->parts = parts;
    int k = cfg->blur_kernel;
    if (k == 0) { /* SimCLR: 10% of the image side, made odd */
        k = (int)(0.1 * s->S);
        if (k % 2 == 0) k++;
        k = VC_MIN(k, VC_AUGMENT_MAX_KERNEL);
    }
    uint32_t flags = 0;
    if (cfg->random_crop) flags |= F_CROP;
    if (cfg->jitter_random_order) flags |= F_ORDER;
    bool jit = cfg->jitter_p > 0;
    if (jit && cfg->brightness > 0) flags |= F_BRI;
    if (jit && cfg->contrast > 0) flags |= F_CON;
    if (jit && s->C == 3 && cfg->saturation > 0) flags |= F_SAT;
    if (jit && s->C == 3 && cfg->hue > 0) flags |= F_HUE;
    if (s->C == 3 && cfg->grayscale_p > 0) flags |= F_GRAY;
    if (cfg->blur_p > 0) flags |= F_BLUR;
    if (cfg->solarize_p > 0) flags |= F_SOLAR;
    AugPush *p = &a->push;
    a->flags = flags;
    a->blur_k = (uint32_t)k;
    *p = (AugPush){.N = (uint32_t)s->N, .n_data = (uint32_t)s->n_data, .per_part = (uint32_t)per_part,
                   .scale_lo = cfg->scale_min, .scale_hi = cfg->scale_max,
                   .logr_lo = cfg->random_crop ? logf(cfg->ratio_min) : 0, .logr_hi = cfg->random_crop ? logf(cfg->ratio_max) : 0,
                   .flip_p = cfg->flip_p, .jitter_p = cfg->jitter_p, .gray_p = cfg->grayscale_p,
                   .blur_p = cfg->blur_p, .sigma_lo = cfg->blur_sigma_min, .sigma_hi = cfg->blur_sigma_max,
                   .solar_p = cfg->solarize_p, .solar_t = cfg->solarize_threshold,
                   .bri = cfg->brightness, .con = cfg->contrast, .sat = cfg->saturation, .hue = cfg->hue,
                   .mean0 = cfg->mean[0], .mean1 = cfg->mean[1], .mean2 = cfg->mean[2],
                   .std0 = cfg->std[0], .std1 = s->C == 3 ? cfg->std[1] : 1, .std2 = s->C == 3 ? cfg->std[2] : 1};
    /* One workgroup per view, each invocation a quad of 4 output pixels per round. On a
     * CPU one subgroup (a workgroup runs as one thread, looping over its subgroups and
     * switching all of them at every barrier: measured fastest on lavapipe); on a GPU
     * enough lanes to cover a small image in a round or two. Power of two. */
    uint32_t quads = (uint32_t)((s->S * s->S + 3) / 4), sg = info->subgroup_size;
    uint32_t wg = vc_context_is_cpu(ctx) ? (sg >= 4 && sg <= 64 && !(sg & (sg - 1)) ? sg : 8) : (quads >= 2048 ? 256 : 64);
    if (workgroup) wg = (uint32_t)workgroup;
    VcPipelineDesc dv = {.shader = "augment", .bindings = "sssssssss", .push_size = sizeof(AugPush),
                         .spec = {wg, (uint32_t)parts, (uint32_t)s->C, (uint32_t)s->H, (uint32_t)s->W, (uint32_t)s->S, flags, (uint32_t)k},
                         .spec_count = 8};
    VcPipelineDesc dp = dv;
    dp.shader = "augment_params";
    dp.bindings = "sss";
    dp.spec[0] = 64;
    a->views_pipe = vc_pipeline_get(ctx, &dv);
    a->params_pipe = vc_pipeline_get(ctx, &dp);
    if (vc_buffer_alloc(ctx, (size_t)s->V * s->N * sizeof(VcAugmentParams), "augmentation parameters", &a->params) != VC_OK ||
        (cfg->blur_p > 0 && vc_buffer_alloc(ctx, out_bytes, "augmentation blur scratch", &a->scratch) != VC_OK)) {
        vc_augment_free(a);
        return NULL;
    }
    return a;
}

void vc_augment_free(VcAugment *a) {
    if (!a) return;
    if (a->params.buf) vc_buffer_free(a->ctx, &a->params);
    if (a->scratch.buf) vc_buffer_free(a->ctx, &a->scratch);
    free(a);
}

static void check_common(const VcAugment *a, VcBuffer perm, VcBuffer step) {
    VC_ASSERT(perm.size >= 4 && step.size >= sizeof(VcAugmentStep));
    (void)a;
}

void vc_augment_record(VcCmd *cmd, VcAugment *a, VcBuffer views, VcBuffer data, VcBuffer perm, VcBuffer step) {
    const VcAugmentShape *s = &a->shape;
    vc_cmd_op_begin(cmd, "%d images %dx%dx%d -> %d x %d views %dx%dx%d", s->N, s->C, s->H, s->W, s->N, s->V, s->C, s->S, s->S);
    check_common(a, perm, step);
    VC_ASSERT(views.size >= vc_augment_views_bytes(a));
    VC_ASSERT(data.size >= vc_augment_data_bytes((size_t)s->n_data, s->C, s->H, s->W));
    /* 1. the sampler: one invocation per view draws its parameters */
    vc_augment_record_params(cmd, a, a->params, perm, step);
    /* 2. the views: one workgroup per view */
    size_t sample = (size_t)s->C * s->H * s->W, per_part = a->push.per_part;
    VcBuffer out = vc_buffer_slice(views, 0, vc_augment_views_bytes(a));
    VcBuffer bufs[9] = {out, a->scratch.buf ? a->scratch : out /* unused without blur */, a->params, perm, step};
    for (int k = 0; k < MAX_PARTS; k++) {
        if (k < a->parts) {
            size_t first = (size_t)k * per_part, count = VC_MIN(per_part, (size_t)s->n_data - first);
            bufs[5 + k] = vc_buffer_slice(data, first * sample, vc_augment_data_bytes(count, s->C, s->H, s->W));
        } else {
            bufs[5 + k] = bufs[5]; /* unused */
        }
    }
    double pix = (double)s->V * s->N * s->C * s->S * s->S;
    /* about 40 flops per output value (bilinear, jitter) plus the blur taps; bytes: about
     * four source bytes read and one float written per value, twice when contrast applies */
    double flops = pix * (40.0 + (a->cfg.blur_p > 0 ? 4.0 * a->blur_k * a->cfg.blur_p : 0));
    vc_dispatch(cmd, a->views_pipe, bufs, 9, &a->push, (uint32_t)s->N, (uint32_t)s->V, 1, "augment", flops, pix * 12.0);
    vc_cmd_op_end(cmd);
}

void vc_augment_record_params(VcCmd *cmd, VcAugment *a, VcBuffer params, VcBuffer perm, VcBuffer step) {
    const VcAugmentShape *s = &a->shape;
    vc_cmd_op_begin(cmd, "%d x %d views", s->N, s->V);
    check_common(a, perm, step);
    VC_ASSERT(params.size >= (size_t)s->V * s->N * sizeof(VcAugmentParams));
    VcBuffer bufs[3] = {params, perm, step};
    vc_dispatch(cmd, a->params_pipe, bufs, 3, &a->push, (uint32_t)VC_CEIL_DIV(s->N, 64), (uint32_t)s->V, 1, "augment_params",
                0, (double)s->V * s->N * sizeof(VcAugmentParams));
    vc_cmd_op_end(cmd);
}

int vc_augment_describe(VcAugment *a, uint32_t seed, uint32_t epoch, uint32_t index, uint32_t view, VcAugmentParams *out) {
    const VcAugmentShape *s = &a->shape;
    VC_ASSERT((int)view < s->V);
    /* a one-entry permutation holding `index`: batch position 0 is that image */
    VcBuffer perm = {0}, step = {0}, params = {0};
    size_t pbytes = (size_t)s->V * s->N * sizeof(VcAugmentParams);
    int st = vc_buffer_alloc_mapped(a->ctx, sizeof(int32_t), "augmentation describe perm", &perm);
    if (st == VC_OK) st = vc_buffer_alloc_mapped(a->ctx, sizeof(VcAugmentStep), "augmentation describe step", &step);
    if (st == VC_OK) st = vc_buffer_alloc_mapped(a->ctx, pbytes, "augmentation describe params", &params);
    if (st == VC_OK) {
        int32_t i = (int32_t)index;
        memcpy(perm.mapped, &i, sizeof i);
        VcAugmentStep stp = {.seed = seed, .epoch = epoch, .flags = VC_AUGMENT_GATHERED}; /* slot 0: always in range */
        vc_augment_step_write(a->ctx, step, &stp);
        VcCmd *cmd = vc_cmd_new(a->ctx, false);
        vc_augment_record_params(cmd, a, params, perm, step);
        vc_cmd_run(cmd);
        vc_cmd_free(cmd);
        memcpy(out, params.mapped + (size_t)view * s->N * sizeof(VcAugmentParams), sizeof *out);
    }
    VcBuffer *all[] = {&perm, &step, &params};
    for (size_t k = 0; k < VC_COUNTOF(all); k++)
        if (all[k]->buf) vc_buffer_free(a->ctx, all[k]);
    return st;
}

void vc_augment_step_write(VcContext *ctx, VcBuffer step, const VcAugmentStep *s) {
    VC_ASSERT(step.size >= sizeof *s);
    if (step.mapped) memcpy(step.mapped, s, sizeof *s);
    else vc_buffer_upload(ctx, step, 0, s, sizeof *s);
}
