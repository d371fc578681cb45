/* fill.h — buffer initialisation ops. */
#ifndef VC_OPS_FILL_H
#define VC_OPS_FILL_H

#include "vk/vk.h"

/* x[i] = value for i < n.   x: (n) */
void vc_fill(VcCmd *cmd, VcBuffer x, size_t n, float value);

#endif
