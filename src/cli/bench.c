/* bench.c — `vkcontrast bench ...` (ops benchmark arrives with the GEMM kernels). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int cmd_bench(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return cli_fail("bench: not available yet");
}
