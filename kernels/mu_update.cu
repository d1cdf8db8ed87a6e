/* mu_update.cu - the element-wise multiplicative update.
 * Work: 1 flop-ish (a divide and a multiply) per element; bytes: read X, num,
 * den and write X, 16 bytes per element: bandwidth-bound. For the faces at
 * k = 20 it touches (m + n)k = 214k elements per iteration, 3.4 MB. */
#include "mu_update.cuh"
#include "nmf_elementwise.h"

static const int MU_BLOCK = 256;
/* Enough blocks to fill any current GPU; the grid-stride loop does the rest. */
static const size_t MU_MAX_BLOCKS = 4096;

static __global__ void mu_update_kernel(float *__restrict__ X, const float *__restrict__ num,
                                        const float *__restrict__ den, size_t len)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < len;
         i += (size_t)gridDim.x * blockDim.x)
        X[i] = nmf_mu_update(X[i], num[i], den[i]);
}

static cudaError_t launch_mu_update(float *X, const float *num, const float *den, size_t len,
                                    cudaStream_t stream)
{
    size_t blocks = (len + MU_BLOCK - 1) / MU_BLOCK;
    if (blocks > MU_MAX_BLOCKS)
        blocks = MU_MAX_BLOCKS;
    mu_update_kernel<<<(unsigned)blocks, MU_BLOCK, 0, stream>>>(X, num, den, len);
    return cudaGetLastError();
}

extern "C" cudaError_t nmf_cuda_mu_update(float *X, const float *num, const float *den,
                                          size_t len, cudaStream_t stream)
{
    if (len == 0)
        return cudaSuccess;
    if (!X || !num || !den)
        return cudaErrorInvalidValue;
    return launch_mu_update(X, num, den, len, stream);
}
