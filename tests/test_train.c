/* test_train.c — short SimCLR runs through the CLI on a Fashion-MNIST subset:
 * the loss falls, metrics.jsonl and config.json parse, the checkpoint has the contract
 * names, shapes and metadata, kNN is measured; a run killed after its first checkpoint
 * and resumed ends with bit-identical weights to an uninterrupted run. */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <stb/stb_image.h>

#include "cli_run.h"
#include "harness.h"
#include "data/dataset.h"
#include "io/json.h"
#include "io/safetensors.h"

#define TRAIN_N 96
#define TEST_N 64
#define EPOCHS 3


static pid_t spawn_train(const char *data, const char *out, const char *resume) {
    const char *bin = getenv("VKCONTRAST_BIN");
    VC_ASSERT(bin);
    pid_t pid = fork();
    if (pid == 0) {
        if (resume)
            execl(bin, bin, "train", "--resume", resume, "--progress", "lines", (char *)NULL);
        else
            execl(bin, bin, "train", "--data", data, "--out", out, "--epochs", "3", "--batch", "32", "--knn-every", "3",
                  "--seed", "7", "--progress", "lines", (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int wait_exit(pid_t pid) {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The metrics lines of a run: losses per epoch and the last kNN. */
static int read_metrics(const char *dir, double *loss, double *knn) {
    char path[700];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    size_t len;
    char *text = th_read_file(path, &len);
    if (!text) return 0;
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        VcJsonError err;
        VcJson *j = vc_json_parse(line, strlen(line), &err);
        CHECK(j != NULL, "metrics line parses: %s", line);
        if (!j) continue;
        double v;
        CHECK(vc_json_number(vc_json_get(j, "loss"), &v) == VC_OK, "metrics has loss");
        loss[n] = v;
        const VcJson *k = vc_json_get(j, "knn_top1");
        if (k && vc_json_number(k, &v) == VC_OK) *knn = v;
        CHECK(vc_json_get(j, "images_per_s") && vc_json_get(j, "lr") && vc_json_get(j, "elapsed_s") && vc_json_get(j, "step"),
              "metrics fields present");
        vc_json_free(j);
        n++;
    }
    free(text);
    return n;
}

static int checkpoint_epoch(const char *dir) {
    char path[700];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    VcSafetensors *st = vc_st_open(path);
    if (!st) return -1;
    const char *e = vc_st_meta(st, "epoch");
    int epoch = e ? atoi(e) : -1;
    vc_st_close(st);
    return epoch;
}

int main(void) {
    CliDirs dirs;
    if (!cli_setup("train", TRAIN_N, TEST_N, &dirs)) return 77;
    char *root = dirs.root, *data = dirs.data, *run_a = dirs.run_a, *run_b = dirs.run_b;

    /* run A: uninterrupted */
    CHECK(wait_exit(spawn_train(data, run_a, NULL)) == 0, "run A exits 0");
    double loss[16] = {0}, knn = -1;
    int lines = read_metrics(run_a, loss, &knn);
    CHECK(lines == EPOCHS, "one metrics line per epoch (%d)", lines);
    CHECK(loss[EPOCHS - 1] < loss[0], "loss falls: %.4f -> %.4f", loss[0], loss[EPOCHS - 1]);
    CHECK(knn > 0.1 && knn <= 1.0, "kNN top-1 measured and above chance (10 classes): %.3f", knn);
    printf("run A: loss %.4f -> %.4f, kNN %.3f\n", loss[0], loss[EPOCHS - 1], knn);

    char path[700];
    size_t len;
    snprintf(path, sizeof path, "%s/config.json", run_a);
    char *cfg = th_read_file(path, &len);
    VcJsonError err;
    VcJson *cj = cfg ? vc_json_parse(cfg, len, &err) : NULL;
    CHECK(cj && vc_json_get(cj, "batch") && vc_json_get(cj, "temperature") && vc_json_get(cj, "augment"), "config.json parses");
    vc_json_free(cj);
    free(cfg);
    char check[1200]; /* report.html: balanced HTML with every metrics point, the grid, the top ops */
    snprintf(check, sizeof check, "python3 '%s/tests/check_report.py' '%s/report.html' '%s/metrics.jsonl' '%s/augment.png'",
             VC_SOURCE_DIR, run_a, run_a, run_a);
    CHECK(system(check) == 0, "run A's report.html is valid and complete");
    snprintf(path, sizeof path, "%s/report.html", run_a);
    char *report = th_read_file(path, &len);
    CHECK(report && strstr(report, "Top ops") && strstr(report, "conv_"), "report has the top-ops table");
    free(report);

    snprintf(path, sizeof path, "%s/checkpoint.safetensors", run_a);
    VcSafetensors *a = vc_st_open(path);
    CHECK(a != NULL, "checkpoint opens: %s", vc_last_error());
    if (a) {
        int64_t stem[4] = {32, 1, 3, 3}, fc2[2] = {64, 128}, bn[1] = {32};
        CHECK(vc_st_get_f32(a, "stem.conv.weight", stem, 4) != NULL, "stem.conv.weight (32,1,3,3)");
        CHECK(vc_st_get_f32(a, "head.fc2.weight", fc2, 2) != NULL, "head.fc2.weight (64,128)");
        CHECK(vc_st_get_f32(a, "stem.bn.running_var", bn, 1) != NULL, "stem.bn.running_var (32)");
        CHECK(vc_st_get_f32(a, "optim.stem.conv.weight.momentum", stem, 4) != NULL, "optimizer state saved");
        const char *keys[] = {"method", "model", "channels", "image_size", "input_mean", "input_std", "epoch", "step", "seed"};
        for (size_t i = 0; i < VC_COUNTOF(keys); i++) CHECK(vc_st_meta(a, keys[i]) != NULL, "metadata %s", keys[i]);
        CHECK(!strcmp(vc_st_meta(a, "model"), "small-resnet") && atoi(vc_st_meta(a, "epoch")) == EPOCHS, "metadata values");
    }

    /* run B: killed after its first checkpoint, then resumed */
    pid_t pid = spawn_train(data, run_b, NULL);
    int epoch = -1;
    for (int tries = 0; tries < 30000 && epoch < 1; tries++) { /* up to 10 minutes */
        usleep(20000);
        epoch = checkpoint_epoch(run_b);
    }
    kill(pid, SIGKILL);
    wait_exit(pid);
    CHECK(epoch >= 1 && epoch < EPOCHS, "killed mid-run after checkpoint of epoch %d", epoch);
    CHECK(wait_exit(spawn_train(NULL, NULL, run_b)) == 0, "resumed run exits 0");
    CHECK(checkpoint_epoch(run_b) == EPOCHS, "resumed run finished all epochs");
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", run_b);
    VcSafetensors *b = vc_st_open(path);
    CHECK(b != NULL, "resumed checkpoint opens");
    if (a && b) {
        int same = 0, total = 0;
        for (size_t i = 0; i < vc_st_count(a); i++) {
            const VcStTensor *ta = vc_st_at(a, i), *tb = vc_st_get(b, ta->name);
            total++;
            same += tb && tb->nbytes == ta->nbytes && memcmp(ta->data, tb->data, ta->nbytes) == 0;
        }
        CHECK(same == total, "kill-and-resume: %d of %d tensors bit-identical to the uninterrupted run", same, total);
    }
    vc_st_close(a);
    vc_st_close(b);

    /* the augmentation grid: original + 6 views per image, a PNG stb reads back */
    char cmd[900], grid[200];
    snprintf(grid, sizeof grid, "%s/grid.png", root);
    snprintf(cmd, sizeof cmd, "'%s' augment --data '%s' --out '%s' --count 3 >/dev/null", getenv("VKCONTRAST_BIN"), data, grid);
    CHECK(system(cmd) == 0, "vkcontrast augment exits 0");
    int gw = 0, gh = 0, gc = 0;
    int ok = stbi_info(grid, &gw, &gh, &gc);
    CHECK(ok && gw == 7 * 28 + 8 * 2 && gh == 3 * 28 + 4 * 2, "grid PNG is 7 x 3 cells with 2-pixel gaps (%dx%d): %s", gw, gh,
          ok ? "read" : stbi_failure_reason());
    snprintf(cmd, sizeof cmd, "'%s' augment --data '%s/missing' --out '%s' 2>/dev/null", getenv("VKCONTRAST_BIN"), root, grid);
    CHECK(system(cmd) != 0, "augment on a missing path fails");
    /* loaded as train loads it: --image-size, --channels */
    snprintf(cmd, sizeof cmd, "'%s' augment --data '%s' --out '%s' --count 3 --image-size 12 --channels 3 >/dev/null",
             getenv("VKCONTRAST_BIN"), data, grid);
    CHECK(system(cmd) == 0, "vkcontrast augment --image-size 12 --channels 3 exits 0");
    ok = stbi_info(grid, &gw, &gh, &gc);
    CHECK(ok && gw == 7 * 12 + 8 * 2 && gh == 3 * 12 + 4 * 2 && gc == 3, "grid of 12x12 RGB cells (%dx%d, %d channels)", gw, gh, gc);
    /* --method picks the recipe `train --method` uses; names and messages are train's */
    snprintf(cmd, sizeof cmd, "'%s' augment --data '%s' --out '%s' --count 2 --method moco --moco-version 1 >/dev/null",
             getenv("VKCONTRAST_BIN"), data, grid);
    CHECK(system(cmd) == 0, "augment --method moco --moco-version 1 exits 0");
    snprintf(grid, sizeof grid, "%s/bad.png", root);
    const struct { const char *flag, *value, *flag2, *value2, *says; } bad[] = {
        {"--method", "bogus", NULL, NULL, "--method bogus"},
        {"--method", "cpc", NULL, NULL, "not implemented"},
        {"--moco-version", "1", NULL, NULL, "--moco-version is an option of --method moco"},
        {"--method", "moco", "--moco-version", "3", "--moco-version"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        char msg[400] = "";
        char *args[] = {"augment", "--data", (char *)data, "--out", grid, "--count", "2", (char *)bad[k].flag,
                        (char *)bad[k].value, (char *)bad[k].flag2, (char *)bad[k].value2, NULL};
        int rc = cli_run(args, msg, sizeof msg);
        CHECK(rc != 0 && strstr(msg, bad[k].says) && access(grid, F_OK) != 0, "augment %s %s fails, says '%s', writes nothing: %s",
              bad[k].flag, bad[k].value, bad[k].says, msg);
    }
    cli_cleanup(&dirs);
    return th_finish();
}
