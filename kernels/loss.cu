/* loss.cu - deterministic double-precision dot products for the loss.
 * Work per evaluation: <WtV, H> reads 2kn floats, <WtW, HHt> 2k² floats:
 * 1.6 MB for the faces at k = 20, every 10 iterations; ||V||² once per fit
 * (m·n floats or bytes). */
#include "loss.cuh"
#include "reduce.cuh"
#include "widen.cuh"

/* a[i]·b[i] (b == NULL: a[i]²) in double; a of floats or (V's norm only)
 * bytes. */
template <typename T>
struct dot_term {
    const T *a;
    const float *b;
    __device__ double operator()(size_t i) const
    {
        return (double)a[i] * (double)(b ? b[i] : a[i]);
    }
};

static __global__ void loss_combine_kernel(const double *norm_sq, const double *cross,
                                           const double *quad, double *out)
{
    double sq = *norm_sq - 2.0 * *cross + *quad;
    /* Rounding can push an exact fit below 0; a NaN (products that
     * overflowed) stays NaN, for the driver to report. */
    *out = sq < 0.0 ? 0.0 : sq;
}

extern "C" cudaError_t nmf_cuda_dot(const float *a, const float *b, size_t len,
                                    double *partial, double *out, cudaStream_t stream)
{
    if (!a || !partial || !out)
        return cudaErrorInvalidValue;
    return nmf_reduce(dot_term<float>{a, b}, len, partial, out, 1.0, stream);
}

/* V[i]² where observed (mask NULL: everywhere). */
template <typename T>
struct observed_square_term {
    const T *V;
    const uint8_t *mask;
    __device__ double operator()(size_t i) const
    {
        return mask && !mask[i] ? 0.0 : (double)V[i] * (double)V[i];
    }
};

template <typename T>
static cudaError_t reduce_norm_sq(const T *V, const uint8_t *mask, size_t len, double *partial,
                                  double *out, cudaStream_t stream)
{
    if (mask)
        return nmf_reduce(observed_square_term<T>{V, mask}, len, partial, out, 1.0, stream);
    return nmf_reduce(dot_term<T>{V, NULL}, len, partial, out, 1.0, stream);
}

extern "C" cudaError_t nmf_cuda_norm_sq(const void *V, size_t v_size, const uint8_t *mask,
                                        size_t len, double *partial, double *out,
                                        cudaStream_t stream)
{
    if (!V || !partial || !out)
        return cudaErrorInvalidValue;
    return nmf_with_V_type(V, v_size, [&](auto *v) {
        return reduce_norm_sq(v, mask, len, partial, out, stream);
    });
}

extern "C" cudaError_t nmf_cuda_loss_combine(const double *norm_sq, const double *cross,
                                             const double *quad, double *out,
                                             cudaStream_t stream)
{
    if (!norm_sq || !cross || !quad || !out)
        return cudaErrorInvalidValue;
    loss_combine_kernel<<<1, 1, 0, stream>>>(norm_sq, cross, quad, out);
    return cudaGetLastError();
}
