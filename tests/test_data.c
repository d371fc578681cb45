/* test_data.c — the dataset loaders (src/data), CPU only.
 *
 * Writes small fixtures into a fresh temp folder (IDX raw and gzip, CIFAR-10/100 batches,
 * folders of PNG/BMP/TGA/JPEG written with stb_image_write), loads them and compares every
 * pixel and label with what was written (JPEG within a tolerance). Then corrupt inputs:
 * each must fail with a status, a message naming the file and the expected vs found
 * values, and the output struct untouched. Last, the real Fashion-MNIST when installed
 * (Debian dataset-fashion-mnist).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <stb/stb_image_write.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "harness.h"

static char g_root[64];

/* "<temp root>/<rel>" in one of a few rotating buffers. */
static const char *tp(const char *rel) {
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", g_root, rel);
    return b;
}

/* mkdir -p for a path relative to the temp root. */
static void make_dirs(const char *rel) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_root, rel);
    for (char *p = path + strlen(g_root) + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    mkdir(path, 0755);
}

static void write_bytes(const char *path, const void *data, size_t len, int gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        VC_ASSERT(f != NULL);
        VC_ASSERT(len == 0 || gzwrite(f, data, (unsigned)len) == (int)len);
        VC_ASSERT(gzclose(f) == Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        VC_ASSERT(f != NULL);
        VC_ASSERT(fwrite(data, 1, len, f) == len);
        VC_ASSERT(fclose(f) == 0);
    }
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* An IDX file: magic, dims, then `payload` bytes of data (taken from `data`); the whole
 * thing cut to `limit` bytes when limit >= 0. */
static void write_idx(const char *path, int gz, uint32_t magic, int ndims, const uint32_t *dims, const uint8_t *data,
                      size_t payload, long limit) {
    size_t header = 4 + 4 * (size_t)ndims, len = header + payload;
    uint8_t *buf = vc_calloc(len, 1);
    put_be32(buf, magic);
    for (int i = 0; i < ndims; i++) put_be32(buf + 4 + 4 * i, dims[i]);
    if (data) memcpy(buf + header, data, payload);
    write_bytes(path, buf, limit >= 0 && (size_t)limit < len ? (size_t)limit : len, gz);
    free(buf);
}

static void write_idx_images(const char *path, int gz, uint32_t n, uint32_t rows, uint32_t cols, const uint8_t *px) {
    uint32_t dims[3] = {n, rows, cols};
    write_idx(path, gz, 0x803, 3, dims, px, (size_t)n * rows * cols, -1);
}

static void write_idx_labels(const char *path, int gz, uint32_t n, const uint8_t *labels) {
    write_idx(path, gz, 0x801, 1, &n, labels, n, -1);
}

static void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text), 0); }

/* Fill the output with a pattern, so that "untouched on failure" can be checked. */
static void poison(VcDataset *d) { memset(d, 0xAB, sizeof *d); }
static int is_poisoned(const VcDataset *d) {
    const uint8_t *p = (const uint8_t *)d;
    for (size_t i = 0; i < sizeof *d; i++)
        if (p[i] != 0xAB) return 0;
    return 1;
}

/* The load must fail with `status` and a message containing every non-NULL needle. */
/* Overwrite `bytes` bytes at `offset` of a file with the little-endian `value`. */
static void patch_le(const char *path, long offset, uint32_t value, int bytes) {
    FILE *f = fopen(path, "r+b");
    VC_ASSERT(f && fseek(f, offset, SEEK_SET) == 0);
    for (int i = 0; i < bytes; i++) VC_ASSERT(fputc((int)((value >> (8 * i)) & 255), f) != EOF);
    VC_ASSERT(fclose(f) == 0);
}

static void expect_fail(const char *what, const char *path, VcSplit split, const VcDataOptions *opt, int status,
                        const char *n1, const char *n2, const char *n3) {
    VcDataset d;
    poison(&d);
    int rc = vc_dataset_load(path, split, opt, &d);
    const char *msg = vc_last_error();
    CHECK(rc == status, "%s: status %d, expected %d (message: %s)", what, rc, status, msg);
    CHECK(is_poisoned(&d), "%s: output was modified on failure", what);
    const char *needles[3] = {n1, n2, n3};
    for (int i = 0; i < 3; i++)
        if (needles[i]) CHECK(strstr(msg, needles[i]) != NULL, "%s: message lacks \"%s\": %s", what, needles[i], msg);
    if (rc == VC_OK) vc_dataset_free(&d);
}

static int load_ok(const char *what, const char *path, VcSplit split, const VcDataOptions *opt, VcDataset *d) {
    memset(d, 0, sizeof *d);
    int rc = vc_dataset_load(path, split, opt, d);
    CHECK(rc == VC_OK, "%s: load failed: %s", what, vc_last_error());
    return rc == VC_OK;
}

static void check_shape(const char *what, const VcDataset *d, int n, int c, int h, int w) {
    CHECK(d->n == n && d->c == c && d->h == h && d->w == w, "%s: shape %dx%dx%dx%d, expected %dx%dx%dx%d", what, d->n, d->c,
          d->h, d->w, n, c, h, w);
}

static void check_labels(const char *what, const VcDataset *d, const int32_t *want, int n) {
    CHECK(d->labels != NULL, "%s: no labels", what);
    if (!d->labels) return;
    for (int i = 0; i < n && i < d->n; i++) CHECK(d->labels[i] == want[i], "%s: label %d is %d, expected %d", what, i, d->labels[i], want[i]);
}

/* ---- IDX ---- */

static uint8_t idx_px[3 * 4 * 5], idx_labels[3] = {7, 0, 3};
static uint8_t idx_test_px[2 * 4 * 5], idx_test_labels[2] = {1, 2};

static void make_idx_fixtures(void) {
    for (size_t i = 0; i < sizeof idx_px; i++) idx_px[i] = (uint8_t)(i * 37 + 11);
    for (size_t i = 0; i < sizeof idx_test_px; i++) idx_test_px[i] = (uint8_t)(255 - i * 3);
    make_dirs("idx_raw");
    write_idx_images(tp("idx_raw/train-images-idx3-ubyte"), 0, 3, 4, 5, idx_px);
    write_idx_labels(tp("idx_raw/train-labels-idx1-ubyte"), 0, 3, idx_labels);
    write_idx_images(tp("idx_raw/t10k-images-idx3-ubyte"), 0, 2, 4, 5, idx_test_px);
    write_idx_labels(tp("idx_raw/t10k-labels-idx1-ubyte"), 0, 2, idx_test_labels);
    make_dirs("idx_gz");
    write_idx_images(tp("idx_gz/train-images-idx3-ubyte.gz"), 1, 3, 4, 5, idx_px);
    write_idx_labels(tp("idx_gz/train-labels-idx1-ubyte.gz"), 1, 3, idx_labels);
    write_idx_images(tp("idx_gz/t10k-images-idx3-ubyte.gz"), 1, 2, 4, 5, idx_test_px);
    write_idx_labels(tp("idx_gz/t10k-labels-idx1-ubyte.gz"), 1, 2, idx_test_labels);
}

static void check_idx_train(const char *what, const VcDataset *d) {
    static const int32_t want[3] = {7, 0, 3};
    check_shape(what, d, 3, 1, 4, 5);
    CHECK(d->pixels && memcmp(d->pixels, idx_px, sizeof idx_px) == 0, "%s: pixels differ", what);
    check_labels(what, d, want, 3);
    CHECK(d->num_classes == 8 && d->class_names == NULL, "%s: num_classes %d (expected 8, max label + 1)", what, d->num_classes);
}

static void test_idx(void) {
    VcDataset d;
    const char *folders[2] = {"idx_raw", "idx_gz"};
    for (int g = 0; g < 2; g++) {
        char what[64];
        snprintf(what, sizeof what, "%s folder train", folders[g]);
        if (load_ok(what, tp(folders[g]), VC_SPLIT_TRAIN, NULL, &d)) {
            check_idx_train(what, &d);
            CHECK(strcmp(d.source, tp(folders[g])) == 0, "%s: source is %s", what, d.source);
            vc_dataset_free(&d);
            CHECK(d.pixels == NULL && d.n == 0, "vc_dataset_free zeroes the struct");
        }
        snprintf(what, sizeof what, "%s folder test", folders[g]);
        if (load_ok(what, tp(folders[g]), VC_SPLIT_TEST, NULL, &d)) {
            static const int32_t want[2] = {1, 2};
            check_shape(what, &d, 2, 1, 4, 5);
            CHECK(memcmp(d.pixels, idx_test_px, sizeof idx_test_px) == 0, "%s: pixels differ", what);
            check_labels(what, &d, want, 2);
            vc_dataset_free(&d);
        }
    }
    if (load_ok("idx gz images file", tp("idx_gz/train-images-idx3-ubyte.gz"), VC_SPLIT_TEST, NULL, &d)) {
        check_idx_train("idx gz images file", &d);
        vc_dataset_free(&d);
    }
    if (load_ok("idx raw labels file", tp("idx_raw/train-labels-idx1-ubyte"), VC_SPLIT_TRAIN, NULL, &d)) {
        check_idx_train("idx raw labels file (pairs to its images)", &d);
        vc_dataset_free(&d);
    }
    // images without a labels file: unlabeled, with a warning
    make_dirs("idx_nolabels");
    write_idx_images(tp("idx_nolabels/train-images-idx3-ubyte"), 0, 3, 4, 5, idx_px);
    if (load_ok("idx without labels", tp("idx_nolabels"), VC_SPLIT_TRAIN, NULL, &d)) {
        check_shape("idx without labels", &d, 3, 1, 4, 5);
        CHECK(d.labels == NULL && d.num_classes == 0, "idx without labels: unlabeled");
        vc_dataset_free(&d);
    }
    // a Fashion-MNIST folder (by name) gets the class names
    make_dirs("my-fashion-mnist");
    write_idx_images(tp("my-fashion-mnist/train-images-idx3-ubyte"), 0, 3, 4, 5, idx_px);
    write_idx_labels(tp("my-fashion-mnist/train-labels-idx1-ubyte"), 0, 3, idx_labels);
    if (load_ok("fashion names", tp("my-fashion-mnist"), VC_SPLIT_TRAIN, NULL, &d)) {
        CHECK(d.num_classes == 10 && d.class_names && strcmp(d.class_names[9], "Ankle boot") == 0, "fashion class names");
        vc_dataset_free(&d);
    }
}

static void test_options(void) {
    VcDataset d;
    VcDataOptions opt = {.subset = 2};
    if (load_ok("idx subset", tp("idx_gz"), VC_SPLIT_TRAIN, &opt, &d)) {
        static const int32_t want[2] = {7, 0};
        check_shape("idx subset", &d, 2, 1, 4, 5);
        CHECK(memcmp(d.pixels, idx_px, 2 * 20) == 0, "idx subset: pixels are the first two images");
        check_labels("idx subset", &d, want, 2);
        CHECK(d.num_classes == 8, "idx subset: num_classes from the whole labels file");
        vc_dataset_free(&d);
    }
    opt = (VcDataOptions){.subset = 100};
    if (load_ok("idx subset > n", tp("idx_raw"), VC_SPLIT_TRAIN, &opt, &d)) {
        check_shape("idx subset > n", &d, 3, 1, 4, 5);
        vc_dataset_free(&d);
    }
    opt = (VcDataOptions){.channels = 3};
    if (load_ok("idx as RGB", tp("idx_raw"), VC_SPLIT_TRAIN, &opt, &d)) {
        check_shape("idx as RGB", &d, 3, 3, 4, 5);
        int same = 1;
        for (int i = 0; i < 3; i++)
            for (int ch = 0; ch < 3; ch++) same &= memcmp(d.pixels + (i * 3 + ch) * 20, idx_px + i * 20, 20) == 0;
        CHECK(same, "idx as RGB: every plane repeats the gray image");
        vc_dataset_free(&d);
    }

    // resampling: enlarge 2x2 -> 4x4 (bilinear, half-pixel centres)
    make_dirs("resize");
    static const uint8_t small[4] = {0, 100, 200, 40};
    write_idx_images(tp("resize/train-images-idx3-ubyte"), 0, 1, 2, 2, small);
    opt = (VcDataOptions){.image_size = 4};
    if (load_ok("enlarge 2->4", tp("resize"), VC_SPLIT_TRAIN, &opt, &d)) {
        static const uint8_t want[16] = {0, 25, 75, 100, 50, 59, 76, 85, 150, 126, 79, 55, 200, 160, 80, 40};
        check_shape("enlarge 2->4", &d, 1, 1, 4, 4);
        for (int i = 0; i < 16; i++) CHECK(d.pixels[i] == want[i], "enlarge 2->4: pixel %d is %d, expected %d", i, d.pixels[i], want[i]);
        vc_dataset_free(&d);
    }
    // shrink 4x4 -> 2x2 (area average) and 3x3 -> 2x2 (fractional area)
    make_dirs("resize2");
    static const uint8_t big[16] = {0, 2, 10, 20, 4, 6, 30, 40, 100, 100, 7, 9, 100, 100, 11, 13};
    write_idx_images(tp("resize2/train-images-idx3-ubyte"), 0, 1, 4, 4, big);
    opt = (VcDataOptions){.image_size = 2};
    if (load_ok("shrink 4->2", tp("resize2"), VC_SPLIT_TRAIN, &opt, &d)) {
        check_shape("shrink 4->2", &d, 1, 1, 2, 2);
        CHECK(d.pixels[0] == 3 && d.pixels[1] == 25 && d.pixels[2] == 100 && d.pixels[3] == 10,
              "shrink 4->2: %d %d %d %d, expected 3 25 100 10", d.pixels[0], d.pixels[1], d.pixels[2], d.pixels[3]);
        vc_dataset_free(&d);
    }
    make_dirs("resize3");
    static const uint8_t three[9] = {0, 90, 180, 0, 90, 180, 0, 90, 180};
    write_idx_images(tp("resize3/train-images-idx3-ubyte"), 0, 1, 3, 3, three);
    if (load_ok("shrink 3->2", tp("resize3"), VC_SPLIT_TRAIN, &opt, &d)) {
        CHECK(d.pixels[0] == 30 && d.pixels[1] == 150 && d.pixels[2] == 30 && d.pixels[3] == 150,
              "shrink 3->2: %d %d %d %d, expected 30 150 30 150", d.pixels[0], d.pixels[1], d.pixels[2], d.pixels[3]);
        vc_dataset_free(&d);
    }

    opt = (VcDataOptions){.channels = 2};
    expect_fail("channels 2", tp("idx_raw"), VC_SPLIT_TRAIN, &opt, VC_ERR_ARG, "channels must be", "not 2", NULL);
    opt = (VcDataOptions){.image_size = -1};
    expect_fail("image_size -1", tp("idx_raw"), VC_SPLIT_TRAIN, &opt, VC_ERR_ARG, "image size -1", NULL, NULL);
    opt = (VcDataOptions){.subset = -5};
    expect_fail("subset -5", tp("idx_raw"), VC_SPLIT_TRAIN, &opt, VC_ERR_ARG, "subset", NULL, NULL);
}

/* ---- CIFAR ---- */

#define REC10 3073
#define REC100 3074

static uint8_t cifar_pixel(int record, int p) { return (uint8_t)(record * 7 + p * 13); }

static void write_cifar(const char *path, int label_bytes, int n, const uint8_t (*labels)[2], size_t extra) {
    size_t rec = (size_t)label_bytes + 3072, len = (size_t)n * rec + extra;
    uint8_t *buf = vc_calloc(len, 1);
    for (int i = 0; i < n; i++) {
        uint8_t *r = buf + (size_t)i * rec;
        for (int b = 0; b < label_bytes; b++) r[b] = labels[i][b];
        for (int p = 0; p < 3072; p++) r[label_bytes + p] = cifar_pixel(i, p);
    }
    write_bytes(path, buf, len, 0);
    free(buf);
}

static void check_cifar_pixels(const char *what, const VcDataset *d) {
    int bad = 0;
    for (int i = 0; i < d->n; i++)
        for (int p = 0; p < 3072; p++) bad += d->pixels[(size_t)i * 3072 + p] != cifar_pixel(i, p);
    CHECK(bad == 0, "%s: %d pixels differ", what, bad);
}

static void test_cifar(void) {
    static const uint8_t labels10[5][2] = {{0}, {2}, {4}, {6}, {9}};
    static const uint8_t labels100[3][2] = {{1, 55}, {19, 99}, {0, 0}};
    make_dirs("cifar10");
    write_cifar(tp("cifar10/data_batch_1.bin"), 1, 5, labels10, 0);
    write_cifar(tp("cifar10/test_batch.bin"), 1, 2, labels10, 0);
    write_text(tp("cifar10/batches.meta.txt"), "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
    VcDataset d;
    if (load_ok("cifar10 train", tp("cifar10"), VC_SPLIT_TRAIN, NULL, &d)) {
        static const int32_t want[5] = {0, 2, 4, 6, 9};
        check_shape("cifar10 train", &d, 5, 3, 32, 32);
        check_labels("cifar10 train", &d, want, 5);
        check_cifar_pixels("cifar10 train", &d);
        CHECK(d.num_classes == 10 && d.class_names && strcmp(d.class_names[0], "airplane") == 0 &&
                  strcmp(d.class_names[9], "truck") == 0,
              "cifar10: class names from batches.meta.txt");
        vc_dataset_free(&d);
    }
    if (load_ok("cifar10 test", tp("cifar10"), VC_SPLIT_TEST, NULL, &d)) {
        check_shape("cifar10 test", &d, 2, 3, 32, 32);
        check_cifar_pixels("cifar10 test", &d);
        vc_dataset_free(&d);
    }
    if (load_ok("cifar10 file", tp("cifar10/data_batch_1.bin"), VC_SPLIT_TEST, NULL, &d)) {
        check_shape("cifar10 file", &d, 5, 3, 32, 32);
        CHECK(d.class_names != NULL, "cifar10 file: class names from the same folder");
        vc_dataset_free(&d);
    }
    VcDataOptions opt = {.channels = 1, .subset = 3};
    if (load_ok("cifar10 gray subset", tp("cifar10"), VC_SPLIT_TRAIN, &opt, &d)) {
        check_shape("cifar10 gray subset", &d, 3, 1, 32, 32);
        int bad = 0;
        for (int i = 0; i < 3; i++)
            for (int p = 0; p < 1024; p++) {
                unsigned r = cifar_pixel(i, p), g = cifar_pixel(i, 1024 + p), b = cifar_pixel(i, 2048 + p);
                bad += d.pixels[i * 1024 + p] != (299 * r + 587 * g + 114 * b + 500) / 1000;
            }
        CHECK(bad == 0, "cifar10 gray: %d pixels are not the BT.601 luma", bad);
        vc_dataset_free(&d);
    }
    // the archive's own folder inside the given one
    make_dirs("cifarwrap/cifar-10-batches-bin");
    write_cifar(tp("cifarwrap/cifar-10-batches-bin/test_batch.bin"), 1, 2, labels10, 0);
    if (load_ok("cifar10 wrapped", tp("cifarwrap"), VC_SPLIT_TEST, NULL, &d)) {
        check_shape("cifar10 wrapped", &d, 2, 3, 32, 32);
        vc_dataset_free(&d);
    }
    make_dirs("cifar100");
    write_cifar(tp("cifar100/train.bin"), 2, 3, labels100, 0);
    if (load_ok("cifar100 train", tp("cifar100"), VC_SPLIT_TRAIN, NULL, &d)) {
        static const int32_t want[3] = {55, 99, 0};
        check_shape("cifar100 train", &d, 3, 3, 32, 32);
        check_labels("cifar100 train (fine labels)", &d, want, 3);
        check_cifar_pixels("cifar100 train", &d);
        CHECK(d.num_classes == 100 && d.class_names == NULL, "cifar100: 100 classes, no names file");
        vc_dataset_free(&d);
    }
    expect_fail("cifar100 missing test", tp("cifar100"), VC_SPLIT_TEST, NULL, VC_ERR_IO, "cannot open", tp("cifar100/test.bin"),
                "No such file or directory");
}

/* ---- image folders ---- */

enum { IW = 6, IH = 4 };

static void make_rgb(uint8_t *px, int w, int h, int seed) { // interleaved RGB
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = (uint8_t)(seed * 50 + x * 20 + y * 30 + c * 60);
}

static void make_smooth(uint8_t *px, int w, int h) { // a gentle gradient that JPEG keeps well
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = (uint8_t)(60 + 40 * c + 2 * x + 2 * y);
}

/* Max |planar image i of d - interleaved rgb|. */
static int rgb_diff(const VcDataset *d, int i, const uint8_t *rgb) {
    int worst = 0, plane = d->h * d->w;
    for (int c = 0; c < 3; c++)
        for (int p = 0; p < plane; p++) {
            int diff = abs((int)d->pixels[(size_t)(i * 3 + c) * plane + p] - (int)rgb[p * 3 + c]);
            worst = VC_MAX(worst, diff);
        }
    return worst;
}

static void test_imagefolder(void) {
    uint8_t a[IW * IH * 3], b[IW * IH * 3], c[IW * IH * 3], jpg[IW * IH * 3], e[IW * IH * 3];
    make_rgb(a, IW, IH, 0), make_rgb(b, IW, IH, 1), make_rgb(c, IW, IH, 2), make_smooth(jpg, IW, IH), make_rgb(e, IW, IH, 3);
    make_dirs("imgs/train/cat");
    make_dirs("imgs/train/dog");
    make_dirs("imgs/test/cat");
    make_dirs("imgs/test/dog");
    CHECK(stbi_write_png(tp("imgs/train/cat/a.png"), IW, IH, 3, a, IW * 3), "write png");
    CHECK(stbi_write_bmp(tp("imgs/train/cat/b.bmp"), IW, IH, 3, b), "write bmp");
    CHECK(stbi_write_tga(tp("imgs/train/dog/c.tga"), IW, IH, 3, c), "write tga");
    CHECK(stbi_write_jpg(tp("imgs/train/dog/d.JPG"), IW, IH, 3, jpg, 100), "write jpg");
    CHECK(stbi_write_png(tp("imgs/test/dog/e.png"), IW, IH, 3, e, IW * 3), "write png");
    write_text(tp("imgs/README.txt"), "files next to the split folders are ignored\n");

    VcDataset d;
    if (load_ok("imagefolder train", tp("imgs"), VC_SPLIT_TRAIN, NULL, &d)) {
        static const int32_t want[4] = {0, 0, 1, 1};
        check_shape("imagefolder train", &d, 4, 3, IH, IW);
        check_labels("imagefolder train", &d, want, 4);
        CHECK(d.num_classes == 2 && d.class_names && strcmp(d.class_names[0], "cat") == 0 && strcmp(d.class_names[1], "dog") == 0,
              "imagefolder: class names sorted");
        CHECK(rgb_diff(&d, 0, a) == 0, "png pixels exact");
        CHECK(rgb_diff(&d, 1, b) == 0, "bmp pixels exact");
        CHECK(rgb_diff(&d, 2, c) == 0, "tga pixels exact");
        int jd = rgb_diff(&d, 3, jpg);
        CHECK(jd <= 6, "jpeg pixels within 6 (worst %d)", jd);
        vc_dataset_free(&d);
    }
    if (load_ok("imagefolder test", tp("imgs"), VC_SPLIT_TEST, NULL, &d)) {
        check_shape("imagefolder test", &d, 1, 3, IH, IW);
        CHECK(d.labels && d.labels[0] == 1 && d.num_classes == 2, "imagefolder test: empty class keeps its index");
        CHECK(rgb_diff(&d, 0, e) == 0, "imagefolder test pixels");
        vc_dataset_free(&d);
    }
    VcDataOptions opt = {.subset = 3};
    if (load_ok("imagefolder subset", tp("imgs"), VC_SPLIT_TRAIN, &opt, &d)) {
        static const int32_t want[3] = {0, 0, 1};
        check_shape("imagefolder subset", &d, 3, 3, IH, IW);
        check_labels("imagefolder subset", &d, want, 3);
        vc_dataset_free(&d);
    }
    opt = (VcDataOptions){.channels = 1};
    if (load_ok("imagefolder as gray", tp("imgs/train"), VC_SPLIT_TRAIN, &opt, &d)) {
        check_shape("imagefolder as gray", &d, 4, 1, IH, IW);
        unsigned r = a[0], g = a[1], bl = a[2];
        CHECK(d.pixels[0] == (299 * r + 587 * g + 114 * bl + 500) / 1000, "imagefolder gray: luma");
        vc_dataset_free(&d);
    }

    // flat gray folder: unlabeled, one channel, sorted by file name; RGBA drops alpha
    uint8_t g1[25], g2[25];
    for (int i = 0; i < 25; i++) g1[i] = (uint8_t)(i * 10), g2[i] = (uint8_t)(250 - i * 10);
    make_dirs("flat");
    CHECK(stbi_write_png(tp("flat/z.png"), 5, 5, 1, g1, 5), "write gray png");
    CHECK(stbi_write_png(tp("flat/y.PNG"), 5, 5, 1, g2, 5), "write gray png");
    if (load_ok("flat gray", tp("flat"), VC_SPLIT_TRAIN, NULL, &d)) {
        check_shape("flat gray", &d, 2, 1, 5, 5);
        CHECK(d.labels == NULL && d.num_classes == 0 && d.class_names == NULL, "flat: unlabeled");
        CHECK(memcmp(d.pixels, g2, 25) == 0 && memcmp(d.pixels + 25, g1, 25) == 0, "flat gray: pixels in name order");
        vc_dataset_free(&d);
    }
    opt = (VcDataOptions){.channels = 3};
    if (load_ok("flat gray as RGB", tp("flat"), VC_SPLIT_TRAIN, &opt, &d)) {
        check_shape("flat gray as RGB", &d, 2, 3, 5, 5);
        CHECK(memcmp(d.pixels + 25, g2, 25) == 0 && memcmp(d.pixels + 50, g2, 25) == 0, "gray as RGB: planes repeat");
        vc_dataset_free(&d);
    }
    uint8_t rgba[5 * 5 * 4];
    for (int i = 0; i < 25; i++) rgba[4 * i] = (uint8_t)i, rgba[4 * i + 1] = (uint8_t)(2 * i), rgba[4 * i + 2] = (uint8_t)(3 * i), rgba[4 * i + 3] = (uint8_t)(i * 9);
    make_dirs("mixed");
    CHECK(stbi_write_png(tp("mixed/a.png"), 5, 5, 1, g1, 5), "write gray png");
    CHECK(stbi_write_png(tp("mixed/b.png"), 5, 5, 4, rgba, 20), "write rgba png");
    if (load_ok("mixed gray + RGBA", tp("mixed"), VC_SPLIT_TRAIN, NULL, &d)) {
        check_shape("mixed gray + RGBA", &d, 2, 3, 5, 5);
        CHECK(memcmp(d.pixels, g1, 25) == 0 && memcmp(d.pixels + 50, g1, 25) == 0, "mixed: gray image repeated in RGB");
        CHECK(d.pixels[75 + 7] == 7 && d.pixels[100 + 7] == 14 && d.pixels[125 + 7] == 21, "mixed: RGBA keeps RGB");
        vc_dataset_free(&d);
    }

    // sizes differ: default is the first image's size; image_size forces a square
    uint8_t k100[64], k200[16];
    memset(k100, 100, sizeof k100), memset(k200, 200, sizeof k200);
    make_dirs("sizes");
    CHECK(stbi_write_png(tp("sizes/a.png"), 8, 8, 1, k100, 8), "write png");
    CHECK(stbi_write_png(tp("sizes/b.png"), 4, 4, 1, k200, 4), "write png");
    if (load_ok("sizes default", tp("sizes"), VC_SPLIT_TRAIN, NULL, &d)) {
        check_shape("sizes default", &d, 2, 1, 8, 8);
        int ok = 1;
        for (int i = 0; i < 64; i++) ok &= d.pixels[i] == 100 && d.pixels[64 + i] == 200;
        CHECK(ok, "sizes default: 4x4 enlarged to 8x8");
        vc_dataset_free(&d);
    }
    opt = (VcDataOptions){.image_size = 3};
    if (load_ok("sizes 3", tp("sizes"), VC_SPLIT_TRAIN, &opt, &d)) {
        check_shape("sizes 3", &d, 2, 1, 3, 3);
        int ok = 1;
        for (int i = 0; i < 9; i++) ok &= d.pixels[i] == 100 && d.pixels[9 + i] == 200;
        CHECK(ok, "sizes 3: both shrunk to 3x3");
        vc_dataset_free(&d);
    }
}

/* ---- failures ---- */

static void test_idx_errors(void) {
    make_dirs("bad");
    uint8_t px[200];
    for (int i = 0; i < 200; i++) px[i] = (uint8_t)i;
    uint32_t dims[3] = {3, 4, 5};
    const char *p;
    char want[256];

    for (int gz = 0; gz < 2; gz++) {
        p = tp(gz ? "bad/hdr-images-idx3-ubyte.gz" : "bad/hdr-images-idx3-ubyte");
        write_idx(p, gz, 0x803, 3, dims, NULL, 0, 12);
        snprintf(want, sizeof want, "truncated IDX header in %s: 12 of 16 bytes", p);
        expect_fail("truncated header", p, VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, want, NULL, NULL);
    }
    p = tp("bad/short-images-idx3-ubyte");
    write_idx(p, 0, 0x803, 3, dims, px, 50, -1);
    snprintf(want, sizeof want, "%s: header says 3 images of 4x5 (60 bytes) but the file holds 50 bytes of pixels", p);
    expect_fail("truncated pixels", p, VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, want, NULL, NULL);
    p = tp("bad/long-images-idx3-ubyte.gz");
    write_idx(p, 1, 0x803, 3, dims, px, 61, -1);
    expect_fail("trailing pixels", p, VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, p, "(60 bytes) but the file holds 61 bytes", NULL);
    p = tp("bad/magic-images-idx3-ubyte");
    write_idx(p, 0, 0x802, 3, dims, px, 60, -1);
    snprintf(want, sizeof want, "wrong magic in %s: expected 0x00000803 (IDX images, uint8, 3 dims), found 0x00000802", p);
    expect_fail("wrong magic", p, VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, want, NULL, NULL);
    p = tp("bad/zero-images-idx3-ubyte");
    uint32_t zero[3] = {0, 28, 28};
    write_idx(p, 0, 0x803, 3, zero, NULL, 0, -1);
    expect_fail("zero images", p, VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, p, "holds no images", NULL);
    p = tp("bad/huge-images-idx3-ubyte");
    uint32_t huge[3] = {0x7fffffff, 0x7fffffff, 0x7fffffff};
    write_idx(p, 0, 0x803, 3, huge, px, 60, -1);
    expect_fail("overflowing dims", p, VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, p, "cannot be addressed", NULL);
    p = tp("bad/lying-images-idx3-ubyte.gz"); // would need 784 MB: must fail without allocating it
    uint32_t lying[3] = {1000000, 28, 28};
    write_idx(p, 1, 0x803, 3, lying, px, 60, -1);
    snprintf(want, sizeof want, "%s: header says 1000000 images of 28x28 (784000000 bytes) but the file holds 60 bytes of pixels", p);
    expect_fail("lying header", p, VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, want, NULL, NULL);

    // a gzip stream cut in the middle
    p = tp("bad/cut-images-idx3-ubyte.gz");
    {
        uint8_t noisy[4000];
        for (int i = 0; i < 4000; i++) noisy[i] = (uint8_t)((i * 2654435761u) >> 13);
        uint32_t d2[3] = {10, 20, 20};
        write_idx(p, 1, 0x803, 3, d2, noisy, 4000, -1);
        struct stat st;
        stat(p, &st);
        VC_ASSERT(truncate(p, st.st_size / 2) == 0);
        expect_fail("cut gzip", p, VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, p, "truncated or corrupt", NULL);
    }

    // labels: count mismatch, short payload
    make_dirs("bad_labels1");
    write_idx_images(tp("bad_labels1/train-images-idx3-ubyte"), 0, 3, 4, 5, px);
    write_idx_labels(tp("bad_labels1/train-labels-idx1-ubyte"), 0, 2, px);
    snprintf(want, sizeof want, "labels count mismatch: %s has 3 images but %s has 2 labels", tp("bad_labels1/train-images-idx3-ubyte"),
             tp("bad_labels1/train-labels-idx1-ubyte"));
    expect_fail("labels count", tp("bad_labels1"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, want, NULL, NULL);
    make_dirs("bad_labels2");
    write_idx_images(tp("bad_labels2/train-images-idx3-ubyte.gz"), 1, 3, 4, 5, px);
    uint32_t three = 3;
    write_idx(tp("bad_labels2/train-labels-idx1-ubyte.gz"), 1, 0x801, 1, &three, px, 2, -1);
    expect_fail("labels short", tp("bad_labels2"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, tp("bad_labels2/train-labels-idx1-ubyte.gz"),
                "header says 3 labels (3 bytes) but the file holds 2 bytes of labels", NULL);
    make_dirs("bad_labels3");
    write_idx_images(tp("bad_labels3/train-images-idx3-ubyte"), 0, 3, 4, 5, px);
    write_idx(tp("bad_labels3/train-labels-idx1-ubyte"), 0, 0x803, 1, &three, px, 3, -1);
    expect_fail("labels magic", tp("bad_labels3"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, "wrong magic in",
                "expected 0x00000801 (IDX labels, uint8, 1 dim), found 0x00000803", NULL);
    expect_fail("idx no test split", tp("bad_labels3"), VC_SPLIT_TEST, NULL, VC_ERR_IO, "has no IDX images file for the test split",
                "t10k", NULL);
    // a non-IDX file given to the IDX loader directly, and to the detector
    p = tp("bad/notes.txt");
    write_text(p, "GARBAGE! not a dataset\n");
    VcDataset d;
    poison(&d);
    int rc = vc_idx_load_file(p, NULL, &d);
    CHECK(rc == VC_ERR_FORMAT && strstr(vc_last_error(), "not an IDX file") && is_poisoned(&d), "IDX loader on text: %s",
          vc_last_error());
    expect_fail("unknown file", p, VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, p, "not a dataset file", NULL);
}

static void test_cifar_errors(void) {
    static const uint8_t labels[5][2] = {{1}, {2}, {3}, {4}, {5}};
    static const uint8_t bad_labels[3][2] = {{1}, {2}, {10}};
    make_dirs("cifar_bad1");
    write_cifar(tp("cifar_bad1/data_batch_1.bin"), 1, 5, labels, 100);
    expect_fail("cifar size", tp("cifar_bad1"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, tp("cifar_bad1/data_batch_1.bin"),
                "15465 bytes is not a whole number of CIFAR-10 records (3073 bytes each", "5 records and 100 bytes left over");
    make_dirs("cifar_bad2");
    write_cifar(tp("cifar_bad2/data_batch_1.bin"), 1, 3, bad_labels, 0);
    expect_fail("cifar label", tp("cifar_bad2"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, tp("cifar_bad2/data_batch_1.bin"),
                "record 2 (byte offset 6146) has label 10; CIFAR-10 labels are 0..9", NULL);
    write_bytes(tp("cifar_bad2/empty.bin"), "", 0, 0);
    expect_fail("cifar empty", tp("cifar_bad2/empty.bin"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, "holds no CIFAR-10 records", NULL, NULL);
    make_dirs("cifar_bad3");
    write_cifar(tp("cifar_bad3/train.bin"), 1, 2, labels, 0); // CIFAR-10 records under a CIFAR-100 name
    expect_fail("cifar kind", tp("cifar_bad3"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, "not a whole number of CIFAR-100 records",
                "fits CIFAR-10 records", NULL);
}

static void test_folder_errors(void) {
    uint8_t rgb[4 * 4 * 3];
    make_rgb(rgb, 4, 4, 0);
    make_dirs("bad1/cat");
    CHECK(stbi_write_png(tp("bad1/cat/a.png"), 4, 4, 3, rgb, 12), "write png");
    write_text(tp("bad1/cat/notes.txt"), "not an image\n");
    expect_fail("non-image file", tp("bad1"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, tp("bad1/cat/notes.txt"), "is not an image file",
                NULL);
    VcDataOptions skip = {.on_bad_file_skip = 1};
    VcDataset d;
    if (load_ok("non-image skipped", tp("bad1"), VC_SPLIT_TRAIN, &skip, &d)) {
        check_shape("non-image skipped", &d, 1, 3, 4, 4);
        vc_dataset_free(&d);
    }
    make_dirs("bad2/cat");
    CHECK(stbi_write_png(tp("bad2/cat/b.png"), 4, 4, 3, rgb, 12), "write png");
    write_text(tp("bad2/cat/a.png"), "this is text with a .png name\n");
    expect_fail("undecodable png", tp("bad2"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, "cannot decode image", tp("bad2/cat/a.png"),
                NULL);
    if (load_ok("undecodable skipped", tp("bad2"), VC_SPLIT_TRAIN, &skip, &d)) {
        check_shape("undecodable skipped", &d, 1, 3, 4, 4);
        CHECK(rgb_diff(&d, 0, rgb) == 0, "undecodable skipped: the good image remains");
        vc_dataset_free(&d);
    }
    make_dirs("bad3");
    write_text(tp("bad3/x.jpg"), "nope");
    expect_fail("all skipped", tp("bad3"), VC_SPLIT_TRAIN, &skip, VC_ERR_FORMAT, "no image in", "could be read (1 file skipped)", NULL);
    /* damaged headers stb_image would decode (a cut file reads as zeros): a BMP claiming
     * 4 x 16777212 pixels is refused before decoding, one of width 0 after (test_fuzz found both) */
    make_dirs("bad4/cat");
    CHECK(stbi_write_bmp(tp("bad4/cat/a.bmp"), 4, 4, 3, rgb), "write bmp");
    patch_le(tp("bad4/cat/a.bmp"), 22, 16777212, 4); /* BITMAPINFOHEADER biHeight */
    expect_fail("bmp claiming 4x16777212", tp("bad4"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, tp("bad4/cat/a.bmp"),
                "claims 4x16777212 pixels", "up to 16384 pixels a side");
    make_dirs("bad5/cat");
    CHECK(stbi_write_bmp(tp("bad5/cat/a.bmp"), 4, 4, 3, rgb), "write bmp");
    patch_le(tp("bad5/cat/a.bmp"), 18, 0, 4); /* biWidth */
    expect_fail("bmp of width 0", tp("bad5"), VC_SPLIT_TRAIN, NULL, VC_ERR_FORMAT, tp("bad5/cat/a.bmp"), "cannot decode image",
                NULL);
    make_dirs("empty");
    expect_fail("empty folder", tp("empty"), VC_SPLIT_TRAIN, NULL, VC_ERR_IO, "no images in", tp("empty"), NULL);
    make_dirs("empty_classes/a");
    make_dirs("empty_classes/b");
    expect_fail("empty class folders", tp("empty_classes"), VC_SPLIT_TRAIN, NULL, VC_ERR_IO, "no images in", NULL, NULL);
    make_dirs("only_train/train/cat");
    CHECK(stbi_write_png(tp("only_train/train/cat/a.png"), 4, 4, 3, rgb, 12), "write png");
    expect_fail("missing test split", tp("only_train"), VC_SPLIT_TEST, NULL, VC_ERR_IO, "has a train/ folder but no test/ folder",
                NULL, NULL);
    char want[512];
    snprintf(want, sizeof want, "cannot open %s: No such file or directory", tp("does/not/exist"));
    expect_fail("missing path", tp("does/not/exist"), VC_SPLIT_TRAIN, NULL, VC_ERR_IO, want, NULL, NULL);
    expect_fail("empty path", "", VC_SPLIT_TRAIN, NULL, VC_ERR_ARG, "no dataset path", NULL, NULL);
}

/* ---- the real Fashion-MNIST, when installed ---- */

static void test_fashion_mnist(void) {
    const char *dir = "/usr/share/datasets/fashion-mnist";
    struct stat st;
    if (stat(dir, &st) != 0) {
        printf("test_data: %s not installed, skipping the Fashion-MNIST check\n", dir);
        return;
    }
    VcDataset d;
    for (int s = 0; s < 2; s++) {
        const char *what = s ? "fashion-mnist test" : "fashion-mnist train";
        if (!load_ok(what, dir, s ? VC_SPLIT_TEST : VC_SPLIT_TRAIN, NULL, &d)) continue;
        check_shape(what, &d, s ? 10000 : 60000, 1, 28, 28);
        int in_range = d.labels != NULL;
        for (int i = 0; in_range && i < d.n; i++) in_range = d.labels[i] >= 0 && d.labels[i] <= 9;
        CHECK(in_range, "%s: labels in 0..9", what);
        CHECK(d.num_classes == 10 && d.class_names && strcmp(d.class_names[0], "T-shirt/top") == 0, "%s: class names", what);
        if (!s) CHECK(d.labels && d.labels[0] == 9, "fashion-mnist: first train label is %d, expected 9", d.labels ? d.labels[0] : -1);
        vc_dataset_free(&d);
    }
}

static void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (S_ISDIR(st.st_mode)) {
        char **names;
        int count;
        if (vc_data_list_dir(path, &names, &count) == VC_OK) {
            for (int i = 0; i < count; i++) {
                char *child = vc_data_path_join(path, names[i]);
                remove_tree(child);
                free(child);
            }
            vc_data_free_names(names, count);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

int main(void) {
    snprintf(g_root, sizeof g_root, "/tmp/vc_test_data_XXXXXX");
    if (!mkdtemp(g_root)) {
        fprintf(stderr, "test_data: mkdtemp failed: %s\n", strerror(errno));
        return 1;
    }
    make_idx_fixtures();
    test_idx();
    test_options();
    test_cifar();
    test_imagefolder();
    test_idx_errors();
    test_cifar_errors();
    test_folder_errors();
    test_fashion_mnist();
    if (!getenv("VC_KEEP_TMP")) remove_tree(g_root);
    return th_finish();
}
