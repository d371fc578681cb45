/* fill.c — x[i] = value, as a transfer (vkCmdFillBuffer writes the value's bit pattern).
 * On lavapipe this runs at memset speed (~57 GB/s measured by `bench peak`) where a
 * one-float-per-invocation shader managed 0.3 GB/s; zeroing gradients is 9% of a step
 * otherwise. */
#include "ops/fill.h"

#include <string.h>

void vc_fill(VcCmd *cmd, VcBuffer x, size_t n, float value) {
    VC_ASSERT(n * sizeof(float) <= x.size);
    uint32_t word;
    memcpy(&word, &value, sizeof word);
    if (!n) return;
    vc_cmd_op_begin(cmd, "n %zu", n);
    vc_cmd_fill(cmd, x, n * sizeof(float), word);
    vc_cmd_op_end(cmd);
}
