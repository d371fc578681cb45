/* train.c (cli) — `vkcontrast train [options]`: parse the options and run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "methods/train.h"

int cmd_train(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: vkcontrast train [options]\n\nTrains SimCLR (NT-Xent, two augmented views per image) and writes the run\n"
                   "folder: config.json, metrics.jsonl (one line per epoch), checkpoint.safetensors.\n\noptions:\n%s",
                   vc_train_options_help());
            return 0;
        }
    VcTrainConfig cfg;
    vc_train_defaults(&cfg);
    int used = 0;
    if (vc_train_parse(&cfg, argc, argv, &used) != VC_OK) return cli_fail("train: %s", vc_last_error());
    if (used < argc) return cli_fail("train: unknown option '%s' (see `vkcontrast train --help`)", argv[used]);
    if (vc_train_run(&cfg) != VC_OK) return cli_fail("train: %s", vc_last_error());
    return 0;
}

/* `vkcontrast profile [train options] [--steps N]`: a few timed steps, per-op table. */
int cmd_profile(int argc, char **argv) {
    VcTrainConfig cfg;
    vc_train_defaults(&cfg);
    int used = 0, steps = 5;
    cfg.knn_every = 0;
    cfg.epochs = 1;
    /* train options and --steps, in any order: vc_train_parse stops at what it does not know */
    for (int at = 0; at < argc - 1;) {
        if (vc_train_parse(&cfg, argc - at, argv + at, &used) != VC_OK) return cli_fail("profile: %s", vc_last_error());
        at += used;
        if (at >= argc) break;
        if (!strcmp(argv[at], "--steps") && at + 1 < argc) steps = atoi(argv[at + 1]), at += 1;
        else return cli_fail("profile: unknown option '%s' (see `vkcontrast train --help`; plus --steps N)", argv[at]);
    }
    if (steps < 1 || steps > 100000) return cli_fail("profile: --steps %d: expected 1 to 100000", steps);
    cfg.max_steps = steps;
    cfg.profile = 1;
    cfg.knn_every = 0;
    if (!cfg.out[0]) snprintf(cfg.out, sizeof cfg.out, "runs/profile");
    if (vc_train_run(&cfg) != VC_OK) return cli_fail("profile: %s", vc_last_error());
    return 0;
}
