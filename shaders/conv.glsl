// conv.glsl — helpers shared by the conv*.comp shaders.
#ifndef VC_CONV_GLSL
#define VC_CONV_GLSL

// a / d for unsigned a, d > 0 without a hardware divide. Vector integer division has no
// x86 instruction, so lavapipe scalarises it lane by lane; a float reciprocal estimate
// plus an exact remainder correction is several times cheaper. The estimate is off by at
// most a few units for a < 2^26; the loops make the result exact for any input.
uint conv_udiv(uint a, uint d) {
    uint q = uint(float(a) * (1.0 / float(d)));
    int r = int(a - q * d);
    while (r < 0) { q--; r += int(d); }
    while (r >= int(d)) { q++; r -= int(d); }
    return q;
}

// Element k (0..11) of the 12 floats t0, t1, t2, for a k that varies per invocation
// (a few selects, no memory access).
float conv_pick(vec4 t0, vec4 t1, vec4 t2, int k) {
    vec4 t = k < 4 ? t0 : k < 8 ? t1 : t2;
    int c = k & 3;
    return c == 0 ? t.x : c == 1 ? t.y : c == 2 ? t.z : t.w;
}

// Element k (0..15) of the 16 floats t0, t1, t2, t3.
float conv_pick4(vec4 t0, vec4 t1, vec4 t2, vec4 t3, int k) {
    vec4 t = k < 8 ? (k < 4 ? t0 : t1) : (k < 12 ? t2 : t3);
    int c = k & 3;
    return c == 0 ? t.x : c == 1 ? t.y : c == 2 ? t.z : t.w;
}

#endif
