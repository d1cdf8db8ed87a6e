/* settings.h - internal: what a run records about how it was asked to run
 * (run_config), and the one table of those settings, RUN_SETTINGS, from
 * which the checkpoint's header, the --resume comparison, metrics.json and
 * the command line's "given" bits are all made. A new recorded setting is
 * one row here plus its uses: its option (cli_options.c, cli.c's usage)
 * and whatever reads it. */
#ifndef NMF_SETTINGS_H
#define NMF_SETTINGS_H

#include "dataset.h"
#include "nmf/nmf.h"
#include "strbuf.h"

#include <stdio.h>

/* A run's recorded settings, apart from its invocation (inputs, output
 * directory, --quiet): what a checkpoint keeps and a resumed run restores. */
typedef struct {
    nmf_params params;    /* the fit's; its callbacks are the job's, never recorded */
    dataset_options data; /* grey, colour, resize and missing recorded; threads follow
                             params.threads */
    int recon_count;      /* images shown in reconstructions.png */
} run_config;

/* X(ID, KEY, OPTION, KIND, MEMBER, IN_METRICS), in the checkpoint's order:
 *   KEY        the name in the checkpoint header and in metrics.json
 *   OPTION     the command-line option that sets it, for messages
 *   KIND       how it is shown, read and compared (settings.c): INT, U32,
 *              DOUBLE, an enum (INIT, STOPPING, SOLVER, DEVICE, PRECISION, GREY,
 *              MISSING: the folder of --mask is the invocation's, not recorded), or
 *              RESIZE (dataset_options' resize_w and resize_h)
 *   MEMBER     where it lives in run_config
 *   IN_METRICS 1 when metrics.json shows it as set; 0 for device and
 *              threads, which metrics.json shows as they ran instead. */
#define RUN_SETTINGS(X)                                                              \
    X(K, "k", "-k/--components", INT, params.k, 1)                                   \
    X(MAX_ITER, "max_iter", "--max-iter", INT, params.max_iter, 1)                   \
    X(TOL, "tol", "--tol", DOUBLE, params.tol, 1)                                    \
    X(STOPPING, "stopping", "--stopping", STOPPING, params.stopping, 1)              \
    X(SEED, "seed", "--seed", U32, params.seed, 1)                                   \
    X(INIT, "init", "--init", INIT, params.init, 1)                                  \
    X(SOLVER, "solver", "--solver", SOLVER, params.solver, 1)                        \
    X(SWEEPS_W, "sweeps_w", "--sweeps", INT, params.sweeps_W, 1)                     \
    X(SWEEPS_H, "sweeps_h", "--sweeps", INT, params.sweeps_H, 1)                     \
    X(BETA, "beta", "--loss/--beta", DOUBLE, params.beta, 1)                         \
    X(ALPHA_W, "alpha_w", "--alpha-w", DOUBLE, params.alpha_W, 1)                    \
    X(ALPHA_H, "alpha_h", "--alpha-h", DOUBLE, params.alpha_H, 1)                    \
    X(L1_RATIO, "l1_ratio", "--l1-ratio", DOUBLE, params.l1_ratio, 1)                \
    X(THREADS, "threads", "--threads", INT, params.threads, 0)                       \
    X(DEVICE, "device", "--device", DEVICE, params.device, 0)                        \
    X(PRECISION, "precision", "--precision", PRECISION, params.precision, 1)         \
    X(CHECKPOINT_EVERY, "checkpoint_every", "--checkpoint-every", INT,               \
      params.checkpoint_every, 1)                                                    \
    X(GREY, "grey", "--grey", GREY, data.grey, 1)                                    \
    X(COLOUR, "colour", "--colour", INT, data.colour, 1)                             \
    X(RESIZE, "resize", "--resize", RESIZE, data, 1)                                 \
    X(MISSING, "missing", "--missing/--mask", MISSING, data.missing, 1)              \
    X(RECON, "recon", "--recon", INT, recon_count, 1)

typedef enum {
#define SETTING_ID(id, key, option, kind, member, in_metrics) SETTING_##id,
    RUN_SETTINGS(SETTING_ID)
#undef SETTING_ID
    SETTING_COUNT
} setting_id;

/* The bit of a setting in a set of them (cli_options' `given`). */
#define SETTING_BIT(id) (1u << (id))

/* A setting's checkpoint and metrics.json name, and its option. */
const char *setting_key(setting_id id);
const char *setting_option(setting_id id);

/* The tool's number parsing, for the command line and the checkpoint: the
 * whole string must be the number. A decimal integer, or a finite decimal
 * number, in [lo, hi]: 0 and *out set, or -1 with *out untouched. */
int parse_whole(const char *s, long lo, long hi, long *out);
int parse_number(const char *s, double lo, double hi, double *out);

/* The defaults of every setting (nmf_params_default, dataset_options_default,
 * 8 reconstructions). */
void run_config_default(run_config *c);

/* Writes one "KEY VALUE" line per setting, in table order. */
void settings_write(FILE *fp, const run_config *c);

/* Parses the value text of setting id (as settings_write wrote it) into c;
 * 0, or -1 (c unchanged) for a value that is not of the setting's kind. */
int setting_read(setting_id id, const char *value, run_config *c);

/* The first setting in `among` (SETTING_BITs) whose values in a and b
 * differ, or SETTING_COUNT when none does. */
setting_id settings_first_difference(const run_config *a, const run_config *b, unsigned among);

/* Appends `  "KEY": VALUE,\n` for each setting metrics.json shows. */
void settings_to_json(strbuf *sb, const run_config *c);

#endif
