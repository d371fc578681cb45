/* golden_file.h — reader for the PyTorch golden files in tests/golden/ (written by
 * tools/gen_golden.py).
 *
 * A golden file is a flat list of named fp32 tensors: the inputs, weights, activations,
 * loss and gradients PyTorch computed for one training step, which a test compares with
 * what the C/Vulkan code computes from the same inputs. The whole file is read and
 * validated at load time; lookups are by name and return pointers into the loaded copy.
 *
 * Format, version 1 (every integer and float little-endian):
 *
 *     magic   4 bytes "VCGD"
 *     u32     version (1)
 *     u32     tensor count
 *     per tensor:
 *       u32   name length in bytes, then the name (no NUL)
 *       u32   ndim (0 .. VC_GOLDEN_MAX_DIMS), then u32 dims[ndim]
 *       f32   data[prod(dims)], row-major (PyTorch's contiguous layout)
 *
 * The tensor names of tests/golden/simclr_small_resnet.bin (see tools/gen_golden.py):
 * meta, hyper, input, w.<state_dict name>, h, z, loss, g.<parameter name>,
 * w1.<state_dict name>, losses, act.stem, act.blocks.{0,1,2}.
 *
 * Loading fails (NULL, reason in vc_last_error()) on a bad magic or version, a truncated
 * file, trailing bytes, an empty or duplicate name, or sizes that overflow; every size is
 * checked against the bytes left in the file before anything is allocated from it.
 */
#ifndef VC_TEST_GOLDEN_FILE_H
#define VC_TEST_GOLDEN_FILE_H

#include <stddef.h>
#include <stdint.h>

#define VC_GOLDEN_MAGIC "VCGD"
#define VC_GOLDEN_VERSION 1u
#define VC_GOLDEN_MAX_DIMS 8u

typedef struct VcGolden VcGolden;

/* Reads and validates a golden file. NULL on failure, with the reason in vc_last_error(). */
VcGolden *vc_golden_load(const char *path);
void vc_golden_free(VcGolden *g);

/* Number of tensors, and the name of tensor i (file order), for listing a file. */
size_t vc_golden_count(const VcGolden *g);
const char *vc_golden_name(const VcGolden *g, size_t i);

/* The data of tensor `name` and its element count (count may be NULL); NULL if missing. */
const float *vc_golden_get(const VcGolden *g, const char *name, size_t *count);

/* For tests: the data of `name`, which must hold exactly `count` floats; a missing or
 * mis-sized tensor prints a FAIL line and exits 1 (the test cannot go on without it). */
const float *vc_golden_need(const VcGolden *g, const char *name, size_t count);

/* The dims of tensor `name` and their number (ndim may be NULL); NULL if missing. */
const uint32_t *vc_golden_dims(const VcGolden *g, const char *name, uint32_t *ndim);

/* The data of `name` when its shape is exactly dims[0..ndim-1]; else NULL with the reason
 * ("w.stem.conv.weight: shape (32, 1, 3, 3), expected (32, 3, 3, 3)") in vc_last_error(). */
const float *vc_golden_get_shaped(const VcGolden *g, const char *name, uint32_t ndim, const uint32_t *dims);

#endif
