/* cli_run.h — what the CLI training tests share: a small IDX copy of Fashion-MNIST, running
 * `vkcontrast` (VKCONTRAST_BIN) with its stderr captured, and reading a run folder. */
#ifndef VC_TEST_CLI_RUN_H
#define VC_TEST_CLI_RUN_H

#include <stddef.h>

#include "data/dataset.h"

/* The first n images and labels of d as raw IDX files <dir>/<prefix>-{images-idx3,labels-idx1}-ubyte. */
void cli_write_idx(const char *dir, const char *prefix, const VcDataset *d, int n);
/* Run the CLI with the NULL-terminated args (after the program name); returns the exit
 * status; its stderr is echoed to ours and kept in err (cap bytes, NUL-terminated). */
int cli_run(char *const *args, char *err, size_t cap);
/* Losses of <dir>/metrics.jsonl (up to 16 lines) into loss, the last knn_top1 into *knn;
 * returns the number of lines. */
int cli_read_metrics(const char *dir, double *loss, double *knn);
/* The bytes of <dir>/checkpoint.safetensors (NULL if missing), length in *len. */
char *cli_checkpoint_bytes(const char *dir, size_t *len);
/* Resume equality: runs `stopped` (a NULL-terminated `train ... --out run_b --max-steps N`
 * argv), then `train --resume run_b`, and checks that both exit 0 and that run B ends
 * with a checkpoint byte-identical to run_a's. */
void cli_check_resume(char *const *stopped, const char *run_a, const char *run_b);

#endif
