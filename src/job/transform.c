/* transform.c - the `transform` and `reconstruct` commands. See transform.h. */
#define _POSIX_C_SOURCE 200809L
#include "transform.h"

#include "backend.h"
#include "clock.h"
#include "error.h"
#include "fsutil.h"
#include "metrics.h"
#include "model.h"
#include "npy.h"
#include "output.h"
#include "progress.h"
#include "strbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a transform writes, metrics.json first (see job.c's run_files). */
static const char *const transform_files[] = {"metrics.json", "W.npy", "inputs.txt",
                                              "reconstructions.png"};
#define TRANSFORM_FILES (sizeof transform_files / sizeof *transform_files)
static const char *const reconstruct_files[] = {"images"};

/* The images as the model's fit made its rows: its grey mode or colour,
 * and its size, by resizing when it resized, else by refusing another. */
static nmf_status load_like_model(const transform_options *opt, const model_info *mi,
                                  progress_state *ps, dataset *d)
{
    dataset_options data;
    dataset_options_default(&data);
    data.grey = mi->grey;
    data.colour = mi->colour;
    data.resize_w = mi->resize_w;
    data.resize_h = mi->resize_h;
    data.threads = opt->job.config.params.threads;
    data.storage = opt->job.config.data.storage;
    data.missing = opt->job.config.data.missing;
    data.mask_dir = opt->job.config.data.mask_dir;
    data.progress = progress_loading;
    data.progress_user = ps;
    nmf_status st = dataset_load(opt->job.inputs, opt->job.n_inputs, &data, d);
    if (st != NMF_STATUS_OK)
        return st;
    if (d->width != mi->width || d->height != mi->height)
        return nmf_error(NMF_STATUS_BAD_INPUT,
                         "%s: %dx%d pixels, but the model in %s is for %dx%d images (its fit "
                         "did not resize; hint: fit with --resize to take images of any size)",
                         d->paths[0], d->width, d->height, opt->model_dir, mi->width,
                         mi->height);
    return NMF_STATUS_OK;
}

/* The fit's loss and W regularisation, k from the model; the solve's
 * solver (the model's unless given), tolerance, device and threads from
 * the command line. */
static nmf_status transform_params(const transform_options *opt, const model_info *mi,
                                   nmf_params *p)
{
    *p = opt->job.config.params;
    p->k = mi->k;
    p->beta = mi->beta;
    p->alpha_W = mi->alpha_W;
    p->alpha_H = mi->alpha_H;
    p->l1_ratio = mi->l1_ratio;
    /* MU for a loss HALS does not fit, and for missing pixels. */
    if (!opt->solver_given)
        p->solver = mi->beta == 2.0 && opt->job.config.data.missing == DATASET_MISSING_NONE
                        ? mi->solver
                        : NMF_SOLVER_MU;
    if (p->solver == NMF_SOLVER_HALS && p->beta != 2.0)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "--solver hals: minimises the Frobenius loss only, and the model in %s "
                         "was fit for %s; use --solver mu", opt->model_dir,
                         nmf_loss_name(p->beta));
    return NMF_STATUS_OK;
}

/* (W H)[i][j], summed in double: what per_image_errors measures and
 * reconstruct writes, the same number either way. */
static double wh_at(const float *W, const float *H, size_t k, size_t n, size_t i, size_t j)
{
    double s = 0.0;
    for (size_t t = 0; t < k; t++)
        s += (double)W[i * k + t] * H[t * n + j];
    return s;
}

/* err[i] = ||V_i - W_i H|| / ||V_i|| for every image (0 for an all-zero
 * image reconstructed exactly, else infinite), in double, over its observed
 * pixels. */
static void per_image_errors(const dataset *d, const float *W, const float *H, size_t k,
                             double *err)
{
    const size_t n = d->n;
    const nmf_problem V = dataset_problem(d);
    #pragma omp parallel for schedule(dynamic, 1)
    for (size_t i = 0; i < d->m; i++) {
        double diff = 0.0, norm = 0.0;
        for (size_t j = 0; j < n; j++) {
            if (!nmf_problem_observed(&V, i * n + j))
                continue;
            const double wh = wh_at(W, H, k, n, i, j);
            const double v = nmf_problem_value(&V, i * n + j);
            diff += (v - wh) * (v - wh);
            norm += v * v;
        }
        err[i] = norm > 0.0 ? sqrt(diff / norm) : diff > 0.0 ? INFINITY : 0.0;
    }
}

static nmf_status transform_metrics(const transform_options *opt, const dataset *d,
                                    const nmf_params *p, const nmf_result *r,
                                    const double *err, double load_s, char **json, size_t *len)
{
    strbuf sb;
    if (strbuf_init(&sb) != 0)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for metrics.json");
    sb_printf(&sb, "{\n  \"version\": \"%s\",\n  \"command\": \"transform\",\n  \"model\": ",
              NMF_VERSION);
    sb_string(&sb, opt->model_dir);
    sb_printf(&sb, ",\n  \"device\": \"%s\",\n  \"kernels\": \"%s\",\n", r->device,
              r->kernels ? r->kernels : r->device);
    sb_printf(&sb, "  \"solver\": \"%s\",\n  \"loss\": \"%s\",\n  \"tol\": ",
              nmf_solver_name(p->solver), nmf_loss_name(p->beta));
    sb_number(&sb, p->tol);
    sb_printf(&sb, ",\n  \"max_iter\": %d,\n  \"k\": %d,\n", p->max_iter, p->k);
    sb_printf(&sb, "  \"images\": %zu,\n  \"height\": %d,\n  \"width\": %d,\n  \"channels\": %d,\n",
              d->m, d->height, d->width, d->channels);
    sb_printf(&sb, "  \"storage\": \"%s\",\n  \"V_bytes\": %zu,\n", d->storage, job_V_bytes(d));
    sb_printf(&sb, "  \"missing\": \"%s\",\n", dataset_missing_name(opt->job.config.data.missing));
    sb_printf(&sb, "  \"observed_values\": %zu,\n  \"missing_values\": %zu,\n", d->observed,
              d->m * d->n - d->observed);
    metrics_outcome(&sb, r);
    sb_printf(&sb, ",\n  \"image_relative_err\": [");
    for (size_t i = 0; i < d->m; i++) {
        sb_printf(&sb, "%s", i ? ", " : "");
        sb_number(&sb, err[i]);
    }
    sb_printf(&sb, "],\n  \"timings\": {\"load_s\": ");
    sb_number(&sb, load_s);
    sb_printf(&sb, ", \"fit_s\": ");
    sb_number(&sb, r->fit_s);
    sb_printf(&sb, "}\n}\n");
    return sb_finish(&sb, "metrics.json", json, len);
}

static nmf_status write_transform(const transform_options *opt, const dataset *d,
                                  const float *W, const float *H, const nmf_params *p,
                                  const char *json, size_t len)
{
    const nmf_problem V = dataset_problem(d);
    char path[4096];
    fs_stage stage;
    nmf_status st = fs_stage_open(&stage, opt->job.output_dir);
    if (st != NMF_STATUS_OK)
        return st;
    const char *dir = stage.stage;
    if ((st = fs_join(path, sizeof path, dir, "W.npy")) == NMF_STATUS_OK)
        st = npy_write_f32(path, W, d->m, (size_t)p->k);
    if (st == NMF_STATUS_OK)
        st = job_write_inputs_list(dir, d);
    if (st == NMF_STATUS_OK)
        st = output_write_reconstructions(dir, &V, W, H, p->k, d->width, d->height,
                                          d->channels, opt->job.config.recon_count);
    if (st == NMF_STATUS_OK)
        st = fs_join(path, sizeof path, dir, "metrics.json");
    if (st == NMF_STATUS_OK)
        st = output_write_text(path, json, len);
    if (st != NMF_STATUS_OK) {
        fs_stage_abort(&stage);
        return st;
    }
    return fs_stage_commit(&stage, transform_files, TRANSFORM_FILES);
}

nmf_status job_transform(const transform_options *opt)
{
    const job_options *job = &opt->job;
    model_info mi;
    float *H = NULL, *W = NULL;
    double *err = NULL;
    char *json = NULL;
    size_t len = 0;
    dataset d = {0};
    nmf_result result = {0};
    nmf_params p;
    const nmf_backend *backend;
    const unsigned needs = job->config.data.missing != DATASET_MISSING_NONE ? NMF_NEEDS_MASK : 0u;
    nmf_status st;
    if ((st = job_check_output_dir(job->output_dir, transform_files, TRANSFORM_FILES,
                                   job->overwrite)) != NMF_STATUS_OK ||
        (st = model_read(opt->model_dir, &mi, &H)) != NMF_STATUS_OK ||
        (st = transform_params(opt, &mi, &p)) != NMF_STATUS_OK ||
        (st = nmf_backend_select(p.device, needs, &backend)) != NMF_STATUS_OK ||
        (st = nmf_backend_check_precision(backend, p.precision)) != NMF_STATUS_OK)
        goto cleanup;
    p.device = backend->device;

    progress_state ps;
    progress_start(&ps, job->quiet, job->stop_flag);
    double t0 = nmf_clock_s();
    st = load_like_model(opt, &mi, &ps, &d);
    progress_finish(&ps);
    if (st != NMF_STATUS_OK)
        goto cleanup;
    const double load_s = nmf_clock_s() - t0;
    if (!job->quiet)
        job_print_loaded(&d, load_s);
    nmf_problem problem = dataset_problem(&d);
    if ((st = job_check_zeros_for_beta(&d, p.beta)) != NMF_STATUS_OK)
        goto cleanup;
    W = malloc(d.m * (size_t)p.k * sizeof *W);
    err = malloc(d.m * sizeof *err);
    if (!W || !err) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the codes (%zu images)", d.m);
        goto cleanup;
    }
    progress_start(&ps, job->quiet, job->stop_flag);
    p.progress = progress_report;
    p.progress_user = &ps;
    st = nmf_transform(&problem, &p, H, W, &result);
    progress_finish(&ps);
    if (st == NMF_STATUS_INTERRUPTED)
        st = nmf_error(NMF_STATUS_INTERRUPTED, "interrupted after %d iterations; nothing written",
                       result.iterations);
    if (st != NMF_STATUS_OK)
        goto cleanup;
    per_image_errors(&d, W, H, (size_t)p.k, err);
    if ((st = transform_metrics(opt, &d, &p, &result, err, load_s, &json, &len)) != NMF_STATUS_OK ||
        (st = write_transform(opt, &d, W, H, &p, json, len)) != NMF_STATUS_OK)
        goto cleanup;
    if (!job->quiet)
        fprintf(stderr,
                "transformed %zu image%s with the model in %s on the %s: %d iterations (%s), "
                "relative error %.4f; codes in %s/W.npy\n",
                d.m, d.m == 1 ? "" : "s", opt->model_dir, result.device, result.iterations,
                result.converged ? "converged" : "--max-iter reached",
                result.frobenius_err / result.norm_V, job->output_dir);
cleanup:
    nmf_result_free(&result);
    dataset_free(&d);
    free(json);
    free(err);
    free(W);
    free(H);
    return st;
}

/* The codes: a (rows, k) float32 .npy of finite values. */
static nmf_status read_codes(const char *path, size_t k, float **W, size_t *m)
{
    size_t cols;
    nmf_status st = npy_read_f32(path, W, m, &cols);
    if (st != NMF_STATUS_OK)
        return st;
    if (cols != k || *m == 0)
        st = nmf_error(NMF_STATUS_BAD_INPUT,
                       "%s: codes must have shape (images, %zu) for this model, got (%zu, %zu)",
                       path, k, *m, cols);
    for (size_t i = 0; st == NMF_STATUS_OK && i < *m * k; i++)
        if (!isfinite((*W)[i]))
            st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: code [%zu, %zu] is not a finite number",
                           path, i / k, i % k);
    if (st != NMF_STATUS_OK) {
        free(*W);
        *W = NULL;
    }
    return st;
}

nmf_status job_reconstruct(const reconstruct_options *opt)
{
    model_info mi;
    float *H = NULL, *W = NULL, *WH = NULL;
    char **names = NULL;
    size_t m = 0;
    nmf_status st;
    if ((st = job_check_output_dir(opt->output_dir, reconstruct_files, 1, opt->overwrite)) !=
            NMF_STATUS_OK ||
        (st = model_read(opt->model_dir, &mi, &H)) != NMF_STATUS_OK ||
        (st = read_codes(opt->codes_path, (size_t)mi.k, &W, &m)) != NMF_STATUS_OK)
        goto cleanup;
    const size_t k = (size_t)mi.k, n = (size_t)mi.width * (size_t)mi.height * (size_t)mi.channels;
    WH = malloc(m * n * sizeof *WH);
    names = calloc(m, sizeof *names);
    if (!WH || !names) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for %zu images", m);
        goto cleanup;
    }
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            WH[i * n + j] = (float)wh_at(W, H, k, n, i, j);
    for (size_t i = 0; i < m && st == NMF_STATUS_OK; i++) {
        char name[32];
        snprintf(name, sizeof name, "%04zu.png", i);
        if (!(names[i] = strdup(name)))
            st = nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for %zu images", m);
    }
    if (st != NMF_STATUS_OK)
        goto cleanup;
    fs_stage stage;
    char dir[4096];
    if ((st = fs_stage_open(&stage, opt->output_dir)) != NMF_STATUS_OK)
        goto cleanup;
    snprintf(dir, sizeof dir, "%s/images", stage.stage);
    st = output_write_images(dir, WH, m, mi.width, mi.height, mi.channels,
                             (const char *const *)names);
    if (st != NMF_STATUS_OK) {
        fs_stage_abort(&stage);
        goto cleanup;
    }
    if ((st = fs_stage_commit(&stage, reconstruct_files, 1)) == NMF_STATUS_OK && !opt->quiet)
        fprintf(stderr, "reconstructed %zu image%s of %dx%d from %s; in %s/images\n", m,
                m == 1 ? "" : "s", mi.width, mi.height, opt->codes_path, opt->output_dir);
cleanup:
    for (size_t i = 0; names && i < m; i++)
        free(names[i]);
    free(names);
    free(WH);
    free(W);
    free(H);
    return st;
}
