/* reduce.cu - the deterministic sum of doubles (see reduce.cuh), for the
 * HALS sweeps' violations. */
#include "reduce.cuh"

struct double_term {
    const double *x;
    __device__ double operator()(size_t i) const { return x[i]; }
};

extern "C" cudaError_t nmf_cuda_sum_double(const double *x, size_t len, double *partial,
                                           double *out, cudaStream_t stream)
{
    if (!x || !partial || !out)
        return cudaErrorInvalidValue;
    return nmf_reduce(double_term{x}, len, partial, out, 1.0, stream);
}
