/* survey.c - the `survey` command. See survey.h. */
#define _POSIX_C_SOURCE 200809L
#include "survey.h"

#include "backend.h"
#include "clock.h"
#include "error.h"
#include "fsutil.h"
#include "output.h"
#include "progress.h"
#include "rng.h"
#include "strbuf.h"
#include "survey_chart.h"
#include "survey_measures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a survey writes, survey.json first (moved in last, see fs_stage). */
static const char *const survey_files[] = {"survey.json", "survey.csv", "survey.png"};
#define SURVEY_FILES (sizeof survey_files / sizeof *survey_files)

/* What one k achieved: its best restart's outcome, and across restarts. */
typedef struct {
    int k;
    double relative_err, frobenius_err, reconstruction_err;
    int iterations, converged;
    double seconds;      /* init and fit, every restart on the data */
    double stability;    /* NAN with one restart */
    double null_relative_err; /* NAN without --null */
    double *restart_relative_err; /* each restart's, in seed order */
} survey_point;

typedef struct {
    survey_point *points;
    size_t count;
    int suggested; /* an index of points, or -1 */
    const char *rule;
} survey_outcome;

/* The shuffle's seed: --seed's, changed, so that its stream is not restart
 * 0's random start. */
#define SHUFFLE_SEED_XOR 0x5eed5u

/* The shuffled data of --null: each image's values (and mask) permuted
 * alike, from one generator seeded for the shuffle. Each image keeps its
 * values and so its norm; what the images share is gone. */
typedef struct {
    float *V;
    unsigned char *V8, *mask;
} null_data;

static nmf_status shuffle_rows(const nmf_problem *V, uint32_t seed, null_data *out,
                               nmf_problem *shuffled)
{
    const size_t m = V->m, n = V->n, size = nmf_problem_element_size(V);
    void *values = malloc(m * n * size);
    unsigned char *mask = V->mask ? malloc(m * n) : NULL;
    size_t *order = malloc(n * sizeof *order);
    if (!values || (V->mask && !mask) || !order) {
        free(values);
        free(mask);
        free(order);
        return nmf_error(NMF_STATUS_NO_MEMORY,
                         "--null: out of memory for the shuffled copy of V (%zu MB)",
                         m * n * size >> 20);
    }
    nmf_rng rng;
    nmf_rng_seed(&rng, seed);
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++)
            order[j] = j;
        for (size_t j = n - 1; j > 0; j--) { /* Fisher-Yates */
            const size_t t = (size_t)(nmf_rng_double(&rng) * (double)(j + 1));
            const size_t swap = order[j];
            order[j] = order[t];
            order[t] = swap;
        }
        for (size_t j = 0; j < n; j++) {
            const size_t from = i * n + order[j], to = i * n + j;
            if (V->V)
                ((float *)values)[to] = V->V[from];
            else
                ((unsigned char *)values)[to] = V->V8[from];
            if (mask)
                mask[to] = V->mask[from];
        }
    }
    free(order);
    *shuffled = *V;
    out->V = V->V ? values : NULL;
    out->V8 = V->V ? NULL : values;
    out->mask = mask;
    shuffled->V = out->V;
    shuffled->V8 = out->V8;
    shuffled->mask = mask;
    return NMF_STATUS_OK;
}

static void null_data_free(null_data *d)
{
    free(d->V);
    free(d->V8);
    free(d->mask);
}

/* Runs restart r of k on V into W and H; the params' k and seed set. */
static nmf_status fit_once(const nmf_problem *V, nmf_params *p, int k, int r, float *W,
                           float *H, nmf_result *result)
{
    const uint32_t seed = p->seed;
    p->k = k;
    p->seed = seed + (uint32_t)r;
    nmf_status st = nmf_initialize(V, p, W, H);
    if (st == NMF_STATUS_OK)
        st = nmf_fit(V, p, W, H, result);
    p->seed = seed;
    return st;
}

/* The restarts of one k on the data: the best's outcome, each one's
 * error and H (for the stability). */
static nmf_status survey_k(const survey_options *opt, const nmf_problem *V, nmf_params *p,
                           float *W, float *const *H, survey_point *pt)
{
    nmf_status st = NMF_STATUS_OK;
    const double t0 = nmf_clock_s();
    pt->relative_err = INFINITY;
    for (int r = 0; r < opt->restarts && st == NMF_STATUS_OK; r++) {
        nmf_result res = {0};
        st = fit_once(V, p, pt->k, r, W, H[r], &res);
        if (st == NMF_STATUS_OK && !isfinite(res.frobenius_err / res.norm_V))
            st = nmf_error(NMF_STATUS_BAD_INPUT,
                           "k %d, seed %u: the fit's error is not a finite number; hint: a "
                           "smaller --alpha-w/--alpha-h, or another --loss", pt->k,
                           (unsigned)(p->seed + (uint32_t)r));
        if (st == NMF_STATUS_OK) {
            const double rel = res.frobenius_err / res.norm_V;
            pt->restart_relative_err[r] = rel;
            if (rel < pt->relative_err) {
                pt->relative_err = rel;
                pt->frobenius_err = res.frobenius_err;
                pt->reconstruction_err = res.reconstruction_err;
                pt->iterations = res.iterations;
                pt->converged = res.converged;
            }
        }
        nmf_result_free(&res);
    }
    pt->seconds = nmf_clock_s() - t0;
    pt->stability = st == NMF_STATUS_OK && opt->restarts >= 2
                        ? survey_stability((const float *const *)H, (size_t)opt->restarts,
                                           (size_t)pt->k, V->n)
                        : NAN;
    return st;
}

/* The same restarts on the shuffled data: the best relative error. */
static nmf_status survey_null_k(const survey_options *opt, const nmf_problem *V, nmf_params *p,
                                float *W, float *H, survey_point *pt)
{
    nmf_status st = NMF_STATUS_OK;
    pt->null_relative_err = INFINITY;
    for (int r = 0; r < opt->restarts && st == NMF_STATUS_OK; r++) {
        nmf_result res = {0};
        if ((st = fit_once(V, p, pt->k, r, W, H, &res)) == NMF_STATUS_OK &&
            !isfinite(res.frobenius_err / res.norm_V))
            st = nmf_error(NMF_STATUS_BAD_INPUT,
                           "--null: k %d, seed %u: the shuffled data's fit error is not a finite "
                           "number", pt->k, (unsigned)(p->seed + (uint32_t)r));
        if (st == NMF_STATUS_OK && res.frobenius_err / res.norm_V < pt->null_relative_err)
            pt->null_relative_err = res.frobenius_err / res.norm_V;
        nmf_result_free(&res);
    }
    return st;
}

/* The points' k, relative error, the shuffled data's and the stability, as
 * columns (count each) for the rules and the chart. */
static void survey_columns(const survey_outcome *out, int *k, double *err, double *null_err,
                           double *stability)
{
    for (size_t i = 0; i < out->count; i++) {
        k[i] = out->points[i].k;
        err[i] = out->points[i].relative_err;
        null_err[i] = out->points[i].null_relative_err;
        stability[i] = out->points[i].stability;
    }
}

/* The suggested k: against the shuffled data with --null, else the elbow
 * of the error curve. */
static void suggest(const survey_options *opt, survey_outcome *out)
{
    const size_t count = out->count;
    int k[count];
    double err[count], null_err[count], stability[count];
    survey_columns(out, k, err, null_err, stability);
    if (opt->null_data) {
        out->suggested = survey_null_crossing(err, null_err, count);
        out->rule = out->suggested >= 0
                        ? "null: the first k from which the next k lowers the residual sum of "
                          "squares less than it lowers the shuffled data's (Frigyesi & Hoglund "
                          "2008)"
                        : count < 2 ? "null: none, it needs 2 values of k or more"
                                    : "null: none, the residual sum of squares falls faster "
                                      "than the shuffled data's up to the largest k; survey "
                                      "larger k";
    } else {
        out->suggested = survey_elbow(k, err, count);
        out->rule = out->suggested >= 0
                        ? "elbow: the k farthest below the line from the first k's relative "
                          "error to the last's, both axes scaled to 0..1 (Kneedle)"
                        : "elbow: none, it needs 3 values of k or more and an error curve "
                          "that falls and bends";
    }
}

static void sb_number_or_empty(strbuf *sb, double x)
{
    if (isfinite(x))
        sb_printf(sb, "%.9g", x);
}

static nmf_status survey_json(const survey_options *opt, const dataset *d, const nmf_params *p,
                              const char *device, const survey_outcome *out, char **json,
                              size_t *len)
{
    strbuf sb;
    if (strbuf_init(&sb) != 0)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for survey.json");
    sb_printf(&sb, "{\n  \"version\": \"%s\",\n  \"command\": \"survey\",\n  \"device\": \"%s\",\n",
              NMF_VERSION, device);
    sb_printf(&sb, "  \"solver\": \"%s\",\n  \"loss\": \"%s\",\n  \"beta\": ",
              nmf_solver_name(p->solver), nmf_loss_name(p->beta));
    sb_number(&sb, p->beta);
    sb_printf(&sb, ",\n  \"init\": \"%s\",\n  \"seed\": %u,\n  \"tol\": ", nmf_init_name(p->init),
              (unsigned)p->seed);
    sb_number(&sb, p->tol);
    sb_printf(&sb, ",\n  \"stopping\": \"%s\",\n  \"max_iter\": %d,\n  \"alpha_w\": ",
              nmf_stopping_name(p->stopping), p->max_iter);
    sb_number(&sb, p->alpha_W);
    sb_printf(&sb, ",\n  \"alpha_h\": ");
    sb_number(&sb, p->alpha_H < 0 ? p->alpha_W : p->alpha_H);
    sb_printf(&sb, ",\n  \"l1_ratio\": ");
    sb_number(&sb, p->l1_ratio);
    sb_printf(&sb, ",\n  \"restarts\": %d,\n  \"null\": %s,\n", opt->restarts,
              opt->null_data ? "true" : "false");
    sb_printf(&sb, "  \"images\": %zu,\n  \"height\": %d,\n  \"width\": %d,\n  \"channels\": %d,\n",
              d->m, d->height, d->width, d->channels);
    sb_printf(&sb, "  \"missing\": \"%s\",\n  \"observed_values\": %zu,\n",
              dataset_missing_name(opt->job.config.data.missing), d->observed);
    sb_printf(&sb, "  \"results\": [");
    for (size_t i = 0; i < out->count; i++) {
        const survey_point *pt = &out->points[i];
        sb_printf(&sb, "%s\n    {\"k\": %d, \"relative_err\": ", i ? "," : "", pt->k);
        sb_number(&sb, pt->relative_err);
        sb_printf(&sb, ", \"frobenius_err\": ");
        sb_number(&sb, pt->frobenius_err);
        sb_printf(&sb, ", \"reconstruction_err\": ");
        sb_number(&sb, pt->reconstruction_err);
        sb_printf(&sb, ", \"explained_variance\": ");
        sb_number(&sb, 1.0 - pt->relative_err * pt->relative_err);
        sb_printf(&sb, ", \"iterations\": %d, \"converged\": %s, \"fit_s\": ", pt->iterations,
                  pt->converged ? "true" : "false");
        sb_number(&sb, pt->seconds);
        sb_printf(&sb, ", \"stability\": ");
        sb_number(&sb, pt->stability);
        sb_printf(&sb, ", \"null_relative_err\": ");
        sb_number(&sb, pt->null_relative_err);
        sb_printf(&sb, ", \"restarts_relative_err\": [");
        for (int r = 0; r < opt->restarts; r++) {
            sb_printf(&sb, "%s", r ? ", " : "");
            sb_number(&sb, pt->restart_relative_err[r]);
        }
        sb_printf(&sb, "]}");
    }
    sb_printf(&sb, "\n  ],\n  \"suggested_k\": ");
    if (out->suggested >= 0)
        sb_printf(&sb, "%d", out->points[out->suggested].k);
    else
        sb_printf(&sb, "null");
    sb_printf(&sb, ",\n  \"rule\": ");
    sb_string(&sb, out->rule);
    sb_printf(&sb, "\n}\n");
    return sb_finish(&sb, "survey.json", json, len);
}

static nmf_status survey_csv(const survey_outcome *out, char **csv, size_t *len)
{
    strbuf sb;
    if (strbuf_init(&sb) != 0)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for survey.csv");
    sb_printf(&sb, "k,relative_err,frobenius_err,explained_variance,iterations,fit_s,stability,"
                   "null_relative_err\n");
    for (size_t i = 0; i < out->count; i++) {
        const survey_point *pt = &out->points[i];
        sb_printf(&sb, "%d,%.9g,%.9g,%.9g,%d,%.4f,", pt->k, pt->relative_err, pt->frobenius_err,
                  1.0 - pt->relative_err * pt->relative_err, pt->iterations, pt->seconds);
        sb_number_or_empty(&sb, pt->stability);
        sb_printf(&sb, ",");
        sb_number_or_empty(&sb, pt->null_relative_err);
        sb_printf(&sb, "\n");
    }
    return sb_finish(&sb, "survey.csv", csv, len);
}

static nmf_status write_survey(const survey_options *opt, const dataset *d, const nmf_params *p,
                               const char *device, const survey_outcome *out)
{
    const size_t count = out->count;
    int k[count];
    double err[count], null_err[count], stability[count];
    survey_columns(out, k, err, null_err, stability);
    char title[160];
    snprintf(title, sizeof title, "%zu images of %dx%d, %s, %d restart%s", d->m, d->width,
             d->height, nmf_solver_name(p->solver), opt->restarts, opt->restarts == 1 ? "" : "s");
    const survey_chart chart = {count, k, err, opt->null_data ? null_err : NULL,
                                opt->restarts >= 2 ? stability : NULL,
                                out->suggested >= 0 ? k[out->suggested] : 0, title};
    char *json = NULL, *csv = NULL, path[4096];
    size_t json_len, csv_len;
    fs_stage stage;
    nmf_status st;
    if ((st = survey_json(opt, d, p, device, out, &json, &json_len)) != NMF_STATUS_OK ||
        (st = survey_csv(out, &csv, &csv_len)) != NMF_STATUS_OK ||
        (st = fs_stage_open(&stage, opt->job.output_dir)) != NMF_STATUS_OK)
        goto cleanup;
    if ((st = fs_join(path, sizeof path, stage.stage, "survey.png")) == NMF_STATUS_OK)
        st = survey_chart_write(path, &chart);
    if (st == NMF_STATUS_OK && (st = fs_join(path, sizeof path, stage.stage, "survey.csv")) ==
                                   NMF_STATUS_OK)
        st = output_write_text(path, csv, csv_len);
    if (st == NMF_STATUS_OK && (st = fs_join(path, sizeof path, stage.stage, "survey.json")) ==
                                   NMF_STATUS_OK)
        st = output_write_text(path, json, json_len);
    if (st == NMF_STATUS_OK)
        st = fs_stage_commit(&stage, survey_files, SURVEY_FILES);
    else
        fs_stage_abort(&stage);
cleanup:
    free(json);
    free(csv);
    return st;
}

/* The ks surveyed, each checked against the data before any fit. */
static nmf_status survey_points(const survey_options *opt, const nmf_problem *V,
                                const nmf_params *p, survey_outcome *out)
{
    out->count = (size_t)((opt->k_last - opt->k_first) / opt->k_step) + 1;
    out->points = calloc(out->count, sizeof *out->points);
    if (!out->points)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for %zu values of k", out->count);
    for (size_t i = 0; i < out->count; i++) {
        survey_point *pt = &out->points[i];
        pt->k = opt->k_first + (int)i * opt->k_step;
        pt->null_relative_err = NAN;
        if (!(pt->restart_relative_err = calloc((size_t)opt->restarts, sizeof(double))))
            return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the survey");
        nmf_params check = *p;
        check.k = pt->k;
        nmf_status st = nmf_params_check(V, &check);
        if (st != NMF_STATUS_OK)
            return st;
    }
    return NMF_STATUS_OK;
}

static void survey_outcome_free(survey_outcome *out)
{
    for (size_t i = 0; out->points && i < out->count; i++)
        free(out->points[i].restart_relative_err);
    free(out->points);
}

static void print_point(const survey_options *opt, const survey_point *pt)
{
    fprintf(stderr, "k %3d: relative error %.4f", pt->k, pt->relative_err);
    if (opt->restarts >= 2)
        fprintf(stderr, " (best of %d), stability %.3f", opt->restarts, pt->stability);
    if (opt->null_data)
        fprintf(stderr, ", shuffled %.4f", pt->null_relative_err);
    fprintf(stderr, ", %d iterations, %.2f s\n", pt->iterations, pt->seconds);
}

nmf_status job_survey(const survey_options *opt)
{
    const job_options *job = &opt->job;
    dataset d = {0};
    survey_outcome out = {0};
    null_data shuffled = {0};
    nmf_problem null_V;
    float *W = NULL, **H = NULL;
    const nmf_backend *backend;
    const unsigned needs = job->config.data.missing != DATASET_MISSING_NONE ? NMF_NEEDS_MASK : 0u;
    nmf_params p = job->config.params;
    nmf_status st;
    if ((st = job_check_output_dir(job->output_dir, survey_files, SURVEY_FILES, job->overwrite)) !=
            NMF_STATUS_OK ||
        (st = survey_chart_check()) != NMF_STATUS_OK ||
        (st = nmf_backend_select(p.device, needs, &backend)) != NMF_STATUS_OK ||
        (st = nmf_backend_check_precision(backend, p.precision)) != NMF_STATUS_OK)
        return st;
    p.device = backend->device;

    progress_state ps;
    progress_start(&ps, job->quiet, job->stop_flag);
    dataset_options data = job->config.data;
    data.progress = progress_loading;
    data.progress_user = &ps;
    const double t0 = nmf_clock_s();
    st = dataset_load(job->inputs, job->n_inputs, &data, &d);
    progress_finish(&ps);
    if (st != NMF_STATUS_OK)
        goto cleanup;
    if (!job->quiet)
        job_print_loaded(&d, nmf_clock_s() - t0);
    const nmf_problem V = dataset_problem(&d);
    if ((st = nmf_problem_check(&V)) != NMF_STATUS_OK ||
        (st = job_check_zeros_for_beta(&d, p.beta)) != NMF_STATUS_OK ||
        (st = survey_points(opt, &V, &p, &out)) != NMF_STATUS_OK ||
        (opt->null_data &&
         (st = shuffle_rows(&V, p.seed ^ SHUFFLE_SEED_XOR, &shuffled, &null_V)) != NMF_STATUS_OK))
        goto cleanup;
    W = malloc(d.m * (size_t)opt->k_last * sizeof *W);
    H = calloc((size_t)opt->restarts, sizeof *H);
    for (int r = 0; H && r < opt->restarts; r++)
        if (!(H[r] = malloc((size_t)opt->k_last * d.n * sizeof **H)))
            break;
    if (!W || !H || !H[opt->restarts - 1]) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for %d restarts of k = %d",
                       opt->restarts, opt->k_last);
        goto cleanup;
    }

    /* Progress lines would be one per fit: only the stop flag is kept. */
    progress_start(&ps, 1, job->stop_flag);
    p.progress = progress_report;
    p.progress_user = &ps;
    for (size_t i = 0; i < out.count && st == NMF_STATUS_OK; i++) {
        survey_point *pt = &out.points[i];
        st = survey_k(opt, &V, &p, W, H, pt);
        if (st == NMF_STATUS_OK && opt->null_data)
            st = survey_null_k(opt, &null_V, &p, W, H[0], pt);
        if (st == NMF_STATUS_OK && !job->quiet)
            print_point(opt, pt);
        if (st == NMF_STATUS_INTERRUPTED)
            st = nmf_error(NMF_STATUS_INTERRUPTED, "interrupted at k = %d; nothing written",
                           pt->k);
    }
    if (st == NMF_STATUS_OK && job->stop_flag && *job->stop_flag)
        st = nmf_error(NMF_STATUS_INTERRUPTED, "interrupted after the last fit; nothing written");
    if (st != NMF_STATUS_OK)
        goto cleanup;
    suggest(opt, &out);
    if ((st = write_survey(opt, &d, &p, backend->name,
                           &out)) != NMF_STATUS_OK)
        goto cleanup;
    if (!job->quiet)
        fprintf(stderr, "survey of %zu values of k in %s/survey.json, survey.csv, survey.png\n",
                out.count, job->output_dir);
    if (out.suggested >= 0)
        printf("suggested k: %d (%s)\n", out.points[out.suggested].k, out.rule);
    else
        printf("suggested k: none (%s)\n", out.rule);

cleanup:
    for (int r = 0; H && r < opt->restarts; r++)
        free(H[r]);
    free(H);
    free(W);
    null_data_free(&shuffled);
    survey_outcome_free(&out);
    dataset_free(&d);
    return st;
}
