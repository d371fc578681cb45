/* npy.h — NumPy .npy files (format 1.0) for embeddings and labels, written atomically. */
#ifndef VC_IO_NPY_H
#define VC_IO_NPY_H

#include <stddef.h>
#include <stdint.h>

/* rows x cols float32 ('<f4'), C order. */
int vc_npy_write_f32(const char *path, const float *data, size_t rows, size_t cols);
/* n int32 ('<i4'), 1-D. */
int vc_npy_write_i32(const char *path, const int32_t *data, size_t n);

#endif
