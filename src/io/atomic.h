/* atomic.h — write a file whole or not at all: temp file, fsync, rename over the path. */
#ifndef VC_IO_ATOMIC_H
#define VC_IO_ATOMIC_H

#include <stddef.h>

/* Write the n byte ranges parts[i] (sizes[i] bytes) in order to `path` atomically.
 * VC_OK, or VC_ERR_IO with "cannot write PATH: reason" set; the old file stays intact. */
int vc_write_atomic(const char *path, const void *const *parts, const size_t *sizes, int n);

#endif
