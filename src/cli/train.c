/* train.c (cli) — `vkcontrast train [options]`: parse the options and run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "methods/train.h"
#include "io/report.h"
#include "io/trace.h"
#include "ops/peak.h"
#include "vk/profile.h"

/* report.html at each epoch (io/report.c): the hook times steps 2-3 of the run for the
 * top-ops table and, once, writes the augmentation grid (augment.png) with `augment`. */
typedef struct ReportRun {
    VcProfile prof;
    long first_step;
    bool grid_tried, warned;
    char grid[600];
} ReportRun;

static void report_hook(void *user, const VcTrainEventInfo *ev) {
    ReportRun *r = user;
    if (ev->event == VC_TRAIN_RECORD_END) r->first_step = ev->step;
    if (ev->event == VC_TRAIN_SUBMITTED && ev->step - r->first_step >= 2 && ev->step - r->first_step <= 3) {
        int n = 0;
        const VcTiming *t = vc_cmd_timings(ev->step_cmd, &n); /* waits for this step only */
        vc_profile_add(&r->prof, t, n);
    }
    if (ev->event != VC_TRAIN_EPOCH_END) return;
    if (!r->grid_tried) {
        r->grid_tried = true;
        snprintf(r->grid, sizeof r->grid, "%s/augment.png", ev->out);
        if (access(r->grid, R_OK) != 0) {
            /* the run's seed, recipe and image size: the grid shows views this run could draw */
            const VcTrainConfig *c = ev->config;
            char seed[24], version[8], size[8], channels[8];
            snprintf(seed, sizeof seed, "%u", (uint32_t)c->seed);
            snprintf(version, sizeof version, "%d", c->moco_version);
            snprintf(size, sizeof size, "%d", c->image_size);
            snprintf(channels, sizeof channels, "%d", c->channels);
            char *argv[18] = {"augment", "--data", (char *)c->data, "--out", r->grid, "--count", "4", "--seed", seed,
                              "--method", (char *)c->method};
            int argc = 11;
            if (!strcmp(c->method, "moco")) argv[argc++] = "--moco-version", argv[argc++] = version;
            if (c->image_size) argv[argc++] = "--image-size", argv[argc++] = size;
            if (c->channels) argv[argc++] = "--channels", argv[argc++] = channels;
            if (cmd_augment(argc, argv) != 0) r->grid[0] = 0; /* its message is printed; the report goes without */
        }
    }
    if (vc_report_write(ev->out, &r->prof, r->grid[0] ? r->grid : NULL) != VC_OK && !r->warned) {
        fprintf(stderr, "vkcontrast: train: no report.html: %s\n", vc_last_error());
        r->warned = true;
    }
}

int cmd_train(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: vkcontrast train [options]\n\nTrains SimCLR (NT-Xent, two augmented views per image) and writes the run\n"
                   "folder: config.json, metrics.jsonl (one line per epoch), checkpoint.safetensors,\n"
                   "report.html (curves, augmentation grid, top ops, config; rewritten every epoch).\n\noptions:\n%s",
                   vc_train_options_help());
            return 0;
        }
    VcTrainConfig cfg;
    vc_train_defaults(&cfg);
    int used = 0;
    if (vc_train_parse(&cfg, argc, argv, &used) != VC_OK) return cli_fail("train: %s", vc_last_error());
    if (used < argc) return cli_fail("train: unknown option '%s' (see `vkcontrast train --help`)", argv[used]);
    ReportRun rep = {0};
    vc_profile_init(&rep.prof);
    cfg.profile = 1; /* timestamps for the report's top ops (their cost: `vkcontrast bench --timestamps`) */
    cfg.hook = report_hook;
    cfg.hook_user = &rep;
    int st = vc_train_run(&cfg);
    vc_profile_free(&rep.prof);
    if (st != VC_OK) return cli_fail("train: %s", vc_last_error());
    return 0;
}

/* `vkcontrast profile [train options] [--steps N] [--warmup W] [--trace FILE.json]`: W
 * untimed steps, then N steps with a timestamp pair around every dispatch. The hook waits
 * for each step, sums its timings (vk/profile.c) and, with --trace, records the CPU spans
 * (recording, each submit and wait) and the placed GPU dispatches (io/trace.c). The first
 * submission pays one-time costs (on lavapipe ~100x the steady time of some dispatches:
 * first use of each pipeline), so it is not counted by default. */
typedef struct ProfileRun {
    VcProfile prof;
    VcTrace *trace;
    int warmup, submitted;
    bool no_timestamps;
    double t_record, t_submit;
    char device[256];
} ProfileRun;

static void profile_hook(void *user, const VcTrainEventInfo *ev) {
    ProfileRun *p = user;
    if (ev->event == VC_TRAIN_RECORD_BEGIN) p->t_record = vc_now();
    if (ev->event == VC_TRAIN_RECORD_END && p->trace) vc_trace_cpu(p->trace, "record step", p->t_record, vc_now(), -1);
    if (ev->event == VC_TRAIN_SUBMIT) p->t_submit = vc_now();
    if (ev->event != VC_TRAIN_SUBMITTED) return;
    double t_wait = vc_now();
    vc_cmd_wait(ev->step_cmd);
    double t_done = vc_now();
    long step = p->submitted++ - p->warmup; /* timed steps count from 0 */
    if (step < 0) return;
    int n = 0;
    const VcTiming *t = vc_cmd_timings(ev->step_cmd, &n);
    if (!t) p->no_timestamps = true;
    vc_profile_add(&p->prof, t, n);
    if (p->trace) {
        vc_trace_cpu(p->trace, "submit", p->t_submit, t_wait, step);
        vc_trace_cpu(p->trace, "wait", t_wait, t_done, step);
        vc_trace_gpu_step(p->trace, t, n, step, p->t_submit, t_done);
    }
    snprintf(p->device, sizeof p->device, "%s", vc_context_info(vc_cmd_context(ev->step_cmd))->name);
}

/* The device's peaks for the "% of peak" column: cached, or measured now (once per device). */
static bool profile_peak(const char *device, VcPeakRates *out) {
    VcContextOptions co = {.device = device && *device ? device : NULL, .validation = -1, .pipeline_cache = 1};
    VcContext *ctx = vc_context_new(&co);
    bool cached = false;
    int st = ctx ? vc_peak_get(ctx, false, out, &cached) : VC_ERR;
    if (st != VC_OK) fprintf(stderr, "vkcontrast: profile: no %% of peak column: %s\n", vc_last_error());
    else if (!cached) fprintf(stderr, "vkcontrast: profile: measured the device's peaks (cached; see `vkcontrast bench peak`)\n");
    vc_context_free(ctx);
    return st == VC_OK;
}

static int profile_fail(ProfileRun *pr, const char *msg) {
    vc_profile_free(&pr->prof);
    vc_trace_free(pr->trace);
    return cli_fail("profile: %s", msg);
}

int cmd_profile(int argc, char **argv) {
    VcTrainConfig cfg;
    vc_train_defaults(&cfg);
    int used = 0, steps = 5, warmup = 1;
    const char *trace_path = NULL;
    /* train options, --steps and --trace, in any order: vc_train_parse stops at what it does not know */
    for (int at = 0; at < argc;) {
        if (vc_train_parse(&cfg, argc - at, argv + at, &used) != VC_OK) return cli_fail("profile: %s", vc_last_error());
        at += used;
        if (at >= argc) break;
        const char *a = argv[at], *v = at + 1 < argc ? argv[at + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: vkcontrast profile [train options] [--steps N] [--warmup W] [--trace FILE.json]\n\n"
                   "Runs W untimed warm-up steps (default 1: the first submission pays one-time costs), then\n"
                   "N training steps (default 5) with a GPU timestamp around every dispatch and prints\n"
                   "a table by (op, layer), by op and by layer pass, sorted by total time, with GFLOP/s, GB/s\n"
                   "and %% of the device's measured peak (`vkcontrast bench peak`, measured on first use).\n"
                   "--trace writes a Chrome trace-event JSON file (open it in ui.perfetto.dev).\n\n"
                   "train options:\n%s", vc_train_options_help());
            return 0;
        }
        if (!strcmp(a, "--steps") || !strcmp(a, "--warmup")) {
            bool w = !strcmp(a, "--warmup");
            char *end = NULL;
            long x = v ? strtol(v, &end, 10) : -1;
            if (!v || *end || x < !w || x > 100000)
                return cli_fail("profile: %s %s: expected an integer from %d to 100000", a, v ? v : "(missing)", !w);
            *(w ? &warmup : &steps) = (int)x;
        } else if (!strcmp(a, "--trace")) {
            if (!v || !*v) return cli_fail("profile: --trace needs a file name (e.g. --trace trace.json)");
            trace_path = v;
        } else {
            return cli_fail("profile: unknown option '%s' (see `vkcontrast profile --help`)", a);
        }
        at += 1; /* the value is argv[0] of the next parse */
    }
    cfg.max_steps = warmup + steps;
    cfg.epochs = warmup + steps; /* enough epochs even at one step per epoch */
    cfg.profile = 1;
    cfg.knn_every = 0;
    ProfileRun pr = {.warmup = warmup};
    vc_profile_init(&pr.prof);
    if (trace_path) pr.trace = vc_trace_new();
    cfg.hook = profile_hook;
    cfg.hook_user = &pr;
    if (!cfg.out[0]) snprintf(cfg.out, sizeof cfg.out, "runs/profile");
    if (vc_train_run(&cfg) != VC_OK) return profile_fail(&pr, vc_last_error());
    if (pr.no_timestamps) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s has no timestamp queries on its compute queue (timestampValidBits = 0), so dispatches "
                 "cannot be timed; `vkcontrast bench` measures whole steps without them", pr.device);
        return profile_fail(&pr, msg);
    }
    if (trace_path && vc_trace_write(pr.trace, trace_path, pr.device) != VC_OK) return profile_fail(&pr, vc_last_error());
    VcPeakRates peak = {0};
    bool have_peak = profile_peak(cfg.device, &peak);
    printf("device %s: %d steps", pr.device, pr.prof.steps);
    if (have_peak) printf("; peak %.1f GFLOP/s fp32, %.1f GB/s (bench peak)", peak.gflops, peak.gbps);
    printf("\n");
    vc_profile_print(stdout, &pr.prof, have_peak ? &peak : NULL, 40);
    if (trace_path) printf("trace: %s (%d dispatches per step; open in ui.perfetto.dev)\n", trace_path, pr.prof.dispatches);
    vc_profile_free(&pr.prof);
    vc_trace_free(pr.trace);
    return 0;
}
