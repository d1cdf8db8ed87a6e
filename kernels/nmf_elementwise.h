/* nmf_elementwise.h - the per-element update math, written once and shared
 * by the CPU loops (src/backend_cpu.c) and the CUDA kernels in kernels/,
 * so that the CPU tests exercise the arithmetic the GPU runs. */
#ifndef NMF_ELEMENTWISE_H
#define NMF_ELEMENTWISE_H

#ifdef __CUDACC__
#define NMF_HOST_DEVICE __host__ __device__ __forceinline__
#else
#define NMF_HOST_DEVICE static inline
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* scikit-learn's EPSILON: float32 machine epsilon, used even for float64. */
#define NMF_EPSILON 1.1920929e-07f

/* One multiplicative update of a factor entry x with its numerator and
 * denominator (scikit-learn _multiplicative_update_w/_h, beta = 2):
 * denominators that are exactly zero become EPSILON, and the ratio is
 * formed before the product, in scikit-learn's order. */
NMF_HOST_DEVICE float nmf_mu_update(float x, float numerator, float denominator)
{
    if (denominator == 0.0f)
        denominator = NMF_EPSILON;
    return x * (numerator / denominator);
}

#ifdef __cplusplus
}
#endif

#endif
