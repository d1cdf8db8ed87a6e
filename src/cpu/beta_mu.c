/* beta_mu.c - multiplicative updates and the loss for a beta-divergence
 * (beta != 2) on the CPU, following scikit-learn 1.2.1's dense code path
 * (_multiplicative_update_w/_h, the thresholds of _fit_multiplicative_update
 * and _beta_divergence); see beta_mu.h. Products through the kernels table, element-wise
 * loops in OpenMP over the per-element math of nmf_elementwise.h, which the
 * CUDA kernels (kernels/beta_mu.cu) share.
 *
 * One W update (beta != 1), row-major:
 *   WH  = W H                     (m, n)  2mnk flops
 *   R   = V ∘ WH^(β-2), WH ← WH^(β-1)  (m, n)  2 powf per element
 *   num = R Hᵀ                    (m, k)  2mnk
 *   den = WH Hᵀ                   (m, k)  2mnk
 *   W   = W ∘ (num / (den + l1 + l2 W))^γ
 * 6mnk flops; for beta = 1 the denominator is the row sums of H (kn adds)
 * and the update costs 4mnk. The H update mirrors it: 6mnk (4mnk at
 * beta = 1). */
#include "beta_mu.h"
#include "nmf_elementwise.h"
#include "reduce.h"

#include <math.h>

/* The loss is summed over this many fixed slices of V (the last ones empty
 * for tiny inputs) by nmf_sum_parts: the same bits for any thread count. */
#define ERROR_SLICES 256

/* WH = W H, (m, n). */
static void product(const nmf_cpu_kernels *kt, float *WH, const float *W, const float *H,
                    size_t m, size_t n, size_t k)
{
    kt->times(m, k, n, W, k, H, n, WH, n);
}

/* R = V ∘ WH^(β-2) with scikit-learn's clamps, and, for β != 1, WH ←
 * WH^(β-1) in place (its denominator), len = m·n entries. */
static void beta_terms(const float *V, float *WH, float *R, size_t len, float beta)
{
    if (beta == 1.0f) {
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < len; i++)
            R[i] = nmf_beta_numerator_term(V[i], WH[i], beta);
    } else {
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < len; i++) {
            R[i] = nmf_beta_numerator_term(V[i], WH[i], beta);
            WH[i] = nmf_beta_denominator_term(WH[i], beta);
        }
    }
}

void nmf_mu_apply_cpu(float *X, const float *num, const float *den, size_t len, float l1,
                      float l2, float gamma, float zero_below)
{
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < len; i++) {
        float x = nmf_mu_update(X[i], num[i], den[i], l1, l2, gamma);
        X[i] = x < zero_below ? 0.0f : x;
    }
}

void nmf_beta_update_W_cpu(const nmf_cpu_kernels *kt, const float *V, float *W, const float *H,
                           size_t m, size_t n, size_t k, float beta, float l1, float l2,
                           float *WH, float *R, float *num, float *den)
{
    product(kt, WH, W, H, m, n, k);
    beta_terms(V, WH, R, m * n, beta);
    /* num = R Hᵀ, (m, k) */
    kt->dots(m, k, n, R, n, H, n, num, k);
    if (beta == 1.0f) {
        /* den[i][t] = Σ_j H[t][j] for every row i, summed in double (numpy
         * sums float64; a float sum over n pixels would lose digits). No
         * zero rule here: nmf_mu_update's EPSILON takes care of it. */
        #pragma omp parallel for schedule(static)
        for (size_t t = 0; t < k; t++) {
            double s = 0.0;
            for (size_t j = 0; j < n; j++)
                s += H[t * n + j];
            den[t] = (float)s;
        }
        for (size_t i = 1; i < m; i++)
            for (size_t t = 0; t < k; t++)
                den[i * k + t] = den[t];
    } else {
        /* den = WH^(β-1) Hᵀ, (m, k) */
        kt->dots(m, k, n, WH, n, H, n, den, k);
    }
    nmf_mu_apply_cpu(W, num, den, m * k, l1, l2, nmf_mu_gamma(beta), beta < 1.0f ? NMF_EPSILON64 : 0.0f);
}

void nmf_beta_update_H_cpu(const nmf_cpu_kernels *kt, const float *V, const float *W, float *H,
                           size_t m, size_t n, size_t k, float beta, float l1, float l2,
                           float *WH, float *R, float *num, float *den)
{
    product(kt, WH, W, H, m, n, k);
    beta_terms(V, WH, R, m * n, beta);
    /* num = Wᵀ R, (k, n) */
    kt->outer(m, k, n, W, k, R, n, num, n);
    if (beta == 1.0f) {
        /* den[t][j] = Σ_i W[i][t] for every column j, zero sums -> 1
         * (scikit-learn's W_sum[W_sum == 0] = 1.0). */
        #pragma omp parallel for schedule(static)
        for (size_t t = 0; t < k; t++) {
            double s = 0.0;
            for (size_t i = 0; i < m; i++)
                s += W[i * k + t];
            float sum = (float)s == 0.0f ? 1.0f : (float)s;
            for (size_t j = 0; j < n; j++)
                den[t * n + j] = sum;
        }
    } else {
        /* den = Wᵀ WH^(β-1), (k, n) */
        kt->outer(m, k, n, W, k, WH, n, den, n);
    }
    nmf_mu_apply_cpu(H, num, den, k * n, l1, l2, nmf_mu_gamma(beta), beta <= 1.0f ? NMF_EPSILON64 : 0.0f);
}

typedef struct {
    const float *V, *WH;
    size_t len;
    double beta;
} loss_job;

/* Slice s of ERROR_SLICES near-equal slices of the m·n entries, in order. */
static double loss_slice(const void *ctx, size_t s)
{
    const loss_job *j = ctx;
    const size_t len = j->len;
    size_t lo = len / ERROR_SLICES * s + (len % ERROR_SLICES) * s / ERROR_SLICES;
    size_t hi = len / ERROR_SLICES * (s + 1) + (len % ERROR_SLICES) * (s + 1) / ERROR_SLICES;
    double sum = 0.0;
    for (size_t i = lo; i < hi; i++)
        sum += nmf_beta_loss_term(j->V[i], j->WH[i], j->beta);
    return sum;
}

/* D = Σ beta_loss_term over all m·n entries, divided by β(β-1) unless β is
 * 0 or 1; the error is sqrt(2·max(D, 0)) (NaN stays NaN, as Python's max
 * keeps it). Σ WH for β = 1 is summed from WH's entries rather than from
 * scikit-learn's Σ_t colsum(W)_t·rowsum(H)_t: equal up to rounding, and
 * entry by entry the first-order rounding of WH cancels between WH and
 * V log(V/WH) near a fit. */
double nmf_beta_error_cpu(const nmf_cpu_kernels *kt, const float *V, const float *W,
                          const float *H, size_t m, size_t n, size_t k, float beta, float *WH)
{
    product(kt, WH, W, H, m, n, k);
    const double b = beta;
    const loss_job job = {V, WH, m * n, b};
    double res = nmf_sum_parts(ERROR_SLICES, loss_slice, &job);
    if (b != 0.0 && b != 1.0)
        res /= b * (b - 1.0);
    if (res < 0.0) /* rounding errors, as scikit-learn's max(res, 0) */
        res = 0.0;
    return sqrt(2.0 * res);
}
