#version 450
// ntxent_rows.comp — NT-Xent pass 1 of 3: similarities and softmax of a block of TM rows
// per workgroup, written as G in place of S (sim, N2 x N2):
//   S_ij = <z_i, z_j> / T,  P_ij = softmax over j != i of S_ij,
//   G_ij = (P_ij - [j == pos(i)]) / (N2 T),  pos(i) = (i + N2/2) mod N2,
// so that dL/dz = (G + G^T) z for L = the mean row loss (ntxent_grad.comp).
// The diagonal is outside the softmax (G_ii = 0); it is free, so it holds the row's
// loss lse_i - S_i,pos(i) until ntxent_loss.comp sums and clears it.
//
// Sweep 1: each invocation computes TM x TN blocks of S in registers (both operands read
// along D; the row operand has one address for the whole workgroup), keeps a running
// max and sum of exp per row (online softmax: no extra pass for the normalizer), and
// stores S. The (max, sum) pairs are merged across the workgroup in shared memory.
// Sweep 2: each invocation re-reads only what it stored itself and writes G.
// The texel variant reads z as RGBA32F texels (D % 4 == 0; much cheaper than storage
// buffer loads on lavapipe); the plain variant takes any D.
//! variant ntxent_rows
//! variant ntxent_rows_t -DTEXEL=1

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint TM = 4; // rows per workgroup (TM * workgroup size <= 256)
layout(constant_id = 2) const uint TN = 4; // columns per invocation and step

layout(std430, binding = 0) buffer S { float sim[]; }; // (N2, N2): G out
#ifdef TEXEL
layout(binding = 1) uniform samplerBuffer zt;          // (N2, D/4) texels
#else
layout(std430, binding = 1) readonly buffer Z { float z[]; }; // (N2, D)
#endif
layout(push_constant) uniform Push { uint n2; uint D; float inv_t; float g_scale; } pc; // g_scale = 1 / (N2 T)

const float NEG = -3.402823466e38;
shared float red_m[256], red_s[256];

void main() {
    uint l = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x, n2 = pc.n2;
    uint i0 = gl_WorkGroupID.x * TM;
    uint ri[TM];
    for (uint r = 0; r < TM; r++) ri[r] = min(i0 + r, n2 - 1); // clamped for loads
    float m[TM], s[TM];
    for (uint r = 0; r < TM; r++) m[r] = NEG, s[r] = 0.0;

    // sweep 1: S blocks, running (max, sum exp) per row, S stored (not the diagonal)
    for (uint j0 = l * TN; j0 < n2; j0 += wg * TN) {
        uint rj[TN];
        for (uint c = 0; c < TN; c++) rj[c] = min(j0 + c, n2 - 1);
        float acc[TM][TN];
        for (uint r = 0; r < TM; r++)
            for (uint c = 0; c < TN; c++) acc[r][c] = 0.0;
#ifdef TEXEL
        int D4 = int(pc.D / 4);
        for (int k = 0; k < D4; k++) {
            vec4 a[TM], b[TN];
            for (uint r = 0; r < TM; r++) a[r] = texelFetch(zt, int(ri[r]) * D4 + k);
            for (uint c = 0; c < TN; c++) b[c] = texelFetch(zt, int(rj[c]) * D4 + k);
            for (uint r = 0; r < TM; r++)
                for (uint c = 0; c < TN; c++) acc[r][c] += dot(a[r], b[c]);
        }
#else
        for (uint k = 0; k < pc.D; k++) {
            float a[TM], b[TN];
            for (uint r = 0; r < TM; r++) a[r] = z[ri[r] * pc.D + k];
            for (uint c = 0; c < TN; c++) b[c] = z[rj[c] * pc.D + k];
            for (uint r = 0; r < TM; r++)
                for (uint c = 0; c < TN; c++) acc[r][c] += a[r] * b[c];
        }
#endif
        for (uint r = 0; r < TM; r++) {
            uint i = i0 + r;
            float bm = NEG;
            for (uint c = 0; c < TN; c++) {
                acc[r][c] *= pc.inv_t;
                if (j0 + c < n2 && j0 + c != i) bm = max(bm, acc[r][c]);
            }
            float mn = max(m[r], bm), add = 0.0;
            for (uint c = 0; c < TN; c++)
                if (j0 + c < n2 && j0 + c != i) add += exp(acc[r][c] - mn);
            s[r] = s[r] * exp(m[r] - mn) + add;
            m[r] = mn;
            if (i < n2)
                for (uint c = 0; c < TN; c++)
                    if (j0 + c < n2 && j0 + c != i) sim[i * n2 + j0 + c] = acc[r][c];
        }
    }

    // merge the per-invocation (max, sum) of each row: sum_l s_l exp(m_l - M), M = max_l m_l
    for (uint r = 0; r < TM; r++) red_m[r * wg + l] = m[r], red_s[r * wg + l] = s[r];
    barrier();
    for (uint h = wg / 2; h > 0; h >>= 1) {
        if (l < h) {
            for (uint r = 0; r < TM; r++) {
                uint a = r * wg + l, b = a + h;
                float mn = max(red_m[a], red_m[b]);
                red_s[a] = red_s[a] * exp(red_m[a] - mn) + red_s[b] * exp(red_m[b] - mn);
                red_m[a] = mn;
            }
        }
        barrier();
    }
    float lse[TM];
    for (uint r = 0; r < TM; r++) lse[r] = red_m[r * wg] + log(red_s[r * wg]);

    // sweep 2: G from the S values this invocation stored; the row loss at the diagonal
    for (uint r = 0; r < TM; r++) {
        uint i = i0 + r;
        if (i >= n2) break;
        uint pos = i < n2 / 2 ? i + n2 / 2 : i - n2 / 2;
        for (uint j0 = l * TN; j0 < n2; j0 += wg * TN) {
            for (uint c = 0; c < TN; c++) {
                uint j = j0 + c;
                if (j >= n2 || j == i) continue;
                float v = sim[i * n2 + j];
                float g = exp(v - lse[r]);
                if (j == pos) {
                    g -= 1.0;
                    sim[i * n2 + i] = lse[r] - v;
                }
                sim[i * n2 + j] = g * pc.g_scale;
            }
        }
    }
}
