#version 450
// margin.comp — the triplet (margin) and block-contrastive losses on a similarity matrix
// (src/ops/margin.c). Both losses are functions of S = Z Z^T of the 2N l2-normalized
// projections Z = [view 1 of the N images; view 2]; each ROWS pass writes a row's loss
// term and G = dL/dS (rows >= N and unused entries zero), so that dZ = (G + G^T) Z is
// two GEMMs on the host side.
//   TRIPLET  anchor i < N, positive N + i, negative n_i among the 2N - 2 views of the other
//            images: the most similar one (hard, lowest column on ties) or candidate
//            hash(seed, step, i) mod (2N - 2) (random; the same hash as the memory bank's,
//            tag "trip", step = hyper[1] - 1, so a resumed run draws the same ones).
//            loss_i = max(0, margin + S[i][n_i] - S[i][N+i]); neg[i] = n_i.
//   BLOCK    blocks of b images; anchor i in block k: v_i = S[i] . (mean over the block's
//            view-2 rows - mean over the next block's (k + 1 mod N/b) view-2 rows);
//            loss_i = log(1 + exp(-v_i)) (logistic) or max(0, 1 - v_i) (hinge).
//   LOSS     loss = mean of the N row terms (one invocation).
//! variant triplet_rows -DTRIPLET=1
//! variant block_rows -DBLOCK=1
//! variant margin_loss -DLOSS=1
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(push_constant) uniform Push {
    uint N;         // images: S and G are (2N, 2N)
    uint b;         // block size (BLOCK)
    uint mode;      // TRIPLET: 1 = hard mining; BLOCK: 1 = hinge
    float margin;   // TRIPLET
} pc;

#if TRIPLET || BLOCK
layout(std430, binding = 0) writeonly buffer Gr { float G[]; };  // (2N, 2N) dL/dS
layout(std430, binding = 1) writeonly buffer Lr { float rowloss[]; }; // (N)
layout(std430, binding = 2) readonly buffer Sm { float S[]; };   // (2N, 2N)
#endif
#if TRIPLET
layout(std430, binding = 3) writeonly buffer Ng { int neg[]; };   // (N) chosen negative column
layout(std430, binding = 4) readonly buffer Bi { uint batch_info[]; }; // VcAugmentStep: [0] seed
layout(std430, binding = 5) readonly buffer Hy { float hyper[]; };

uint hash(uint x) { // a 32-bit integer mixer (as membank.comp)
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

void main() {
    uint r = flat_index(), N2 = 2u * pc.N;
    if (r >= N2) return;
    for (uint j = 0; j < N2; j++) G[r * N2 + j] = 0.0;
    if (r >= pc.N) return;
    uint pos = pc.N + r, n;
    if (pc.mode == 1u) {
        n = r == 0u ? 1u : 0u;
        for (uint j = 0; j < N2; j++)
            if (j != r && j != pos && S[r * N2 + j] > S[r * N2 + n]) n = j;
    } else {
        uint step = uint(hyper[1]) - 1u;
        n = hash(hash(hash(batch_info[0] ^ 0x74726970u) ^ step) + r) % (N2 - 2u);
        if (n >= r) n++;
        if (n >= pos) n++;
    }
    float h = pc.margin + S[r * N2 + n] - S[r * N2 + pos];
    neg[r] = int(n);
    rowloss[r] = max(h, 0.0);
    if (h > 0.0) {
        float g = 1.0 / float(pc.N);
        G[r * N2 + n] = g;
        G[r * N2 + pos] = -g;
    }
}
#elif BLOCK
void main() {
    uint r = flat_index(), N2 = 2u * pc.N;
    if (r >= N2) return;
    for (uint j = 0; j < N2; j++) G[r * N2 + j] = 0.0;
    if (r >= pc.N) return;
    uint first = r / pc.b * pc.b, next = (first + pc.b) % pc.N;
    float v = 0.0;
    for (uint j = 0; j < pc.b; j++) v += S[r * N2 + pc.N + first + j] - S[r * N2 + pc.N + next + j];
    v /= float(pc.b);
    float dv; // dloss_r / dv
    if (pc.mode == 1u) {
        rowloss[r] = max(1.0 - v, 0.0);
        dv = v < 1.0 ? -1.0 : 0.0;
    } else {
        rowloss[r] = max(-v, 0.0) + log(1.0 + exp(-abs(v))); // log(1 + exp(-v)), stable
        dv = -1.0 / (1.0 + exp(v));
    }
    float g = dv / (float(pc.N) * float(pc.b));
    for (uint j = 0; j < pc.b; j++) {
        G[r * N2 + pc.N + first + j] = g; // next != first: N / b >= 2 blocks
        G[r * N2 + pc.N + next + j] = -g;
    }
}
#elif LOSS
layout(std430, binding = 0) writeonly buffer Lo { float loss[]; };
layout(std430, binding = 1) readonly buffer Lr { float rowloss[]; }; // (N)
void main() {
    if (flat_index() != 0u) return;
    float s = 0.0;
    for (uint i = 0; i < pc.N; i++) s += rowloss[i];
    loss[0] = s / float(pc.N);
}
#endif
