/* eval.c (cli) — `vkcontrast eval` and `vkcontrast embed`: load a checkpoint, run the
 * encoder in eval mode over a dataset, then kNN and/or linear-probe accuracy and/or
 * retrieval metrics, or .npy features and labels. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "eval/embed.h"
#include "eval/knn.h"
#include "eval/linear_probe.h"
#include "eval/retrieval.h"
#include "io/checkpoint.h"
#include "io/json.h"
#include "io/npy.h"
#include "ops/loss.h"

#define EVAL_BATCH 256
#define DEFAULT_DATA "/usr/share/datasets/fashion-mnist"

typedef struct Loaded {
    VcContext *ctx;
    VcModel *m;
    VcCheckpointMeta meta;
    VcNet *net;
} Loaded;

static int load(const char *ckpt, const char *device, Loaded *l) {
    VcContextOptions co = {.device = device, .validation = -1, .pipeline_cache = 1};
    l->ctx = vc_context_new(&co);
    if (!l->ctx) return VC_ERR;
    VcSafetensors *st = vc_st_open(ckpt);
    if (!st) return VC_ERR;
    int s = vc_checkpoint_read_meta(st, ckpt, &l->meta);
    if (s == VC_OK) l->m = vc_checkpoint_load_model(st, ckpt, l->ctx, &l->meta);
    vc_st_close(st);
    if (!l->m) return VC_ERR;
    l->net = vc_net_new(l->m, EVAL_BATCH);
    return l->net ? VC_OK : VC_ERR;
}

static void unload(Loaded *l) {
    vc_net_free(l->net);
    vc_model_free(l->m);
    vc_context_free(l->ctx);
}

/* Load a split of `data` shaped for the checkpoint's model and embed it. */
static int embed_split(Loaded *l, const char *data, VcSplit split, VcDataset *d, VcBuffer *out, bool normalize) {
    VcDataOptions o = {.image_size = l->meta.image_size, .channels = l->meta.channels};
    if (vc_dataset_load(data, split, &o, d) != VC_OK) return VC_ERR;
    VcBuffer pixels;
    size_t bytes = vc_augment_data_bytes((size_t)d->n, d->c, d->h, d->w);
    if (vc_buffer_alloc(l->ctx, bytes, "images", &pixels) != VC_OK) return VC_ERR_OOM;
    vc_buffer_upload(l->ctx, pixels, 0, d->pixels, (size_t)d->n * d->c * d->h * d->w);
    int st = vc_buffer_alloc(l->ctx, (size_t)d->n * l->m->repr_dim * sizeof(float), "embeddings", out);
    if (st == VC_OK) st = vc_embed_images(l->net, pixels, d->n, d->c, d->h, d->w, l->meta.mean, l->meta.std, normalize, *out);
    vc_buffer_free(l->ctx, &pixels);
    return st;
}

/* out (n, D) = rows of x l2-normalized (what kNN compares), on the device. */
static int l2_rows(VcContext *ctx, VcBuffer x, int n, int D, VcBuffer *out) {
    VcBuffer norms;
    if (vc_buffer_alloc(ctx, (size_t)n * D * sizeof(float), "normalized embeddings", out) != VC_OK) return VC_ERR_OOM;
    if (vc_buffer_alloc(ctx, (size_t)n * sizeof(float), "embedding norms", &norms) != VC_OK) return VC_ERR_OOM;
    VcCmd *cmd = vc_cmd_new(ctx, false);
    vc_l2norm_forward(cmd, n, D, *out, x, norms);
    vc_cmd_run(cmd);
    vc_cmd_free(cmd);
    vc_buffer_free(ctx, &norms);
    return VC_OK;
}

static int flag_int(const char *flag, const char *v, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || end == v || x < lo || x > hi) {
        vc_set_error("%s %s: expected an integer from %ld to %ld", flag, v ? v : "(missing)", lo, hi);
        return VC_ERR_ARG;
    }
    *out = (int)x;
    return VC_OK;
}

static int flag_float(const char *flag, const char *v, double lo, double hi, float *out) {
    char *end;
    errno = 0;
    double x = v ? strtod(v, &end) : 0;
    if (!v || errno || *end || end == v || !isfinite(x) || x < lo || x > hi) {
        vc_set_error("%s %s: expected a number from %g to %g", flag, v ? v : "(missing)", lo, hi);
        return VC_ERR_ARG;
    }
    *out = (float)x;
    return VC_OK;
}

int cmd_eval(int argc, char **argv) {
    const char *ckpt = NULL, *data = DEFAULT_DATA, *device = NULL;
    bool json = false, want_knn = false, want_linear = false, want_retrieval = false;
    int k = 200;
    VcLinearProbeConfig lp;
    vc_linear_probe_defaults(&lp);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int st = VC_OK;
        if (!strcmp(a, "--help")) {
            puts("usage: vkcontrast eval --checkpoint FILE [--data PATH] [--knn] [--linear] [--retrieval] [--json]\n"
                 "                       [--knn-k K] [--device N|NAME]\n"
                 "                       [--linear-epochs N] [--linear-lr X] [--linear-batch B] [--linear-wd X]\n\n"
                 "Scores the checkpoint's 128-d representation (the encoder output before the projection head)\n"
                 "with the train split of --data as training set and the test split as test set.\n"
                 "  --knn              weighted kNN top-1/top-5: cosine similarity, k = 200, weights exp(s/0.1)\n"
                 "                     (the default when neither --knn nor --linear is given)\n"
                 "  --knn-k K          neighbours that vote, 1 to 256 (default 200, as train's monitor)\n"
                 "  --linear           linear probe top-1: a linear classifier trained on the device on frozen\n"
                 "                     features standardized with the train split's mean and std; softmax\n"
                 "                     cross-entropy, SGD momentum 0.9, cosine learning rate from lr to 0\n"
                 "  --retrieval        each test image queries the train split by cosine similarity: Recall@1/5/10\n"
                 "                     (a same-class image among the K nearest) and Precision@10\n"
                 "  --linear-epochs N  epochs of the linear probe (default 100)\n"
                 "  --linear-lr X      its learning rate for batch 256, scaled by batch/256 (default 0.1)\n"
                 "  --linear-batch B   its batch size (default 256)\n"
                 "  --linear-wd X      its weight decay (default 0)\n"
                 "  --json             one JSON object on stdout: knn_top1, knn_top5, k, bank, test and/or\n"
                 "                     linear_top1, linear_train_top1, linear_loss, linear_epochs and/or\n"
                 "                     recall_at_1, recall_at_5, recall_at_10, precision_at_10");
            return 0;
        } else if (!strcmp(a, "--checkpoint") && v) ckpt = v, i++;
        else if (!strcmp(a, "--data") && v) data = v, i++;
        else if (!strcmp(a, "--device") && v) device = v, i++;
        else if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--knn")) want_knn = true;
        else if (!strcmp(a, "--linear")) want_linear = true;
        else if (!strcmp(a, "--retrieval")) want_retrieval = true;
        else if (!strcmp(a, "--knn-k")) st = flag_int(a, v, 1, 256, &k), i++, want_knn = true;
        else if (!strcmp(a, "--linear-epochs")) st = flag_int(a, v, 1, 100000, &lp.epochs), i++;
        else if (!strcmp(a, "--linear-batch")) st = flag_int(a, v, 1, 65536, &lp.batch), i++;
        else if (!strcmp(a, "--linear-lr")) st = flag_float(a, v, 1e-8, 100, &lp.lr), i++;
        else if (!strcmp(a, "--linear-wd")) st = flag_float(a, v, 0, 1, &lp.weight_decay), i++;
        else return cli_fail("eval: unknown or incomplete option '%s' (see `vkcontrast eval --help`)", a);
        if (st != VC_OK) return cli_fail("eval: %s", vc_last_error());
    }
    if (!ckpt) return cli_fail("eval: --checkpoint FILE is required");
    if (!want_knn && !want_linear && !want_retrieval) want_knn = true; /* kNN is the default evaluation */
    Loaded l = {0};
    VcDataset train = {0}, test = {0};
    VcBuffer train_emb = {0}, test_emb = {0}, bank = {0}, queries = {0};
    int st = load(ckpt, device, &l);
    /* raw representations once; kNN compares their l2-normalized rows, the probe standardizes them */
    if (st == VC_OK) st = embed_split(&l, data, VC_SPLIT_TRAIN, &train, &train_emb, false);
    if (st == VC_OK) st = embed_split(&l, data, VC_SPLIT_TEST, &test, &test_emb, false);
    if (st == VC_OK && (!train.labels || !test.labels)) {
        vc_set_error("%s has no labels: kNN, the linear probe and retrieval need labelled train and test splits", data);
        st = VC_ERR_ARG;
    }
    int D = l.m ? l.m->repr_dim : 0, classes = VC_MAX(train.num_classes, test.num_classes);
    VcKnnResult r = {0};
    VcRetrievalResult rr = {0};
    bool cosine = want_knn || want_retrieval;
    if (st == VC_OK && cosine) st = l2_rows(l.ctx, train_emb, train.n, D, &bank);
    if (st == VC_OK && cosine) st = l2_rows(l.ctx, test_emb, test.n, D, &queries);
    if (st == VC_OK && want_knn)
        st = vc_knn_eval(l.ctx, bank, train.labels, train.n, queries, test.labels, test.n, D, classes, k, 0.1f, &r);
    if (st == VC_OK && want_retrieval)
        st = vc_retrieval_eval(l.ctx, bank, train.labels, train.n, queries, test.labels, test.n, D, &rr);
    VcLinearProbeResult lr = {0};
    if (st == VC_OK && want_linear)
        st = vc_linear_probe(l.ctx, train_emb, train.labels, train.n, test_emb, test.labels, test.n, D, classes, &lp, &lr, NULL);
    if (st == VC_OK && json) {
        VcJsonWriter w;
        vc_json_writer_init(&w, 0);
        vc_json_begin_object(&w);
        vc_json_field_string(&w, "checkpoint", ckpt);
        if (want_knn) {
            vc_json_field_number(&w, "knn_top1", r.top1);
            vc_json_field_number(&w, "knn_top5", r.top5);
            vc_json_field_int(&w, "k", r.k);
        }
        if (want_linear) {
            vc_json_field_number(&w, "linear_top1", lr.test_top1);
            vc_json_field_number(&w, "linear_train_top1", lr.train_top1);
            vc_json_field_number(&w, "linear_loss", lr.loss);
            vc_json_field_int(&w, "linear_epochs", lr.epochs);
        }
        if (want_retrieval) {
            for (int i = 0; i < VC_RETRIEVAL_KS; i++) {
                char key[32];
                snprintf(key, sizeof key, "recall_at_%d", rr.ks[i]);
                vc_json_field_number(&w, key, rr.recall[i]);
            }
            char key[32];
            snprintf(key, sizeof key, "precision_at_%d", rr.k);
            vc_json_field_number(&w, key, rr.precision_at_k);
        }
        vc_json_field_int(&w, "bank", train.n);
        vc_json_field_int(&w, "test", test.n);
        vc_json_end_object(&w);
        puts(w.buf);
        vc_json_writer_free(&w);
    } else if (st == VC_OK) {
        if (want_knn)
            printf("kNN (k=%d, bank %d, test %d): top-1 %.2f%%  top-5 %.2f%%\n", r.k, train.n, test.n, 100 * r.top1, 100 * r.top5);
        if (want_linear)
            printf("linear probe (%d epochs, train %d, test %d): top-1 %.2f%%  (train top-1 %.2f%%, final loss %.4f)\n",
                   lr.epochs, train.n, test.n, 100 * lr.test_top1, 100 * lr.train_top1, lr.loss);
        if (want_retrieval)
            printf("retrieval (bank %d, queries %d): Recall@%d %.2f%%  Recall@%d %.2f%%  Recall@%d %.2f%%  Precision@%d %.2f%%\n",
                   train.n, test.n, rr.ks[0], 100 * rr.recall[0], rr.ks[1], 100 * rr.recall[1], rr.ks[2], 100 * rr.recall[2],
                   rr.k, 100 * rr.precision_at_k);
    }
    if (l.ctx) {
        VcBuffer *bufs[] = {&train_emb, &test_emb, &bank, &queries};
        for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(l.ctx, bufs[i]);
    }
    unload(&l);
    vc_dataset_free(&train);
    vc_dataset_free(&test);
    return st == VC_OK ? 0 : cli_fail("eval: %s", vc_last_error());
}

int cmd_embed(int argc, char **argv) {
    const char *ckpt = NULL, *data = NULL, *out = NULL, *device = NULL;
    VcSplit split = VC_SPLIT_TRAIN;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            puts("usage: vkcontrast embed --checkpoint FILE --data PATH --out FILE.npy [--split train|test]\n\n"
                 "Writes the representation (before the head) of every image as float32 (N, d) to FILE.npy and,\n"
                 "when the data has labels, int32 (N) labels to FILE_labels.npy; rows in dataset order.");
            return 0;
        } else if (!strcmp(a, "--checkpoint") && v) ckpt = v, i++;
        else if (!strcmp(a, "--data") && v) data = v, i++;
        else if (!strcmp(a, "--out") && v) out = v, i++;
        else if (!strcmp(a, "--device") && v) device = v, i++;
        else if (!strcmp(a, "--split") && v && (!strcmp(v, "train") || !strcmp(v, "test")))
            split = !strcmp(v, "train") ? VC_SPLIT_TRAIN : VC_SPLIT_TEST, i++;
        else return cli_fail("embed: unknown or incomplete option '%s' (see `vkcontrast embed --help`)", a);
    }
    if (!ckpt || !data || !out) return cli_fail("embed: --checkpoint, --data and --out are required");
    size_t len = strlen(out);
    if (len < 5 || strcmp(out + len - 4, ".npy") != 0) return cli_fail("embed: --out %s: expected a file name ending in .npy", out);
    Loaded l = {0};
    VcDataset d = {0};
    VcBuffer emb = {0};
    int st = load(ckpt, device, &l);
    if (st == VC_OK) st = embed_split(&l, data, split, &d, &emb, false);
    if (st == VC_OK) {
        size_t n = (size_t)d.n * (size_t)l.m->repr_dim;
        float *host = vc_malloc(n * sizeof(float));
        vc_buffer_download(l.ctx, emb, 0, host, n * sizeof(float));
        st = vc_npy_write_f32(out, host, (size_t)d.n, (size_t)l.m->repr_dim);
        free(host);
        if (st == VC_OK && d.labels) {
            char lpath[1024];
            snprintf(lpath, sizeof lpath, "%.*s_labels.npy", (int)(len - 4), out);
            st = vc_npy_write_i32(lpath, d.labels, (size_t)d.n);
            if (st == VC_OK) printf("wrote %s (%d x %d float32) and %s\n", out, d.n, l.m->repr_dim, lpath);
        } else if (st == VC_OK) {
            printf("wrote %s (%d x %d float32)\n", out, d.n, l.m->repr_dim);
        }
    }
    if (l.ctx) vc_buffer_free(l.ctx, &emb);
    unload(&l);
    vc_dataset_free(&d);
    return st == VC_OK ? 0 : cli_fail("embed: %s", vc_last_error());
}
