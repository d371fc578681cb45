/* metrics.c — JSON-lines appends for metrics.jsonl (see metrics.h).
 *
 * One open(O_APPEND) + one write() per line keeps lines whole; the file's size before the
 * write is remembered so that a line that cannot be finished (disk full, size limit) is
 * truncated away instead of leaving half a line that would break every later reader.
 */
/* POSIX 2008 for open flags, fsync and ftruncate when the build does not ask for more */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#include "io/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

void vc_metrics_begin(VcJsonWriter *w) {
    vc_json_writer_init(w, 0);
    vc_json_begin_object(w);
}

int vc_metrics_append_line(const char *path, const char *line, size_t len, int sync) {
    char *owned = NULL;
    if (len == 0 || line[len - 1] != '\n') {
        owned = vc_malloc(len + 1);
        memcpy(owned, line, len);
        owned[len++] = '\n';
        line = owned;
    }
    int rc = VC_ERR_IO;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        vc_set_error("cannot append to metrics file %s: %s", path, strerror(errno));
        goto done;
    }
    struct stat sb;
    off_t before = fstat(fd, &sb) == 0 ? sb.st_size : -1;
    /* one write() normally; should it come back short, finish or learn the real error */
    size_t written = 0;
    int err = 0;
    while (written < len) {
        ssize_t k = write(fd, line + written, len - written);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            err = k < 0 ? errno : ENOSPC;
            break;
        }
        written += (size_t)k;
    }
    if (written < len) {
        if (written > 0 && before >= 0) { /* drop the partial line (best effort) */
            int ignored = ftruncate(fd, before);
            (void)ignored;
        }
        vc_set_error("cannot append to metrics file %s: %s", path, strerror(err));
        close(fd);
        goto done;
    }
    if (sync && fsync(fd) != 0) {
        vc_set_error("cannot append to metrics file %s: %s", path, strerror(errno));
        close(fd);
        goto done;
    }
    if (close(fd) != 0) {
        vc_set_error("cannot append to metrics file %s: %s", path, strerror(errno));
        goto done;
    }
    rc = VC_OK;
done:
    free(owned);
    return rc;
}

int vc_metrics_append(const char *path, VcJsonWriter *w, int sync) {
    VC_ASSERT(w->indent == 0 && w->depth == 1); /* the object opened by vc_metrics_begin */
    vc_json_end_object(w);
    int rc = vc_metrics_append_line(path, w->buf, w->len, sync);
    vc_json_writer_free(w);
    return rc;
}
