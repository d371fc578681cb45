/* test_profile.c — `vkcontrast bench`, `bench peak` and `profile --trace` on a few small
 * steps: bench's JSON parses and holds consistent numbers; the trace parses (our parser
 * and Python's json), has every dispatch of the step exactly once per step, each with its
 * op's operand shapes, with non-negative durations summing to at most the step's wall
 * time; the table has the per-layer passes and the % of peak column; the peak is cached
 * per device; bad options fail with a message. */
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "io/json.h"

#define FMNIST "/usr/share/datasets/fashion-mnist"
#define SMALL "--data " FMNIST " --subset 64 --batch 8"

/* Run `vkcontrast ARGS` with stdout to `out_path`; returns the exit status. */
static int run_cli(const char *args, const char *out_path) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s.err'", getenv("VKCONTRAST_BIN"), args, out_path, out_path);
    int st = system(cmd);
    char errp[320];
    snprintf(errp, sizeof errp, "%s.err", out_path);
    size_t len;
    char *err = th_read_file(errp, &len);
    CHECK(!err || !strstr(err, "validation"), "no validation messages from `vkcontrast %s`: %s", args, err ? err : "");
    free(err);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double num(const VcJson *j, const char *key) {
    double v = -1;
    if (vc_json_number(vc_json_get(j, key), &v) != VC_OK) CHECK(0, "JSON has number \"%s\"", key);
    return v;
}

static void test_bench(const char *root) {
    char out[300], args[600];
    snprintf(out, sizeof out, "%s/bench.json", root);
    snprintf(args, sizeof args, "bench " SMALL " --steps 3 --warmup 1 --json");
    CHECK(run_cli(args, out) == 0, "bench exits 0");
    size_t len = 0;
    char *text = th_read_file(out, &len);
    VcJsonError err;
    VcJson *j = text ? vc_json_parse(text, len, &err) : NULL;
    CHECK(j && j->type == VC_JSON_OBJECT, "bench --json output parses: %s", j ? "" : text ? err.message : "no output");
    CHECK(text && len > 0 && strchr(text, '\n') == text + len - 1, "bench --json is one line (tools/bench_step.sh greps it)");
    if (j) {
        double ips = num(j, "images_per_s"), sps = num(j, "steps_per_s"), mn = num(j, "ms_per_step_min"),
               med = num(j, "ms_per_step_median"), mx = num(j, "ms_per_step_max"), peak = num(j, "peak_memory_bytes");
        CHECK(num(j, "steps") == 3 && num(j, "batch") == 8, "steps and batch echoed");
        CHECK(mn > 0 && mn <= med && med <= mx, "ms/step min %.1f <= median %.1f <= max %.1f", mn, med, mx);
        CHECK(sps > 0 && 1e3 / mx <= sps * 1.0001 && sps <= 1e3 / mn * 1.0001, "steps/s %.3f between 1000/max and 1000/min", sps);
        CHECK(ips > 0 && ips / sps > 7.999 && ips / sps < 8.001, "images/s %.2f = batch x steps/s %.3f", ips, sps);
        /* at least the 64 uint8 images plus the 16 augmented 28x28 views in fp32 */
        CHECK(peak >= 64 * 784 + 16 * 784 * 4 && peak < 4e9, "peak memory %.0f bytes plausible", peak);
    }
    vc_json_free(j);
    free(text);
    /* the temporary run folder is gone and bad values are refused with the flag named */
    snprintf(args, sizeof args, "bench " SMALL " --steps 0");
    CHECK(run_cli(args, out) != 0, "bench --steps 0 fails");
    char errp[320];
    snprintf(errp, sizeof errp, "%s.err", out);
    text = th_read_file(errp, &len);
    CHECK(text && strstr(text, "--steps 0") && strstr(text, "expected"), "message names --steps and what was expected: %s",
          text ? text : "");
    free(text);
    snprintf(args, sizeof args, "bench " SMALL " --wat");
    CHECK(run_cli(args, out) != 0, "bench with an unknown option fails");
}

static const VcJson *arg(const VcJson *e, const char *key) { return vc_json_get(vc_json_get(e, "args"), key); }

static void test_profile_trace(const char *root) {
    char out[300], args[900], trace[300];
    snprintf(out, sizeof out, "%s/profile.txt", root);
    snprintf(trace, sizeof trace, "%s/trace.json", root);
    enum { STEPS = 3 };
    snprintf(args, sizeof args, "profile " SMALL " --steps %d --trace '%s' --out '%s/run' --quiet", STEPS, trace, root);
    CHECK(run_cli(args, out) == 0, "profile --trace exits 0");
    size_t len = 0;
    char *table = th_read_file(out, &len);
    CHECK(table && strstr(table, "% peak") && strstr(table, "by layer pass") && strstr(table, "blocks.0 fwd") &&
              strstr(table, "blocks.0 bwd") && strstr(table, "conv_fwd"),
          "table has %% of peak, layer passes (fwd/bwd) and conv ops:\n%s", table ? table : "");
    free(table);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[\"traceEvents\"]' '%s'", trace);
    CHECK(system(cmd) == 0, "Python's json module loads the trace");
    char *text = th_read_file(trace, &len);
    VcJsonError err;
    VcJson *j = text ? vc_json_parse(text, len, &err) : NULL;
    CHECK(j != NULL, "trace parses: %s", j ? "" : text ? err.message : "no file");
    free(text);
    if (!j) return;
    double per_step = -1;
    vc_json_number(vc_json_get(vc_json_get(j, "otherData"), "dispatches_per_step"), &per_step);
    int n = (int)per_step;
    CHECK(n > 20, "dispatches per step: %d", n);
    const VcJson *ev = vc_json_get(j, "traceEvents");
    int *seen = vc_calloc((size_t)(STEPS * (n > 0 ? n : 1)), sizeof(int));
    double gpu_sum[STEPS] = {0}, t_submit[STEPS], t_end[STEPS];
    int names = 0, bad_dur = 0, bad_index = 0, no_shape = 0, stem_convs = 0;
    for (int s = 0; s < STEPS; s++) t_submit[s] = -1, t_end[s] = -1;
    for (size_t i = 0; i < vc_json_count(ev); i++) {
        const VcJson *e = vc_json_at(ev, i);
        const char *ph = vc_json_string(vc_json_get(e, "ph")), *name = vc_json_string(vc_json_get(e, "name"));
        double tid = 0, ts = 0, dur = -1, step = -1, index = -1;
        vc_json_number(vc_json_get(e, "tid"), &tid);
        if (ph && !strcmp(ph, "M")) {
            names += name && !strcmp(name, "thread_name");
            continue;
        }
        CHECK(ph && !strcmp(ph, "X") && name && vc_json_get(e, "cat") && vc_json_get(e, "pid"), "complete events with name, cat, pid");
        vc_json_number(vc_json_get(e, "ts"), &ts);
        vc_json_number(vc_json_get(e, "dur"), &dur);
        vc_json_number(arg(e, "step"), &step);
        bad_dur += !(dur >= 0);
        int s = (int)step;
        if (tid == 1) { /* GPU dispatches */
            vc_json_number(arg(e, "index"), &index);
            CHECK(arg(e, "flops") && arg(e, "bytes") && arg(e, "workgroups") && arg(e, "layer"), "dispatch args");
            const char *shape = vc_json_string(arg(e, "shape")), *layer = vc_json_string(arg(e, "layer"));
            no_shape += !shape || !shape[0];
            /* the stem of a batch of 8 runs its conv on 2 x 8 views of 1x28x28 */
            if (shape && layer && !strcmp(layer, "stem") && !strncmp(name, "conv_", 5)) {
                CHECK(!strcmp(shape, "x 16x1x28x28 w 32x1x3x3 s1 p1 -> 16x32x28x28"), "stem %s shape: %s", name, shape);
                stem_convs++;
            }
            if (s < 0 || s >= STEPS || index < 0 || index >= n) bad_index++;
            else seen[s * n + (int)index]++, gpu_sum[s] += dur;
        } else if (tid == 3 && s >= 0 && s < STEPS) {
            if (!strcmp(name, "submit")) t_submit[s] = ts;
            if (!strcmp(name, "wait")) t_end[s] = ts + dur;
        }
    }
    CHECK(names == 3, "three named tracks (%d)", names);
    CHECK(no_shape == 0, "every dispatch names its op's operand shapes (%d without)", no_shape);
    CHECK(stem_convs >= 2 * STEPS, "the stem's conv dispatches carry its shape (%d seen)", stem_convs);
    CHECK(bad_dur == 0 && bad_index == 0, "durations >= 0 (%d bad), step/index in range (%d bad)", bad_dur, bad_index);
    int wrong = 0;
    for (int k = 0; k < STEPS * n; k++) wrong += seen[k] != 1;
    CHECK(wrong == 0, "every dispatch appears exactly once per step (%d of %d slots wrong)", wrong, STEPS * n);
    for (int s = 0; s < STEPS; s++) {
        double wall = t_end[s] - t_submit[s];
        CHECK(t_submit[s] >= 0 && t_end[s] >= 0 && gpu_sum[s] > 0 && gpu_sum[s] <= wall * 1.0001 + 1,
              "step %d: dispatches sum to %.0f us within the step's wall time %.0f us", s, gpu_sum[s], wall);
    }
    free(seen);
    vc_json_free(j);
}

/* bench peak: measured once, then read from the cache in $XDG_CACHE_HOME. */
static void test_peak_cache(const char *root) {
    char out[300];
    snprintf(out, sizeof out, "%s/peak.json", root);
    double g[2] = {0}, b[2] = {0};
    int cached[2] = {-1, -1};
    for (int k = 0; k < 2; k++) {
        CHECK(run_cli("bench peak --json", out) == 0, "bench peak exits 0");
        size_t len;
        char *text = th_read_file(out, &len);
        VcJsonError err;
        VcJson *j = text ? vc_json_parse(text, len, &err) : NULL;
        CHECK(j != NULL, "bench peak --json parses");
        if (j) {
            vc_json_number(vc_json_get(j, "fp32_gflops"), &g[k]);
            vc_json_number(vc_json_get(j, "bandwidth_gbps"), &b[k]);
            vc_json_bool(vc_json_get(j, "cached"), &cached[k]);
        }
        vc_json_free(j);
        free(text);
    }
    /* the profile above measured and cached it already */
    CHECK(cached[0] == 1 && cached[1] == 1 && g[0] == g[1] && b[0] == b[1] && g[0] > 0 && b[0] > 0,
          "peak cached: %.1f GFLOP/s %.1f GB/s (cached %d %d)", g[0], b[0], cached[0], cached[1]);
    CHECK(run_cli("bench peak --bogus", out) != 0, "bench peak --bogus fails");

    /* --remeasure keeps the better of the new and cached figures: a cached FMA rate far
     * above anything measurable stays, one far below is replaced */
    static const double planted[2] = {1e6, 1e-3};
    for (int k = 0; k < 2; k++) {
        char cmd[600];
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import glob,json,sys; p=glob.glob(sys.argv[1]+\"/peak-*.json\")[0]; d=json.load(open(p)); "
                 "d[\"gflops\"]=%g; json.dump(d,open(p,\"w\"))' '%s'",
                 planted[k], getenv("VKCONTRAST_PEAK_CACHE"));
        CHECK(system(cmd) == 0, "planted %g GFLOP/s in the cache", planted[k]);
        CHECK(run_cli("bench peak --remeasure --json", out) == 0, "bench peak --remeasure exits 0");
        size_t len;
        char *text = th_read_file(out, &len);
        VcJsonError err;
        VcJson *j = text ? vc_json_parse(text, len, &err) : NULL;
        double gf = -1;
        int was_cached = -1;
        if (j) vc_json_number(vc_json_get(j, "fp32_gflops"), &gf), vc_json_bool(vc_json_get(j, "cached"), &was_cached);
        if (k == 0) CHECK(gf == planted[0] && was_cached == 0, "remeasure keeps the better cached 1e6 GFLOP/s (got %g)", gf);
        else CHECK(gf > 1 && gf < 1e6 && was_cached == 0, "remeasure replaces a cached 1e-3 GFLOP/s (got %g)", gf);
        vc_json_free(j);
        free(text);
    }
}

int main(void) {
    if (access(FMNIST, R_OK) != 0) {
        printf("SKIP: no Fashion-MNIST at %s\n", FMNIST);
        return 77;
    }
    char root[] = "/tmp/vc_profile_XXXXXX";
    VC_ASSERT(mkdtemp(root));
    char cache[200];
    snprintf(cache, sizeof cache, "%s/cache", root);
    setenv("VKCONTRAST_PEAK_CACHE", cache, 1); /* a fresh peak cache: profile measures it */
    test_bench(root);
    test_profile_trace(root);
    test_peak_cache(root);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return th_finish();
}
