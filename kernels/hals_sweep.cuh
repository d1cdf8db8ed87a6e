/* hals_sweep.cuh - one HALS (coordinate descent) sweep over a factor on the
 * GPU, the CUDA version of src/cpu/hals.h (the violation's sum over rows is
 * reduce.cuh's nmf_cuda_sum_double). */
#ifndef NMF_HALS_SWEEP_CUH
#define NMF_HALS_SWEEP_CUH

#include <cuda_runtime_api.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Raises the sweep kernel's shared-memory limit to k·k floats where that
 * is above the default 48 KiB. Not a stream operation: call it once per
 * device and k before the sweeps are launched or captured. Returns
 * cudaErrorInvalidValue when k·k floats exceed the device's opt-in shared
 * memory per block (227 KiB = 232448 bytes on H100 and H200: k > 241). */
cudaError_t nmf_cuda_hals_prepare(size_t k);

/* One sweep of nmf_hals_sweep_cpu (src/cpu/hals.h: same layouts, same
 * arithmetic through nmf_hals_step) in ONE kernel launch on `stream`:
 * for each row i in parallel, for t = 0..k-1 in order,
 *   grad = sum_r (G[t, r] + l2·[r == t]) X[i, r] - (P[i, t] - l1)
 *   X[i, t] = nmf_hals_step(X[i, t], grad, G[t, t] + l2, &pg)
 * with entry (i, t) of X at X[i*x_row + t*x_comp] and of P at
 * P[i*p_row + t*p_comp]; G is (k, k) row-major. row_violation[i] receives
 * row i's sum of |pg| in double (rows doubles; NULL when not wanted): sum it
 * with nmf_cuda_sum_double (reduce.cuh) for the sweep's violation.
 * All pointers are device pointers; X must not overlap G, P or
 * row_violation. G is held in shared memory, k·k·4 bytes per block: above
 * 48 KiB (k > 110) the kernel needs the raised limit nmf_cuda_hals_prepare
 * sets, or its launch fails.
 * Returns cudaSuccess for rows == 0 or k == 0 (nothing done);
 * cudaErrorInvalidValue for a NULL X/G/P or k > 4096; otherwise the
 * launch's error. */
cudaError_t nmf_cuda_hals_sweep(float *X, size_t rows, size_t k, size_t x_row, size_t x_comp,
                                const float *G, const float *P, size_t p_row, size_t p_comp,
                                float l1, float l2, double *row_violation,
                                cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
