/* idx.c — IDX files (MNIST, Fashion-MNIST, and any uint8 IDX images + labels pair).
 *
 * IDX is a big-endian header (magic 0x00000803 for uint8 images with 3 dims, 0x00000801 for
 * uint8 labels with 1 dim; then one uint32 per dim) followed by the raw bytes, usually
 * gzip-compressed. zlib's gzread reads both compressed and raw files, so one path serves
 * both. The header is never trusted for allocation: the buffer grows as data actually
 * arrives, and the decompressed length must match the header exactly, so a lying or
 * truncated file is reported (file, expected vs found bytes) rather than read past or
 * allocated for.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <zlib.h>

#include "dataset.h"
#include "util.h"

#define IDX_MAGIC_IMAGES 0x00000803u
#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_READ_CHUNK (1u << 24) // largest single gzread

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

static int idx_open(const char *path, gzFile *out) {
    errno = 0;
    gzFile f = gzopen(path, "rb");
    if (!f) {
        vc_set_error("cannot open %s: %s", path, errno ? strerror(errno) : "out of memory");
        return VC_ERR_IO;
    }
    gzbuffer(f, 1u << 17);
    *out = f;
    return VC_OK;
}

/* After a short read: VC_OK when the stream simply ended, else the zlib error (a gzip file
 * cut short reports "unexpected end of file"). `at` = decompressed bytes read so far. */
static int idx_check_stream(gzFile f, const char *path, size_t at) {
    int errnum;
    const char *msg = gzerror(f, &errnum);
    if (errnum == Z_OK) return VC_OK;
    if (errnum == Z_ERRNO) vc_set_error("cannot read %s: %s", path, strerror(errno));
    else vc_set_error("%s: compressed data is truncated or corrupt after %zu decompressed bytes (zlib: %s)", path, at, msg);
    return errnum == Z_ERRNO ? VC_ERR_IO : VC_ERR_FORMAT;
}

/* Read up to n bytes; *got = bytes read (less only at the end of the stream). */
static int idx_read(gzFile f, const char *path, size_t at, uint8_t *buf, size_t n, size_t *got) {
    size_t have = 0;
    while (have < n) {
        unsigned want = (unsigned)VC_MIN(n - have, (size_t)IDX_READ_CHUNK);
        int r = gzread(f, buf + have, want);
        if (r <= 0) break;
        have += (size_t)r;
    }
    *got = have;
    return have < n ? idx_check_stream(f, path, at + have) : VC_OK;
}

static uint32_t read_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* Read and check the header: magic, then `ndims` big-endian dims. */
static int idx_read_header(gzFile f, const char *path, uint32_t want_magic, int ndims, uint32_t *dims) {
    uint8_t buf[16];
    size_t len = 4 + 4 * (size_t)ndims, got;
    int rc = idx_read(f, path, 0, buf, len, &got);
    if (rc) return rc;
    if (got < 4) {
        vc_set_error("truncated IDX header in %s: %zu of %zu bytes", path, got, len);
        return VC_ERR_FORMAT;
    }
    uint32_t magic = read_be32(buf);
    if (magic != want_magic) {
        const char *want = want_magic == IDX_MAGIC_IMAGES ? "IDX images, uint8, 3 dims" : "IDX labels, uint8, 1 dim";
        const char *hint = "";
        if (want_magic == IDX_MAGIC_IMAGES && magic == IDX_MAGIC_LABELS) hint = "; this is a labels file, not an images file";
        else if (want_magic == IDX_MAGIC_LABELS && magic == IDX_MAGIC_IMAGES) hint = "; this is an images file, not a labels file";
        else if ((magic >> 16) == 0 && ((magic >> 8) & 0xff) != 0x08) hint = "; only uint8 IDX data (type 0x08) is supported";
        else if ((magic >> 16) != 0) hint = "; not an IDX file";
        vc_set_error("wrong magic in %s: expected 0x%08X (%s), found 0x%08X%s", path, (unsigned)want_magic, want,
                     (unsigned)magic, hint);
        return VC_ERR_FORMAT;
    }
    if (got < len) {
        vc_set_error("truncated IDX header in %s: %zu of %zu bytes", path, got, len);
        return VC_ERR_FORMAT;
    }
    for (int i = 0; i < ndims; i++) dims[i] = read_be32(buf + 4 + 4 * i);
    return VC_OK;
}

/* Read the data after the header: keep the first `keep` bytes, growing the buffer only as
 * data arrives (a header claiming gigabytes costs nothing unless the bytes are there),
 * then count the rest. *found = all data bytes after the header. */
static int idx_read_payload(gzFile f, const char *path, size_t header_len, size_t keep, uint8_t **data, size_t *found) {
    uint8_t *buf = NULL;
    size_t cap = 0, have = 0;
    while (have < keep) {
        if (have == cap) {
            cap = cap ? VC_MIN(2 * cap, keep) : VC_MIN(keep, (size_t)1 << 20);
            buf = vc_realloc(buf, cap);
        }
        size_t want = cap - have, got;
        int rc = idx_read(f, path, header_len + have, buf + have, want, &got);
        if (rc) {
            free(buf);
            return rc;
        }
        have += got;
        if (got < want) break; // end of stream
    }
    size_t total = have;
    if (have == keep) { // count what follows (the rest of a subset, or trailing bytes)
        uint8_t scratch[1 << 16];
        size_t got;
        do {
            int rc = idx_read(f, path, header_len + total, scratch, sizeof scratch, &got);
            if (rc) {
                free(buf);
                return rc;
            }
            total += got;
        } while (got == sizeof scratch);
    }
    *data = buf;
    *found = total;
    return VC_OK;
}

/* Images file -> pixels (kept images only), n (all images in the file), rows, cols. */
static int idx_read_images(const char *path, int subset, uint8_t **pixels, uint32_t *n_out, uint32_t *rows_out,
                           uint32_t *cols_out, int *kept_out) {
    gzFile f;
    int rc = idx_open(path, &f);
    if (rc) return rc;
    uint32_t dims[3];
    rc = idx_read_header(f, path, IDX_MAGIC_IMAGES, 3, dims);
    if (rc) goto done;
    uint32_t n = dims[0], rows = dims[1], cols = dims[2];
    size_t image, bytes;
    rc = VC_ERR_FORMAT;
    if (n == 0) {
        vc_set_error("%s holds no images (its header says 0 images)", path);
        goto done;
    }
    if (rows == 0 || cols == 0) {
        vc_set_error("%s: header says images of %ux%u pixels; rows and columns must be at least 1", path, (unsigned)rows,
                     (unsigned)cols);
        goto done;
    }
    if (n > INT_MAX || rows > INT_MAX || cols > INT_MAX || !vc_mul_size(rows, cols, &image) ||
        !vc_mul_size(image, n, &bytes)) {
        vc_set_error("%s: header says %u images of %ux%u, a size that cannot be addressed; the header is corrupt", path,
                     (unsigned)n, (unsigned)rows, (unsigned)cols);
        goto done;
    }
    int kept = subset > 0 && (uint32_t)subset < n ? subset : (int)n;
    uint8_t *data;
    size_t found;
    rc = idx_read_payload(f, path, 16, (size_t)kept * image, &data, &found);
    if (rc) goto done;
    if (found != bytes) {
        vc_set_error("%s: header says %u images of %ux%u (%zu bytes) but the file holds %zu bytes of pixels", path,
                     (unsigned)n, (unsigned)rows, (unsigned)cols, bytes, found);
        free(data);
        rc = VC_ERR_FORMAT;
        goto done;
    }
    *pixels = data, *n_out = n, *rows_out = rows, *cols_out = cols, *kept_out = kept;
done:
    gzclose(f);
    return rc;
}

/* Labels file -> all labels (the caller keeps the first rows); the count must equal n. */
static int idx_read_labels(const char *path, const char *images_path, uint32_t n, uint8_t **labels) {
    gzFile f;
    int rc = idx_open(path, &f);
    if (rc) return rc;
    uint32_t count;
    rc = idx_read_header(f, path, IDX_MAGIC_LABELS, 1, &count);
    if (rc) goto done;
    if (count != n) {
        vc_set_error("labels count mismatch: %s has %u images but %s has %u labels", images_path, (unsigned)n, path,
                     (unsigned)count);
        rc = VC_ERR_FORMAT;
        goto done;
    }
    uint8_t *data;
    size_t found;
    rc = idx_read_payload(f, path, 8, count, &data, &found);
    if (rc) goto done;
    if (found != count) {
        vc_set_error("%s: header says %u labels (%u bytes) but the file holds %zu bytes of labels", path, (unsigned)count,
                     (unsigned)count, found);
        free(data);
        rc = VC_ERR_FORMAT;
        goto done;
    }
    *labels = data;
done:
    gzclose(f);
    return rc;
}

/* 1 if `s` contains `needle` ignoring case; `needle` must be letters only. */
static int contains_ci(const char *s, const char *needle) {
    size_t n = strlen(needle);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && (s[i] | 0x20) == (needle[i] | 0x20)) i++;
        if (i == n) return 1;
    }
    return 0;
}

int vc_idx_load_files(const char *images_path, const char *labels_path, const VcDataOptions *opt, VcDataset *out) {
    static const VcDataOptions defaults = {0};
    if (!opt) opt = &defaults;
    int rc = vc_data_options_check(opt);
    if (rc) return rc;
    uint8_t *pixels, *raw_labels = NULL;
    uint32_t n, rows, cols;
    int kept;
    rc = idx_read_images(images_path, opt->subset, &pixels, &n, &rows, &cols, &kept);
    if (rc) return rc;
    if (labels_path && (rc = idx_read_labels(labels_path, images_path, n, &raw_labels))) {
        free(pixels);
        return rc;
    }
    VcDataset d = {0};
    d.pixels = pixels;
    d.n = kept, d.c = 1, d.h = (int)rows, d.w = (int)cols;
    if (raw_labels) {
        int max_label = 0;
        for (uint32_t i = 0; i < n; i++) max_label = VC_MAX(max_label, (int)raw_labels[i]);
        d.labels = vc_malloc((size_t)kept * sizeof *d.labels);
        for (int i = 0; i < kept; i++) d.labels[i] = raw_labels[i];
        free(raw_labels);
        d.num_classes = max_label + 1;
        if (d.num_classes <= 10 && contains_ci(images_path, "fashion")) {
            d.num_classes = 10;
            d.class_names = vc_malloc(10 * sizeof *d.class_names);
            for (int i = 0; i < 10; i++) d.class_names[i] = vc_strdup(fashion_names[i]);
        }
    }
    vc_data_set_source(&d, images_path);
    if ((rc = vc_data_convert(&d, opt))) {
        vc_dataset_free(&d);
        return rc;
    }
    *out = d;
    return VC_OK;
}

/* `path` with the last `from` in its file name replaced by `to` (same length), and `from2`
 * by `to2` when given; NULL when the name has no `from`. */
static char *name_swap(const char *path, const char *from, const char *to, const char *from2, const char *to2) {
    size_t n = strlen(from);
    VC_ASSERT(strlen(to) == n && (!from2 || strlen(from2) == strlen(to2)));
    char *s = vc_strdup(path);
    char *base = strrchr(s, '/');
    base = base ? base + 1 : s;
    char *hit = NULL;
    for (char *p = strstr(base, from); p; p = strstr(p + 1, from)) hit = p;
    if (!hit) {
        free(s);
        return NULL;
    }
    memcpy(hit, to, n);
    if (from2) {
        char *hit2 = NULL;
        for (char *p = strstr(base, from2); p; p = strstr(p + 1, from2)) hit2 = p;
        if (hit2) memcpy(hit2, to2, strlen(to2));
    }
    return s;
}

/* The other file of an IDX pair, if it exists: images <-> labels, idx3 <-> idx1. */
static char *idx_find_pair(const char *path, int want_labels) {
    const char *a = want_labels ? "images" : "labels", *b = want_labels ? "labels" : "images";
    const char *a2 = want_labels ? "idx3" : "idx1", *b2 = want_labels ? "idx1" : "idx3";
    char *both = name_swap(path, a, b, a2, b2);
    if (both && vc_data_is_file(both)) return both;
    free(both);
    char *one = name_swap(path, a, b, NULL, NULL);
    if (one && vc_data_is_file(one)) return one;
    free(one);
    return NULL;
}

static void idx_warn_unlabeled(const char *images) {
    vc_data_warn("no labels file found for %s (looked for its name with 'images' -> 'labels'); loaded it unlabeled",
                 images);
}

int vc_idx_load_file(const char *path, const VcDataOptions *opt, VcDataset *out) {
    gzFile f;
    int rc = idx_open(path, &f);
    if (rc) return rc;
    uint8_t b[4];
    size_t got;
    rc = idx_read(f, path, 0, b, 4, &got);
    gzclose(f);
    if (rc) return rc;
    if (got == 4 && read_be32(b) == IDX_MAGIC_LABELS) { // given the labels file: load its images
        char *images = idx_find_pair(path, 0);
        if (!images) {
            vc_set_error("%s is an IDX labels file and no images file was found next to it "
                         "(looked for its name with 'labels' -> 'images'); pass the images file",
                         path);
            return VC_ERR_IO;
        }
        rc = vc_idx_load_files(images, path, opt, out);
        free(images);
        return rc;
    }
    char *labels = idx_find_pair(path, 1);
    rc = vc_idx_load_files(path, labels, opt, out);
    if (rc == VC_OK && !labels) idx_warn_unlabeled(path);
    free(labels);
    return rc;
}

static int has_prefix(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

int vc_idx_load_dir(const char *dir, VcSplit split, const VcDataOptions *opt, VcDataset *out) {
    char **names;
    int count;
    int rc = vc_data_list_dir(dir, &names, &count);
    if (rc) return rc;
    const char *first = split == VC_SPLIT_TRAIN ? "train" : "t10k", *second = split == VC_SPLIT_TRAIN ? NULL : "test";
    const char *images_name = NULL;
    for (int i = 0; i < count && !images_name; i++) {
        const char *s = names[i];
        if ((has_prefix(s, first) || (second && has_prefix(s, second))) && strstr(s, "images") && strstr(s, "idx3"))
            images_name = s;
    }
    if (!images_name) {
        vc_set_error("%s has no IDX images file for the %s split (looked for a name starting with '%s'%s%s%s "
                     "containing 'images' and 'idx3', e.g. %s-images-idx3-ubyte.gz)",
                     dir, split == VC_SPLIT_TRAIN ? "train" : "test", first, second ? " or '" : "", second ? second : "",
                     second ? "'" : "", first);
        vc_data_free_names(names, count);
        return VC_ERR_IO;
    }
    char *images = vc_data_path_join(dir, images_name);
    vc_data_free_names(names, count);
    char *labels = idx_find_pair(images, 1);
    rc = vc_idx_load_files(images, labels, opt, out);
    if (rc == VC_OK) {
        if (!labels) idx_warn_unlabeled(images);
        vc_data_set_source(out, dir);
    }
    free(images);
    free(labels);
    return rc;
}
