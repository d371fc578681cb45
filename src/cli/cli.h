/* cli.h — subcommands of the vkcontrast tool; each returns the process exit status. */
#ifndef VC_CLI_H
#define VC_CLI_H

int cmd_devices(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_augment(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_bench_train(int argc, char **argv); /* bench_train.c: `bench [train options]` */
int cmd_bench_peak(int argc, char **argv);  /* bench_peak.c: `bench peak` */

/* Print "vkcontrast: <message>" to stderr and return 1 (for `return cli_fail(...)`). */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
