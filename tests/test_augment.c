/* test_augment.c — the GPU augmentation (shaders/augment.comp) against the C reference.
 *
 * - Philox: Random123's known-answer vectors on the reference.
 * - Sampler: the GPU's parameters equal the reference's bit for bit (crop boxes, coins,
 *   factors, jitter order) for several recipes, including the crop fallback.
 * - Views: GPU vs reference (double) per operation alone with p = 1 and for the default
 *   recipes, on odd shapes (13x17 -> 11x11, 1x1 output, batch 1), nmse bounds below.
 * - Determinism: resubmission is bit-identical; a view depends on (seed, epoch, dataset
 *   index, view) only; another epoch gives other views.
 * - Binding: a dataset larger than one storage range (CIFAR-10 sized) on lavapipe;
 *   gathered (streamed) batches; out-of-range entries give zero views.
 * - Config errors, dataset statistics, the PNG grid, and timings (printed).
 */
#include <math.h>
#include <stb/stb_image.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "ops/augment.h"
#include "ref/augment.h"
#include "vk/vk.h"

/* fp32 GPU vs double reference. Bilinear, brightness, contrast, saturation, grayscale,
 * blur, solarize, normalize: rounding only (measured ~1e-15..1e-13). Hue goes through
 * HSV with divisions (2.5 ulp on GPUs): measured ~1e-13; bound 1e-9. */
#define NMSE_BOUND 1e-10
#define NMSE_BOUND_HUE 1e-9

static uint8_t *make_images(size_t n, int C, int H, int W, uint64_t seed) {
    th_seed(seed);
    size_t len = n * (size_t)C * H * W;
    uint8_t *d = vc_malloc(len + 4);
    /* smooth shapes plus noise, so crops and blurs see image-like structure */
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < C; c++) {
            float fx = th_uniform(0.1f, 0.6f), fy = th_uniform(0.1f, 0.6f), ph = th_uniform(0, 6.3f);
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    float v = 128 + 90 * sinf(fx * x + ph) * cosf(fy * y + c) + th_uniform(-30, 30);
                    d[((i * C + c) * H + y) * W + x] = (uint8_t)fminf(fmaxf(v, 0), 255);
                }
        }
    memset(d + len, 0, 4);
    return d;
}

typedef struct Run {
    const VcAugmentConfig *cfg;
    VcAugmentShape sh;
    const uint8_t *data;
    const int32_t *perm;
    size_t perm_len;
    VcAugmentStep step;
} Run;

static int g_wg; /* workgroup size for vc_augment_new_wg (0: automatic) */

/* Record params + views once, run, download. views (V*N, C, S, S); params (V*N) or NULL. */
static int run_gpu(VcContext *ctx, const Run *r, float *views, VcAugmentParams *params) {
    VcAugment *aug = vc_augment_new_wg(ctx, r->cfg, &r->sh, g_wg);
    if (!aug) {
        CHECK(0, "vc_augment_new: %s", vc_last_error());
        return -1;
    }
    size_t dbytes = vc_augment_data_bytes((size_t)r->sh.n_data, r->sh.C, r->sh.H, r->sh.W);
    size_t vbytes = vc_augment_views_bytes(aug), pbytes = sizeof(VcAugmentParams) * r->sh.V * r->sh.N;
    VcBuffer data, perm, step, vbuf, pbuf;
    VC_ASSERT(vc_buffer_alloc(ctx, dbytes, "data", &data) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, r->perm_len * 4, "perm", &perm) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, sizeof(VcAugmentStep), "step", &step) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, vbytes, "views", &vbuf) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, pbytes, "params", &pbuf) == VC_OK);
    vc_buffer_upload(ctx, data, 0, r->data, dbytes);
    vc_buffer_upload(ctx, perm, 0, r->perm, r->perm_len * 4);
    vc_augment_step_write(ctx, step, &r->step);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_augment_record_params(cmd, aug, pbuf, perm, step);
    vc_augment_record(cmd, aug, vbuf, data, perm, step);
    vc_cmd_run(cmd);
    vc_buffer_download(ctx, vbuf, 0, views, vbytes);
    if (params) vc_buffer_download(ctx, pbuf, 0, params, pbytes);
    vc_cmd_free(cmd);
    vc_augment_free(aug);
    VcBuffer all[] = {data, perm, step, vbuf, pbuf};
    for (size_t i = 0; i < VC_COUNTOF(all); i++) vc_buffer_free(ctx, &all[i]);
    return 0;
}

static int params_equal(const VcAugmentParams *a, const VcAugmentParams *b) { return memcmp(a, b, sizeof *a) == 0; }

static void print_params(const char *who, const VcAugmentParams *p) {
    fprintf(stderr, "  %s: index %u box (%d,%d %dx%d) flip %u jitter %u order %04x gray %u b %.9g c %.9g s %.9g h %.9g blur %u sigma %.9g sol %u\n",
            who, p->index, p->crop_x, p->crop_y, p->crop_w, p->crop_h, p->flip, p->jitter, p->order, p->grayscale, p->brightness,
            p->contrast, p->saturation, p->hue, p->blur, p->sigma, p->solarize);
}

/* Run on the GPU and compare params (exact) and views (nmse) with the reference. */
static void compare(VcContext *ctx, const char *what, const Run *r, double bound) {
    const VcAugmentShape *sh = &r->sh;
    size_t nviews = (size_t)sh->V * sh->N, view_len = (size_t)sh->C * sh->S * sh->S;
    float *got = vc_malloc(nviews * view_len * sizeof(float)), *want = vc_malloc(nviews * view_len * sizeof(float));
    double *ref = vc_malloc(nviews * view_len * sizeof(double));
    VcAugmentParams *gp = vc_malloc(nviews * sizeof *gp);
    if (run_gpu(ctx, r, got, gp) != 0) goto out;
    ref_augment_batch(r->cfg, sh, r->data, r->perm, r->perm_len, &r->step, ref);
    for (size_t i = 0; i < nviews * view_len; i++) want[i] = (float)ref[i];
    int mismatched = 0;
    for (int v = 0; v < sh->V; v++)
        for (int b = 0; b < sh->N; b++) {
            size_t pos = (size_t)r->step.first + b;
            VcAugmentParams rp = {.index = 0xffffffffu};
            uint32_t index = pos < r->perm_len ? (uint32_t)r->perm[pos] : 0xffffffffu;
            uint32_t slot = (r->step.flags & VC_AUGMENT_GATHERED) ? r->step.slot_base + (uint32_t)b : index;
            if (pos < r->perm_len && slot < (uint32_t)sh->n_data)
                ref_augment_params(r->cfg, sh->C, sh->H, sh->W, r->step.seed, r->step.epoch, index, (uint32_t)v, &rp);
            const VcAugmentParams *g = &gp[(size_t)v * sh->N + b];
            if (!params_equal(g, &rp) && mismatched++ == 0) {
                print_params("gpu", g);
                print_params("ref", &rp);
            }
        }
    CHECK(mismatched == 0, "%s: %d of %zu views have GPU parameters != reference", what, mismatched, nviews);
    CHECK_NMSE(got, want, nviews * view_len, bound, what);
out:
    free(got);
    free(want);
    free(ref);
    free(gp);
}

static int32_t *iota_perm(size_t n, uint64_t seed) {
    int32_t *p = vc_malloc(n * sizeof *p);
    for (size_t i = 0; i < n; i++) p[i] = (int32_t)i;
    th_seed(seed);
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)th_uniform(0, (float)(i + 1));
        if (j > i) j = i;
        int32_t t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    return p;
}

static void test_philox_kat(void) {
    /* Random123 tests/kat_vectors, philox4x32 10: ctr[4] key[2] -> out[4] */
    const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {~0u, ~0u, ~0u, ~0u, ~0u, ~0u, 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        ref_philox4x32_10(kat[i], kat[i] + 4, out);
        CHECK(!memcmp(out, kat[i] + 6, sizeof out), "philox KAT %d: %08x %08x %08x %08x", i, out[0], out[1], out[2], out[3]);
    }
}

/* One operation at a time with p = 1, odd shapes, grayscale and RGB. */
static void test_ops_alone(VcContext *ctx) {
    const int H = 13, W = 17, S = 11, n = 40;
    for (int C = 1; C <= 3; C += 2) {
        uint8_t *data = make_images(n, C, H, W, 100 + C);
        int32_t *perm = iota_perm(n, 7);
        for (int op = 0; op < 12; op++) {
            VcAugmentConfig cfg = vc_augment_config_eval(C);
            const char *name = "";
            double bound = NMSE_BOUND;
            switch (op) {
            case 0: name = "identity (resize + normalize)"; break;
            case 1: name = "random resized crop"; cfg.random_crop = true; cfg.scale_min = 0.08f; break;
            case 2: name = "flip"; cfg.flip_p = 1; break;
            case 3: name = "brightness"; cfg.jitter_p = 1; cfg.brightness = 0.8f; break;
            case 4: name = "contrast"; cfg.jitter_p = 1; cfg.contrast = 0.8f; break;
            case 5: name = "saturation"; cfg.jitter_p = 1; cfg.saturation = 0.8f; break;
            case 6: name = "hue"; cfg.jitter_p = 1; cfg.hue = 0.5f; bound = NMSE_BOUND_HUE; break;
            case 7: name = "grayscale"; cfg.grayscale_p = 1; break;
            case 8: name = "blur k=5"; cfg.blur_p = 1; cfg.blur_kernel = 5; break;
            case 9: name = "blur k=auto"; cfg.blur_p = 1; break;
            case 10: name = "solarize"; cfg.solarize_p = 1; cfg.solarize_threshold = 0.61f; break; /* not k/255: solarize jumps at the threshold */
            case 11: name = "jitter, random order"; cfg.jitter_p = 1; cfg.brightness = 0.5f; cfg.contrast = 0.5f;
                cfg.saturation = 0.5f; cfg.hue = 0.2f; bound = NMSE_BOUND_HUE; break;
            }
            if (C == 1 && (op == 5 || op == 6 || op == 7)) continue; /* RGB only */
            Run r = {&cfg, {.C = C, .H = H, .W = W, .S = S, .N = 24, .V = 2, .n_data = n}, data, perm, n, {.seed = 42, .epoch = 3, .first = 9}};
            char what[96];
            snprintf(what, sizeof what, "%s, C=%d 13x17 -> 11x11", name, C);
            compare(ctx, what, &r, bound);
        }
        free(data);
        free(perm);
    }
}

/* The default recipes at their dataset sizes, plus odd corners (1x1 output, batch 1). */
static void test_recipes(VcContext *ctx) {
    {
        int n = 300;
        uint8_t *data = make_images(n, 1, 28, 28, 11);
        int32_t *perm = iota_perm(n, 12);
        VcAugmentConfig cfg = vc_augment_config_simclr(1);
        Run r = {&cfg, {.C = 1, .H = 28, .W = 28, .S = 28, .N = 128, .V = 2, .n_data = n}, data, perm, n, {.seed = 1, .epoch = 0, .first = 128}};
        compare(ctx, "simclr grayscale 28x28, N=128 V=2", &r, NMSE_BOUND);
        cfg.blur_p = 0.5f;
        cfg.solarize_p = 0.2f;
        r.sh.V = 3;
        r.sh.N = 33;
        compare(ctx, "simclr grayscale + blur/solarize, V=3", &r, NMSE_BOUND);
        for (int wg = 1; wg <= 256; wg *= 16) { /* GPU-sized workgroups, and a single lane */
            g_wg = wg;
            char what[80];
            snprintf(what, sizeof what, "simclr grayscale + blur/solarize, workgroup %d", wg);
            compare(ctx, what, &r, NMSE_BOUND);
        }
        g_wg = 0;
        cfg.blur_p = 1; /* the quad blur path: k = 9 on 28x28, then k = 31 on 12x12 */
        cfg.blur_kernel = 9;
        compare(ctx, "simclr grayscale + blur k=9 (quads)", &r, NMSE_BOUND);
        cfg.blur_kernel = 31;
        r.sh.S = 12;
        compare(ctx, "simclr grayscale + blur k=31 > S=12 (quads)", &r, NMSE_BOUND);
        VcAugmentConfig ev = vc_augment_config_eval(1);
        r.cfg = &ev;
        r.sh.S = 28;
        float *got = vc_malloc(sizeof(float) * 3 * 33 * 28 * 28);
        run_gpu(ctx, &r, got, NULL);
        /* identity at the same size: every view is exactly the normalized source */
        int bad = 0;
        for (int v = 0; v < 3; v++)
            for (int b = 0; b < 33; b++)
                for (int i = 0; i < 28 * 28; i++) {
                    float want = ((float)data[(size_t)perm[128 + b] * 784 + i] / 255.0f - ev.mean[0]) / ev.std[0];
                    bad += fabsf(got[((size_t)v * 33 + b) * 784 + i] - want) > 1e-5f;
                }
        CHECK(bad == 0, "eval at the source size reproduces the normalized image (%d wrong pixels)", bad);
        free(got);
        free(data);
        free(perm);
    }
    {
        int n = 200;
        uint8_t *data = make_images(n, 3, 32, 32, 21);
        int32_t *perm = iota_perm(n, 22);
        VcAugmentConfig cfg = vc_augment_config_simclr(3);
        Run r = {&cfg, {.C = 3, .H = 32, .W = 32, .S = 32, .N = 100, .V = 2, .n_data = n}, data, perm, n, {.seed = 77, .epoch = 5, .first = 100}};
        compare(ctx, "simclr RGB 32x32, N=100 V=2", &r, NMSE_BOUND_HUE);
        g_wg = 256;
        compare(ctx, "simclr RGB 32x32, workgroup 256", &r, NMSE_BOUND_HUE);
        g_wg = 0;
        cfg.blur_p = 0.5f;
        cfg.solarize_p = 0.2f;
        cfg.jitter_random_order = false;
        r.sh.S = 24;
        compare(ctx, "simclr RGB + blur/solarize, fixed order, 32 -> 24", &r, NMSE_BOUND_HUE);
        r.sh.S = 12; /* S % 4 == 0 but W > 2S: quads without the 3-word window */
        compare(ctx, "simclr RGB + blur/solarize, 32 -> 12", &r, NMSE_BOUND_HUE);
        r.sh.S = 1;
        r.sh.N = 1;
        compare(ctx, "simclr RGB -> 1x1, batch 1", &r, NMSE_BOUND_HUE);
        r.sh.S = 45;
        r.sh.N = 7;
        compare(ctx, "simclr RGB 32 -> 45 (upsampling)", &r, NMSE_BOUND_HUE);
        free(data);
        free(perm);
    }
}

/* Each method's recipe (vc_augment_config_method): what differs between them on RGB data,
 * seen in the draws of the reference (mean crop area, jitter and grayscale rates, hue
 * range), one of them run on the GPU against the reference, and one recipe for every method
 * on grayscale data. */
static bool same_recipe(const VcAugmentConfig *a, const VcAugmentConfig *b) {
    return a->random_crop == b->random_crop && a->scale_min == b->scale_min && a->scale_max == b->scale_max &&
           a->ratio_min == b->ratio_min && a->ratio_max == b->ratio_max && a->flip_p == b->flip_p && a->jitter_p == b->jitter_p &&
           a->brightness == b->brightness && a->contrast == b->contrast && a->saturation == b->saturation && a->hue == b->hue &&
           a->jitter_random_order == b->jitter_random_order && a->grayscale_p == b->grayscale_p && a->blur_p == b->blur_p &&
           a->blur_kernel == b->blur_kernel && a->blur_sigma_min == b->blur_sigma_min && a->blur_sigma_max == b->blur_sigma_max &&
           a->solarize_p == b->solarize_p && a->solarize_threshold == b->solarize_threshold &&
           !memcmp(a->mean, b->mean, sizeof a->mean) && !memcmp(a->std, b->std, sizeof a->std);
}

static void test_method_recipes(VcContext *ctx) {
    const struct { const char *method; int version; float jitter, gray, hue; double area_lo, area_hi; } want[] = {
        {"simclr", 2, 0.8f, 0.2f, 0.1f, 0.45, 0.56},  /* scale U(0.08, 1) */
        {"moco", 2, 0.8f, 0.2f, 0.1f, 0.54, 0.64},    /* scale U(0.2, 1) */
        {"moco", 1, 1.0f, 0.2f, 0.4f, 0.54, 0.64},    /* InstDisc: jitter on every view, hue 0.4 */
        {"membank", 2, 1.0f, 0.2f, 0.4f, 0.54, 0.64},
        {"triplet", 2, 0.8f, 0.2f, 0.1f, 0.45, 0.56},
    };
    VcAugmentConfig simclr1 = vc_augment_config_simclr(1);
    for (size_t k = 0; k < VC_COUNTOF(want); k++) {
        VcAugmentConfig c = vc_augment_config_method(want[k].method, want[k].version, 3);
        CHECK(vc_augment_config_check(&c, 3) == VC_OK, "%s v%d: a valid recipe", want[k].method, want[k].version);
        int jit = 0, gray = 0, count = 20000, hue_out = 0;
        double area = 0, hue_max = 0;
        for (int i = 0; i < count; i++) {
            VcAugmentParams p;
            ref_augment_params(&c, 3, 32, 32, 5, 1, (uint32_t)i, 0, &p);
            jit += (int)p.jitter;
            gray += (int)p.grayscale;
            area += (double)p.crop_w * p.crop_h / (32.0 * 32.0);
            hue_max = fmax(hue_max, fabs(p.hue));
            hue_out += fabs(p.hue) > want[k].hue;
        }
        CHECK(fabs(jit / (double)count - want[k].jitter) < 0.02 && fabs(gray / (double)count - want[k].gray) < 0.02,
              "%s v%d: jitter rate %.3f ~ %.1f, grayscale rate %.3f ~ %.1f", want[k].method, want[k].version,
              jit / (double)count, want[k].jitter, gray / (double)count, want[k].gray);
        CHECK(hue_out == 0 && hue_max > 0.9 * want[k].hue, "%s v%d: hue shifts up to %.3f (strength %.1f)", want[k].method,
              want[k].version, hue_max, want[k].hue);
        CHECK(area / count > want[k].area_lo && area / count < want[k].area_hi, "%s v%d: mean crop area fraction %.3f in (%.2f, %.2f)",
              want[k].method, want[k].version, area / count, want[k].area_lo, want[k].area_hi);
        VcAugmentConfig g = vc_augment_config_method(want[k].method, want[k].version, 1);
        CHECK(same_recipe(&g, &simclr1), "%s v%d: grayscale data takes the one grayscale recipe", want[k].method,
              want[k].version);
    }
    int n = 64;
    uint8_t *data = make_images(n, 3, 32, 32, 31);
    int32_t *perm = iota_perm(n, 32);
    VcAugmentConfig cfg = vc_augment_config_method("moco", 1, 3);
    Run r = {&cfg, {.C = 3, .H = 32, .W = 32, .S = 32, .N = 32, .V = 2, .n_data = n}, data, perm, n, {.seed = 5, .epoch = 2, .first = 32}};
    compare(ctx, "moco v1 (InstDisc) RGB recipe 32x32, N=32 V=2", &r, NMSE_BOUND_HUE);
    free(data);
    free(perm);
}

/* Parameters alone: the crop fallback, statistics of the draws, and order permutations. */
static void test_sampler(VcContext *ctx) {
    int n = 64, N = 64;
    uint8_t *data = make_images(n, 3, 20, 30, 31);
    int32_t *perm = iota_perm(n, 32);
    /* tries that can never fit: scale 1 and ratio [2, 3] on a 30x20 image (W/H = 1.5 < 2)
     * -> centre crop w = 30, h = round(30 / 2) = 15, top = 2 */
    VcAugmentConfig cfg = vc_augment_config_eval(3);
    cfg.random_crop = true;
    cfg.scale_min = cfg.scale_max = 1;
    cfg.ratio_min = 2;
    cfg.ratio_max = 3;
    Run r = {&cfg, {.C = 3, .H = 20, .W = 30, .S = 16, .N = N, .V = 2, .n_data = n}, data, perm, n, {.seed = 5, .epoch = 1}};
    compare(ctx, "crop fallback (wide ratio)", &r, NMSE_BOUND);
    VcAugmentParams p;
    ref_augment_params(&cfg, 3, 20, 30, 5, 1, 0, 0, &p);
    CHECK(p.crop_x == 0 && p.crop_y == 2 && p.crop_w == 30 && p.crop_h == 15, "fallback box (%d,%d %dx%d) == (0,2 30x15)",
          p.crop_x, p.crop_y, p.crop_w, p.crop_h);
    cfg.ratio_min = 0.1f; /* tall: W/H = 1.5 > 0.4 -> h = 20, w = round(20 * 0.4) = 8 */
    cfg.ratio_max = 0.4f;
    compare(ctx, "crop fallback (tall ratio)", &r, NMSE_BOUND);
    ref_augment_params(&cfg, 3, 20, 30, 5, 1, 0, 0, &p);
    CHECK(p.crop_x == 11 && p.crop_y == 0 && p.crop_w == 8 && p.crop_h == 20, "fallback box (%d,%d %dx%d) == (11,0 8x20)",
          p.crop_x, p.crop_y, p.crop_w, p.crop_h);

    /* vc_augment_describe: the device's draw for one (index, view) equals the reference */
    {
        VcAugmentConfig d = vc_augment_config_simclr(3);
        d.blur_p = 0.5f;
        d.solarize_p = 0.3f;
        VcAugmentShape dsh = {.C = 3, .H = 32, .W = 32, .S = 32, .N = 4, .V = 2, .n_data = 10};
        VcAugment *aug = vc_augment_new(ctx, &d, &dsh);
        int same = 0;
        for (uint32_t i = 0; i < 8; i++) {
            VcAugmentParams g, w;
            CHECK(vc_augment_describe(aug, 11, 4, 1000 + 37 * i, i & 1, &g) == VC_OK, "describe");
            ref_augment_params(&d, 3, 32, 32, 11, 4, 1000 + 37 * i, i & 1, &w);
            same += params_equal(&g, &w);
        }
        CHECK(same == 8, "vc_augment_describe equals the reference (%d of 8); any index, n_data 10", same);
        vc_augment_free(aug);
    }
    /* statistics over many views of the reference (the GPU equals it bit for bit above) */
    VcAugmentConfig s = vc_augment_config_simclr(3);
    int flips = 0, jit = 0, gray = 0, seen[256] = {0}, not_perm = 0, count = 20000;
    double area = 0, logr = 0;
    for (int i = 0; i < count; i++) {
        ref_augment_params(&s, 3, 32, 32, 9, 0, (uint32_t)i, 0, &p);
        flips += (int)p.flip;
        jit += (int)p.jitter;
        gray += (int)p.grayscale;
        area += (double)p.crop_w * p.crop_h / (32.0 * 32.0);
        logr += log((double)p.crop_w / p.crop_h);
        int pos[4], mask = 0;
        for (int k = 0; k < 4; k++) {
            pos[k] = (int)((p.order >> (4 * k)) & 15);
            mask |= pos[k] < 4 ? 1 << pos[k] : 16;
        }
        not_perm += mask != 15 || p.order > 0xffff;
        seen[(pos[0] & 3) | (pos[1] & 3) << 2 | (pos[2] & 3) << 4 | (pos[3] & 3) << 6]++;
        CHECK(p.brightness >= 0.6f && p.brightness <= 1.4f && p.hue >= -0.1f && p.hue <= 0.1f, "factor ranges");
    }
    CHECK(fabs(flips / (double)count - 0.5) < 0.02, "flip rate %.3f ~ 0.5", flips / (double)count);
    CHECK(fabs(jit / (double)count - 0.8) < 0.02, "jitter rate %.3f ~ 0.8", jit / (double)count);
    CHECK(fabs(gray / (double)count - 0.2) < 0.02, "grayscale rate %.3f ~ 0.2", gray / (double)count);
    /* integer boxes on 32x32 with scale U(0.08, 1) (tries that exceed the image are redrawn) */
    CHECK(area / count > 0.45 && area / count < 0.56, "mean crop area fraction %.3f", area / count);
    CHECK(fabs(logr / count) < 0.02, "mean log aspect %.4f ~ 0", logr / count);
    int orders = 0;
    for (int i = 0; i < 256; i++) orders += seen[i] > 0;
    CHECK(not_perm == 0 && orders == 24, "jitter orders: %d not permutations, %d of 24 occur", not_perm, orders);
    free(data);
    free(perm);
}

/* Resubmission, dependence on (seed, epoch, index, view) only, streaming and guards. */
static void test_determinism(VcContext *ctx) {
    int n = 50, N = 16, V = 2, C = 3, S = 20;
    uint8_t *data = make_images(n, C, 24, 24, 41);
    int32_t *perm = iota_perm(n, 42);
    VcAugmentConfig cfg = vc_augment_config_simclr(3);
    cfg.blur_p = 0.5f;
    VcAugmentShape sh = {.C = C, .H = 24, .W = 24, .S = S, .N = N, .V = V, .n_data = n};
    VcAugment *aug = vc_augment_new(ctx, &cfg, &sh);
    size_t vbytes = vc_augment_views_bytes(aug), vlen = vbytes / 4, one = (size_t)C * S * S;
    VcBuffer dbuf, pbuf, step, vbuf;
    VC_ASSERT(vc_buffer_alloc(ctx, vc_augment_data_bytes(n, C, 24, 24), "data", &dbuf) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, n * 4, "perm", &pbuf) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, 32, "step", &step) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, vbytes, "views", &vbuf) == VC_OK);
    vc_buffer_upload(ctx, dbuf, 0, data, vc_augment_data_bytes(n, C, 24, 24));
    vc_buffer_upload(ctx, pbuf, 0, perm, n * 4);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_augment_record(cmd, aug, vbuf, dbuf, pbuf, step);
    float *a = vc_malloc(vbytes), *b = vc_malloc(vbytes), *c = vc_malloc(vbytes);

    vc_augment_step_write(ctx, step, &(VcAugmentStep){.seed = 3, .epoch = 2, .first = 0});
    vc_cmd_run(cmd);
    vc_buffer_download(ctx, vbuf, 0, a, vbytes);
    vc_cmd_run(cmd);
    vc_buffer_download(ctx, vbuf, 0, b, vbytes);
    CHECK(!memcmp(a, b, vbytes), "same step twice: bit-identical views");

    /* the batch starting at perm[5]: sample perm[5 + j] was at position 5 + j before */
    vc_augment_step_write(ctx, step, &(VcAugmentStep){.seed = 3, .epoch = 2, .first = 5});
    vc_cmd_run(cmd);
    vc_buffer_download(ctx, vbuf, 0, c, vbytes);
    int same = 1;
    for (int v = 0; v < V; v++)
        for (int j = 0; j + 5 < N; j++) same &= !memcmp(c + ((size_t)v * N + j) * one, a + ((size_t)v * N + j + 5) * one, one * 4);
    CHECK(same, "a view depends on the dataset index, not the batch position");
    CHECK(memcmp(a, a + (size_t)N * one, one * 4) != 0, "view 0 and view 1 of a sample differ");

    vc_augment_step_write(ctx, step, &(VcAugmentStep){.seed = 3, .epoch = 3, .first = 0});
    vc_cmd_run(cmd);
    vc_buffer_download(ctx, vbuf, 0, c, vbytes);
    int differ = 0;
    for (size_t r = 0; r < (size_t)V * N; r++) differ += memcmp(a + r * one, c + r * one, one * 4) != 0;
    CHECK(differ == V * N, "another epoch: %d of %d views differ", differ, V * N);
    vc_augment_step_write(ctx, step, &(VcAugmentStep){.seed = 4, .epoch = 2, .first = 0});
    vc_cmd_run(cmd);
    vc_buffer_download(ctx, vbuf, 0, c, vbytes);
    CHECK(memcmp(a, c, vbytes) != 0, "another seed: other views");
    (void)vlen;
    vc_cmd_free(cmd);
    vc_augment_free(aug);
    VcBuffer all[] = {dbuf, pbuf, step, vbuf};
    for (size_t i = 0; i < VC_COUNTOF(all); i++) vc_buffer_free(ctx, &all[i]);
    free(a);
    free(b);
    free(c);

    /* gathered (streamed) data: the batch's images sit at slots 3.. of a small ring, the
     * RNG still uses the dataset indices from perm; out-of-range entries -> zero views */
    int ring = 20;
    uint8_t *slots = vc_malloc((size_t)ring * C * 24 * 24 + 4);
    int32_t gperm[12];
    for (int j = 0; j < 12; j++) {
        gperm[j] = perm[j];
        if (j < 10) memcpy(slots + (size_t)(3 + j) * C * 576, data + (size_t)perm[j] * C * 576, (size_t)C * 576);
    }
    Run r = {&cfg, {.C = C, .H = 24, .W = 24, .S = S, .N = 12, .V = 2, .n_data = ring}, slots, gperm, 12,
             {.seed = 3, .epoch = 2, .first = 0, .slot_base = 3, .flags = VC_AUGMENT_GATHERED}};
    r.sh.N = 10;
    compare(ctx, "gathered batch (streamed data)", &r, NMSE_BOUND_HUE);
    /* first = 8, N = 10: positions 12..17 lie past perm -> zero views (and slot 3+9 ok) */
    r.step.first = 8;
    r.step.flags = 0;
    r.sh.n_data = n;
    r.data = data;
    compare(ctx, "batch running past perm (zero views)", &r, NMSE_BOUND_HUE);
    int32_t badperm[4] = {1, -5, 1000, 2};
    Run rb = {&cfg, {.C = C, .H = 24, .W = 24, .S = S, .N = 4, .V = 1, .n_data = n}, data, badperm, 4, {.seed = 1}};
    float *z = vc_malloc(sizeof(float) * 4 * one);
    run_gpu(ctx, &rb, z, NULL);
    int zeros = 1, nonzero = 0;
    for (size_t i = 0; i < one; i++) {
        zeros &= z[one + i] == 0 && z[2 * one + i] == 0;
        nonzero += z[i] != 0;
    }
    CHECK(zeros && nonzero > 0, "negative / too large indices give zero views, valid ones do not");
    free(z);
    free(slots);
    free(data);
    free(perm);
}

/* A CIFAR-10 sized dataset (50000 x 3x32x32 = 146.5 MiB): more than lavapipe's 128 MiB
 * storage range, so it is bound as two ranges; batch samples come from both. */
static void test_large_dataset(VcContext *ctx) {
    int n = 50000, C = 3, N = 48;
    size_t bytes = vc_augment_data_bytes(n, C, 32, 32);
    uint8_t *data = vc_malloc(bytes);
    th_seed(51);
    for (size_t i = 0; i < bytes; i += 4) {
        uint32_t x = (uint32_t)(th_uniform(0, 1) * 4294967040.0f);
        memcpy(data + i, &x, 4);
    }
    int32_t perm[48];
    for (int i = 0; i < N; i++) perm[i] = (int32_t)((i * 1048573u + (i & 1) * 43690u) % (uint32_t)n);
    perm[0] = n - 1;
    perm[1] = 0;
    VcAugmentConfig cfg = vc_augment_config_simclr(3);
    Run r = {&cfg, {.C = C, .H = 32, .W = 32, .S = 32, .N = N, .V = 2, .n_data = n}, data, perm, N, {.seed = 8, .epoch = 1}};
    printf("large dataset: %.1f MiB, device storage range %.0f MiB\n", bytes / 1048576.0,
           vc_context_info(ctx)->max_storage_buffer_range / 1048576.0);
    compare(ctx, "CIFAR-10 sized dataset across binding ranges", &r, NMSE_BOUND_HUE);
    free(data);
}

static void test_config_errors(VcContext *ctx) {
    VcAugmentConfig c = vc_augment_config_simclr(3);
    CHECK(vc_augment_config_check(&c, 3) == VC_OK, "defaults are valid");
    c.scale_min = 0;
    CHECK(vc_augment_config_check(&c, 3) == VC_ERR_ARG && strstr(vc_last_error(), "scale_min"), "scale_min 0: %s", vc_last_error());
    c = vc_augment_config_simclr(3);
    c.ratio_max = 0.5f;
    CHECK(vc_augment_config_check(&c, 3) == VC_ERR_ARG && strstr(vc_last_error(), "ratio_max"), "ratio_max < min: %s", vc_last_error());
    c = vc_augment_config_simclr(3);
    c.flip_p = 1.5f;
    CHECK(vc_augment_config_check(&c, 3) == VC_ERR_ARG && strstr(vc_last_error(), "flip_p"), "flip_p 1.5: %s", vc_last_error());
    c = vc_augment_config_simclr(3);
    c.hue = 0.7f;
    CHECK(vc_augment_config_check(&c, 3) == VC_ERR_ARG && strstr(vc_last_error(), "hue"), "hue 0.7: %s", vc_last_error());
    c = vc_augment_config_simclr(3);
    c.blur_p = 0.5f;
    c.blur_kernel = 4;
    CHECK(vc_augment_config_check(&c, 3) == VC_ERR_ARG && strstr(vc_last_error(), "blur_kernel"), "even kernel: %s", vc_last_error());
    c = vc_augment_config_simclr(3);
    c.std[2] = 0;
    CHECK(vc_augment_config_check(&c, 3) == VC_ERR_ARG && strstr(vc_last_error(), "std"), "std 0: %s", vc_last_error());
    c = vc_augment_config_simclr(1);
    c.std[2] = 0; /* unused channel of a grayscale recipe */
    CHECK(vc_augment_config_check(&c, 1) == VC_OK, "grayscale ignores std[1..2]");
    c = vc_augment_config_simclr(3);
    VcAugmentShape sh = {.C = 2, .H = 8, .W = 8, .S = 8, .N = 4, .V = 2, .n_data = 10};
    CHECK(vc_augment_new(ctx, &c, &sh) == NULL && strstr(vc_last_error(), "channels"), "C=2 refused: %s", vc_last_error());
    sh = (VcAugmentShape){.C = 3, .H = 8, .W = 8, .S = 8, .N = 0, .V = 2, .n_data = 10};
    CHECK(vc_augment_new(ctx, &c, &sh) == NULL && strstr(vc_last_error(), "batch"), "N=0 refused: %s", vc_last_error());
    sh = (VcAugmentShape){.C = 3, .H = 1000, .W = 1000, .S = 8, .N = 4, .V = 2, .n_data = 1000};
    CHECK(vc_augment_new(ctx, &c, &sh) == NULL && strstr(vc_last_error(), "stream"), "huge dataset refused: %s", vc_last_error());
}

static void test_stats(void) {
    uint8_t img[2 * 3 * 2 * 2];
    for (int i = 0; i < 24; i++) img[i] = (uint8_t)(i * 10);
    float mean[3], std[3];
    vc_augment_dataset_stats(img, 2, 3, 2, 2, mean, std);
    for (int c = 0; c < 3; c++) {
        double s = 0, s2 = 0;
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 4; k++) {
                double x = img[(i * 3 + c) * 4 + k] / 255.0;
                s += x;
                s2 += x * x;
            }
        double m = s / 8, sd = sqrt(s2 / 8 - m * m);
        CHECK(fabs(mean[c] - m) < 1e-6 && fabs(std[c] - sd) < 1e-6, "stats channel %d: %g %g vs %g %g", c, mean[c], std[c], m, sd);
    }
}

static void test_grid(VcContext *ctx) {
    int n = 8, C = 3, S = 16, rows = 2, cols = 4;
    uint8_t *data = make_images(n, C, 16, 16, 61);
    int32_t *perm = iota_perm(n, 62);
    VcAugmentConfig cfg = vc_augment_config_eval(3);
    Run r = {&cfg, {.C = C, .H = 16, .W = 16, .S = S, .N = n, .V = 1, .n_data = n}, data, perm, n, {.seed = 1}};
    float *views = vc_malloc(sizeof(float) * n * C * S * S);
    run_gpu(ctx, &r, views, NULL);
    char path[256];
    snprintf(path, sizeof path, "/tmp/vc_test_augment_%ld.png", (long)getpid());
    CHECK(vc_augment_write_grid(path, views, rows, cols, C, S, cfg.mean, cfg.std) == VC_OK, "grid written: %s", vc_last_error());
    int w = 0, h = 0, comp = 0;
    uint8_t *png = stbi_load(path, &w, &h, &comp, 0);
    CHECK(png && w == cols * (S + 2) + 2 && h == rows * (S + 2) + 2 && comp == 3, "PNG reads back as %dx%dx%d", w, h, comp);
    if (png) {
        /* cell (1, 2) = image 6, pixel (y 5, x 7), channel 1: the source byte */
        int img = 6, y = 5, x = 7, c = 1;
        int got = png[((size_t)(1 * (S + 2) + 2 + y) * w + (2 * (S + 2) + 2 + x)) * 3 + c];
        int want = data[(((size_t)perm[img] * C + c) * 16 + y) * 16 + x];
        CHECK(abs(got - want) <= 1, "grid pixel %d == source %d", got, want);
        CHECK(png[0] == 255, "gaps are white");
        stbi_image_free(png);
    }
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "no temporary file left");
    unlink(path);
    const char *bad = "/nonexistent-dir/grid.png";
    CHECK(vc_augment_write_grid(bad, views, rows, cols, C, S, cfg.mean, cfg.std) == VC_ERR_IO &&
              strstr(vc_last_error(), bad) != NULL,
          "unwritable path reported with its name: %s", vc_last_error());
    CHECK(vc_augment_write_grid(path, views, 0, cols, C, S, cfg.mean, cfg.std) == VC_ERR_ARG, "bad layout refused");
    /* grayscale: one channel in, a gray PNG out (3 rows x 5 columns of 7x7) */
    float gm[1] = {0.5f}, gs[1] = {0.25f};
    CHECK(vc_augment_write_grid(path, views, 3, 5, 1, 7, gm, gs) == VC_OK, "gray grid written: %s", vc_last_error());
    png = stbi_load(path, &w, &h, &comp, 0);
    CHECK(png && w == 5 * 9 + 2 && h == 3 * 9 + 2 && comp == 1, "gray PNG reads back as %dx%dx%d", w, h, comp);
    if (png) {
        float x = (views[0] * 0.25f + 0.5f) * 255.0f;
        int want = (int)lrintf(fminf(fmaxf(x, 0), 255));
        CHECK(abs(png[2 * w + 2] - want) <= 0, "gray pixel %d == %d", png[2 * w + 2], want);
        stbi_image_free(png);
    }
    unlink(path);
    free(views);
    free(data);
    free(perm);
}

/* Time one step's augmentation for the two default recipes (printed, loose check). */
static void test_timing(VcContext *ctx) {
    if (!vc_context_info(ctx)->timestamps) return;
    for (int kind = 0; kind < 2; kind++) {
        int C = kind ? 3 : 1, S = kind ? 32 : 28, N = 256, n = 1024;
        uint8_t *data = make_images(n, C, S, S, 71);
        int32_t *perm = iota_perm(n, 72);
        VcAugmentConfig cfg = vc_augment_config_simclr(C);
        VcAugmentShape sh = {.C = C, .H = S, .W = S, .S = S, .N = N, .V = 2, .n_data = n};
        VcAugment *aug = vc_augment_new(ctx, &cfg, &sh);
        VcBuffer dbuf, pbuf, step, vbuf;
        VC_ASSERT(vc_buffer_alloc(ctx, vc_augment_data_bytes(n, C, S, S), "data", &dbuf) == VC_OK);
        VC_ASSERT(vc_buffer_alloc(ctx, n * 4, "perm", &pbuf) == VC_OK);
        VC_ASSERT(vc_buffer_alloc_mapped(ctx, 32, "step", &step) == VC_OK);
        VC_ASSERT(vc_buffer_alloc(ctx, vc_augment_views_bytes(aug), "views", &vbuf) == VC_OK);
        vc_buffer_upload(ctx, dbuf, 0, data, vc_augment_data_bytes(n, C, S, S));
        vc_buffer_upload(ctx, pbuf, 0, perm, n * 4);
        VcCmd *cmd = vc_cmd_new(ctx, true);
        vc_augment_record(cmd, aug, vbuf, dbuf, pbuf, step);
        double best = 1e9;
        for (int it = 0; it < 15; it++) {
            vc_augment_step_write(ctx, step, &(VcAugmentStep){.seed = 1, .epoch = 0, .first = (uint32_t)(it % 3) * 256});
            vc_cmd_run(cmd);
            int cnt = 0;
            const VcTiming *t = vc_cmd_timings(cmd, &cnt);
            double ms = 0;
            for (int i = 0; i < cnt; i++) ms += t[i].ms;
            if (cnt == 2) best = VC_MIN(best, ms);
        }
        printf("augment %s: %d views of %dx%dx%d in %.3f ms (best of 15, %s)\n", kind ? "RGB" : "grayscale", 2 * N, C, S, S, best,
               vc_context_info(ctx)->name);
        CHECK(best < 200, "augmentation of %d views takes %.1f ms", 2 * N, best);
        vc_cmd_free(cmd);
        vc_augment_free(aug);
        VcBuffer all[] = {dbuf, pbuf, step, vbuf};
        for (size_t i = 0; i < VC_COUNTOF(all); i++) vc_buffer_free(ctx, &all[i]);
        free(data);
        free(perm);
    }
}

int main(void) {
    VcContext *ctx = th_gpu();
    test_philox_kat();
    test_stats();
    test_config_errors(ctx);
    test_sampler(ctx);
    test_ops_alone(ctx);
    test_recipes(ctx);
    test_method_recipes(ctx);
    test_determinism(ctx);
    test_grid(ctx);
    test_large_dataset(ctx);
    test_timing(ctx);
    return th_finish();
}
