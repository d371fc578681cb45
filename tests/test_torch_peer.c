/* test_torch_peer.c — the PyTorch peer (tools/bench_torch.py) augments as vkcontrast does:
 * views of the C reference (tests/ref/augment.c, the spec of shaders/augment.comp) with the
 * grayscale SimCLR recipe are written with their drawn parameters, and the peer's
 * apply_params must reproduce them from those parameters (crop box, flip, jitter factors
 * and order). The random draws differ by design (Philox here, numpy there); the
 * distributions follow the same recipe. Then a two-step quality run of each method of the
 * peer (simclr, moco v1 and v2, membank sampled and all) on 64 images, scored on 100 test
 * images, must print one JSON object with a finite loss and a kNN top-1 in [0, 1]
 * (tools/bench_quality.sh reads it). Skipped without Debian's torch. */
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "data/dataset.h"
#include "ref/augment.h"

#define IMAGES "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
#define N 24

int main(void) {
    if (access("/usr/bin/python3", X_OK) != 0 || system("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0 ||
        access(IMAGES, R_OK) != 0) {
        printf("SKIP: needs /usr/bin/python3 with torch and %s\n", IMAGES);
        return 77;
    }
    VcDataset d = {0};
    VcDataOptions o = {.subset = N};
    VC_ASSERT(vc_dataset_load("/usr/share/datasets/fashion-mnist", VC_SPLIT_TRAIN, &o, &d) == VC_OK);
    VcAugmentConfig cfg = vc_augment_config_simclr(1);
    cfg.mean[0] = 0.29f;
    cfg.std[0] = 0.35f;
    char path[] = "/tmp/vc_peer_XXXXXX";
    int fd = mkstemp(path);
    VC_ASSERT(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "%s\n", IMAGES);
    int jittered = 0, flipped = 0, cropped = 0;
    for (int v = 0; v < 2; v++)
        for (int i = 0; i < N; i++) {
            VcAugmentParams p;
            ref_augment_params(&cfg, 1, 28, 28, 5, 1, (uint32_t)i, (uint32_t)v, &p);
            double out[28 * 28];
            ref_augment_view(&cfg, &p, d.pixels + (size_t)i * 784, 1, 28, 28, 28, out);
            jittered += p.jitter != 0, flipped += p.flip != 0, cropped += p.crop_w < 28 || p.crop_h < 28;
            fprintf(f, "%d %d %d %d %d %u %u %u %.9g %.9g %.9g %.9g", i, p.crop_y, p.crop_x, p.crop_h, p.crop_w, p.flip, p.jitter,
                    p.order, p.brightness, p.contrast, cfg.mean[0], cfg.std[0]);
            for (int k = 0; k < 28 * 28; k++) fprintf(f, " %.9g", out[k]);
            fputc('\n', f);
        }
    fclose(f);
    /* the sample exercises every operation, both ways */
    CHECK(jittered > 0 && jittered < 2 * N && flipped > 0 && flipped < 2 * N && cropped > 0,
          "views cover jitter %d, flip %d, crop %d", jittered, flipped, cropped);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tools/bench_torch.py' --check-augment '%s'", VC_SOURCE_DIR, path);
    CHECK(system(cmd) == 0, "bench_torch.py reproduces the reference views (max abs difference <= 1e-4)");
    unlink(path);

    /* each method of the peer runs and prints valid JSON (a few seconds each) */
    static const struct { const char *method, *flags; } runs[] = {
        {"simclr", ""},
        {"moco", "--moco-version 2 --queue 96 --shuffle-groups 4"},
        {"moco", "--moco-version 1 --queue 40 --shuffle-groups 2"},
        {"membank", "--negatives 16"},
        {"membank", "--negatives all"},
    };
    for (size_t r = 0; r < VC_COUNTOF(runs); r++) {
        snprintf(cmd, sizeof cmd,
                 "/usr/bin/python3 '%s/tools/bench_torch.py' --method %s %s --subset 64 --batch 32 --epochs 1 "
                 "--test-subset 100 --threads 1 --json 2>/dev/null | /usr/bin/python3 -c 'import json, math, sys; "
                 "r = json.load(sys.stdin); sys.exit(not (r[\"method\"] == \"%s\" and r[\"steps\"] == 2 and "
                 "math.isfinite(r[\"loss\"]) and 0 <= r[\"knn_top1\"] <= 1))'",
                 VC_SOURCE_DIR, runs[r].method, runs[r].flags, runs[r].method);
        CHECK(system(cmd) == 0, "bench_torch.py --method %s %s: one JSON object, finite loss, kNN top-1 in [0, 1]",
              runs[r].method, runs[r].flags);
    }
    vc_dataset_free(&d);
    return th_finish();
}
