/* dataset.c — format detection for vc_dataset_load(), and what the loaders share.
 *
 * Detection looks at the path only as much as it must: a file is IDX when its first four
 * (decompressed) bytes are an IDX magic, CIFAR when it ends in `.bin`; a folder is IDX when
 * it holds a `*idx3-ubyte*` file, CIFAR when it holds `data_batch_1.bin` / `train.bin`
 * (directly or in the archive's `cifar-10-batches-bin` / `cifar-100-binary` folder), and an
 * image folder otherwise. Each loader reads its format at native size; vc_data_convert()
 * then applies the channel and size options the same way for every format, with the
 * separable resampler below (image folders call it per image to keep memory low).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "dataset.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "util.h"

/* ---- small helpers ---- */

char *vc_data_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *s = vc_malloc(a + (size_t)slash + b + 1);
    memcpy(s, dir, a);
    if (slash) s[a] = '/';
    memcpy(s + a + (size_t)slash, name, b + 1);
    return s;
}

int vc_data_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int vc_data_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int vc_data_list_dir(const char *dir, char ***names, int *count) {
    DIR *d = opendir(dir);
    if (!d) {
        vc_set_error("cannot open %s: %s", dir, strerror(errno));
        return VC_ERR_IO;
    }
    char **list = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue; // ".", ".." and hidden files (.DS_Store, ...)
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            list = vc_realloc(list, (size_t)cap * sizeof *list);
        }
        list[n++] = vc_strdup(e->d_name);
    }
    closedir(d);
    if (n > 1) qsort(list, (size_t)n, sizeof *list, compare_names);
    *names = list;
    *count = n;
    return VC_OK;
}

void vc_data_free_names(char **names, int count) {
    for (int i = 0; i < count; i++) free(names[i]);
    free(names);
}

int vc_data_read_lines(const char *path, char ***lines, int *count) {
    FILE *f = fopen(path, "r");
    if (!f) {
        vc_set_error("cannot open %s: %s", path, strerror(errno));
        return VC_ERR_IO;
    }
    char **list = NULL;
    int n = 0, cap = 0;
    char *buf = NULL;
    size_t bufcap = 0;
    ssize_t len;
    while ((len = getline(&buf, &bufcap, f)) >= 0) {
        char *s = buf, *end = buf + len;
        while (s < end && (*s == ' ' || *s == '\t')) s++;
        while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) end--;
        if (end == s) continue;
        *end = '\0';
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            list = vc_realloc(list, (size_t)cap * sizeof *list);
        }
        list[n++] = vc_strdup(s);
    }
    int failed = ferror(f);
    free(buf);
    fclose(f);
    if (failed) {
        vc_data_free_names(list, n);
        vc_set_error("cannot read %s: %s", path, strerror(errno));
        return VC_ERR_IO;
    }
    *lines = list;
    *count = n;
    return VC_OK;
}

void vc_data_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("vkcontrast: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static int ascii_lower(int ch) { return ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch; }

int vc_data_ends_with_ci(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    if (b > a) return 0;
    s += a - b;
    for (size_t i = 0; i < b; i++)
        if (ascii_lower((unsigned char)s[i]) != ascii_lower((unsigned char)suffix[i])) return 0;
    return 1;
}

void vc_data_set_source(VcDataset *d, const char *path) { snprintf(d->source, sizeof d->source, "%s", path); }

/* Largest side accepted for image_size (and a sanity bound for decoded images). */
#define VC_DATA_MAX_SIDE 16384

int vc_data_options_check(const VcDataOptions *opt) {
    if (opt->image_size < 0 || opt->image_size > VC_DATA_MAX_SIDE) {
        vc_set_error("image size %d is out of range (0 = native, else 1..%d)", opt->image_size, VC_DATA_MAX_SIDE);
        return VC_ERR_ARG;
    }
    if (opt->channels != 0 && opt->channels != 1 && opt->channels != 3) {
        vc_set_error("channels must be 0 (native), 1 (gray) or 3 (RGB), not %d", opt->channels);
        return VC_ERR_ARG;
    }
    if (opt->subset < 0) {
        vc_set_error("subset must be 0 (all) or a positive count, not %d", opt->subset);
        return VC_ERR_ARG;
    }
    return VC_OK;
}

void vc_dataset_free(VcDataset *d) {
    if (!d) return;
    free(d->pixels);
    free(d->labels);
    if (d->class_names) vc_data_free_names(d->class_names, d->num_classes);
    memset(d, 0, sizeof *d);
}

/* ---- resampling ---- */

/* Taps of one axis: for each output index, the first source index, the tap count and the
 * weights (summing to 1). Returns the taps stored per output. */
static int axis_taps_build(int src, int dst, int **first_out, int **count_out, float **weight_out) {
    int taps = dst < src ? (int)ceil((double)src / dst) + 1 : 2;
    int *first = vc_malloc((size_t)dst * sizeof *first);
    int *count = vc_malloc((size_t)dst * sizeof *count);
    float *weight = vc_calloc((size_t)dst * (size_t)taps, sizeof *weight);
    for (int i = 0; i < dst; i++) {
        float *w = weight + (size_t)i * (size_t)taps;
        if (dst == src) {
            first[i] = i, count[i] = 1, w[0] = 1.0f;
        } else if (dst < src) { // area: output i averages source interval [lo, hi)
            double scale = (double)src / dst, lo = i * scale, hi = (i + 1) * scale;
            int j0 = (int)floor(lo), j1 = VC_MIN((int)ceil(hi), src);
            first[i] = j0, count[i] = j1 - j0;
            VC_ASSERT(count[i] >= 1 && count[i] <= taps);
            for (int j = j0; j < j1; j++) w[j - j0] = (float)((VC_MIN(hi, j + 1.0) - VC_MAX(lo, (double)j)) / scale);
        } else { // bilinear with half-pixel centres, clamped at the edges
            double x = (i + 0.5) * src / dst - 0.5;
            x = VC_MAX(0.0, VC_MIN(x, (double)(src - 1)));
            int j0 = (int)floor(x);
            double f = x - j0;
            first[i] = j0;
            if (j0 + 1 < src && f > 0) count[i] = 2, w[0] = (float)(1.0 - f), w[1] = (float)f;
            else count[i] = 1, w[0] = 1.0f;
        }
    }
    *first_out = first, *count_out = count, *weight_out = weight;
    return taps;
}

void vc_resizer_init(VcResizer *r, int src_w, int src_h, int dst_w, int dst_h) {
    VC_ASSERT(src_w > 0 && src_h > 0 && dst_w > 0 && dst_h > 0);
    memset(r, 0, sizeof *r);
    r->src_w = src_w, r->src_h = src_h, r->dst_w = dst_w, r->dst_h = dst_h;
    r->x_taps = axis_taps_build(src_w, dst_w, &r->x_first, &r->x_count, &r->x_weight);
    r->y_taps = axis_taps_build(src_h, dst_h, &r->y_first, &r->y_count, &r->y_weight);
    // rows: horizontal pass (src_h, dst_w), then one accumulator row (dst_w)
    r->rows = vc_malloc(((size_t)src_h + 1) * (size_t)dst_w * sizeof *r->rows);
}

void vc_resizer_run(const VcResizer *r, const uint8_t *src, uint8_t *dst) {
    int sw = r->src_w, sh = r->src_h, dw = r->dst_w, dh = r->dst_h;
    if (sw == dw && sh == dh) {
        memcpy(dst, src, (size_t)sw * (size_t)sh);
        return;
    }
    float *rows = r->rows, *acc = r->rows + (size_t)sh * (size_t)dw;
    for (int y = 0; y < sh; y++) {
        const uint8_t *s = src + (size_t)y * (size_t)sw;
        float *o = rows + (size_t)y * (size_t)dw;
        for (int x = 0; x < dw; x++) {
            const float *w = r->x_weight + (size_t)x * (size_t)r->x_taps;
            const uint8_t *t = s + r->x_first[x];
            float v = 0.0f;
            for (int k = 0; k < r->x_count[x]; k++) v += w[k] * (float)t[k];
            o[x] = v;
        }
    }
    for (int y = 0; y < dh; y++) {
        const float *w = r->y_weight + (size_t)y * (size_t)r->y_taps;
        memset(acc, 0, (size_t)dw * sizeof *acc);
        for (int k = 0; k < r->y_count[y]; k++) {
            const float *row = rows + (size_t)(r->y_first[y] + k) * (size_t)dw;
            for (int x = 0; x < dw; x++) acc[x] += w[k] * row[x];
        }
        uint8_t *o = dst + (size_t)y * (size_t)dw;
        for (int x = 0; x < dw; x++) {
            float v = acc[x] + 0.5f;
            o[x] = (uint8_t)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)v);
        }
    }
}

void vc_resizer_free(VcResizer *r) {
    free(r->x_first), free(r->x_count), free(r->x_weight);
    free(r->y_first), free(r->y_count), free(r->y_weight);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

int vc_data_convert(VcDataset *d, const VcDataOptions *opt) {
    int c = opt->channels ? opt->channels : d->c;
    int h = opt->image_size ? opt->image_size : d->h;
    int w = opt->image_size ? opt->image_size : d->w;
    if (c == d->c && h == d->h && w == d->w) return VC_OK;
    VC_ASSERT((d->c == 1 || d->c == 3) && (c == 1 || c == 3));
    size_t plane, image, total;
    if (!vc_mul_size((size_t)h, (size_t)w, &plane) || !vc_mul_size(plane, (size_t)c, &image) ||
        !vc_mul_size(image, (size_t)d->n, &total)) {
        vc_set_error("%s: %d images of %dx%dx%d do not fit in memory", d->source, d->n, c, h, w);
        return VC_ERR_OOM;
    }
    size_t src_plane = (size_t)d->h * (size_t)d->w, src_image = src_plane * (size_t)d->c;
    uint8_t *pixels = vc_malloc(total);
    uint8_t *gray = (d->c == 3 && c == 1) ? vc_malloc(src_plane) : NULL;
    VcResizer r;
    vc_resizer_init(&r, d->w, d->h, w, h);
    for (int i = 0; i < d->n; i++) {
        const uint8_t *src = d->pixels + (size_t)i * src_image;
        uint8_t *dst = pixels + (size_t)i * image;
        if (gray) {
            for (size_t p = 0; p < src_plane; p++)
                gray[p] = vc_pixel_luma(src[p], src[src_plane + p], src[2 * src_plane + p]);
            vc_resizer_run(&r, gray, dst);
        } else {
            for (int ch = 0; ch < c; ch++) vc_resizer_run(&r, src + (d->c == 1 ? 0 : (size_t)ch * src_plane), dst + (size_t)ch * plane);
        }
    }
    vc_resizer_free(&r);
    free(gray);
    free(d->pixels);
    d->pixels = pixels;
    d->c = c, d->h = h, d->w = w;
    return VC_OK;
}

/* ---- detection ---- */

/* First four bytes of a (possibly gzip-compressed) file; 0 if it has fewer. */
static int file_peek_magic(const char *path, uint32_t *magic) {
    gzFile f = gzopen(path, "rb");
    if (!f) return 0;
    unsigned char b[4];
    int got = gzread(f, b, 4);
    gzclose(f);
    if (got != 4) return 0;
    *magic = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    return 1;
}

/* IDX magic: two zero bytes, a type byte (0x08 uint8 .. 0x0E float64), a dims byte. */
static int magic_is_idx(uint32_t m) {
    unsigned type = (m >> 8) & 0xff, dims = m & 0xff;
    return (m >> 16) == 0 && (type == 0x08 || type == 0x09 || (type >= 0x0B && type <= 0x0E)) && dims >= 1 && dims <= 4;
}

static int load_file(const char *path, VcSplit split, const VcDataOptions *opt, VcDataset *out) {
    (void)split; // a single file is the whole dataset
    uint32_t magic;
    if (file_peek_magic(path, &magic) && magic_is_idx(magic)) return vc_idx_load_file(path, opt, out);
    if (vc_data_ends_with_ci(path, ".bin")) return vc_cifar_load_file(path, opt, out);
    vc_set_error("%s: not a dataset file vkcontrast knows (IDX images, gzip or raw; CIFAR .bin); "
                 "for images pass their folder",
                 path);
    return VC_ERR_FORMAT;
}

static int load_dir(const char *path, VcSplit split, const VcDataOptions *opt, VcDataset *out) {
    char **names;
    int count;
    int rc = vc_data_list_dir(path, &names, &count);
    if (rc) return rc;
    int idx = 0;
    for (int i = 0; i < count && !idx; i++) idx = strstr(names[i], "idx3-ubyte") != NULL;
    vc_data_free_names(names, count);
    if (idx) return vc_idx_load_dir(path, split, opt, out);

    // the CIFAR folder itself, or the folder the archive was unpacked into
    static const char *const cifar_dirs[] = {".", "cifar-10-batches-bin", "cifar-100-binary"};
    static const char *const cifar_marks[] = {"data_batch_1.bin", "test_batch.bin", "train.bin"};
    for (size_t i = 0; i < VC_COUNTOF(cifar_dirs); i++) {
        char *dir = i == 0 ? vc_strdup(path) : vc_data_path_join(path, cifar_dirs[i]);
        int found = 0;
        for (size_t k = 0; k < VC_COUNTOF(cifar_marks) && !found; k++) {
            char *mark = vc_data_path_join(dir, cifar_marks[k]);
            found = vc_data_is_file(mark);
            free(mark);
        }
        if (found) {
            rc = vc_cifar_load_dir(dir, split, opt, out);
            free(dir);
            return rc;
        }
        free(dir);
    }
    return vc_imagefolder_load(path, split, opt, out);
}

int vc_dataset_load(const char *path, VcSplit split, const VcDataOptions *opt, VcDataset *out) {
    static const VcDataOptions defaults = {0};
    if (!opt) opt = &defaults;
    if (!path || !*path) {
        vc_set_error("no dataset path given");
        return VC_ERR_ARG;
    }
    if (split != VC_SPLIT_TRAIN && split != VC_SPLIT_TEST) {
        vc_set_error("unknown split %d (expected train or test)", (int)split);
        return VC_ERR_ARG;
    }
    int rc = vc_data_options_check(opt);
    if (rc) return rc;
    struct stat st;
    if (stat(path, &st) != 0) {
        vc_set_error("cannot open %s: %s", path, strerror(errno));
        return VC_ERR_IO;
    }
    if (S_ISDIR(st.st_mode)) return load_dir(path, split, opt, out);
    if (!S_ISREG(st.st_mode)) {
        vc_set_error("%s is neither a regular file nor a folder", path);
        return VC_ERR_IO;
    }
    return load_file(path, split, opt, out);
}
