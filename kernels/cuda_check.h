/* cuda_check.h - the one way CUDA and cuBLAS calls are checked on the host.
 * CUDA_CHECK(call) / CUBLAS_CHECK(call): on failure, record the call's text,
 * file, line and the library's reason as the last error, set `st` and jump
 * to `cleanup` (the caller declares both): library code never aborts. */
#ifndef NMF_CUDA_CHECK_H
#define NMF_CUDA_CHECK_H

#include "nmf/nmf.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Records "CALL failed at FILE:LINE: REASON" and returns the status for it
 * (NO_MEMORY for allocation failures, NO_DEVICE when there is no usable
 * device, INTERNAL otherwise). */
nmf_status nmf_cuda_report(cudaError_t err, const char *call, const char *file, int line);
nmf_status nmf_cublas_report(cublasStatus_t err, const char *call, const char *file, int line);

#ifdef __cplusplus
}
#endif

#define CUDA_CHECK(call)                                                   \
    do {                                                                   \
        cudaError_t err_ = (call);                                         \
        if (err_ != cudaSuccess) {                                         \
            st = nmf_cuda_report(err_, #call, __FILE__, __LINE__);         \
            goto cleanup;                                                  \
        }                                                                  \
    } while (0)

#define CUBLAS_CHECK(call)                                                 \
    do {                                                                   \
        cublasStatus_t err_ = (call);                                      \
        if (err_ != CUBLAS_STATUS_SUCCESS) {                               \
            st = nmf_cublas_report(err_, #call, __FILE__, __LINE__);       \
            goto cleanup;                                                  \
        }                                                                  \
    } while (0)

#endif
