/* train.c (cli) — `vkcontrast train [options]`: parse the options and run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "methods/train.h"
#include "vk/profile.h"

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

/* `vkcontrast profile [train options] [--steps N]`: N steps with a timestamp pair around
 * every dispatch; each step is waited for and its timings summed (vk/profile.c). */
typedef struct ProfileRun {
    VcProfile prof;
    bool no_timestamps;
    char device[256];
} ProfileRun;

static void profile_hook(void *user, const VcTrainEventInfo *ev) {
    ProfileRun *p = user;
    if (ev->event != VC_TRAIN_SUBMITTED) return;
    int n = 0;
    const VcTiming *t = vc_cmd_timings(ev->step_cmd, &n); /* waits for the step */
    if (!t) p->no_timestamps = true;
    vc_profile_add(&p->prof, t, n);
    snprintf(p->device, sizeof p->device, "%s", vc_context_info(vc_cmd_context(ev->step_cmd))->name);
}

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
    cfg.epochs = steps; /* enough epochs even at one step per epoch */
    cfg.profile = 1;
    cfg.knn_every = 0;
    ProfileRun pr = {0};
    vc_profile_init(&pr.prof);
    cfg.hook = profile_hook;
    cfg.hook_user = &pr;
    if (!cfg.out[0]) snprintf(cfg.out, sizeof cfg.out, "runs/profile");
    if (vc_train_run(&cfg) != VC_OK) {
        vc_profile_free(&pr.prof);
        return cli_fail("profile: %s", vc_last_error());
    }
    if (pr.no_timestamps) {
        vc_profile_free(&pr.prof);
        return cli_fail("profile: %s has no timestamp queries on its compute queue (timestampValidBits = 0), so "
                        "dispatches cannot be timed; `vkcontrast bench` measures whole steps without them", pr.device);
    }
    printf("device %s: %d steps\n", pr.device, pr.prof.steps);
    vc_profile_print(stdout, &pr.prof, NULL, 40);
    vc_profile_free(&pr.prof);
    return 0;
}
