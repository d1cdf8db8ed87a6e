/* beta_mu.h - internal: multiplicative updates and the loss for a general
 * beta-divergence (beta != 2: Kullback-Leibler at 1, Itakura-Saito at 0) on
 * the CPU, exactly as scikit-learn 1.2.1 computes them for dense data
 * (_multiplicative_update_w/_h, _beta_divergence). The CUDA version is
 * kernels/beta_mu.cuh. Frobenius (beta = 2) has its products in
 * backend_cpu.c and shares the multiplicative step, nmf_mu_apply_cpu.
 *
 * With a mask of missing entries (nmf_problem.mask), every beta, 2
 * included, comes here: the weighted updates multiply both element-wise
 * factors by the mask, num = Wᵀ(M ∘ V ∘ WH^(β-2)), den = Wᵀ(M ∘ WH^(β-1))
 * (and likewise for W), so that KL's denominator is a product too, not
 * W's column sums; the loss sums the observed entries.
 *
 * Shapes: V (m, n), floats or bytes, W (m, k), H (k, n), row-major. l1, l2 are the
 * scaled regularisation terms of the factor being updated (see
 * nmf_mu_update in nmf_elementwise.h). Products through the table kt of
 * the fit's kernels (kernels.h), element-wise loops through OpenMP and the
 * functions of nmf_elementwise.h. */
#ifndef NMF_BETA_MU_H
#define NMF_BETA_MU_H

#include "kernels.h"

#include <stddef.h>

/* The multiplicative step of every MU update, Frobenius (γ = 1,
 * zero_below = 0) and β alike: X = X ∘ (num / (den + l1 + l2 X))^γ
 * element-wise through nmf_mu_update, then entries below zero_below become
 * 0; len entries, in parallel. */
void nmf_mu_apply_cpu(float *X, const float *num, const float *den, size_t len, float l1,
                      float l2, float gamma, float zero_below);

/* A β fit's fixed parts and scratch. V is read in blocks of `block` rows,
 * so that the element-wise terms WH and R take (block, n) floats each, not
 * (m, n): a KL fit of 4096 images of 128x128 needs 8 MB of them, not 537. */
typedef struct {
    const nmf_cpu_kernels *kt;
    const nmf_problem *V;
    size_t k;
    size_t block;  /* rows of V a block (nmf_beta_block_rows) */
    float *WH, *R; /* (block, n) scratch */
    double *colsum; /* (k) scratch: W's column sums, for beta = 1 */
} nmf_beta_cpu;

/* Rows a block for V of m rows of n values: each of WH and R about 4 MiB
 * (they stay in the last-level cache between the product that writes them
 * and the one that reads them), at least 8 rows, at most m. A function of
 * the shape alone, so that the bits do not depend on the machine. */
size_t nmf_beta_block_rows(size_t m, size_t n);

/* W *= (((V ∘ WH^(β-2)) Hᵀ) / D)^γ with D = rowsums(H) broadcast (β = 1) or
 * WH^(β-1) Hᵀ; then, for β < 1, entries below NMF_EPSILON64 become 0.
 * num and den are (m, k) scratch. */
void nmf_beta_update_W_cpu(const nmf_beta_cpu *b, float beta, float *W, const float *H,
                           float l1, float l2, float *num, float *den);

/* H *= ((Wᵀ (V ∘ WH^(β-2))) / D)^γ with WH recomputed from the current W,
 * D = colsums(W) (zeros -> 1) broadcast (β = 1) or Wᵀ WH^(β-1); the
 * products with Wᵀ are summed block after block. Then, for β <= 1, entries
 * below NMF_EPSILON64 become 0. num and den are (k, n) scratch. */
void nmf_beta_update_H_cpu(const nmf_beta_cpu *b, float beta, const float *W, float *H,
                           float l1, float l2, float *num, float *den);

/* scikit-learn's reconstruction_err_ for beta: sqrt(2·D(V || WH)), D
 * accumulated in double. Only entries with V > EPSILON enter the
 * V-dependent sums; WH zeros become EPSILON. */
double nmf_beta_error_cpu(const nmf_beta_cpu *b, float beta, const float *W, const float *H);

#endif
