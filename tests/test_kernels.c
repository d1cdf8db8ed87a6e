/* test_kernels.c - every product kernels table this CPU runs (kernels.h)
 * against a float64 oracle (dots, outer, times, gram), on shapes that
 * leave every tile and vector edge partial, and the properties the backend
 * relies on: the same bits for 1 and 2 threads, exactly symmetric Grams,
 * rows `ld` apart, bytes giving the bits of the same values as floats. A
 * table the CPU cannot run is reported as not run, by name. The blas table
 * (OpenBLAS's SGEMM, for comparison) is held to the accuracy alone: its
 * bits follow its kernels' own split by threads, which OpenBLAS does not
 * promise to keep (with OPENBLAS_CORETYPE=Haswell, as some machines set
 * it, 1 and 2 threads differ in the last bits and WᵀW is not symmetric). */
#define _POSIX_C_SOURCE 200809L
#include "init.h"
#include "kernels.h"
#include "test_util.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* Our own kernels, whose bits the backend's properties rest on (not blas). */
static int ours(const nmf_cpu_kernels *kt)
{
    return kt != &nmf_cpu_kernels_blas;
}

static void fill(float *x, size_t len, unsigned seed, float scale)
{
    for (size_t i = 0; i < len; i++) {
        seed = seed * 1103515245u + 12345u;
        x[i] = scale * (float)((seed >> 8) & 0xffff) / 65536.0f;
    }
}

/* C (m, k) = A (m, n) Bᵀ with B (k, n), in double. */
static void dots_ref(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                     size_t ldb, double *C)
{
    for (size_t i = 0; i < m; i++)
        for (size_t t = 0; t < k; t++) {
            double s = 0.0;
            for (size_t j = 0; j < n; j++)
                s += (double)A[i * lda + j] * B[t * ldb + j];
            C[i * k + t] = s;
        }
}

/* D (k, n) = Aᵀ B with A (m, k), B (m, n), in double. */
static void outer_ref(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                      size_t ldb, double *D)
{
    for (size_t t = 0; t < k; t++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t i = 0; i < m; i++)
                s += (double)A[i * lda + t] * B[i * ldb + j];
            D[t * n + j] = s;
        }
}

/* Float sums of len products of values in [0, 255] x [0, 1): each term
 * rounds at 2^-24 relative, and a sum drifts at most len of those. */
static double bound(size_t len) { return 4e-7 * (double)len; }

/* times: C (m, n) = A (m, k) · B (k, n) against float64, and the same
 * bits for 1 and 2 threads. */
static void check_times(const nmf_cpu_kernels *kt, const char *what, size_t m, size_t k,
                        size_t n, const float *A, size_t lda, const float *B, size_t ldb)
{
    float *C = malloc(m * n * sizeof *C), *C2 = malloc(m * n * sizeof *C2);
    double *ref = malloc(m * n * sizeof *ref);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t t = 0; t < k; t++)
                s += (double)A[i * lda + t] * B[t * ldb + j];
            ref[i * n + j] = s;
        }
    omp_set_num_threads(2);
    kt->times(m, k, n, A, lda, B, ldb, C, n);
    char name[96];
    snprintf(name, sizeof name, "%s times (%s) %zux%zux%zu", kt->name, what, m, k, n);
    check_matrix(name, C, ref, m * n, 1e-6, bound(k));
    omp_set_num_threads(1);
    kt->times(m, k, n, A, lda, B, ldb, C2, n);
    CHECK(!ours(kt) || memcmp(C, C2, m * n * sizeof *C) == 0);
    free(C), free(C2), free(ref);
}

static void check_shape(const nmf_cpu_kernels *kt, size_t m, size_t k, size_t n, size_t pad)
{
    const size_t lda = n + pad, ldk = k + pad;
    float *A = malloc(m * lda * sizeof *A), *B = malloc(k * lda * sizeof *B);
    float *Wk = malloc(m * ldk * sizeof *Wk);
    float *C = malloc(m * k * sizeof *C), *C2 = malloc(m * k * sizeof *C2);
    float *D = malloc(k * n * sizeof *D), *D2 = malloc(k * n * sizeof *D2);
    double *ref = malloc((m * k > k * n ? m * k : k * n) * sizeof *ref);
    fill(A, m * lda, 1, 255.0f); /* pixel-like */
    fill(B, k * lda, 2, 1.0f);
    fill(Wk, m * ldk, 3, 1.0f);
    char name[96];

    omp_set_num_threads(2);
    kt->dots(m, k, n, A, lda, B, lda, C, k);
    dots_ref(m, k, n, A, lda, B, lda, ref);
    snprintf(name, sizeof name, "%s dots %zux%zux%zu", kt->name, m, k, n);
    check_matrix(name, C, ref, m * k, 1e-3, bound(n));
    omp_set_num_threads(1);
    kt->dots(m, k, n, A, lda, B, lda, C2, k);
    CHECK(!ours(kt) || memcmp(C, C2, m * k * sizeof *C) == 0); /* the thread count changes no bit */

    omp_set_num_threads(2);
    kt->outer(m, k, n, Wk, ldk, A, lda, D, n);
    outer_ref(m, k, n, Wk, ldk, A, lda, ref);
    snprintf(name, sizeof name, "%s outer %zux%zux%zu", kt->name, m, k, n);
    check_matrix(name, D, ref, k * n, 1e-3, bound(m));
    omp_set_num_threads(1);
    kt->outer(m, k, n, Wk, ldk, A, lda, D2, n);
    CHECK(!ours(kt) || memcmp(D, D2, k * n * sizeof *D) == 0);

    check_times(kt, "W·H", m, k, n, Wk, ldk, B, lda);

    /* outer_add over two blocks of rows sums what outer sums at once. */
    const size_t top = m / 3;
    kt->outer(top, k, n, Wk, ldk, A, lda, D2, n);
    kt->outer_add(m - top, k, n, Wk + top * ldk, ldk, A + top * lda, lda, D2, n);
    snprintf(name, sizeof name, "%s outer_add %zu+%zu x%zux%zu", kt->name, top, m - top, k, n);
    check_matrix(name, D2, ref, k * n, 1e-3, bound(m));

    /* 8-bit data as bytes: the same bits as the same values as floats. */
    if (kt->dots_bytes) {
        unsigned char *Ab = malloc(m * lda);
        for (size_t i = 0; i < m * lda; i++) {
            A[i] = floorf(A[i]);
            Ab[i] = (unsigned char)A[i];
        }
        kt->dots(m, k, n, A, lda, B, lda, C, k);
        kt->dots_bytes(m, k, n, Ab, lda, B, lda, C2, k);
        CHECK(memcmp(C, C2, m * k * sizeof *C) == 0);
        kt->outer(m, k, n, Wk, ldk, A, lda, D, n);
        kt->outer_bytes(m, k, n, Wk, ldk, Ab, lda, D2, n);
        CHECK(memcmp(D, D2, k * n * sizeof *D) == 0);
        kt->outer(top, k, n, Wk, ldk, A, lda, D, n);
        kt->outer_add(m - top, k, n, Wk + top * ldk, ldk, A + top * lda, lda, D, n);
        kt->outer_bytes(top, k, n, Wk, ldk, Ab, lda, D2, n);
        kt->outer_bytes_add(m - top, k, n, Wk + top * ldk, ldk, Ab + top * lda, lda, D2, n);
        CHECK(memcmp(D, D2, k * n * sizeof *D) == 0);
        free(Ab);
    }

    /* The Grams the backend takes as symmetric are exactly so. */
    float *G = malloc(k * k * sizeof *G), *G2 = malloc(k * k * sizeof *G2);
    kt->dots(k, k, n, B, lda, B, lda, G, k);
    int symmetric = 1;
    for (size_t t = 0; t < k; t++)
        for (size_t u = 0; u < t; u++)
            symmetric &= G[t * k + u] == G[u * k + t];
    /* gram, half of it computed, is dots' bits (blas: syrk, its own). */
    kt->gram(k, n, B, lda, G2);
    if (ours(kt))
        CHECK(memcmp(G, G2, k * k * sizeof *G) == 0);
    dots_ref(k, k, n, B, lda, B, lda, ref);
    check_matrix("gram", G2, ref, k * k, 1e-3, bound(n));
    kt->outer(m, k, k, Wk, ldk, Wk, ldk, G, k);
    for (size_t t = 0; t < k; t++)
        for (size_t u = 0; u < t; u++)
            symmetric &= G[t * k + u] == G[u * k + t];
    CHECK(!ours(kt) || symmetric);

    check_times(kt, "W·HHt", m, k, k, Wk, ldk, G2, k);
    free(G), free(G2);
    free(A), free(B), free(Wk), free(C), free(C2), free(D), free(D2), free(ref);
}

/* A whole fit (200 MU iterations, then 50 HALS ones, from one random
 * start) on each table the CPU runs: the losses agree with the first
 * table's to 1e-5 relative, and so do the products WH (the factors
 * themselves wander further apart where the problem is flat). */
static void check_fits_agree(const nmf_cpu_kernels *const *tables, size_t count)
{
    const size_t m = 60, n = 1031, k = 7;
    float *V = malloc(m * n * sizeof *V), *W = malloc(m * k * sizeof *W), *H = malloc(k * n * sizeof *H);
    float *W0 = malloc(m * k * sizeof *W0), *H0 = malloc(k * n * sizeof *H0);
    double *WH_first = calloc(m * n, sizeof *WH_first);
    fill(V, m * n, 7, 255.0f);
    const nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};
    CHECK(nmf_init_random(&problem, (int)k, 42, W0, H0) == NMF_STATUS_OK);
    for (int solver = 0; solver < 2; solver++) {
        double first_loss = 0.0;
        int have_first = 0;
        for (size_t t = 0; t < count; t++) {
            if (!nmf_cpu_kernels_runs(tables[t]))
                continue;
            setenv("NMF_CPU_KERNELS", tables[t]->name, 1);
            nmf_params p;
            nmf_params_default(&p);
            p.device = NMF_DEVICE_CPU;
            p.k = (int)k;
            p.tol = 0.0;
            p.solver = solver ? NMF_SOLVER_HALS : NMF_SOLVER_MU;
            p.max_iter = solver ? 50 : 200;
            memcpy(W, W0, m * k * sizeof *W);
            memcpy(H, H0, k * n * sizeof *H);
            nmf_result r;
            CHECK(nmf_fit(&problem, &p, W, H, &r) == NMF_STATUS_OK);
            CHECK(r.kernels && strcmp(r.kernels, tables[t]->name) == 0);
            double diff = 0.0, norm = 0.0;
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++) {
                    double wh = 0.0;
                    for (size_t q = 0; q < k; q++)
                        wh += (double)W[i * k + q] * H[q * n + j];
                    if (!have_first)
                        WH_first[i * n + j] = wh;
                    diff += (wh - WH_first[i * n + j]) * (wh - WH_first[i * n + j]);
                    norm += wh * wh;
                }
            if (!have_first) {
                first_loss = r.reconstruction_err;
                have_first = 1;
            }
            CHECK_CLOSE(r.reconstruction_err, first_loss, 0.0, 1e-5);
            CHECK(sqrt(diff / norm) <= 1e-5);
            printf("test_kernels: %s %s fit: loss %.9g, WH %.1e from the first table's\n",
                   tables[t]->name, solver ? "hals" : "mu", r.reconstruction_err, sqrt(diff / norm));
            nmf_result_free(&r);
        }
    }
    unsetenv("NMF_CPU_KERNELS");
    free(V), free(W), free(H), free(W0), free(H0), free(WH_first);
}

int main(void)
{
    const nmf_cpu_kernels *tables[] = {
#if defined(__x86_64__)
        &nmf_cpu_kernels_avx512, &nmf_cpu_kernels_avx2,
#endif
        &nmf_cpu_kernels_generic, &nmf_cpu_kernels_blas};
    /* Edges of every tile: m, k, n off the vector widths, tiles and the
     * dots j-block (64 vectors); k = 1; n shorter than one vector. */
    const size_t shapes[][3] = {{1, 1, 1},  {7, 3, 5},     {13, 9, 47},  {37, 20, 1031},
                                {64, 64, 128}, {5, 17, 3000}, {100, 11, 15}};
    for (size_t t = 0; t < sizeof tables / sizeof *tables; t++) {
        if (!nmf_cpu_kernels_runs(tables[t])) {
            printf("test_kernels: %s not run: this CPU lacks %s\n", tables[t]->name,
                   tables[t]->needs);
            continue;
        }
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (size_t pad = 0; pad <= 3; pad += 3)
                check_shape(tables[t], shapes[s][0], shapes[s][1], shapes[s][2], pad);
        printf("test_kernels: %s checked\n", tables[t]->name);
    }

    check_fits_agree(tables, sizeof tables / sizeof *tables);

    /* The choice: the environment's name, or an error naming it. */
    const nmf_cpu_kernels *chosen;
    setenv("NMF_CPU_KERNELS", "generic", 1);
    CHECK(nmf_cpu_kernels_select(&chosen) == NMF_STATUS_OK && chosen == &nmf_cpu_kernels_generic);
    setenv("NMF_CPU_KERNELS", "avx1024", 1);
    CHECK(nmf_cpu_kernels_select(&chosen) == NMF_STATUS_BAD_ARGUMENT);
    CHECK(strstr(nmf_last_error(), "NMF_CPU_KERNELS=avx1024") != NULL);
    unsetenv("NMF_CPU_KERNELS");
    CHECK(nmf_cpu_kernels_select(&chosen) == NMF_STATUS_OK && nmf_cpu_kernels_runs(chosen));
    printf("test_kernels: %d checks, %d failed; this CPU's choice: %s\n", test_checks,
           test_failures, chosen->name);
    return test_failures ? 1 : 0;
}
