/* test_margin_train.c — triplet and block runs through the CLI on a Fashion-MNIST subset.
 *
 * Settings: defaults and flags parse; bad values are refused naming the flag.
 * Triplet, random mining (the negatives are a hash of (seed, step), so resume must
 * replay them): run A, 3 epochs: loss falls, kNN measured, config.json holds the
 * settings; run B stopped by --max-steps after epoch 1 and resumed with --resume only:
 * its final checkpoint is bit-identical to run A's. Block (hinge, b 4, the first 32
 * images): the loss falls over 3 epochs (--lr 2; 2 steps an epoch are noisy); a
 * --block-size that does not divide --batch is refused. The checkpoint's metadata names
 * the method.
 */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_run.h"
#include "data/dataset.h"
#include "harness.h"
#include "io/safetensors.h"
#include "methods/train.h"

#define TRAIN_N 64
#define TEST_N 64
#define BATCH "16"
#define STEPS_PER_EPOCH (TRAIN_N / 16)

static int parse(VcTrainConfig *c, const char *line) {
    char buf[512], *argv[32] = {"train"};
    int argc = 1;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *t = strtok(buf, " "); t && argc < 31; t = strtok(NULL, " ")) argv[argc++] = t;
    vc_train_defaults(c);
    return vc_train_parse(c, argc, argv, NULL);
}

static void test_settings(void) {
    VcTrainConfig c;
    CHECK(parse(&c, "--method triplet") == VC_OK && c.margin == 0.5f && c.mining_hard == 1,
          "triplet defaults: margin 0.5, hard mining");
    CHECK(parse(&c, "--method block") == VC_OK && c.block_size == 4 && c.block_hinge == 0,
          "block defaults: b 4, logistic");
    CHECK(parse(&c, "--method triplet --margin 0.2 --mining random") == VC_OK && c.margin == 0.2f && !c.mining_hard,
          "--margin, --mining random");
    CHECK(parse(&c, "--method block --block-size 8 --block-loss hinge") == VC_OK && c.block_size == 8 && c.block_hinge,
          "--block-size, --block-loss hinge");
    const char *bad[][2] = {{"--method triplet --mining soft", "--mining soft"},
                            {"--method triplet --margin -1", "--margin -1"},
                            {"--method block --block-loss square", "--block-loss square"},
                            {"--method block --block-size 0", "--block-size 0"}};
    for (size_t i = 0; i < VC_COUNTOF(bad); i++)
        CHECK(parse(&c, bad[i][0]) != VC_OK && strstr(vc_last_error(), bad[i][1]), "'%s' refused naming %s (got: %s)",
              bad[i][0], bad[i][1], vc_last_error());
}

int main(void) {
    test_settings();
    CliDirs dirs;
    if (!cli_setup("margin", TRAIN_N, TEST_N, &dirs)) return 77;
    char *data = dirs.data, *run_a = dirs.run_a, *run_b = dirs.run_b, *run_c = dirs.run_c;
    char err[8192];

#define COMMON "--method", "triplet", "--mining", "random", "--margin", "0.4", "--data", data, "--epochs", "3", \
               "--batch", BATCH, "--lr", "0.5", "--knn-every", "3", "--seed", "3", "--progress", "lines"
    char *a[] = {"train", COMMON, "--out", run_a, NULL};
    CHECK(cli_run(a, err, sizeof err) == 0, "triplet run A exits 0");
    double loss[16] = {0}, knn = -1;
    int lines = cli_read_metrics(run_a, loss, &knn);
    CHECK(lines == 3, "one metrics line per epoch (%d)", lines);
    CHECK(loss[2] < loss[0], "triplet loss falls: %.4f -> %.4f", loss[0], loss[2]);
    CHECK(knn > 0.1 && knn <= 1.0, "kNN top-1 measured and above chance (10 classes): %.3f", knn);
    printf("triplet run A: loss %.4f %.4f %.4f, kNN %.3f\n", loss[0], loss[1], loss[2], knn);
    char path[700];
    snprintf(path, sizeof path, "%s/config.json", run_a);
    size_t len = 0;
    char *cfg = th_read_file(path, &len);
    CHECK(cfg && strstr(cfg, "\"mining\": \"random\"") && strstr(cfg, "\"margin\": 0.4"),
          "config.json holds mining and margin");
    free(cfg);
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", run_a);
    VcSafetensors *st = vc_st_open(path);
    CHECK(st && vc_st_meta(st, "method") && !strcmp(vc_st_meta(st, "method"), "triplet"),
          "checkpoint opens, metadata method triplet");
    if (st) vc_st_close(st);

    char steps1[16];
    snprintf(steps1, sizeof steps1, "%d", STEPS_PER_EPOCH);
    char *b[] = {"train", COMMON, "--out", run_b, "--max-steps", steps1, NULL};
    cli_check_resume(b, run_a, run_b);

    char *bad[] = {"train", "--method", "block", "--block-size", "5", "--data", data, "--batch", BATCH, "--out", run_c,
                   "--progress", "lines", NULL};
    CHECK(cli_run(bad, err, sizeof err) != 0 && strstr(err, "--block-size 5"), "--block-size 5 with --batch 16 is refused");
    char *cb2[] = {"train", "--method", "block", "--block-loss", "hinge", "--data", data, "--subset", "32", "--epochs", "3", "--batch", BATCH,
                   "--lr", "2", "--knn-every", "3", "--seed", "3", "--out", run_c, "--progress", "lines", NULL};
    CHECK(cli_run(cb2, err, sizeof err) == 0, "block run exits 0");
    double lossc[16] = {0}, knnc = -1;
    int linesc = cli_read_metrics(run_c, lossc, &knnc);
    CHECK(linesc == 3 && lossc[2] < lossc[0], "block: 3 epochs, loss falls (%.4f -> %.4f)", lossc[0], lossc[2]);
    CHECK(knnc > 0 && knnc <= 1.0, "block: kNN measured (%.3f)", knnc);

    cli_cleanup(&dirs);
    return th_finish();
}
