/* feed.h — a dataset's images as the GPU reads them: resident or streamed.
 *
 * Resident (the dataset fits): the uint8 images are uploaded once and the augmentation
 * reads image perm[first + b] directly.
 *
 * Streamed (it does not fit: larger than half the device-local heap, than the largest
 * allocation, or than the four storage ranges the augmentation can bind): a ring of
 * `ring` batch-sized slots in host-visible memory. A loader thread copies the images of
 * step k of the epoch (in permutation order) into slot k % ring ahead of time; the
 * recorded step reads them with VC_AUGMENT_GATHERED from slot_base, which the schedule
 * shader computes (VcSchedule.ring_steps), so the step is still recorded once. The RNG is
 * keyed by the dataset index either way, so both modes give bit-identical views.
 *
 * Step protocol for one epoch (the GPU idle on entry, as at an epoch boundary):
 *   vc_feed_begin_epoch(f, perm, steps);
 *   for k in 0..steps-1:
 *       vc_feed_wait_step(f, k);            // slot of step k filled
 *       submit step k;                      // returns when step k-3 has completed
 *       vc_feed_completed(f, k - 2);        // steps < k-2 are done: their slots are free
 * The loader never writes a slot whose step may still be in flight.
 */
#ifndef VC_DATA_FEED_H
#define VC_DATA_FEED_H

#include <stdbool.h>

#include "data/dataset.h"
#include "nn/model.h"
#include "vk/vk.h"

typedef enum { VC_FEED_AUTO, VC_FEED_RESIDENT, VC_FEED_STREAM } VcFeedMode;

typedef struct VcFeed VcFeed;

/* The feed of dataset `d` (kept by the caller for the feed's lifetime) for steps of
 * `batch` images. NULL with an error set (out of memory, thread creation). */
VcFeed *vc_feed_new(VcContext *ctx, const VcDataset *d, int batch, VcFeedMode mode, const char *what);
void vc_feed_free(VcFeed *f);

/* Whether `bytes` of images fit on the device (the AUTO rule). */
bool vc_feed_fits(const VcDeviceInfo *info, size_t bytes);

bool vc_feed_streaming(const VcFeed *f);
/* What the augmentation binds as `data`, and the images it holds (VcAugmentShape.n_data). */
VcBuffer vc_feed_data(const VcFeed *f);
int vc_feed_slots(const VcFeed *f);
/* Batches in the ring (VcSchedule.ring_steps); 0 when resident. */
int vc_feed_ring_steps(const VcFeed *f);
/* VcAugmentStep.flags for this feed (VC_AUGMENT_GATHERED when streaming). */
uint32_t vc_feed_augment_flags(const VcFeed *f);

/* Start an epoch with this order of dataset indices (copied). The GPU must not be
 * reading the ring (no step in flight). */
void vc_feed_begin_epoch(VcFeed *f, const int32_t *perm, int steps);
/* Block until step k's images are in their slot (no-op when resident). */
void vc_feed_wait_step(VcFeed *f, int k);
/* Steps of the epoch before k have completed on the GPU; their slots may be refilled. */
void vc_feed_completed(VcFeed *f, int k);

/* out (n, repr_dim) = representations of every image (vc_embed_images), in chunks
 * through the ring when streaming. The GPU must be idle. */
int vc_feed_embed(VcFeed *f, VcNet *net, const float *mean, const float *std, bool normalize, VcBuffer out);

/* For tests: force the ring size in batches (default 6); 0 restores the default. */
void vc_feed_set_ring_steps(int ring);

#endif
