/* job.h - internal: the tool's whole job, from image folders to the output
 * directory, for the command line (cli.c parses, this runs). */
#ifndef NMF_JOB_H
#define NMF_JOB_H

#include "nmf/nmf.h"
#include "settings.h"

#include <signal.h>
#include <stdint.h>

/* A run to continue (checkpoint_read fills it): the fit's state, its
 * factors W (m, k) and H (k, n), and the fingerprint of the images it ran
 * on (dataset_fingerprint). */
typedef struct {
    nmf_result state;
    float *W, *H;
    size_t m, n;
    uint64_t fingerprint;
} resume_point;

/* One run: its recorded settings and how it was invoked. */
typedef struct {
    run_config config;
    const char *const *inputs; /* directories and image files */
    size_t n_inputs;
    const char *output_dir;
    const char *init_w_path; /* .npy files for --init custom */
    const char *init_h_path;
    int quiet;
    /* --overwrite: replace another run's results in output_dir, which is
     * refused otherwise (a resumed run replaces its own). */
    int overwrite;
    /* Set (by a signal handler) to stop the fit after the current chunk of
     * iterations, write a checkpoint and the outputs; may be NULL. */
    volatile sig_atomic_t *stop_flag;
    /* The run to continue; NULL for a fresh run. */
    const resume_point *resume;
    /* --max-memory: the bytes the run may take (DATASET_MEMORY_AVAILABLE by
     * default); V is streamed from a cache file in cache_dir (NULL: the
     * output directory) when it does not fit (dataset_memory_plan). */
    size_t max_memory;
    const char *cache_dir;
    /* --write-completed: every image with its missing pixels filled from
     * W·H, in completed/ (completed.h); a fit with missing pixels only. */
    int write_completed;
} job_options;

/* Loads, checks, initialises, fits and writes every output. Everything that
 * can be checked is checked before the output directory is touched (an
 * output directory holding another run's results, without overwrite or
 * resume, is NMF_STATUS_BAD_ARGUMENT before any image is read); the
 * outputs are written into a stage folder inside it and moved in together
 * (fs_stage), metrics.json last, replacing the previous run's, so a failing
 * run leaves the directory as it was, but for the checkpoints it saved. With
 * params.checkpoint_every, a checkpoint goes to the output directory every
 * that many iterations; when *stop_flag is set, the fit stops, a checkpoint
 * and the outputs (marked not converged) are written and
 * NMF_STATUS_INTERRUPTED is returned. On failure nmf_last_error() holds the
 * one-line reason. */
nmf_status job_run(const job_options *opt);

/* What job_run and the other commands (transform.h) share. */
/* The output directory must be writable, and not hold another run's
 * results (any of files[0..count)) unless replace (--overwrite, or the run
 * being resumed); files of the user's own in it are no concern. */
nmf_status job_check_output_dir(const char *dir, const char *const *files, size_t count,
                                int replace);
/* beta <= 0 divides by powers of WH that zeros in V drive to 0, so such
 * data is refused (as scikit-learn refuses it), naming the first image
 * with a zero and what the tool offers instead. */
nmf_status job_check_zeros_for_beta(const dataset *d, double beta);

/* The bytes V takes as loaded (bytes or float32). */
static inline size_t job_V_bytes(const dataset *d)
{
    const nmf_problem V = dataset_problem(d);
    return d->m * d->n * nmf_problem_element_size(&V);
}

/* The load summary line on stderr: images, size, time, skipped files, and
 * how V is held (in memory, or streamed and in what blocks). */
void job_print_loaded(const dataset *d, double load_s);
/* dir/inputs.txt: one display path per line, in row order of V and W. */
nmf_status job_write_inputs_list(const char *dir, const dataset *d);

#endif
