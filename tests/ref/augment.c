/* ref/augment.c — the C reference of shaders/augment.comp (see ref/augment.h, augment.h).
 *
 * Two halves with different precision on purpose:
 *  - the parameter sampler runs in fp32 with exactly the shader's operations (this file is
 *    built with -std=c17, so no fused multiply-add), because its results are discrete
 *    (crop boxes, coin flips) and must agree bit for bit;
 *  - the image operations run in double: they are continuous in their inputs, so the
 *    shader's fp32 result differs from this one only by rounding.
 */
#include "ref/augment.h"

#include <math.h>
#include <string.h>

/* ---- Philox 4x32-10 ---- */

static void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void ref_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k[2] = {key[0], key[1]};
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k[0] += 0x9E3779B9u;
            k[1] += 0xBB67AE85u;
        }
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(0xD2511F53u, c[0], &hi0, &lo0);
        mulhilo(0xCD9E8D57u, c[2], &hi1, &lo1);
        uint32_t n[4] = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
        memcpy(c, n, sizeof c);
    }
    memcpy(out, c, sizeof c);
}

static void draw(uint32_t seed, uint32_t epoch, uint32_t index, uint32_t view, uint32_t n, uint32_t out[4]) {
    uint32_t ctr[4] = {index, view, n, 0}, key[2] = {seed, epoch};
    ref_philox4x32_10(ctr, key, out);
}

static float u01(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }
static uint32_t below(uint32_t x, uint32_t m) { return (uint32_t)(((uint64_t)x * m) >> 32); }
static float uniform_in(float lo, float hi, uint32_t x) { return lo + (hi - lo) * u01(x); }

/* ---- fp32 helpers identical to the shader's ---- */

static float bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static float exp_det(float x) {
    float xc = x < -80.0f ? -80.0f : (x > 80.0f ? 80.0f : x);
    float kf = floorf(xc * bits(0x3fb8aa3bu) + 0.5f);
    float r = xc - kf * bits(0x3f317218u);
    float p = bits(0x39500d01u);
    p = p * r + bits(0x3ab60b61u);
    p = p * r + bits(0x3c088889u);
    p = p * r + bits(0x3d2aaaabu);
    p = p * r + bits(0x3e2aaaabu);
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    return p * bits((uint32_t)((int)kf + 127) << 23);
}

static float sq_half(int n, float d) {
    float t = (float)n + d;
    return t * t;
}

static int round_sqrt(float a) {
    if (!(a > 0.0f)) return 0;
    if (a >= 16777216.0f) return 1 << 24;
    int n = (int)(sqrtf(a) + 0.5f);
    while (sq_half(n, 0.5f) <= a) n++;
    while (n > 0 && sq_half(n, -0.5f) > a) n--;
    return n;
}

static int round_div(float num, float den) {
    int n = (int)(num / den + 0.5f);
    while (((float)n + 0.5f) * den <= num) n++;
    while (n > 0 && ((float)n - 0.5f) * den > num) n--;
    return n;
}

static int clampi(int x, int lo, int hi) { return x < lo ? lo : (x > hi ? hi : x); }

/* r in [0, 24) -> the r-th permutation of {0,1,2,3} in Lehmer order, 4 bits per slot. */
static uint32_t perm4(uint32_t r) {
    int avail[4] = {0, 1, 2, 3}, left = 4;
    uint32_t packed = 0;
    const uint32_t fact[4] = {6, 2, 1, 1};
    for (int k = 0; k < 4; k++) {
        uint32_t i = r / fact[k];
        r -= i * fact[k];
        packed |= (uint32_t)avail[i] << (4 * k);
        for (int j = (int)i; j + 1 < left; j++) avail[j] = avail[j + 1];
        left--;
    }
    return packed;
}

/* ---- the sampler ---- */

void ref_augment_params(const VcAugmentConfig *cfg, int C, int H, int W, uint32_t seed, uint32_t epoch, uint32_t index,
                        uint32_t view, VcAugmentParams *p) {
    memset(p, 0, sizeof *p);
    p->index = index;
    uint32_t r[4];
    if (cfg->random_crop) {
        /* torchvision RandomResizedCrop.get_params: 10 tries, then a centre crop */
        float logr_lo = logf(cfg->ratio_min), logr_hi = logf(cfg->ratio_max);
        float area = (float)H * (float)W;
        int found = 0;
        for (uint32_t t = 0; t < 10 && !found; t++) {
            draw(seed, epoch, index, view, t, r);
            float target = area * uniform_in(cfg->scale_min, cfg->scale_max, r[0]);
            float lr = uniform_in(logr_lo, logr_hi, r[1]);
            int w = round_sqrt(target * exp_det(lr)), h = round_sqrt(target * exp_det(-lr));
            if (w > 0 && w <= W && h > 0 && h <= H) {
                p->crop_w = w;
                p->crop_h = h;
                p->crop_x = (int)below(r[2], (uint32_t)(W - w + 1));
                p->crop_y = (int)below(r[3], (uint32_t)(H - h + 1));
                found = 1;
            }
        }
        if (!found) {
            float rmin = exp_det(logr_lo), rmax = exp_det(logr_hi), fw = (float)W, fh = (float)H;
            int w = W, h = H;
            if (fw < rmin * fh) h = clampi(round_div(fw, rmin), 1, H);
            else if (fw > rmax * fh) w = clampi((int)(fh * rmax + 0.5f), 1, W);
            p->crop_w = w;
            p->crop_h = h;
            p->crop_x = (W - w) / 2;
            p->crop_y = (H - h) / 2;
        }
    } else {
        p->crop_w = W;
        p->crop_h = H;
    }
    draw(seed, epoch, index, view, 10, r);
    p->flip = u01(r[0]) < cfg->flip_p;
    p->jitter = u01(r[1]) < cfg->jitter_p;
    p->grayscale = C == 3 && u01(r[2]) < cfg->grayscale_p;
    p->blur = u01(r[3]) < cfg->blur_p;
    draw(seed, epoch, index, view, 11, r);
    p->brightness = uniform_in(fmaxf(0.0f, 1.0f - cfg->brightness), 1.0f + cfg->brightness, r[0]);
    p->contrast = uniform_in(fmaxf(0.0f, 1.0f - cfg->contrast), 1.0f + cfg->contrast, r[1]);
    p->saturation = uniform_in(fmaxf(0.0f, 1.0f - cfg->saturation), 1.0f + cfg->saturation, r[2]);
    p->hue = uniform_in(-cfg->hue, cfg->hue, r[3]);
    draw(seed, epoch, index, view, 12, r);
    p->order = cfg->jitter_random_order ? perm4(below(r[0], 24)) : 0x3210u;
    p->sigma = uniform_in(cfg->blur_sigma_min, cfg->blur_sigma_max, r[1]);
    p->solarize = u01(r[2]) < cfg->solarize_p;
}

int ref_augment_blur_kernel(const VcAugmentConfig *cfg, int S) {
    if (cfg->blur_kernel > 0) return cfg->blur_kernel;
    int k = (int)(0.1 * S);
    if (k % 2 == 0) k++;
    return k < VC_AUGMENT_MAX_KERNEL ? k : VC_AUGMENT_MAX_KERNEL;
}

/* ---- the image operations (double, pixels in [0, 1]) ---- */

static double clamp01(double x) { return x < 0 ? 0 : (x > 1 ? 1 : x); }
static double gray_of(const double *c, int C) { return C == 3 ? 0.2989 * c[0] + 0.587 * c[1] + 0.114 * c[2] : c[0]; }

/* torchvision _rgb2hsv / _hsv2rgb with the hue rotated by `shift` turns. */
static void adjust_hue(double *c, double shift) {
    double r = c[0], g = c[1], b = c[2];
    double maxc = fmax(r, fmax(g, b)), minc = fmin(r, fmin(g, b));
    int eqc = maxc == minc;
    double cr = maxc - minc, s = cr / (eqc ? 1.0 : maxc), crd = eqc ? 1.0 : cr;
    double rc = (maxc - r) / crd, gc = (maxc - g) / crd, bc = (maxc - b) / crd;
    double h = maxc == r ? bc - gc : (maxc == g ? 2.0 + rc - bc : 4.0 + gc - rc);
    h = fmod(h / 6.0 + 1.0, 1.0);
    h = h + shift - floor(h + shift);
    double v = maxc, h6 = h * 6.0, fi = floor(h6), f = h6 - fi;
    int i = (int)fi % 6;
    double p = clamp01(v * (1 - s)), q = clamp01(v * (1 - s * f)), t = clamp01(v * (1 - s * (1 - f)));
    const double rgb[6][3] = {{v, t, p}, {q, v, p}, {p, v, t}, {p, q, v}, {t, p, v}, {v, p, q}};
    memcpy(c, rgb[i], 3 * sizeof(double));
}

/* One jitter adjustment `op` (0 brightness, 1 contrast, 2 saturation, 3 hue) on every
 * pixel of img (C, n). Contrast blends with the mean gray level of the whole image. */
static void jitter_op(const VcAugmentConfig *cfg, const VcAugmentParams *p, int op, double *img, int C, int n) {
    double px[3];
    if (op == 0 && cfg->brightness > 0) {
        for (int i = 0; i < C * n; i++) img[i] = clamp01(img[i] * p->brightness);
    } else if (op == 1 && cfg->contrast > 0) {
        double mean = 0;
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < C; c++) px[c] = img[c * n + i];
            mean += gray_of(px, C);
        }
        mean /= n;
        for (int i = 0; i < C * n; i++) img[i] = clamp01(p->contrast * img[i] + (1 - p->contrast) * mean);
    } else if (op == 2 && C == 3 && cfg->saturation > 0) {
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) px[c] = img[c * n + i];
            double g = gray_of(px, 3);
            for (int c = 0; c < 3; c++) img[c * n + i] = clamp01(p->saturation * px[c] + (1 - p->saturation) * g);
        }
    } else if (op == 3 && C == 3 && cfg->hue > 0) {
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) px[c] = img[c * n + i];
            adjust_hue(px, p->hue);
            for (int c = 0; c < 3; c++) img[c * n + i] = px[c];
        }
    }
}

static int reflect_index(int i, int n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * n - 2 - i;
    return clampi(i, 0, n - 1);
}

void ref_augment_view(const VcAugmentConfig *cfg, const VcAugmentParams *p, const uint8_t *img, int C, int H, int W, int S,
                      double *out) {
    int n = S * S;
    /* 1-2. crop box resized to S x S, bilinear with half-pixel centres, flipped */
    for (int oy = 0; oy < S; oy++) {
        for (int ox = 0; ox < S; ox++) {
            int fx = p->flip ? S - 1 - ox : ox;
            double sy = fmax((oy + 0.5) * ((double)p->crop_h / S) - 0.5, 0.0);
            double sx = fmax((fx + 0.5) * ((double)p->crop_w / S) - 0.5, 0.0);
            int y0 = (int)sy < p->crop_h - 1 ? (int)sy : p->crop_h - 1, x0 = (int)sx < p->crop_w - 1 ? (int)sx : p->crop_w - 1;
            double ly = sy - y0, lx = sx - x0;
            int y1 = y0 + (y0 < p->crop_h - 1), x1 = x0 + (x0 < p->crop_w - 1);
            for (int c = 0; c < C; c++) {
                const uint8_t *src = img + (size_t)c * H * W;
#define PX(y, x) ((double)src[(size_t)(p->crop_y + (y)) * W + p->crop_x + (x)])
                double v = (1 - ly) * ((1 - lx) * PX(y0, x0) + lx * PX(y0, x1)) + ly * ((1 - lx) * PX(y1, x0) + lx * PX(y1, x1));
#undef PX
                out[c * n + oy * S + ox] = v / 255.0;
            }
        }
    }
    /* 3. colour jitter in the drawn order */
    if (p->jitter)
        for (int k = 0; k < 4; k++) jitter_op(cfg, p, (int)((p->order >> (4 * k)) & 15), out, C, n);
    /* 4. grayscale */
    if (p->grayscale) {
        for (int i = 0; i < n; i++) {
            double px[3] = {out[i], out[n + i], out[2 * n + i]};
            double g = gray_of(px, 3);
            for (int c = 0; c < 3; c++) out[c * n + i] = g;
        }
    }
    /* 5. Gaussian blur: separable, reflect padding */
    if (p->blur) {
        int k = ref_augment_blur_kernel(cfg, S), half = k / 2;
        double w[VC_AUGMENT_MAX_KERNEL], sum = 0;
        for (int j = 0; j < k; j++) {
            double x = (j - half) / (double)p->sigma;
            w[j] = exp(-0.5 * x * x);
            sum += w[j];
        }
        for (int j = 0; j < k; j++) w[j] /= sum;
        double *tmp = vc_malloc(sizeof(double) * (size_t)n);
        for (int c = 0; c < C; c++) {
            double *ch = out + c * n;
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    double a = 0;
                    for (int j = 0; j < k; j++) a += w[j] * ch[y * S + reflect_index(x + j - half, S)];
                    tmp[y * S + x] = a;
                }
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    double a = 0;
                    for (int j = 0; j < k; j++) a += w[j] * tmp[reflect_index(y + j - half, S) * S + x];
                    ch[y * S + x] = a;
                }
        }
        free(tmp);
    }
    /* 6-7. solarize, normalize */
    for (int c = 0; c < C; c++)
        for (int i = 0; i < n; i++) {
            double x = out[c * n + i];
            if (p->solarize && x >= cfg->solarize_threshold) x = 1 - x;
            out[c * n + i] = (x - cfg->mean[c]) / cfg->std[c];
        }
}

void ref_augment_batch(const VcAugmentConfig *cfg, const VcAugmentShape *sh, const uint8_t *data, const int32_t *perm,
                       size_t perm_len, const VcAugmentStep *step, double *views) {
    size_t view_len = (size_t)sh->C * sh->S * sh->S, img_len = (size_t)sh->C * sh->H * sh->W;
    for (int v = 0; v < sh->V; v++)
        for (int b = 0; b < sh->N; b++) {
            double *out = views + ((size_t)v * sh->N + b) * view_len;
            size_t pos = (size_t)step->first + b;
            uint32_t index = pos < perm_len ? (uint32_t)perm[pos] : 0xffffffffu;
            uint32_t slot = (step->flags & VC_AUGMENT_GATHERED) ? step->slot_base + (uint32_t)b : index;
            if (pos >= perm_len || slot >= (uint32_t)sh->n_data) {
                memset(out, 0, sizeof(double) * view_len);
                continue;
            }
            VcAugmentParams p;
            ref_augment_params(cfg, sh->C, sh->H, sh->W, step->seed, step->epoch, index, (uint32_t)v, &p);
            ref_augment_view(cfg, &p, data + slot * img_len, sh->C, sh->H, sh->W, sh->S, out);
        }
}
