/* mu_update.cuh - the multiplicative update X *= num / den on the GPU. */
#ifndef NMF_MU_UPDATE_CUH
#define NMF_MU_UPDATE_CUH

#include <cuda_runtime_api.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X[i] = nmf_mu_update(X[i], num[i], den[i]) for i < len, on `stream`.
 * All pointers are device pointers. Returns the launch's error. */
cudaError_t nmf_cuda_mu_update(float *X, const float *num, const float *den, size_t len,
                               cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
