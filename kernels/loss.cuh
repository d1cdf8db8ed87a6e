/* loss.cuh - dot products reduced in double on the GPU, for the trace form
 * of the loss ||V - WH||² = ||V||² - 2<WtV, H> + <WtW, HHt>. */
#ifndef NMF_LOSS_CUH
#define NMF_LOSS_CUH

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* *out = sum_i a[i] * b[i] (b == NULL: a[i]²) in double, deterministic: a
 * fixed grid writes one partial per block, one block adds them in order.
 * All pointers are device pointers; partial holds NMF_REDUCE_PARTIALS
 * doubles (reduce.cuh). */
cudaError_t nmf_cuda_dot(const float *a, const float *b, size_t len, double *partial,
                         double *out, cudaStream_t stream);

/* *out = ||V||², V's len entries squared and summed as nmf_cuda_dot(V, NULL)
 * sums them (for floats, the same bits), V of floats (v_size 4) or bytes
 * (1, nmf_problem's V8); another v_size gives cudaErrorInvalidValue. With
 * a mask (len bytes, 0 = missing; NULL: none), the observed entries'. */
cudaError_t nmf_cuda_norm_sq(const void *V, size_t v_size, const uint8_t *mask, size_t len,
                             double *partial, double *out, cudaStream_t stream);

/* *out = norm_sq - 2 * (*cross) + (*quad), clamped at 0, on the device, so
 * that one 8-byte copy brings the squared error home. */
cudaError_t nmf_cuda_loss_combine(const double *norm_sq, const double *cross,
                                  const double *quad, double *out, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

#endif
