/* metrics.h — append one JSON object per line to a run's metrics.jsonl.
 *
 * Each line is built in memory and appended with a single write() on a file opened with
 * O_APPEND, so a reader tailing the file (or a crash) sees whole lines only; if the disk
 * fills part-way, the partial line is cut off again. The object is built with the JSON
 * writer, one line, no indentation:
 *
 *     VcJsonWriter w;
 *     vc_metrics_begin(&w);
 *     vc_json_field_int(&w, "epoch", epoch);
 *     vc_json_field_number(&w, "loss", loss);          // NaN is written as null
 *     if (vc_metrics_append("run/metrics.jsonl", &w, 0) != VC_OK) warn(vc_last_error());
 */
#ifndef VC_IO_METRICS_H
#define VC_IO_METRICS_H

#include <stddef.h>

#include "io/json.h"

/* Start a metrics line: a one-line writer with its object already open. */
void vc_metrics_begin(VcJsonWriter *w);

/* Close the object begun by vc_metrics_begin, append it plus '\n' to path (created if
 * missing) and free the writer, whether or not the append succeeded. With sync non-zero
 * the file is fsynced too. VC_OK or VC_ERR_IO ("cannot append to metrics file ...: ..."). */
int vc_metrics_append(const char *path, VcJsonWriter *w, int sync);

/* Append `len` bytes of one complete JSON line (a '\n' is added when missing). */
int vc_metrics_append_line(const char *path, const char *line, size_t len, int sync);

#endif
