/* reduce.cuh - the one deterministic reduction the kernels share: a fixed
 * grid (set by the length alone, never by the device) writes one partial
 * sum per block, then one block adds the partials in a fixed tree, all in
 * double. The same input gives the same bits on any GPU. Used for the
 * loss's dot products (loss.cu), the HALS violation (nmf_cuda_sum_double,
 * reduce.cu) and the beta-divergence (beta_mu.cu); each passes the term to
 * sum as a functor. Host code (C too) sees only the scratch size and
 * nmf_cuda_sum_double; the templates are for .cu files. */
#ifndef NMF_REDUCE_CUH
#define NMF_REDUCE_CUH

#include <cuda_runtime_api.h>
#include <stddef.h>

/* --- for host code (C too) -------------------------------------------------- */

#ifdef __cplusplus
extern "C" {
#endif

/* Doubles of scratch (`partial`) every reduction here needs: the most
 * blocks its grid has. */
#define NMF_REDUCE_PARTIALS 1024

/* *out = sum_i x[i] (len doubles; 0 when len == 0), deterministic: a grid
 * fixed by len writes one partial per block, one block adds them in a fixed
 * order. All pointers are device pointers; partial holds
 * NMF_REDUCE_PARTIALS doubles and may be the scratch of other reductions on
 * the same stream. Returns cudaErrorInvalidValue for a NULL pointer,
 * otherwise the launches' error. Work: len doubles read once, len adds. */
cudaError_t nmf_cuda_sum_double(const double *x, size_t len, double *partial, double *out,
                                cudaStream_t stream);

#ifdef __cplusplus
}
#endif

/* --- for device code: the reduction itself ---------------------------------- */
#ifdef __CUDACC__

static const int NMF_REDUCE_BLOCK = 256;

/* Sums a block's values in shared memory; the result is in sums[0]. */
static __device__ __forceinline__ void nmf_block_sum(double *sums)
{
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
        __syncthreads();
        if (threadIdx.x < stride)
            sums[threadIdx.x] += sums[threadIdx.x + stride];
    }
    __syncthreads();
}

template <typename Term>
static __global__ void nmf_partial_sum_kernel(Term term, size_t len, double *__restrict__ partial)
{
    __shared__ double sums[NMF_REDUCE_BLOCK];
    double s = 0.0;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < len;
         i += (size_t)gridDim.x * blockDim.x)
        s += term(i);
    sums[threadIdx.x] = s;
    nmf_block_sum(sums);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = sums[0];
}

static __global__ void nmf_final_sum_kernel(const double *__restrict__ partial, int count,
                                            double divisor, double *__restrict__ out)
{
    __shared__ double sums[NMF_REDUCE_BLOCK];
    double s = 0.0;
    for (int i = threadIdx.x; i < count; i += blockDim.x)
        s += partial[i];
    sums[threadIdx.x] = s;
    nmf_block_sum(sums);
    if (threadIdx.x == 0)
        *out = sums[0] / divisor; /* divided, as the CPU divides */
}

/* *out = sum_{i < len} term(i) / divisor; partial holds NMF_REDUCE_PARTIALS doubles. */
template <typename Term>
static cudaError_t nmf_reduce(Term term, size_t len, double *partial, double *out, double divisor,
                              cudaStream_t stream)
{
    size_t blocks = (len + NMF_REDUCE_BLOCK - 1) / NMF_REDUCE_BLOCK;
    if (blocks > NMF_REDUCE_PARTIALS)
        blocks = NMF_REDUCE_PARTIALS;
    if (blocks == 0)
        blocks = 1;
    nmf_partial_sum_kernel<<<(unsigned)blocks, NMF_REDUCE_BLOCK, 0, stream>>>(term, len, partial);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess)
        return err;
    nmf_final_sum_kernel<<<1, NMF_REDUCE_BLOCK, 0, stream>>>(partial, (int)blocks, divisor, out);
    return cudaGetLastError();
}

#endif /* __CUDACC__ */

#endif
