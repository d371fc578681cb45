// philox.glsl — Philox 4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as
// easy as 1, 2, 3", SC 2011), a counter-based RNG: output = bijection(counter) under a key,
// so any invocation can draw the numbers of any (key, counter) without shared state.
// Checked against Random123's known-answer vectors by tests/test_augment.c (through the C
// twin in tests/ref/augment.c, which the GPU sampler must match bit for bit).
#ifndef VC_PHILOX_GLSL
#define VC_PHILOX_GLSL

// Ten rounds; the key is bumped by the Weyl constants between rounds (Random123 order).
uvec4 philox4x32_10(uvec4 ctr, uvec2 key) {
    for (int r = 0; r < 10; r++) {
        if (r > 0) key += uvec2(0x9E3779B9u, 0xBB67AE85u);
        uint hi0, lo0, hi1, lo1;
        umulExtended(0xD2511F53u, ctr.x, hi0, lo0);
        umulExtended(0xCD9E8D57u, ctr.z, hi1, lo1);
        ctr = uvec4(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
    }
    return ctr;
}

// Uniform float in [0, 1) from the top 24 bits: exact in fp32, so identical everywhere.
float philox_u01(uint x) { return float(x >> 8) * (1.0 / 16777216.0); }

// Integer uniform in [0, m) (m >= 1): the high word of x * m (Lemire's multiply-shift).
uint philox_below(uint x, uint m) {
    uint hi, lo;
    umulExtended(x, m, hi, lo);
    return hi;
}

#endif
