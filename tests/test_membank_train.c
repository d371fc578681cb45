/* test_membank_train.c — short memory-bank runs through the CLI on a Fashion-MNIST subset.
 *
 * Run A (4 epochs, 50 sampled negatives): the loss falls, kNN is measured, the checkpoint
 * holds the bank (membank.bank, n x D, unit rows). Run B: the same settings stopped by
 * --max-steps after epoch 2 and resumed: its final checkpoint (weights, optimizer state,
 * bank) is bit-identical to run A's. A run over the whole bank (--negatives all) trains
 * too; a bad --negatives is named.
 */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_run.h"
#include "data/dataset.h"
#include "harness.h"
#include "io/safetensors.h"

#define TRAIN_N 96
#define TEST_N 64
#define EPOCHS 4
#define STEPS_PER_EPOCH (TRAIN_N / 32)

int main(void) {
    CliDirs dirs;
    if (!cli_setup("membank", TRAIN_N, TEST_N, &dirs)) return 77;
    char *data = dirs.data, *run_a = dirs.run_a, *run_b = dirs.run_b, *run_c = dirs.run_c;
    char err[8192];

#define COMMON "--method", "membank", "--data", data, "--epochs", "4", "--batch", "32", "--negatives", "50", \
               "--knn-every", "4", "--seed", "7", "--progress", "lines"
    char *bad1[] = {"train", COMMON, "--out", run_a, "--negatives", "some", NULL};
    CHECK(cli_run(bad1, err, sizeof err) != 0 && strstr(err, "--negatives some"), "--negatives some is refused");
    char *bad2[] = {"train", COMMON, "--out", run_a, "--batch", "1000", NULL}; /* refused after the data is read */
    struct stat sb;
    CHECK(cli_run(bad2, err, sizeof err) != 0 && strstr(err, "--batch 1000") && stat(run_a, &sb) != 0,
          "--batch above the training set is refused and leaves no run folder");

    char *a[] = {"train", COMMON, "--out", run_a, NULL};
    CHECK(cli_run(a, err, sizeof err) == 0, "run A exits 0");
    double loss[16] = {0}, knn = -1;
    int lines = cli_read_metrics(run_a, loss, &knn);
    CHECK(lines == EPOCHS, "one metrics line per epoch (%d)", lines);
    CHECK(loss[EPOCHS - 1] < loss[0], "loss falls: %.4f -> %.4f", loss[0], loss[EPOCHS - 1]);
    CHECK(knn > 0.1 && knn <= 1.0, "kNN top-1 measured and above chance (10 classes): %.3f", knn);
    printf("run A: loss");
    for (int i = 0; i < lines; i++) printf(" %.4f", loss[i]);
    printf(", kNN %.3f\n", knn);
    char path[700];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", run_a);
    VcSafetensors *st = vc_st_open(path);
    CHECK(st != NULL, "checkpoint opens: %s", vc_last_error());
    if (st) {
        int64_t shape[1] = {TRAIN_N * 64};
        const float *bank = vc_st_get_f32(st, "membank.bank", shape, 1);
        CHECK(bank != NULL, "membank.bank (n x D) saved");
        int unit = 0;
        for (int i = 0; bank && i < TRAIN_N; i++) {
            double s = 0;
            for (int d = 0; d < 64; d++) s += (double)bank[i * 64 + d] * bank[i * 64 + d];
            unit += fabs(s - 1) < 1e-4;
        }
        CHECK(unit == TRAIN_N, "bank rows are unit vectors (%d of %d)", unit, TRAIN_N);
        CHECK(vc_st_meta(st, "method") && !strcmp(vc_st_meta(st, "method"), "membank"), "metadata method membank");
        vc_st_close(st);
    }

    char steps2[16];
    snprintf(steps2, sizeof steps2, "%d", 2 * STEPS_PER_EPOCH);
    char *b[] = {"train", COMMON, "--out", run_b, "--max-steps", steps2, NULL};
    cli_check_resume(b, run_a, run_b);

    char *cfull[] = {"train", "--method", "membank", "--data", data, "--epochs", "1", "--batch", "32", "--negatives", "all",
                     "--knn-every", "0", "--out", run_c, "--progress", "lines", NULL};
    CHECK(cli_run(cfull, err, sizeof err) == 0, "--negatives all run exits 0");
    double lossc[16] = {0}, knnc = -1;
    int linesc = cli_read_metrics(run_c, lossc, &knnc);
    CHECK(linesc == 1 && isfinite(lossc[0]) && lossc[0] > 0, "--negatives all: 1 epoch, finite loss (%.4f)", lossc[0]);

    cli_cleanup(&dirs);
    return th_finish();
}
