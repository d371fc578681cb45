/* test_linear_probe.c — the linear probe (eval/linear_probe.h) against its C reference on
 * linearly separable Gaussian clusters (odd sizes: a partial last batch, D not a multiple
 * of 4, features on very different scales so that standardization matters), its
 * argument checks, and `vkcontrast eval --linear --json` on a checkpoint from a tiny run. */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cli_run.h"
#include "harness.h"
#include "data/dataset.h"
#include "eval/linear_probe.h"
#include "io/json.h"
#include "ref/linear_probe.h"


/* n rows of D features in C Gaussian clusters (centres N(0, 3^2) per dimension, spread 1),
 * then dimension d scaled by 10^(d%5 - 2) and shifted by 5d: separable, badly scaled. */
static void clusters(int n, int D, int C, const float *centres, float *x, int32_t *labels) {
    for (int i = 0; i < n; i++) {
        int c = i % C;
        labels[i] = c;
        for (int d = 0; d < D; d++)
            x[(size_t)i * D + d] = (centres[(size_t)c * D + d] + th_normal()) * powf(10.0f, (float)(d % 5 - 2)) + 5.0f * d;
    }
}

static void test_vs_reference(VcContext *ctx) {
    const int D = 19, C = 5, NTR = 601, NTE = 203;
    th_seed(11);
    float *centres = malloc(sizeof(float) * C * D);
    th_fill_normal(centres, (size_t)C * D, 3.0f);
    float *xtr = malloc(sizeof(float) * NTR * D), *xte = malloc(sizeof(float) * NTE * D);
    int32_t *ytr = malloc(sizeof(int32_t) * NTR), *yte = malloc(sizeof(int32_t) * NTE);
    clusters(NTR, D, C, centres, xtr, ytr);
    clusters(NTE, D, C, centres, xte, yte);
    VcBuffer btr, bte;
    VC_ASSERT(vc_buffer_alloc(ctx, sizeof(float) * NTR * D, "train", &btr) == VC_OK);
    VC_ASSERT(vc_buffer_alloc(ctx, sizeof(float) * NTE * D, "test", &bte) == VC_OK);
    vc_buffer_upload(ctx, btr, 0, xtr, sizeof(float) * NTR * D);
    vc_buffer_upload(ctx, bte, 0, xte, sizeof(float) * NTE * D);

    VcLinearProbeConfig cfg;
    vc_linear_probe_defaults(&cfg);
    cfg.epochs = 8;
    cfg.batch = 64; /* 9 full steps and one of 25 rows per epoch */
    cfg.weight_decay = 1e-3f;
    cfg.seed = 3;
    size_t nw = (size_t)C * D + C;
    float *w = malloc(sizeof(float) * nw), *wref = malloc(sizeof(float) * nw);
    VcLinearProbeResult r = {0};
    int st = vc_linear_probe(ctx, btr, ytr, NTR, bte, yte, NTE, D, C, &cfg, &r, w);
    CHECK(st == VC_OK, "linear probe runs: %s", vc_last_error());
    RefLinearProbe ref;
    ref_linear_probe(xtr, ytr, NTR, xte, yte, NTE, D, C, &cfg, &ref, wref);
    printf("separable clusters: device train %.4f test %.4f loss %.6f | reference train %.4f test %.4f loss %.6f\n",
           r.train_top1, r.test_top1, r.loss, ref.train_top1, ref.test_top1, ref.loss);
    CHECK(r.test_top1 >= 0.99 && r.train_top1 >= 0.99, "separable clusters are learned: train %.4f test %.4f", r.train_top1,
          r.test_top1);
    CHECK(fabs(r.test_top1 - ref.test_top1) <= 1.0 / NTE + 1e-12 && fabs(r.train_top1 - ref.train_top1) <= 1.0 / NTR + 1e-12,
          "accuracies match the reference within one row");
    CHECK(fabs(r.loss - ref.loss) <= 1e-4 + 1e-3 * fabs(ref.loss), "last-epoch loss %.7f vs reference %.7f", r.loss, ref.loss);
    CHECK(r.epochs == cfg.epochs && r.steps == cfg.epochs * 10, "epochs %d, steps %d", r.epochs, r.steps);
    CHECK_NMSE(w, wref, nw, 1e-8, "weights after training vs reference");

    /* the inputs are not modified (standardized copies are made) */
    float *back = malloc(sizeof(float) * NTR * D);
    vc_buffer_download(ctx, btr, 0, back, sizeof(float) * NTR * D);
    CHECK(memcmp(back, xtr, sizeof(float) * NTR * D) == 0, "train features untouched");
    free(back);

    /* one epoch, batch larger than the data: one step over everything; the loss is the
     * first step's (the initial classifier's) loss */
    cfg.epochs = 1;
    cfg.batch = 4096;
    st = vc_linear_probe(ctx, btr, ytr, NTR, bte, yte, NTE, D, C, &cfg, &r, w);
    ref_linear_probe(xtr, ytr, NTR, xte, yte, NTE, D, C, &cfg, &ref, wref);
    CHECK(st == VC_OK && r.steps == 1 && fabs(r.loss - ref.loss) <= 1e-5 * fabs(ref.loss), "one full-batch step: loss %.7f vs %.7f",
          r.loss, ref.loss);
    CHECK_NMSE(w, wref, nw, 1e-10, "weights after one full-batch step");

    /* bad input: clear errors, outputs untouched */
    VcLinearProbeResult keep = {.test_top1 = -7};
    ytr[17] = C;
    st = vc_linear_probe(ctx, btr, ytr, NTR, bte, yte, NTE, D, C, &cfg, &keep, NULL);
    CHECK(st == VC_ERR_ARG && strstr(vc_last_error(), "row 17") && keep.test_top1 == -7, "out-of-range label: %s",
          vc_last_error());
    ytr[17] = 17 % C;
    st = vc_linear_probe(ctx, btr, ytr, NTR, bte, yte, NTE, D, 1, &cfg, &keep, NULL);
    CHECK(st == VC_ERR_ARG && strstr(vc_last_error(), "2 classes"), "one class refused: %s", vc_last_error());
    cfg.epochs = 0;
    st = vc_linear_probe(ctx, btr, ytr, NTR, bte, yte, NTE, D, C, &cfg, &keep, NULL);
    CHECK(st == VC_ERR_ARG && strstr(vc_last_error(), "epochs 0"), "0 epochs refused: %s", vc_last_error());
    cfg.epochs = 3;
    cfg.lr = 1e38f; /* the weights overflow to inf within a few steps, the loss turns NaN */
    st = vc_linear_probe(ctx, btr, ytr, NTR, bte, yte, NTE, D, C, &cfg, &keep, NULL);
    CHECK(st == VC_ERR && strstr(vc_last_error(), "lower the learning rate") && keep.test_top1 == -7, "divergence reported: %s",
          vc_last_error());

    vc_buffer_free(ctx, &btr);
    vc_buffer_free(ctx, &bte);
    free(centres), free(xtr), free(xte), free(ytr), free(yte), free(w), free(wref);
}

/* ---- the CLI: a tiny SimCLR run, then eval --linear --json ---- */


/* Run a shell command, capturing its stdout (up to cap bytes); returns the exit status. */
static int run_capture(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    VC_ASSERT(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_cli(void) {
    const char *bin = getenv("VKCONTRAST_BIN");
    VcDataset train = {0}, test = {0};
    VcDataOptions o = {.subset = 128};
    if (!bin || vc_dataset_load(FMNIST, VC_SPLIT_TRAIN, &o, &train) != VC_OK) {
        printf("CLI part skipped: %s\n", bin ? vc_last_error() : "VKCONTRAST_BIN not set");
        return;
    }
    o.subset = 64;
    VC_ASSERT(vc_dataset_load(FMNIST, VC_SPLIT_TEST, &o, &test) == VC_OK);
    char root[] = "/tmp/vc_probe_XXXXXX";
    VC_ASSERT(mkdtemp(root));
    char data[100], run[100], cmd[1200], out[4096];
    snprintf(data, sizeof data, "%s/data", root);
    snprintf(run, sizeof run, "%s/run", root);
    mkdir(data, 0755);
    cli_write_idx(data, "train", &train, 128);
    cli_write_idx(data, "t10k", &test, 64);
    snprintf(cmd, sizeof cmd, "'%s' train --data '%s' --out '%s' --epochs 1 --batch 32 --knn-every 0 --quiet", bin, data, run);
    CHECK(system(cmd) == 0, "tiny train run exits 0");

    snprintf(cmd, sizeof cmd, "'%s' eval --checkpoint '%s/checkpoint.safetensors' --data '%s' --knn --linear --linear-epochs 20 --json",
             bin, run, data);
    int rc = run_capture(cmd, out, sizeof out);
    CHECK(rc == 0, "eval --knn --linear --json exits 0");
    VcJsonError err;
    VcJson *j = vc_json_parse(out, strlen(out), &err);
    CHECK(j != NULL, "eval prints one JSON object: %s", out);
    double lin = -1, knn = -1, epochs = -1;
    if (j) {
        CHECK(vc_json_number(vc_json_get(j, "linear_top1"), &lin) == VC_OK, "JSON has linear_top1");
        CHECK(vc_json_number(vc_json_get(j, "knn_top1"), &knn) == VC_OK, "JSON has knn_top1");
        CHECK(vc_json_number(vc_json_get(j, "linear_epochs"), &epochs) == VC_OK && epochs == 20, "JSON has linear_epochs 20");
        vc_json_free(j);
    }
    printf("eval on a 1-epoch checkpoint (128 train, 64 test images): linear %.3f, kNN %.3f\n", lin, knn);
    CHECK(lin > 0.2 && lin <= 1.0, "linear probe above chance (10 classes): %.3f", lin);

    /* --linear alone: no kNN key; bad flag values: a message naming the flag, non-zero exit */
    snprintf(cmd, sizeof cmd, "'%s' eval --checkpoint '%s/checkpoint.safetensors' --data '%s' --linear --linear-epochs 2 --json",
             bin, run, data);
    rc = run_capture(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"linear_top1\"") && !strstr(out, "knn_top1"), "--linear alone: %s", out);
    /* --knn-k: the k reported; out of range refused */
    snprintf(cmd, sizeof cmd, "'%s' eval --checkpoint '%s/checkpoint.safetensors' --data '%s' --knn-k 7 --json", bin, run, data);
    rc = run_capture(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"k\":7") && strstr(out, "knn_top1"), "--knn-k 7: %s", out);
    snprintf(cmd, sizeof cmd, "'%s' eval --checkpoint '%s/checkpoint.safetensors' --data '%s' --knn-k 257 2>&1", bin, run, data);
    rc = run_capture(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "--knn-k 257"), "--knn-k 257 refused: %s", out);
    /* --retrieval: Recall@1 <= @5 <= @10 in [0, 1], Precision@10 */
    snprintf(cmd, sizeof cmd, "'%s' eval --checkpoint '%s/checkpoint.safetensors' --data '%s' --retrieval --json", bin, run, data);
    rc = run_capture(cmd, out, sizeof out);
    j = rc == 0 ? vc_json_parse(out, strlen(out), &err) : NULL;
    double r1 = -1, r5 = -1, r10 = -1, p10 = -1;
    if (j) {
        vc_json_number(vc_json_get(j, "recall_at_1"), &r1), vc_json_number(vc_json_get(j, "recall_at_5"), &r5);
        vc_json_number(vc_json_get(j, "recall_at_10"), &r10), vc_json_number(vc_json_get(j, "precision_at_10"), &p10);
        vc_json_free(j);
    }
    CHECK(rc == 0 && r1 >= 0 && r1 <= r5 && r5 <= r10 && r10 <= 1 && p10 >= 0 && p10 <= 1 && !strstr(out, "knn_top1"),
          "--retrieval alone: R@1 %.3f R@5 %.3f R@10 %.3f P@10 %.3f: %s", r1, r5, r10, p10, out);
    snprintf(cmd, sizeof cmd, "'%s' eval --checkpoint '%s/checkpoint.safetensors' --data '%s' --linear --linear-epochs 0 2>&1",
             bin, run, data);
    rc = run_capture(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "--linear-epochs 0"), "--linear-epochs 0 refused: %s", out);
    snprintf(cmd, sizeof cmd, "'%s' eval --checkpoint '%s/checkpoint.safetensors' --data '%s' --linear --linear-lr abc 2>&1", bin,
             run, data);
    rc = run_capture(cmd, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "--linear-lr abc"), "--linear-lr abc refused: %s", out);

    vc_dataset_free(&train);
    vc_dataset_free(&test);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
}

int main(void) {
    VcContext *ctx = th_gpu();
    if (!ctx) {
        printf("SKIP: no Vulkan device: %s\n", vc_last_error());
        return 77;
    }
    test_vs_reference(ctx);
    test_cli();
    return th_finish();
}
