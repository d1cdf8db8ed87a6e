/* test_mu.c - the CPU backend's multiplicative updates against a float64
 * oracle written with plain loops, and the properties every MU run must
 * have: non-negative factors, a loss that never increases (Lee & Seung),
 * exact low-rank data recovered, parameter and data checks; and the
 * one-pass schedule against the two-pass one. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "nmf/nmf.h"
#include "nmf_elementwise.h"
#include "oracle.h"
#include "rng.h"
#include "test_util.h"

#include <cblas.h>
#include <omp.h>

#include <stdlib.h>
#include <string.h>

/* --- the oracle: scikit-learn's Frobenius MU step in double, naive loops -- */

/* C (r, c) = A (r, inner) · B (inner, c), with transposes given as strides. */
static void matmul(double *C, const double *A, size_t a_rs, size_t a_cs, const double *B,
                   size_t b_rs, size_t b_cs, size_t r, size_t inner, size_t c)
{
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < c; j++) {
            double s = 0.0;
            for (size_t t = 0; t < inner; t++)
                s += A[i * a_rs + t * a_cs] * B[t * b_rs + j * b_cs];
            C[i * c + j] = s;
        }
}

static void oracle_update(double *X, const double *num, const double *den, size_t len)
{
    for (size_t i = 0; i < len; i++)
        X[i] *= num[i] / (den[i] == 0.0 ? (double)NMF_EPSILON : den[i]);
}

/* One iteration: W *= VHᵀ / (W HHᵀ), then H *= WᵀV / (WᵀW H). */
static void oracle_step(const double *V, double *W, double *H, size_t m, size_t n, size_t k)
{
    double *HHt = malloc(k * k * sizeof *HHt), *WtW = malloc(k * k * sizeof *WtW);
    double *num = malloc((m > k ? m : k) * (n > k ? n : k) * sizeof *num);
    double *den = malloc((m > k ? m : k) * (n > k ? n : k) * sizeof *den);
    matmul(HHt, H, n, 1, H, 1, n, k, n, k);
    matmul(num, V, n, 1, H, 1, n, m, n, k);
    matmul(den, W, k, 1, HHt, k, 1, m, k, k);
    oracle_update(W, num, den, m * k);
    matmul(WtW, W, 1, k, W, k, 1, k, m, k);
    matmul(num, W, 1, k, V, n, 1, k, m, n);
    matmul(den, WtW, k, 1, H, n, 1, k, k, n);
    oracle_update(H, num, den, k * n);
    free(HHt);
    free(WtW);
    free(num);
    free(den);
}

static double oracle_error(const double *V, const double *W, const double *H, size_t m,
                           size_t n, size_t k)
{
    double s = 0.0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double wh = 0.0;
            for (size_t t = 0; t < k; t++)
                wh += W[i * k + t] * H[t * n + j];
            s += (V[i * n + j] - wh) * (V[i * n + j] - wh);
        }
    return sqrt(s);
}

/* --- helpers ---------------------------------------------------------------- */

static float *random_matrix(nmf_rng *rng, size_t len, double scale)
{
    float *x = malloc(len * sizeof *x);
    for (size_t i = 0; i < len; i++)
        x[i] = (float)(scale * nmf_rng_double(rng));
    return x;
}

/* Default parameters with k components, pinned to the CPU backend, which
 * is what this file tests (on a GPU machine, auto would pick the GPU). */
static nmf_params cpu_params(int k)
{
    nmf_params p;
    nmf_params_default(&p);
    p.device = NMF_DEVICE_CPU;
    p.solver = NMF_SOLVER_MU; /* what most tests here are about; the others set it */
    p.k = k;
    return p;
}

/* One MU step from a fixed start agrees with the oracle element-wise, and
 * the reported loss agrees with the oracle's direct ||V - WH||. */
static void test_one_step_matches_oracle(size_t m, size_t n, size_t k, int zero_column)
{
    nmf_rng rng;
    nmf_rng_seed(&rng, (uint32_t)(m * 131 + n * 7 + k));
    float *V = random_matrix(&rng, m * n, 255.0);
    float *W = random_matrix(&rng, m * k, 2.0);
    float *H = random_matrix(&rng, k * n, 2.0);
    if (zero_column) {
        /* Component 0 absent from W and H: its denominators are exactly 0
         * and the EPSILON rule must keep everything finite. */
        for (size_t i = 0; i < m; i++)
            W[i * k] = 0.0f;
        for (size_t j = 0; j < n; j++)
            H[j] = 0.0f;
    }
    double *Vd = to_double(V, m * n), *Wd = to_double(W, m * k), *Hd = to_double(H, k * n);

    nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};
    nmf_params p = cpu_params((int)k);
    p.max_iter = 1;
    p.tol = 0;
    nmf_result r;
    double error_at_init = oracle_error(Vd, Wd, Hd, m, n, k);
    CHECK(nmf_fit(&problem, &p, W, H, &r) == NMF_STATUS_OK);
    oracle_step(Vd, Wd, Hd, m, n, k);

    /* float32 GEMMs over n (or m) terms against double: relative 1e-5 is
     * ~100 float ulps, ample for n <= a few thousand. */
    check_matrix("W", W, Wd, m * k, 1e-6, 1e-5);
    check_matrix("H", H, Hd, k * n, 1e-6, 1e-5);
    double direct = reconstruction_error_f64(&problem, W, H, k);
    CHECK_CLOSE(r.reconstruction_err, direct, 0.0, 1e-6);
    CHECK_CLOSE(direct, oracle_error(Vd, Wd, Hd, m, n, k), 0.0, 1e-5);
    CHECK_CLOSE(r.error_at_init, error_at_init, 0.0, 1e-6);
    nmf_result_free(&r);
    free(V), free(W), free(H), free(Vd), free(Wd), free(Hd);
}

/* The objective scikit-learn's test_nmf_decreasing checks: D + l1_W·ΣW +
 * l1_H·ΣH + l2_W·ΣW² + l2_H·ΣH², with D = error²/2 for beta = 2. */
static double objective(const nmf_problem *problem, const nmf_params *p, double error,
                        const float *W, const float *H)
{
    nmf_regularization reg = nmf_regularization_of(problem, p);
    double sw = 0, sw2 = 0, sh = 0, sh2 = 0;
    for (size_t i = 0; i < problem->m * (size_t)p->k; i++)
        sw += W[i], sw2 += (double)W[i] * W[i];
    for (size_t i = 0; i < (size_t)p->k * problem->n; i++)
        sh += H[i], sh2 += (double)H[i] * H[i];
    return 0.5 * error * error + reg.l1_W * sw + reg.l1_H * sh + reg.l2_W * sw2 + reg.l2_H * sh2;
}

/* Runs `iters` single-iteration fits of p's solver in a row, checking
 * after each that W and H are non-negative and finite and that the
 * (regularised) objective did not increase. */
static void check_monotone(const nmf_problem *problem, float *W, float *H, nmf_params p, int iters)
{
    p.max_iter = 1;
    p.tol = 0;
    int negative = 0, increases = 0;
    /* The first iteration is compared with the start. */
    double previous = objective(problem, &p, reconstruction_error_f64(problem, W, H, (size_t)p.k),
                                W, H);
    for (int it = 0; it < iters; it++) {
        nmf_result r;
        CHECK(nmf_fit(problem, &p, W, H, &r) == NMF_STATUS_OK);
        double obj = objective(problem, &p, r.reconstruction_err, W, H);
        /* Non-increasing in exact arithmetic; float32 rounding of the
         * products may move it by a few ulps of ||V||² near a fixed point,
         * hence the 1e-6 relative slack. */
        if (obj > previous * (1.0 + 1e-6)) {
            increases++;
            fprintf(stderr, "  %s, iteration %d: objective %.9g > %.9g\n",
                    nmf_solver_name(p.solver), it + 1, obj, previous);
        }
        previous = obj;
        nmf_result_free(&r);
    }
    for (size_t i = 0; i < problem->m * (size_t)p.k; i++)
        negative += !(W[i] >= 0.0f) || !isfinite(W[i]);
    for (size_t i = 0; i < (size_t)p.k * problem->n; i++)
        negative += !(H[i] >= 0.0f) || !isfinite(H[i]);
    CHECK(increases == 0);
    CHECK(negative == 0);
}

static void test_monotone_random(void)
{
    nmf_rng rng;
    nmf_rng_seed(&rng, 7);
    size_t m = 40, n = 70, k = 6;
    float *V = random_matrix(&rng, m * n, 255.0);
    nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};
    float *W = malloc(m * k * sizeof *W), *H = malloc(k * n * sizeof *H);
    float *W0 = malloc(m * k * sizeof *W0), *H0 = malloc(k * n * sizeof *H0);
    nmf_params p = cpu_params((int)k);
    p.init = NMF_INIT_RANDOM;
    CHECK(nmf_initialize(&problem, &p, W0, H0) == NMF_STATUS_OK);
    /* Each solver (HALS with scikit-learn's one sweep per factor and with
     * the default several), plain and regularised (scikit-learn's test uses
     * alpha 0.1 and l1_ratio 0.5 on data of this scale). */
    const int sweeps_W = p.sweeps_W, sweeps_H = p.sweeps_H;
    for (int solver = NMF_SOLVER_MU; solver <= NMF_SOLVER_HALS + 1; solver++)
        for (int regularised = 0; regularised < 2; regularised++) {
            p.solver = solver == NMF_SOLVER_MU ? NMF_SOLVER_MU : NMF_SOLVER_HALS;
            p.sweeps_W = solver > NMF_SOLVER_HALS ? 1 : sweeps_W;
            p.sweeps_H = solver > NMF_SOLVER_HALS ? 1 : sweeps_H;
            p.alpha_W = regularised ? 0.1 : 0.0;
            p.l1_ratio = 0.5;
            memcpy(W, W0, m * k * sizeof *W);
            memcpy(H, H0, k * n * sizeof *H);
            check_monotone(&problem, W, H, p, 60);
        }
    free(V), free(W), free(H), free(W0), free(H0);
}

/* A face-like matrix: smooth non-negative blobs with a dark border and one
 * all-black image, which must neither break monotonicity nor make a NaN. */
static void test_monotone_face_like(void)
{
    size_t m = 24, side = 16, n = side * side, k = 5;
    float *V = calloc(m * n, sizeof *V);
    for (size_t i = 1; i < m; i++)
        for (size_t y = 2; y < side - 2; y++)
            for (size_t x = 2; x < side - 2; x++) {
                double cx = 7.5 + (double)(i % 3), cy = 7.5 + (double)(i % 4) - 1.0;
                double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                V[i * n + y * side + x] = (float)(200.0 * exp(-d2 / (8.0 + (double)i)));
            }
    nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};
    float *W = malloc(m * k * sizeof *W), *H = malloc(k * n * sizeof *H);
    nmf_params p = cpu_params((int)k);
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_OK);
    check_monotone(&problem, W, H, p, 60);
    for (size_t t = 0; t < k; t++)
        CHECK(W[t] == 0.0f); /* the black image needs no component */
    free(V), free(W), free(H);
}

/* V = W* H* with known non-negative factors is recovered, by each solver. */
static void test_low_rank_recovered(nmf_solver solver)
{
    nmf_rng rng;
    nmf_rng_seed(&rng, 3);
    size_t m = 30, n = 40, k = 3;
    float *Wt = random_matrix(&rng, m * k, 1.0), *Ht = random_matrix(&rng, k * n, 10.0);
    float *V = calloc(m * n, sizeof *V);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            for (size_t t = 0; t < k; t++)
                V[i * n + j] += Wt[i * k + t] * Ht[t * n + j];
    nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};
    float *W = malloc(m * k * sizeof *W), *H = malloc(k * n * sizeof *H);
    nmf_params p = cpu_params((int)k);
    p.tol = 0;
    p.max_iter = 5000;
    p.init = NMF_INIT_NNDSVDA;
    p.solver = solver;
    nmf_result r;
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_OK);
    CHECK(nmf_fit(&problem, &p, W, H, &r) == NMF_STATUS_OK);
    double rel = reconstruction_error_f64(&problem, W, H, k) / r.norm_V;
    printf("low-rank recovery, %s: relative error %.3g after %d iterations\n",
           nmf_solver_name(solver), rel, r.iterations);
    CHECK(rel < 1e-3);
    nmf_result_free(&r);
    free(Wt), free(Ht), free(V), free(W), free(H);
}

/* The tolerance rule stops a run and reports convergence. */
static void test_tolerance_stops(void)
{
    nmf_rng rng;
    nmf_rng_seed(&rng, 11);
    size_t m = 20, n = 30, k = 2;
    float *V = random_matrix(&rng, m * n, 255.0);
    nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};
    float *W = malloc(m * k * sizeof *W), *H = malloc(k * n * sizeof *H);
    nmf_params p = cpu_params((int)k);
    p.max_iter = 1000;
    p.tol = 1e-2;
    nmf_result r;
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_OK);
    CHECK(nmf_fit(&problem, &p, W, H, &r) == NMF_STATUS_OK);
    CHECK(r.converged == 1);
    CHECK(r.iterations < 1000 && r.iterations % 10 == 0);
    CHECK(r.history_iter[0] == 0 && r.history_iter[r.history_len - 1] == r.iterations);
    nmf_result_free(&r);
    free(V), free(W), free(H);
}

static void test_checks_refuse_bad_arguments(void)
{
    float V[6] = {1, 2, 3, 4, 5, 6}, zeros[6] = {0}, nan_v[6] = {1, 2, NAN, 4, 5, 6};
    nmf_problem problem = {2, 3, V, NULL, 0, NULL, NULL};
    nmf_params p = cpu_params(20);
    CHECK(nmf_problem_check(&problem) == NMF_STATUS_OK);
    CHECK(nmf_params_check(&problem, &p) == NMF_STATUS_BAD_ARGUMENT); /* k 20 > 2 */
    CHECK(strncmp(nmf_last_error(), "k: ", 3) == 0); /* the parameter, not a flag */
    p.init = NMF_INIT_RANDOM;
    CHECK(nmf_params_check(&problem, &p) == NMF_STATUS_OK);
    p.k = 0;
    CHECK(nmf_params_check(&problem, &p) == NMF_STATUS_BAD_ARGUMENT);
    p.k = 2;
    p.max_iter = 0;
    CHECK(nmf_params_check(&problem, &p) == NMF_STATUS_BAD_ARGUMENT);
    CHECK(strncmp(nmf_last_error(), "max_iter: ", 10) == 0);
    p.max_iter = 10;
    p.tol = -1;
    CHECK(nmf_params_check(&problem, &p) == NMF_STATUS_BAD_ARGUMENT);
    nmf_problem black = {2, 3, zeros, NULL, 0, NULL, NULL}, bad = {2, 3, nan_v, NULL, 0, NULL, NULL};
    CHECK(nmf_problem_check(&black) == NMF_STATUS_BAD_INPUT);
    CHECK(nmf_problem_check(&bad) == NMF_STATUS_BAD_INPUT);
    float W[4] = {1, 1, -1, 1}, H[6] = {1, 1, 1, 1, 1, 1};
    nmf_result r;
    p.tol = 0;
    CHECK(nmf_fit(&problem, &p, W, H, &r) == NMF_STATUS_BAD_ARGUMENT);
    CHECK(strstr(nmf_last_error(), "W0[1, 0]") != NULL);
    W[2] = 1;
    p.solver = NMF_SOLVER_HALS;
    p.beta = 1.0;
    CHECK(nmf_params_check(&problem, &p) == NMF_STATUS_BAD_ARGUMENT);
    CHECK(strstr(nmf_last_error(), "use the mu solver") != NULL);
    p.solver = NMF_SOLVER_MU;
    p.l1_ratio = 1.5;
    CHECK(nmf_params_check(&problem, &p) == NMF_STATUS_BAD_ARGUMENT);
    p.l1_ratio = 0;
    p.alpha_W = -1;
    CHECK(nmf_params_check(&problem, &p) == NMF_STATUS_BAD_ARGUMENT);
    p.alpha_W = 0;
    /* Itakura-Saito on data with a zero: refused, as scikit-learn does. */
    float V0[6] = {1, 0, 3, 4, 5, 6};
    nmf_problem with_zero = {2, 3, V0, NULL, 0, NULL, NULL};
    p.beta = 0.0;
    CHECK(nmf_fit(&with_zero, &p, W, H, &r) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "beta <= 0") != NULL);
    p.beta = 1.0;
    CHECK(nmf_fit(&with_zero, &p, W, H, &r) == NMF_STATUS_OK);
    nmf_result_free(&r);
}

/* Data so large that float32 products overflow: each solver reports the
 * divergence as an error instead of returning NaN factors with an error of
 * 0 or "out of memory". */
static void test_divergence_reported(void)
{
    nmf_rng rng;
    nmf_rng_seed(&rng, 9);
    size_t m = 20, n = 30, k = 3;
    float *V = random_matrix(&rng, m * n, 3e37);
    nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};
    float *W = malloc(m * k * sizeof *W), *H = malloc(k * n * sizeof *H);
    for (int solver = NMF_SOLVER_MU; solver <= NMF_SOLVER_HALS; solver++) {
        nmf_params p = cpu_params((int)k);
        p.init = NMF_INIT_RANDOM;
        p.solver = (nmf_solver)solver;
        p.max_iter = 20;
        CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_OK);
        nmf_result r;
        nmf_status st = nmf_fit(&problem, &p, W, H, &r);
        printf("%s on values near 3e37: %s\n", nmf_solver_name(p.solver),
               st == NMF_STATUS_OK ? "no error" : nmf_last_error());
        CHECK(st == NMF_STATUS_BAD_INPUT);
        CHECK(strstr(nmf_last_error(), "diverged") != NULL);
        if (st == NMF_STATUS_OK)
            nmf_result_free(&r);
    }
    free(V), free(W), free(H);
}

/* A fit with its own thread count gives the process's back when it ends. */
static void test_threads_given_back(void)
{
    nmf_rng rng;
    nmf_rng_seed(&rng, 10);
    size_t m = 20, n = 30, k = 3;
    float *V = random_matrix(&rng, m * n, 255.0);
    float *W = random_matrix(&rng, m * k, 1.0), *H = random_matrix(&rng, k * n, 1.0);
    nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};
    omp_set_num_threads(2);
    openblas_set_num_threads(2);
    nmf_params p = cpu_params((int)k);
    p.threads = 1;
    p.max_iter = 3;
    nmf_result r;
    CHECK(nmf_fit(&problem, &p, W, H, &r) == NMF_STATUS_OK);
    nmf_result_free(&r);
    CHECK(omp_get_max_threads() == 2);
    CHECK(openblas_get_num_threads() == 2);
    free(V), free(W), free(H);
}

/* The one-pass schedule (the default) reads V in blocks of rows and sums
 * Wᵀ V block after block; each output is still one chain over the rows in
 * order, so the vector tables give the two-pass schedule's bits, and the
 * BLAS its result to float32 rounding. 18 MB of bytes: at least two blocks
 * on any cache. */
static void test_one_pass_schedule(void)
{
    const size_t m = 1100, n = 16384, k = 4;
    uint8_t *V8 = malloc(m * n);
    nmf_rng rng;
    nmf_rng_seed(&rng, 8);
    for (size_t i = 0; i < m * n; i++)
        V8[i] = (uint8_t)(255.0 * nmf_rng_double(&rng));
    const nmf_problem problem = {m, n, NULL, V8, 0, NULL, NULL};
    const char *blas = getenv("NMF_CPU_KERNELS");
    const int exact = !blas || strcmp(blas, "blas") != 0;
    float *W0 = malloc(m * k * sizeof *W0), *H0 = malloc(k * n * sizeof *H0);
    float *W[2], *H[2];
    const nmf_solver solvers[2] = {NMF_SOLVER_MU, NMF_SOLVER_HALS};
    for (int s = 0; s < 2; s++) {
        nmf_params p = cpu_params((int)k);
        p.tol = 0;
        p.max_iter = 3;
        p.init = NMF_INIT_RANDOM;
        p.solver = solvers[s];
        CHECK(nmf_initialize(&problem, &p, W0, H0) == NMF_STATUS_OK);
        for (int one = 0; one < 2; one++) {
            setenv("NMF_CPU_SCHEDULE", one ? "one-pass" : "two-pass", 1);
            W[one] = malloc(m * k * sizeof *W[one]);
            H[one] = malloc(k * n * sizeof *H[one]);
            memcpy(W[one], W0, m * k * sizeof *W0);
            memcpy(H[one], H0, k * n * sizeof *H0);
            nmf_result r;
            CHECK(nmf_fit(&problem, &p, W[one], H[one], &r) == NMF_STATUS_OK);
            nmf_result_free(&r);
        }
        unsetenv("NMF_CPU_SCHEDULE");
        double worst = 0.0, largest = 0.0;
        for (size_t i = 0; i < k * n; i++) {
            worst = fmax(worst, fabs(H[0][i] - H[1][i]));
            largest = fmax(largest, fabs(H[0][i]));
        }
        worst /= largest;
        printf("one pass against two, %s: H %.2g of its largest entry apart\n",
               nmf_solver_name(solvers[s]), worst);
        if (exact)
            CHECK(memcmp(W[0], W[1], m * k * sizeof *W0) == 0 &&
                  memcmp(H[0], H[1], k * n * sizeof *H0) == 0);
        else
            CHECK(worst < 1e-4);
        for (int one = 0; one < 2; one++)
            free(W[one]), free(H[one]);
    }
    free(W0), free(H0), free(V8);
}

/* A mask of missing entries through the library: a missing entry's value
 * is never read (NaN there fits as 0 there, bit for bit, for each beta and
 * start), the error counts the observed entries alone (a V exact but where
 * missing fits closely), and HALS, a GPU or a streamed V refuse it. */
static void test_missing_entries(void)
{
    enum { M = 6, N = 5, K = 2 };
    float V0[M * N], Vnan[M * N];
    uint8_t mask[M * N];
    for (int i = 0; i < M * N; i++) {
        /* rank 2, exactly: (1 + i/N) * (1 + j) + (i % 2) * (N - j) */
        const int r = i / N, c = i % N;
        V0[i] = (float)((1 + r) * (1 + c) + (r % 2) * (N - c));
        mask[i] = i % 7 != 3;
        Vnan[i] = mask[i] ? V0[i] : NAN;
        if (!mask[i])
            V0[i] = 0.0f;
    }
    nmf_problem zeros = {M, N, V0, NULL, 0, NULL, mask}, nans = zeros;
    nans.V = Vnan;
    CHECK(nmf_problem_check(&nans) == NMF_STATUS_OK);
    static const double betas[] = {2.0, 1.0, 0.5};
    for (int b = 0; b < 3; b++)
        for (int init = 0; init < 2; init++) {
            nmf_params p = cpu_params(K);
            p.solver = NMF_SOLVER_MU;
            p.beta = betas[b];
            p.init = init ? NMF_INIT_NNDSVDA : NMF_INIT_RANDOM;
            p.max_iter = 200;
            p.tol = 0;
            float W[2][M * K], H[2][K * N];
            nmf_result r[2];
            const nmf_problem *problems[2] = {&zeros, &nans};
            int ok = 1;
            for (int s = 0; s < 2; s++)
                ok &= nmf_initialize(problems[s], &p, W[s], H[s]) == NMF_STATUS_OK &&
                      nmf_fit(problems[s], &p, W[s], H[s], &r[s]) == NMF_STATUS_OK;
            CHECK(ok);
            if (!ok)
                continue;
            CHECK(memcmp(W[0], W[1], sizeof W[0]) == 0 && memcmp(H[0], H[1], sizeof H[0]) == 0);
            CHECK(r[0].reconstruction_err == r[1].reconstruction_err);
            CHECK(isfinite(r[1].reconstruction_err) && isfinite(r[1].norm_V));
            nmf_result_free(&r[0]);
            nmf_result_free(&r[1]);
        }
    /* The exact rank-2 V, but where missing: the observed entries fit
     * closely, wherever the missing ones' zeros would have pulled them. */
    nmf_params p = cpu_params(K);
    p.solver = NMF_SOLVER_MU;
    p.init = NMF_INIT_NNDSVDA;
    p.max_iter = 5000;
    p.tol = 0;
    float W[M * K], H[K * N];
    nmf_result r;
    CHECK(nmf_initialize(&zeros, &p, W, H) == NMF_STATUS_OK);
    CHECK(nmf_fit(&zeros, &p, W, H, &r) == NMF_STATUS_OK);
    CHECK(r.reconstruction_err / r.norm_V < 1e-3);
    nmf_result_free(&r);

    p.solver = NMF_SOLVER_HALS;
    CHECK(nmf_fit(&zeros, &p, W, H, &r) == NMF_STATUS_BAD_ARGUMENT);
    CHECK(strstr(nmf_last_error(), "use the mu solver") != NULL);
    p.solver = NMF_SOLVER_MU;
    p.device = NMF_DEVICE_GPU;
    nmf_status st = nmf_fit(&zeros, &p, W, H, &r);
    /* No GPU here says so first; with one, the CUDA backend refuses. */
    CHECK(st == NMF_STATUS_NO_DEVICE ||
          (st == NMF_STATUS_BAD_ARGUMENT && strstr(nmf_last_error(), "missing pixels") != NULL));
    nmf_problem streamed = zeros; /* not read: refused from its fields */
    streamed.stream_block = 4096;
    p.device = NMF_DEVICE_CPU;
    CHECK(nmf_params_check(&streamed, &p) == NMF_STATUS_BAD_ARGUMENT);
}

int main(void)
{
    test_one_step_matches_oracle(13, 17, 4, 0);
    test_one_step_matches_oracle(64, 300, 7, 0);
    test_one_step_matches_oracle(5, 9, 1, 0);
    test_one_step_matches_oracle(20, 31, 3, 1);
    test_monotone_random();
    test_monotone_face_like();
    test_low_rank_recovered(NMF_SOLVER_MU);
    test_low_rank_recovered(NMF_SOLVER_HALS);
    test_tolerance_stops();
    test_checks_refuse_bad_arguments();
    test_divergence_reported();
    test_threads_given_back();
    test_one_pass_schedule();
    test_missing_entries();
    return test_exit();
}
