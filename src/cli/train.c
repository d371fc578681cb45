/* train.c (cli) — `vkcontrast train [options]`: parse the options and run. */
#include <stdio.h>
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
