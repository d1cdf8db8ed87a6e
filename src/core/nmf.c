/* nmf.c - the driver: parameter checks, the iteration loop, the stopping
 * rule and progress reports. Backend-agnostic: the arithmetic lives in the
 * backends (backend_cpu.c), the driver only decides when to iterate and when
 * to evaluate the loss. */
#define _POSIX_C_SOURCE 200809L
#include "nmf/nmf.h"

#include "backend.h"
#include "clock.h"
#include "comm.h"
#include "error.h"
#include "init.h"
#include "names.h"
#include "reduce.h"
#include "stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nmf_params_default(nmf_params *p)
{
    memset(p, 0, sizeof *p);
    p->k = 20;
    p->max_iter = 1000;
    p->tol = 1e-3;
    p->stopping = NMF_STOPPING_RELATIVE;
    p->seed = 42;
    p->init = NMF_INIT_NNDSVD;
    p->solver = NMF_SOLVER_HALS;
    p->sweeps_W = 4;
    p->sweeps_H = 2;
    p->beta = 2.0;
    p->alpha_H = -1.0;
}

void nmf_params_sklearn(nmf_params *p)
{
    nmf_params_default(p);
    p->max_iter = 200;
    p->tol = 1e-4;
    p->stopping = NMF_STOPPING_SKLEARN;
    p->init = NMF_INIT_NNDSVDA;
    p->solver = NMF_SOLVER_HALS;
    p->sweeps_W = 1;
    p->sweeps_H = 1;
}

static const char *const solver_names[] = {[NMF_SOLVER_MU] = "mu", [NMF_SOLVER_HALS] = "hals"};
NMF_NAMES(nmf_solver, nmf_solver_name, nmf_solver_parse, solver_names)

static const char *const stopping_names[] = {[NMF_STOPPING_RELATIVE] = "relative",
                                             [NMF_STOPPING_SKLEARN] = "sklearn"};
NMF_NAMES(nmf_stopping, nmf_stopping_name, nmf_stopping_parse, stopping_names)

const char *nmf_loss_name(double beta)
{
    return beta == 2.0   ? "frobenius"
           : beta == 1.0 ? "kullback-leibler"
           : beta == 0.0 ? "itakura-saito"
                         : "beta";
}

nmf_regularization nmf_regularization_of(const nmf_problem *problem, const nmf_params *p)
{
    double alpha_H = p->alpha_H < 0 ? p->alpha_W : p->alpha_H;
    double m = (double)nmf_rows_total(problem), n = (double)problem->n;
    return (nmf_regularization){.l1_W = n * p->alpha_W * p->l1_ratio,
                                .l2_W = n * p->alpha_W * (1.0 - p->l1_ratio),
                                .l1_H = m * alpha_H * p->l1_ratio,
                                .l2_H = m * alpha_H * (1.0 - p->l1_ratio)};
}

nmf_status nmf_params_check(const nmf_problem *problem, const nmf_params *p)
{
    const size_t rows = nmf_rows_total(problem);
    size_t min_mn = rows < problem->n ? rows : problem->n;
    if (p->k < 1)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "k: must be at least 1, got %d", p->k);
    if (p->max_iter < 1)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "max_iter: must be at least 1, got %d", p->max_iter);
    if (!(p->tol >= 0.0) || !isfinite(p->tol))
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "tol: must be a finite number >= 0, got %g", p->tol);
    if (p->sweeps_W < 1 || p->sweeps_W > NMF_MAX_SWEEPS || p->sweeps_H < 1 ||
        p->sweeps_H > NMF_MAX_SWEEPS)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "sweeps: must be 1..%d each, got %d and %d",
                         NMF_MAX_SWEEPS, p->sweeps_W, p->sweeps_H);
    if (p->threads < 0)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "threads: must be >= 0, got %d", p->threads);
    if (!nmf_init_name(p->init) || !nmf_solver_name(p->solver) || !nmf_stopping_name(p->stopping) ||
        !nmf_precision_name(p->precision) || p->device < NMF_DEVICE_AUTO || p->device > NMF_DEVICE_GPU)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "unknown init, solver, stopping rule, device or precision");
    if (!isfinite(p->beta) || fabs(p->beta) > 100)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "beta: must be a number in -100..100, got %g",
                         p->beta);
    if (problem->mask && problem->stream_block)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "a mask of missing entries needs V in memory, not streamed from disk");
    if (p->solver == NMF_SOLVER_HALS && problem->mask)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "the hals solver does not fit with missing pixels (its coordinate steps "
                         "take every entry as observed); use the mu solver");
    if (p->solver == NMF_SOLVER_HALS && p->beta != 2.0)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "beta %g: the hals solver minimises the Frobenius loss (beta 2) only; "
                         "use the mu solver for this loss", p->beta);
    if (!(p->alpha_W >= 0) || !isfinite(p->alpha_W))
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "alpha_w: must be a finite number >= 0, got %g",
                         p->alpha_W);
    if (!isfinite(p->alpha_H))
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "alpha_h: must be a finite number (< 0: the same as alpha_w), got %g",
                         p->alpha_H);
    if (!(p->l1_ratio >= 0 && p->l1_ratio <= 1))
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "l1_ratio: must be in [0, 1], got %g",
                         p->l1_ratio);
    int nndsvd = p->init == NMF_INIT_NNDSVD || p->init == NMF_INIT_NNDSVDA ||
                 p->init == NMF_INIT_NNDSVDAR;
    if (nndsvd && (size_t)p->k > min_mn)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "k: %d is larger than min(images, pixels) = %zu, which the %s "
                         "init needs; hint: use fewer components or the random init",
                         p->k, min_mn, nmf_init_name(p->init));
    /* W, H and the scratch of the backends must be addressable. */
    size_t k = (size_t)p->k;
    if (problem->m > SIZE_MAX / sizeof(float) / k || problem->n > SIZE_MAX / sizeof(float) / k)
        return nmf_error(NMF_STATUS_TOO_LARGE, "k: %d makes W or H overflow size_t",
                         p->k);
    return NMF_STATUS_OK;
}

void nmf_problem_rows(const nmf_problem *p, size_t i0, size_t rows, float *out)
{
    const size_t first = i0 * p->n, len = rows * p->n;
    if (p->V)
        memcpy(out, p->V + first, len * sizeof *out);
    else
        for (size_t i = 0; i < len; i++)
            out[i] = p->V8[first + i];
    nmf_problem_release(p, first, len);
}

int nmf_problem_find_zero(const nmf_problem *problem, size_t *at)
{
    const size_t block = nmf_problem_block_rows(problem, problem->m) * problem->n,
                 len = problem->m * problem->n;
    for (size_t b0 = 0; b0 < len; b0 += block) {
        const size_t b1 = len - b0 < block ? len : b0 + block;
        for (size_t i = b0; i < b1; i++)
            if (nmf_problem_observed(problem, i) && nmf_problem_value(problem, i) == 0.0f) {
                *at = i;
                return 1;
            }
        nmf_problem_release(problem, b0, b1 - b0);
    }
    return 0;
}

nmf_status nmf_problem_check(const nmf_problem *problem)
{
    /* A rank's own problem is refused after the ranks agree, like its data. */
    nmf_status st = NMF_STATUS_OK;
    if (problem->V && problem->V8)
        st = nmf_error(NMF_STATUS_BAD_ARGUMENT, "the problem gives V both as floats and as bytes");
    else if (problem->m == 0 || problem->n == 0 || (!problem->V && !problem->V8))
        st = nmf_error(NMF_STATUS_BAD_INPUT, "the data matrix is empty");
    const size_t n = problem->n, len = st == NMF_STATUS_OK ? problem->m * n : 0,
                 block = len ? nmf_problem_block_rows(problem, problem->m) * n : 1;
    int any_positive = 0;
    size_t bad = len; /* the first observed value that is not finite and >= 0 */
    /* Bytes are finite and >= 0: they are read up to the first observed one
     * that is not 0. */
    for (size_t b0 = 0; b0 < len && bad == len && !(problem->V8 && any_positive); b0 += block) {
        const size_t b1 = len - b0 < block ? len : b0 + block;
        for (size_t i = b0; i < b1 && problem->V8 && !any_positive; i++)
            any_positive = problem->V8[i] != 0 && nmf_problem_observed(problem, i);
        for (size_t i = b0; i < b1 && problem->V && bad == len; i++) {
            if (!nmf_problem_observed(problem, i))
                continue;
            float v = problem->V[i];
            if (!isfinite(v) || v < 0.0f)
                bad = i;
            any_positive |= v > 0.0f;
        }
        nmf_problem_release(problem, b0, b1 - b0);
    }
    if (bad < len)
        st = nmf_error(NMF_STATUS_BAD_INPUT,
                       "image %zu, pixel %zu: value %g is not finite and non-negative",
                       nmf_row0(problem) + bad / n, bad % n, (double)problem->V[bad]);
    if ((st = nmf_comm_agree(problem->comm, st)) != NMF_STATUS_OK)
        return st;
    if (nmf_sum_double(problem, any_positive) == 0.0)
        return nmf_error(NMF_STATUS_BAD_INPUT,
                         "every %spixel of every image is zero: there is nothing to factorise",
                         problem->mask ? "observed " : "");
    return NMF_STATUS_OK;
}

/* scikit-learn refuses beta <= 0 on data with zeros (the updates divide by
 * powers of WH that V's zeros drive to 0). */
static nmf_status check_beta_data(const nmf_problem *problem, double beta)
{
    if (beta > 0.0)
        return NMF_STATUS_OK;
    size_t zero;
    nmf_status st = NMF_STATUS_OK;
    if (nmf_problem_find_zero(problem, &zero))
        st = nmf_error(NMF_STATUS_BAD_INPUT,
                       "image %zu, pixel %zu is 0: with beta <= 0 (beta %g) the data must "
                       "have no zeros, as scikit-learn requires; hint: add a small value to "
                       "the data or use a positive beta",
                       nmf_row0(problem) + zero / problem->n, zero % problem->n, beta);
    return st;
}

/* Checks that a start factor is finite and non-negative; row0 numbers
 * a rank's rows of W as the whole W's. */
static nmf_status check_factor(const char *name, const float *X, size_t rows, size_t cols,
                               size_t row0)
{
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(X[i]) || X[i] < 0.0f)
            return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                             "%s[%zu, %zu] = %g: start factors must be finite and non-negative",
                             name, row0 + i / cols, i % cols, (double)X[i]);
    return NMF_STATUS_OK;
}

/* Appends (iteration, error) to the result's history, which has room for
 * every entry the loop can record. */
static void record(nmf_result *r, int iteration, double error, double seconds)
{
    r->history_iter[r->history_len] = iteration;
    r->history_err[r->history_len] = error;
    r->history_s[r->history_len] = seconds;
    r->history_len++;
}

static int report(const nmf_params *p, int iteration, double error, double seconds)
{
    if (!p->progress)
        return 0;
    nmf_progress pr = {iteration, p->max_iter, error, seconds};
    return p->progress(&pr, p->progress_user);
}

nmf_status nmf_fit(const nmf_problem *problem, const nmf_params *p, float *W, float *H,
                   nmf_result *result)
{
    return nmf_fit_resume(problem, p, W, H, NULL, result);
}

/* A fit in progress: the backend and its context, the result being
 * filled, the clock, and the stopping rules' state, which a checkpoint
 * records and nmf_fit_resume continues from. */
typedef struct {
    const nmf_problem *problem;
    const nmf_params *p;
    const nmf_backend *backend;
    void *ctx;
    nmf_result *result;
    double t0, time_offset; /* a resumed run's clock goes on from the earlier one's */
    double error_at_init, error, previous, violation_at_1;
    int it, stop, fall_rule, hals_rule;
} fit_state;

/* Seconds of fitting so far, the earlier runs' of a resumed fit included. */
static double fit_elapsed(const fit_state *s)
{
    return s->time_offset + nmf_clock_s() - s->t0;
}

/* The backend's error after `iteration` iterations; a fit whose float32
 * products overflowed (values near FLT_MAX, say in HDR data) has no finite
 * error and is reported, not returned with NaN factors. Every decision
 * that follows an error is the ranks' together (nmf_any, nmf_comm_agree):
 * ranks whose CPUs run other kernels hold H to within rounding only, and
 * must still stop at the same iteration. */
static nmf_status evaluate_loss(const fit_state *s, int iteration, double *error)
{
    nmf_status st = s->backend->loss(s->ctx, error);
    if (st == NMF_STATUS_OK && !isfinite(*error))
        st = nmf_error(NMF_STATUS_BAD_INPUT,
                       "the fit diverged: after %d iterations the reconstruction error is %g "
                       "(float32 products overflowed); hint: scale the data down",
                       iteration, *error);
    return nmf_comm_agree(s->problem->comm, st);
}

/* The state a checkpoint records and nmf_fit_resume continues from. */
static void save_state(const fit_state *s)
{
    nmf_result *r = s->result;
    r->iterations = s->it;
    r->reconstruction_err = s->error;
    r->previous_error = s->previous;
    r->violation_at_1 = s->violation_at_1;
    r->fit_s = fit_elapsed(s);
}

/* Everything checked before any work: parameters, data, the backend and
 * its precision, the start factors, a resumed state. */
static nmf_status fit_check(const nmf_problem *problem, const nmf_params *p, const float *W,
                            const float *H, const nmf_result *from, const nmf_backend **backend)
{
    nmf_status st;
    if ((st = nmf_params_check(problem, p)) != NMF_STATUS_OK ||
        (st = check_beta_data(problem, p->beta)) != NMF_STATUS_OK ||
        (st = nmf_backend_select(p->device, nmf_problem_needs(problem), backend)) != NMF_STATUS_OK ||
        (st = nmf_backend_check_precision(*backend, p->precision)) != NMF_STATUS_OK)
        return st;
    if ((st = check_factor("W0", W, problem->m, (size_t)p->k, nmf_row0(problem))) != NMF_STATUS_OK ||
        (st = check_factor("H0", H, (size_t)p->k, problem->n, 0)) != NMF_STATUS_OK)
        return st;
    if (from && (from->iterations < 0 || from->iterations > p->max_iter ||
                 from->history_len < 1 || from->history_len > from->iterations / NMF_HISTORY_EVERY + 2))
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "resume: the saved state (%d iterations) does not fit max_iter = %d",
                         from->iterations, p->max_iter);
    return NMF_STATUS_OK;
}

/* The history's room and the backend's context from W, H: all that can
 * fail on one rank alone. */
static nmf_status fit_start(fit_state *s, const float *W, const float *H, const nmf_result *from)
{
    const nmf_params *p = s->p;
    nmf_result *r = s->result;
    /* Iteration 0, every 10th and the last (a HALS run that converges
     * between two tens adds that iteration instead of the last). */
    int capacity = p->max_iter / NMF_HISTORY_EVERY + 2 + (from ? 1 : 0);
    r->history_iter = malloc((size_t)capacity * sizeof *r->history_iter);
    r->history_err = malloc((size_t)capacity * sizeof *r->history_err);
    r->history_s = malloc((size_t)capacity * sizeof *r->history_s);
    if (!r->history_iter || !r->history_err || !r->history_s)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the loss history");

    s->t0 = nmf_clock_s();
    s->time_offset = from ? from->fit_s : 0.0;
    return s->backend->init(&s->ctx, s->problem, p, W, H);
}

/* The error at the start (iteration 0, or where the resumed run stopped)
 * and the stopping rules' state: the first collective step. */
static nmf_status fit_begin(fit_state *s, const nmf_result *from)
{
    const nmf_params *p = s->p;
    nmf_result *r = s->result;
    nmf_status st;
    if (from) {
        for (int i = 0; i < from->history_len; i++)
            record(r, from->history_iter[i], from->history_err[i], from->history_s[i]);
        s->error_at_init = from->error_at_init;
        s->error = from->history_err[from->history_len - 1];
    } else {
        if ((st = evaluate_loss(s, 0, &s->error_at_init)) != NMF_STATUS_OK)
            return st;
        record(r, 0, s->error_at_init, nmf_clock_s() - s->t0);
        s->error = s->error_at_init;
        s->stop = nmf_any(s->problem, report(p, 0, s->error_at_init, nmf_clock_s() - s->t0));
    }
    r->error_at_init = s->error_at_init;
    /* The stopping rules (nmf_stopping): the error's fall every 10
     * iterations, against the current error or (scikit-learn's MU) the
     * initial one; or scikit-learn's HALS violation after every iteration. */
    s->fall_rule = p->tol > 0.0 && (p->stopping == NMF_STOPPING_RELATIVE || p->solver == NMF_SOLVER_MU);
    s->hals_rule = nmf_hals_rule_on(p);
    s->previous = from ? from->previous_error : s->error_at_init;
    s->violation_at_1 = from ? from->violation_at_1 : 0.0;
    s->it = from ? from->iterations : 0;
    return NMF_STATUS_OK;
}

/* HALS's rule on the last block of `*step` iterations: the first that
 * meets it ends the fit; when that is before the block's last, the
 * backend goes back to the block's start and runs only up to it, so the
 * fit stops exactly where scikit-learn stops. *step becomes the
 * iterations kept. */
static nmf_status hals_rule_on_block(fit_state *s, int *step)
{
    double violations[NMF_HISTORY_EVERY];
    nmf_status st = s->backend->violations(s->ctx, violations, *step);
    if (st != NMF_STATUS_OK)
        return st;
    int done = 0;
    while (done < *step && !s->result->converged) {
        if (s->it + done + 1 == 1)
            s->violation_at_1 = violations[done];
        s->result->converged = nmf_any(s->problem, s->violation_at_1 == 0.0 ||
                                                       violations[done] / s->violation_at_1 <= s->p->tol);
        done++;
    }
    /* A rewind can fail on one rank (a GPU's copy): agreed on before the
     * iterations' sums. */
    if (done < *step &&
        ((st = nmf_comm_agree(s->problem->comm, s->backend->rewind(s->ctx))) != NMF_STATUS_OK ||
         (st = s->backend->iterate(s->ctx, done)) != NMF_STATUS_OK))
        return st;
    *step = done;
    return NMF_STATUS_OK;
}

/* One block of iterations, up to the next multiple of 10 (or max_iter, or
 * the next checkpoint), then the stopping rules, the history and the
 * progress report. */
static nmf_status fit_block(fit_state *s)
{
    const nmf_params *p = s->p;
    int step = NMF_HISTORY_EVERY - s->it % NMF_HISTORY_EVERY;
    if (step > p->max_iter - s->it)
        step = p->max_iter - s->it;
    if (p->checkpoint_every > 0 && step > p->checkpoint_every - s->it % p->checkpoint_every)
        step = p->checkpoint_every - s->it % p->checkpoint_every;
    nmf_status st = s->backend->iterate(s->ctx, step);
    if (st == NMF_STATUS_OK && s->hals_rule)
        st = hals_rule_on_block(s, &step);
    if (st != NMF_STATUS_OK)
        return st;
    s->it += step;
    if (s->it % NMF_HISTORY_EVERY == 0 || s->it == p->max_iter || s->result->converged) {
        if ((st = evaluate_loss(s, s->it, &s->error)) != NMF_STATUS_OK)
            return st;
        const double elapsed = fit_elapsed(s);
        record(s->result, s->it, s->error, elapsed);
        if (s->fall_rule && s->it % NMF_HISTORY_EVERY == 0) {
            const double scale =
                p->stopping == NMF_STOPPING_RELATIVE ? s->error : s->error_at_init;
            if ((s->previous - s->error) < p->tol * scale)
                s->result->converged = 1;
            s->previous = s->error;
        }
        /* An exact fit cannot improve: it stops whatever the rule. */
        if (s->error == 0.0)
            s->result->converged = 1;
        s->result->converged = nmf_any(s->problem, s->result->converged);
        s->stop = nmf_any(s->problem, report(p, s->it, s->error, elapsed));
    }
    return NMF_STATUS_OK;
}

/* The checkpoint callback, every checkpoint_every iterations of a fit that
 * goes on. */
static nmf_status fit_checkpoint(fit_state *s, float *W, float *H)
{
    const nmf_params *p = s->p;
    if (!p->checkpoint || p->checkpoint_every <= 0 || s->it % p->checkpoint_every != 0 ||
        s->it >= p->max_iter || s->result->converged || s->stop)
        return NMF_STATUS_OK;
    save_state(s);
    /* Copying the factors home can fail on one rank (a GPU's): agreed on
     * before the callback, which gathers W from the ranks. */
    nmf_status st = nmf_comm_agree(s->problem->comm, s->backend->get_factors(s->ctx, W, H));
    return st != NMF_STATUS_OK ? st : p->checkpoint(s->result, W, H, p->checkpoint_user);
}

/* The factors, the final state, and why the fit stopped. */
static nmf_status fit_finish(fit_state *s, float *W, float *H)
{
    nmf_result *r = s->result;
    nmf_status st = nmf_comm_agree(s->problem->comm, s->backend->get_factors(s->ctx, W, H));
    if (st != NMF_STATUS_OK)
        return st;
    save_state(s);
    r->frobenius_err = r->reconstruction_err;
    if (s->p->beta != 2.0 && (st = s->backend->frobenius(s->ctx, &r->frobenius_err)) != NMF_STATUS_OK)
        return st;
    r->norm_V = sqrt(nmf_sum_double(s->problem, nmf_problem_norm_sq(s->problem)));
    r->stop_rule = r->converged && s->error == 0.0 ? "zero error"
                   : r->converged ? (s->hals_rule                                   ? "hals tolerance"
                                     : s->p->stopping == NMF_STOPPING_RELATIVE ? "relative tolerance"
                                                                               : "mu tolerance")
                   : s->it < s->p->max_iter ? "interrupted"
                                            : "max_iter";
    if (s->stop && s->it < s->p->max_iter && !r->converged)
        return nmf_error(NMF_STATUS_INTERRUPTED, "stopped after %d iterations", s->it);
    return NMF_STATUS_OK;
}

nmf_status nmf_fit_resume(const nmf_problem *problem, const nmf_params *p, float *W, float *H,
                          const nmf_result *from, nmf_result *result)
{
    fit_state s = {.problem = problem, .p = p, .result = result};
    memset(result, 0, sizeof *result);
    nmf_status st = fit_check(problem, p, W, H, from, &s.backend);
    if (st == NMF_STATUS_OK) {
        result->device = s.backend->name;
        st = fit_start(&s, W, H, from);
    }
    /* Every rank has checked and staged its part before the first sum. */
    if ((st = nmf_comm_agree(problem->comm, st)) != NMF_STATUS_OK || (st = fit_begin(&s, from)) != NMF_STATUS_OK)
        goto cleanup;
    result->kernels = s.backend->kernels ? s.backend->kernels() : s.backend->name;
    while (!s.stop && s.it < p->max_iter && !result->converged)
        if ((st = fit_block(&s)) != NMF_STATUS_OK || (st = fit_checkpoint(&s, W, H)) != NMF_STATUS_OK)
            goto cleanup;
    st = fit_finish(&s, W, H);
cleanup:
    if (s.ctx)
        s.backend->free(s.ctx);
    if (st != NMF_STATUS_OK && st != NMF_STATUS_INTERRUPTED)
        nmf_result_free(result);
    return st;
}

void nmf_result_free(nmf_result *result)
{
    free(result->history_iter);
    free(result->history_err);
    free(result->history_s);
    memset(result, 0, sizeof *result);
}

nmf_status nmf_transform(const nmf_problem *problem, const nmf_params *p, const float *H,
                         float *W, nmf_result *result)
{
    memset(result, 0, sizeof *result);
    if (problem->comm) /* every rank alike: no collective is missed */
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "nmf_transform encodes one process's rows, and this problem is split "
                         "over ranks (it has a comm)");
    nmf_params q = *p;
    q.fixed_H = 1;
    q.stopping = NMF_STOPPING_RELATIVE;
    q.checkpoint_every = 0;
    nmf_status st = nmf_params_check(problem, &q);
    if (st != NMF_STATUS_OK)
        return st;
    const size_t n = problem->n, k = (size_t)q.k;
    /* The driver updates the H it is given in place; this one is the caller's. */
    float *H_fixed = malloc(k * n * sizeof *H_fixed);
    if (!H_fixed)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for H (k = %zu)", k);
    memcpy(H_fixed, H, k * n * sizeof *H_fixed);
    nmf_init_transform(problem, q.k, q.solver, W);
    st = nmf_fit_resume(problem, &q, W, H_fixed, NULL, result);
    free(H_fixed);
    return st;
}
