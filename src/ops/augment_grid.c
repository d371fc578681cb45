/* augment_grid.c — a PNG contact sheet of augmented views, so a user can see the recipe.
 *
 * Views come back from the GPU normalized; this undoes (x - mean) / std, scales to 0..255
 * and tiles the images with 2-pixel white gaps. The PNG is encoded by stb_image_write
 * (Debian's libstb carries the implementation) into a temporary file next to the target,
 * fsynced and renamed over it, so a crash never leaves a half-written grid.
 */
#include <errno.h>
#include <math.h>
#include <stb/stb_image_write.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "ops/augment.h"

#define GAP 2

typedef struct {
    FILE *f;
    bool failed;
} PngSink;

static void sink_write(void *ctx, void *data, int size) {
    PngSink *s = ctx;
    if (!s->failed && fwrite(data, 1, (size_t)size, s->f) != (size_t)size) s->failed = true;
}

int vc_augment_write_grid(const char *png_path, const float *views, int rows, int cols, int C, int S, const float *mean,
                          const float *std) {
    if (rows < 1 || cols < 1 || S < 1 || (C != 1 && C != 3)) {
        vc_set_error("cannot write PNG grid %s: bad layout (%d x %d images, %d channels, size %d)", png_path, rows, cols, C, S);
        return VC_ERR_ARG;
    }
    size_t width = (size_t)cols * (S + GAP) + GAP, height = (size_t)rows * (S + GAP) + GAP, bytes;
    if (!vc_mul_size(width * height, (size_t)C, &bytes) || width > 65535 || height > 65535 || bytes > (size_t)1 << 30) {
        vc_set_error("cannot write PNG grid %s: %zu x %zu pixels is too large", png_path, width, height);
        return VC_ERR_ARG;
    }
    uint8_t *img = vc_malloc(bytes);
    memset(img, 255, bytes);
    size_t view_len = (size_t)C * S * S;
    for (int r = 0; r < rows; r++)
        for (int col = 0; col < cols; col++) {
            const float *v = views + ((size_t)r * cols + col) * view_len;
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++)
                    for (int c = 0; c < C; c++) {
                        float f = (v[((size_t)c * S + y) * S + x] * std[c] + mean[c]) * 255.0f;
                        f = isfinite(f) ? fminf(fmaxf(f, 0.0f), 255.0f) : 0.0f;
                        size_t py = (size_t)r * (S + GAP) + GAP + y, px = (size_t)col * (S + GAP) + GAP + x;
                        img[(py * width + px) * C + c] = (uint8_t)lrintf(f);
                    }
        }

    size_t tlen = strlen(png_path) + 32;
    char *tmp = vc_malloc(tlen);
    snprintf(tmp, tlen, "%s.tmp.%ld", png_path, (long)getpid());
    int status = VC_OK;
    PngSink sink = {fopen(tmp, "wb"), false};
    if (!sink.f) {
        vc_set_error("cannot write PNG grid %s: %s", png_path, strerror(errno));
        status = VC_ERR_IO;
    } else {
        errno = 0;
        int ok = stbi_write_png_to_func(sink_write, &sink, (int)width, (int)height, C, img, (int)(width * C));
        int err = 0;
        if (!ok || sink.failed || fflush(sink.f) != 0 || fsync(fileno(sink.f)) != 0) err = errno ? errno : EIO;
        if (fclose(sink.f) != 0 && !err) err = errno ? errno : EIO;
        if (!err && rename(tmp, png_path) != 0) err = errno;
        if (err || !ok) {
            vc_set_error("cannot write PNG grid %s: %s", png_path, !ok ? "PNG encoding failed" : strerror(err));
            unlink(tmp);
            status = VC_ERR_IO;
        }
    }
    free(tmp);
    free(img);
    return status;
}
