/* hals_sweep.cu - one HALS (coordinate descent) sweep over a factor in one
 * launch (scikit-learn's _update_cdnmf_fast without shuffling); its
 * violation is summed by reduce.cu. See hals_sweep.cuh.
 *
 * Rows are independent (row i reads only row i of X, and the fixed G and
 * P), so one thread owns one row and runs t = 0..k-1 in order, which is
 * what each coordinate step needs. G (k, k) is read k² times per row and
 * sits in shared memory, every thread of a warp reading the same element
 * (a broadcast, no bank conflicts).
 *
 * Work per sweep: rows·k² multiply-adds (2·rows·k² flops); bytes ~ rows·k·4·3
 * (read X and P, write X) plus k²·4 per block for G. For the faces at k = 20:
 * the W sweep (m = 400) 0.32 MFLOP, 96 KB; the H sweep (n = 10304)
 * 8.2 MFLOP, 2.5 MB. Latency-bound: only `rows` threads, k² dependent steps
 * each.
 *
 * Arithmetic: the same as src/cpu/hals.c, product by product: the gradient in
 * float, each product rounded before it is added (__fmul_rn/__fadd_rn keep
 * nvcc from fusing them into FMAs, which the CPU loop does not use), the
 * step through nmf_hals_step, the violation in double. So a row comes out
 * bit for bit as on the CPU; only the violation's sum over rows is ordered
 * differently (nmf_cuda_sum_double, reduce.cu, vs. the CPU's chunks). */
#include "hals_sweep.cuh"
#include "nmf_elementwise.h"

/* Threads per block for the sweep: small, because rows are few (m = 400 for
 * the faces) and smaller blocks spread them over more SMs. */
static const int HALS_BLOCK = 64;
/* Enough blocks to fill any current GPU; the grid-stride loop does the rest. */
static const size_t HALS_MAX_BLOCKS = 4096;
/* Dynamic shared memory a kernel may use without opting in. */
static const size_t HALS_DEFAULT_SMEM = 48 * 1024;
/* No device has 64 MiB of shared memory per block; bounding k first also
 * keeps k·k·4 from overflowing. */
static const size_t HALS_K_LIMIT = 4096;

/* X: entry (i, t) at X[i*x_row + t*x_comp]; P likewise with p_row, p_comp;
 * G (k, k) row-major. Dynamic shared memory: k·k floats. */
static __global__ void hals_sweep_kernel(float *__restrict__ X, size_t rows, int k, size_t x_row,
                                         size_t x_comp, const float *__restrict__ G,
                                         const float *__restrict__ P, size_t p_row,
                                         size_t p_comp, float l1, float l2,
                                         double *__restrict__ row_violation)
{
    extern __shared__ float G_s[];
    /* The whole block loads G (scikit-learn's HHt.flat[::k+1] += l2 done on
     * the way, in float), and every thread reaches the barrier: threads
     * past the last row only skip the loop below. */
    const int kk = k * k;
    for (int idx = threadIdx.x; idx < kk; idx += blockDim.x)
        G_s[idx] = idx % (k + 1) == 0 ? __fadd_rn(G[idx], l2) : G[idx];
    __syncthreads();

    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < rows;
         i += (size_t)gridDim.x * blockDim.x) {
        float *x = X + i * x_row;
        const float *p = P + i * p_row;
        double violation = 0.0;
        for (int t = 0; t < k; t++) {
            const float *g = G_s + (size_t)t * k;
            float grad = -__fsub_rn(p[(size_t)t * p_comp], l1);
            const float *xr = x;
            for (int r = 0; r < k; r++, xr += x_comp)
                grad = __fadd_rn(grad, __fmul_rn(g[r], *xr));
            float pg;
            float *xt = x + (size_t)t * x_comp;
            *xt = nmf_hals_step(*xt, grad, g[t], &pg);
            violation += fabs((double)pg);
        }
        if (row_violation)
            row_violation[i] = violation;
    }
}

static cudaError_t launch_hals_sweep(float *X, size_t rows, int k, size_t x_row, size_t x_comp,
                                     const float *G, const float *P, size_t p_row,
                                     size_t p_comp, float l1, float l2, double *row_violation,
                                     size_t smem, cudaStream_t stream)
{
    size_t blocks = (rows + HALS_BLOCK - 1) / HALS_BLOCK;
    if (blocks > HALS_MAX_BLOCKS)
        blocks = HALS_MAX_BLOCKS;
    hals_sweep_kernel<<<(unsigned)blocks, HALS_BLOCK, smem, stream>>>(
        X, rows, k, x_row, x_comp, G, P, p_row, p_comp, l1, l2, row_violation);
    return cudaGetLastError();
}

extern "C" cudaError_t nmf_cuda_hals_prepare(size_t k)
{
    if (k > HALS_K_LIMIT)
        return cudaErrorInvalidValue;
    const size_t smem = k * k * sizeof(float);
    if (smem <= HALS_DEFAULT_SMEM)
        return cudaSuccess;
    /* Opt in to the larger shared memory; the device decides how much
     * (227 KiB = 232448 bytes on H100 and H200: k <= 241). */
    int device = 0, optin = 0;
    cudaError_t err = cudaGetDevice(&device);
    if (err != cudaSuccess)
        return err;
    err = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
    if (err != cudaSuccess)
        return err;
    if (smem > (size_t)optin)
        return cudaErrorInvalidValue;
    return cudaFuncSetAttribute(hals_sweep_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                (int)smem);
}

extern "C" cudaError_t nmf_cuda_hals_sweep(float *X, size_t rows, size_t k, size_t x_row,
                                           size_t x_comp, const float *G, const float *P,
                                           size_t p_row, size_t p_comp, float l1, float l2,
                                           double *row_violation, cudaStream_t stream)
{
    if (rows == 0 || k == 0)
        return cudaSuccess;
    if (!X || !G || !P || k > HALS_K_LIMIT)
        return cudaErrorInvalidValue;
    return launch_hals_sweep(X, rows, (int)k, x_row, x_comp, G, P, p_row, p_comp, l1, l2,
                             row_violation, k * k * sizeof(float), stream);
}
