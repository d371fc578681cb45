#version 450
// topk_rows.comp — per row of x (rows, cols): the k largest values in descending order
// and their column indices, ties broken by the lower index (k <= 256, k <= cols).
// Values are ordered as floats (-0 == +0); rows must not contain NaN.
//
// Two kernels (chosen per device class in src/ops/util_ops.c):
//
// topk_heap — one invocation per (row, segment) keeps the k best so far in a min-heap
//   whose root is the worst kept entry: an element enters only if it beats the root
//   (ties never do: see main).
//   For random data only about k*(1 + ln(len/k)) elements ever enter. No barriers: the
//   style for CPU devices. Two facts about lavapipe shape it: both sides of a branch
//   always execute (lanes are masked, not skipped; only loops exit early), and a shader
//   invocation ends once its loops together ran 65535 iterations (gallivm's loop
//   limiter). Hence (1) the scan marks the elements that beat the root in a 32-bit
//   mask per chunk and only those run the (looping) sift-down; (2) the heap
//   lives in a buffer and one dispatch handles at most STEP columns of each segment,
//   so that even an ascending row (every element enters) stays below the limit; and
//   (3) a long row may be cut into segments (for parallelism) whose top-k lists a
//   further pass merges as (value, index) pairs (index INT_MAX marks an empty slot).
//
// topk_radix — one workgroup per row (>= 256 invocations). The k-th best element is
//   found by radix select over a 64-bit key, high byte first: the order-preserving
//   bits of the float (32 bits), then r = cols-1-index (only the bytes cols needs), so
//   lower indices rank higher among equal values. Each pass histograms one byte of the
//   elements that still match the prefix (shared atomics), a suffix scan finds the byte
//   holding the k-th best, and the search stops early once that whole byte bin is
//   needed. The k elements at or above the threshold are then collected and ranked
//   against each other (k^2/WG compares per invocation). The GPU style.
//
//! variant topk_heap -DRADIX=0
//! variant topk_radix -DRADIX=1
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) writeonly buffer Vals { float values[]; };
layout(std430, binding = 1) writeonly buffer Idx { int indices[]; };
layout(std430, binding = 2) readonly buffer X { float x[]; };
#if !RADIX
layout(constant_id = 1) const bool HAS_XI = false; // elements are (x, xi) pairs (merge passes), else (x, column)
layout(std430, binding = 3) readonly buffer XI { int xi[]; }; // indices of x's elements (merge passes)
// The heaps, kept across dispatches: per task k + 2 (rounded up to even) uvec2 slots of
// (value bits, index), node j in slot j + 1, so that the children 2p+1, 2p+2 of node p
// are slots 2p+2, 2p+3: one uvec4 load. Both bindings are the same buffer.
layout(std430, binding = 4) buffer H2 { uvec2 heap2[]; };
layout(std430, binding = 5) buffer H4 { uvec4 heap4[]; };
layout(push_constant) uniform Push {
    uint rows, cols, k, v_off, i_off, x_off;
    uint seg_len, nseg;  // each row is nseg segments of seg_len elements (the last may be shorter)
    uint xi_off;
    uint step_first, step_len; // this dispatch scans [step_first, step_first + step_len) of each segment
    uint init, finish;   // first dispatch: build the heap; last: write the sorted output
    uint final_pass;     // write -1 (not INT_MAX) for empty slots
} pc;
#else
layout(push_constant) uniform Push { uint rows, cols, k, v_off, i_off, x_off; } pc;
#endif

const uint KMAX = 256u;
const float NEG_INF = -1.0 / 0.0;
const int NO_INDEX = 0x7fffffff;

#if !RADIX

uint hb; // this invocation's heap: slots heap2[hb ...], hb even
float hv(uint j) { return uintBitsToFloat(heap2[hb + j + 1u].x); }
int hi(uint j) { return int(heap2[hb + j + 1u].y); }
void heap_set(uint j, float v, int i) { heap2[hb + j + 1u] = uvec2(floatBitsToUint(v), uint(i)); }

// (av, ai) ranks below (bv, bi): smaller value, or equal value and higher index.
bool worse(float av, int ai, float bv, int bi) { return av < bv || (av == bv && ai > bi); }

// Put (v, i) at node p of the heap of size n and sift it down to its place
// (at most log2(n) + 1 loop iterations, one uvec4 load and one uvec2 store each).
void sift_down_from(uint p, float v, int i, uint n) {
    for (;;) {
        uint c = 2u * p + 1u;
        if (c >= n) break;
        uvec4 kids = heap4[hb / 2u + p + 1u]; // nodes c and c + 1
        float cv = uintBitsToFloat(kids.x);
        int ci = int(kids.y);
        if (c + 1u < n && worse(uintBitsToFloat(kids.z), int(kids.w), cv, ci)) {
            c++;
            cv = uintBitsToFloat(kids.z);
            ci = int(kids.w);
        }
        if (!worse(cv, ci, v, i)) break;
        heap_set(p, cv, ci);
        p = c;
    }
    heap_set(p, v, i);
}

void sift_down(float v, int i, uint n) { sift_down_from(0u, v, i, n); }

void main() {
    uint task = flat_index(); // row * nseg + segment
    if (task >= pc.rows * pc.nseg) return;
    uint row = task / pc.nseg, seg = task - row * pc.nseg;
    uint k = pc.k;
    hb = task * ((k + 3u) & ~1u); // k + 2 slots, rounded up to even
    uint seg_first = seg * pc.seg_len, seg_end = min(seg_first + pc.seg_len, pc.cols);
    uint first = seg_first + pc.step_first, end = min(first + pc.step_len, seg_end);
    uint base = row * pc.cols;
    if (pc.init != 0u) {
        // the segment's first k elements (sentinels if it is shorter), made a heap
        // bottom-up: about 2k sift steps instead of k insertions through log2(k) levels
        uint fill = min(k, end - first);
        for (uint j = 0u; j < k; j++) {
            uint c = first + min(j, fill - 1u); // fill >= 1: a segment is never empty
            heap_set(j, j < fill ? x[pc.x_off + base + c] : NEG_INF, j < fill ? (HAS_XI ? xi[pc.xi_off + base + c] : int(c)) : NO_INDEX);
        }
        for (uint p = k / 2u; p > 0u; p--) sift_down_from(p - 1u, hv(p - 1u), hi(p - 1u), k);
        first += fill;
    }
    // An element beats the root iff its value is larger: on a tie the root wins, having
    // the lower index. In the first pass the scan runs in index order. A merge pass scans
    // the segments' lists in segment order, each list descending with ties in index
    // order, so an equal value seen later again has the higher index; and the heap,
    // built from the first segment's full list, never has a sentinel at its root.
    float tv = hv(0u); // the root: the k-th best so far
    // Chunks of 32 elements: a tight scan sets a bit for every element that beats the
    // root, then only those run the sift-down (see the top of this file for why).
    for (uint c0 = first; c0 < end; c0 += 32u) {
        uint c1 = min(c0 + 32u, end), mask = 0u;
        for (uint c = c0; c < c1; c++) mask |= x[pc.x_off + base + c] > tv ? 1u << (c - c0) : 0u;
        while (mask != 0u) {
            uint c = c0 + uint(findLSB(mask));
            mask &= mask - 1u;
            float v = x[pc.x_off + base + c];
            if (v > tv) { // the root may have risen meanwhile
                sift_down(v, HAS_XI ? xi[pc.xi_off + base + c] : int(c), k);
                tv = hv(0u);
            }
        }
    }
    if (pc.finish != 0u) {
        // pop the worst first: it belongs at the end of the descending output
        uint ob = task * k;
        for (uint j = k; j > 0u; j--) {
            values[pc.v_off + ob + j - 1u] = hv(0u);
            indices[pc.i_off + ob + j - 1u] = (pc.final_pass != 0u && hi(0u) == NO_INDEX) ? -1 : hi(0u);
            sift_down(hv(j - 1u), hi(j - 1u), j - 1u);
        }
    }
}

#else

shared uint hist[256];
shared uint scan[256];
shared uint s_digit, s_need, s_exact, s_count;
shared float cand_v[KMAX];
shared uint cand_key[KMAX];
shared int cand_i[KMAX];

// Order-preserving map of a float to uint (larger float -> larger key); -0 maps as +0.
uint order_key(float v) {
    uint u = floatBitsToUint(v);
    if (u == 0x80000000u) u = 0u;
    return (u & 0x80000000u) != 0u ? ~u : (u | 0x80000000u);
}

void main() {
    uint row = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (row >= pc.rows) return; // uniform per workgroup
    uint lid = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
    uint cols = pc.cols, base = pc.x_off + row * cols;
    // bytes of r = cols-1-index that distinguish columns
    uint last = cols - 1u, lo_bytes = 0u;
    while (lo_bytes < 4u && (last >> (8u * lo_bytes)) != 0u) lo_bytes++;

    // the threshold so far: prefix (phi, plo) under masks (mhi, mlo) of the 64-bit key
    uint phi = 0u, mhi = 0u, plo = 0u, mlo = 0u, need = pc.k;
    for (uint level = 0u; level < 4u + lo_bytes; level++) {
        bool lo_level = level >= 4u;
        uint shift = lo_level ? 8u * (lo_bytes - 1u - (level - 4u)) : 24u - 8u * level;
        if (lid < 256u) hist[lid] = 0u;
        barrier();
        for (uint c = lid; c < cols; c += wg) {
            uint key = order_key(x[base + c]), r = last - c;
            if ((key & mhi) == phi && (r & mlo) == plo) atomicAdd(hist[((lo_level ? r : key) >> shift) & 255u], 1u);
        }
        barrier();
        // suffix sums scan[b] = hist[b] + ... + hist[255] (Hillis-Steele, 8 steps)
        if (lid < 256u) scan[lid] = hist[lid];
        barrier();
        for (uint off = 1u; off < 256u; off <<= 1) {
            uint add = (lid < 256u && lid + off < 256u) ? scan[lid + off] : 0u;
            barrier();
            if (lid < 256u) scan[lid] += add;
            barrier();
        }
        // exactly one bin holds the need-th best of the elements matching the prefix
        if (lid < 256u) {
            uint above = scan[lid] - hist[lid];
            if (scan[lid] >= need && above < need) {
                s_digit = lid;
                s_need = need - above;
                s_exact = hist[lid] == need - above ? 1u : 0u;
            }
        }
        barrier();
        uint digit = s_digit;
        need = s_need;
        bool exact = s_exact != 0u;
        if (lo_level) {
            plo |= digit << shift;
            mlo |= 255u << shift;
        } else {
            phi |= digit << shift;
            mhi |= 255u << shift;
        }
        barrier(); // everyone has read s_* before the next pass may write them
        if (exact) break; // uniform: every element of the prefix is taken
    }

    // collect the k elements at or above the threshold
    if (lid == 0u) s_count = 0u;
    barrier();
    for (uint c = lid; c < cols; c += wg) {
        float v = x[base + c];
        uint key = order_key(v), r = last - c;
        if ((key & mhi) > phi || ((key & mhi) == phi && (r & mlo) >= plo)) {
            uint slot = atomicAdd(s_count, 1u);
            if (slot < KMAX) {
                cand_v[slot] = v;
                cand_key[slot] = key;
                cand_i[slot] = int(c);
            }
        }
    }
    barrier();
    // rank each winner among the k: its output position
    uint k = min(pc.k, s_count);
    uint ob = row * pc.k;
    for (uint j = lid; j < k; j += wg) {
        uint kj = cand_key[j];
        int ij = cand_i[j];
        uint rank = 0u;
        for (uint i = 0u; i < k; i++) {
            uint ki = cand_key[i];
            rank += (ki > kj || (ki == kj && cand_i[i] < ij)) ? 1u : 0u;
        }
        values[pc.v_off + ob + rank] = cand_v[j];
        indices[pc.i_off + ob + rank] = ij;
    }
}

#endif
