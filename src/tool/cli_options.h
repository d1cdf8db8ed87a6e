/* cli_options.h - internal: the nmf-faces command line parsed into a job,
 * and --resume's rules for combining it with a checkpoint. Apart from main
 * (cli.c) so that the parsing is fuzzed (tests/fuzz/fuzz_cli.c) like every
 * other reader of outside input. Prints nothing: failures are reported
 * through nmf_last_error(). */
#ifndef NMF_CLI_OPTIONS_H
#define NMF_CLI_OPTIONS_H

#include "checkpoint.h"
#include "job.h"

typedef enum {
    CLI_RUN,     /* run the job */
    CLI_HELP,    /* -h/--help: print the usage, exit 0 */
    CLI_VERSION  /* -V/--version */
} cli_action;

/* The options a user gave, to compare with a checkpoint's. */
enum {
    CLI_GIVEN_K = 1 << 0, CLI_GIVEN_TOL = 1 << 1, CLI_GIVEN_INIT = 1 << 2,
    CLI_GIVEN_SEED = 1 << 3, CLI_GIVEN_THREADS = 1 << 4, CLI_GIVEN_DEVICE = 1 << 5,
    CLI_GIVEN_PRECISION = 1 << 6, CLI_GIVEN_SOLVER = 1 << 7, CLI_GIVEN_BETA = 1 << 8,
    CLI_GIVEN_ALPHA_W = 1 << 9, CLI_GIVEN_ALPHA_H = 1 << 10, CLI_GIVEN_L1_RATIO = 1 << 11,
    CLI_GIVEN_GREY = 1 << 12, CLI_GIVEN_RESIZE = 1 << 13, CLI_GIVEN_RECON = 1 << 14,
    CLI_GIVEN_CHECKPOINT = 1 << 15, CLI_GIVEN_OUTPUT = 1 << 16, CLI_GIVEN_INIT_FILES = 1 << 17,
    CLI_GIVEN_MAX_ITER = 1 << 18
};

typedef struct {
    cli_action action;
    job_options job;        /* inputs point into argv; n_inputs == 0 when none given */
    const char *resume_dir; /* --resume DIR, or NULL */
    unsigned given;         /* CLI_GIVEN_* */
} cli_options;

/* Parses argv[1..argc) with getopt_long (which reorders argv) into out,
 * starting from the defaults; may be called again, getopt's state is reset.
 * On a usage error returns NMF_STATUS_BAD_ARGUMENT with nmf_last_error()
 * "OPTION VALUE: why". Checks each value's range and the combinations the
 * command line alone decides (--init custom needs --init-w and --init-h);
 * the rest is checked against the data by job_run. */
nmf_status cli_options_parse(int argc, char **argv, cli_options *out);

/* Continues the checkpointed run rec, which has done `done` iterations:
 * refuses inputs or any option given that differ from rec's (only
 * --max-iter may change, and not below `done`), then makes o->job rec's
 * job with the given --max-iter and --quiet and output_dir = resume_dir.
 * o->job's inputs then point into rec, which must outlive it. Returns
 * NMF_STATUS_BAD_ARGUMENT with the reason on a conflict. */
nmf_status cli_options_resume(cli_options *o, const checkpoint_info *rec, int done);

#endif
