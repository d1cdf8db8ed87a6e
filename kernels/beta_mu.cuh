/* beta_mu.cuh - the element-wise steps of the beta-divergence (beta != 2)
 * multiplicative updates and its loss on the GPU, to be called between
 * cuBLAS GEMMs; the CPU version, which the GPU results are checked against,
 * is src/cpu/beta_mu.h. All pointers are device pointers, all arrays row-major;
 * every entry point enqueues on `stream` and returns the launch's error
 * (cudaErrorInvalidValue for a NULL pointer with len > 0).
 *
 * One W update for beta != 2, as src/cpu/beta_mu.c does it on the CPU:
 *   WH = W H                                       (cuBLAS)
 *   nmf_cuda_beta_terms(V, v_size, mask, WH, R, m·n, beta)  R = V∘WH^(β-2); WH ← WH^(β-1) (β != 1)
 *   num = R Hᵀ                                     (cuBLAS)
 *   den = WH Hᵀ                                    (cuBLAS; β != 1)
 *   β = 1 without a mask: nmf_cuda_component_sums(H, k, n, 1, ...) =
 *          rowsums(H) (k), then nmf_cuda_broadcast(den, hsum, m, k, 1, 0)
 *          (with a mask, den = M Hᵀ, WH having become M)
 *   nmf_cuda_mu_update_reg(W, num, den, m·k, l1_W, l2_W, γ, β < 1 ? NMF_EPSILON64 : 0)
 * The H update recomputes WH = W H with the new W, then num = Wᵀ R,
 * den = Wᵀ WH (β != 1) or, at β = 1, wsum = colsums(W) (k,
 * nmf_cuda_component_sums(W, m, k, 0, ...)) and
 * nmf_cuda_broadcast(den, wsum, k, n, 0, 1.0f), and
 * nmf_cuda_mu_update_reg(H, num, den, k·n, l1_H, l2_H, γ, β <= 1 ? NMF_EPSILON64 : 0),
 * γ = nmf_mu_gamma(β). */
#ifndef NMF_BETA_MU_CUH
#define NMF_BETA_MU_CUH

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* For i < len: R[i] = nmf_beta_numerator_term(V[i], WH[i], beta) and, when
 * beta != 1, WH[i] = nmf_beta_denominator_term(WH[i], beta) in place (from
 * the original WH[i]). At beta == 1, WH is only read. V of len elements of
 * v_size bytes each: floats (4) or bytes (1, nmf_problem's V8, widened to
 * float first); WH, R of len floats; R must not alias V or WH. Another
 * v_size gives cudaErrorInvalidValue.
 * With a mask (len bytes, 0 = missing; NULL: every entry observed), the
 * weighted updates' terms, as src/cpu/beta_mu.c forms them: R and WH are 0
 * where the entry is missing (its V never read) and, where observed, WH
 * becomes the denominator term at every beta (1 at beta 1, the products
 * then M Hᵀ and Wᵀ M); at beta 2, R = V and WH stays WH, exactly. */
cudaError_t nmf_cuda_beta_terms(const void *V, size_t v_size, const uint8_t *mask, float *WH,
                                float *R, size_t len, float beta, cudaStream_t stream);

/* Fills dst (rows, cols) with a vector repeated: along_rows != 0: dst[r][c]
 * = vec[c] (vec of length cols, the same row repeated: the β = 1 W-update
 * denominator, vec = rowsums(H)); along_rows == 0: dst[r][c] = vec[r] (vec
 * of length rows, the same column repeated: the H-update denominator, vec =
 * colsums(W)). Entries of vec equal to 0 are replaced by zero_to first
 * (pass 0.0f to keep zeros, 1.0f for scikit-learn's W_sum[W_sum == 0] = 1).
 * vec is not modified; dst must not alias it. */
cudaError_t nmf_cuda_broadcast(float *dst, const float *vec, size_t rows, size_t cols,
                               int along_rows, float zero_to, cudaStream_t stream);

/* out[c] (k values) = the sums of X's k components in double, cast to
 * float, as the CPU sums them: rowsums of X (k, cols) when sum_rows, else
 * column sums of X (rows, k). One block per component, a fixed tree. */
cudaError_t nmf_cuda_component_sums(const float *X, size_t rows, size_t cols, int sum_rows,
                                    float *out, cudaStream_t stream);

/* For i < len: X[i] = nmf_mu_update(X[i], num[i], den[i], l1, l2, gamma),
 * then X[i] = 0 when X[i] < zero_below (pass 0.0f for no threshold,
 * NMF_EPSILON64 for scikit-learn's W after β < 1 and H after β <= 1). */
cudaError_t nmf_cuda_mu_update_reg(float *X, const float *num, const float *den, size_t len,
                                   float l1, float l2, float gamma, float zero_below,
                                   cudaStream_t stream);

/* out[0] = scikit-learn's D(V || WH) for dense V of len entries (floats or
 * bytes, v_size as for nmf_cuda_beta_terms), summed in
 * double over a fixed grid (at most NMF_REDUCE_PARTIALS blocks, one partial
 * each in `partial`) and then by one block in a fixed order: the same bits
 * for the same len on any GPU. With WH' = WH where WH != 0, else EPSILON,
 * and the V-dependent parts only where V > EPSILON:
 *   β = 1:  D = Σ_{V>EPS} (V log(V/WH') - V) + Σ_all WH
 *   β = 0:  D = Σ_{V>EPS} (V/WH' - log(V/WH')) - len
 *   else:   D = (Σ_{V>EPS} (V^β - β V WH'^(β-1)) + (β-1) Σ_all WH^β) / (β(β-1))
 * This is the complete D: the host's reconstruction_err_ is
 * sqrt(2·max(D, 0)), after an 8-byte copy of out[0]. partial holds
 * NMF_REDUCE_PARTIALS doubles (reduce.cuh); out one double. len must be > 0.
 * With a mask (as for nmf_cuda_beta_terms; NULL: none) the sums run over
 * the observed entries alone. */
cudaError_t nmf_cuda_beta_divergence(const void *V, size_t v_size, const uint8_t *mask,
                                     const float *WH, size_t len, float beta, double *partial,
                                     double *out, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
