/* widen.cuh - V held as bytes on the GPU (nmf_problem's V8): a quarter of
 * float32's memory. The GEMMs that read V take it as floats, a block of
 * rows at a time widened by nmf_cuda_widen_bytes into a bounded scratch;
 * the element-wise kernels that read V are templates on its element type
 * (float or uint8_t), chosen at run time by nmf_with_V_type. */
#ifndef NMF_WIDEN_CUH
#define NMF_WIDEN_CUH

#include <cuda_runtime_api.h>
#include <stddef.h>
#include <stdint.h>

/* --- for host code (C too) -------------------------------------------------- */

#ifdef __cplusplus
extern "C" {
#endif

/* dst[i] = (float)src[i] for i < len (exact: bytes are 0..255), enqueued
 * on `stream`. Device pointers; dst must not overlap src. Returns
 * cudaSuccess for len == 0, cudaErrorInvalidValue for a NULL pointer,
 * otherwise the launch's error. */
cudaError_t nmf_cuda_widen_bytes(const uint8_t *src, float *dst, size_t len, cudaStream_t stream);

#ifdef __cplusplus
}
#endif

/* --- for device code: V's element type -------------------------------------- */
#ifdef __CUDACC__

/* Returns f(V) with V cast to its element type: const float * when v_size
 * is sizeof(float), const uint8_t * when it is 1 (nmf_problem_element_size);
 * cudaErrorInvalidValue for any other size. */
template <typename F>
static cudaError_t nmf_with_V_type(const void *V, size_t v_size, F f)
{
    if (v_size == sizeof(float))
        return f(static_cast<const float *>(V));
    if (v_size == sizeof(uint8_t))
        return f(static_cast<const uint8_t *>(V));
    return cudaErrorInvalidValue;
}

#endif /* __CUDACC__ */

#endif
