/* test_golden_file.c — checks the committed PyTorch golden file and its reader (CPU only).
 *
 * Structure: every tensor tools/gen_golden.py promises is present, in order, with the
 * shape DESIGN.md's small-resnet table gives (C_in = 1, 28x28, N = 8, out_dim 64).
 * Consistency, recomputed here in double precision so the file is known to hold what its
 * name says before any GPU test trusts it: z rows have unit norm, the NT-Xent loss of z
 * equals `loss`, h is the spatial mean of act.blocks.2, and w1 = w - lr (g + wd w) for
 * every parameter (SGD's first momentum step). Rejection: truncated, bad-magic,
 * bad-version and trailing-byte copies written to /tmp must fail to load with a message.
 *
 * Usage: test_golden_file [path/to/simclr_small_resnet.bin]
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L  // getpid
#endif
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "golden_file.h"
#include "harness.h"
#include "util.h"

#ifndef VC_SOURCE_DIR
#define VC_SOURCE_DIR "."
#endif

#define BATCH 16      // 2N views
#define N_IMAGES 8    // N
#define REPR_DIM 128  // h
#define PROJ_DIM 64   // z

/* One state_dict entry of small-resnet as the file names it (without w./g./w1.). */
typedef struct {
    char name[64];
    uint32_t ndim;
    uint32_t dims[4];
    int is_param;  // 0 for BN running statistics (no gradient)
} StateEntry;

typedef struct {
    StateEntry items[64];
    size_t count;
} StateList;

static void add_entry(StateList *list, const char *name, int is_param, uint32_t ndim, uint32_t d0, uint32_t d1,
                      uint32_t d2, uint32_t d3) {
    VC_ASSERT(list->count < VC_COUNTOF(list->items));
    StateEntry *e = &list->items[list->count++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->ndim = ndim;
    e->dims[0] = d0, e->dims[1] = d1, e->dims[2] = d2, e->dims[3] = d3;
    e->is_param = is_param;
}

static void add_conv(StateList *list, const char *name, uint32_t c_out, uint32_t c_in, uint32_t k) {
    add_entry(list, name, 1, 4, c_out, c_in, k, k);
}

/* BatchNorm: weight, bias, running_mean, running_var — state_dict order. */
static void add_bn(StateList *list, const char *prefix, uint32_t c) {
    static const char *const fields[] = {"weight", "bias", "running_mean", "running_var"};
    for (int f = 0; f < 4; f++) {
        char name[64];
        snprintf(name, sizeof name, "%s.%s", prefix, fields[f]);
        add_entry(list, name, f < 2, 1, c, 0, 0, 0);
    }
}

/* DESIGN.md's small-resnet table with C_in = 1 and out_dim = 64, in state_dict order. */
static void small_resnet_state(StateList *list) {
    static const uint32_t blocks[3][3] = {{32, 32, 1}, {32, 64, 2}, {64, 128, 2}};  // C_in, C_out, stride
    char name[64];
    list->count = 0;
    add_conv(list, "stem.conv.weight", 32, 1, 3);
    add_bn(list, "stem.bn", 32);
    for (int i = 0; i < 3; i++) {
        uint32_t c_in = blocks[i][0], c_out = blocks[i][1], stride = blocks[i][2];
        snprintf(name, sizeof name, "blocks.%d.conv1.weight", i);
        add_conv(list, name, c_out, c_in, 3);
        snprintf(name, sizeof name, "blocks.%d.bn1", i);
        add_bn(list, name, c_out);
        snprintf(name, sizeof name, "blocks.%d.conv2.weight", i);
        add_conv(list, name, c_out, c_out, 3);
        snprintf(name, sizeof name, "blocks.%d.bn2", i);
        add_bn(list, name, c_out);
        if (stride != 1 || c_in != c_out) {
            snprintf(name, sizeof name, "blocks.%d.shortcut.conv.weight", i);
            add_conv(list, name, c_out, c_in, 1);
            snprintf(name, sizeof name, "blocks.%d.shortcut.bn", i);
            add_bn(list, name, c_out);
        }
    }
    add_entry(list, "head.fc1.weight", 1, 2, REPR_DIM, REPR_DIM, 0, 0);
    add_entry(list, "head.fc1.bias", 1, 1, REPR_DIM, 0, 0, 0);
    add_bn(list, "head.bn", REPR_DIM);
    add_entry(list, "head.fc2.weight", 1, 2, PROJ_DIM, REPR_DIM, 0, 0);
    add_entry(list, "head.fc2.bias", 1, 1, PROJ_DIM, 0, 0, 0);
}

/* Appends a formatted name to a fixed list of 80-byte names. */
static void push_name(char names[][80], size_t cap, size_t *n, const char *prefix, const char *name) {
    VC_ASSERT(*n < cap && strlen(prefix) + strlen(name) < 80);
    char *out = names[(*n)++];
    memcpy(out, prefix, strlen(prefix));
    memcpy(out + strlen(prefix), name, strlen(name) + 1);
}

/* The whole expected tensor list, in file order; returns its length. */
static size_t expected_names(const StateList *st, char names[][80], size_t cap) {
    static const char *const after_w[] = {"h", "z", "loss"};
    static const char *const tail[] = {"losses", "act.stem", "act.blocks.0", "act.blocks.1", "act.blocks.2"};
    size_t n = 0;
    push_name(names, cap, &n, "", "meta");
    push_name(names, cap, &n, "", "hyper");
    push_name(names, cap, &n, "", "input");
    for (size_t i = 0; i < st->count; i++) push_name(names, cap, &n, "w.", st->items[i].name);
    for (size_t i = 0; i < VC_COUNTOF(after_w); i++) push_name(names, cap, &n, "", after_w[i]);
    for (size_t i = 0; i < st->count; i++)
        if (st->items[i].is_param) push_name(names, cap, &n, "g.", st->items[i].name);
    for (size_t i = 0; i < st->count; i++) push_name(names, cap, &n, "w1.", st->items[i].name);
    for (size_t i = 0; i < VC_COUNTOF(tail); i++) push_name(names, cap, &n, "", tail[i]);
    return n;
}

/* Checks one tensor's shape; returns its data or NULL (and records a failed check). */
static const float *get_checked(const VcGolden *g, const char *name, uint32_t ndim, const uint32_t *dims) {
    const float *p = vc_golden_get_shaped(g, name, ndim, dims);
    CHECK(p != NULL, "%s", vc_last_error());
    return p;
}

static void check_structure(const VcGolden *g, const StateList *st) {
    static char names[256][80];
    size_t n_expected = expected_names(st, names, VC_COUNTOF(names));
    CHECK(vc_golden_count(g) == n_expected, "golden file holds %zu tensors, expected %zu", vc_golden_count(g),
          n_expected);
    for (size_t i = 0; i < n_expected && i < vc_golden_count(g); i++)
        CHECK(strcmp(vc_golden_name(g, i), names[i]) == 0, "tensor %zu is %s, expected %s", i, vc_golden_name(g, i),
              names[i]);

    const float *meta = get_checked(g, "meta", 1, (uint32_t[]){6});
    if (meta) {
        const float want[6] = {N_IMAGES, 1, 28, 28, 0.2f, 0.1f};
        for (int i = 0; i < 6; i++) CHECK(meta[i] == want[i], "meta[%d] = %g, expected %g", i, meta[i], want[i]);
    }
    const float *hyper = get_checked(g, "hyper", 1, (uint32_t[]){3});
    if (hyper)
        CHECK(hyper[0] == 0.9f && hyper[1] == 5e-4f && hyper[2] == 0.0f, "hyper = {%g, %g, %g}, expected {0.9, 5e-4, 0}",
              hyper[0], hyper[1], hyper[2]);
    get_checked(g, "input", 4, (uint32_t[]){BATCH, 1, 28, 28});
    get_checked(g, "h", 2, (uint32_t[]){BATCH, REPR_DIM});
    get_checked(g, "z", 2, (uint32_t[]){BATCH, PROJ_DIM});
    get_checked(g, "loss", 1, (uint32_t[]){1});
    get_checked(g, "losses", 1, (uint32_t[]){4});

    char name[96];
    for (size_t i = 0; i < st->count; i++) {
        const StateEntry *e = &st->items[i];
        snprintf(name, sizeof name, "w.%s", e->name);
        get_checked(g, name, e->ndim, e->dims);
        snprintf(name, sizeof name, "w1.%s", e->name);
        get_checked(g, name, e->ndim, e->dims);
        if (e->is_param) {
            snprintf(name, sizeof name, "g.%s", e->name);
            get_checked(g, name, e->ndim, e->dims);
        }
    }

    // Activations hold a prefix of the batch (the first A images), 1 <= A <= 2N.
    static const struct {
        const char *name;
        uint32_t c, hw;
    } acts[] = {{"act.stem", 32, 28}, {"act.blocks.0", 32, 28}, {"act.blocks.1", 64, 14}, {"act.blocks.2", 128, 7}};
    for (size_t i = 0; i < VC_COUNTOF(acts); i++) {
        uint32_t ndim = 0;
        const uint32_t *d = vc_golden_dims(g, acts[i].name, &ndim);
        CHECK(d != NULL, "golden file has no tensor %s", acts[i].name);
        if (!d) continue;
        CHECK(ndim == 4 && d[0] >= 1 && d[0] <= BATCH && d[1] == acts[i].c && d[2] == acts[i].hw && d[3] == acts[i].hw,
              "%s: expected (A <= %d, %u, %u, %u)", acts[i].name, BATCH, acts[i].c, acts[i].hw, acts[i].hw);
    }
}

/* NT-Xent of normalized z (2N, d) at temperature t, in double: row i's positive is
 * (i + N) mod 2N, the diagonal is excluded, mean over rows. */
static double nt_xent_ref(const float *z, int two_n, int d, double t) {
    double total = 0;
    for (int i = 0; i < two_n; i++) {
        double s[BATCH], max = -INFINITY;
        for (int j = 0; j < two_n; j++) {
            double dot = 0;
            for (int k = 0; k < d; k++) dot += (double)z[i * d + k] * z[j * d + k];
            s[j] = dot / t;
            if (j != i && s[j] > max) max = s[j];
        }
        double sum = 0;
        for (int j = 0; j < two_n; j++)
            if (j != i) sum += exp(s[j] - max);
        total += max + log(sum) - s[(i + two_n / 2) % two_n];
    }
    return total / two_n;
}

static void check_consistency(const VcGolden *g, const StateList *st) {
    const float *z = vc_golden_get(g, "z", NULL);
    const float *h = vc_golden_get(g, "h", NULL);
    const float *loss = vc_golden_get(g, "loss", NULL);
    const float *losses = vc_golden_get(g, "losses", NULL);
    const float *meta = vc_golden_get(g, "meta", NULL);
    const float *hyper = vc_golden_get(g, "hyper", NULL);
    if (!z || !h || !loss || !losses || !meta || !hyper) return;  // already reported

    printf("loss %.7f; losses over 4 steps: %.7f %.7f %.7f %.7f\n", loss[0], losses[0], losses[1], losses[2],
           losses[3]);
    CHECK(isfinite(loss[0]) && loss[0] > 0, "loss %g is not finite and positive", loss[0]);
    CHECK(losses[0] == loss[0], "losses[0] %.7f differs from loss %.7f", losses[0], loss[0]);
    for (int i = 1; i < 4; i++) CHECK(isfinite(losses[i]) && losses[i] > 0, "losses[%d] = %g", i, losses[i]);

    double worst_norm = 0;
    for (int i = 0; i < BATCH; i++) {
        double sq = 0;
        for (int k = 0; k < PROJ_DIM; k++) sq += (double)z[i * PROJ_DIM + k] * z[i * PROJ_DIM + k];
        worst_norm = VC_MAX(worst_norm, fabs(sqrt(sq) - 1.0));
    }
    CHECK(worst_norm < 1e-5, "z rows are not unit length: worst | |z_i| - 1 | = %g", worst_norm);
    double ref = nt_xent_ref(z, BATCH, PROJ_DIM, meta[4]);
    CHECK(fabs(ref - loss[0]) < 1e-5, "NT-Xent recomputed from z = %.7f, file says %.7f", ref, loss[0]);

    // h = spatial mean of the last block's output, for the images act.blocks.2 holds.
    uint32_t ndim;
    const uint32_t *d = vc_golden_dims(g, "act.blocks.2", &ndim);
    const float *act = vc_golden_get(g, "act.blocks.2", NULL);
    if (d && ndim == 4 && d[1] == REPR_DIM) {
        size_t hw = (size_t)d[2] * d[3];
        double worst = 0;
        for (size_t i = 0; i < d[0]; i++)
            for (size_t c = 0; c < REPR_DIM; c++) {
                double mean = 0;
                for (size_t p = 0; p < hw; p++) mean += act[(i * REPR_DIM + c) * hw + p];
                mean /= (double)hw;
                worst = VC_MAX(worst, fabs(mean - h[i * REPR_DIM + c]));
            }
        CHECK(worst < 1e-5, "h differs from the mean of act.blocks.2 by %g", worst);
    }

    // First SGD step with momentum: the buffer starts as d = g + wd w, so w1 = w - lr d.
    double lr = meta[5], wd = hyper[1], worst_rel = 0;
    const char *worst_name = "";
    char name[96];
    for (size_t e = 0; e < st->count; e++) {
        if (!st->items[e].is_param) continue;
        size_t n;
        snprintf(name, sizeof name, "w.%s", st->items[e].name);
        const float *w = vc_golden_get(g, name, &n);
        snprintf(name, sizeof name, "g.%s", st->items[e].name);
        const float *grad = vc_golden_get(g, name, NULL);
        snprintf(name, sizeof name, "w1.%s", st->items[e].name);
        const float *w1 = vc_golden_get(g, name, NULL);
        if (!w || !grad || !w1) continue;
        double err = 0, norm = 0;
        for (size_t i = 0; i < n; i++) {
            double want = w[i] - lr * (grad[i] + wd * w[i]);
            err += (w1[i] - want) * (w1[i] - want);
            norm += want * want;
        }
        if (err / (norm + 1e-30) > worst_rel) worst_rel = err / (norm + 1e-30), worst_name = st->items[e].name;
    }
    CHECK(worst_rel < 1e-10, "w1 != w - lr (g + wd w): worst normalized MSE %g at %s", worst_rel, worst_name);
}

/* Writes `len` bytes to path; returns 1 on success. */
static int write_bytes(const char *path, const unsigned char *bytes, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(bytes, 1, len, f) == len;
    return (fclose(f) == 0) && ok;
}

/* Loading `bytes` (a corrupted copy) from a /tmp file must fail with a message. */
static void expect_rejected(const char *what, const unsigned char *bytes, size_t len) {
    char path[128];
    snprintf(path, sizeof path, "/tmp/vc_golden_%s_%ld.bin", what, (long)getpid());
    if (!write_bytes(path, bytes, len)) {
        CHECK(0, "cannot write %s", path);
        return;
    }
    vc_set_error("%s", "");
    VcGolden *g = vc_golden_load(path);
    CHECK(g == NULL, "%s copy (%zu bytes) was accepted", what, len);
    CHECK(vc_last_error()[0] != '\0', "%s copy was rejected without a message", what);
    if (!g) printf("  %-10s -> %s\n", what, vc_last_error());
    vc_golden_free(g);
    remove(path);
}

static void check_rejections(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = vc_malloc((size_t)len + 1);
    size_t got = fread(bytes, 1, (size_t)len, f);
    fclose(f);
    CHECK(got == (size_t)len && len > 64, "cannot read %s back", path);
    if (got != (size_t)len || len <= 64) {
        free(bytes);
        return;
    }
    printf("rejected copies:\n");
    expect_rejected("empty", bytes, 0);
    expect_rejected("header", bytes, 6);
    expect_rejected("half", bytes, (size_t)len / 2);
    expect_rejected("lastbyte", bytes, (size_t)len - 1);
    bytes[len] = 0;
    expect_rejected("trailing", bytes, (size_t)len + 1);

    unsigned char saved[4];
    memcpy(saved, bytes, 4);
    memcpy(bytes, "VCGX", 4);
    expect_rejected("magic", bytes, (size_t)len);
    memcpy(bytes, saved, 4);

    bytes[4] = 2;  // version 2
    expect_rejected("version", bytes, (size_t)len);
    bytes[4] = 1;

    bytes[8] = bytes[9] = bytes[10] = bytes[11] = 0xff;  // tensor count 2^32 - 1
    expect_rejected("count", bytes, (size_t)len);
    free(bytes);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : VC_SOURCE_DIR "/tests/golden/simclr_small_resnet.bin";
    VcGolden *g = vc_golden_load(path);
    CHECK(g != NULL, "cannot load %s: %s", path, vc_last_error());
    if (g) {
        StateList st;
        small_resnet_state(&st);
        printf("%s: %zu tensors\n", path, vc_golden_count(g));
        check_structure(g, &st);
        check_consistency(g, &st);
        vc_golden_free(g);
        check_rejections(path);
    }
    return th_finish();
}
