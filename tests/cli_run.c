/* cli_run.c — helpers of the CLI training tests (see cli_run.h). */
#include "cli_run.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "io/json.h"

static void write_be32(FILE *f, uint32_t v) {
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    fwrite(b, 1, 4, f);
}


void cli_write_idx(const char *dir, const char *prefix, const VcDataset *d, int n) {
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
int cli_run(char *const *args, char *err, size_t cap) {
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

int cli_read_metrics(const char *dir, double *loss, double *knn) {
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

char *cli_checkpoint_bytes(const char *dir, size_t *len) {
    char path[700];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    return th_read_file(path, len);
}


void cli_check_resume(char *const *stopped, const char *run_a, const char *run_b) {
    char err[4096];
    CHECK(cli_run(stopped, err, sizeof err) == 0, "run B (stopped by --max-steps) exits 0");
    char *resume[] = {"train", "--resume", (char *)run_b, "--progress", "lines", NULL};
    CHECK(cli_run(resume, err, sizeof err) == 0, "run B resumed exits 0");
    size_t la = 0, lb = 0;
    char *ca = cli_checkpoint_bytes(run_a, &la), *cb = cli_checkpoint_bytes(run_b, &lb);
    CHECK(ca && cb && la == lb && memcmp(ca, cb, la) == 0,
          "resumed run B ends with a checkpoint bit-identical to run A (%zu vs %zu bytes)", la, lb);
    free(ca), free(cb);
}

bool cli_setup(const char *tag, int train_n, int test_n, CliDirs *d) {
    VcDataset train = {0}, test = {0};
    VcDataOptions o = {.subset = train_n};
    if (vc_dataset_load(FMNIST, VC_SPLIT_TRAIN, &o, &train) != VC_OK) {
        printf("SKIP: %s\n", vc_last_error());
        return false;
    }
    o.subset = test_n;
    VC_ASSERT(vc_dataset_load(FMNIST, VC_SPLIT_TEST, &o, &test) == VC_OK);
    snprintf(d->root, sizeof d->root, "/tmp/vc_%s_XXXXXX", tag);
    VC_ASSERT(mkdtemp(d->root));
    snprintf(d->data, sizeof d->data, "%s/data", d->root);
    snprintf(d->run_a, sizeof d->run_a, "%s/a", d->root);
    snprintf(d->run_b, sizeof d->run_b, "%s/b", d->root);
    snprintf(d->run_c, sizeof d->run_c, "%s/c", d->root);
    mkdir(d->data, 0755);
    cli_write_idx(d->data, "train", &train, train_n);
    cli_write_idx(d->data, "t10k", &test, test_n);
    vc_dataset_free(&train);
    vc_dataset_free(&test);
    return true;
}

void cli_cleanup(const CliDirs *d) {
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", d->root);
}
