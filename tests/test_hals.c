/* test_hals.c - the CPU HALS sweep (src/cpu/hals.c) against a float64 oracle
 * written with plain loops of scikit-learn's Cython, against numbers from
 * scikit-learn itself, and the properties a sweep must have: a regularised
 * objective that never increases, non-negative factors, and a violation
 * that does not depend on the thread count. */
#include "hals.h"
#include "nmf_elementwise.h"
#include "test_util.h"

#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* --- the oracle: scikit-learn's _update_cdnmf_fast in double ----------------
 * X (rows, k) row-major, HHt (k, k) with l2 already on the diagonal, XHt
 * (rows, k) with l1 already subtracted: exactly the Cython's loops, t outer
 * and i inner. Returns the violation. */
static double oracle_sweep(double *X, size_t rows, size_t k, const double *HHt,
                           const double *XHt)
{
    double violation = 0.0;
    for (size_t t = 0; t < k; t++)
        for (size_t i = 0; i < rows; i++) {
            double grad = -XHt[i * k + t];
            for (size_t r = 0; r < k; r++)
                grad += HHt[t * k + r] * X[i * k + r];
            double pg = X[i * k + t] == 0.0 ? fmin(0.0, grad) : grad;
            violation += fabs(pg);
            double hess = HHt[t * k + t];
            if (hess != 0.0)
                X[i * k + t] = fmax(X[i * k + t] - grad / hess, 0.0);
        }
    return violation;
}

/* --- helpers ------------------------------------------------------------------ */

/* A small deterministic generator (64-bit LCG, top 24 bits): uniform floats
 * in [0, 1), the same on every machine. */
static float next_uniform(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)(*state >> 40) / 16777216.0f;
}

/* len uniform floats in [0, scale), about a fraction `zeros` of them exactly 0
 * (so the projected gradient's x == 0 branch is exercised). */
static float *random_factor(uint64_t *state, size_t len, float scale, float zeros)
{
    float *x = malloc(len * sizeof *x);
    for (size_t i = 0; i < len; i++) {
        float u = next_uniform(state);
        x[i] = u < zeros ? 0.0f : scale * next_uniform(state);
    }
    return x;
}

/* C (r, c) = A · B with A's entry (i, t) at A[i*a_rs + t*a_cs] and B's (t, j)
 * at B[t*b_rs + j*b_cs], inner dimension `inner`, in double, rounded to float. */
static void product_f(float *C, const float *A, size_t a_rs, size_t a_cs, const float *B,
                      size_t b_rs, size_t b_cs, size_t r, size_t inner, size_t c)
{
    for (size_t i = 0; i < r; i++)
        for (size_t j = 0; j < c; j++) {
            double s = 0.0;
            for (size_t t = 0; t < inner; t++)
                s += (double)A[i * a_rs + t * a_cs] * (double)B[t * b_rs + j * b_cs];
            C[i * c + j] = (float)s;
        }
}

/* The W sweep's inputs: G = HHᵀ (k, k), P = VHᵀ (m, k). */
static void w_products(float *G, float *P, const float *V, const float *H, size_t m, size_t n,
                       size_t k)
{
    product_f(G, H, n, 1, H, 1, n, k, n, k);
    product_f(P, V, n, 1, H, 1, n, m, n, k);
}

/* The H sweep's inputs: G = WᵀW (k, k), P = WᵀV (k, n). */
static void h_products(float *G, float *P, const float *V, const float *W, size_t m, size_t n,
                       size_t k)
{
    product_f(G, W, 1, k, W, k, 1, k, m, k);
    product_f(P, W, 1, k, V, n, 1, k, m, n);
}

/* 0.5‖V − WH‖² + l1·(ΣW + ΣH) + 0.5·l2·(‖W‖² + ‖H‖²) in double: the objective
 * whose every coordinate a sweep minimises exactly. */
static double objective(const float *V, const float *W, const float *H, size_t m, size_t n,
                        size_t k, double l1, double l2)
{
    double fit = 0.0, sum = 0.0, sq = 0.0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double wh = 0.0;
            for (size_t t = 0; t < k; t++)
                wh += (double)W[i * k + t] * H[t * n + j];
            fit += (V[i * n + j] - wh) * (V[i * n + j] - wh);
        }
    for (size_t i = 0; i < m * k; i++) {
        sum += W[i];
        sq += (double)W[i] * W[i];
    }
    for (size_t i = 0; i < k * n; i++) {
        sum += H[i];
        sq += (double)H[i] * H[i];
    }
    return 0.5 * fit + l1 * sum + 0.5 * l2 * sq;
}

/* --- (a) one W sweep and one H sweep against the oracle ----------------------
 * The oracle gets our float inputs converted to double and adds l2 and
 * subtracts l1 in double; we accumulate in float. Tolerance: 1e-5 abs +
 * 1e-4 rel per element (float rounding of O(1) sums of k products, then a
 * division by the Hessian), 1e-5 rel on the violation. */
static void test_against_oracle(size_t m, size_t n, size_t k, float l1, float l2,
                                uint64_t seed)
{
    printf("oracle: m=%zu n=%zu k=%zu l1=%g l2=%g\n", m, n, k, l1, l2);
    uint64_t state = seed;
    float *V = random_factor(&state, m * n, 1.0f, 0.0f);
    float *W = random_factor(&state, m * k, 1.0f, 0.2f);
    float *H = random_factor(&state, k * n, 1.0f, 0.2f);
    size_t big = (m > n ? m : n) * k;
    float *G = malloc(k * k * sizeof *G), *P = malloc(big * sizeof *P);
    double *X = malloc(big * sizeof *X), *HHt = malloc(k * k * sizeof *HHt);
    double *XHt = malloc(big * sizeof *XHt);

    /* W sweep: X = W (m, k), x_row = k, x_comp = 1; P = VHᵀ (m, k). */
    w_products(G, P, V, H, m, n, k);
    for (size_t i = 0; i < m * k; i++) {
        X[i] = W[i];
        XHt[i] = (double)P[i] - l1;
    }
    for (size_t i = 0; i < k * k; i++)
        HHt[i] = G[i] + (i % (k + 1) == 0 ? (double)l2 : 0.0);
    double want = oracle_sweep(X, m, k, HHt, XHt);
    double got = nmf_hals_sweep_cpu(W, m, k, k, 1, G, P, k, 1, l1, l2);
    check_matrix("W after a sweep", W, X, m * k, 1e-5, 1e-4);
    CHECK_CLOSE(got, want, 0.0, 1e-5);
    CHECK(all_nonnegative(W, m * k));

    /* H sweep with the new W: X = H (k, n) swept column by column, rows = n,
     * x_row = 1, x_comp = n; P = WᵀV (k, n), p_row = 1, p_comp = n. The
     * oracle works on Hᵀ (n, k) as scikit-learn does. */
    h_products(G, P, V, W, m, n, k);
    for (size_t j = 0; j < n; j++)
        for (size_t t = 0; t < k; t++) {
            X[j * k + t] = H[t * n + j];
            XHt[j * k + t] = (double)P[t * n + j] - l1;
        }
    for (size_t i = 0; i < k * k; i++)
        HHt[i] = G[i] + (i % (k + 1) == 0 ? (double)l2 : 0.0);
    want = oracle_sweep(X, n, k, HHt, XHt);
    got = nmf_hals_sweep_cpu(H, n, k, 1, n, G, P, 1, n, l1, l2);
    double *Ht_want = malloc(k * n * sizeof *Ht_want);
    for (size_t j = 0; j < n; j++)
        for (size_t t = 0; t < k; t++)
            Ht_want[t * n + j] = X[j * k + t];
    check_matrix("H after a sweep", H, Ht_want, k * n, 1e-5, 1e-4);
    CHECK_CLOSE(got, want, 0.0, 1e-5);
    CHECK(all_nonnegative(H, k * n));

    free(Ht_want);
    free(V);
    free(W);
    free(H);
    free(G);
    free(P);
    free(X);
    free(HHt);
    free(XHt);
}

/* --- (b) the objective never increases ----------------------------------------
 * Each coordinate step minimises the regularised objective exactly over that
 * coordinate (subject to >= 0), so over alternating W and H sweeps it can
 * only go down. In float it can rise by rounding once the steps are tiny:
 * allowed 1e-6 relative of slack for that, far below the decrease a wrong
 * gradient or Hessian would cause. */
static void test_objective_monotone(size_t m, size_t n, size_t k, float l1, float l2)
{
    printf("monotone: m=%zu n=%zu k=%zu l1=%g l2=%g, 30 iterations\n", m, n, k, l1, l2);
    uint64_t state = 12345;
    float *V = random_factor(&state, m * n, 4.0f, 0.0f);
    float *W = random_factor(&state, m * k, 1.0f, 0.1f);
    float *H = random_factor(&state, k * n, 1.0f, 0.1f);
    float *G = malloc(k * k * sizeof *G);
    float *P = malloc((m > n ? m : n) * k * sizeof *P);
    double start = objective(V, W, H, m, n, k, l1, l2), prev = start;
    int increases = 0, negatives = 0;
    for (int it = 0; it < 30; it++) {
        w_products(G, P, V, H, m, n, k);
        nmf_hals_sweep_cpu(W, m, k, k, 1, G, P, k, 1, l1, l2);
        double after_w = objective(V, W, H, m, n, k, l1, l2);
        h_products(G, P, V, W, m, n, k);
        nmf_hals_sweep_cpu(H, n, k, 1, n, G, P, 1, n, l1, l2);
        double after_h = objective(V, W, H, m, n, k, l1, l2);
        if (after_w > prev * (1.0 + 1e-6) || after_h > after_w * (1.0 + 1e-6)) {
            increases++;
            fprintf(stderr, "  iteration %d: objective %.10g -> %.10g -> %.10g\n", it, prev,
                    after_w, after_h);
        }
        negatives += !all_nonnegative(W, m * k) || !all_nonnegative(H, k * n);
        prev = after_h;
    }
    CHECK(increases == 0);
    CHECK(negatives == 0);
    CHECK(prev < 0.9 * start); /* it did descend, not merely stand still */
    free(V);
    free(W);
    free(H);
    free(G);
    free(P);
}

/* --- (c) the same bits for any thread count ----------------------------------- */
static void test_thread_independence(void)
{
    /* Rows not a multiple of the chunk count, so chunks are uneven. */
    const size_t m = 777, n = 3001, k = 7;
    printf("threads: m=%zu n=%zu k=%zu, 1 vs 2 vs 3 threads\n", m, n, k);
    uint64_t state = 99;
    float *V = random_factor(&state, m * n, 1.0f, 0.0f);
    float *W0 = random_factor(&state, m * k, 1.0f, 0.2f);
    float *H0 = random_factor(&state, k * n, 1.0f, 0.2f);
    float *G_w = malloc(k * k * sizeof *G_w), *P_w = malloc(m * k * sizeof *P_w);
    float *G_h = malloc(k * k * sizeof *G_h), *P_h = malloc(k * n * sizeof *P_h);
    w_products(G_w, P_w, V, H0, m, n, k);
    h_products(G_h, P_h, V, W0, m, n, k);
    float *W[3], *H[3];
    double vw[3], vh[3];
    int saved = omp_get_max_threads();
    for (int r = 0; r < 3; r++) {
        omp_set_num_threads(r + 1);
        W[r] = malloc(m * k * sizeof *W[r]);
        H[r] = malloc(k * n * sizeof *H[r]);
        memcpy(W[r], W0, m * k * sizeof *W0);
        memcpy(H[r], H0, k * n * sizeof *H0);
        vw[r] = nmf_hals_sweep_cpu(W[r], m, k, k, 1, G_w, P_w, k, 1, 0.1f, 0.2f);
        vh[r] = nmf_hals_sweep_cpu(H[r], n, k, 1, n, G_h, P_h, 1, n, 0.1f, 0.2f);
    }
    omp_set_num_threads(saved);
    for (int r = 1; r < 3; r++) {
        CHECK(memcmp(&vw[r], &vw[0], sizeof vw[0]) == 0);
        CHECK(memcmp(&vh[r], &vh[0], sizeof vh[0]) == 0);
        CHECK(memcmp(W[r], W[0], m * k * sizeof *W0) == 0);
        CHECK(memcmp(H[r], H[0], k * n * sizeof *H0) == 0);
    }
    CHECK(vw[0] > 0.0 && vh[0] > 0.0);
    for (int r = 0; r < 3; r++) {
        free(W[r]);
        free(H[r]);
    }
    free(V);
    free(W0);
    free(H0);
    free(G_w);
    free(P_w);
    free(G_h);
    free(P_h);
}

/* --- (d) scikit-learn's own numbers --------------------------------------------
 * Produced once with /usr/bin/python3 (numpy 1.24.2, scikit-learn 1.2.1):
 *
 *   import numpy as np
 *   from sklearn.decomposition._cdnmf_fast import _update_cdnmf_fast
 *   m, n, k = 6, 7, 4
 *   W = np.array([[((i*7 + t*3) % 5) / 4.0 for t in range(k)] for i in range(m)])
 *   H = np.array([[((t*5 + j*3) % 7) / 4.0 for j in range(n)] for t in range(k)])
 *   V = np.array([[((i*11 + j*5) % 13) / 2.0 for j in range(n)] for i in range(m)])
 *   HHt = H @ H.T
 *   XHt = V @ H.T
 *   HHt.flat[::k + 1] += 0.7
 *   XHt -= 0.3
 *   viol = _update_cdnmf_fast(W, HHt, XHt, np.arange(k, dtype=np.intp))
 *   print("%.17g" % viol)
 *   for row in W:
 *       print(", ".join("%.17g" % v for v in row) + ",")
 *
 * (what _update_coordinate_descent does for the W update with l1_reg = 0.3,
 * l2_reg = 0.7, shuffle=False). The inputs are multiples of 1/4 and 1/2, so
 * HHᵀ and VHᵀ are exact in float as well: only the sweep itself differs
 * (ours in float, theirs in float64), hence 1e-5 relative, plus 1e-6
 * absolute for the entries that are 0 in theirs. */
static const double SKLEARN_VIOLATION = 118.03310853060405;
static const double SKLEARN_W[6 * 4] = {
    1.5161448140900193,  1.3629734873870736,  0.18182376532204442, 0.3532488382944966,
    1.3791585127201564,  1.9737487601533388,  0.26508123589163746, 0,
    0.80919765166340496, 1.6353711497734766,  0.89988777574538581, 0,
    1.7681017612524459,  1.1368522638929845,  1.8287601459943543,  0.22814625837464481,
    2.0469667318982383,  0.41164249524166963, 1.2509456986639216,  1.4059578021047154,
    0.96819960861056742, 0.35206283676916056, 0.70491878981417999, 1.6506800016240439,
};

static void test_against_sklearn(void)
{
    enum { M = 6, N = 7, K = 4 };
    printf("scikit-learn: _update_cdnmf_fast, m=%d n=%d k=%d l1=0.3 l2=0.7\n", M, N, K);
    float W[M * K], H[K * N], V[M * N], G[K * K], P[M * K];
    for (int i = 0; i < M; i++)
        for (int t = 0; t < K; t++)
            W[i * K + t] = (float)((i * 7 + t * 3) % 5) / 4.0f;
    for (int t = 0; t < K; t++)
        for (int j = 0; j < N; j++)
            H[t * N + j] = (float)((t * 5 + j * 3) % 7) / 4.0f;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            V[i * N + j] = (float)((i * 11 + j * 5) % 13) / 2.0f;
    w_products(G, P, V, H, M, N, K);
    double viol = nmf_hals_sweep_cpu(W, M, K, K, 1, G, P, K, 1, 0.3f, 0.7f);
    CHECK_CLOSE(viol, SKLEARN_VIOLATION, 0.0, 1e-5);
    check_matrix("W against scikit-learn", W, SKLEARN_W, M * K, 1e-6, 1e-5);
    CHECK(W[1 * K + 3] == 0.0f && W[2 * K + 3] == 0.0f);
}

/* --- (d) blocks of rows give the row-by-row bits --------------------------------
 * hals.c sweeps several rows at once; each row must still see scikit-learn's
 * float arithmetic in its order, so its bits are those of this plain
 * row-by-row sweep (the previous implementation). Row counts that leave a
 * partial block, k from 1 to above the block width. */
static double rowwise_sweep(float *X, size_t rows, size_t k, size_t x_row, size_t x_comp,
                            const float *G, const float *P, size_t p_row, size_t p_comp,
                            float l1, float l2)
{
    double total = 0.0;
    for (size_t i = 0; i < rows; i++) {
        float *x = X + i * x_row;
        const float *p = P + i * p_row;
        for (size_t t = 0; t < k; t++) {
            const float hess = G[t * k + t] + l2;
            float grad = -(p[t * p_comp] - l1);
            for (size_t r = 0; r < k; r++)
                grad += (r == t ? hess : G[t * k + r]) * x[r * x_comp];
            float pg;
            x[t * x_comp] = nmf_hals_step(x[t * x_comp], grad, hess, &pg);
            total += fabs((double)pg);
        }
    }
    return total;
}

static void test_blocks_match_rowwise(size_t m, size_t n, size_t k)
{
    printf("blocks: m=%zu n=%zu k=%zu, bits against the row-by-row sweep\n", m, n, k);
    uint64_t state = 7 + k;
    float *V = random_factor(&state, m * n, 1.0f, 0.0f);
    float *W = random_factor(&state, m * k, 1.0f, 0.2f);
    float *H = random_factor(&state, k * n, 1.0f, 0.2f);
    float *W_ref = malloc(m * k * sizeof *W_ref), *H_ref = malloc(k * n * sizeof *H_ref);
    float *G = malloc(k * k * sizeof *G), *P = malloc((m > n ? m : n) * k * sizeof *P);
    memcpy(W_ref, W, m * k * sizeof *W);
    memcpy(H_ref, H, k * n * sizeof *H);

    w_products(G, P, V, H, m, n, k);
    double got = nmf_hals_sweep_cpu(W, m, k, k, 1, G, P, k, 1, 0.1f, 0.2f);
    double want = rowwise_sweep(W_ref, m, k, k, 1, G, P, k, 1, 0.1f, 0.2f);
    CHECK(memcmp(W, W_ref, m * k * sizeof *W) == 0);
    CHECK_CLOSE(got, want, 0.0, 1e-12); /* the same terms, summed in chunks */

    h_products(G, P, V, W, m, n, k);
    got = nmf_hals_sweep_cpu(H, n, k, 1, n, G, P, 1, n, 0.1f, 0.2f);
    want = rowwise_sweep(H_ref, n, k, 1, n, G, P, 1, n, 0.1f, 0.2f);
    CHECK(memcmp(H, H_ref, k * n * sizeof *H) == 0);
    CHECK_CLOSE(got, want, 0.0, 1e-12);

    free(V);
    free(W);
    free(H);
    free(W_ref);
    free(H_ref);
    free(G);
    free(P);
}

/* --- edge cases ------------------------------------------------------------------ */

/* Nothing to sweep: violation 0, nothing touched. A zero Hessian (a
 * component that is identically 0 in the other factor, no l2) skips the
 * coordinate, as scikit-learn does, but still counts its violation. */
static void test_edges(void)
{
    printf("edges: empty, zero Hessian\n");
    float x = 1.0f, g = 1.0f, p = 1.0f;
    CHECK(nmf_hals_sweep_cpu(&x, 0, 1, 1, 1, &g, &p, 1, 1, 0.0f, 0.0f) == 0.0);
    CHECK(nmf_hals_sweep_cpu(&x, 1, 0, 1, 1, &g, &p, 1, 1, 0.0f, 0.0f) == 0.0);
    CHECK(x == 1.0f);

    /* k = 2, component 1 has a zero Gram row: x1 stays, x0 steps. */
    float X[2] = {0.5f, 2.0f}, G[4] = {2.0f, 0.0f, 0.0f, 0.0f}, P[2] = {3.0f, 1.0f};
    double v = nmf_hals_sweep_cpu(X, 1, 2, 2, 1, G, P, 2, 1, 0.0f, 0.0f);
    /* t = 0: grad = 2·0.5 − 3 = −2, x0 = 0.5 + 1 = 1.5; t = 1: grad = −1, hess 0. */
    CHECK(X[0] == 1.5f);
    CHECK(X[1] == 2.0f);
    CHECK(v == 3.0);
}

int main(void)
{
    test_against_oracle(23, 31, 5, 0.0f, 0.0f, 1);
    test_against_oracle(23, 31, 5, 0.3f, 0.7f, 2);
    test_against_oracle(23, 31, 1, 0.0f, 0.0f, 3);
    test_against_oracle(23, 31, 1, 0.3f, 0.7f, 4);
    /* Many components: tiles of 2·260 rows of lanes. */
    test_against_oracle(9, 40, 260, 0.3f, 0.7f, 5);
    test_objective_monotone(23, 31, 5, 0.0f, 0.0f);
    test_objective_monotone(23, 31, 5, 0.3f, 0.7f);
    test_objective_monotone(23, 31, 1, 0.3f, 0.7f);
    test_thread_independence();
    test_against_sklearn();
    test_blocks_match_rowwise(37, 101, 1);
    test_blocks_match_rowwise(37, 101, 7);
    test_blocks_match_rowwise(400, 1000, 20);
    test_blocks_match_rowwise(53, 70, 33);
    test_edges();
    return test_exit();
}
