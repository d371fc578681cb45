/* safetensors.h — read and write checkpoints in the safetensors format.
 *
 * The format (https://github.com/huggingface/safetensors), which PyTorch, numpy and JAX
 * users can open without us:
 *
 *     u64 little-endian N | N bytes of JSON header | data section
 *
 *     {"__metadata__": {"method": "simclr", "epoch": "3", ...},          strings only
 *      "stem.conv.weight": {"dtype": "F32", "shape": [32, 1, 3, 3],
 *                           "data_offsets": [0, 1152]}, ...}
 *
 * data_offsets are [begin, end) byte offsets into the data section, data is little-endian
 * and row-major. The writer pads the header with spaces to a multiple of 8 (so the data
 * section starts 8-aligned) and lays tensors out back to back in the order they were added,
 * with no gaps, as the reference implementation requires.
 *
 * Writer: collect tensors (copied at add time) and metadata, then save. Names and metadata
 * should be UTF-8 (other bytes are written as U+FFFD, see json.h). Saving writes
 * `<path>.tmp.<pid>`, fsyncs it, renames it over <path> and fsyncs the directory, so a
 * crash or a full disk leaves either the old file or the new one, never a mix; on failure
 * the temporary file is removed and the message names the path:
 *     cannot write checkpoint run/checkpoint.safetensors: No space left on device
 *
 * Reader: loads the whole file and validates everything before returning: header length
 * within the file, JSON, every entry's dtype, shape and offsets (in range, size matching,
 * no arithmetic overflow), unique names, string metadata. Tensor data pointers are aligned
 * to the element size (a misaligned tensor is copied), so `(const float *)t->data` is safe.
 *
 *     VcSafetensors *st = vc_st_open("run/checkpoint.safetensors");
 *     if (!st) { fprintf(stderr, "%s\n", vc_last_error()); return 1; }
 *     const int64_t shape[4] = {32, 1, 3, 3};
 *     const float *w = vc_st_get_f32(st, "stem.conv.weight", shape, 4);  // checks dtype+shape
 *     const char *method = vc_st_meta(st, "method");
 *     vc_st_close(st);
 */
#ifndef VC_IO_SAFETENSORS_H
#define VC_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

/* Most dimensions a tensor may have (the format has no limit; ours needs 4). */
#define VC_ST_MAX_DIMS 8

/* Element types of the format; the names in the header are given by vc_st_dtype_name. */
typedef enum {
    VC_ST_BOOL,
    VC_ST_U8,
    VC_ST_I8,
    VC_ST_U16,
    VC_ST_I16,
    VC_ST_F16,
    VC_ST_BF16,
    VC_ST_U32,
    VC_ST_I32,
    VC_ST_F32,
    VC_ST_U64,
    VC_ST_I64,
    VC_ST_F64,
    VC_ST_F8_E4M3,
    VC_ST_F8_E5M2,
    VC_ST_DTYPE_COUNT
} VcStDtype;

/* "F32", "I32", ...; and the size of one element in bytes. */
const char *vc_st_dtype_name(VcStDtype dt);
size_t vc_st_dtype_size(VcStDtype dt);

/* ---------------------------------------------------------------------------------------
 * Writer
 */
typedef struct VcSafetensorsWriter VcSafetensorsWriter;

VcSafetensorsWriter *vc_st_writer_new(void);
void vc_st_writer_free(VcSafetensorsWriter *w);

/* Add a tensor (data copied now; shape has ndim entries, ndim 0 is a scalar). Fails with
 * VC_ERR_ARG, adding nothing, on a duplicate or empty name, "__metadata__", a negative
 * dimension, ndim outside [0, VC_ST_MAX_DIMS], or a size that overflows. */
int vc_st_add(VcSafetensorsWriter *w, const char *name, VcStDtype dt, const int64_t *shape, int ndim, const void *data);
int vc_st_add_f32(VcSafetensorsWriter *w, const char *name, const int64_t *shape, int ndim, const float *data);
int vc_st_add_i32(VcSafetensorsWriter *w, const char *name, const int64_t *shape, int ndim, const int32_t *data);
int vc_st_add_i64(VcSafetensorsWriter *w, const char *name, const int64_t *shape, int ndim, const int64_t *data);
int vc_st_add_u8(VcSafetensorsWriter *w, const char *name, const int64_t *shape, int ndim, const uint8_t *data);

/* Set (or replace) one __metadata__ entry; both strings are copied. */
int vc_st_set_meta(VcSafetensorsWriter *w, const char *key, const char *value);

/* Write everything to path atomically (see above). VC_OK, or VC_ERR_IO with the reason in
 * vc_last_error(); the writer stays usable either way (a retry may succeed). */
int vc_st_writer_save(const VcSafetensorsWriter *w, const char *path);

/* ---------------------------------------------------------------------------------------
 * Reader
 */
typedef struct VcSafetensors VcSafetensors;

typedef struct VcStTensor {
    const char *name;
    VcStDtype dtype;
    int ndim;
    int64_t shape[VC_ST_MAX_DIMS];
    size_t numel;     /* product of the shape (1 for a scalar) */
    size_t nbytes;    /* numel * element size == end - begin of its data_offsets */
    const void *data; /* aligned to the element size; valid until vc_st_close */
} VcStTensor;

/* Load and validate a file. NULL on failure, with a message naming the file (and the
 * tensor, when one is at fault) in vc_last_error(). */
VcSafetensors *vc_st_open(const char *path);
void vc_st_close(VcSafetensors *st);

/* Tensor by name, or NULL (with "no tensor 'x' in <file>" in vc_last_error()). */
const VcStTensor *vc_st_get(const VcSafetensors *st, const char *name);
/* Tensor data by name, checked to be F32 with exactly this shape; NULL with a message
 * ("... expected F32 (32,1,3,3), found F32 (32,3,3,3)") otherwise. */
const float *vc_st_get_f32(const VcSafetensors *st, const char *name, const int64_t *shape, int ndim);

/* Tensors in header order: index 0 .. count-1. */
size_t vc_st_count(const VcSafetensors *st);
const VcStTensor *vc_st_at(const VcSafetensors *st, size_t i);

/* __metadata__ value for key, or NULL. And iteration over all entries in header order. */
const char *vc_st_meta(const VcSafetensors *st, const char *key);
size_t vc_st_meta_count(const VcSafetensors *st);
void vc_st_meta_at(const VcSafetensors *st, size_t i, const char **key, const char **value);

#endif
