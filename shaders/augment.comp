#version 450
// augment.comp — SimCLR augmentation: uint8 images in, normalized random views out.
//
// Variant `augment_params`: the sampler, one invocation per view (x = batch position b,
// y = view v): draws the view's parameters from Philox (see augment.h for the draw map)
// and writes them (struct Params). vc_augment_record runs it first; tests and tools also
// run it alone to see exactly what was drawn.
// Variant `augment`: one workgroup per view; its invocations walk the S*S output pixels
// by quads (4 pixels):
//   pass 1  bilinear crop-resize (+ flip) of the uint8 source, colour ops up to contrast;
//           when contrast is due, the image's mean gray level is reduced in shared memory
//           and pass 2 finishes the colour ops on the values pass 1 left in `views`
//           (each invocation rereads only its own quads, so no buffer barrier is needed);
//   blur    when drawn: row pass views -> scratch, column pass scratch -> views
//           (these read neighbours written by other invocations: buffer barrier between);
//   finish  grayscale, solarize and normalization on the last write.
//
// The crop sampler must choose the same integer boxes as the C reference: every float
// operation on that path is `precise` (no fused multiply-add) and correctly rounded
// (+, -, *, comparisons), exp is a fixed polynomial and rounding is decided by exact
// comparisons; sqrt and division only give first guesses that get corrected.
//! variant augment -DAUG_VIEWS=1
//! variant augment_params -DAUG_PARAMS=1
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
const uint F_BRI = 4u, F_CON = 8u, F_SAT = 16u, F_HUE = 32u; // jitter_p > 0, strength > 0
const uint F_GRAY = 64u, F_BLUR = 128u, F_SOLAR = 256u;       // probability > 0

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
layout(std430, binding = 0) coherent buffer Views4 { vec4 views4[]; };   // the same, by quads
layout(std430, binding = 1) coherent buffer Scratch { float scratch[]; }; // like views (blur)
layout(std430, binding = 1) coherent buffer Scratch4 { vec4 scratch4[]; };
layout(std430, binding = 2) readonly buffer Prm { uvec4 prm[]; };         // (V*N) Params
layout(std430, binding = 3) readonly buffer Perm { int perm[]; };
layout(std430, binding = 4) readonly buffer Step { uint step[]; };
layout(std430, binding = 5) readonly buffer Data0 { uint d0[]; };         // uint8 packed x4
layout(std430, binding = 6) readonly buffer Data1 { uint d1[]; };
layout(std430, binding = 7) readonly buffer Data2 { uint d2[]; };
layout(std430, binding = 8) readonly buffer Data3 { uint d3[]; };
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
// Work unit: a quad of 4 consecutive output pixels (flat index 4q .. 4q+3), colour
// channels held as vec4 r, g, b (one lane per pixel). When S % 4 == 0 a quad lies in one
// output row: its stores are vec4 stores and (when W <= 2S) its bilinear taps come from a
// 3-word window per source row instead of 16 byte loads.
//
// Written for lavapipe as much as for GPUs: there every buffer access is a loop over the
// SIMD lanes, and both sides of every branch run (masked), so the shader makes few, wide
// accesses, leaves operations a run never uses to specialization constants, and calls
// each costly operation (hue) once per pass whatever the drawn order.
const uint NPIX = S * S;
const uint NQ = (NPIX + 3u) / 4u;
const bool QUADS = (S % 4u) == 0u;
const bool WINDOW = QUADS && W <= 2u * S; // crop width <= W <= 2S: taps of a quad span < 8 bytes

shared float s_red[WG];   // contrast mean reduction
Params P;                 // this view's parameters (from the sampler dispatch)
uint g_part;              // data binding of the source image
uint g_base;              // its byte offset in that binding

uint data_word(uint i) {
    if (NPARTS == 1u || g_part == 0u) return d0[min(i, uint(d0.length()) - 1u)];
    if (g_part == 1u) return d1[min(i, uint(d1.length()) - 1u)];
    if (g_part == 2u) return d2[min(i, uint(d2.length()) - 1u)];
    return d3[min(i, uint(d3.length()) - 1u)];
}
float data_byte(uint off) { return float((data_word(off >> 2) >> ((off & 3u) * 8u)) & 255u); }

// Byte r (0..11) of the 3-word window (a, b, c).
float window_byte(uint a, uint b, uint c, uint r) {
    uint w = r < 4u ? a : (r < 8u ? b : c);
    return float((w >> ((r & 3u) * 8u)) & 255u);
}

// Bilinear source coordinates of output coordinate o along a side of `box` source pixels
// (torch, align_corners = False): s = max((o + 1/2) * box / S - 1/2, 0), taps i0 and i1
// clamped to the box, weight of i1 = l. `scale` = box / S.
void taps(uint o, int box, float scale, out int i0, out int i1, out float l) {
    float sc = max((float(o) + 0.5) * scale - 0.5, 0.0);
    i0 = min(int(sc), box - 1);
    l = sc - float(i0);
    i1 = i0 + (i0 < box - 1 ? 1 : 0);
}

// Pass 1 of a quad: the crop box resized to S x S (flipped when drawn), in [0, 1].
void sample_quad(uint q, out vec4 r, out vec4 g, out vec4 b) {
    vec4 res[3];
    uint p0 = 4u * q;
    float sy = float(P.crop_h) / float(S), sx = float(P.crop_w) / float(S);
    if (WINDOW) {
        uint oy = p0 / S, ox0 = p0 - oy * S;
        int y0, y1;
        float ly;
        taps(oy, P.crop_h, sy, y0, y1, ly);
        ivec4 x0, x1;
        vec4 lx;
        for (uint k = 0u; k < 4u; k++) {
            uint ox = ox0 + k;
            if (P.flip != 0u) ox = S - 1u - ox;
            int a0, a1;
            float l;
            taps(ox, P.crop_w, sx, a0, a1, l);
            x0[k] = a0;
            x1[k] = a1;
            lx[k] = l;
        }
        int xmin = min(x0.x, x0.w); // leftmost tap (x0 runs backwards when flipped)
        uvec4 o0 = uvec4(x0 - xmin), o1 = uvec4(x1 - xmin);
        for (uint ch = 0u; ch < C; ch++) {
            vec4 rows[2];
            for (uint t = 0u; t < 2u; t++) {
                uint start = g_base + ch * H * W + uint(P.crop_y + (t == 0u ? y0 : y1)) * W + uint(P.crop_x + xmin);
                uint wi = start >> 2, sh = start & 3u;
                uint a = data_word(wi), bb = data_word(wi + 1u), c = data_word(wi + 2u);
                vec4 v0, v1;
                for (uint k = 0u; k < 4u; k++) {
                    v0[k] = window_byte(a, bb, c, sh + o0[k]);
                    v1[k] = window_byte(a, bb, c, sh + o1[k]);
                }
                rows[t] = (1.0 - lx) * v0 + lx * v1;
            }
            res[ch] = ((1.0 - ly) * rows[0] + ly * rows[1]) * (1.0 / 255.0);
        }
    } else {
        for (uint k = 0u; k < 4u; k++) {
            uint p = min(p0 + k, NPIX - 1u); // a partial last quad repeats the last pixel
            uint oy = p / S, ox = p - oy * S;
            if (P.flip != 0u) ox = S - 1u - ox;
            int y0, y1, x0, x1;
            float ly, lx;
            taps(oy, P.crop_h, sy, y0, y1, ly);
            taps(ox, P.crop_w, sx, x0, x1, lx);
            uint r0 = g_base + uint(P.crop_y + y0) * W + uint(P.crop_x), r1 = g_base + uint(P.crop_y + y1) * W + uint(P.crop_x);
            for (uint ch = 0u; ch < C; ch++) {
                uint o = ch * H * W;
                float v00 = data_byte(o + r0 + uint(x0)), v01 = data_byte(o + r0 + uint(x1));
                float v10 = data_byte(o + r1 + uint(x0)), v11 = data_byte(o + r1 + uint(x1));
                res[ch][k] = ((1.0 - ly) * ((1.0 - lx) * v00 + lx * v01) + ly * ((1.0 - lx) * v10 + lx * v11)) * (1.0 / 255.0);
            }
        }
    }
    r = res[0];
    g = C == 3u ? res[1] : vec4(0.0);
    b = C == 3u ? res[2] : vec4(0.0);
}

vec4 gray_of(vec4 r, vec4 g, vec4 b) { return C == 3u ? 0.2989 * r + 0.587 * g + 0.114 * b : r; }
vec4 blend(vec4 a, vec4 b, float f) { return clamp(f * a + (1.0 - f) * b, 0.0, 1.0); }

// torchvision adjust_hue on 4 pixels: RGB -> HSV, h += shift (mod 1), HSV -> RGB.
void adjust_hue(inout vec4 r, inout vec4 g, inout vec4 b, float shift) {
    vec4 maxc = max(r, max(g, b)), minc = min(r, min(g, b));
    bvec4 eqc = equal(maxc, minc);
    vec4 cr = maxc - minc;
    vec4 s = cr / mix(maxc, vec4(1.0), eqc);
    vec4 crd = mix(cr, vec4(1.0), eqc);
    vec4 rc = (maxc - r) / crd, gc = (maxc - g) / crd, bc = (maxc - b) / crd;
    vec4 h = mix(mix(4.0 + gc - rc, 2.0 + rc - bc, equal(maxc, g)), bc - gc, equal(maxc, r));
    h = fract(h / 6.0 + 1.0);
    h = fract(h + shift);
    vec4 v = maxc, h6 = h * 6.0, fi = floor(h6), f = h6 - fi;
    ivec4 i = ivec4(fi) % 6;
    vec4 p = clamp(v * (1.0 - s), 0.0, 1.0);
    vec4 qq = clamp(v * (1.0 - s * f), 0.0, 1.0);
    vec4 t = clamp(v * (1.0 - s * (1.0 - f)), 0.0, 1.0);
    // sector i: (r, g, b) = (v,t,p) (q,v,p) (p,v,t) (p,q,v) (t,p,v) (v,p,q)
    bvec4 i0 = equal(i, ivec4(0)), i1 = equal(i, ivec4(1)), i2 = equal(i, ivec4(2));
    bvec4 i3 = equal(i, ivec4(3)), i4 = equal(i, ivec4(4));
    r = mix(mix(mix(mix(mix(v, t, i4), p, i3), p, i2), qq, i1), v, i0);
    g = mix(mix(mix(mix(p, p, i4), qq, i3), v, i2), v, i1);
    g = mix(g, t, i0);
    b = mix(mix(mix(mix(mix(qq, v, i4), v, i3), t, i2), p, i1), p, i0);
}

// Brightness and saturation at order positions [from, to).
void cheap_ops(inout vec4 r, inout vec4 g, inout vec4 b, uint from, uint to) {
    for (uint k = from; k < to; k++) {
        uint op = (P.order >> (4u * k)) & 15u;
        if ((FLAGS & F_BRI) != 0u && op == 0u) {
            r = clamp(r * P.brightness, 0.0, 1.0);
            g = clamp(g * P.brightness, 0.0, 1.0);
            b = clamp(b * P.brightness, 0.0, 1.0);
        }
        if ((FLAGS & F_SAT) != 0u && op == 2u) {
            vec4 y = gray_of(r, g, b);
            r = blend(r, y, P.saturation);
            g = blend(g, y, P.saturation);
            b = blend(b, y, P.saturation);
        }
    }
}

// The jitter adjustments at order positions [from, to) except contrast (the caller's):
// hue, at position kh, appears once in the code.
void jitter_span(inout vec4 r, inout vec4 g, inout vec4 b, uint from, uint to, uint kh) {
    if ((FLAGS & F_HUE) == 0u) {
        cheap_ops(r, g, b, from, to);
        return;
    }
    cheap_ops(r, g, b, from, min(kh, to));
    if (kh >= from && kh < to) adjust_hue(r, g, b, P.hue);
    cheap_ops(r, g, b, max(kh + 1u, from), to);
}

void after_jitter(inout vec4 r, inout vec4 g, inout vec4 b) {
    if ((FLAGS & F_GRAY) != 0u && P.grayscale != 0u) r = g = b = gray_of(r, g, b);
}

vec4 finish(vec4 x, uint ch) {
    if ((FLAGS & F_SOLAR) != 0u && P.solarize != 0u) x = mix(x, 1.0 - x, greaterThanEqual(x, vec4(pc.solar_t)));
    float m = ch == 0u ? pc.mean0 : (ch == 1u ? pc.mean1 : pc.mean2);
    float s = ch == 0u ? pc.std0 : (ch == 1u ? pc.std1 : pc.std2);
    return (x - m) / s;
}

void store_quad(uint obase, uint q, vec4 r, vec4 g, vec4 b, bool last) {
    for (uint ch = 0u; ch < C; ch++) {
        vec4 x = ch == 0u ? r : (ch == 1u ? g : b);
        if (last) x = finish(x, ch);
        if (QUADS) {
            views4[(obase + ch * NPIX) / 4u + q] = x;
        } else {
            for (uint k = 0u; k < 4u; k++)
                if (4u * q + k < NPIX) views[obase + ch * NPIX + 4u * q + k] = x[k];
        }
    }
}

void load_quad(uint obase, uint q, out vec4 r, out vec4 g, out vec4 b) {
    vec4 res[3];
    for (uint ch = 0u; ch < C; ch++) {
        if (QUADS) {
            res[ch] = views4[(obase + ch * NPIX) / 4u + q];
        } else {
            for (uint k = 0u; k < 4u; k++) res[ch][k] = views[obase + ch * NPIX + min(4u * q + k, NPIX - 1u)];
        }
    }
    r = res[0];
    g = C == 3u ? res[1] : vec4(0.0);
    b = C == 3u ? res[2] : vec4(0.0);
}

int reflect_index(int i, int n) {
    if (i < 0) i = -i;
    if (i >= n) i = 2 * n - 2 - i;
    return clamp(i, 0, n - 1);
}

void main() {
    uint lid = gl_LocalInvocationID.x;
    uint bpos = gl_WorkGroupID.x, v = gl_WorkGroupID.y;
    uint row = v * pc.N + bpos, obase = row * C * NPIX;
    uint index, slot;
    bool ok = locate(bpos, index, slot);
    P = Params(0, 0, 1, 1, 0u, 0u, 0u, 0u, 1.0, 1.0, 1.0, 0.0, 0u, 1.0, 0u, 0xffffffffu);
    if (ok) {
        uvec4 a = prm[4u * row], bb = prm[4u * row + 1u], c = prm[4u * row + 2u], d = prm[4u * row + 3u];
        vec4 f = uintBitsToFloat(c);
        P = Params(int(a.x), int(a.y), int(a.z), int(a.w), bb.x, bb.y, bb.z, bb.w, f.x, f.y, f.z, f.w, d.x,
                   uintBitsToFloat(d.y), d.z, d.w);
    }
    if (!ok) { // out-of-range batch entry: a zero view (uniform branch)
        for (uint i = lid; i < C * NPIX; i += WG) views[obase + i] = 0.0;
        return;
    }
    g_part = slot / pc.per_part;
    g_base = (slot - g_part * pc.per_part) * C * H * W;
    bool blur = (FLAGS & F_BLUR) != 0u && P.blur != 0u;
    bool jit = P.jitter != 0u;
    uint kc = 4u, kh = 4u; // order positions of contrast and hue (4: not applied)
    for (uint k = 0u; k < 4u; k++) {
        uint op = (P.order >> (4u * k)) & 15u;
        if (op == 1u && (FLAGS & F_CON) != 0u) kc = k;
        if (op == 3u) kh = k;
    }
    if (!jit) kc = 4u;
    bool two = kc < 4u;

    float part = 0.0;
    for (uint q = lid; q < NQ; q += WG) {
        vec4 r, g, b;
        sample_quad(q, r, g, b);
        if (jit) jitter_span(r, g, b, 0u, kc, kh);
        if (two) {
            vec4 y = gray_of(r, g, b);
            for (uint k = 0u; k < 4u; k++)
                if (4u * q + k < NPIX) part += y[k];
        } else {
            after_jitter(r, g, b);
        }
        store_quad(obase, q, r, g, b, !two && !blur);
    }
    if ((FLAGS & F_CON) != 0u && two) {
        // mean gray level of the image for contrast: tree reduction in shared memory
        s_red[lid] = part;
        barrier();
        for (uint s = WG / 2u; s > 0u; s >>= 1u) {
            if (lid < s) s_red[lid] += s_red[lid + s];
            barrier();
        }
        float mean = s_red[0] / float(NPIX);
        for (uint q = lid; q < NQ; q += WG) {
            vec4 r, g, b;
            load_quad(obase, q, r, g, b); // this invocation's own pass-1 values
            r = blend(r, vec4(mean), P.contrast);
            if (C == 3u) {
                g = blend(g, vec4(mean), P.contrast);
                b = blend(b, vec4(mean), P.contrast);
            }
            jitter_span(r, g, b, kc + 1u, 4u, kh);
            after_jitter(r, g, b);
            store_quad(obase, q, r, g, b, !blur);
        }
    }
    if ((FLAGS & F_BLUR) != 0u && blur) {
        // Separable Gaussian, reflect padding: views -> scratch (rows) -> views (columns).
        // Taps exp(-x^2 / (2 sigma^2)), x = -k/2 .. k/2, normalized; in registers.
        const int HALF = int(KBLUR / 2u), iS = int(S);
        float wt[KBLUR];
        float sum = 0.0;
        for (int j = 0; j < int(KBLUR); j++) {
            float x = float(j - HALF) / P.sigma;
            wt[j] = exp(-0.5 * x * x);
            sum += wt[j];
        }
        for (int j = 0; j < int(KBLUR); j++) wt[j] /= sum;
        memoryBarrierBuffer(); // pass 1/2 wrote views -> the row pass reads neighbours
        barrier();
        if (QUADS) {
            for (uint q = lid; q < NQ; q += WG) {
                uint p0 = 4u * q, oy = p0 / S, ox0 = p0 - oy * S;
                for (uint ch = 0u; ch < C; ch++) {
                    uint rowb = obase + ch * NPIX + oy * S;
                    float seg[KBLUR + 3u]; // the row from ox0 - k/2 to ox0 + 3 + k/2
                    for (int t = 0; t < int(KBLUR) + 3; t++) seg[t] = views[rowb + uint(reflect_index(int(ox0) - HALF + t, iS))];
                    vec4 acc = vec4(0.0);
                    for (int j = 0; j < int(KBLUR); j++) acc += wt[j] * vec4(seg[j], seg[j + 1], seg[j + 2], seg[j + 3]);
                    scratch4[(obase + ch * NPIX) / 4u + q] = acc;
                }
            }
        } else {
            for (uint p = lid; p < NPIX; p += WG) {
                uint oy = p / S, ox = p - oy * S;
                for (uint ch = 0u; ch < C; ch++) {
                    uint rowb = obase + ch * NPIX + oy * S;
                    float acc = 0.0;
                    for (int j = 0; j < int(KBLUR); j++) acc += wt[j] * views[rowb + uint(reflect_index(int(ox) + j - HALF, iS))];
                    scratch[obase + ch * NPIX + p] = acc;
                }
            }
        }
        memoryBarrierBuffer(); // the row pass wrote scratch -> the column pass reads it
        barrier();
        if (QUADS) {
            for (uint q = lid; q < NQ; q += WG) {
                uint p0 = 4u * q, oy = p0 / S, ox0 = p0 - oy * S;
                for (uint ch = 0u; ch < C; ch++) {
                    vec4 acc = vec4(0.0);
                    for (int j = 0; j < int(KBLUR); j++)
                        acc += wt[j] * scratch4[(obase + ch * NPIX + uint(reflect_index(int(oy) + j - HALF, iS)) * S + ox0) / 4u];
                    views4[(obase + ch * NPIX) / 4u + q] = finish(acc, ch);
                }
            }
        } else {
            for (uint p = lid; p < NPIX; p += WG) {
                uint oy = p / S, ox = p - oy * S;
                for (uint ch = 0u; ch < C; ch++) {
                    uint chb = obase + ch * NPIX + ox;
                    float acc = 0.0;
                    for (int j = 0; j < int(KBLUR); j++) acc += wt[j] * scratch[chb + uint(reflect_index(int(oy) + j - HALF, iS)) * S];
                    views[obase + ch * NPIX + p] = finish(vec4(acc), ch).x;
                }
            }
        }
    }
}
#endif
