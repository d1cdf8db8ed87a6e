/* test_stopping.c - HALS's stopping rule evaluated a block at a time (the
 * driver reads 10 iterations' violations after one synchronisation, and
 * goes back to the block's start when the rule held earlier in it) stops
 * exactly where the rule evaluated after every iteration stops, with the
 * bits of a run of exactly that many iterations: for tolerances that stop
 * inside a block, at its last iteration, and at the very first. */
#include "backend_compare.h"
#include "rng.h"
#include "test_util.h"

#include <string.h>

#define ITERATIONS 40

static nmf_params hals_params(int k, double tol, int max_iter)
{
    nmf_params p;
    nmf_params_sklearn(&p); /* its HALS rule, the projected-gradient violation */
    p.k = k;
    p.device = NMF_DEVICE_CPU;
    p.tol = tol;
    p.max_iter = max_iter;
    p.threads = 1; /* bitwise comparisons between runs */
    return p;
}

/* The first iteration (1-based) at which ratio <= tol. */
static int rule_stops_at(const double *ratio, double tol)
{
    for (int i = 0; i < ITERATIONS; i++)
        if (ratio[i] <= tol)
            return i + 1;
    return 0;
}

/* A fit with tol stops at `expected`, with the factors of a tol-0 fit of
 * exactly that many iterations. */
static void check_stop(const nmf_problem *problem, int k, const float *W0, const float *H0,
                       double tol, int expected)
{
    size_t wl = problem->m * (size_t)k, hl = (size_t)k * problem->n;
    float *W = malloc(wl * sizeof *W), *H = malloc(hl * sizeof *H);
    float *Wr = malloc(wl * sizeof *Wr), *Hr = malloc(hl * sizeof *Hr);
    memcpy(W, W0, wl * sizeof *W), memcpy(H, H0, hl * sizeof *H);
    memcpy(Wr, W0, wl * sizeof *Wr), memcpy(Hr, H0, hl * sizeof *Hr);
    nmf_params p = hals_params(k, tol, ITERATIONS);
    nmf_result r, ref;
    CHECK(nmf_fit(problem, &p, W, H, &r) == NMF_STATUS_OK);
    printf("tol %.6g: the rule holds first at iteration %d; the fit stopped at %d (%s)\n", tol,
           expected, r.iterations, r.stop_rule);
    CHECK(r.iterations == expected);
    CHECK(r.converged == 1);
    CHECK(strcmp(r.stop_rule, "hals tolerance") == 0);
    /* The last history entry is the stopping iteration's. */
    CHECK(r.history_len > 0 && r.history_iter[r.history_len - 1] == expected);
    p = hals_params(k, 0.0, expected);
    CHECK(nmf_fit(problem, &p, Wr, Hr, &ref) == NMF_STATUS_OK);
    CHECK(memcmp(W, Wr, wl * sizeof *W) == 0);
    CHECK(memcmp(H, Hr, hl * sizeof *H) == 0);
    CHECK(r.reconstruction_err == ref.reconstruction_err);
    nmf_result_free(&r);
    nmf_result_free(&ref);
    free(W), free(H), free(Wr), free(Hr);
}

int main(void)
{
    nmf_set_note_handler(NULL, NULL);
    const size_t m = 60, n = 90;
    const int k = 6;
    nmf_rng rng;
    nmf_rng_seed(&rng, 11);
    float *V = malloc(m * n * sizeof *V), *W0 = malloc(m * k * sizeof *W0),
          *H0 = malloc(k * n * sizeof *H0);
    for (size_t i = 0; i < m * n; i++)
        V[i] = (float)(255.0 * nmf_rng_double(&rng));
    for (size_t i = 0; i < m * (size_t)k; i++)
        W0[i] = (float)nmf_rng_double(&rng);
    for (size_t i = 0; i < (size_t)k * n; i++)
        H0[i] = (float)nmf_rng_double(&rng);
    nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};

    double ratio[ITERATIONS];
    const nmf_params rule = hals_params(k, 1.0, ITERATIONS);
    CHECK(compare_violation_ratios(&problem, &rule, W0, H0, ITERATIONS, ratio) == 0);
    /* Tolerances at which the rule first holds inside a block, at a
     * block's last iteration, and at iteration 1; each exactly a ratio
     * seen, so the rule's "<=" is what decides. */
    int targets[] = {13, 20, 27, 1}, tried = 0;
    for (size_t t = 0; t < sizeof targets / sizeof *targets; t++) {
        double tol = ratio[targets[t] - 1];
        int stops = rule_stops_at(ratio, tol);
        if (stops < 1)
            continue;
        check_stop(&problem, k, W0, H0, tol, stops);
        tried++;
    }
    CHECK(tried == 4);
    /* A rule that never holds runs to max_iter. */
    nmf_params p = hals_params(k, 1e-30, 25);
    float *W = malloc(m * k * sizeof *W), *H = malloc(k * n * sizeof *H);
    memcpy(W, W0, m * k * sizeof *W), memcpy(H, H0, k * n * sizeof *H);
    nmf_result r;
    CHECK(nmf_fit(&problem, &p, W, H, &r) == NMF_STATUS_OK);
    CHECK(r.iterations == 25 && !r.converged && strcmp(r.stop_rule, "max_iter") == 0);
    nmf_result_free(&r);
    free(V), free(W0), free(H0), free(W), free(H);
    return test_exit();
}
