/* npy.c — write .npy (magic, version 1.0, header dict padded to 64 bytes, raw data). */
#include "io/npy.h"

#include "io/atomic.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

static int write_npy(const char *path, const char *descr, const char *shape, const void *data, size_t bytes) {
    char header[256];
    int len = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    /* magic (6) + version (2) + header length (2) + header, padded with spaces to 64, ends in \n */
    int total = 10 + len + 1;
    int pad = (64 - total % 64) % 64;
    memset(header + len, ' ', (size_t)pad);
    header[len + pad] = '\n';
    uint16_t hlen = (uint16_t)(len + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff), (unsigned char)(hlen >> 8)};
    const void *parts[3] = {pre, header, data};
    size_t sizes[3] = {sizeof pre, hlen, bytes};
    return vc_write_atomic(path, parts, sizes, 3);
}

int vc_npy_write_f32(const char *path, const float *data, size_t rows, size_t cols) {
    char shape[64];
    snprintf(shape, sizeof shape, "(%zu, %zu)", rows, cols);
    return write_npy(path, "<f4", shape, data, rows * cols * sizeof(float));
}

int vc_npy_write_i32(const char *path, const int32_t *data, size_t n) {
    char shape[64];
    snprintf(shape, sizeof shape, "(%zu,)", n);
    return write_npy(path, "<i4", shape, data, n * sizeof(int32_t));
}
