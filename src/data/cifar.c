/* cifar.c — the CIFAR-10 and CIFAR-100 "binary version" files.
 *
 * A file is a plain run of fixed-size records: label byte(s), then 3072 pixel bytes that
 * are already planar (1024 R, 1024 G, 1024 B of a 32x32 image), i.e. exactly one NCHW
 * image. CIFAR-10 records carry 1 label byte (3073 bytes); CIFAR-100 records carry the
 * coarse then the fine label (3074 bytes) and we keep the fine one. There is no header, so
 * the checks are the file size (a whole number of records) and the label ranges; both
 * report the file and what was expected vs found.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset.h"
#include "util.h"

#define CIFAR_SIDE 32
#define CIFAR_PIXELS (3 * CIFAR_SIDE * CIFAR_SIDE)
#define CIFAR_READ_RECORDS 256 // records per fread

typedef struct CifarKind {
    const char *name;       // "CIFAR-10"
    int label_bytes;        // 1, or 2 (coarse, fine)
    int num_classes;        // of the label we keep
    int num_coarse;         // CIFAR-100 coarse classes, for the range check
    const char *names_file; // class names, one per line, next to the data
} CifarKind;

static const CifarKind cifar10 = {"CIFAR-10", 1, 10, 0, "batches.meta.txt"};
static const CifarKind cifar100 = {"CIFAR-100", 2, 100, 20, "fine_label_names.txt"};

static size_t cifar_record_size(const CifarKind *k) { return (size_t)k->label_bytes + CIFAR_PIXELS; }

/* Number of records in `path`, checking that its size is a whole number of them. */
static int cifar_count_records(const CifarKind *k, const char *path, size_t *records) {
    struct stat st;
    if (stat(path, &st) != 0) {
        vc_set_error("cannot open %s: %s", path, strerror(errno));
        return VC_ERR_IO;
    }
    if (!S_ISREG(st.st_mode)) {
        vc_set_error("%s is not a regular file", path);
        return VC_ERR_IO;
    }
    size_t size = (size_t)st.st_size, rec = cifar_record_size(k);
    if (size == 0) {
        vc_set_error("%s holds no %s records (the file is empty)", path, k->name);
        return VC_ERR_FORMAT;
    }
    if (size % rec != 0) {
        const CifarKind *other = k == &cifar10 ? &cifar100 : &cifar10;
        size_t other_rec = cifar_record_size(other);
        char hint[128] = "";
        if (size % other_rec == 0)
            snprintf(hint, sizeof hint, "; its size fits %s records (%zu bytes), is it named right?", other->name, other_rec);
        vc_set_error("%s: %zu bytes is not a whole number of %s records (%zu bytes each: %d label byte%s + %d pixels); "
                     "%zu records and %zu bytes left over%s",
                     path, size, k->name, rec, k->label_bytes, k->label_bytes > 1 ? "s" : "", CIFAR_PIXELS, size / rec,
                     size % rec, hint);
        return VC_ERR_FORMAT;
    }
    *records = size / rec;
    return VC_OK;
}

/* Read the first `count` records of `path` into pixels/labels. */
static int cifar_read_records(const CifarKind *k, const char *path, size_t count, uint8_t *pixels, int32_t *labels) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        vc_set_error("cannot open %s: %s", path, strerror(errno));
        return VC_ERR_IO;
    }
    size_t rec = cifar_record_size(k);
    uint8_t *buf = vc_malloc(CIFAR_READ_RECORDS * rec);
    int rc = VC_OK;
    for (size_t done = 0; done < count && rc == VC_OK;) {
        size_t batch = VC_MIN(count - done, (size_t)CIFAR_READ_RECORDS);
        size_t got = fread(buf, 1, batch * rec, f);
        if (got != batch * rec) {
            vc_set_error("%s: short read at byte offset %zu: %zu of %zu bytes (%s)", path, done * rec, got, batch * rec,
                         ferror(f) ? strerror(errno) : "the file shrank while being read");
            rc = VC_ERR_IO;
            break;
        }
        for (size_t i = 0; i < batch; i++) {
            const uint8_t *r = buf + i * rec;
            size_t index = done + i;
            if (k->num_coarse && r[0] >= k->num_coarse) {
                vc_set_error("%s: record %zu (byte offset %zu) has coarse label %u; %s coarse labels are 0..%d", path, index,
                             index * rec, r[0], k->name, k->num_coarse - 1);
                rc = VC_ERR_FORMAT;
                break;
            }
            uint8_t label = r[k->label_bytes - 1];
            if (label >= k->num_classes) {
                vc_set_error("%s: record %zu (byte offset %zu) has label %u; %s labels are 0..%d", path, index,
                             index * rec + (size_t)(k->label_bytes - 1), label, k->name, k->num_classes - 1);
                rc = VC_ERR_FORMAT;
                break;
            }
            labels[index] = label;
            memcpy(pixels + index * CIFAR_PIXELS, r + k->label_bytes, CIFAR_PIXELS);
        }
        done += batch;
    }
    free(buf);
    fclose(f);
    return rc;
}

/* Class names from `dir/<names_file>` when it is there and has one line per class. */
static char **cifar_read_names(const CifarKind *k, const char *dir) {
    char *path = vc_data_path_join(dir, k->names_file);
    char **names = NULL, **lines;
    int count;
    if (vc_data_is_file(path)) {
        if (vc_data_read_lines(path, &lines, &count) != VC_OK) {
            vc_data_warn("%s; continuing without class names", vc_last_error());
        } else if (count != k->num_classes) {
            vc_data_warn("%s has %d names but %s has %d classes; continuing without class names", path, count, k->name,
                         k->num_classes);
            vc_data_free_names(lines, count);
        } else {
            names = lines;
        }
    }
    free(path);
    return names;
}

/* Load the records of `paths` in order (keeping the first opt->subset), names from meta_dir. */
static int cifar_load_paths(const CifarKind *k, char *const *paths, int npaths, const char *meta_dir,
                            const char *source, const VcDataOptions *opt, VcDataset *out) {
    static const VcDataOptions defaults = {0};
    if (!opt) opt = &defaults;
    int rc = vc_data_options_check(opt);
    if (rc) return rc;
    size_t total = 0, records[8];
    VC_ASSERT(npaths >= 1 && npaths <= (int)VC_COUNTOF(records));
    for (int i = 0; i < npaths; i++) {
        if ((rc = cifar_count_records(k, paths[i], &records[i]))) return rc;
        total += records[i]; // bounded by file sizes: cannot overflow
    }
    size_t kept = opt->subset > 0 ? VC_MIN(total, (size_t)opt->subset) : total;
    if (kept > INT_MAX) {
        vc_set_error("%s: %zu records are more than vkcontrast can hold (%d)", paths[0], kept, INT_MAX);
        return VC_ERR_FORMAT;
    }
    VcDataset d = {0};
    d.pixels = vc_malloc(kept * CIFAR_PIXELS); // kept * 3073 bytes exist on disk: no overflow
    d.labels = vc_malloc(kept * sizeof *d.labels);
    d.n = (int)kept, d.c = 3, d.h = CIFAR_SIDE, d.w = CIFAR_SIDE;
    d.num_classes = k->num_classes;
    size_t at = 0;
    for (int i = 0; i < npaths && at < kept; i++) {
        size_t take = VC_MIN(records[i], kept - at);
        rc = cifar_read_records(k, paths[i], take, d.pixels + at * CIFAR_PIXELS, d.labels + at);
        if (rc) {
            vc_dataset_free(&d);
            return rc;
        }
        at += take;
    }
    d.class_names = cifar_read_names(k, meta_dir);
    vc_data_set_source(&d, source);
    if ((rc = vc_data_convert(&d, opt))) {
        vc_dataset_free(&d);
        return rc;
    }
    *out = d;
    return VC_OK;
}

static const char *base_name(const char *path) {
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

int vc_cifar_load_file(const char *path, const VcDataOptions *opt, VcDataset *out) {
    const char *base = base_name(path);
    const CifarKind *k = strcmp(base, "train.bin") == 0 || strcmp(base, "test.bin") == 0 ? &cifar100 : &cifar10;
    char *dir = base == path ? vc_strdup(".") : vc_strdup(path);
    if (base != path) dir[base - path] = '\0';
    char *paths[1] = {(char *)path};
    int rc = cifar_load_paths(k, paths, 1, dir, path, opt, out);
    free(dir);
    return rc;
}

int vc_cifar_load_dir(const char *dir, VcSplit split, const VcDataOptions *opt, VcDataset *out) {
    char *probe10a = vc_data_path_join(dir, "data_batch_1.bin"), *probe10b = vc_data_path_join(dir, "test_batch.bin");
    char *probe100a = vc_data_path_join(dir, "train.bin"), *probe100b = vc_data_path_join(dir, "test.bin");
    int is10 = vc_data_is_file(probe10a) || vc_data_is_file(probe10b);
    int is100 = !is10 && (vc_data_is_file(probe100a) || vc_data_is_file(probe100b));
    free(probe10a), free(probe10b), free(probe100a), free(probe100b);
    if (!is10 && !is100) {
        vc_set_error("%s is not a CIFAR folder (no data_batch_1.bin / test_batch.bin for CIFAR-10, "
                     "no train.bin / test.bin for CIFAR-100)",
                     dir);
        return VC_ERR_IO;
    }
    char *paths[5];
    int npaths = 0, rc;
    if (is100) {
        paths[npaths++] = vc_data_path_join(dir, split == VC_SPLIT_TRAIN ? "train.bin" : "test.bin");
        rc = cifar_load_paths(&cifar100, paths, npaths, dir, dir, opt, out);
    } else if (split == VC_SPLIT_TEST) {
        paths[npaths++] = vc_data_path_join(dir, "test_batch.bin");
        rc = cifar_load_paths(&cifar10, paths, npaths, dir, dir, opt, out);
    } else {
        for (int b = 1; b <= 5; b++) {
            char name[32];
            snprintf(name, sizeof name, "data_batch_%d.bin", b);
            char *p = vc_data_path_join(dir, name);
            if (vc_data_is_file(p)) paths[npaths++] = p;
            else free(p);
        }
        if (npaths == 0) {
            vc_set_error("%s has no CIFAR-10 training batches (data_batch_1.bin .. data_batch_5.bin)", dir);
            return VC_ERR_IO;
        }
        rc = cifar_load_paths(&cifar10, paths, npaths, dir, dir, opt, out);
        if (rc == VC_OK && npaths < 5) vc_data_warn("%s holds %d of the 5 CIFAR-10 training batches; loaded those", dir, npaths);
    }
    for (int i = 0; i < npaths; i++) free(paths[i]);
    return rc;
}
