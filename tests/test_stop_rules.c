/* test_stop_rules.c - the error-fall stopping rules: the relative rule (the
 * default) and scikit-learn's MU rule each stop at the first check where
 * their condition holds on the errors a tol-0 run of the same start records,
 * and report it; an exact fit stops whatever the rule. */
#include "nmf/nmf.h"
#include "rng.h"
#include "test_util.h"

#include <string.h>

#define MAX_ITER 300

/* The iteration at which `stopping` with tol first holds on a tol-0 run's
 * history (every 10 iterations), or 0 when it never does. */
static int predicted_stop(const nmf_result *h, nmf_stopping stopping, double tol)
{
    for (int i = 1; i < h->history_len; i++) {
        const double fall = h->history_err[i - 1] - h->history_err[i];
        const double scale = stopping == NMF_STOPPING_RELATIVE ? h->history_err[i]
                                                               : h->history_err[0];
        if (fall < tol * scale)
            return h->history_iter[i];
    }
    return 0;
}

static nmf_params params(nmf_solver solver, nmf_stopping stopping, double tol)
{
    nmf_params p;
    nmf_params_default(&p);
    p.device = NMF_DEVICE_CPU;
    p.k = 5;
    p.init = NMF_INIT_RANDOM;
    p.solver = solver;
    p.stopping = stopping;
    p.tol = tol;
    p.max_iter = MAX_ITER;
    return p;
}

static nmf_status fit(const nmf_problem *pr, const nmf_params *p, nmf_result *r)
{
    float *W = malloc(pr->m * (size_t)p->k * sizeof *W), *H = malloc((size_t)p->k * pr->n * sizeof *H);
    nmf_status st = nmf_initialize(pr, p, W, H);
    if (st == NMF_STATUS_OK)
        st = nmf_fit(pr, p, W, H, r);
    free(W), free(H);
    return st;
}

static void check_rule(const nmf_problem *pr, nmf_solver solver, nmf_stopping stopping)
{
    nmf_params p = params(solver, stopping, 0.0);
    nmf_result all;
    CHECK(fit(pr, &p, &all) == NMF_STATUS_OK);
    /* Tolerances that stop early, in the middle and late in the run. */
    const double tols[] = {1e-2, 1e-3, 1e-4};
    for (size_t t = 0; t < sizeof tols / sizeof *tols; t++) {
        const int expected = predicted_stop(&all, stopping, tols[t]);
        p = params(solver, stopping, tols[t]);
        nmf_result r;
        CHECK(fit(pr, &p, &r) == NMF_STATUS_OK);
        printf("%s, %s rule, tol %g: predicted %d, stopped at %d (%s)\n",
               nmf_solver_name(solver), nmf_stopping_name(stopping), tols[t], expected,
               r.iterations, r.stop_rule);
        if (expected) {
            CHECK(r.converged && r.iterations == expected);
            CHECK(strcmp(r.stop_rule, stopping == NMF_STOPPING_RELATIVE ? "relative tolerance"
                                                                        : "mu tolerance") == 0);
            CHECK(r.reconstruction_err == all.history_err[expected / 10]);
        } else {
            CHECK(!r.converged && r.iterations == MAX_ITER);
        }
        nmf_result_free(&r);
    }
    nmf_result_free(&all);
}

int main(void)
{
    nmf_set_note_handler(NULL, NULL);
    const size_t m = 40, n = 50;
    nmf_rng rng;
    nmf_rng_seed(&rng, 5);
    float *V = malloc(m * n * sizeof *V);
    for (size_t i = 0; i < m * n; i++)
        V[i] = (float)(255.0 * nmf_rng_double(&rng));
    nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};
    check_rule(&problem, NMF_SOLVER_HALS, NMF_STOPPING_RELATIVE);
    check_rule(&problem, NMF_SOLVER_MU, NMF_STOPPING_RELATIVE);
    check_rule(&problem, NMF_SOLVER_MU, NMF_STOPPING_SKLEARN);

    /* The two rules read one tol differently: on unnormalised pixels the
     * initial error dwarfs the late falls, so scikit-learn's stops sooner. */
    nmf_result rel, sk;
    nmf_params p = params(NMF_SOLVER_MU, NMF_STOPPING_RELATIVE, 1e-4);
    CHECK(fit(&problem, &p, &rel) == NMF_STATUS_OK);
    p.stopping = NMF_STOPPING_SKLEARN;
    CHECK(fit(&problem, &p, &sk) == NMF_STATUS_OK);
    CHECK(sk.iterations < rel.iterations);
    nmf_result_free(&rel);
    nmf_result_free(&sk);

    /* One image and k = 1 from an exact start (W = 1, H = V: every product
     * exact in float, so the error stays exactly 0): the fit stops at the
     * first check even with tol 0, for either rule. */
    float one[6] = {10, 20, 30, 40, 50, 60}, w = 1.0f, h[6];
    nmf_problem single = {1, 6, one, NULL, 0, NULL, NULL};
    for (int solver = NMF_SOLVER_MU; solver <= NMF_SOLVER_HALS; solver++)
        for (int rule = NMF_STOPPING_RELATIVE; rule <= NMF_STOPPING_SKLEARN; rule++) {
            p = params((nmf_solver)solver, (nmf_stopping)rule, 0.0);
            p.k = 1;
            w = 1.0f;
            memcpy(h, one, sizeof h);
            nmf_result r;
            CHECK(nmf_fit(&single, &p, &w, h, &r) == NMF_STATUS_OK);
            printf("one image, k = 1, %s, %s rule: %d iterations, error %g (%s)\n",
                   nmf_solver_name((nmf_solver)solver), nmf_stopping_name((nmf_stopping)rule),
                   r.iterations, r.reconstruction_err, r.stop_rule);
            CHECK(r.reconstruction_err == 0.0 && r.iterations == 10);
            CHECK(r.converged && strcmp(r.stop_rule, "zero error") == 0);
            nmf_result_free(&r);
        }
    free(V);
    return test_exit();
}
