/* moco.h — the MoCo step program (He et al. 2020, v1; Chen et al. 2020, v2), recorded once.
 *
 *   views (2N, C, S, S) = [view 1 of the N images; view 2]
 *   key encoder  <- m key + (1 - m) query         (EMA over the whole weight arena:
 *                                                  parameters and BN running statistics)
 *   q = normalize(query(view 1)), k = normalize(key(view 2))      (key: no gradient)
 *   logits = [q . k+, q . queue] / T ; loss = cross-entropy, positive at index 0
 *   backward through the query encoder, optimizer step; enqueue k into the ring of K keys
 *
 * Symmetric (--symmetric): both views go through both encoders, the loss is the mean of
 * the two directions (view 1 -> key of view 2 and back) and 2N keys are enqueued per step.
 *
 * Shuffle-BN on one device: the query encoder normalizes with per-group statistics over
 * runs of N/G consecutive samples; the key encoder with per-group statistics over every
 * G-th sample, i.e. the same contiguous groups after a fixed shuffle of the key batch
 * (VcBnGroups in ops/norm.h). A key thus never shares its BN statistics with the group of
 * its query, which is what the shuffle in MoCo prevents.
 *
 * The queue's write pointer is (step * keys per step) mod K, computed on the GPU from the
 * step counter; a checkpoint carries the key encoder (moco.key.<tensor name>), the queue
 * (moco.queue, K x D, row r = slot r) and the pointer (moco.queue_ptr) for an exact resume.
 */
#ifndef VC_METHODS_MOCO_H
#define VC_METHODS_MOCO_H

#include "methods/method.h"

typedef struct VcMoco VcMoco;

/* For tests: the pieces of the MoCo method behind a VcMethod made by vc_method_moco. */
VcModel *vc_moco_key_model(const VcMethod *me);
VcNet *vc_moco_query_net(const VcMethod *me);
/* The queue, (K + 1, D) with row 0 zero (ops/moco.h), and the normalized keys and queries
 * of the last step (R, D). */
VcBuffer vc_moco_queue(const VcMethod *me);
VcBuffer vc_moco_keys(const VcMethod *me);
VcBuffer vc_moco_queries(const VcMethod *me);

#endif
