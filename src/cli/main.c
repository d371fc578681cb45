/* main.c — the vkcontrast command line: dispatch to one file per subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cli_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("vkcontrast: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static const char *usage =
    "vkcontrast — contrastive self-supervised training on any Vulkan GPU\n"
    "\n"
    "usage: vkcontrast <command> [options]\n"
    "\n"
    "commands:\n"
    "  devices [--json]          list Vulkan devices and their properties\n"
    "  train [options]           train SimCLR (default: small-resnet on Fashion-MNIST)\n"
    "  eval --checkpoint F       kNN accuracy of a checkpoint's representation\n"
    "  embed --checkpoint F --data PATH --out X.npy   features and labels as .npy\n"
    "  augment --out GRID.png    PNG grid of images and their augmented views\n"
    "  profile [train options] [--steps N] [--trace T.json]   time every dispatch, table by op\n"
    "  bench [train options] [--steps N] [--json]   training images/s, ms/step, peak memory\n"
    "  bench ops [--json]        GFLOP/s of GEMM and the conv layers, next to OpenBLAS\n"
    "  bench peak [--json]       the device's fp32 FMA and memory bandwidth peaks (cached)\n"
    "\n"
    "Run `vkcontrast <command> --help` for the options of a command.\n";

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "devices")) return cmd_devices(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(cmd, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(cmd, "profile")) return cmd_profile(argc - 1, argv + 1);
    if (!strcmp(cmd, "augment")) return cmd_augment(argc - 1, argv + 1);
    if (!strcmp(cmd, "embed")) return cmd_embed(argc - 1, argv + 1);
    fprintf(stderr, "vkcontrast: unknown command '%s'\n\n%s", cmd, usage);
    return 2;
}
