/* atomic.c — see atomic.h. The temp file sits beside the target (same file system, so the
 * rename is atomic) and is removed on any failure. */
#include "io/atomic.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int vc_write_atomic(const char *path, const void *const *parts, const size_t *sizes, int n) {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    bool ok = f != NULL;
    for (int i = 0; ok && i < n; i++) ok = fwrite(parts[i], 1, sizes[i], f) == sizes[i];
    if (f) {
        ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
        ok = (fclose(f) == 0) && ok;
    }
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok) {
        vc_set_error("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return VC_ERR_IO;
    }
    return VC_OK;
}
