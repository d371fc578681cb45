/* dataset.h — load an image dataset from disk into one host array, ready to upload.
 *
 * Every format ends in the same plain struct: uint8 pixels in NCHW order (planar per
 * channel), int32 labels, and class names when the format has them. The dataset is small
 * enough for host memory by design (MNIST 47 MB, CIFAR 150 MB); the GPU side uploads it
 * once and augments on the device.
 *
 * Formats, detected by vc_dataset_load() from the path:
 *   IDX      (MNIST, Fashion-MNIST): a folder holding `*idx3-ubyte*`, or one images file;
 *            gzip or raw; labels from the matching `*labels*idx1-ubyte*` file.
 *   CIFAR    CIFAR-10 (`data_batch_1..5.bin`, `test_batch.bin`) and CIFAR-100 (`train.bin`,
 *            `test.bin`, fine labels) binary versions; a folder or one `.bin` file.
 *   images   `root/<class>/<file>` of .png .jpg .jpeg .bmp .tga files (labels from the sorted
 *            class folders) or a flat folder of them (unlabeled); `root/train` and
 *            `root/test` as splits (a root without them is the whole dataset for either).
 * Rows are in file order for IDX and CIFAR, and by sorted class name, then sorted file name
 * (byte order, strcmp) for image folders.
 *
 * Options apply to every format: `channels` converts (gray -> RGB repeats the plane; RGB ->
 * gray uses BT.601 luma, (299 R + 587 G + 114 B) / 1000 rounded) and `image_size` resizes
 * to image_size x image_size (area average when shrinking, bilinear with half-pixel centres
 * when enlarging, separately per axis; aspect ratio is not kept).
 *
 * Errors follow util.h: a negative status, the reason in vc_last_error() naming the file
 * and what was expected vs found, and `*out` untouched.
 *
 *   VcDataset ds;
 *   VcDataOptions opt = {0};
 *   if (vc_dataset_load("/usr/share/datasets/fashion-mnist", VC_SPLIT_TRAIN, &opt, &ds))
 *       fprintf(stderr, "vkcontrast: %s\n", vc_last_error());
 *   ... ds.pixels[((i * ds.c + ch) * ds.h + y) * ds.w + x] ...
 *   vc_dataset_free(&ds);
 */
#ifndef VC_DATA_DATASET_H
#define VC_DATA_DATASET_H

#include <stdint.h>

// n = images, c = channels (1 or 3), h/w = rows/columns
typedef struct VcDataset {
    uint8_t *pixels;    // (n, c, h, w) uint8, NCHW, planar per channel
    int32_t *labels;    // (n) or NULL when unlabeled
    int n, c, h, w;
    int num_classes;    // 0 when unlabeled
    char **class_names; // num_classes entries or NULL
    char source[512];   // path it came from (truncated if longer)
} VcDataset;

typedef struct VcDataOptions {
    int image_size;       // 0 = native (image folders: the first image's width x height)
    int channels;         // 0 = native (image folders: 1 if every image is stored gray, else 3); 1 or 3
    int on_bad_file_skip; // image folders: 0 = fail on an unreadable file, 1 = warn and skip it
    int subset;           // 0 = all; else keep the first N rows (after ordering)
} VcDataOptions;

typedef enum { VC_SPLIT_TRAIN, VC_SPLIT_TEST } VcSplit;

/* Detect the format of `path` (a folder or a file) and load the split. `opt` may be NULL
 * (all defaults). A single file is the whole dataset, whatever the split. Returns VC_OK or
 * a negative status (VC_ERR_IO, VC_ERR_FORMAT, VC_ERR_ARG) with `*out` untouched. */
int vc_dataset_load(const char *path, VcSplit split, const VcDataOptions *opt, VcDataset *out);
/* Free what a successful load allocated and zero the struct; safe on a zeroed struct. */
void vc_dataset_free(VcDataset *d);

/* ---- The loaders behind vc_dataset_load (same contract); callable directly. ---- */

/* One IDX file, images or labels; the other file of the pair is found by name (`images`
 * <-> `labels`, `idx3` <-> `idx1`). No labels file: unlabeled, with a warning. */
int vc_idx_load_file(const char *path, const VcDataOptions *opt, VcDataset *out);
/* IDX images file (+ labels file, or NULL for unlabeled); gzip or raw. */
int vc_idx_load_files(const char *images_path, const char *labels_path, const VcDataOptions *opt, VcDataset *out);
/* A folder of IDX files: train = names starting `train`, test = `t10k` or `test`. */
int vc_idx_load_dir(const char *dir, VcSplit split, const VcDataOptions *opt, VcDataset *out);
/* One CIFAR binary file: CIFAR-100 when named train.bin / test.bin, else CIFAR-10. */
int vc_cifar_load_file(const char *path, const VcDataOptions *opt, VcDataset *out);
/* A CIFAR-10 folder (data_batch_*.bin / test_batch.bin) or CIFAR-100 (train.bin / test.bin). */
int vc_cifar_load_dir(const char *dir, VcSplit split, const VcDataOptions *opt, VcDataset *out);
/* A folder of images, labeled by class subfolder or flat and unlabeled. */
int vc_imagefolder_load(const char *dir, VcSplit split, const VcDataOptions *opt, VcDataset *out);

/* ---- Shared by the loaders in src/data (dataset.c); not needed by other modules. ---- */

/* Separable resampler for one uint8 plane: area average along an axis that shrinks,
 * bilinear (half-pixel centres, edge clamped) along one that grows, copy when equal. */
typedef struct VcResizer {
    int src_w, src_h, dst_w, dst_h;
    int *x_first, *x_count; // per output column: first source column and tap count
    float *x_weight;        // (dst_w, x_taps)
    int x_taps;
    int *y_first, *y_count;
    float *y_weight; // (dst_h, y_taps)
    int y_taps;
    float *rows; // scratch (src_h, dst_w): horizontal pass
} VcResizer;
void vc_resizer_init(VcResizer *r, int src_w, int src_h, int dst_w, int dst_h);
void vc_resizer_run(const VcResizer *r, const uint8_t *src, uint8_t *dst); // src (src_h, src_w) -> dst (dst_h, dst_w)
void vc_resizer_free(VcResizer *r);

/* BT.601 luma of one RGB pixel, rounded. */
static inline uint8_t vc_pixel_luma(uint8_t r, uint8_t g, uint8_t b) {
    return (uint8_t)((299u * r + 587u * g + 114u * b + 500u) / 1000u);
}

/* Check option values; VC_ERR_ARG with a message when out of range. */
int vc_data_options_check(const VcDataOptions *opt);
/* Apply opt->channels and opt->image_size to a loaded dataset in place (no-op when they
 * match); on failure `d` is unchanged. */
int vc_data_convert(VcDataset *d, const VcDataOptions *opt);
/* Copy `path` into d->source (truncating). */
void vc_data_set_source(VcDataset *d, const char *path);

/* "dir/name", allocated. */
char *vc_data_path_join(const char *dir, const char *name);
/* 1 if path is an existing directory / regular file (symlinks followed), else 0. */
int vc_data_is_dir(const char *path);
int vc_data_is_file(const char *path);
/* Entry names of `dir` sorted by strcmp, without "." ".." and hidden (dot) names.
 * VC_ERR_IO with "cannot open DIR: reason" on failure. */
int vc_data_list_dir(const char *dir, char ***names, int *count);
void vc_data_free_names(char **names, int count);
/* The non-empty lines of a text file (trimmed), or VC_ERR_IO. */
int vc_data_read_lines(const char *path, char ***lines, int *count);
/* "vkcontrast: warning: ..." on stderr. */
void vc_data_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 1 if `s` ends with `suffix`, ignoring ASCII case. */
int vc_data_ends_with_ci(const char *s, const char *suffix);

#endif
