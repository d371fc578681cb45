/* test_moco_config.c — the MoCo and memory-bank settings: flag parsing and per-method
 * defaults (temperature 0.1 for MoCo v1, 0.2 for v2, 0.07 for the memory bank, unless
 * --temperature is given), errors that name the flag, and what each version asks of the
 * schedule (v1: constant learning rate, v2: cosine; the EMA momentum and its ramp). */
#include <string.h>

#include "harness.h"
#include "methods/method.h"
#include "ops/schedule.h"

static int parse(VcTrainConfig *c, const char *line) {
    char buf[512], *argv[32] = {"train"};
    int argc = 1;
    snprintf(buf, sizeof buf, "%s", line);
    for (char *t = strtok(buf, " "); t && argc < 32; t = strtok(NULL, " ")) argv[argc++] = t;
    vc_train_defaults(c);
    int used = 0;
    int st = vc_train_parse(c, argc, argv, &used);
    return st == VC_OK && used == argc ? VC_OK : VC_ERR_ARG;
}

int main(void) {
    VcTrainConfig c;
    CHECK(parse(&c, "--method moco") == VC_OK && c.moco_version == 2 && c.temperature == 0.2f && c.queue == 4096 &&
              c.shuffle_groups == 8 && c.moco_m == 0.99f && !c.symmetric && !c.moco_m_ramp,
          "MoCo defaults: v2, T 0.2, K 4096, G 8, m 0.99");
    CHECK(parse(&c, "--moco-version 1 --method moco") == VC_OK && c.temperature == 0.1f, "MoCo v1: T 0.1 (any flag order)");
    CHECK(parse(&c, "--method moco --moco-version 1 --temperature 0.5") == VC_OK && c.temperature == 0.5f,
          "--temperature wins over the version's default");
    CHECK(parse(&c, "--method moco --queue 1000 --shuffle-groups 4 --symmetric --moco-m 0.999 --moco-m-ramp") == VC_OK &&
              c.queue == 1000 && c.shuffle_groups == 4 && c.symmetric && c.moco_m == 0.999f && c.moco_m_ramp,
          "MoCo flags parse");
    CHECK(parse(&c, "--method membank") == VC_OK && c.temperature == 0.07f && c.negatives == 4096 && c.bank_m == 0.5f,
          "memory-bank defaults: T 0.07, 4096 negatives, m 0.5");
    CHECK(parse(&c, "--method membank --negatives all --bank-m 0.3") == VC_OK && c.negatives == 0 && c.bank_m == 0.3f,
          "--negatives all, --bank-m");
    CHECK(parse(&c, "--method simclr") == VC_OK && c.temperature == 0.2f, "SimCLR keeps T 0.2");
    const char *bad[][2] = {{"--method moco --moco-version 3", "--moco-version 3"},
                            {"--method moco --queue 0", "--queue 0"},
                            {"--method moco --queue 70000", "--queue 70000"},
                            {"--method moco --moco-m 1.5", "--moco-m 1.5"},
                            {"--method membank --negatives -3", "--negatives -3"},
                            {"--method membank --bank-m x", "--bank-m x"},
                            {"--method simsiam", "--method simsiam"},
                            {"--queue 5000", "--queue is an option of --method moco"}, /* SimCLR: not silently ignored */
                            {"--method membank --symmetric", "--symmetric is an option of --method moco"},
                            {"--bank-m 0.3 --method moco", "--bank-m is an option of --method membank"},
                            {"--margin 0.3", "--margin is an option of --method triplet"},
                            {"--method triplet --block-size 8", "--block-size is an option of --method block"}};
    for (size_t i = 0; i < VC_COUNTOF(bad); i++)
        CHECK(parse(&c, bad[i][0]) != VC_OK && strstr(vc_last_error(), bad[i][1]), "'%s' refused naming %s (got: %s)",
              bad[i][0], bad[i][1], vc_last_error());

    /* what the versions ask of the schedule, and settings only the method can check */
    VcContext *ctx = th_gpu();
    VcModel *m = vc_model_new(ctx, VC_MODEL_SMALL_RESNET, 1, 28, 64, 0);
    VC_ASSERT(m);
    VcOptimConfig opt = {.kind = VC_OPTIM_SGD, .momentum = 0.9f};
    for (int v = 1; v <= 2; v++) {
        char line[128];
        snprintf(line, sizeof line, "--method moco --moco-version %d --batch 16 --queue 40 --shuffle-groups 4 --moco-m-ramp", v);
        VC_ASSERT(parse(&c, line) == VC_OK);
        VcMethod *me = vc_method_new(&c, m, &opt, 100);
        CHECK(me != NULL, "MoCo v%d builds: %s", v, vc_last_error());
        if (!me) continue;
        VcSchedule s = {.base_lr = 0.1f, .min_factor = me->min_lr_factor, .ema_m0 = me->ema_m0, .ema_ramp = me->ema_ramp,
                        .total_steps = 100, .steps_per_epoch = 10};
        float end_lr = vc_schedule_lr(&s, 99);
        if (v == 1) CHECK(end_lr == 0.1f && !strcmp(me->title, "MoCo v1"), "v1: constant lr (%g at the end)", end_lr);
        else CHECK(end_lr < 0.001f && !strcmp(me->title, "MoCo v2"), "v2: cosine lr (%g at the end)", end_lr);
        CHECK(vc_schedule_ema(&s, 0) == 0.99f && vc_schedule_ema(&s, 99) > 0.9999f, "momentum ramps 0.99 -> 1 (%g, %g)",
              vc_schedule_ema(&s, 0), vc_schedule_ema(&s, 99));
        CHECK(me->views == 2 && me->nextra == m->nt + 2, "two views; extras: every key tensor, queue, pointer (%d)",
              me->nextra);
        vc_method_free(me);
    }
    VC_ASSERT(parse(&c, "--method moco --batch 16 --queue 8") == VC_OK);
    CHECK(vc_method_new(&c, m, &opt, 100) == NULL && strstr(vc_last_error(), "--queue 8"), "queue below 16 keys: %s",
          vc_last_error());
    VC_ASSERT(parse(&c, "--method moco --batch 16 --queue 20 --symmetric") == VC_OK);
    CHECK(vc_method_new(&c, m, &opt, 100) == NULL && strstr(vc_last_error(), "--queue 20"),
          "symmetric: queue below 32 keys: %s", vc_last_error());
    VC_ASSERT(parse(&c, "--method moco --batch 16 --shuffle-groups 3") == VC_OK);
    CHECK(vc_method_new(&c, m, &opt, 100) == NULL && strstr(vc_last_error(), "--shuffle-groups 3"),
          "groups not dividing the batch: %s", vc_last_error());
    VC_ASSERT(parse(&c, "--method membank --batch 16 --negatives 7") == VC_OK);
    VcMethod *mb = vc_method_new(&c, m, &opt, 100);
    CHECK(mb && mb->views == 1 && mb->nextra == 1 && !strcmp(mb->extra[0].name, "membank.bank") && mb->extra[0].n == 6400,
          "memory bank: one view, the bank (100 x 64) as its checkpoint state");
    vc_method_free(mb);
    vc_model_free(m);
    return th_finish();
}
