/* beta_mu.c - multiplicative updates and the loss for a beta-divergence
 * (beta != 2, or any beta with a mask of missing entries) on the CPU,
 * following scikit-learn 1.2.1's dense code path
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
 * and the update costs 4mnk (6mnk with a mask, whose denominators are
 * products). The H update mirrors it: 6mnk (4mnk at beta = 1). Both run over V in blocks of rows (nmf_beta_cpu), WH and R
 * made block by block, the H update's products with Wᵀ added block after
 * block. */
#include "beta_mu.h"
#include "comm.h"
#include "nmf_elementwise.h"
#include "reduce.h"
#include "stream.h"

#include <math.h>

/* Each block's loss is summed over this many fixed slices of it (the last
 * ones empty for tiny blocks) by nmf_sum_parts, and the blocks' sums in
 * order: the same bits for any thread count. */
#define ERROR_SLICES 256

/* 4 MiB of floats a scratch block. */
#define BLOCK_FLOATS ((size_t)1 << 20)
#define MIN_BLOCK_ROWS 8

size_t nmf_beta_block_rows(size_t m, size_t n)
{
    size_t rows = BLOCK_FLOATS / n;
    rows = rows < MIN_BLOCK_ROWS ? MIN_BLOCK_ROWS : rows;
    return rows < m ? rows : m;
}

/* V's entry `at` (row-major), a float or a byte as `bytes` says: the loops
 * below are compiled once per form, the test hoisted out of them. */
static inline float v_at(const nmf_problem *V, size_t at, const int bytes)
{
    return bytes ? (float)V->V8[at] : V->V[at];
}

/* WH = W H for rows [i0, i0 + rows): (rows, n). */
static void product(const nmf_beta_cpu *b, const float *W, const float *H, size_t i0,
                    size_t rows)
{
    const size_t n = b->V->n, k = b->k;
    b->kt->times(rows, k, n, W + i0 * k, k, H, n, b->WH, n);
}

/* Whether the denominators are W's column sums and H's row sums (KL over
 * a complete V), rather than products with WH^(β-1). */
static int sums_for_den(const nmf_beta_cpu *b, float beta)
{
    return beta == 1.0f && !b->V->mask;
}

/* R = V ∘ WH^(β-2) with scikit-learn's clamps over the block of rows from
 * i0 whose WH is in b->WH, and, unless sums_for_den, WH ← WH^(β-1) in
 * place (its denominator). With a mask both are 0 at missing entries,
 * whose value of V is never read. */
static inline void beta_terms_of(const nmf_beta_cpu *b, size_t i0, size_t rows, float beta,
                                 const int bytes)
{
    const size_t len = rows * b->V->n, first = i0 * b->V->n;
    float *WH = b->WH, *R = b->R;
    if (b->V->mask && beta == 2.0f) {
        /* nmf_beta_*_term at 2 (v and wh) in a loop that vectorises */
        const uint8_t *M = b->V->mask + first;
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < len; i++) {
            const float v = v_at(b->V, first + i, bytes), wh = WH[i];
            const int seen = M[i] != 0;
            R[i] = seen ? v : 0.0f;
            WH[i] = seen ? wh : 0.0f;
        }
    } else if (b->V->mask) {
        const uint8_t *M = b->V->mask + first;
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < len; i++) {
            const int seen = M[i] != 0;
            R[i] = seen ? nmf_beta_numerator_term(v_at(b->V, first + i, bytes), WH[i], beta) : 0.0f;
            WH[i] = seen ? nmf_beta_denominator_term(WH[i], beta) : 0.0f;
        }
    } else if (beta == 1.0f) {
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < len; i++)
            R[i] = nmf_beta_numerator_term(v_at(b->V, first + i, bytes), WH[i], beta);
    } else {
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < len; i++) {
            R[i] = nmf_beta_numerator_term(v_at(b->V, first + i, bytes), WH[i], beta);
            WH[i] = nmf_beta_denominator_term(WH[i], beta);
        }
    }
}

/* The block's terms, between a streamed V's block_begin and block_end. */
static void beta_terms(const nmf_beta_cpu *b, size_t i0, size_t rows, float beta)
{
    nmf_problem_block_begin(b->V, i0, rows, b->block);
    if (b->V->V8)
        beta_terms_of(b, i0, rows, beta, 1);
    else
        beta_terms_of(b, i0, rows, beta, 0);
    nmf_problem_block_end(b->V, i0, rows);
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

void nmf_beta_update_W_cpu(const nmf_beta_cpu *b, float beta, float *W, const float *H,
                           float l1, float l2, float *num, float *den)
{
    const nmf_cpu_kernels *kt = b->kt;
    const size_t m = b->V->m, n = b->V->n, k = b->k;
    for (size_t i0 = 0; i0 < m; i0 += b->block) {
        const size_t rows = nmf_block_len(m, i0, b->block);
        product(b, W, H, i0, rows);
        beta_terms(b, i0, rows, beta);
        /* num = R Hᵀ, (rows, k) */
        kt->dots(rows, k, n, b->R, n, H, n, num + i0 * k, k);
        /* den = WH^(β-1) Hᵀ, (rows, k) */
        if (!sums_for_den(b, beta))
            kt->dots(rows, k, n, b->WH, n, H, n, den + i0 * k, k);
    }
    if (sums_for_den(b, beta)) {
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
    }
    nmf_mu_apply_cpu(W, num, den, m * k, l1, l2, nmf_mu_gamma(beta), beta < 1.0f ? NMF_EPSILON64 : 0.0f);
}

void nmf_beta_update_H_cpu(const nmf_beta_cpu *b, float beta, const float *W, float *H,
                           float l1, float l2, float *num, float *den)
{
    const nmf_cpu_kernels *kt = b->kt;
    const size_t m = b->V->m, n = b->V->n, k = b->k;
    for (size_t i0 = 0; i0 < m; i0 += b->block) {
        const size_t rows = nmf_block_len(m, i0, b->block);
        const nmf_outer_fn into = i0 == 0 ? kt->outer : kt->outer_add;
        product(b, W, H, i0, rows);
        beta_terms(b, i0, rows, beta);
        /* num (+)= W_bᵀ R, (k, n) */
        into(rows, k, n, W + i0 * k, k, b->R, n, num, n);
        /* den (+)= W_bᵀ WH^(β-1), (k, n) */
        if (!sums_for_den(b, beta))
            into(rows, k, n, W + i0 * k, k, b->WH, n, den, n);
    }
    /* The sums over rows are the ranks' (nmf_comm). */
    nmf_sum_floats(b->V, num, k * n);
    if (!sums_for_den(b, beta))
        nmf_sum_floats(b->V, den, k * n);
    else {
        /* den[t][j] = Σ_i W[i][t] for every column j, zero sums -> 1
         * (scikit-learn's W_sum[W_sum == 0] = 1.0). */
        #pragma omp parallel for schedule(static)
        for (size_t t = 0; t < k; t++) {
            double s = 0.0;
            for (size_t i = 0; i < m; i++)
                s += W[i * k + t];
            b->colsum[t] = s;
        }
        nmf_sum_doubles(b->V, b->colsum, k);
        #pragma omp parallel for schedule(static)
        for (size_t t = 0; t < k; t++) {
            float sum = (float)b->colsum[t] == 0.0f ? 1.0f : (float)b->colsum[t];
            for (size_t j = 0; j < n; j++)
                den[t * n + j] = sum;
        }
    }
    nmf_mu_apply_cpu(H, num, den, k * n, l1, l2, nmf_mu_gamma(beta), beta <= 1.0f ? NMF_EPSILON64 : 0.0f);
}

typedef struct {
    const nmf_problem *V;
    const float *WH; /* the block's */
    size_t first, len; /* the block's first entry of V and its entries */
    double beta;
} loss_job;

static inline double loss_slice_of(const loss_job *j, size_t s, const int bytes)
{
    const size_t len = j->len;
    size_t lo = len / ERROR_SLICES * s + (len % ERROR_SLICES) * s / ERROR_SLICES;
    size_t hi = len / ERROR_SLICES * (s + 1) + (len % ERROR_SLICES) * (s + 1) / ERROR_SLICES;
    const uint8_t *M = j->V->mask ? j->V->mask + j->first : NULL;
    double sum = 0.0;
    for (size_t i = lo; i < hi; i++)
        if (!M || M[i])
            sum += nmf_beta_loss_term(v_at(j->V, j->first + i, bytes), j->WH[i], j->beta);
    return sum;
}

/* Slice s of ERROR_SLICES near-equal slices of the block, in order. */
static double loss_slice(const void *ctx, size_t s)
{
    const loss_job *j = ctx;
    return j->V->V8 ? loss_slice_of(j, s, 1) : loss_slice_of(j, s, 0);
}

/* D = Σ beta_loss_term over all m·n entries (the observed ones of a
 * mask), divided by β(β-1) unless β is
 * 0 or 1; the error is sqrt(2·max(D, 0)) (NaN stays NaN, as Python's max
 * keeps it). Σ WH for β = 1 is summed from WH's entries rather than from
 * scikit-learn's Σ_t colsum(W)_t·rowsum(H)_t: equal up to rounding, and
 * entry by entry the first-order rounding of WH cancels between WH and
 * V log(V/WH) near a fit. */
double nmf_beta_error_cpu(const nmf_beta_cpu *b, float beta, const float *W, const float *H)
{
    const size_t m = b->V->m, n = b->V->n;
    const double bd = beta;
    double res = 0.0;
    for (size_t i0 = 0; i0 < m; i0 += b->block) {
        const size_t rows = nmf_block_len(m, i0, b->block);
        product(b, W, H, i0, rows);
        const loss_job job = {b->V, b->WH, i0 * n, rows * n, bd};
        nmf_problem_block_begin(b->V, i0, rows, b->block);
        res += nmf_sum_parts(ERROR_SLICES, loss_slice, &job);
        nmf_problem_block_end(b->V, i0, rows);
    }
    res = nmf_sum_double(b->V, res); /* the ranks' rows */
    if (bd != 0.0 && bd != 1.0)
        res /= bd * (bd - 1.0);
    if (res < 0.0) /* rounding errors, as scikit-learn's max(res, 0) */
        res = 0.0;
    return sqrt(2.0 * res);
}
