/* embed.h — representations of a whole dataset: the encoder in eval mode (BatchNorm with
 * running statistics), no head, rows l2-normalized or raw, in dataset order. */
#ifndef VC_EVAL_EMBED_H
#define VC_EVAL_EMBED_H

#include "nn/model.h"
#include "ops/augment.h"

/* out (n, repr_dim) = representations of the n images (C, H, W) uint8 in `data` (packed as
 * vc_augment_data_bytes), resized to the model's input and normalized with mean/std.
 * `net` is any net of the model (its batch is the chunk size). normalize: l2 rows. */
int vc_embed_images(VcNet *net, VcBuffer data, int n, int C, int H, int W, const float *mean, const float *std, bool normalize,
                    VcBuffer out);

#endif
