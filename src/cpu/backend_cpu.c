/* backend_cpu.c - the CPU backend: GEMMs through CBLAS (OpenBLAS), the
 * element-wise updates in OpenMP loops over the shared per-element math.
 * Three solvers share its products: Frobenius MU (below), MU for other
 * beta-divergences (beta_mu.c) and HALS (hals.c).
 *
 * One Frobenius MU iteration (scikit-learn's order, W first):
 *   HHt = H Hᵀ            (k, k)  2k²n flops (syrk: half)
 *   VHt = V Hᵀ            (m, k)  2mnk
 *   W  *= VHt / (W HHt)   (m, k)  2mk²
 *   WtW = Wᵀ W            (k, k)  2k²m (syrk: half)
 *   WtV = Wᵀ V            (k, n)  2mnk
 *   H  *= WtV / (WtW H)   (k, n)  2k²n
 * The loss reuses WtV and WtW, which stay valid for the current W after the
 * H update, and HHt of the new H, which the next W update needs anyway:
 *   ||V - WH||² = ||V||² - 2<WtV, H> + <WtW, HHt>, summed in double.
 * HALS sweeps W with HHt and VHt, then H with WtW and WtV: the same products.
 * Other betas need WH (m, n) and cost 3-4 GEMMs of 2mnk per update. */
#define _POSIX_C_SOURCE 200809L
#include "backend.h"
#include "beta_mu.h"
#include "clock.h"
#include "error.h"
#include "hals.h"
#include "reduce.h"

#include <cblas.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t m, n, k;
    const float *V; /* (m, n), borrowed */
    float *W;       /* (m, k) */
    float *H;       /* (k, n) */
    float *HHt;     /* (k, k) of the current H when HHt_valid */
    float *WtW;     /* (k, k) of the current W when WtV_valid */
    float *WtV;     /* (k, n) of the current W when WtV_valid */
    float *VHt;     /* (m, k) scratch */
    float *den_W;   /* (m, k) scratch */
    float *den_H;   /* (k, n) scratch */
    float *WH, *R;  /* (m, n) scratch, beta != 2 only */
    nmf_solver solver;
    float beta;
    float l1_W, l2_W, l1_H, l2_H; /* scaled regularisation */
    double norm_V_sq;
    /* HALS with tol > 0: the violation of each iteration of the last
     * iterate call, and the factors from before it (W_mark, H_mark). */
    int track_violation;
    double violations[NMF_HISTORY_EVERY];
    float *W_mark, *H_mark;
    int HHt_valid, WtV_valid;
    /* The process's OpenMP and BLAS thread counts before a fit that set
     * its own (params->threads > 0), given back when it ends; 0: none. */
    int saved_omp_threads, saved_blas_threads;
} cpu_ctx;

void nmf_set_threads(int threads)
{
    if (threads <= 0)
        return;
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    openblas_set_num_threads(threads);
}

/* The fit's thread count, the process's own saved in c. */
static void take_threads(cpu_ctx *c, int threads)
{
    if (threads <= 0)
        return;
#ifdef _OPENMP
    c->saved_omp_threads = omp_get_max_threads();
#endif
    c->saved_blas_threads = openblas_get_num_threads();
    nmf_set_threads(threads);
}

static void give_back_threads(const cpu_ctx *c)
{
#ifdef _OPENMP
    if (c->saved_omp_threads > 0)
        omp_set_num_threads(c->saved_omp_threads);
#endif
    if (c->saved_blas_threads > 0)
        openblas_set_num_threads(c->saved_blas_threads);
}

/* S = A Aᵀ (trans = CblasNoTrans, A is (k, len)) or Aᵀ A (CblasTrans, A is
 * (len, k)), S (k, k) filled on both sides of the diagonal. */
static void gram(float *S, const float *A, size_t k, size_t len, CBLAS_TRANSPOSE trans)
{
    cblas_ssyrk(CblasRowMajor, CblasUpper, trans, (int)k, (int)len, 1.0f, A,
                trans == CblasNoTrans ? (int)len : (int)k, 0.0f, S, (int)k);
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < i; j++)
            S[i * k + j] = S[j * k + i];
}

static void ensure_HHt(cpu_ctx *c)
{
    if (!c->HHt_valid) {
        gram(c->HHt, c->H, c->k, c->n, CblasNoTrans);
        c->HHt_valid = 1;
    }
}

static void ensure_WtV(cpu_ctx *c)
{
    if (!c->WtV_valid) {
        gram(c->WtW, c->W, c->k, c->m, CblasTrans);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)c->k, (int)c->n,
                    (int)c->m, 1.0f, c->W, (int)c->k, c->V, (int)c->n, 0.0f,
                    c->WtV, (int)c->n);
        c->WtV_valid = 1;
    }
}

/* VHt (m, k) = V Hᵀ for the current H, with den_W as scratch. */
static void compute_VHt(cpu_ctx *c)
{
    const int m = (int)c->m, n = (int)c->n, k = (int)c->k;
    /* As the transpose of H Vᵀ (k, m): OpenBLAS runs this shape 20-30%
     * faster than V Hᵀ (measured on the faces, k = 20), and the transpose
     * of k·m floats is nothing beside 2mnk flops. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, k, m, n, 1.0f, c->H, n, c->V, n,
                0.0f, c->den_W, m);
    for (size_t i = 0; i < c->m; i++)
        for (size_t t = 0; t < c->k; t++)
            c->VHt[i * c->k + t] = c->den_W[t * c->m + i];
}

/* One Frobenius MU iteration: W, then H with the new W. */
static void mu_iteration(cpu_ctx *c)
{
    const int m = (int)c->m, n = (int)c->n, k = (int)c->k;
    ensure_HHt(c);
    compute_VHt(c);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, k, k, 1.0f, c->W, k,
                c->HHt, k, 0.0f, c->den_W, k);
    nmf_mu_apply_cpu(c->W, c->VHt, c->den_W, c->m * c->k, c->l1_W, c->l2_W, 1.0f, 0.0f);
    c->WtV_valid = 0;
    ensure_WtV(c);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, k, n, k, 1.0f, c->WtW, k,
                c->H, n, 0.0f, c->den_H, n);
    nmf_mu_apply_cpu(c->H, c->WtV, c->den_H, c->k * c->n, c->l1_H, c->l2_H, 1.0f, 0.0f);
    c->HHt_valid = 0;
}

/* One beta-divergence MU iteration (beta_mu.c): W, then H. */
static void beta_mu_iteration(cpu_ctx *c)
{
    nmf_beta_update_W_cpu(c->V, c->W, c->H, c->m, c->n, c->k, c->beta, c->l1_W, c->l2_W, c->WH,
                          c->R, c->VHt, c->den_W);
    nmf_beta_update_H_cpu(c->V, c->W, c->H, c->m, c->n, c->k, c->beta, c->l1_H, c->l2_H, c->WH,
                          c->R, c->WtV, c->den_H);
    c->HHt_valid = c->WtV_valid = 0;
}

/* One HALS iteration (hals.c): sweep W's columns, then H's rows; returns
 * the violation, the sum of both sweeps'. */
static double hals_iteration(cpu_ctx *c)
{
    ensure_HHt(c);
    compute_VHt(c);
    double violation = nmf_hals_sweep_cpu(c->W, c->m, c->k, c->k, 1, c->HHt, c->VHt, c->k, 1,
                                          c->l1_W, c->l2_W);
    c->WtV_valid = 0;
    ensure_WtV(c);
    violation += nmf_hals_sweep_cpu(c->H, c->n, c->k, 1, c->n, c->WtW, c->WtV, 1, c->n,
                                    c->l1_H, c->l2_H);
    c->HHt_valid = 0;
    return violation;
}

static void cpu_free(void *ctx)
{
    cpu_ctx *c = ctx;
    if (!c)
        return;
    give_back_threads(c);
    free(c->W);
    free(c->H);
    free(c->HHt);
    free(c->WtW);
    free(c->WtV);
    free(c->VHt);
    free(c->den_W);
    free(c->den_H);
    free(c->WH);
    free(c->R);
    free(c->W_mark);
    free(c->H_mark);
    free(c);
}

static nmf_status cpu_init(void **ctx, const nmf_problem *problem,
                           const nmf_params *params, const float *W0, const float *H0)
{
    size_t m = problem->m, n = problem->n, k = (size_t)params->k;
    /* CBLAS takes int dimensions. */
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
        return nmf_error(NMF_STATUS_TOO_LARGE,
                         "%zu x %zu is beyond the CPU backend's 32-bit BLAS dimensions", m, n);
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the CPU backend");
    c->m = m;
    c->n = n;
    c->k = k;
    c->V = problem->V;
    c->W = malloc(m * k * sizeof(float));
    c->H = malloc(k * n * sizeof(float));
    c->HHt = malloc(k * k * sizeof(float));
    c->WtW = malloc(k * k * sizeof(float));
    c->WtV = malloc(k * n * sizeof(float));
    c->VHt = malloc(m * k * sizeof(float));
    c->den_W = malloc(m * k * sizeof(float));
    c->den_H = malloc(k * n * sizeof(float));
    c->solver = params->solver;
    c->beta = (float)params->beta;
    nmf_regularization reg = nmf_regularization_of(problem, params);
    c->l1_W = (float)reg.l1_W;
    c->l2_W = (float)reg.l2_W;
    c->l1_H = (float)reg.l1_H;
    c->l2_H = (float)reg.l2_H;
    if (params->beta != 2.0) {
        c->WH = malloc(m * n * sizeof(float));
        c->R = malloc(m * n * sizeof(float));
    }
    c->track_violation = nmf_hals_rule_on(params);
    if (c->track_violation) {
        c->W_mark = malloc(m * k * sizeof(float));
        c->H_mark = malloc(k * n * sizeof(float));
    }
    if (!c->W || !c->H || !c->HHt || !c->WtW || !c->WtV || !c->VHt || !c->den_W || !c->den_H ||
        (params->beta != 2.0 && (!c->WH || !c->R)) ||
        (c->track_violation && (!c->W_mark || !c->H_mark))) {
        cpu_free(c);
        return nmf_error(NMF_STATUS_NO_MEMORY,
                         "out of memory for the factors (%zu x %zu, k = %zu)", m, n, k);
    }
    memcpy(c->W, W0, m * k * sizeof(float));
    memcpy(c->H, H0, k * n * sizeof(float));
    take_threads(c, params->threads);
    c->norm_V_sq = nmf_dot_double(c->V, NULL, m * n);
    *ctx = c;
    return NMF_STATUS_OK;
}

static nmf_status cpu_iterate(void *ctx, int n_iter)
{
    cpu_ctx *c = ctx;
    if (n_iter > NMF_HISTORY_EVERY)
        return nmf_error(NMF_STATUS_INTERNAL, "iterate: %d iterations in one call, at most %d",
                         n_iter, NMF_HISTORY_EVERY);
    if (c->track_violation) {
        memcpy(c->W_mark, c->W, c->m * c->k * sizeof(float));
        memcpy(c->H_mark, c->H, c->k * c->n * sizeof(float));
    }
    for (int it = 0; it < n_iter; it++) {
        if (c->solver == NMF_SOLVER_HALS)
            c->violations[it] = hals_iteration(c);
        else if (c->beta != 2.0f)
            beta_mu_iteration(c);
        else
            mu_iteration(c);
    }
    return NMF_STATUS_OK;
}

static nmf_status cpu_violations(void *ctx, double *out, int n)
{
    cpu_ctx *c = ctx;
    if (!c->track_violation || n > NMF_HISTORY_EVERY)
        return nmf_error(NMF_STATUS_INTERNAL, "violations: not recorded for this fit");
    memcpy(out, c->violations, (size_t)n * sizeof *out);
    return NMF_STATUS_OK;
}

static nmf_status cpu_rewind(void *ctx)
{
    cpu_ctx *c = ctx;
    if (!c->track_violation)
        return nmf_error(NMF_STATUS_INTERNAL, "rewind: no factors kept for this fit");
    memcpy(c->W, c->W_mark, c->m * c->k * sizeof(float));
    memcpy(c->H, c->H_mark, c->k * c->n * sizeof(float));
    c->HHt_valid = c->WtV_valid = 0;
    return NMF_STATUS_OK;
}

static nmf_status cpu_loss(void *ctx, double *error)
{
    cpu_ctx *c = ctx;
    if (c->beta != 2.0f) {
        *error = nmf_beta_error_cpu(c->V, c->W, c->H, c->m, c->n, c->k, c->beta, c->WH);
        return NMF_STATUS_OK;
    }
    ensure_HHt(c);
    ensure_WtV(c);
    double cross = nmf_dot_double(c->WtV, c->H, c->k * c->n);
    double quad = nmf_dot_double(c->WtW, c->HHt, c->k * c->k);
    double sq = c->norm_V_sq - 2.0 * cross + quad;
    /* Rounding can push an exact fit a hair below zero; a NaN (a fit whose
     * products overflowed) stays NaN for the driver to report. */
    *error = sqrt(sq < 0.0 ? 0.0 : sq);
    return NMF_STATUS_OK;
}

static nmf_status cpu_reset(void *ctx, const float *W0, const float *H0)
{
    cpu_ctx *c = ctx;
    memcpy(c->W, W0, c->m * c->k * sizeof(float));
    memcpy(c->H, H0, c->k * c->n * sizeof(float));
    c->HHt_valid = c->WtV_valid = 0;
    return NMF_STATUS_OK;
}

/* The ceiling the CPU figures are read against: this BLAS's SGEMM on large
 * square matrices, best of five after a warm-up (the best, since a shared
 * machine only ever makes a run slower). */
static nmf_status cpu_measure_ceilings(nmf_ceilings *out)
{
    const int size = 2048;
    const size_t len = (size_t)size * size;
    float *A = malloc(len * sizeof *A), *B = malloc(len * sizeof *B), *C = malloc(len * sizeof *C);
    if (!A || !B || !C) {
        free(A), free(B), free(C);
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the SGEMM ceiling");
    }
    for (size_t i = 0; i < len; i++)
        A[i] = B[i] = (float)(i % 7) * 0.25f;
    double best = INFINITY;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = nmf_clock_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0f, A, size,
                    B, size, 0.0f, C, size);
        double s = nmf_clock_s() - t0;
        if (rep > 0 && s < best) /* rep 0 warms up the threads and caches */
            best = s;
    }
    free(A), free(B), free(C);
    *out = (nmf_ceilings){.sgemm_gflops = 2.0 * size * size * (double)size / best / 1e9,
                          .sgemm_size = size};
    return NMF_STATUS_OK;
}

static nmf_status cpu_get_factors(void *ctx, float *W, float *H)
{
    cpu_ctx *c = ctx;
    memcpy(W, c->W, c->m * c->k * sizeof(float));
    memcpy(H, c->H, c->k * c->n * sizeof(float));
    return NMF_STATUS_OK;
}

static const nmf_bench_hooks cpu_bench = {
    .reset = cpu_reset,
    .measure_ceilings = cpu_measure_ceilings,
};

const nmf_backend nmf_backend_cpu = {
    .name = "cpu",
    .device = NMF_DEVICE_CPU,
    .precisions = 1u << NMF_PRECISION_FP32,
    .init = cpu_init,
    .iterate = cpu_iterate,
    .violations = cpu_violations,
    .rewind = cpu_rewind,
    .loss = cpu_loss,
    .get_factors = cpu_get_factors,
    .free = cpu_free,
    .bench = &cpu_bench,
};
