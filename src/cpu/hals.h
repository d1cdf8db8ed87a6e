/* hals.h - internal: one HALS sweep over the components of a factor on the
 * CPU (scikit-learn's coordinate descent, _update_cdnmf_fast, without
 * shuffling). The CUDA version is kernels/hals_sweep.cuh.
 *
 * A factor X has `rows` independent rows of k components: entry (i, t) is
 * X[i*x_row + t*x_comp]. For W (m, k) row-major: rows = m, x_row = k,
 * x_comp = 1. For H (k, n) row-major, swept column by column: rows = n,
 * x_row = 1, x_comp = n. The sweep uses the other factor's Gram matrix G
 * (k, k: HHᵀ for W, WᵀW for H) and the data product P, entry (i, t) at
 * P[i*p_row + t*p_comp] (VHᵀ (m, k) for W; WᵀV (k, n) for H). */
#ifndef NMF_HALS_H
#define NMF_HALS_H

#include <stddef.h>

/* For each row i in parallel (OpenMP), for t = 0..k-1 in order:
 *   grad = sum_r (G[t, r] + l2·[r == t]) X[i, r] - (P[i, t] - l1)
 *   X[i, t] = nmf_hals_step(X[i, t], grad, G[t, t] + l2, &pg)
 * (scikit-learn adds l2 to G's diagonal and subtracts l1 from P). Returns
 * the sum of |pg| over the sweep in double, summed in a fixed order so the
 * value does not depend on the thread count. */
double nmf_hals_sweep_cpu(float *X, size_t rows, size_t k, size_t x_row, size_t x_comp,
                          const float *G, const float *P, size_t p_row, size_t p_comp,
                          float l1, float l2);

#endif
