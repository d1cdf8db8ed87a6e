/* cli_options.c - see cli_options.h. */
#define _POSIX_C_SOURCE 200809L
#include "cli_options.h"

#include "error.h"
#include "size_text.h"

#include <ctype.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static nmf_status usage_error(const char *option, const char *value, const char *why)
{
    if (!*value)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s: %s", option, why);
    return nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s %s: %s", option, value, why);
}

/* Parses "A<sep>B" with both in lo..hi ("92x112" for --resize, "4,2" for
 * --sweeps). */
static int parse_pair(const char *s, char sep, long lo, long hi, int *a, int *b)
{
    char buf[64];
    const char *x = strchr(s, sep);
    long la, lb;
    if (!x || (size_t)(x - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(x - s));
    buf[x - s] = '\0';
    if (parse_whole(buf, lo, hi, &la) || parse_whole(x + 1, lo, hi, &lb))
        return -1;
    *a = (int)la;
    *b = (int)lb;
    return 0;
}

/* --max-memory: "auto" (DATASET_MEMORY_AVAILABLE) or a size (nmf_parse_bytes). */
static int parse_memory(const char *s, size_t *out)
{
    if (!strcmp(s, "auto")) {
        *out = DATASET_MEMORY_AVAILABLE;
        return 0;
    }
    return nmf_parse_bytes(s, out);
}

/* survey's -k: "A:B" or "A:B:STEP" (every STEP-th k from A up to B), or
 * one "K"; at most SURVEY_MAX_KS values. */
static int parse_k_range(const char *s, int *first, int *last, int *step)
{
    char buf[80];
    if (strlen(s) >= sizeof buf)
        return -1;
    strcpy(buf, s);
    char *part[3] = {buf, NULL, NULL};
    int parts = 1;
    for (char *c = buf; *c; c++)
        if (*c == ':') {
            if (parts == 3)
                return -1;
            *c = '\0';
            part[parts++] = c + 1;
        }
    long a, b, c = 1;
    if (parse_whole(part[0], 1, INT_MAX, &a))
        return -1;
    b = a;
    if ((parts > 1 && parse_whole(part[1], a, INT_MAX, &b)) ||
        (parts > 2 && parse_whole(part[2], 1, INT_MAX, &c)) || (b - a) / c + 1 > SURVEY_MAX_KS)
        return -1;
    *first = (int)a;
    *step = (int)c;
    *last = (int)(a + (b - a) / c * c); /* the last k the steps reach */
    return 0;
}

static int parse_loss(const char *s, double *beta)
{
    if (!strcmp(s, "frobenius"))
        *beta = 2.0;
    else if (!strcmp(s, "kullback-leibler") || !strcmp(s, "kl"))
        *beta = 1.0;
    else if (!strcmp(s, "itakura-saito") || !strcmp(s, "is"))
        *beta = 0.0;
    else
        return -1;
    return 0;
}

enum { OPT_MAX_ITER = 256, OPT_TOL, OPT_INIT, OPT_INIT_W, OPT_INIT_H, OPT_SEED, OPT_THREADS,
       OPT_STOPPING, OPT_SKLEARN, OPT_SWEEPS, OPT_DEVICE, OPT_PRECISION, OPT_RECON, OPT_GREY, OPT_RESIZE, OPT_SOLVER, OPT_LOSS,
       OPT_BETA, OPT_ALPHA_W, OPT_ALPHA_H, OPT_L1_RATIO, OPT_CHECKPOINT, OPT_RESUME,
       OPT_OVERWRITE, OPT_COLOUR, OPT_MODEL, OPT_CODES, OPT_STORAGE, OPT_MAX_MEMORY, OPT_CACHE,
       OPT_MISSING, OPT_MASK, OPT_WRITE_COMPLETED, OPT_RESTARTS, OPT_NULL };

static const struct option long_options[] = {
    {"components", required_argument, NULL, 'k'},
    {"max-iter", required_argument, NULL, OPT_MAX_ITER},
    {"tol", required_argument, NULL, OPT_TOL},
    {"init", required_argument, NULL, OPT_INIT},
    {"solver", required_argument, NULL, OPT_SOLVER},
    {"stopping", required_argument, NULL, OPT_STOPPING},
    {"sklearn", no_argument, NULL, OPT_SKLEARN},
    {"sweeps", required_argument, NULL, OPT_SWEEPS},
    {"loss", required_argument, NULL, OPT_LOSS},
    {"beta", required_argument, NULL, OPT_BETA},
    {"alpha-w", required_argument, NULL, OPT_ALPHA_W},
    {"alpha-h", required_argument, NULL, OPT_ALPHA_H},
    {"l1-ratio", required_argument, NULL, OPT_L1_RATIO},
    {"init-w", required_argument, NULL, OPT_INIT_W},
    {"init-h", required_argument, NULL, OPT_INIT_H},
    {"seed", required_argument, NULL, OPT_SEED},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"device", required_argument, NULL, OPT_DEVICE},
    {"precision", required_argument, NULL, OPT_PRECISION},
    {"output", required_argument, NULL, 'o'},
    {"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT},
    {"resume", required_argument, NULL, OPT_RESUME},
    {"overwrite", no_argument, NULL, OPT_OVERWRITE},
    {"recon", required_argument, NULL, OPT_RECON},
    {"grey", required_argument, NULL, OPT_GREY},
    {"resize", required_argument, NULL, OPT_RESIZE},
    {"colour", no_argument, NULL, OPT_COLOUR},
    {"color", no_argument, NULL, OPT_COLOUR},
    {"storage", required_argument, NULL, OPT_STORAGE},
    {"max-memory", required_argument, NULL, OPT_MAX_MEMORY},
    {"cache", required_argument, NULL, OPT_CACHE},
    {"missing", required_argument, NULL, OPT_MISSING},
    {"mask", required_argument, NULL, OPT_MASK},
    {"write-completed", no_argument, NULL, OPT_WRITE_COMPLETED},
    {"restarts", required_argument, NULL, OPT_RESTARTS},
    {"null", no_argument, NULL, OPT_NULL},
    {"model", required_argument, NULL, OPT_MODEL},
    {"codes", required_argument, NULL, OPT_CODES},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* Applies one option c with value arg; 0 or the usage error. */
static nmf_status apply_option(int c, const char *arg, cli_options *out)
{
    job_options *o = &out->job;
    run_config *cfg = &o->config;
    nmf_params *p = &cfg->params;
    long v;
    switch (c) {
    case 'k':
        if (out->command == CLI_SURVEY) {
            if (parse_k_range(arg, &out->k_first, &out->k_last, &out->k_step))
                return usage_error("-k/--components", arg,
                                   "must be A:B or A:B:STEP (every STEP-th k from A to B), "
                                   "whole numbers with 1 <= A <= B, at most 1000 values");
            break;
        }
        if (parse_whole(arg, 1, INT_MAX, &v))
            return usage_error("-k/--components", arg, "must be a whole number >= 1");
        p->k = (int)v;
        out->given |= SETTING_BIT(SETTING_K);
        break;
    case OPT_MAX_ITER:
        if (parse_whole(arg, 1, INT_MAX, &v))
            return usage_error("--max-iter", arg, "must be a whole number >= 1");
        p->max_iter = (int)v;
        out->given |= SETTING_BIT(SETTING_MAX_ITER);
        break;
    case OPT_TOL:
        if (parse_number(arg, 0.0, 1e300, &p->tol))
            return usage_error("--tol", arg, "must be a number >= 0");
        out->given |= SETTING_BIT(SETTING_TOL);
        break;
    case OPT_SOLVER:
        if (nmf_solver_parse(arg, &p->solver))
            return usage_error("--solver", arg, "must be mu or hals");
        out->given |= SETTING_BIT(SETTING_SOLVER);
        break;
    case OPT_STOPPING:
        if (nmf_stopping_parse(arg, &p->stopping))
            return usage_error("--stopping", arg, "must be relative or sklearn");
        out->given |= SETTING_BIT(SETTING_STOPPING);
        break;
    case OPT_SKLEARN:
        out->sklearn = 1;
        break;
    case OPT_SWEEPS:
        if (parse_pair(arg, ',', 1, NMF_MAX_SWEEPS, &p->sweeps_W, &p->sweeps_H))
            return usage_error("--sweeps", arg, "must be W,H with each in 1..64");
        out->given |= SETTING_BIT(SETTING_SWEEPS_W) | SETTING_BIT(SETTING_SWEEPS_H);
        break;
    case OPT_LOSS:
        if (parse_loss(arg, &p->beta))
            return usage_error("--loss", arg,
                               "must be frobenius, kullback-leibler (kl) or itakura-saito (is)");
        out->given |= SETTING_BIT(SETTING_BETA);
        break;
    case OPT_BETA:
        if (parse_number(arg, -100.0, 100.0, &p->beta))
            return usage_error("--beta", arg, "must be a number in -100..100");
        out->given |= SETTING_BIT(SETTING_BETA);
        break;
    case OPT_ALPHA_W:
        if (parse_number(arg, 0.0, 1e30, &p->alpha_W))
            return usage_error("--alpha-w", arg, "must be a number >= 0");
        out->given |= SETTING_BIT(SETTING_ALPHA_W);
        break;
    case OPT_ALPHA_H:
        if (parse_number(arg, 0.0, 1e30, &p->alpha_H))
            return usage_error("--alpha-h", arg, "must be a number >= 0");
        out->given |= SETTING_BIT(SETTING_ALPHA_H);
        break;
    case OPT_L1_RATIO:
        if (parse_number(arg, 0.0, 1.0, &p->l1_ratio))
            return usage_error("--l1-ratio", arg, "must be a number in 0..1");
        out->given |= SETTING_BIT(SETTING_L1_RATIO);
        break;
    case OPT_INIT:
        if (nmf_init_parse(arg, &p->init))
            return usage_error("--init", arg, "must be random, nndsvd, nndsvda, nndsvdar or custom");
        out->given |= SETTING_BIT(SETTING_INIT);
        break;
    case OPT_INIT_W:
        o->init_w_path = arg;
        out->given |= CLI_GIVEN_INIT_FILES;
        break;
    case OPT_INIT_H:
        o->init_h_path = arg;
        out->given |= CLI_GIVEN_INIT_FILES;
        break;
    case OPT_SEED:
        if (parse_whole(arg, 0, 4294967295L, &v))
            return usage_error("--seed", arg, "must be a whole number in 0..4294967295");
        p->seed = (uint32_t)v;
        out->given |= SETTING_BIT(SETTING_SEED);
        break;
    case OPT_THREADS:
        if (parse_whole(arg, 0, 4096, &v))
            return usage_error("--threads", arg, "must be a whole number in 0..4096");
        p->threads = (int)v;
        cfg->data.threads = (int)v;
        out->given |= SETTING_BIT(SETTING_THREADS);
        break;
    case OPT_DEVICE:
        if (nmf_device_parse(arg, &p->device))
            return usage_error("--device", arg, "must be auto, cpu or gpu");
        out->given |= SETTING_BIT(SETTING_DEVICE);
        break;
    case OPT_PRECISION:
        if (nmf_precision_parse(arg, &p->precision))
            return usage_error("--precision", arg, "must be fp32 or tf32");
        out->given |= SETTING_BIT(SETTING_PRECISION);
        break;
    case 'o':
        if (!*arg)
            return usage_error("-o/--output", "''", "must not be empty");
        o->output_dir = arg;
        out->given |= CLI_GIVEN_OUTPUT;
        break;
    case OPT_RECON:
        if (parse_whole(arg, 1, 1000, &v))
            return usage_error("--recon", arg, "must be a whole number in 1..1000");
        cfg->recon_count = (int)v;
        out->given |= SETTING_BIT(SETTING_RECON);
        break;
    case OPT_GREY:
        if (dataset_grey_parse(arg, &cfg->data.grey))
            return usage_error("--grey", arg, "must be luma or first");
        out->given |= SETTING_BIT(SETTING_GREY);
        break;
    case OPT_STORAGE: /* not a recorded setting: either way the same values */
        if (dataset_storage_parse(arg, &cfg->data.storage))
            return usage_error("--storage", arg, "must be auto or float32");
        break;
    case OPT_MAX_MEMORY: /* not recorded either: where V is held, not what it is */
        if (parse_memory(arg, &o->max_memory))
            return usage_error("--max-memory", arg,
                               "must be auto or a size such as 48M, 2G (K, M, G, T: powers of 1024)");
        break;
    case OPT_CACHE:
        if (!*arg)
            return usage_error("--cache", "''", "must not be empty");
        o->cache_dir = arg;
        break;
    case OPT_MISSING:
        if (strcmp(arg, "alpha") != 0)
            return usage_error("--missing", arg, "must be alpha (for mask images, --mask DIR)");
        if (cfg->data.missing == DATASET_MISSING_MASKS)
            return usage_error("--missing", arg, "does not go with --mask");
        cfg->data.missing = DATASET_MISSING_ALPHA;
        out->given |= SETTING_BIT(SETTING_MISSING);
        break;
    case OPT_MASK:
        if (!*arg)
            return usage_error("--mask", "''", "must not be empty");
        if (cfg->data.missing == DATASET_MISSING_ALPHA)
            return usage_error("--mask", arg, "does not go with --missing alpha");
        cfg->data.missing = DATASET_MISSING_MASKS;
        cfg->data.mask_dir = arg;
        out->given |= SETTING_BIT(SETTING_MISSING);
        break;
    case OPT_WRITE_COMPLETED: /* not recorded: what is written, not what is fitted */
        o->write_completed = 1;
        break;
    case OPT_RESIZE:
        if (parse_pair(arg, 'x', 1, 65536, &cfg->data.resize_w, &cfg->data.resize_h))
            return usage_error("--resize", arg, "must be WIDTHxHEIGHT, e.g. 92x112, each 1..65536");
        out->given |= SETTING_BIT(SETTING_RESIZE);
        break;
    case OPT_CHECKPOINT:
        if (parse_whole(arg, 0, INT_MAX, &v))
            return usage_error("--checkpoint-every", arg, "must be a whole number >= 0");
        p->checkpoint_every = (int)v;
        out->given |= SETTING_BIT(SETTING_CHECKPOINT_EVERY);
        break;
    case OPT_RESUME:
        if (!*arg)
            return usage_error("--resume", "''", "must not be empty");
        out->resume_dir = arg;
        break;
    case OPT_OVERWRITE:
        o->overwrite = 1;
        break;
    case OPT_COLOUR:
        cfg->data.colour = 1;
        out->given |= SETTING_BIT(SETTING_COLOUR);
        break;
    case OPT_MODEL:
        if (!*arg)
            return usage_error("--model", "''", "must not be empty");
        out->model_dir = arg;
        break;
    case OPT_CODES:
        if (!*arg)
            return usage_error("--codes", "''", "must not be empty");
        out->codes_path = arg;
        break;
    case OPT_RESTARTS:
        if (parse_whole(arg, 1, 1000, &v))
            return usage_error("--restarts", arg, "must be a whole number in 1..1000");
        out->restarts = (int)v;
        break;
    case OPT_NULL:
        out->null_data = 1;
        break;
    case 'q':
        o->quiet = 1;
        break;
    }
    return NMF_STATUS_OK;
}

#define SHORT_OPTIONS "koqhV"

/* Whether getopt's optopt names one of our options (not an unknown letter). */
static int is_option(int opt)
{
    return opt >= 256 || (opt > 0 && strchr(SHORT_OPTIONS, opt) != NULL);
}

/* The option getopt just stopped at, as the user wrote it, into buf (at
 * least 32 bytes). glibc leaves the option in optopt: 0 for an unknown
 * long option, which is then the argument just passed; an option's own
 * value (a short option letter, or >= 256) for a missing value (the last
 * argument) or for a value given to a long option that takes none
 * ("--quiet=1", also the argument just passed); else the unknown letter. */
static const char *option_name(int argc, char **argv, char *buf, size_t size)
{
    const char *arg = optind > 1 && optind - 1 < argc ? argv[optind - 1] : "";
    if (optopt == 0 || (is_option(optopt) && !strncmp(arg, "--", 2)))
        return arg;
    unsigned char letter = (unsigned char)optopt;
    if (isgraph(letter))
        snprintf(buf, size, "-%c", letter);
    else
        snprintf(buf, size, "an option byte 0x%02x", letter);
    return buf;
}

/* A recognised option by its names ("--model", "-k/--components"), into
 * buf, from the table: the one getopt matched may be an abbreviation. */
static const char *option_spelling(int c, char *buf, size_t size)
{
    for (const struct option *lo = long_options; lo->name; lo++)
        if (lo->val == c) {
            if (c < 256)
                snprintf(buf, size, "-%c/--%s", c, lo->name);
            else
                snprintf(buf, size, "--%s", lo->name);
            return buf;
        }
    return "an option";
}

/* --sklearn: scikit-learn's defaults (nmf_params_sklearn) for every
 * setting it has that was not given; those but max_iter (which a resumed
 * run may raise) then count as given, so that --resume compares them.
 * With either defaults, a loss other than Frobenius takes the solver that
 * has it (mu) unless --solver was given, and mu the init that suits it. */
static nmf_status apply_solver_defaults(cli_options *out)
{
    nmf_params *p = &out->job.config.params;
    if (out->sklearn) {
        nmf_params sk;
        nmf_params_sklearn(&sk);
        if (!(out->given & SETTING_BIT(SETTING_MAX_ITER)))
            p->max_iter = sk.max_iter;
#define SKLEARN_DEFAULT(id, member)                     if (!(out->given & SETTING_BIT(SETTING_##id)))         p->member = sk.member;                         out->given |= SETTING_BIT(SETTING_##id);
        SKLEARN_DEFAULT(TOL, tol)
        SKLEARN_DEFAULT(STOPPING, stopping)
        SKLEARN_DEFAULT(INIT, init)
        SKLEARN_DEFAULT(SWEEPS_W, sweeps_W)
        SKLEARN_DEFAULT(SWEEPS_H, sweeps_H)
#undef SKLEARN_DEFAULT
    }
    /* MU for any loss but Frobenius, and for missing pixels (HALS takes
     * neither). */
    const int missing = out->job.config.data.missing != DATASET_MISSING_NONE;
    if (!(out->given & SETTING_BIT(SETTING_SOLVER)))
        p->solver = p->beta != 2.0 || missing ? NMF_SOLVER_MU
                    : out->sklearn             ? NMF_SOLVER_HALS
                                               : p->solver;
    /* nndsvd's exact zeros stay zero under MU (a product of the old value),
     * so MU starts from nndsvda, whose zeros are filled in. */
    if (!(out->given & SETTING_BIT(SETTING_INIT)) && p->solver == NMF_SOLVER_MU)
        p->init = NMF_INIT_NNDSVDA;
    if (p->beta != 2.0 && p->solver == NMF_SOLVER_HALS)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "--solver hals: minimises the Frobenius loss only; use --solver mu "
                         "for --loss %s", nmf_loss_name(p->beta));
    if (missing && p->solver == NMF_SOLVER_HALS)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "--solver hals: does not fit with missing pixels (its coordinate steps "
                         "take every pixel as observed); use --solver mu");
    return NMF_STATUS_OK;
}

/* The commands' first words, and the options each takes: fit all but
 * the model's and the survey's, transform those of the solve and the
 * output, reconstruct only the model, the codes and the output, survey a
 * fit's but those of one run (resume, checkpoints, start files, what is
 * written of one fit) and of where V goes (it holds V in memory), and its
 * own. */
static const char *const command_words[] = {[CLI_FIT] = "fit", [CLI_TRANSFORM] = "transform",
                                            [CLI_RECONSTRUCT] = "reconstruct",
                                            [CLI_SURVEY] = "survey"};

static int is_survey_option(int c)
{
    return c == OPT_RESTARTS || c == OPT_NULL;
}

static int takes_option(cli_command command, int c)
{
    static const int transform_takes[] = {OPT_MODEL, 'o', OPT_OVERWRITE, OPT_MAX_ITER, OPT_TOL,
                                          OPT_SOLVER, OPT_SWEEPS, OPT_DEVICE, OPT_PRECISION,
                                          OPT_THREADS, OPT_RECON, OPT_STORAGE, OPT_MISSING,
                                          OPT_MASK, 'q', 0};
    static const int reconstruct_takes[] = {OPT_MODEL, OPT_CODES, 'o', OPT_OVERWRITE, 'q', 0};
    if (command == CLI_FIT)
        return c != OPT_MODEL && c != OPT_CODES && !is_survey_option(c);
    if (command == CLI_SURVEY)
        return c != OPT_MODEL && c != OPT_CODES && c != OPT_RESUME && c != OPT_CHECKPOINT &&
               c != OPT_INIT_W && c != OPT_INIT_H && c != OPT_WRITE_COMPLETED && c != OPT_RECON &&
               c != OPT_MAX_MEMORY && c != OPT_CACHE; /* V is held in memory (twice, --null) */
    const int *list = command == CLI_TRANSFORM ? transform_takes : reconstruct_takes;
    for (; *list; list++)
        if (*list == c)
            return 1;
    return 0;
}

/* "transform", "reconstruct" or "help [COMMAND]" as the first word: the
 * command, and how many words it took. */
static nmf_status parse_command(int argc, char **argv, cli_options *out, int *words)
{
    *words = 0;
    int help = argc > 1 && !strcmp(argv[1], "help");
    const char *word = argc > 1 + help ? argv[1 + help] : NULL;
    out->command = CLI_FIT;
    for (int c = CLI_TRANSFORM; word && c <= CLI_SURVEY; c++)
        if (!strcmp(word, command_words[c]))
            out->command = (cli_command)c;
    if (help) {
        if (word && out->command == CLI_FIT && strcmp(word, "fit"))
            return usage_error("help", word, "no such command (fit, transform, reconstruct or survey)");
        out->action = CLI_HELP;
        return NMF_STATUS_OK;
    }
    *words = out->command != CLI_FIT;
    return NMF_STATUS_OK;
}

/* survey's start: no custom one (its W0 is one k's), and with restarts a
 * random one, the default then, since an NNDSVD start makes every restart
 * the same fit; refused only when the user gave it (init_given), not when
 * --sklearn's defaults did. */
static nmf_status survey_start(cli_options *out, int init_given)
{
    nmf_params *p = &out->job.config.params;
    if (p->init == NMF_INIT_CUSTOM)
        return usage_error("--init", "custom",
                           "starts one k; a survey starts each k afresh (random or nndsvd*)");
    if (out->restarts < 2)
        return NMF_STATUS_OK;
    if (init_given && p->init != NMF_INIT_RANDOM)
        return usage_error("--init", nmf_init_name(p->init),
                           "starts every restart the same (or, nndsvdar, nearly: only its zeros are "
                           "drawn); --restarts 2 or more take --init random (their default), "
                           "--restarts 1 any init");
    p->init = NMF_INIT_RANDOM;
    return NMF_STATUS_OK;
}

nmf_status cli_options_parse(int argc, char **argv, cli_options *out)
{
    memset(out, 0, sizeof *out);
    job_options *o = &out->job;
    run_config_default(&o->config);
    o->max_memory = DATASET_MEMORY_AVAILABLE;
    int words;
    nmf_status st = parse_command(argc, argv, out, &words);
    if (st != NMF_STATUS_OK || out->action == CLI_HELP)
        return st;
    /* getopt reads from argv[1]: the command word stands in for the program's name. */
    argc -= words;
    argv += words;
    o->output_dir = out->command == CLI_TRANSFORM     ? TRANSFORM_DEFAULT_DIR
                    : out->command == CLI_RECONSTRUCT ? RECONSTRUCT_DEFAULT_DIR
                    : out->command == CLI_SURVEY      ? SURVEY_DEFAULT_DIR
                                                      : "nmf-out";
    out->restarts = SURVEY_DEFAULT_RESTARTS;
    parse_k_range(SURVEY_DEFAULT_K, &out->k_first, &out->k_last, &out->k_step);
    if (out->command == CLI_TRANSFORM) {
        o->config.params.tol = TRANSFORM_DEFAULT_TOL;
        o->config.params.max_iter = TRANSFORM_DEFAULT_MAX_ITER;
    }

    opterr = 0;
    optind = 0; /* glibc: start afresh, so that a second call parses anew */
    int c;
    char name[32];
    while ((c = getopt_long(argc, argv, ":k:o:qhV", long_options, NULL)) != -1) {
        switch (c) {
        case 'h':
            out->action = CLI_HELP;
            return NMF_STATUS_OK;
        case 'V':
            out->action = CLI_VERSION;
            return NMF_STATUS_OK;
        case ':':
            return usage_error(option_name(argc, argv, name, sizeof name), "", "needs a value");
        case '?':
            if (is_option(optopt))
                return usage_error(option_name(argc, argv, name, sizeof name), "",
                                   "takes no value");
            return usage_error(option_name(argc, argv, name, sizeof name), "", "unknown option");
        default:
            if (!takes_option(out->command, c))
                return usage_error(option_spelling(c, name, sizeof name), "",
                                   out->command != CLI_FIT ? "not an option of this command (see its help)"
                                   : is_survey_option(c)   ? "only for survey"
                                                           : "only for transform and reconstruct");
            if ((st = apply_option(c, optarg, out)) != NMF_STATUS_OK)
                return st;
        }
    }
    o->inputs = (const char *const *)argv + optind;
    o->n_inputs = (size_t)(argc - optind);
    out->action = CLI_RUN;
    if (out->command == CLI_TRANSFORM || out->command == CLI_RECONSTRUCT) {
        if (!out->model_dir)
            return usage_error(command_words[out->command], "", "needs --model DIR");
        if (out->command == CLI_RECONSTRUCT && !out->codes_path)
            return usage_error("reconstruct", "", "needs --codes FILE (W.npy of a transform)");
        if (out->command == CLI_RECONSTRUCT && o->n_inputs)
            return usage_error("reconstruct", o->inputs[0], "takes no images, only --codes");
        if (out->command == CLI_TRANSFORM && !o->n_inputs)
            return usage_error("transform", "", "needs the images to encode (INPUT...)");
        return NMF_STATUS_OK;
    }

    const int init_given = (out->given & SETTING_BIT(SETTING_INIT)) != 0;
    if ((st = apply_solver_defaults(out)) != NMF_STATUS_OK)
        return st;
    if (o->config.data.colour && (out->given & SETTING_BIT(SETTING_GREY)))
        return usage_error("--grey", "", "makes grey rows; it does not go with --colour");
    if (o->init_w_path || o->init_h_path) {
        if ((out->given & SETTING_BIT(SETTING_INIT)) && o->config.params.init != NMF_INIT_CUSTOM)
            return usage_error("--init-w/--init-h", "", "only go with --init custom");
        o->config.params.init = NMF_INIT_CUSTOM;
    }
    if (out->command == CLI_SURVEY)
        return survey_start(out, init_given);
    if (o->config.params.init == NMF_INIT_CUSTOM && (!o->init_w_path || !o->init_h_path))
        return usage_error("--init", "custom", "needs both --init-w FILE and --init-h FILE");
    return NMF_STATUS_OK;
}

nmf_status cli_options_resume(cli_options *o, const checkpoint_info *rec, int done)
{
    const job_options *given = &o->job;
    const char *dir = o->resume_dir;
    int inputs_differ = given->n_inputs && given->n_inputs != rec->n_inputs;
    for (size_t i = 0; given->n_inputs && !inputs_differ && i < given->n_inputs; i++)
        inputs_differ = strcmp(given->inputs[i], rec->inputs[i]) != 0;
    if (inputs_differ)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "--resume %s: the inputs differ from the checkpointed run's", dir);
    /* Every recorded setting given must be the checkpoint's, but --max-iter,
     * which may be raised. */
    const char *differs = NULL;
    setting_id id = settings_first_difference(&given->config, &rec->config,
                                              o->given & ~SETTING_BIT(SETTING_MAX_ITER));
    if (id != SETTING_COUNT)
        differs = setting_option(id);
    else if ((o->given & CLI_GIVEN_OUTPUT) && strcmp(given->output_dir, dir) != 0)
        differs = "-o/--output";
    else if (o->given & CLI_GIVEN_INIT_FILES)
        differs = "--init-w/--init-h";
    if (differs)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "--resume %s: %s differs from the checkpointed run's", dir, differs);
    int given_max_iter = (o->given & SETTING_BIT(SETTING_MAX_ITER)) != 0;
    const int wanted = given->config.params.max_iter;
    if (given_max_iter && wanted < done)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "--max-iter %d: the checkpointed run has already done %d iterations",
                         wanted, done);
    const int quiet = given->quiet;
    const dataset_storage storage = given->config.data.storage; /* not recorded */
    const char *mask_dir = given->config.data.mask_dir; /* the invocation's */
    if (rec->config.data.missing == DATASET_MISSING_MASKS && !mask_dir)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "--resume %s: the checkpointed run read masks; give --mask DIR again", dir);
    o->job.config = rec->config;
    o->job.config.data.mask_dir = mask_dir;
    if (given_max_iter)
        o->job.config.params.max_iter = wanted;
    o->job.config.data.threads = o->job.config.params.threads;
    o->job.config.data.storage = storage;
    o->job.inputs = rec->inputs;
    o->job.n_inputs = rec->n_inputs;
    o->job.quiet = quiet;
    o->job.output_dir = dir;
    return NMF_STATUS_OK;
}

const char *cli_message(const char *message, char *buf, size_t size)
{
    for (setting_id id = 0; id < SETTING_COUNT; id++) {
        const char *key = setting_key(id);
        const size_t len = strlen(key);
        if (strncmp(message, key, len) == 0 && (message[len] == ':' || message[len] == ' ')) {
            snprintf(buf, size, "%s%s", setting_option(id), message + len);
            return buf;
        }
    }
    return message;
}
