/* test_fuzz.c — the file parsers on thousands of damaged inputs: valid IDX (raw and gzip),
 * CIFAR-10, safetensors and JSON files are cut short, get random bytes overwritten (mostly
 * in their headers, where the sizes live), or get bytes appended, and each loader must
 * either accept the file, returning data whose every byte can be read, or refuse it with
 * a message naming the file; never crash, hang or read out of bounds (run this test under
 * -Db_sanitize=address,undefined to see the last one). The mutations come from a fixed
 * seed, so a failure replays; the message printed names the case. Image files (PNG, BMP,
 * TGA) go through Debian's stb_image, which accepts much damage silently (a cut TGA
 * decodes with zeros): for them only "no crash, a message when refused" is asked.
 *
 * The targeted cases (each kind of corruption with its exact message) are in test_data.c
 * and test_io.c; this test is about what nobody thought of.
 */
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <stb/stb_image_write.h>

#include "data/dataset.h"
#include "harness.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "methods/train.h"

#define ROUNDS 300 /* mutations per format */

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n) { /* uniform in [0, n) for n > 0 (xorshift64*) */
    g_rng ^= g_rng >> 12, g_rng ^= g_rng << 25, g_rng ^= g_rng >> 27;
    return (uint32_t)(((g_rng * 0x2545f4914f6cdd1dull) >> 32) % n);
}

static char g_dir[256];

static void write_bytes(const char *path, const uint8_t *b, size_t n) {
    FILE *f = fopen(path, "wb");
    VC_ASSERT(f && fwrite(b, 1, n, f) == n && fclose(f) == 0);
}

static void write_gzip(const char *path, const uint8_t *b, size_t n) {
    gzFile g = gzopen(path, "wb");
    VC_ASSERT(g && gzwrite(g, b, (unsigned)n) == (int)n && gzclose(g) == Z_OK);
}

static uint8_t *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    VC_ASSERT(f && fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    VC_ASSERT(len >= 0 && fseek(f, 0, SEEK_SET) == 0);
    uint8_t *b = vc_malloc((size_t)len + 64); /* room for appended bytes */
    VC_ASSERT(fread(b, 1, (size_t)len, f) == (size_t)len && fclose(f) == 0);
    *n = (size_t)len;
    return b;
}

static void put_be32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v; }

/* A damaged copy of `orig` (n bytes) into `out` (room for n + 64); returns its length and
 * describes it in `what`. Half the overwrites land in the first `header` bytes. */
static size_t mutate(const uint8_t *orig, size_t n, size_t header, uint8_t *out, char *what, size_t cap) {
    memcpy(out, orig, n);
    switch (rnd(4)) {
    case 0: {
        size_t len = rnd((uint32_t)n);
        snprintf(what, cap, "cut to %zu of %zu bytes", len, n);
        return len;
    }
    case 1: {
        size_t extra = 1 + rnd(64);
        for (size_t i = 0; i < extra; i++) out[n + i] = (uint8_t)rnd(256);
        snprintf(what, cap, "%zu random bytes appended", extra);
        return n + extra;
    }
    default: {
        int k = 1 + (int)rnd(4), used = snprintf(what, cap, "bytes overwritten:");
        for (int i = 0; i < k; i++) {
            size_t at = rnd(2) ? rnd((uint32_t)VC_MIN(header, n)) : rnd((uint32_t)n);
            /* extreme values as often as random ones: sizes and counts live in headers */
            uint8_t v = rnd(2) ? (uint8_t)rnd(256) : (rnd(2) ? 0xff : 0x00);
            out[at] = v;
            if (used > 0 && (size_t)used < cap) used += snprintf(what + used, cap - (size_t)used, " [%zu]=%u", at, v);
        }
        return n;
    }
    }
}

/* Every pixel and label of an accepted dataset, summed so the reads happen. */
static void touch_dataset(const VcDataset *d, const char *what) {
    CHECK(d->n >= 0 && (d->c == 1 || d->c == 3) && d->h > 0 && d->w > 0, "%s: accepted with shape n %d c %d %dx%d", what, d->n,
          d->c, d->h, d->w);
    size_t px = (size_t)d->n * d->c * d->h * d->w, sum = 0;
    for (size_t i = 0; i < px; i++) sum += d->pixels[i];
    int bad_label = 0;
    for (int i = 0; d->labels && i < d->n; i++) bad_label += d->labels[i] < 0 || (d->num_classes > 0 && d->labels[i] >= d->num_classes);
    CHECK(bad_label == 0, "%s: accepted with %d labels outside [0, %d) (pixel sum %zu)", what, bad_label, d->num_classes, sum);
}

/* A refusal must say why and name the file. */
static void check_refusal(int st, const char *path, const char *what) {
    const char *msg = vc_last_error();
    CHECK(st < 0 && msg && strstr(msg, path), "%s: refused (status %d) with a message naming %s: '%s'", what, st, path,
          msg ? msg : "(none)");
}

typedef int (*LoadFn)(const char *path, VcDataset *out);
static const char *g_labels; /* the labels file an images-file loader pairs with */
static const char *g_images; /* the images file a labels-file loader pairs with */
static int load_idx(const char *path, VcDataset *out) { return vc_idx_load_files(path, g_labels, NULL, out); }
static int load_idx_labels(const char *path, VcDataset *out) { return vc_idx_load_files(g_images, path, NULL, out); }
static int load_cifar(const char *path, VcDataset *out) { return vc_cifar_load_file(path, NULL, out); }
static char g_folder[300]; /* a flat folder holding one image */
static int load_folder(const char *path, VcDataset *out) {
    (void)path;
    return vc_imagefolder_load(g_folder, VC_SPLIT_TRAIN, NULL, out);
}

/* ROUNDS damaged copies of the file at `path` (a valid one, restored at the end); gz:
 * damage the uncompressed bytes and write them compressed (the gzip layer's own damage is
 * covered by the raw rounds of the .gz file itself). */
static void fuzz_dataset(const char *name, const char *path, size_t header, LoadFn load, bool gz, const uint8_t *plain,
                         size_t plain_n, int min_refused) {
    size_t n = 0;
    uint8_t *orig = gz ? NULL : read_bytes(path, &n);
    const uint8_t *src = gz ? plain : orig;
    size_t src_n = gz ? plain_n : n;
    uint8_t *buf = vc_malloc(src_n + 64);
    int accepted = 0, refused = 0;
    for (int r = 0; r < ROUNDS; r++) {
        char what[400], desc[300];
        size_t len = mutate(src, src_n, header, buf, desc, sizeof desc);
        snprintf(what, sizeof what, "%s round %d (%s)", name, r, desc);
        if (gz) write_gzip(path, buf, len);
        else write_bytes(path, buf, len);
        VcDataset d = {0};
        int st = load(path, &d);
        if (st == VC_OK) {
            touch_dataset(&d, what);
            vc_dataset_free(&d);
            accepted++;
        } else {
            check_refusal(st, path, what);
            refused++;
        }
    }
    if (gz) write_gzip(path, plain, plain_n);
    else write_bytes(path, orig, n);
    VcDataset d = {0};
    CHECK(load(path, &d) == VC_OK, "%s: the restored file loads: %s", name, vc_last_error());
    vc_dataset_free(&d);
    printf("fuzz %-22s %d rounds: %d accepted, %d refused\n", name, ROUNDS, accepted, refused);
    CHECK(refused >= min_refused, "%s: damaged copies refused: %d of %d (want >= %d)", name, refused, ROUNDS, min_refused);
    free(orig);
    free(buf);
}

static void fuzz_safetensors(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/f.safetensors", g_dir);
    VcSafetensorsWriter *w = vc_st_writer_new();
    float a[12];
    int64_t b[2] = {7, -3};
    for (int i = 0; i < 12; i++) a[i] = (float)i * 0.5f;
    const int64_t sa[2] = {3, 4}, sb[1] = {2};
    VC_ASSERT(vc_st_add_f32(w, "layer.weight", sa, 2, a) == VC_OK && vc_st_add_i64(w, "step", sb, 1, b) == VC_OK &&
              vc_st_set_meta(w, "method", "simclr") == VC_OK && vc_st_writer_save(w, path) == VC_OK);
    vc_st_writer_free(w);
    size_t n = 0;
    uint8_t *orig = read_bytes(path, &n), *buf = vc_malloc(n + 64);
    int accepted = 0, refused = 0;
    for (int r = 0; r < ROUNDS; r++) {
        char what[400], desc[300];
        size_t len = mutate(orig, n, n - sizeof a - sizeof b, buf, desc, sizeof desc); /* the header: all but the data */
        snprintf(what, sizeof what, "safetensors round %d (%s)", r, desc);
        write_bytes(path, buf, len);
        VcSafetensors *st = vc_st_open(path);
        if (!st) {
            check_refusal(-1, path, what);
            refused++;
            continue;
        }
        accepted++;
        size_t bytes = 0, bad = 0;
        for (size_t i = 0; i < vc_st_count(st); i++) {
            const VcStTensor *t = vc_st_at(st, i);
            bad += !t->name || t->nbytes != t->numel * vc_st_dtype_size(t->dtype);
            for (size_t k = 0; k < t->nbytes; k++) bytes += ((const uint8_t *)t->data)[k];
        }
        for (size_t i = 0; i < vc_st_meta_count(st); i++) {
            const char *k, *v;
            vc_st_meta_at(st, i, &k, &v);
            bytes += strlen(k) + strlen(v);
        }
        CHECK(bad == 0, "%s: accepted with %zu inconsistent tensors (byte sum %zu)", what, bad, bytes);
        vc_st_close(st);
    }
    printf("fuzz %-22s %d rounds: %d accepted, %d refused\n", "safetensors", ROUNDS, accepted, refused);
    CHECK(refused > ROUNDS / 4, "safetensors: most damaged copies are refused (%d of %d)", refused, ROUNDS);
    unlink(path);
    free(orig);
    free(buf);
}

/* A checkpoint's metadata (what eval, embed and --resume trust): each round damages one
 * value; vc_checkpoint_read_meta accepts only values a model can be built from. */
static void fuzz_checkpoint_meta(void) {
    static const char *keys[] = {"method", "model", "channels", "image_size", "out_dim", "epoch", "step", "seed", "input_mean", "input_std"};
    static const char *good[] = {"simclr", "small-resnet", "1", "28", "128", "3", "702", "7", "[0.286]", "[0.353]"};
    static const char *nasty[] = {"", "-1", "0", "2", "3", "4", "1e9", "99999999999999999999", "nan", "[]", "[0]", "[-1]", "[1e39]",
                                  "[0.2, 0.3]", "[0.2, 0.3, 0.4]", "[\"x\"]", "[nan]", "{}", "resnet18", "small-resnet ", " 28", "28x"};
    char path[300];
    snprintf(path, sizeof path, "%s/meta.safetensors", g_dir);
    int accepted = 0, refused = 0;
    for (int r = 0; r < ROUNDS; r++) {
        VcSafetensorsWriter *w = vc_st_writer_new();
        float x = 1;
        const int64_t shape[1] = {1};
        VC_ASSERT(vc_st_add_f32(w, "t", shape, 1, &x) == VC_OK);
        int k = (int)rnd(VC_COUNTOF(keys)), drop = rnd(8) == 0;
        char value[64];
        snprintf(value, sizeof value, "%s", nasty[rnd(VC_COUNTOF(nasty))]);
        if (rnd(2)) { /* or the good value with one character changed */
            snprintf(value, sizeof value, "%s", good[k]);
            if (value[0]) value[rnd((uint32_t)strlen(value))] = "0-9.e[],x \"n"[rnd(12)];
        }
        for (size_t i = 0; i < VC_COUNTOF(keys); i++)
            if (!(drop && (int)i == k)) VC_ASSERT(vc_st_set_meta(w, keys[i], (int)i == k ? value : good[i]) == VC_OK);
        VC_ASSERT(vc_st_writer_save(w, path) == VC_OK);
        vc_st_writer_free(w);
        VcSafetensors *st = vc_st_open(path);
        VC_ASSERT(st);
        VcCheckpointMeta m;
        char what[200];
        snprintf(what, sizeof what, "checkpoint meta round %d (%s %s)", r, keys[k], drop ? "dropped" : value);
        int rc = vc_checkpoint_read_meta(st, path, &m);
        if (rc == VC_OK) {
            accepted++;
            bool sane = (m.channels == 1 || m.channels == 3) && m.image_size >= 4 && m.out_dim >= 1 && m.epoch >= 0 && m.step >= 0;
            for (int c = 0; c < m.channels; c++) sane = sane && isfinite(m.mean[c]) && isfinite(m.std[c]) && m.std[c] > 0;
            CHECK(sane, "%s: accepted as channels %d, size %d, out %d, std %g", what, m.channels, m.image_size, m.out_dim,
                  (double)m.std[0]);
        } else {
            refused++;
            check_refusal(rc, path, what);
        }
        vc_st_close(st);
    }
    /* consistent but not a model: 2 channels with 2 means and stds */
    {
        VcSafetensorsWriter *w = vc_st_writer_new();
        float x = 1;
        const int64_t shape[1] = {1};
        VC_ASSERT(vc_st_add_f32(w, "t", shape, 1, &x) == VC_OK);
        for (size_t i = 0; i < VC_COUNTOF(keys); i++)
            VC_ASSERT(vc_st_set_meta(w, keys[i], i == 2 ? "2" : i >= 8 ? "[0.2, 0.3]" : good[i]) == VC_OK);
        VC_ASSERT(vc_st_writer_save(w, path) == VC_OK);
        vc_st_writer_free(w);
        VcSafetensors *st = vc_st_open(path);
        VcCheckpointMeta m;
        int rc = vc_checkpoint_read_meta(st, path, &m);
        CHECK(rc != VC_OK && strstr(vc_last_error(), "expected 1 (grayscale) or 3 (RGB)"), "2-channel checkpoint refused: %s",
              vc_last_error());
        vc_st_close(st);
    }
    printf("fuzz %-22s %d rounds: %d accepted, %d refused\n", "checkpoint metadata", ROUNDS, accepted, refused);
    CHECK(accepted > 0 && refused > ROUNDS / 2, "checkpoint metadata: damaged values mostly refused (%d), harmless ones accepted (%d)",
          refused, accepted);
    unlink(path);
}

/* config.json as --resume reads it: damaged copies of a MoCo run's file are refused with
 * the file named, or give settings the command line would accept. */
static void fuzz_resume_config(void) {
    const char *text =
        "{\n  \"method\": \"moco\",\n  \"data\": \"/usr/share/datasets/fashion-mnist\",\n  \"model\": \"small-resnet\",\n"
        "  \"epochs\": 3,\n  \"batch\": 256,\n  \"lr\": 0.06,\n  \"optimizer\": \"sgd\",\n  \"momentum\": 0.9,\n"
        "  \"weight_decay\": 0.0005,\n  \"warmup_epochs\": 0,\n  \"temperature\": 0.2,\n  \"moco_version\": 2,\n"
        "  \"moco_m\": 0.99,\n  \"moco_m_ramp\": false,\n  \"queue\": 4096,\n  \"shuffle_groups\": 8,\n"
        "  \"symmetric\": true,\n  \"out_dim\": 128,\n  \"subset\": 0,\n  \"image_size\": 28,\n  \"channels\": 1,\n"
        "  \"seed\": 7,\n  \"knn_every\": 1,\n  \"knn_k\": 200,\n  \"train_images\": 60000\n}\n";
    char dir[300], path[340];
    snprintf(dir, sizeof dir, "%s/run", g_dir);
    snprintf(path, sizeof path, "%s/config.json", dir);
    VC_ASSERT(mkdir(dir, 0755) == 0);
    size_t n = strlen(text);
    uint8_t *buf = vc_malloc(n + 64);
    write_bytes(path, (const uint8_t *)text, n);
    VcTrainConfig c;
    vc_train_defaults(&c);
    CHECK(vc_train_load_config(dir, &c) == VC_OK && !strcmp(c.method, "moco") && c.queue == 4096 && c.symmetric && c.seed == 7,
          "the intact config.json loads: %s", vc_last_error());
    int accepted = 0, refused = 0;
    for (int r = 0; r < ROUNDS; r++) {
        char what[400], desc[300];
        /* overwrite inside the values: digits, signs, quotes and letters where numbers were */
        size_t len = mutate((const uint8_t *)text, n, n, buf, desc, sizeof desc);
        snprintf(what, sizeof what, "config.json round %d (%s)", r, desc);
        write_bytes(path, buf, len);
        vc_train_defaults(&c);
        int st = vc_train_load_config(dir, &c);
        if (st == VC_OK) {
            accepted++;
            CHECK(c.batch >= 2 && c.epochs >= 1 && c.lr > 0 && c.temperature > 0 && c.queue >= 1 && c.shuffle_groups >= 1 &&
                      (c.channels == 0 || c.channels == 1 || c.channels == 3) && c.moco_m >= 0 && c.moco_m <= 1,
                  "%s: accepted as batch %d, epochs %d, lr %g, T %g, queue %d", what, c.batch, c.epochs, (double)c.lr,
                  (double)c.temperature, c.queue);
        } else {
            refused++;
            check_refusal(st, path, what);
        }
    }
    printf("fuzz %-22s %d rounds: %d accepted, %d refused\n", "resume config.json", ROUNDS, accepted, refused);
    /* values in range for JSON but not for a run */
    const char *bad[][2] = {{"\"batch\": 256", "\"batch\": -5"},   {"\"batch\": 256", "\"batch\": 1e30"},
                            {"\"lr\": 0.06", "\"lr\": 0"},          {"\"queue\": 4096", "\"queue\": \"many\""},
                            {"\"epochs\": 3", "\"epochs\": 2.5"},   {"\"symmetric\": true", "\"symmetric\": 1"},
                            {"\"method\": \"moco\"", "\"method\": \"simclr\""}};
    for (size_t k = 0; k < VC_COUNTOF(bad); k++) {
        char edited[2048];
        const char *at = strstr(text, bad[k][0]);
        VC_ASSERT(at);
        snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - text), text, bad[k][1], at + strlen(bad[k][0]));
        write_bytes(path, (const uint8_t *)edited, strlen(edited));
        vc_train_defaults(&c);
        int st = vc_train_load_config(dir, &c);
        CHECK(st != VC_OK && strstr(vc_last_error(), path), "config.json with %s refused, naming the file: %s", bad[k][1],
              vc_last_error());
    }
    /* a run on 4x4 images (checkpoints allow sizes from 4) resumes */
    {
        char edited[2048];
        const char *at = strstr(text, "\"image_size\": 28");
        VC_ASSERT(at);
        snprintf(edited, sizeof edited, "%.*s\"image_size\": 4%s", (int)(at - text), text, at + strlen("\"image_size\": 28"));
        write_bytes(path, (const uint8_t *)edited, strlen(edited));
        vc_train_defaults(&c);
        CHECK(vc_train_load_config(dir, &c) == VC_OK && c.image_size == 4, "config.json of a 4x4 run loads: %s", vc_last_error());
    }
    unlink(path);
    rmdir(dir);
    free(buf);
}

/* JSON (config.json of --resume, safetensors headers): damaged texts parse or fail with a
 * position; an accepted document is walked whole. */
/* Walks an accepted document (ASan sees every read) and counts inconsistent nodes: strings
 * and keys must be NUL-terminated within their stated length. */
static size_t walk(const VcJson *v) {
    size_t bad = 0;
    if (v->type == VC_JSON_STRING) bad += strlen(v->u.string.ptr) > v->u.string.len;
    if (v->type == VC_JSON_ARRAY)
        for (size_t i = 0; i < v->u.array.count; i++) bad += walk(&v->u.array.items[i]);
    if (v->type == VC_JSON_OBJECT)
        for (size_t i = 0; i < v->u.object.count; i++) {
            const VcJsonMember *m = &v->u.object.members[i];
            bad += (strlen(m->key) > m->key_len) + walk(&m->value);
        }
    return bad;
}

static void fuzz_json(void) {
    const char *text = "{\"method\": \"simclr\", \"epochs\": 3, \"lr\": 0.06, \"augment\": {\"flip_p\": 0.5, \"mean\": [0.286]},"
                       " \"resume\": \"\", \"knn\": true, \"s\": \"caf\\u00e9 \\\"q\\\"\", \"n\": null, \"big\": -1.5e300}";
    size_t n = strlen(text);
    uint8_t *buf = vc_malloc(n + 65);
    int accepted = 0, refused = 0;
    for (int r = 0; r < ROUNDS; r++) {
        char desc[300];
        size_t len = mutate((const uint8_t *)text, n, n, buf, desc, sizeof desc);
        buf[len] = 0;
        VcJsonError err = {0};
        VcJson *v = vc_json_parse((const char *)buf, len, &err);
        if (v) {
            accepted++;
            size_t bad = walk(v);
            CHECK(bad == 0, "json round %d (%s): %zu strings or keys longer than their length", r, desc, bad);
            vc_json_free(v);
        } else {
            refused++;
        }
    }
    printf("fuzz %-22s %d rounds: %d accepted, %d refused\n", "json", ROUNDS, accepted, refused);
    CHECK(refused > ROUNDS / 4 && accepted > 0, "json: damaged texts mostly refused (%d), some still valid (%d)", refused, accepted);
    free(buf);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/vc_fuzz_XXXXXX");
    VC_ASSERT(mkdtemp(g_dir));
    /* IDX: 5 images of 4x3, labels 0..4 */
    enum { N = 5, H = 4, W = 3 };
    uint8_t img[16 + N * H * W], lab[8 + N];
    put_be32(img, 0x803), put_be32(img + 4, N), put_be32(img + 8, H), put_be32(img + 12, W);
    for (int i = 0; i < N * H * W; i++) img[16 + i] = (uint8_t)(i * 7);
    put_be32(lab, 0x801), put_be32(lab + 4, N);
    for (int i = 0; i < N; i++) lab[8 + i] = (uint8_t)i;
    char images[300], labels[300], images_gz[300], cifar[300];
    snprintf(images, sizeof images, "%s/t-images-idx3-ubyte", g_dir);
    snprintf(labels, sizeof labels, "%s/t-labels-idx1-ubyte", g_dir);
    snprintf(images_gz, sizeof images_gz, "%s/z-images-idx3-ubyte.gz", g_dir);
    write_bytes(images, img, sizeof img);
    write_bytes(labels, lab, sizeof lab);
    write_gzip(images_gz, img, sizeof img);
    g_labels = labels;
    fuzz_dataset("idx images", images, 16, load_idx, false, NULL, 0, ROUNDS / 2);
    fuzz_dataset("idx images (gzip)", images_gz, 16, load_idx, true, img, sizeof img, ROUNDS / 2);
    fuzz_dataset("idx gzip stream", images_gz, 24, load_idx, false, NULL, 0, ROUNDS / 2);
    /* the labels file damaged, the images intact */
    g_images = images;
    fuzz_dataset("idx labels", labels, 8, load_idx_labels, false, NULL, 0, ROUNDS / 2);
    /* CIFAR-10: 3 records of label + 3x32x32 */
    {
        size_t rec = 1 + 3 * 32 * 32, n = 3 * rec;
        uint8_t *c = vc_malloc(n);
        for (size_t i = 0; i < n; i++) c[i] = (uint8_t)(i * 13);
        for (int r = 0; r < 3; r++) c[r * rec] = (uint8_t)(r * 4);
        snprintf(cifar, sizeof cifar, "%s/data_batch_1.bin", g_dir);
        write_bytes(cifar, c, n);
        free(c);
        fuzz_dataset("cifar-10 batch", cifar, 1, load_cifar, false, NULL, 0, ROUNDS / 2);
    }
    /* image folders: one 5x4 RGB image (decoded by Debian's stb_image) */
    {
        uint8_t rgb[5 * 4 * 3];
        for (size_t i = 0; i < sizeof rgb; i++) rgb[i] = (uint8_t)(i * 11);
        snprintf(g_folder, sizeof g_folder, "%s/imgs", g_dir);
        VC_ASSERT(mkdir(g_folder, 0755) == 0);
        const char *kinds[] = {"png", "bmp", "tga"};
        for (int k = 0; k < 3; k++) {
            char path[400], name[32];
            snprintf(path, sizeof path, "%s/a.%s", g_folder, kinds[k]);
            int ok = k == 0 ? stbi_write_png(path, 5, 4, 3, rgb, 5 * 3) : k == 1 ? stbi_write_bmp(path, 5, 4, 3, rgb)
                                                                                 : stbi_write_tga(path, 5, 4, 3, rgb);
            VC_ASSERT(ok);
            snprintf(name, sizeof name, "%s image", kinds[k]);
            /* stb_image decides what it accepts (a cut TGA or BMP decodes with zeros): no minimum */
            fuzz_dataset(name, path, 64, load_folder, false, NULL, 0, 0);
            unlink(path);
        }
        rmdir(g_folder);
    }
    fuzz_safetensors();
    fuzz_checkpoint_meta();
    fuzz_resume_config();
    fuzz_json();
    unlink(images), unlink(labels), unlink(images_gz), unlink(cifar);
    rmdir(g_dir);
    return th_finish();
}
