/* eval.c (cli) — `vkcontrast eval` and `vkcontrast embed`: load a checkpoint, run the
 * encoder in eval mode over a dataset, then kNN accuracy or .npy features and labels. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "eval/embed.h"
#include "eval/knn.h"
#include "io/checkpoint.h"
#include "io/npy.h"

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

int cmd_eval(int argc, char **argv) {
    const char *ckpt = NULL, *data = DEFAULT_DATA, *device = NULL;
    bool json = false, want_knn = false, want_linear = false;
    int k = 200;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            puts("usage: vkcontrast eval --checkpoint FILE [--data PATH] [--knn] [--json] [--device N|NAME]\n\n"
                 "kNN top-1/top-5 of the checkpoint's 128-d representation: the train split is the bank,\n"
                 "the test split is scored (cosine similarity, k = 200, weights exp(s/0.1)).");
            return 0;
        } else if (!strcmp(a, "--checkpoint") && v) ckpt = v, i++;
        else if (!strcmp(a, "--data") && v) data = v, i++;
        else if (!strcmp(a, "--device") && v) device = v, i++;
        else if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--knn")) want_knn = true;
        else if (!strcmp(a, "--linear")) want_linear = true;
        else return cli_fail("eval: unknown or incomplete option '%s' (see `vkcontrast eval --help`)", a);
    }
    if (!ckpt) return cli_fail("eval: --checkpoint FILE is required");
    if (want_linear) return cli_fail("eval: --linear (linear probe) is not available in this version yet; use --knn");
    (void)want_knn; /* kNN is the default evaluation */
    Loaded l = {0};
    VcDataset train = {0}, test = {0};
    VcBuffer bank = {0}, queries = {0};
    int st = load(ckpt, device, &l);
    if (st == VC_OK) st = embed_split(&l, data, VC_SPLIT_TRAIN, &train, &bank, true);
    if (st == VC_OK) st = embed_split(&l, data, VC_SPLIT_TEST, &test, &queries, true);
    if (st == VC_OK && (!train.labels || !test.labels)) {
        vc_set_error("%s has no labels: kNN needs labelled train and test splits", data);
        st = VC_ERR_ARG;
    }
    VcKnnResult r = {0};
    if (st == VC_OK)
        st = vc_knn_eval(l.ctx, bank, train.labels, train.n, queries, test.labels, test.n, l.m->repr_dim,
                         VC_MAX(train.num_classes, test.num_classes), k, 0.1f, &r);
    if (st == VC_OK) {
        if (json) printf("{\"checkpoint\": \"%s\", \"knn_top1\": %.6f, \"knn_top5\": %.6f, \"k\": %d, \"bank\": %d, \"test\": %d}\n", ckpt,
                         r.top1, r.top5, r.k, train.n, test.n);
        else printf("kNN (k=%d, bank %d, test %d): top-1 %.2f%%  top-5 %.2f%%\n", r.k, train.n, test.n, 100 * r.top1, 100 * r.top5);
    }
    if (l.ctx) {
        vc_buffer_free(l.ctx, &bank);
        vc_buffer_free(l.ctx, &queries);
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
