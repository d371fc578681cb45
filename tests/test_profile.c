/* test_profile.c — `vkcontrast bench` and `vkcontrast profile` on a few small steps:
 * bench's JSON parses and holds consistent numbers; bad options fail with a message. */
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

int main(void) {
    if (access(FMNIST, R_OK) != 0) {
        printf("SKIP: no Fashion-MNIST at %s\n", FMNIST);
        return 77;
    }
    char root[] = "/tmp/vc_profile_XXXXXX";
    VC_ASSERT(mkdtemp(root));
    test_bench(root);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    return th_finish();
}
