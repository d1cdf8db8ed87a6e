/* widen.cu - bytes to floats, for the GEMMs that read a byte V (see
 * widen.cuh).
 * Per element: one byte read, one 4-byte write, no arithmetic: purely
 * bandwidth-bound. A block of b rows moves 5·b·n bytes, against the
 * 2·b·n·k flops of the GEMM that reads it (k = 20: 8 flops a byte). */
#include "widen.cuh"

static const int WIDEN_BLOCK = 256;
/* Enough blocks to fill any current GPU; the grid-stride loop does the rest. */
static const size_t WIDEN_MAX_BLOCKS = 4096;

static __global__ void widen_bytes_kernel(const uint8_t *__restrict__ src, float *__restrict__ dst,
                                          size_t len)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < len;
         i += (size_t)gridDim.x * blockDim.x)
        dst[i] = (float)src[i];
}

static cudaError_t launch_widen_bytes(const uint8_t *src, float *dst, size_t len,
                                      cudaStream_t stream)
{
    size_t blocks = (len + WIDEN_BLOCK - 1) / WIDEN_BLOCK;
    if (blocks > WIDEN_MAX_BLOCKS)
        blocks = WIDEN_MAX_BLOCKS;
    widen_bytes_kernel<<<(unsigned)blocks, WIDEN_BLOCK, 0, stream>>>(src, dst, len);
    return cudaGetLastError();
}

extern "C" cudaError_t nmf_cuda_widen_bytes(const uint8_t *src, float *dst, size_t len,
                                            cudaStream_t stream)
{
    if (len == 0)
        return cudaSuccess;
    if (!src || !dst)
        return cudaErrorInvalidValue;
    return launch_widen_bytes(src, dst, len, stream);
}
