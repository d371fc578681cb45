#version 450
// augment.comp — SimCLR augmentation: uint8 images in, normalized random views out.
//
// Variant `augment`: one workgroup per output view (x = batch position b, y = view v).
// Invocation 0 draws the view's parameters from Philox (see augment.h for the draw map)
// into shared memory; then the workgroup walks the S*S output pixels:
//   pass 1  bilinear crop-resize (+ flip) of the uint8 source, colour ops up to contrast;
//           when contrast is due, the image's mean gray level is reduced in shared memory
//           and pass 2 finishes the colour ops on the values pass 1 left in `views`
//           (each invocation rereads only its own pixels, so no buffer barrier is needed);
//   blur    when drawn: horizontal pass views -> scratch, vertical pass scratch -> views
//           (these read neighbours written by other invocations: buffer barrier between);
//   finish  grayscale, solarize and normalization on the last write.
// Variant `augment_params`: the sampler alone, one invocation per view, writing the
// parameters (struct Params) so tests and tools can see exactly what was drawn.
//
// The crop sampler must choose the same integer boxes as the C reference: every float
// operation on that path is `precise` (no fused multiply-add) and correctly rounded
// (+, -, *, comparisons), exp is a fixed polynomial and rounding is decided by exact
// comparisons; sqrt and division only give first guesses that get corrected.
//! variant augment -DAUG_VIEWS=1
//! variant augment_params -DAUG_PARAMS=1
#include "common.glsl"
#include "philox.glsl"

// Shapes and switches are fixed for a run, so they are specialization constants: loops
// over channels and taps unroll, divisions by S become multiplications, unused
// operations compile away.
layout(constant_id = 0) const uint WG = 64;      // power of two (tree reduction)
layout(constant_id = 1) const uint NPARTS = 1;   // data bindings in use (1..4)
layout(constant_id = 2) const uint C = 1;        // channels (1 or 3)
layout(constant_id = 3) const uint H = 28;       // source height
layout(constant_id = 4) const uint W = 28;       // source width
layout(constant_id = 5) const uint S = 28;       // output side
layout(constant_id = 6) const uint FLAGS = 0;    // F_* below
layout(constant_id = 7) const uint KBLUR = 3;    // blur taps (odd)
layout(local_size_x_id = 0) in;

layout(push_constant) uniform Push {
    uint N, n_data, per_part;
    float scale_lo, scale_hi, logr_lo;
    float logr_hi, flip_p, jitter_p, gray_p;
    float blur_p, sigma_lo, sigma_hi, solar_p;
    float solar_t, bri, con, sat;
    float hue, mean0, mean1, mean2;
    float std0, std1, std2;
} pc;

// FLAGS (src/ops/augment.c sets them)
const uint F_CROP = 1u;  // random resized crop (else the whole image)
const uint F_ORDER = 2u; // random order of the jitter adjustments
const uint F_BRI = 4u, F_CON = 8u, F_SAT = 16u, F_HUE = 32u; // adjustment strengths > 0
const uint MAXK = 63u;   // VC_AUGMENT_MAX_KERNEL

struct Params {
    int crop_x, crop_y, crop_w, crop_h;
    uint flip, jitter, order, grayscale;
    float brightness, contrast, saturation, hue;
    uint blur;
    float sigma;
    uint solarize;
    uint index;
};

#ifdef AUG_VIEWS
layout(std430, binding = 0) coherent buffer Views { float views[]; };     // (V*N, C, S, S)
layout(std430, binding = 1) coherent buffer Scratch { float scratch[]; }; // like views (blur)
layout(std430, binding = 2) readonly buffer Perm { int perm[]; };
layout(std430, binding = 3) readonly buffer Step { uint step[]; };
layout(std430, binding = 4) readonly buffer Data0 { uint d0[]; };         // uint8 packed x4
layout(std430, binding = 5) readonly buffer Data1 { uint d1[]; };
layout(std430, binding = 6) readonly buffer Data2 { uint d2[]; };
layout(std430, binding = 7) readonly buffer Data3 { uint d3[]; };
#else
layout(std430, binding = 0) writeonly buffer Out { Params params[]; };    // (V*N)
layout(std430, binding = 1) readonly buffer Perm { int perm[]; };
layout(std430, binding = 2) readonly buffer Step { uint step[]; };
#endif

// ---- deterministic float helpers (mirrored in tests/ref/augment.c) ----

// exp(x): x = k ln2 + r, |r| <= ln2/2, degree-7 Taylor polynomial (rel. error < 1e-7),
// times 2^k built from the exponent bits. Constants given as bits so that no compiler
// rounds a decimal literal differently.
float exp_det(float x) {
    precise float xc = clamp(x, -80.0, 80.0);
    precise float kf = floor(xc * uintBitsToFloat(0x3fb8aa3bu) + 0.5); // log2(e)
    precise float r = xc - kf * uintBitsToFloat(0x3f317218u);          // ln 2
    precise float p = uintBitsToFloat(0x39500d01u);                     // 1/5040
    p = p * r + uintBitsToFloat(0x3ab60b61u);                           // 1/720
    p = p * r + uintBitsToFloat(0x3c088889u);                           // 1/120
    p = p * r + uintBitsToFloat(0x3d2aaaabu);                           // 1/24
    p = p * r + uintBitsToFloat(0x3e2aaaabu);                           // 1/6
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    precise float res = p * uintBitsToFloat(uint(int(kf) + 127) << 23);
    return res;
}

float sq_half(int n, float d) { precise float t = float(n) + d; precise float s = t * t; return s; }

// round(sqrt(a)): the n with (n-1/2)^2 <= a < (n+1/2)^2 (squares rounded to fp32).
int round_sqrt(float a) {
    if (!(a > 0.0)) return 0;
    if (a >= 16777216.0) return 1 << 24;
    int n = int(sqrt(a) + 0.5);
    while (sq_half(n, 0.5) <= a) n++;
    while (n > 0 && sq_half(n, -0.5) > a) n--;
    return n;
}

// round(num / den) for den > 0: the n with (n-1/2) den <= num < (n+1/2) den.
int round_div(float num, float den) {
    int n = int(num / den + 0.5);
    for (;;) { precise float t = (float(n) + 0.5) * den; if (t <= num) n++; else break; }
    for (;;) { precise float t = (float(n) - 0.5) * den; if (n > 0 && t > num) n--; else break; }
    return n;
}

float uniform_in(float lo, float hi, uint x) { precise float r = lo + (hi - lo) * philox_u01(x); return r; }

// The r-th (0..23) permutation of the ops {0,1,2,3} (Lehmer code), packed 4 bits per slot.
uint perm4(uint r) {
    uint avail = 0x3210u, packed = 0u;
    for (uint k = 0u; k < 4u; k++) {
        uint d = k == 0u ? 6u : (k == 1u ? 2u : 1u);
        uint i = r / d;
        r -= i * d;
        packed |= ((avail >> (4u * i)) & 15u) << (4u * k);
        uint low = avail & ((1u << (4u * i)) - 1u);
        avail = low | ((avail >> (4u * (i + 1u))) << (4u * i));
    }
    return packed;
}

// torchvision RandomResizedCrop.get_params with Philox draws 0..9, then the fallback.
void crop_box(uint index, uint view, uvec2 key, inout Params P) {
    int iH = int(H), iW = int(W);
    precise float area = float(iH) * float(iW);
    for (uint t = 0u; t < 10u; t++) {
        uvec4 r = philox4x32_10(uvec4(index, view, t, 0u), key);
        precise float target = area * uniform_in(pc.scale_lo, pc.scale_hi, r.x);
        precise float lr = uniform_in(pc.logr_lo, pc.logr_hi, r.y);
        precise float aw = target * exp_det(lr);
        precise float ah = target * exp_det(-lr);
        int w = round_sqrt(aw), h = round_sqrt(ah);
        if (w > 0 && w <= iW && h > 0 && h <= iH) {
            P.crop_w = w;
            P.crop_h = h;
            P.crop_x = int(philox_below(r.z, uint(iW - w + 1)));
            P.crop_y = int(philox_below(r.w, uint(iH - h + 1)));
            return;
        }
    }
    // centre crop with the aspect ratio clamped into [ratio_min, ratio_max]
    precise float rmin = exp_det(pc.logr_lo), rmax = exp_det(pc.logr_hi);
    precise float fw = float(iW), fh = float(iH);
    precise float lo = rmin * fh, hi = rmax * fh;
    int w = iW, h = iH;
    if (fw < lo) {
        h = clamp(round_div(fw, rmin), 1, iH);
    } else if (fw > hi) {
        precise float t = fh * rmax + 0.5;
        w = clamp(int(t), 1, iW);
    }
    P.crop_w = w;
    P.crop_h = h;
    P.crop_x = (iW - w) / 2;
    P.crop_y = (iH - h) / 2;
}

Params sample_params(uint index, uint view, uvec2 key) {
    Params P;
    P.index = index;
    if ((FLAGS & F_CROP) != 0u) {
        crop_box(index, view, key, P);
    } else {
        P.crop_x = 0;
        P.crop_y = 0;
        P.crop_w = int(W);
        P.crop_h = int(H);
    }
    uvec4 r = philox4x32_10(uvec4(index, view, 10u, 0u), key);
    P.flip = philox_u01(r.x) < pc.flip_p ? 1u : 0u;
    P.jitter = philox_u01(r.y) < pc.jitter_p ? 1u : 0u;
    P.grayscale = (C == 3u && philox_u01(r.z) < pc.gray_p) ? 1u : 0u;
    P.blur = philox_u01(r.w) < pc.blur_p ? 1u : 0u;
    r = philox4x32_10(uvec4(index, view, 11u, 0u), key);
    precise float blo = max(0.0, 1.0 - pc.bri), bhi = 1.0 + pc.bri;
    precise float clo = max(0.0, 1.0 - pc.con), chi = 1.0 + pc.con;
    precise float slo = max(0.0, 1.0 - pc.sat), shi = 1.0 + pc.sat;
    P.brightness = uniform_in(blo, bhi, r.x);
    P.contrast = uniform_in(clo, chi, r.y);
    P.saturation = uniform_in(slo, shi, r.z);
    P.hue = uniform_in(-pc.hue, pc.hue, r.w);
    r = philox4x32_10(uvec4(index, view, 12u, 0u), key);
    P.order = (FLAGS & F_ORDER) != 0u ? perm4(philox_below(r.x, 24u)) : 0x3210u;
    P.sigma = uniform_in(pc.sigma_lo, pc.sigma_hi, r.y);
    P.solarize = philox_u01(r.z) < pc.solar_p ? 1u : 0u;
    return P;
}

// Batch entry b -> dataset index (for the RNG) and data slot; false when out of range.
bool locate(uint b, out uint index, out uint slot) {
    uint pos = step[2] + b;
    index = 0xffffffffu;
    slot = 0xffffffffu;
    if (pos >= uint(perm.length())) return false;
    index = uint(perm[pos]);
    slot = (step[4] & 1u) != 0u ? step[3] + b : index;
    return slot < pc.n_data;
}

#ifdef AUG_PARAMS
void main() {
    uint b = gl_GlobalInvocationID.x, v = gl_GlobalInvocationID.y;
    if (b >= pc.N) return;
    uint index, slot;
    Params P = Params(0, 0, 0, 0, 0u, 0u, 0u, 0u, 0.0, 0.0, 0.0, 0.0, 0u, 0.0, 0u, 0xffffffffu);
    if (locate(b, index, slot)) P = sample_params(index, v, uvec2(step[0], step[1]));
    params[v * pc.N + b] = P;
}
#endif

#ifdef AUG_VIEWS
shared Params sP;
shared uint s_ok, s_part, s_base;
Params P;        // this view's parameters, copied from shared memory into registers
uint g_base;     // byte offset of the source image in its data binding
shared float s_w[MAXK];
shared float s_red[WG];

uint g_part;
uint data_word(uint i) {
    if (NPARTS == 1u || g_part == 0u) return d0[i];
    if (g_part == 1u) return d1[i];
    if (g_part == 2u) return d2[i];
    return d3[i];
}
float data_byte(uint off) { return float((data_word(off >> 2) >> ((off & 3u) * 8u)) & 255u); }

// Output pixel p of the crop box resized to S x S: torch's bilinear (align_corners=False):
// source = max((dst + 1/2) * box / S - 1/2, 0), neighbours clamped to the box.
vec3 sample_pixel(uint p) {
    uint oy = p / S, ox = p - oy * S;
    if (P.flip != 0u) ox = S - 1u - ox;
    float sy = max((float(oy) + 0.5) * (float(P.crop_h) / float(S)) - 0.5, 0.0);
    float sx = max((float(ox) + 0.5) * (float(P.crop_w) / float(S)) - 0.5, 0.0);
    int y0 = min(int(sy), P.crop_h - 1), x0 = min(int(sx), P.crop_w - 1);
    float ly = sy - float(y0), lx = sx - float(x0);
    int y1 = y0 + (y0 < P.crop_h - 1 ? 1 : 0), x1 = x0 + (x0 < P.crop_w - 1 ? 1 : 0);
    const uint HW = H * W;
    uint r0 = g_base + uint(P.crop_y + y0) * W + uint(P.crop_x), r1 = g_base + uint(P.crop_y + y1) * W + uint(P.crop_x);
    vec3 c = vec3(0.0);
    for (uint ch = 0u; ch < C; ch++) {
        uint o = ch * HW;
        float v00 = data_byte(o + r0 + uint(x0)), v01 = data_byte(o + r0 + uint(x1));
        float v10 = data_byte(o + r1 + uint(x0)), v11 = data_byte(o + r1 + uint(x1));
        c[ch] = (1.0 - ly) * ((1.0 - lx) * v00 + lx * v01) + ly * ((1.0 - lx) * v10 + lx * v11);
    }
    return c * (1.0 / 255.0);
}

float gray_of(vec3 c) { return C == 3u ? 0.2989 * c.r + 0.587 * c.g + 0.114 * c.b : c.r; }
vec3 blend(vec3 a, vec3 b, float f) { return clamp(f * a + (1.0 - f) * b, 0.0, 1.0); }

// torchvision adjust_hue: RGB -> HSV, h += shift (mod 1), HSV -> RGB.
vec3 adjust_hue(vec3 c, float shift) {
    float maxc = max(c.r, max(c.g, c.b)), minc = min(c.r, min(c.g, c.b));
    bool eqc = maxc == minc;
    float cr = maxc - minc;
    float s = cr / (eqc ? 1.0 : maxc);
    float crd = eqc ? 1.0 : cr;
    float rc = (maxc - c.r) / crd, gc = (maxc - c.g) / crd, bc = (maxc - c.b) / crd;
    float h = maxc == c.r ? bc - gc : (maxc == c.g ? 2.0 + rc - bc : 4.0 + gc - rc);
    h = fract(h / 6.0 + 1.0);
    h = fract(h + shift);
    float v = maxc, h6 = h * 6.0, fi = floor(h6), f = h6 - fi;
    int i = int(fi) % 6;
    float p = clamp(v * (1.0 - s), 0.0, 1.0);
    float q = clamp(v * (1.0 - s * f), 0.0, 1.0);
    float t = clamp(v * (1.0 - s * (1.0 - f)), 0.0, 1.0);
    if (i == 0) return vec3(v, t, p);
    if (i == 1) return vec3(q, v, p);
    if (i == 2) return vec3(p, v, t);
    if (i == 3) return vec3(p, q, v);
    if (i == 4) return vec3(t, p, v);
    return vec3(v, p, q);
}

// Jitter adjustments at order positions [from, to), contrast excluded (done by caller).
vec3 jitter_range(vec3 c, uint from, uint to) {
    for (uint k = from; k < to; k++) {
        uint op = (P.order >> (4u * k)) & 15u;
        if (op == 0u && (FLAGS & F_BRI) != 0u) c = clamp(c * P.brightness, 0.0, 1.0);
        else if (op == 2u && (FLAGS & F_SAT) != 0u) c = blend(c, vec3(gray_of(c)), P.saturation);
        else if (op == 3u && (FLAGS & F_HUE) != 0u) c = adjust_hue(c, P.hue);
    }
    return c;
}

vec3 after_jitter(vec3 c) { return P.grayscale != 0u ? vec3(gray_of(c)) : c; }

float finish(float x, uint ch) {
    if (P.solarize != 0u && x >= pc.solar_t) x = 1.0 - x;
    float m = ch == 0u ? pc.mean0 : (ch == 1u ? pc.mean1 : pc.mean2);
    float s = ch == 0u ? pc.std0 : (ch == 1u ? pc.std1 : pc.std2);
    return (x - m) / s;
}

void store(uint obase, uint p, vec3 c, bool last) {
    const uint npix = S * S;
    for (uint ch = 0u; ch < C; ch++) views[obase + ch * npix + p] = last ? finish(c[ch], ch) : c[ch];
}

int reflect_index(int i, int n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * n - 2 - i;
    return clamp(i, 0, n - 1);
}

void main() {
    uint lid = gl_LocalInvocationID.x;
    uint b = gl_WorkGroupID.x, v = gl_WorkGroupID.y;
    const uint npix = S * S;
    uint obase = (v * pc.N + b) * C * npix;
    if (lid == 0u) {
        uint index, slot;
        s_ok = locate(b, index, slot) ? 1u : 0u;
        if (s_ok != 0u) {
            sP = sample_params(index, v, uvec2(step[0], step[1]));
            s_part = slot / pc.per_part;
            s_base = (slot - s_part * pc.per_part) * C * H * W;
            if (sP.blur != 0u) {
                // normalized Gaussian taps exp(-x^2 / (2 sigma^2)), x = -k/2 .. k/2
                int half_k = int(KBLUR / 2u);
                float sum = 0.0;
                for (int j = 0; j < int(KBLUR); j++) {
                    float x = float(j - half_k) / sP.sigma;
                    s_w[j] = exp(-0.5 * x * x);
                    sum += s_w[j];
                }
                for (uint j = 0u; j < KBLUR; j++) s_w[j] /= sum;
            }
        }
    }
    barrier();
    P = sP;
    g_part = s_part;
    g_base = s_base;
    if (s_ok == 0u) { // out-of-range batch entry: a zero view (uniform branch)
        for (uint i = lid; i < C * npix; i += WG) views[obase + i] = 0.0;
        return;
    }
#ifdef EMPTY
    for (uint i = lid; i < C * npix; i += WG) views[obase + i] = 0.0;
    return;
#endif
    bool jit = P.jitter != 0u, blur = P.blur != 0u;
    uint kc = 4u; // order position of contrast, 4: no contrast pass
    if (jit && (FLAGS & F_CON) != 0u)
        for (uint k = 0u; k < 4u; k++)
            if (((P.order >> (4u * k)) & 15u) == 1u) kc = k;
    bool two = kc < 4u;

    float part = 0.0;
    for (uint p = lid; p < npix; p += WG) {
        vec3 c = sample_pixel(p);
        if (jit) c = jitter_range(c, 0u, kc);
        if (two) {
            part += gray_of(c);
        } else {
            c = after_jitter(c);
        }
        store(obase, p, c, !two && !blur);
    }
    if (two) {
        s_red[lid] = part;
        barrier();
        for (uint s = WG / 2u; s > 0u; s >>= 1u) {
            if (lid < s) s_red[lid] += s_red[lid + s];
            barrier();
        }
        float mean = s_red[0] / float(npix);
        for (uint p = lid; p < npix; p += WG) {
            vec3 c = vec3(0.0);
            for (uint ch = 0u; ch < C; ch++) c[ch] = views[obase + ch * npix + p];
            c = blend(c, vec3(mean), P.contrast);
            c = after_jitter(jitter_range(c, kc + 1u, 4u));
            store(obase, p, c, !blur);
        }
    }
    if (blur) {
        const int half_k = int(KBLUR / 2u), iS = int(S);
        memoryBarrierBuffer(); // pass 1/2 wrote views -> horizontal pass reads neighbours
        barrier();
        for (uint p = lid; p < npix; p += WG) {
            uint oy = p / S, ox = p - oy * S;
            for (uint ch = 0u; ch < C; ch++) {
                uint rowb = obase + ch * npix + oy * S;
                float acc = 0.0;
                for (int j = 0; j < int(KBLUR); j++) acc += s_w[j] * views[rowb + uint(reflect_index(int(ox) + j - half_k, iS))];
                scratch[obase + ch * npix + p] = acc;
            }
        }
        memoryBarrierBuffer(); // horizontal pass wrote scratch -> vertical pass reads it
        barrier();
        for (uint p = lid; p < npix; p += WG) {
            uint oy = p / S, ox = p - oy * S;
            for (uint ch = 0u; ch < C; ch++) {
                uint chb = obase + ch * npix + ox;
                float acc = 0.0;
                for (int j = 0; j < int(KBLUR); j++) acc += s_w[j] * scratch[chb + uint(reflect_index(int(oy) + j - half_k, iS)) * S];
                views[obase + ch * npix + p] = finish(acc, ch);
            }
        }
    }
}
#endif
