/* test_report.c — report.html from a run folder written by hand: it parses as balanced HTML
 * (Python's html.parser, tests/check_report.py), every metrics value is a point of its
 * curve, the grid PNG is embedded byte for byte, config text is escaped, the top-ops table
 * comes from the profile; a corrupt metrics line fails naming the file and line and leaves
 * the previous report intact. The report of a real `train` run is checked in test_train. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "io/report.h"

static void write_file(const char *dir, const char *name, const void *data, size_t n) {
    char path[400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    VC_ASSERT(f);
    fwrite(data, 1, n, f);
    fclose(f);
}

static int check_with_python(const char *dir, bool grid) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "python3 '%s/tests/check_report.py' '%s/report.html' '%s/metrics.jsonl' %s%s%s", VC_SOURCE_DIR,
             dir, dir, grid ? "'" : "", grid ? dir : "", grid ? "/grid.png'" : "");
    return system(cmd);
}

int main(void) {
    char dir[] = "/tmp/vc_report_XXXXXX";
    VC_ASSERT(mkdtemp(dir));
    const char *metrics = "{\"epoch\":1,\"step\":3,\"loss\":5.25,\"lr\":0.06,\"images_per_s\":210.5,\"elapsed_s\":1.5}\n"
                          "{\"epoch\":2,\"step\":6,\"loss\":4.875,\"lr\":0.03,\"images_per_s\":230.25,\"elapsed_s\":3,\"knn_top1\":0.4375}\n"
                          "{\"epoch\":3,\"step\":9,\"loss\":4.5,\"lr\":0.001,\"images_per_s\":229,\"elapsed_s\":4.5,\"knn_top1\":0.5}\n";
    write_file(dir, "metrics.jsonl", metrics, strlen(metrics));
    const char *config = "{\"method\": \"simclr\", \"data\": \"/data/<script>alert(1)</script>&x\"}";
    write_file(dir, "config.json", config, strlen(config));
    unsigned char png[300];
    for (size_t i = 0; i < sizeof png; i++) png[i] = (unsigned char)(i * 37 + 11); /* any bytes: embedded as given */
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    write_file(dir, "grid.png", png, 299); /* a length that is not a multiple of 3: base64 padding */

    /* a profile of two steps, 3 dispatches each */
    VcTiming t[3] = {{.label = "conv_fwd_gemm", .group = "stem", .ms = 4, .flops = 8e6, .bytes = 1e6},
                     {.label = "relu_fwd", .group = "stem", .ms = 1, .start_ms = 4, .bytes = 2e6},
                     {.label = "sgd", .group = "optimizer", .ms = 0.5, .start_ms = 5, .bytes = 3e6}};
    VcProfile prof;
    vc_profile_init(&prof);
    vc_profile_add(&prof, t, 3);
    vc_profile_add(&prof, t, 3);
    char grid[300];
    snprintf(grid, sizeof grid, "%s/grid.png", dir);
    CHECK(vc_report_write(dir, &prof, grid) == VC_OK, "report written: %s", vc_last_error());
    CHECK(check_with_python(dir, true) == 0, "report parses, balances, holds every data point and the grid");

    char path[400];
    snprintf(path, sizeof path, "%s/report.html", dir);
    size_t len = 0;
    char *html = th_read_file(path, &len);
    CHECK(html && !strstr(html, "<script>alert") && strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;x"),
          "config text is HTML-escaped");
    const char *a = html ? strstr(html, "conv_fwd_gemm") : NULL, *b = html ? strstr(html, "relu_fwd") : NULL;
    CHECK(a && b && a < b && strstr(html, "<td>4.00</td>") && strstr(html, "<td>2.00</td>"),
          "top ops table sorted by time, 4 ms/step for conv_fwd_gemm, 2 GFLOP/s");
    free(html);

    /* no profile, no grid, no kNN: still a valid page, with the kNN chart saying so */
    const char *one = "{\"epoch\":1,\"step\":3,\"loss\":5.5,\"lr\":0.06,\"images_per_s\":100}\n";
    write_file(dir, "metrics.jsonl", one, strlen(one));
    CHECK(vc_report_write(dir, NULL, NULL) == VC_OK, "report without profile and grid");
    CHECK(check_with_python(dir, false) == 0, "minimal report is valid");
    html = th_read_file(path, &len);
    CHECK(html && strstr(html, "not measured in this run"), "absent kNN is said, not drawn");

    /* a corrupt line: an error naming the file and line; the previous report stays */
    const char *bad = "{\"epoch\":1,\"loss\":5.5}\n{\"epoch\": oops}\n";
    write_file(dir, "metrics.jsonl", bad, strlen(bad));
    CHECK(vc_report_write(dir, NULL, NULL) != VC_OK, "corrupt metrics.jsonl is an error");
    CHECK(strstr(vc_last_error(), "metrics.jsonl line 2") != NULL, "message names file and line: %s", vc_last_error());
    char *after = th_read_file(path, &len);
    CHECK(html && after && !strcmp(html, after), "previous report.html untouched");
    free(html);
    free(after);
    snprintf(path, sizeof path, "%s/nothing-here", dir);
    CHECK(vc_report_write(path, NULL, NULL) == VC_ERR_IO && strstr(vc_last_error(), "nothing-here/metrics.jsonl"),
          "missing run folder: %s", vc_last_error());
    vc_profile_free(&prof);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return th_finish();
}
