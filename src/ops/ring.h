/* ring.h — per-step values (the loss) into a ring of host-visible slots. */
#ifndef VC_OPS_RING_H
#define VC_OPS_RING_H

#include "vk/vk.h"

/* ring (slots, n)[step mod slots] = src (n), step = hyper[step_index] (a float count). */
void vc_ring_store(VcCmd *cmd, VcBuffer ring, int slots, VcBuffer src, size_t n, VcBuffer hyper, int step_index);

#endif
