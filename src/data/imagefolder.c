/* imagefolder.c — a folder of image files, labeled by class subfolder or flat.
 *
 * Layout: `root/<class>/<file>` gives label = index of <class> among the sorted class
 * folders; a root with no subfolders is one flat, unlabeled set. When `root/train` or
 * `root/test` exists, the split's folder is the root. Names sort by strcmp (byte order),
 * rows go by class, then file name, and hidden (dot) entries are ignored; class folders are
 * not searched recursively. In a labeled root, files lying next to the class folders are
 * ignored (with a warning when they look like images).
 *
 * Every file of the chosen folders must be a .png .jpg .jpeg .bmp or .tga (any case) that
 * stb_image decodes; anything else fails the load, naming the file and stb_image's reason,
 * unless on_bad_file_skip asks to warn and go on. Decoding goes through RGB (stb_image
 * drops an alpha channel; it is not composited), then BT.601 luma when the output is gray,
 * then the resampler in dataset.c to the output size: image_size square, or by default the
 * first image's width x height. Default channels: 1 when every loaded image is stored as
 * grayscale (with or without alpha), else 3; until that is known images are kept as RGB
 * and collapsed at the end, so a gray folder briefly costs 3x its final size.
 *
 * stb_image's implementation is not compiled here: Debian's libstb (pkg-config `stb`)
 * already contains it (and stb_image_write's).
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <limits.h>
#include <stb/stb_image.h>
#include <string.h>

#include "dataset.h"
#include "util.h"

static const char *const image_exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga"};
#define IMAGE_EXTS_TEXT ".png .jpg .jpeg .bmp .tga"
#define IMAGE_MAX_SIDE 16384        /* pixels a side and pixels in all: a header claiming more */
#define IMAGE_MAX_PIXELS (1 << 26)   /* is damage, not a photo (stb_image decodes a cut file with zeros) */

static int is_image_name(const char *name) {
    for (size_t i = 0; i < VC_COUNTOF(image_exts); i++)
        if (vc_data_ends_with_ci(name, image_exts[i])) return 1;
    return 0;
}

typedef struct ImageEntry {
    char *path;
    int label; // -1 when unlabeled
} ImageEntry;

typedef struct ImageList {
    ImageEntry *items;
    int count, cap;
    char **classes; // sorted class folder names, or NULL when flat
    int num_classes;
} ImageList;

static void list_push(ImageList *l, char *path, int label) {
    if (l->count == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->items = vc_realloc(l->items, (size_t)l->cap * sizeof *l->items);
    }
    l->items[l->count++] = (ImageEntry){path, label};
}

static void list_free(ImageList *l) {
    for (int i = 0; i < l->count; i++) free(l->items[i].path);
    free(l->items);
    if (l->classes) vc_data_free_names(l->classes, l->num_classes);
    memset(l, 0, sizeof *l);
}

/* Every regular file of `dir` (sorted), appended with `label`. */
static int list_add_files(ImageList *l, const char *dir, int label) {
    char **names;
    int count;
    int rc = vc_data_list_dir(dir, &names, &count);
    if (rc) return rc;
    for (int i = 0; i < count; i++) {
        char *path = vc_data_path_join(dir, names[i]);
        if (vc_data_is_file(path)) list_push(l, path, label);
        else free(path);
    }
    vc_data_free_names(names, count);
    return VC_OK;
}

/* The files to load under `root`, in row order, with the class names. */
static int list_scan(const char *root, ImageList *out) {
    char **names;
    int count;
    int rc = vc_data_list_dir(root, &names, &count);
    if (rc) return rc;
    ImageList l = {0};
    int stray_images = 0;
    for (int i = 0; i < count; i++) { // class folders, in sorted order
        char *path = vc_data_path_join(root, names[i]);
        if (vc_data_is_dir(path)) {
            l.classes = vc_realloc(l.classes, (size_t)(l.num_classes + 1) * sizeof *l.classes);
            l.classes[l.num_classes++] = vc_strdup(names[i]);
        } else {
            stray_images += is_image_name(names[i]);
        }
        free(path);
    }
    if (l.num_classes > 0) {
        if (stray_images)
            vc_data_warn("ignoring %d image file%s directly in %s: it has class folders, so only files inside them are "
                         "loaded",
                         stray_images, stray_images > 1 ? "s" : "", root);
        for (int c = 0; c < l.num_classes && rc == VC_OK; c++) {
            char *dir = vc_data_path_join(root, l.classes[c]);
            rc = list_add_files(&l, dir, c);
            free(dir);
        }
    } else {
        rc = list_add_files(&l, root, -1);
    }
    vc_data_free_names(names, count);
    if (rc) {
        list_free(&l);
        return rc;
    }
    *out = l;
    return VC_OK;
}

/* The folder to load: root/train or root/test when the root is split, else root. */
static int folder_pick_split(const char *root, VcSplit split, char **out) {
    char *train = vc_data_path_join(root, "train"), *test = vc_data_path_join(root, "test");
    int has_train = vc_data_is_dir(train), has_test = vc_data_is_dir(test);
    int rc = VC_OK;
    if (!has_train && !has_test) {
        *out = vc_strdup(root);
    } else if (split == VC_SPLIT_TRAIN ? has_train : has_test) {
        *out = vc_strdup(split == VC_SPLIT_TRAIN ? train : test);
    } else {
        vc_set_error("%s has a %s/ folder but no %s/ folder for the %s split", root, has_train ? "train" : "test",
                     split == VC_SPLIT_TRAIN ? "train" : "test", split == VC_SPLIT_TRAIN ? "train" : "test");
        rc = VC_ERR_IO;
    }
    free(train);
    free(test);
    return rc;
}

/* Decoded RGB (h, w, 3) -> `channels` planes resized into dst (channels, dst_h, dst_w). */
static void image_store(const uint8_t *rgb, int w, int h, int colour, int channels, int dst_w, int dst_h,
                        uint8_t *planar, uint8_t *dst) {
    size_t plane = (size_t)w * (size_t)h, dst_plane = (size_t)dst_w * (size_t)dst_h;
    if (channels == 1) {
        for (size_t p = 0; p < plane; p++)
            planar[p] = colour ? vc_pixel_luma(rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2]) : rgb[3 * p];
    } else {
        for (size_t p = 0; p < plane; p++)
            for (int ch = 0; ch < 3; ch++) planar[(size_t)ch * plane + p] = rgb[3 * p + (size_t)ch];
    }
    VcResizer r;
    vc_resizer_init(&r, w, h, dst_w, dst_h);
    for (int ch = 0; ch < channels; ch++) vc_resizer_run(&r, planar + (size_t)ch * plane, dst + (size_t)ch * dst_plane);
    vc_resizer_free(&r);
}

int vc_imagefolder_load(const char *dir, VcSplit split, const VcDataOptions *opt, VcDataset *out) {
    static const VcDataOptions defaults = {0};
    if (!opt) opt = &defaults;
    int rc = vc_data_options_check(opt);
    if (rc) return rc;
    char *root;
    if ((rc = folder_pick_split(dir, split, &root))) return rc;
    ImageList list;
    if ((rc = list_scan(root, &list))) {
        free(root);
        return rc;
    }
    if (list.count == 0) {
        vc_set_error("no images in %s (looked for " IMAGE_EXTS_TEXT " files in %s/<class>/ folders or directly in it)",
                     root, root);
        list_free(&list);
        free(root);
        return VC_ERR_IO;
    }

    int want = opt->subset > 0 ? VC_MIN(opt->subset, list.count) : list.count;
    int store_c = opt->channels ? opt->channels : 3; // default: RGB until every image proved gray
    int dst_w = opt->image_size, dst_h = opt->image_size;
    size_t dst_plane = 0, dst_image = 0;
    uint8_t *pixels = NULL, *planar = NULL;
    size_t planar_cap = 0;
    int32_t *labels = NULL;
    int n = 0, skipped = 0, any_colour = 0;
    rc = VC_OK;
    for (int i = 0; i < list.count && n < want; i++) {
        const char *path = list.items[i].path;
        uint8_t *rgb = NULL;
        int w = 0, h = 0, comp = 0;
        if (!is_image_name(path)) {
            vc_set_error("%s is not an image file (vkcontrast reads " IMAGE_EXTS_TEXT ")", path);
        } else if (stbi_info(path, &w, &h, &comp) &&
                   (w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE || (int64_t)w * h > IMAGE_MAX_PIXELS)) {
            vc_set_error("image %s claims %dx%d pixels; vkcontrast reads images up to %d pixels a side and %d in all",
                         path, w, h, IMAGE_MAX_SIDE, IMAGE_MAX_PIXELS);
        } else if (!(rgb = stbi_load(path, &w, &h, &comp, 3))) {
            vc_set_error("cannot decode image %s: %s", path, stbi_failure_reason());
        } else if (w <= 0 || h <= 0) { /* stb_image returns a damaged TGA with no pixels */
            vc_set_error("cannot decode image %s: it has %dx%d pixels", path, w, h);
            stbi_image_free(rgb);
            rgb = NULL;
        }
        if (!rgb) {
            if (!opt->on_bad_file_skip) {
                rc = VC_ERR_FORMAT;
                break;
            }
            vc_data_warn("%s; skipping it", vc_last_error());
            skipped++;
            continue;
        }
        if (!pixels) { // first image: fixes the output size
            if (!dst_w) dst_w = w, dst_h = h;
            size_t total;
            if (!vc_mul_size((size_t)dst_w, (size_t)dst_h, &dst_plane) ||
                !vc_mul_size(dst_plane, (size_t)store_c, &dst_image) || !vc_mul_size(dst_image, (size_t)want, &total)) {
                vc_set_error("%s: %d images of %dx%d do not fit in memory", root, want, dst_w, dst_h);
                stbi_image_free(rgb);
                rc = VC_ERR_OOM;
                break;
            }
            pixels = vc_malloc(total);
            if (list.classes) labels = vc_malloc((size_t)want * sizeof *labels);
        }
        size_t planar_need = (size_t)w * (size_t)h * (size_t)store_c; // stb_image allocated 3x this: fits
        if (planar_need > planar_cap) {
            free(planar);
            planar = vc_malloc(planar_need);
            planar_cap = planar_need;
        }
        int colour = comp >= 3;
        any_colour |= colour;
        image_store(rgb, w, h, colour, store_c, dst_w, dst_h, planar, pixels + (size_t)n * dst_image);
        stbi_image_free(rgb);
        if (labels) labels[n] = list.items[i].label;
        n++;
    }
    free(planar);
    if (rc == VC_OK && n == 0) {
        vc_set_error("no image in %s could be read (%d file%s skipped)", root, skipped, skipped == 1 ? "" : "s");
        rc = VC_ERR_FORMAT;
    }
    if (rc) {
        free(pixels);
        free(labels);
        list_free(&list);
        free(root);
        return rc;
    }

    if (!opt->channels && !any_colour) { // every image was gray: keep one plane per image
        for (int i = 0; i < n; i++) memmove(pixels + (size_t)i * dst_plane, pixels + (size_t)i * dst_image, dst_plane);
        store_c = 1;
        dst_image = dst_plane;
    }
    if (n < want || store_c == 1) pixels = vc_realloc(pixels, (size_t)n * dst_image);
    if (labels && n < want) labels = vc_realloc(labels, (size_t)n * sizeof *labels);
    VcDataset d = {0};
    d.pixels = pixels;
    d.labels = labels;
    d.n = n, d.c = store_c, d.h = dst_h, d.w = dst_w;
    if (list.classes) {
        d.num_classes = list.num_classes;
        d.class_names = list.classes;
        list.classes = NULL;
        list.num_classes = 0;
    }
    vc_data_set_source(&d, dir);
    list_free(&list);
    free(root);
    *out = d;
    return VC_OK;
}
