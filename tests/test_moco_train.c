/* test_moco_train.c — short MoCo runs through the CLI on a Fashion-MNIST subset.
 *
 * Run A (uninterrupted, 4 epochs, queue K = 40 for 32 keys a step, so the ring wraps at a
 * different slot every step; Shuffle-BN with 4 groups): once the random initial queue
 * has been replaced by real keys (within epoch 1), the loss falls; kNN is measured; the
 * checkpoint holds the key encoder, the queue and its pointer under their names.
 * Run B: the same settings stopped by --max-steps at the end of epoch 2, then resumed:
 * its final checkpoint (query and key encoders, optimizer state, queue) is bit-identical
 * to run A's. Bad MoCo flags fail with a message naming the flag.
 */
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/dataset.h"
#include "harness.h"
#include "io/json.h"
#include "io/safetensors.h"

#define FMNIST "/usr/share/datasets/fashion-mnist"
#define TRAIN_N 96
#define TEST_N 64
#define EPOCHS 4
#define BATCH 32
#define QUEUE 40
#define STEPS_PER_EPOCH (TRAIN_N / BATCH)

static void write_be32(FILE *f, uint32_t v) {
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}

/* the first n images and labels of a split as raw IDX files in dir */
static void write_idx(const char *dir, const char *prefix, const VcDataset *d, int n) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte", dir, prefix);
    FILE *f = fopen(path, "wb");
    VC_ASSERT(f);
    write_be32(f, 0x803), write_be32(f, (uint32_t)n), write_be32(f, 28), write_be32(f, 28);
    fwrite(d->pixels, 1, (size_t)n * 784, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s-labels-idx1-ubyte", dir, prefix);
    f = fopen(path, "wb");
    VC_ASSERT(f);
    write_be32(f, 0x801), write_be32(f, (uint32_t)n);
    for (int i = 0; i < n; i++) fputc(d->labels[i], f);
    fclose(f);
}

/* Run the CLI with argv (NULL-terminated); returns its exit status, stderr into *err. */
static int run_cli(char *const *args, char *err, size_t cap) {
    const char *bin = getenv("VKCONTRAST_BIN");
    VC_ASSERT(bin);
    int pipefd[2];
    VC_ASSERT(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        char *argv[40] = {(char *)bin};
        int n = 1;
        for (; args[n - 1]; n++) argv[n] = args[n - 1];
        argv[n] = NULL;
        execv(bin, argv);
        _exit(127);
    }
    close(pipefd[1]);
    size_t len = 0;
    ssize_t got;
    char tmp[4096];
    while ((got = read(pipefd[0], tmp, sizeof tmp)) > 0) {
        fwrite(tmp, 1, (size_t)got, stderr); /* the run's progress, for the test log */
        size_t k = VC_MIN((size_t)got, cap - 1 - len);
        memcpy(err + len, tmp, k);
        len += k;
    }
    err[len] = 0;
    close(pipefd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int read_metrics(const char *dir, double *loss, double *knn) {
    char path[700];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    size_t len;
    char *text = th_read_file(path, &len);
    if (!text) return 0;
    int n = 0;
    for (char *line = strtok(text, "\n"); line && n < 16; line = strtok(NULL, "\n")) {
        VcJsonError e;
        VcJson *j = vc_json_parse(line, strlen(line), &e);
        double v;
        if (j && vc_json_number(vc_json_get(j, "loss"), &v) == VC_OK) loss[n++] = v;
        const VcJson *k = j ? vc_json_get(j, "knn_top1") : NULL;
        if (k && vc_json_number(k, &v) == VC_OK) *knn = v;
        vc_json_free(j);
    }
    free(text);
    return n;
}

static char *file_bytes(const char *dir, size_t *len) {
    char path[700];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    return th_read_file(path, len);
}

int main(void) {
    VcDataset train = {0}, test = {0};
    VcDataOptions o = {.subset = TRAIN_N};
    if (vc_dataset_load(FMNIST, VC_SPLIT_TRAIN, &o, &train) != VC_OK) {
        printf("SKIP: %s\n", vc_last_error());
        return 77;
    }
    o.subset = TEST_N;
    VC_ASSERT(vc_dataset_load(FMNIST, VC_SPLIT_TEST, &o, &test) == VC_OK);
    char root[] = "/tmp/vc_moco_XXXXXX";
    VC_ASSERT(mkdtemp(root));
    char data[100], run_a[100], run_b[100], err[8192];
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(run_a, sizeof run_a, "%s/a", root);
    snprintf(run_b, sizeof run_b, "%s/b", root);
    mkdir(data, 0755);
    write_idx(data, "train", &train, TRAIN_N);
    write_idx(data, "t10k", &test, TEST_N);

#define COMMON "--method", "moco", "--data", data, "--epochs", "4", "--batch", "32", "--queue", "40", "--shuffle-groups", "4", \
               "--knn-every", "4", "--seed", "7", "--progress", "lines"
    /* bad flags first (cheap): each names the flag */
    char *bad1[] = {"train", COMMON, "--out", run_a, "--queue", "20", NULL};
    CHECK(run_cli(bad1, err, sizeof err) != 0 && strstr(err, "--queue 20"), "--queue below the keys per step is refused");
    char *bad2[] = {"train", COMMON, "--out", run_a, "--shuffle-groups", "5", NULL};
    CHECK(run_cli(bad2, err, sizeof err) != 0 && strstr(err, "--shuffle-groups 5"), "--shuffle-groups not dividing --batch");
    char *bad3[] = {"train", COMMON, "--out", run_a, "--moco-version", "3", NULL};
    CHECK(run_cli(bad3, err, sizeof err) != 0 && strstr(err, "--moco-version 3"), "--moco-version 3 is refused");

    /* run A */
    char *a[] = {"train", COMMON, "--out", run_a, NULL};
    CHECK(run_cli(a, err, sizeof err) == 0, "run A exits 0");
    CHECK(strstr(err, "MoCo v2") != NULL, "run A says it trains MoCo v2");
    double loss[16] = {0}, knn = -1;
    int lines = read_metrics(run_a, loss, &knn);
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
    CHECK(run_cli(b, err, sizeof err) == 0, "run B (--max-steps %s) exits 0", steps2);
    char *b2[] = {"train", "--resume", run_b, "--progress", "lines", NULL};
    CHECK(run_cli(b2, err, sizeof err) == 0, "run B resumed exits 0");
    size_t la = 0, lb = 0;
    char *ca = file_bytes(run_a, &la), *cb = file_bytes(run_b, &lb);
    CHECK(ca && cb && la == lb && memcmp(ca, cb, la) == 0,
          "resumed run B ends with a checkpoint bit-identical to run A (%zu vs %zu bytes)", la, lb);
    free(ca), free(cb);
    double lossb[16] = {0}, knnb = -1;
    int linesb = read_metrics(run_b, lossb, &knnb);
    CHECK(linesb == EPOCHS && lossb[EPOCHS - 1] == loss[EPOCHS - 1] && knnb == knn,
          "run B's metrics end as run A's (%d lines, loss %.6f vs %.6f, kNN %.4f vs %.4f)", linesb, lossb[EPOCHS - 1],
          loss[EPOCHS - 1], knnb, knn);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    vc_dataset_free(&train);
    vc_dataset_free(&test);
    return th_finish();
}
