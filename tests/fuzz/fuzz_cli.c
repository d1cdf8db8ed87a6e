/* fuzz_cli.c - fuzz target for the command line (cli_options.c): the input
 * is the arguments after the program name, separated by NUL bytes. Any
 * arguments must give a usage error with a message, or options within
 * their documented ranges; with --resume, the checks against a checkpoint
 * must hold too. A broken rule aborts, so libFuzzer reports it. Built with
 * libFuzzer by scripts/fuzz, and with tests/fuzz/replay.c into a normal
 * program that CTest runs over the corpus and every crash ever found. */
#define _POSIX_C_SOURCE 200809L
#include "cli_options.h"
#include "fuzz_util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ARGS = 256 };

static void check_options(const cli_options *cli, int argc)
{
    const job_options *o = &cli->job;
    const nmf_params *p = &o->config.params;
    FUZZ_REQUIRE(p->k >= 1 && p->max_iter >= 1, "k, max_iter >= 1");
    FUZZ_REQUIRE(p->tol >= 0 && isfinite(p->tol), "tol finite, >= 0");
    FUZZ_REQUIRE(p->beta >= -100 && p->beta <= 100, "beta in -100..100");
    FUZZ_REQUIRE(p->alpha_W >= 0 && isfinite(p->alpha_W), "alpha_W finite, >= 0");
    FUZZ_REQUIRE(p->alpha_H == -1 || (p->alpha_H >= 0 && isfinite(p->alpha_H)), "alpha_H");
    FUZZ_REQUIRE(p->l1_ratio >= 0 && p->l1_ratio <= 1, "l1_ratio in 0..1");
    FUZZ_REQUIRE(p->threads >= 0 && p->threads <= 4096, "threads in 0..4096");
    FUZZ_REQUIRE(p->checkpoint_every >= 0, "checkpoint_every >= 0");
    FUZZ_REQUIRE(o->config.recon_count >= 1 && o->config.recon_count <= 1000, "recon in 1..1000");
    FUZZ_REQUIRE(o->output_dir && *o->output_dir, "output directory named");
    FUZZ_REQUIRE(o->max_memory >= 1, "a memory budget of at least a byte");
    FUZZ_REQUIRE(!o->cache_dir || *o->cache_dir, "a cache directory named, if given");
    FUZZ_REQUIRE((p->init == NMF_INIT_CUSTOM) == (o->init_w_path && o->init_h_path),
            "--init custom if and only if both --init-w and --init-h");
    FUZZ_REQUIRE(o->n_inputs <= (size_t)argc - 1, "inputs within argv");
    for (size_t i = 0; i < o->n_inputs; i++)
        FUZZ_REQUIRE(o->inputs[i] != NULL, "inputs non-NULL");
}

/* A checkpointed run to resume: 50 iterations done (of the default
 * max_iter) on two inputs. */
static void check_resume(cli_options *cli)
{
    static const char *const inputs[] = {"faces", "more/faces"};
    checkpoint_info rec;
    memset(&rec, 0, sizeof rec);
    run_config_default(&rec.config);
    rec.inputs = inputs;
    rec.n_inputs = 2;
    int given_max_iter = cli->job.config.params.max_iter;
    int max_iter_given = cli->given & SETTING_BIT(SETTING_MAX_ITER);
    if (cli_options_resume(cli, &rec, 50) != NMF_STATUS_OK) {
        FUZZ_REQUIRE(*nmf_last_error() != '\0', "a refused --resume has a message");
        return;
    }
    FUZZ_REQUIRE(cli->job.inputs == inputs && cli->job.n_inputs == 2, "resume keeps the inputs");
    FUZZ_REQUIRE(cli->job.output_dir == cli->resume_dir, "resume writes to its directory");
    FUZZ_REQUIRE(cli->job.config.params.max_iter ==
                         (max_iter_given ? given_max_iter : rec.config.params.max_iter) &&
                cli->job.config.params.max_iter >= 50,
            "resume's max_iter: the given one, not below the iterations done");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* NUL-separated arguments, each a copy (getopt reorders argv). */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = "nmf-faces";
    for (size_t at = 0; at < size && argc < MAX_ARGS; at += strlen(text + at) + 1)
        argv[argc++] = text + at;
    argv[argc] = NULL;

    cli_options cli;
    if (cli_options_parse(argc, argv, &cli) != NMF_STATUS_OK) {
        FUZZ_REQUIRE(*nmf_last_error() != '\0', "a usage error has a message");
    } else if (cli.action == CLI_RUN) {
        check_options(&cli, argc);
        if (cli.resume_dir)
            check_resume(&cli);
    }
    free(text);
    return 0;
}
