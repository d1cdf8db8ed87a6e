/* job.h - internal: the tool's whole job, from image folders to the output
 * directory, for the command line (cli.c parses, this runs). */
#ifndef NMF_JOB_H
#define NMF_JOB_H

#include "dataset.h"
#include "nmf/nmf.h"

typedef struct {
    const char *const *inputs; /* directories and image files */
    size_t n_inputs;
    const char *output_dir;
    dataset_options data;
    nmf_params params;
    const char *init_w_path; /* .npy files for --init custom */
    const char *init_h_path;
    int recon_count;         /* images shown in reconstructions.png */
    int quiet;
} job_options;

/* Loads, checks, initialises, fits and writes every output. Everything that
 * can be checked is checked before the output directory is touched, so a
 * failing run leaves no output behind; every output file is written under
 * a temporary name and renamed, metrics.json last. On failure
 * nmf_last_error() holds the one-line reason. */
nmf_status job_run(const job_options *opt);

#endif
