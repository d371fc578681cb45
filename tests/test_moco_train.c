/* test_moco_train.c — short MoCo runs through the CLI on a Fashion-MNIST subset.
 *
 * Run A (uninterrupted, 4 epochs, queue K = 40 for 32 keys a step, so the ring wraps at a
 * different slot every step; Shuffle-BN with 4 groups): once the random initial queue
 * has been replaced by real keys (within epoch 1), the loss falls; kNN is measured; the
 * checkpoint holds the key encoder, the queue and its pointer under their names.
 * Run B: the same settings stopped by --max-steps at the end of epoch 2, then resumed:
 * its final checkpoint (query and key encoders, optimizer state, queue) is bit-identical
 * to run A's. A queue smaller than a step's keys fails with a message naming --queue.
 */
#include <string.h>
#include <sys/stat.h>

#include "cli_run.h"
#include "data/dataset.h"
#include "harness.h"
#include "io/safetensors.h"

#define TRAIN_N 96
#define TEST_N 64
#define EPOCHS 4
#define BATCH 32
#define QUEUE 40
#define STEPS_PER_EPOCH (TRAIN_N / BATCH)

int main(void) {
    CliDirs dirs;
    if (!cli_setup("moco", TRAIN_N, TEST_N, &dirs)) return 77;
    char *data = dirs.data, *run_a = dirs.run_a, *run_b = dirs.run_b;
    char err[8192];

#define COMMON "--method", "moco", "--data", data, "--epochs", "4", "--batch", "32", "--queue", "40", "--shuffle-groups", "4", \
               "--knn-every", "4", "--seed", "7", "--progress", "lines"
    /* a setting only the method can refuse (the rest: test_moco_config) */
    char *bad1[] = {"train", COMMON, "--out", run_a, "--queue", "20", NULL};
    CHECK(cli_run(bad1, err, sizeof err) != 0 && strstr(err, "--queue 20"), "--queue below the keys per step is refused");

    /* run A */
    char *a[] = {"train", COMMON, "--out", run_a, NULL};
    CHECK(cli_run(a, err, sizeof err) == 0, "run A exits 0");
    CHECK(strstr(err, "MoCo v2") != NULL, "run A says it trains MoCo v2");
    double loss[16] = {0}, knn = -1;
    int lines = cli_read_metrics(run_a, loss, &knn);
    CHECK(lines == EPOCHS, "one metrics line per epoch (%d)", lines);
    CHECK(loss[EPOCHS - 1] < loss[1], "loss falls once the queue holds real keys: epoch 2 %.4f -> epoch %d %.4f", loss[1],
          EPOCHS, loss[EPOCHS - 1]);
    CHECK(knn > 0.1 && knn <= 1.0, "kNN top-1 measured and above chance (10 classes): %.3f", knn);
    printf("run A: loss");
    for (int i = 0; i < lines; i++) printf(" %.4f", loss[i]);
    printf(", kNN %.3f\n", knn);
    char path[700];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", run_a);
    VcSafetensors *st = vc_st_open(path);
    CHECK(st != NULL, "checkpoint opens: %s", vc_last_error());
    if (st) {
        int64_t queue[1] = {QUEUE * 64}, ptr[1] = {1}, stem[1] = {32 * 9}, qstem[4] = {32, 1, 3, 3};
        CHECK(vc_st_get_f32(st, "moco.queue", queue, 1) != NULL, "moco.queue (K x D)");
        const float *p = vc_st_get_f32(st, "moco.queue_ptr", ptr, 1);
        int steps = EPOCHS * STEPS_PER_EPOCH;
        CHECK(p && *p == (float)(steps * BATCH % QUEUE), "moco.queue_ptr = %d steps x %d keys mod %d = %d (got %g)", steps,
              BATCH, QUEUE, steps * BATCH % QUEUE, p ? *p : -1.0);
        const float *ks = vc_st_get_f32(st, "moco.key.stem.conv.weight", stem, 1);
        const float *qs = vc_st_get_f32(st, "stem.conv.weight", qstem, 4);
        CHECK(ks && qs, "key and query stem weights saved");
        if (ks && qs) CHECK(memcmp(ks, qs, sizeof(float) * 32 * 9) != 0, "the key encoder is not a copy of the query");
        CHECK(vc_st_meta(st, "method") && !strcmp(vc_st_meta(st, "method"), "moco"), "metadata method moco");
        vc_st_close(st);
    }

    /* run B: stopped after epoch 2, then resumed */
    char steps2[16];
    snprintf(steps2, sizeof steps2, "%d", 2 * STEPS_PER_EPOCH);
    char *b[] = {"train", COMMON, "--out", run_b, "--max-steps", steps2, NULL};
    cli_check_resume(b, run_a, run_b);
    double lossb[16] = {0}, knnb = -1;
    int linesb = cli_read_metrics(run_b, lossb, &knnb);
    CHECK(linesb == EPOCHS && lossb[EPOCHS - 1] == loss[EPOCHS - 1] && knnb == knn,
          "run B's metrics end as run A's (%d lines, loss %.6f vs %.6f, kNN %.4f vs %.4f)", linesb, lossb[EPOCHS - 1],
          loss[EPOCHS - 1], knnb, knn);

    /* MoCo v1: a linear head (head.fc) in the checkpoint, which eval loads */
    char *run_c = dirs.run_c;
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", run_c);
    char *c1[] = {"train", COMMON, "--out", run_c, "--moco-version", "1", "--epochs", "1", "--knn-every", "0", NULL};
    CHECK(cli_run(c1, err, sizeof err) == 0 && strstr(err, "MoCo v1"), "a one-epoch MoCo v1 run exits 0");
    st = vc_st_open(path);
    CHECK(st != NULL, "v1 checkpoint opens: %s", vc_last_error());
    if (st) {
        int64_t fc[2] = {64, 128};
        CHECK(vc_st_get_f32(st, "head.fc.weight", fc, 2) && !vc_st_get(st, "head.fc1.weight") &&
                  vc_st_get(st, "moco.key.head.fc.bias"),
              "v1 checkpoint: head.fc (64 x 128) for query and key, no MLP");
        vc_st_close(st);
    }
    char *ev[] = {"eval", "--checkpoint", path, "--data", data, "--json", NULL};
    CHECK(cli_run(ev, err, sizeof err) == 0, "eval loads the v1 checkpoint");

    cli_cleanup(&dirs);
    return th_finish();
}
