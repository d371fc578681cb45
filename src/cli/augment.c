/* augment.c (cli) — `vkcontrast augment [--data PATH] [--method M] --out GRID.png`: a PNG
 * grid with one row per image: the original, then augmented views made by the training
 * shader with the recipe `train --method M` uses for this data, so a user can see what the
 * model is trained on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/dataset.h"
#include "methods/train.h"
#include "ops/augment.h"

#define VIEWS 6

int cmd_augment(int argc, char **argv) {
    const char *data = "/usr/share/datasets/fashion-mnist", *out = NULL, *device = NULL;
    int count = 8;
    uint32_t seed = 0;
    /* --method, --moco-version, --image-size and --channels, checked by the train parser
     * (same names and messages) */
    char *train_argv[9] = {"augment"};
    int train_argc = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help")) {
            puts("usage: vkcontrast augment [--data PATH] --out GRID.png [--method M] [--moco-version 1|2] [--count N]\n"
                 "                          [--image-size S] [--channels 1|3] [--seed S] [--device N|NAME]\n\n"
                 "Writes a PNG grid: per row one image, its original then 6 augmented views, with the recipe\n"
                 "`train --method M` uses for this data (default simclr), loaded as train loads it.");
            return 0;
        } else if (!strcmp(a, "--data") && v) data = v, i++;
        else if (!strcmp(a, "--out") && v) out = v, i++;
        else if (!strcmp(a, "--device") && v) device = v, i++;
        else if (!strcmp(a, "--count") && v) count = atoi(v), i++;
        else if (!strcmp(a, "--seed") && v) seed = (uint32_t)strtoul(v, NULL, 10), i++; /* as train: low 32 bits */
        else if ((!strcmp(a, "--method") || !strcmp(a, "--moco-version") || !strcmp(a, "--image-size") ||
                  !strcmp(a, "--channels")) && v && train_argc < 9)
            train_argv[train_argc++] = (char *)a, train_argv[train_argc++] = (char *)v, i++;
        else return cli_fail("augment: unknown or incomplete option '%s' (see `vkcontrast augment --help`)", a);
    }
    if (!out) return cli_fail("augment: --out GRID.png is required");
    VcTrainConfig tc;
    vc_train_defaults(&tc);
    int used = 0;
    if (vc_train_parse(&tc, train_argc, train_argv, &used) != VC_OK) return cli_fail("augment: %s", vc_last_error());
    if (count < 1 || count > 64) return cli_fail("augment: --count %d: expected 1 to 64", count);
    VcDataset d = {0};
    VcDataOptions o = {.subset = count, .image_size = tc.image_size, .channels = tc.channels};
    if (vc_dataset_load(data, VC_SPLIT_TRAIN, &o, &d) != VC_OK) return cli_fail("augment: %s", vc_last_error());
    if (d.h != d.w) {
        vc_dataset_free(&d);
        return cli_fail("augment: %s: images are %dx%d; use square images", data, d.h, d.w);
    }
    VcContextOptions co = {.device = device, .validation = -1, .pipeline_cache = 1};
    VcContext *ctx = vc_context_new(&co);
    if (!ctx) {
        vc_dataset_free(&d);
        return cli_fail("augment: %s", vc_last_error());
    }
    int n = d.n, S = d.h, C = d.c, st = VC_OK;
    VcAugmentConfig train_cfg = vc_augment_config_method(tc.method, tc.moco_version, C), eval_cfg = vc_augment_config_eval(C);
    vc_augment_dataset_stats(d.pixels, (size_t)n, C, S, S, train_cfg.mean, train_cfg.std);
    memcpy(eval_cfg.mean, train_cfg.mean, sizeof eval_cfg.mean);
    memcpy(eval_cfg.std, train_cfg.std, sizeof eval_cfg.std);
    VcAugmentShape sh = {.C = C, .H = S, .W = S, .S = S, .N = n, .V = VIEWS, .n_data = n};
    VcAugmentShape esh = sh;
    esh.V = 1;
    VcAugment *aug = vc_augment_new(ctx, &train_cfg, &sh), *orig = vc_augment_new(ctx, &eval_cfg, &esh);
    VcBuffer pixels = {0}, perm = {0}, step = {0}, views = {0}, originals = {0};
    size_t img = (size_t)C * S * S;
    float *host = NULL;
    if (!aug || !orig) st = VC_ERR;
    if (st == VC_OK && (vc_buffer_alloc(ctx, vc_augment_data_bytes((size_t)n, C, S, S), "images", &pixels) ||
                        vc_buffer_alloc_mapped(ctx, (size_t)n * 4, "order", &perm) ||
                        vc_buffer_alloc_mapped(ctx, sizeof(VcAugmentStep), "step", &step) ||
                        vc_buffer_alloc(ctx, (size_t)VIEWS * n * img * 4, "views", &views) ||
                        vc_buffer_alloc(ctx, (size_t)n * img * 4, "originals", &originals)))
        st = VC_ERR_OOM;
    if (st == VC_OK) {
        vc_buffer_upload(ctx, pixels, 0, d.pixels, (size_t)n * img);
        for (int i = 0; i < n; i++) ((int32_t *)perm.mapped)[i] = i;
        VcAugmentStep as = {.seed = seed};
        vc_augment_step_write(ctx, step, &as);
        VcCmd *cmd = vc_cmd_new(ctx, false);
        vc_augment_record(cmd, aug, views, pixels, perm, step);
        vc_augment_record(cmd, orig, originals, pixels, perm, step);
        vc_cmd_run(cmd);
        vc_cmd_free(cmd);
        /* grid rows: image i = [original, view 0..V-1]; views are laid out view-major */
        host = vc_malloc((size_t)n * (VIEWS + 1) * img * 4);
        float *tmp = vc_malloc((size_t)VIEWS * n * img * 4);
        vc_buffer_download(ctx, views, 0, tmp, (size_t)VIEWS * n * img * 4);
        for (int i = 0; i < n; i++) {
            vc_buffer_download(ctx, originals, (size_t)i * img * 4, host + (size_t)i * (VIEWS + 1) * img, img * 4);
            for (int v = 0; v < VIEWS; v++)
                memcpy(host + ((size_t)i * (VIEWS + 1) + 1 + v) * img, tmp + ((size_t)v * n + i) * img, img * 4);
        }
        free(tmp);
        st = vc_augment_write_grid(out, host, n, VIEWS + 1, C, S, train_cfg.mean, train_cfg.std);
    }
    if (st == VC_OK) printf("wrote %s: %d images x (original + %d views), %dx%d, seed %u\n", out, n, VIEWS, S, S, seed);
    else fprintf(stderr, "vkcontrast: augment: %s\n", vc_last_error());
    free(host);
    VcBuffer *bufs[] = {&pixels, &perm, &step, &views, &originals};
    for (size_t i = 0; i < VC_COUNTOF(bufs); i++) vc_buffer_free(ctx, bufs[i]);
    vc_augment_free(aug);
    vc_augment_free(orig);
    vc_context_free(ctx);
    vc_dataset_free(&d);
    return st == VC_OK ? 0 : 1;
}
