/* bench_train.c — `vkcontrast bench [train options] [--steps N] [--warmup W] [--json]`:
 * training throughput of the real step (augment, forward, loss, backward, update).
 *
 * The run is an ordinary vc_train_run with a hook: each step is submitted, then waited
 * for, and its wall time (submit to completion) is one sample. The first W steps warm up
 * (pipeline creation is already done, but caches and the driver's threads settle) and are
 * not counted. images/s = batch * N / (sum of the N step times), so epoch-end work (metrics,
 * checkpoint) does not count. Peak memory is the high-water mark of bytes allocated by
 * vkcontrast on the device (src/vk/memory.c). Run files go to a temporary folder, removed
 * afterwards, unless --out is given. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "io/json.h"
#include "methods/train.h"

typedef struct Bench {
    int warmup, steps, n;
    double t_submit, *ms;
    size_t peak_bytes;
    char device[256];
} Bench;

static void bench_hook(void *user, const VcTrainEventInfo *ev) {
    Bench *b = user;
    if (ev->event == VC_TRAIN_SUBMIT) {
        b->t_submit = vc_now();
    } else if (ev->event == VC_TRAIN_SUBMITTED) {
        vc_cmd_wait(ev->step_cmd);
        double ms = 1e3 * (vc_now() - b->t_submit);
        if (ev->step > b->warmup && b->n < b->steps) b->ms[b->n++] = ms;
        VcContext *ctx = vc_cmd_context(ev->step_cmd);
        b->peak_bytes = vc_memory_peak(ctx);
        snprintf(b->device, sizeof b->device, "%s", vc_context_info(ctx)->name);
    }
}

static int cmp_double(const void *a, const void *b) {
    double d = *(const double *)a - *(const double *)b;
    return (d > 0) - (d < 0);
}

static void remove_run_folder(const char *dir) {
    const char *files[] = {"config.json", "metrics.jsonl", "checkpoint.safetensors", "report.html", "augment.png"};
    char path[700];
    for (size_t i = 0; i < VC_COUNTOF(files); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static const char *help =
    "usage: vkcontrast bench [train options] [--steps N] [--warmup W] [--json] [--timestamps]\n"
    "       vkcontrast bench ops [--json] [--quick]\n"
    "       vkcontrast bench peak [--json] [--remeasure]\n"
    "\n"
    "bench: training throughput of N steps (default 10) after W warm-up steps (default 2):\n"
    "images/s, steps/s, ms per step (min/median/max; each step submitted and waited for)\n"
    "and the peak device memory vkcontrast allocated. Any method/model/batch of `train`.\n"
    "--timestamps records the step with a timestamp pair around every dispatch, as `train`\n"
    "(for its report) and `profile` do: compare with and without to see what they cost.\n"
    "bench ops: GFLOP/s of GEMM and conv layers next to OpenBLAS. bench peak: the device's\n"
    "fp32 FMA throughput and memory bandwidth (cached per device; used by `profile`).\n"
    "\ntrain options:\n";

int cmd_bench_train(int argc, char **argv) {
    VcTrainConfig cfg;
    vc_train_defaults(&cfg);
    Bench b = {.warmup = 2, .steps = 10};
    bool json = false;
    int used = 0;
    for (int at = 0; at < argc;) {
        if (vc_train_parse(&cfg, argc - at, argv + at, &used) != VC_OK) return cli_fail("bench: %s", vc_last_error());
        at += used;
        if (at >= argc) break;
        const char *a = argv[at];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("%s%s", help, vc_train_options_help());
            return 0;
        }
        if (!strcmp(a, "--json")) continue; /* argv[at] is argv[0] of the next parse */
        if (!strcmp(a, "--timestamps")) {
            cfg.profile = 1;
            continue;
        }
        if (strcmp(a, "--steps") != 0 && strcmp(a, "--warmup") != 0)
            return cli_fail("bench: unknown option '%s' (see `vkcontrast bench --help`)", a);
        const char *v = at + 1 < argc ? argv[at + 1] : NULL;
        char *end = NULL;
        long x = v ? strtol(v, &end, 10) : -1;
        bool steps = !strcmp(a, "--steps");
        if (!v || *end || x < (steps ? 1 : 0) || x > 10000)
            return cli_fail("bench: %s %s: expected an integer from %d to 10000", a, v ? v : "(missing)", steps ? 1 : 0);
        if (steps) b.steps = (int)x;
        else b.warmup = (int)x;
        at += 1;
    }
    for (int i = 1; i < argc; i++) json |= !strcmp(argv[i], "--json");
    if (cfg.resume[0]) return cli_fail("bench: --resume is not supported (bench starts a fresh run)");
    cfg.knn_every = 0;
    cfg.max_steps = b.warmup + b.steps;
    cfg.epochs = cfg.max_steps; /* enough epochs even at one step per epoch */
    cfg.quiet = 1;
    cfg.hook = bench_hook;
    cfg.hook_user = &b;
    bool temp = !cfg.out[0];
    if (temp) {
        const char *tmp = getenv("TMPDIR");
        snprintf(cfg.out, sizeof cfg.out, "%s/vkcontrast-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(cfg.out)) return cli_fail("bench: cannot create a temporary run folder %s", cfg.out);
    }
    b.ms = vc_calloc((size_t)b.steps, sizeof(double));
    int st = vc_train_run(&cfg);
    if (temp) remove_run_folder(cfg.out);
    if (st != VC_OK) {
        free(b.ms);
        return cli_fail("bench: %s", vc_last_error());
    }
    if (b.n < b.steps) {
        free(b.ms);
        return cli_fail("bench: only %d of %d timed steps ran", b.n, b.steps);
    }
    double sum = 0;
    for (int i = 0; i < b.n; i++) sum += b.ms[i];
    qsort(b.ms, (size_t)b.n, sizeof *b.ms, cmp_double);
    double med = b.n % 2 ? b.ms[b.n / 2] : 0.5 * (b.ms[b.n / 2 - 1] + b.ms[b.n / 2]);
    double sps = 1e3 * b.n / sum, ips = sps * cfg.batch;
    if (json) {
        VcJsonWriter w;
        vc_json_writer_init(&w, 0); /* one line: scripts grep for it (tools/bench_step.sh) */
        vc_json_begin_object(&w);
        vc_json_field_string(&w, "device", b.device);
        vc_json_field_string(&w, "method", cfg.method);
        vc_json_field_string(&w, "model", vc_model_kind_name(cfg.model));
        vc_json_field_string(&w, "data", cfg.data);
        vc_json_field_int(&w, "batch", cfg.batch);
        vc_json_field_int(&w, "steps", b.n);
        vc_json_field_int(&w, "warmup", b.warmup);
        vc_json_field_bool(&w, "timestamps", cfg.profile);
        vc_json_field_number(&w, "images_per_s", ips);
        vc_json_field_number(&w, "steps_per_s", sps);
        vc_json_field_number(&w, "ms_per_step_min", b.ms[0]);
        vc_json_field_number(&w, "ms_per_step_median", med);
        vc_json_field_number(&w, "ms_per_step_max", b.ms[b.n - 1]);
        vc_json_field_int(&w, "peak_memory_bytes", (int64_t)b.peak_bytes);
        vc_json_end_object(&w);
        size_t len;
        char *text = vc_json_writer_take(&w, &len);
        vc_json_writer_free(&w);
        printf("%s\n", text);
        free(text);
    } else {
        printf("device %s: %s %s, batch %d (%d views), %d steps after %d warm-up\n", b.device, cfg.method,
               vc_model_kind_name(cfg.model), cfg.batch, 2 * cfg.batch, b.n, b.warmup);
        printf("images/s %.1f  steps/s %.3f  ms/step min %.1f median %.1f max %.1f  peak memory %.1f MiB\n", ips, sps, b.ms[0],
               med, b.ms[b.n - 1], b.peak_bytes / 1048576.0);
    }
    free(b.ms);
    return 0;
}
