/* report.h — report.html of a run folder: one self-contained page (no scripts, no external
 * assets) a researcher can open from a laptop or attach to a note.
 *
 * It reads what the run already wrote — metrics.jsonl (one line per epoch) and
 * config.json — and shows:
 *   - curves as inline SVG: loss, kNN top-1 (when measured), learning rate, images/s;
 *     every point is a <circle> with data-epoch and data-value attributes and a tooltip
 *   - the augmentation grid (a PNG embedded as a data: URI) when one is given
 *   - the top-10 (op, layer) rows of a short profile taken at the start, when given
 *   - the config, as written in config.json
 * The file is written atomically (temp file, fsync, rename), so a browser refreshing it
 * during training never sees half a page.
 */
#ifndef VC_IO_REPORT_H
#define VC_IO_REPORT_H

#include "vk/profile.h"

/* Write run_dir/report.html. prof (sorted here) and grid_png may be NULL. VC_OK, or
 * VC_ERR_IO / VC_ERR_FORMAT naming the file that could not be read or written. */
int vc_report_write(const char *run_dir, VcProfile *prof, const char *grid_png);

#endif
