/* trace.h — a profile run as a Chrome trace-event JSON file (opens in Perfetto and
 * chrome://tracing).
 *
 * The file is the "JSON Object Format": {"traceEvents": [...], "displayTimeUnit": "ms",
 * "otherData": {...}}. Every span is a complete event (ph "X") with name, cat, ts and dur
 * in microseconds, pid 1 and one tid per track; "M" metadata events name the process and
 * the tracks:
 *   tid 1  GPU dispatches   cat "dispatch": one event per dispatch; args: step, index,
 *                           layer, shape (the op's operand shapes, e.g. "x 256x32x28x28
 *                           w 64x32x3x3 s2 p1 -> 256x64x14x14"), workgroups [x, y, z],
 *                           flops, bytes
 *   tid 2  GPU layer passes cat "layer": contiguous dispatches of one layer group
 *   tid 3  CPU              cat "cpu": recording the step, each submit and wait
 * Times are seconds of vc_now() on the host. GPU timestamps have no common clock with
 * the host here, so each step's dispatches keep their exact times relative to each other
 * (timestampPeriod, masked to timestampValidBits) and the step is placed to end when the
 * host's wait for it returned (but not before its submit began).
 */
#ifndef VC_IO_TRACE_H
#define VC_IO_TRACE_H

#include "vk/vk.h"

typedef struct VcTrace VcTrace;

VcTrace *vc_trace_new(void);
void vc_trace_free(VcTrace *t);
/* A CPU span from t0 to t1 (vc_now() seconds); step < 0 when not tied to a step. */
void vc_trace_cpu(VcTrace *t, const char *name, double t0, double t1, long step);
/* One completed step's dispatch timings, placed as described above. */
void vc_trace_gpu_step(VcTrace *t, const VcTiming *tm, int n, long step, double submit_begin, double wait_end);
/* Write the file atomically; device names the process. VC_OK or VC_ERR_IO (message set). */
int vc_trace_write(const VcTrace *t, const char *path, const char *device);

#endif
