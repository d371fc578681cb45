/* cli_run.h — what the CLI training tests share: a small IDX copy of Fashion-MNIST, running
 * `vkcontrast` (VKCONTRAST_BIN) with its stderr captured, and reading a run folder. */
#ifndef VC_TEST_CLI_RUN_H
#define VC_TEST_CLI_RUN_H

#include <stdbool.h>
#include <stddef.h>

#include "data/dataset.h"

#define FMNIST "/usr/share/datasets/fashion-mnist" /* Debian's dataset-fashion-mnist */

/* What every CLI training test starts with: a fresh folder root = /tmp/vc_<tag>_XXXXXX holding
 * the first train_n / test_n Fashion-MNIST images as IDX files in data, and the paths of
 * three run folders root/{a,b,c} (not created). false, after printing SKIP, when
 * Fashion-MNIST cannot be read (the test then returns 77). */
typedef struct CliDirs { char root[64], data[100], run_a[100], run_b[100], run_c[100]; } CliDirs;
bool cli_setup(const char *tag, int train_n, int test_n, CliDirs *d);
/* Remove the folder of cli_setup. */
void cli_cleanup(const CliDirs *d);
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
