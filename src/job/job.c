/* job.c - the tool's job: load the images, check everything, initialise,
 * fit, write the outputs. See job.h. */
#define _POSIX_C_SOURCE 200809L
#include "job.h"

#include "backend.h"
#include "checkpoint.h"
#include "clock.h"
#include "completed.h"
#include "error.h"
#include "fsutil.h"
#include "metrics.h"
#include "model.h"
#include "npy.h"
#include "output.h"
#include "job_ranks.h"
#include "progress.h"
#include "ranks.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* Reads one custom start factor and checks its shape and values, naming the
 * file in every error. */
static nmf_status load_factor(const char *path, const char *what, size_t rows, size_t cols,
                              float *dst)
{
    float *data = NULL;
    size_t r, c;
    nmf_status st = npy_read_f32(path, &data, &r, &c);
    if (st != NMF_STATUS_OK)
        return st;
    if (r != rows || c != cols) {
        st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: %s must have shape (%zu, %zu), got (%zu, %zu)",
                       path, what, rows, cols, r, c);
        goto cleanup;
    }
    for (size_t i = 0; i < rows * cols; i++) {
        if (!(data[i] >= 0.0f) || isinf(data[i])) {
            char value[32];
            snprintf(value, sizeof value, isnan(data[i]) ? "NaN" : "%g", (double)data[i]);
            st = nmf_error(NMF_STATUS_BAD_INPUT,
                           "%s: %s[%zu, %zu] = %s, but start factors must be finite and >= 0",
                           path, what, i / cols, i % cols, value);
            goto cleanup;
        }
    }
    memcpy(dst, data, rows * cols * sizeof *dst);
cleanup:
    free(data);
    return st;
}

nmf_status job_write_inputs_list(const char *dir, const dataset *d)
{
    char path[4096];
    nmf_status st = fs_join(path, sizeof path, dir, "inputs.txt");
    if (st != NMF_STATUS_OK)
        return st;
    size_t len = 0;
    for (size_t i = 0; i < d->rows_total; i++)
        len += strlen(d->paths[i]) + 1;
    char *text = malloc(len + 1), *p = text;
    if (!text)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for inputs.txt");
    for (size_t i = 0; i < d->rows_total; i++)
        p += sprintf(p, "%s\n", d->paths[i]);
    st = output_write_text(path, text, len);
    free(text);
    return st;
}

void job_print_loaded(const dataset *d, double load_s)
{
    const size_t total = d->rows_total;
    fprintf(stderr, "loaded %zu image%s of %dx%d in %.2f s (%zu skipped file%s); V held as %s, "
            "%.1f MB", total, total == 1 ? "" : "s", d->width, d->height, load_s, d->skipped,
            d->skipped == 1 ? "" : "s", d->storage,
            (double)job_V_bytes(d) / (double)d->m * (double)total / 1e6);
    if (ranks_size() > 1)
        fprintf(stderr, " over %d ranks, %zu image%s and %.1f MB on rank 0", ranks_size(), d->m,
                d->m == 1 ? "" : "s", (double)job_V_bytes(d) / 1e6);
    if (d->stream_block)
        fprintf(stderr, ", on disk (beyond the memory budget), read in blocks of up to %.1f MB",
                (double)d->stream_block / 1e6);
    if (d->mask)
        fprintf(stderr, "; %.2f%% of the pixels missing",
                100.0 * (double)(d->m * d->n - d->observed) / (double)(d->m * d->n));
    fputc('\n', stderr);
}

nmf_status job_check_zeros_for_beta(const dataset *d, double beta)
{
    if (beta > 0.0)
        return NMF_STATUS_OK;
    const nmf_problem V = dataset_problem(d);
    size_t i;
    if (nmf_problem_find_zero(&V, &i))
        return nmf_error(NMF_STATUS_BAD_INPUT,
                         "%s: pixel (%zu, %zu) is 0, and a loss with beta <= 0 (here %g) "
                         "needs data without zeros; hint: --loss kl or a --beta above 0 "
                         "takes zeros", d->paths[d->row0 + i / d->n], i % d->n % (size_t)d->width,
                         i % d->n / (size_t)d->width, beta);
    return NMF_STATUS_OK;
}

/* A component whose image or weights ended all zero adds nothing to any
 * reconstruction: usually too much regularisation, or more components than
 * the data holds. One warning line each, numbered as components/NN.png. */
static void warn_zero_components(const float *W, const float *H, size_t m, size_t k, size_t n)
{
    for (size_t t = 0; t < k; t++) {
        int h_zero = 1, w_zero = 1;
        for (size_t j = 0; j < n && h_zero; j++)
            h_zero = H[t * n + j] == 0.0f;
        for (size_t i = 0; i < m && w_zero; i++)
            w_zero = W[i * k + t] == 0.0f;
        if (h_zero || w_zero)
            fprintf(stderr,
                    "nmf-faces: warning: component %02zu ended all zero (its %s); it adds "
                    "nothing: try a smaller --alpha-w/--alpha-h or fewer components\n",
                    t, h_zero ? "image, H's row" : "weights, W's column");
    }
}

/* The last line of a run: why it stopped, the relative Frobenius error
 * (whatever the loss; a beta-divergence fit adds its own objective), speed,
 * where the pictures are. */
static void print_summary(const job_options *opt, const nmf_result *r)
{
    const nmf_params *p = &opt->config.params;
    char why[160], objective[96] = "";
    if (r->converged && r->reconstruction_err == 0.0)
        snprintf(why, sizeof why, "an exact fit");
    else if (r->converged)
        snprintf(why, sizeof why, "converged: %s rule, --tol %g",
                 nmf_stopping_name(p->stopping), p->tol);
    else if (p->tol > 0.0)
        snprintf(why, sizeof why, "not converged: --tol %g not met in --max-iter %d", p->tol,
                 p->max_iter);
    else
        snprintf(why, sizeof why, "all of them: --tol 0");
    if (p->beta != 2.0)
        snprintf(objective, sizeof objective, ", %s divergence %.6g", nmf_loss_name(p->beta),
                 0.5 * r->reconstruction_err * r->reconstruction_err);
    fprintf(stderr,
            "done on the %s: %d iterations (%s), relative error %.4f (||V - WH|| %.6g)%s, %.2f "
            "ms/iteration; components in %s/components.png\n",
            r->device, r->iterations, why, r->frobenius_err / r->norm_V, r->frobenius_err,
            objective, 1e3 * r->fit_s / r->iterations, opt->output_dir);
}

/* The checkpoint callback: the run's settings, its images' fingerprint and
 * the fit state, into the output directory (by rank 0, the ranks' W
 * gathered; collective). */
typedef struct {
    const job_options *opt;
    const dataset *d;
    uint64_t fingerprint; /* dataset_fingerprint(d), hashed once per run */
    float *W_all;         /* rank 0 of several: room for the whole W */
    int written;          /* this run saved one: the outputs keep it */
} checkpoint_ctx;

static nmf_status write_checkpoint(const nmf_result *state, const float *W, const float *H,
                                   void *user)
{
    checkpoint_ctx *cc = user;
    checkpoint_info info = {.config = cc->opt->config,
                            .inputs = cc->opt->inputs,
                            .n_inputs = cc->opt->n_inputs,
                            .fingerprint = cc->fingerprint,
                            .m = cc->d->rows_total,
                            .width = cc->d->width,
                            .height = cc->d->height};
    const float *W_all = job_whole_W(cc->d, (size_t)cc->opt->config.params.k, W, cc->W_all);
    nmf_status st = NMF_STATUS_OK;
    if (ranks_rank() == 0)
        st = checkpoint_write(cc->opt->output_dir, &info, state, W_all, H);
    st = ranks_agree(st);
    cc->written |= st == NMF_STATUS_OK;
    return st;
}

/* Every name a run writes in its output directory (output.c writes the
 * components and reconstructions), metrics.json first (fs_stage_commit
 * moves it in last): what marks a folder as another run's, and what the
 * outputs replace. A run's own checkpoint, the last, is kept; another
 * run's goes. */
static const char *const run_files[] = {"metrics.json", MODEL_FILE, "W.npy", "H.npy",
                                        "inputs.txt", "components.png", "components",
                                        "reconstructions.png", "completed", CHECKPOINT_FILE};
#define RUN_FILES (sizeof run_files / sizeof *run_files)

/* Writes every output into a stage folder, then replaces the previous
 * run's files with them at once: a failure leaves the directory as it was. */
static nmf_status write_outputs(const job_options *opt, const dataset *d, const float *W,
                                const float *H, const shown_rows *shown, run_metrics *rm,
                                int keep_checkpoint)
{
    const int k = opt->config.params.k;
    char path[4096];
    fs_stage stage;
    nmf_status st;
    double t0 = nmf_clock_s();
    if ((st = fs_stage_open(&stage, opt->output_dir)) != NMF_STATUS_OK)
        return st;
    const char *dir = stage.stage;
    model_info model;
    model_info_from_run(&model, &opt->config, d);
    if ((st = fs_join(path, sizeof path, dir, "W.npy")) != NMF_STATUS_OK ||
        (st = npy_write_f32(path, W, d->rows_total, (size_t)k)) != NMF_STATUS_OK ||
        (st = fs_join(path, sizeof path, dir, "H.npy")) != NMF_STATUS_OK ||
        (st = npy_write_f32(path, H, (size_t)k, d->n)) != NMF_STATUS_OK ||
        (st = output_write_components(dir, H, k, d->width, d->height, d->channels)) !=
            NMF_STATUS_OK ||
        (st = output_write_reconstructions(dir, &shown->V, shown->W, H, k, d->width, d->height,
                                           d->channels, opt->config.recon_count)) !=
            NMF_STATUS_OK ||
        (st = job_write_inputs_list(dir, d)) != NMF_STATUS_OK ||
        (st = model_write(dir, &model)) != NMF_STATUS_OK ||
        (opt->write_completed && (st = job_write_completed(dir, d, W, H, (size_t)k)) != NMF_STATUS_OK))
        goto fail;
    rm->write_s = nmf_clock_s() - t0;

    /* Written last: a metrics.json means the run's outputs are complete. */
    char *json;
    size_t len;
    if ((st = metrics_to_json(rm, &json, &len)) != NMF_STATUS_OK)
        goto fail;
    if ((st = fs_join(path, sizeof path, dir, "metrics.json")) == NMF_STATUS_OK)
        st = output_write_text(path, json, len);
    free(json);
    if (st != NMF_STATUS_OK)
        goto fail;
    return fs_stage_commit(&stage, run_files, RUN_FILES - (keep_checkpoint ? 1 : 0));
fail:
    fs_stage_abort(&stage);
    return st;
}

/* What a fit takes besides V, for the loader's plan (dataset_memory_plan),
 * on the generous side, since the budget is a promise: the process itself
 * (measured on the build VM: 5.4 MB resident for --version, 6.6 MB for
 * a one-image fit),
 * ten W-sized and ten H-sized buffers of floats (the job's, the backend's
 * factors and scratch, the init's in double; the whole W's, which rank 0
 * gathers), the β-divergence's two blocks of WH, and the NNDSVD init's
 * min(rows, n)² Gram matrix of the whole V and its block of V, in double
 * (twice over ranks: the rank's and the gathered one). */
static size_t fit_bytes_besides_V(size_t m, size_t rows_total, size_t n, const void *user)
{
    const nmf_params *p = user;
    const double k = p->k, dim = (double)(rows_total < n ? rows_total : n);
    double bytes = 16e6 + 10.0 * sizeof(float) * k * ((double)rows_total + (double)n);
    if (p->beta != 2.0)
        bytes += 2.0 * sizeof(float) * (1 << 20);
    const double whole = (double)rows_total * (double)n,
                 gram_block = (whole < (1 << 22) ? whole : (1 << 22)) * (m < rows_total ? 2 : 1);
    if (p->init == NMF_INIT_NNDSVD || p->init == NMF_INIT_NNDSVDA || p->init == NMF_INIT_NNDSVDAR)
        bytes += sizeof(double) * (dim * dim + gram_block);
    return bytes >= (double)SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

nmf_status job_check_output_dir(const char *dir, const char *const *files, size_t count,
                                int replace)
{
    nmf_status st = fs_check_writable_dir(dir);
    const char *found;
    if (st != NMF_STATUS_OK || replace || !(found = fs_first_present(dir, files, count)))
        return st;
    return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                     "%s: holds another run's results (%s); pass --overwrite to replace them, "
                     "or -o a new folder", dir, found);
}

/* The backend for the run's device that meets its needs (ranks, missing
 * pixels): nmf_backend_select's one rule, before any image is read. */
static unsigned run_needs(const job_options *opt)
{
    return (ranks_size() > 1 ? NMF_NEEDS_RANKS : 0u) |
           (opt->config.data.missing != DATASET_MISSING_NONE ? NMF_NEEDS_MASK : 0u);
}

static nmf_status select_backend(const job_options *opt, const nmf_backend **backend)
{
    const nmf_params *p = &opt->config.params;
    nmf_status st = nmf_backend_select(p->device, run_needs(opt), backend);
    return st != NMF_STATUS_OK ? st : nmf_backend_check_precision(*backend, p->precision);
}

/* --device auto over ranks, where the library's is the CPU: the GPU when
 * every rank has a usable one, as the ranks of a job run one backend,
 * whose sums match (collective). */
static void ranks_auto_backend(const job_options *opt, const nmf_backend **backend)
{
    const nmf_backend *gpu = NULL;
    const int usable = nmf_backend_select(NMF_DEVICE_GPU, run_needs(opt), &gpu) == NMF_STATUS_OK &&
                       nmf_backend_check_precision(gpu, opt->config.params.precision) ==
                           NMF_STATUS_OK;
    if (!ranks_same((uint64_t)usable)) {
        if (ranks_rank() == 0)
            nmf_note("not every rank of the job sees a usable GPU; running on the CPU");
    } else if (usable) {
        *backend = gpu;
    }
}

/* The start W (this rank's rows) and H: the checkpoint's, the files of
 * --init custom (the whole W read, this rank's rows kept), or the init's. */
static nmf_status start_factors(const job_options *opt, const dataset *d,
                                const nmf_problem *problem, float *W, float *H)
{
    const nmf_params *p = &opt->config.params;
    const size_t k = (size_t)p->k, mine = d->m * k, first = d->row0 * k;
    nmf_status st;
    if (opt->resume) {
        memcpy(W, opt->resume->W + first, mine * sizeof *W);
        memcpy(H, opt->resume->H, k * d->n * sizeof *H);
        return NMF_STATUS_OK;
    }
    if (p->init != NMF_INIT_CUSTOM)
        return nmf_initialize(problem, p, W, H);
    float *W_all = d->m == d->rows_total ? W : malloc(d->rows_total * k * sizeof *W_all);
    if (!W_all)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for W (k = %zu)", k);
    if ((st = load_factor(opt->init_w_path, "W", d->rows_total, k, W_all)) == NMF_STATUS_OK &&
        (st = load_factor(opt->init_h_path, "H", k, d->n, H)) == NMF_STATUS_OK && W_all != W)
        memcpy(W, W_all + first, mine * sizeof *W);
    if (W_all != W)
        free(W_all);
    return st;
}

nmf_status job_run(const job_options *opt)
{
    const nmf_params *p = &opt->config.params;
    const int root = ranks_rank() == 0;
    dataset d = {0};
    nmf_result result = {0};
    float *W = NULL, *H = NULL, *W_all = NULL;
    shown_rows shown = {0};
    nmf_status st;

    /* An unusable output directory, a missing GPU or a precision the
     * backend lacks is found before any work is done; --device auto is
     * resolved here, so its note comes once. Over ranks, rank 0 alone
     * writes the outputs, and every step that can fail on one rank is
     * agreed on (ranks_agree) before the ranks go on together. */
    const nmf_backend *backend;
    st = root ? job_check_output_dir(opt->output_dir, run_files, RUN_FILES,
                                     opt->overwrite || opt->resume != NULL)
              : NMF_STATUS_OK;
    if (st == NMF_STATUS_OK)
        st = select_backend(opt, &backend);
    const int missing = opt->config.data.missing != DATASET_MISSING_NONE;
    if (st == NMF_STATUS_OK && opt->write_completed && !missing)
        st = nmf_error(NMF_STATUS_BAD_ARGUMENT,
                       "--write-completed: needs missing pixels (--missing alpha or --mask DIR)");
    /* The count of observed pixels and the masks of the images shown are
     * one process's (the library fits masks over ranks). */
    if (st == NMF_STATUS_OK && ranks_size() > 1 && missing)
        st = nmf_error(NMF_STATUS_BAD_ARGUMENT,
                       "--missing/--mask: missing pixels are fitted in one process, not yet over "
                       "the ranks of an MPI job; start it without mpirun or srun");
    if ((st = ranks_agree(st)) != NMF_STATUS_OK)
        return st;
    if (ranks_size() > 1 && p->device == NMF_DEVICE_AUTO)
        ranks_auto_backend(opt, &backend);
    nmf_params fit_params = *p;
    fit_params.device = backend->device;

    progress_state ps;
    progress_start(&ps, opt->quiet || !root, opt->stop_flag);
    dataset_options data = opt->config.data;
    data.progress = progress_loading;
    data.progress_user = &ps;
    data.memory = (dataset_memory_plan){opt->max_memory, fit_bytes_besides_V, p,
                                        opt->cache_dir ? opt->cache_dir : opt->output_dir,
                                        ranks_here()};
    static const dataset_ranks loading_ranks = {ranks_slice, ranks_agree, ranks_same, ranks_share};
    data.ranks = ranks_size() > 1 ? &loading_ranks : NULL;
    double t0 = nmf_clock_s();
    st = dataset_load(opt->inputs, opt->n_inputs, &data, &d);
    progress_finish(&ps);
    if ((st = ranks_agree(st)) != NMF_STATUS_OK)
        goto cleanup;
    double load_s = nmf_clock_s() - t0;
    if (!opt->quiet && root)
        job_print_loaded(&d, load_s);

    nmf_problem problem = dataset_problem(&d);
    problem.comm = ranks_comm(d.rows_total);
    const uint64_t fingerprint = dataset_fingerprint(&d);
    if (!ranks_same(fingerprint))
        st = nmf_error(NMF_STATUS_BAD_INPUT,
                       "%s: the ranks of the job found different images (files changed as it "
                       "started, or inputs not every rank sees)", opt->inputs[0]);
    else if (opt->resume && (fingerprint != opt->resume->fingerprint || d.rows_total != opt->resume->m ||
                        d.n != opt->resume->n))
        st = nmf_error(NMF_STATUS_BAD_INPUT,
                       "--resume %s: the images found differ from the checkpointed run's (a "
                       "file added, removed, renamed or resized since)", opt->output_dir);
    /* Each rank reaches each check, or none does (nmf_problem_check is
     * collective). */
    if (st == NMF_STATUS_OK)
        st = nmf_problem_check(&problem);
    if (st == NMF_STATUS_OK)
        st = nmf_params_check(&problem, p);
    if (st == NMF_STATUS_OK)
        st = job_check_zeros_for_beta(&d, p->beta);
    if ((st = ranks_agree(st)) != NMF_STATUS_OK)
        goto cleanup;

    size_t k = (size_t)p->k;
    /* MPI counts are ints: W and the images reconstructions.png shows
     * must gather in one message each (found before the fit, not after). */
    const size_t recon = (size_t)opt->config.recon_count;
    if (ranks_size() > 1 && d.rows_total > (size_t)INT_MAX / k)
        st = nmf_error(NMF_STATUS_TOO_LARGE,
                       "-k %zu with %zu images: W (%zu values) is beyond what MPI gathers to "
                       "rank 0 at once (%d); hint: fewer components, or one process",
                       k, d.rows_total, d.rows_total * k, INT_MAX);
    else if (ranks_size() > 1 && recon > (size_t)INT_MAX / d.n)
        st = nmf_error(NMF_STATUS_TOO_LARGE,
                       "--recon %zu of %zu values each is beyond what MPI gathers to rank 0 at "
                       "once (%d values); hint: a smaller --recon", recon, d.n, INT_MAX);
    if ((st = ranks_agree(st)) != NMF_STATUS_OK)
        goto cleanup;
    W = malloc(d.m * k * sizeof *W);
    H = malloc(k * d.n * sizeof *H);
    W_all = root && ranks_size() > 1 ? malloc(d.rows_total * k * sizeof *W_all) : NULL;
    st = !W || !H || (root && ranks_size() > 1 && !W_all)
             ? nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for W and H (k = %zu)", k)
             : NMF_STATUS_OK;
    if ((st = ranks_agree(st)) != NMF_STATUS_OK)
        goto cleanup;
    t0 = nmf_clock_s();
    if ((st = ranks_agree(start_factors(opt, &d, &problem, W, H))) != NMF_STATUS_OK)
        goto cleanup;
    double init_s = nmf_clock_s() - t0;

    progress_start(&ps, opt->quiet || !root, opt->stop_flag);
    checkpoint_ctx cc = {opt, &d, fingerprint, W_all, 0};
    fit_params.progress = progress_report; /* a stop on any rank stops all (nmf_fit) */
    fit_params.progress_user = &ps;
    fit_params.checkpoint = write_checkpoint;
    fit_params.checkpoint_user = &cc;
    st = nmf_fit_resume(&problem, &fit_params, W, H, opt->resume ? &opt->resume->state : NULL,
                        &result);
    progress_finish(&ps);
    /* Interrupted: the state so far is saved, and the outputs show it. */
    nmf_status fit_st = st;
    if (st == NMF_STATUS_INTERRUPTED) /* on every rank, or on none */
        st = write_checkpoint(&result, W, H, &cc);
    if ((st = ranks_agree(st)) != NMF_STATUS_OK)
        goto cleanup;

#ifdef _OPENMP
    int threads = p->threads > 0 ? p->threads : omp_get_max_threads();
#else
    int threads = 1;
#endif
    const float *W_out = job_whole_W(&d, k, W, W_all);
    if ((st = job_gather_shown(&d, W_out, k, opt->config.recon_count, &shown)) != NMF_STATUS_OK)
        goto cleanup;
    run_metrics rm = {&opt->config, threads, ranks_size(), d.rows_total, d.skipped, d.height,
                      d.width, d.storage, job_V_bytes(&d) / d.m * d.rows_total, d.stream_block,
                      d.mask ? d.observed : d.rows_total * d.n, &result, load_s, init_s, 0.0};
    st = root ? write_outputs(opt, &d, W_out, H, &shown, &rm, cc.written || opt->resume)
              : NMF_STATUS_OK;
    if ((st = ranks_agree(st)) != NMF_STATUS_OK)
        goto cleanup;
    if (fit_st == NMF_STATUS_INTERRUPTED) {
        st = nmf_error(NMF_STATUS_INTERRUPTED,
                       "interrupted after %d iterations; outputs and a checkpoint are in %s; "
                       "hint: continue with nmf-faces --resume %s",
                       result.iterations, opt->output_dir, opt->output_dir);
        goto cleanup;
    }
    if (!opt->quiet && root) {
        warn_zero_components(W_out, H, d.rows_total, k, d.n);
        print_summary(opt, &result);
    }

cleanup:
    nmf_result_free(&result);
    free(W);
    free(H);
    free(W_all);
    job_shown_free(&shown);
    dataset_free(&d);
    return st;
}
