/* test_npy.c — .npy files as `vkcontrast embed` writes them: magic, version 1.0, header dict
 * padded to 64 bytes ending in '\n', raw little-endian data; numpy reads them back when
 * Debian's python3-numpy is installed; a write into a missing folder fails cleanly. */
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "io/npy.h"

int main(void) {
    char dir[] = "/tmp/vc_npy_XXXXXX";
    VC_ASSERT(mkdtemp(dir));
    char fpath[64], ipath[64];
    snprintf(fpath, sizeof fpath, "%s/x.npy", dir);
    snprintf(ipath, sizeof ipath, "%s/y.npy", dir);
    float x[6] = {1.5f, -2, 3, 4, 5, 6.25f};
    int32_t y[3] = {7, -1, 9};
    CHECK(vc_npy_write_f32(fpath, x, 2, 3) == VC_OK, "write f32");
    CHECK(vc_npy_write_i32(ipath, y, 3) == VC_OK, "write i32");
    size_t len = 0;
    char *b = th_read_file(fpath, &len);
    VC_ASSERT(b);
    size_t hlen = (unsigned char)b[8] | (size_t)(unsigned char)b[9] << 8;
    CHECK(!memcmp(b, "\x93NUMPY\x01\x00", 8), "magic and version 1.0");
    CHECK((10 + hlen) % 64 == 0 && b[10 + hlen - 1] == '\n', "header padded to 64 bytes, ends in newline");
    CHECK(strstr(b + 10, "'descr': '<f4'") && strstr(b + 10, "'shape': (2, 3)") && strstr(b + 10, "'fortran_order': False"),
          "header dict");
    CHECK(len == 10 + hlen + sizeof x && !memcmp(b + 10 + hlen, x, sizeof x), "data follows the header");
    free(b);
    char bad[96];
    snprintf(bad, sizeof bad, "%s/missing/x.npy", dir);
    CHECK(vc_npy_write_f32(bad, x, 2, 3) == VC_ERR_IO && strstr(vc_last_error(), bad), "missing folder: %s", vc_last_error());
    if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0) {
        char cmd[400];
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 -c \"import numpy as n; a=n.load('%s'); b=n.load('%s'); "
                 "assert a.shape==(2,3) and a.dtype==n.float32 and a[1,2]==6.25; assert b.dtype==n.int32 and list(b)==[7,-1,9]\"",
                 fpath, ipath);
        CHECK(system(cmd) == 0, "numpy loads both files with the right shapes, dtypes and values");
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return th_finish();
}
