/* cli_options.h - internal: the nmf-faces command line parsed into a job,
 * and --resume's rules for combining it with a checkpoint. Apart from main
 * (cli.c) so that the parsing is fuzzed (tests/fuzz/fuzz_cli.c) like every
 * other reader of outside input. Prints nothing: failures are reported
 * through nmf_last_error(). */
#ifndef NMF_CLI_OPTIONS_H
#define NMF_CLI_OPTIONS_H

#include "checkpoint.h"
#include "job.h"
#include "survey.h"
#include "transform.h"

/* The first word of the command line; none means fit. */
typedef enum {
    CLI_FIT,         /* nmf-faces [options] INPUT...: factorise */
    CLI_TRANSFORM,   /* nmf-faces transform --model DIR [options] INPUT... */
    CLI_RECONSTRUCT, /* nmf-faces reconstruct --model DIR --codes W.npy [-o DIR] */
    CLI_SURVEY       /* nmf-faces survey [-k A:B[:STEP]] [options] INPUT... */
} cli_command;

typedef enum {
    CLI_RUN,     /* run the job */
    CLI_HELP,    /* -h/--help: print the usage, exit 0 */
    CLI_VERSION  /* -V/--version */
} cli_action;

/* The options a user gave, to compare with a checkpoint's: a recorded
 * setting's SETTING_BIT, or one of these for what is not recorded. */
enum {
    CLI_GIVEN_OUTPUT = SETTING_BIT(SETTING_COUNT),
    CLI_GIVEN_INIT_FILES = SETTING_BIT(SETTING_COUNT + 1)
};

typedef struct {
    cli_action action;      /* CLI_HELP: the usage of `command` */
    cli_command command;
    job_options job;        /* inputs point into argv; n_inputs == 0 when none given */
    const char *model_dir;  /* transform, reconstruct: --model DIR */
    const char *codes_path; /* reconstruct: --codes FILE */
    const char *resume_dir; /* --resume DIR, or NULL */
    unsigned given;         /* SETTING_BITs and CLI_GIVEN_* */
    int sklearn;            /* --sklearn: scikit-learn's defaults and stopping rules */
    /* survey: -k A:B[:STEP] (default SURVEY_DEFAULT_K), --restarts, --null */
    int k_first, k_last, k_step, restarts, null_data;
} cli_options;

/* Parses argv[1..argc) with getopt_long (which reorders argv) into out,
 * starting from the defaults; may be called again, getopt's state is reset.
 * A first word "transform", "reconstruct" or "survey" selects that command
 * (its own defaults, and only its options); "help [COMMAND]" asks for a usage.
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

/* A library message as the command line says it: a leading parameter name
 * (a RUN_SETTINGS key: "k: must be ...", "device gpu: ...") becomes its
 * option ("-k/--components: must be ...", "--device gpu: ..."). Returns
 * message itself when it names none, else buf (truncated to size). */
const char *cli_message(const char *message, char *buf, size_t size);

#endif
