/* test_margin.c — the triplet and block-contrastive losses (ops/margin.h):
 *   1. the references (tests/ref/margin.c) against central finite differences, on data
 *      whose loss has no kink nearby (hinge values, the best/second-best negative gap
 *      and the block hinge's 1 - v all further than 5 eps away; a step of eps moves each
 *      by at most 2 eps: checked, not assumed);
 *   2. the GPU ops against the references on odd shapes (N = 2, D = 2, sizes that are
 *      not multiples of any tile), both minings and both block losses: loss, dz, the
 *      chosen negatives;
 *   3. values that can be worked out by hand: identical views and a margin of 0 give
 *      loss 0 and dz = 0; random negatives are never the anchor's own views, change
 *      with the step and repeat for the same (seed, step).
 * Bounds: FD vs reference nmse 1e-12; GPU dz vs reference nmse 1e-12; losses
 * |gpu - ref| <= 1e-5 * max(1, |ref|). Measured on lavapipe: FD <= 7e-15, dz <= 1.6e-14,
 * losses within 1.1e-7. Every GPU case checks that its reference dz is not all zero.
 */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "ops/margin.h"
#include "ops/optim.h"
#include "ref/margin.h"
#include "vk/vk.h"

#define FD_EPS 1e-3f
#define FD_BOUND 1e-12
#define DZ_BOUND 1e-12

typedef struct Case {
    bool block;
    int N, D, b;
    bool hard_or_hinge;
    float margin;
} Case;

static double eval(const Case *c, const float *z, float *dz, int *neg, uint32_t seed, uint32_t step) {
    return c->block ? ref_block(c->N, c->D, c->b, c->hard_or_hinge, z, dz)
                    : ref_triplet(c->N, c->D, c->margin, c->hard_or_hinge, seed, step, z, dz, neg);
}

static const char *name(const Case *c) {
    static char s[96];
    if (c->block) snprintf(s, sizeof s, "block %s N %d D %d b %d", c->hard_or_hinge ? "hinge" : "logistic", c->N, c->D, c->b);
    else snprintf(s, sizeof s, "triplet %s N %d D %d margin %g", c->hard_or_hinge ? "hard" : "random", c->N, c->D, c->margin);
    return s;
}

/* z rows l2-normalized, drawn until the loss has no kink within `away` */
static void fill(const Case *c, float *z, double away) {
    int rows = 2 * c->N;
    for (int tries = 0; tries < 200; tries++) {
        th_fill_normal(z, (size_t)rows * c->D, 1.0f);
        for (int r = 0; r < rows; r++) {
            double s = 0;
            for (int d = 0; d < c->D; d++) s += (double)z[r * c->D + d] * z[r * c->D + d];
            for (int d = 0; d < c->D; d++) z[r * c->D + d] = (float)(z[r * c->D + d] / sqrt(s));
        }
        double dist = c->block ? (c->hard_or_hinge ? ref_block_kink_distance(c->N, c->D, c->b, z) : INFINITY)
                               : ref_triplet_kink_distance(c->N, c->D, c->margin, c->hard_or_hinge, z);
        if (dist > away) return;
    }
    VC_ASSERT(!"no kink-free data in 200 draws");
}

static void test_fd(const Case *c) {
    size_t n = (size_t)2 * c->N * c->D;
    float *z = vc_malloc(n * 4), *dz = vc_malloc(n * 4);
    double *fd = vc_malloc(n * sizeof(double));
    fill(c, z, 5 * FD_EPS);
    eval(c, z, dz, NULL, 3, 5);
    for (size_t k = 0; k < n; k++) {
        float z0 = z[k];
        z[k] = z0 + FD_EPS;
        double up = eval(c, z, NULL, NULL, 3, 5), h1 = (double)z[k] - z0;
        z[k] = z0 - FD_EPS;
        double dn = eval(c, z, NULL, NULL, 3, 5), h2 = z0 - (double)z[k];
        z[k] = z0;
        fd[k] = (up - dn) / (h1 + h2);
    }
    double e = th_nmse_d(dz, fd, n);
    CHECK(e <= FD_BOUND, "%s: reference dz vs finite differences nmse %.3g", name(c), e);
    printf("%-36s FD nmse %.2g\n", name(c), e);
    double any = 0;
    for (size_t k = 0; k < n; k++) any += fabs(fd[k]);
    CHECK(any > 0, "%s: the finite differences are not all zero", name(c));
    free(z), free(dz), free(fd);
}

static VcBuffer dev(VcContext *ctx, size_t bytes, const void *src) {
    VcBuffer b;
    VC_ASSERT(vc_buffer_alloc(ctx, bytes, "test", &b) == VC_OK);
    if (src) vc_buffer_upload(ctx, b, 0, src, bytes);
    return b;
}

/* Run the op on z; loss, dz (2N, D) and neg (N) back. */
static float gpu(VcContext *ctx, const Case *c, const float *z, float *dz, int *neg, uint32_t seed, uint32_t step) {
    size_t n = (size_t)2 * c->N * c->D;
    VcMarginBuffers mb = {0};
    VC_ASSERT(vc_margin_buffers_alloc(ctx, c->N, &mb) == VC_OK);
    VcBuffer bz = dev(ctx, n * 4, z), bdz = dev(ctx, n * 4, NULL), loss, info, hyper;
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, 4, "loss", &loss) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, 32, "info", &info) == VC_OK);
    VC_ASSERT(vc_buffer_alloc_mapped(ctx, VC_HYPER_COUNT * 4, "hyper", &hyper) == VC_OK);
    memset(info.mapped, 0, 32);
    ((uint32_t *)info.mapped)[0] = seed;
    ((float *)hyper.mapped)[VC_HYPER_STEP] = (float)(step + 1);
    VcCmd *cmd = vc_cmd_new(ctx, false);
    if (c->block) vc_block_loss(cmd, c->N, c->D, c->b, c->hard_or_hinge, loss, bdz, bz, &mb);
    else vc_triplet(cmd, c->N, c->D, c->margin, c->hard_or_hinge, loss, bdz, bz, &mb, info, hyper);
    vc_cmd_end(cmd);
    vc_cmd_run(cmd);
    float l = *(float *)loss.mapped;
    vc_buffer_download(ctx, bdz, 0, dz, n * 4);
    if (neg) vc_buffer_download(ctx, mb.neg, 0, neg, (size_t)c->N * 4);
    vc_cmd_free(cmd);
    VcBuffer *bufs[] = {&bz, &bdz, &loss, &info, &hyper};
    for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(ctx, bufs[i]);
    vc_margin_buffers_free(ctx, &mb);
    return l;
}

static void test_gpu(VcContext *ctx, const Case *c) {
    size_t n = (size_t)2 * c->N * c->D;
    float *z = vc_malloc(n * 4), *dz = vc_malloc(n * 4), *want = vc_malloc(n * 4);
    int *neg = vc_calloc((size_t)c->N, sizeof(int)), *want_neg = vc_calloc((size_t)c->N, sizeof(int));
    fill(c, z, 1e-3);
    double ref = eval(c, z, want, want_neg, 11, 4);
    float l = gpu(ctx, c, z, dz, neg, 11, 4);
    CHECK(fabs(l - ref) <= 1e-5 * fmax(1, fabs(ref)), "%s: loss %.8g, reference %.8g", name(c), l, ref);
    double mag = 0;
    for (size_t k = 0; k < n; k++) mag += fabs(want[k]);
    CHECK(mag > 0, "%s: the reference dz is not all zero (an active term)", name(c));
    CHECK_NMSE(dz, want, n, DZ_BOUND, name(c));
    printf("%-36s GPU loss diff %.2g, dz nmse %.2g\n", name(c), fabs(l - ref), th_nmse(dz, want, n));
    if (!c->block) CHECK(!memcmp(neg, want_neg, (size_t)c->N * sizeof(int)), "%s: the reference's negatives", name(c));
    free(z), free(dz), free(want), free(neg), free(want_neg);
}

/* identical views, margin 0 (triplet) : loss 0, dz 0; random negatives avoid the own views */
static void test_values(VcContext *ctx) {
    Case c = {.N = 5, .D = 4, .hard_or_hinge = false, .margin = 0};
    float z[40], dz[40];
    for (int r = 0; r < 10; r++)
        for (int d = 0; d < 4; d++) z[r * 4 + d] = d == r % 5 % 4 ? 1.0f : 0.0f; /* z_i = z_{N+i} */
    c.hard_or_hinge = true;
    float l = gpu(ctx, &c, z, dz, NULL, 1, 0);
    double s = 0;
    for (int k = 0; k < 40; k++) s += fabs(dz[k]);
    CHECK(l == 0 && s == 0, "triplet, positives identical, margin 0: loss %g and |dz| %g are 0", l, s);
    int bad = 0, differ = 0, N = 37;
    for (int step = 0; step < 4; step++)
        for (int i = 0; i < N; i++) {
            int n = ref_triplet_random_negative(N, 9, (uint32_t)step, i);
            bad += n == i || n == N + i || n < 0 || n >= 2 * N;
            differ += n != ref_triplet_random_negative(N, 9, (uint32_t)step + 1, i);
            bad += n != ref_triplet_random_negative(N, 9, (uint32_t)step, i);
        }
    CHECK(bad == 0, "random negatives are other images' views and repeat for the same (seed, step) (%d bad)", bad);
    CHECK(differ > 4 * N * 9 / 10, "random negatives change with the step (%d of %d)", differ, 4 * N);
}

int main(void) {
    th_seed(42);
    Case fd_cases[] = {
        {.N = 4, .D = 3, .hard_or_hinge = true, .margin = 0.5f},  {.N = 5, .D = 7, .hard_or_hinge = false, .margin = 0.5f},
        {.N = 3, .D = 2, .hard_or_hinge = true, .margin = 2.5f},  {.block = true, .N = 6, .D = 5, .b = 3, .hard_or_hinge = true},
        {.block = true, .N = 6, .D = 3, .b = 2, .hard_or_hinge = false}, {.block = true, .N = 4, .D = 2, .b = 1},
    };
    for (size_t i = 0; i < VC_COUNTOF(fd_cases); i++) test_fd(&fd_cases[i]);
    VcContext *ctx = th_gpu();
    if (!ctx) return th_finish();
    Case gpu_cases[] = {
        {.N = 2, .D = 2, .hard_or_hinge = true, .margin = 0.5f},   {.N = 5, .D = 3, .hard_or_hinge = false, .margin = 0.5f},
        {.N = 7, .D = 33, .hard_or_hinge = true, .margin = 0.2f},  {.N = 33, .D = 64, .hard_or_hinge = true, .margin = 0.5f},
        {.N = 33, .D = 17, .hard_or_hinge = false, .margin = 1.0f}, {.block = true, .N = 2, .D = 2, .b = 1, .hard_or_hinge = true},
        {.block = true, .N = 9, .D = 5, .b = 3, .hard_or_hinge = true}, {.block = true, .N = 9, .D = 33, .b = 3},
        {.block = true, .N = 40, .D = 64, .b = 4}, {.block = true, .N = 40, .D = 64, .b = 20, .hard_or_hinge = true},
    };
    for (size_t i = 0; i < VC_COUNTOF(gpu_cases); i++) test_gpu(ctx, &gpu_cases[i]);
    test_values(ctx);
    return th_finish();
}
