/* beta_mu.cu - element-wise kernels of the beta-divergence MU updates and
 * the beta-divergence itself (see beta_mu.cuh for the order of calls). The
 * per-element math is nmf_elementwise.h's, shared with src/cpu/beta_mu.c;
 * the kernels that read V take it as floats or as bytes (widen.cuh).
 *
 * Work per W or H update on the faces (m = 400, n = 10304, k = 20): the
 * terms kernel touches m·n = 4.1M elements (16 bytes each: 66 MB, two powf),
 * the MU step (m + n)k = 214k elements (16 bytes: 3.4 MB), the broadcast
 * (β = 1 only) writes mk or kn floats. Against 4mnk to 6mnk GEMM flops
 * (0.33-0.49 GFLOP) the terms kernel's bytes dominate: bandwidth-bound. */
#include "beta_mu.cuh"
#include "reduce.cuh"
#include "nmf_elementwise.h"
#include "widen.cuh"

#include <stdint.h>

static const int BETA_BLOCK = 256;
/* Enough blocks to fill any current GPU; the grid-stride loops do the rest. */
static const size_t BETA_MAX_BLOCKS = 4096;

static unsigned grid_for(size_t len, size_t max_blocks)
{
    size_t blocks = (len + BETA_BLOCK - 1) / BETA_BLOCK;
    if (blocks > max_blocks)
        blocks = max_blocks;
    return blocks ? (unsigned)blocks : 1u;
}

/* ---- R = V ∘ WH^(β-2), WH ← WH^(β-1) -----------------------------------
 * Per element: read V, WH, write R and (β != 1) WH: 16 bytes, two powf
 * (one divide at β = 1, 12 bytes); a byte V reads 3 bytes less. V is float
 * or uint8_t (widen.cuh), widened to float before the shared math. */
template <typename T>
static __global__ void beta_terms_kernel(const T *__restrict__ V, float *__restrict__ WH,
                                         float *__restrict__ R, size_t len, float beta)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < len;
         i += (size_t)gridDim.x * blockDim.x) {
        float wh = WH[i];
        R[i] = nmf_beta_numerator_term((float)V[i], wh, beta);
        if (beta != 1.0f)
            WH[i] = nmf_beta_denominator_term(wh, beta);
    }
}

/* The weighted terms (beta_mu.cuh): one mask byte more read per element.
 * At beta 2 the terms are V and WH themselves, as the CPU's masked loop
 * takes them (powf(wh, 1) need not be exact on the GPU). */
template <typename T>
static __global__ void masked_beta_terms_kernel(const T *__restrict__ V,
                                                const uint8_t *__restrict__ mask,
                                                float *__restrict__ WH, float *__restrict__ R,
                                                size_t len, float beta)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < len;
         i += (size_t)gridDim.x * blockDim.x) {
        const float wh = WH[i];
        if (!mask[i]) {
            R[i] = 0.0f;
            WH[i] = 0.0f;
        } else if (beta == 2.0f) {
            R[i] = (float)V[i];
        } else {
            R[i] = nmf_beta_numerator_term((float)V[i], wh, beta);
            WH[i] = nmf_beta_denominator_term(wh, beta);
        }
    }
}

template <typename T>
static cudaError_t launch_beta_terms(const T *V, const uint8_t *mask, float *WH, float *R,
                                     size_t len, float beta, cudaStream_t stream)
{
    const unsigned grid = grid_for(len, BETA_MAX_BLOCKS);
    if (mask)
        masked_beta_terms_kernel<<<grid, BETA_BLOCK, 0, stream>>>(V, mask, WH, R, len, beta);
    else
        beta_terms_kernel<<<grid, BETA_BLOCK, 0, stream>>>(V, WH, R, len, beta);
    return cudaGetLastError();
}

extern "C" cudaError_t nmf_cuda_beta_terms(const void *V, size_t v_size, const uint8_t *mask,
                                           float *WH, float *R, size_t len, float beta,
                                           cudaStream_t stream)
{
    if (len == 0)
        return cudaSuccess;
    if (!V || !WH || !R)
        return cudaErrorInvalidValue;
    return nmf_with_V_type(V, v_size, [&](auto *v) {
        return launch_beta_terms(v, mask, WH, R, len, beta, stream);
    });
}

/* ---- dst (rows, cols) = a repeated vector ------------------------------
 * Per element: one read (cached: the vector is short), one 4-byte write and
 * a 64-bit division for the index. mk or kn elements: 0.2M on the faces. */
static __global__ void broadcast_kernel(float *__restrict__ dst, const float *__restrict__ vec,
                                        size_t rows, size_t cols, int along_rows, float zero_to)
{
    const size_t len = rows * cols;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < len;
         i += (size_t)gridDim.x * blockDim.x) {
        float x = vec[along_rows ? i % cols : i / cols];
        dst[i] = x == 0.0f ? zero_to : x;
    }
}

static cudaError_t launch_broadcast(float *dst, const float *vec, size_t rows, size_t cols,
                                    int along_rows, float zero_to, cudaStream_t stream)
{
    broadcast_kernel<<<grid_for(rows * cols, BETA_MAX_BLOCKS), BETA_BLOCK, 0, stream>>>(
        dst, vec, rows, cols, along_rows, zero_to);
    return cudaGetLastError();
}

extern "C" cudaError_t nmf_cuda_broadcast(float *dst, const float *vec, size_t rows,
                                          size_t cols, int along_rows, float zero_to,
                                          cudaStream_t stream)
{
    if (rows == 0 || cols == 0)
        return cudaSuccess;
    if (!dst || !vec || rows > SIZE_MAX / cols)
        return cudaErrorInvalidValue;
    return launch_broadcast(dst, vec, rows, cols, along_rows, zero_to, stream);
}

/* ---- X ∘= (num / (den + l1 + l2 X))^γ, then a threshold ----------------
 * Per element: read X, num, den, write X: 16 bytes; a divide, a powf when
 * γ != 1. (m + n)k elements per iteration: 3.4 MB on the faces at k = 20. */
static __global__ void mu_update_reg_kernel(float *__restrict__ X, const float *__restrict__ num,
                                            const float *__restrict__ den, size_t len, float l1,
                                            float l2, float gamma, float zero_below)
{
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < len;
         i += (size_t)gridDim.x * blockDim.x) {
        float x = nmf_mu_update(X[i], num[i], den[i], l1, l2, gamma);
        X[i] = x < zero_below ? 0.0f : x;
    }
}

static cudaError_t launch_mu_update_reg(float *X, const float *num, const float *den,
                                        size_t len, float l1, float l2, float gamma,
                                        float zero_below, cudaStream_t stream)
{
    mu_update_reg_kernel<<<grid_for(len, BETA_MAX_BLOCKS), BETA_BLOCK, 0, stream>>>(
        X, num, den, len, l1, l2, gamma, zero_below);
    return cudaGetLastError();
}

extern "C" cudaError_t nmf_cuda_mu_update_reg(float *X, const float *num, const float *den,
                                              size_t len, float l1, float l2, float gamma,
                                              float zero_below, cudaStream_t stream)
{
    if (len == 0)
        return cudaSuccess;
    if (!X || !num || !den)
        return cudaErrorInvalidValue;
    return launch_mu_update_reg(X, num, den, len, l1, l2, gamma, zero_below, stream);
}

/* ---- sums of each component in double --------------------------------
 * Per component: len floats read once; k blocks. */
static __global__ void component_sums_kernel(const float *__restrict__ X, size_t rows,
                                             size_t cols, int sum_rows, float *__restrict__ out)
{
    __shared__ double sums[NMF_REDUCE_BLOCK];
    const size_t comp = blockIdx.x, len = sum_rows ? cols : rows;
    double s = 0.0;
    for (size_t i = threadIdx.x; i < len; i += blockDim.x)
        s += sum_rows ? X[comp * cols + i] : X[i * cols + comp];
    sums[threadIdx.x] = s;
    nmf_block_sum(sums);
    if (threadIdx.x == 0)
        out[comp] = (float)sums[0];
}

extern "C" cudaError_t nmf_cuda_component_sums(const float *X, size_t rows, size_t cols,
                                               int sum_rows, float *out, cudaStream_t stream)
{
    const size_t k = sum_rows ? rows : cols;
    if (!X || !out || k == 0 || k > 0x7fffffff)
        return cudaErrorInvalidValue;
    component_sums_kernel<<<(unsigned)k, NMF_REDUCE_BLOCK, 0, stream>>>(X, rows, cols, sum_rows,
                                                                         out);
    return cudaGetLastError();
}

/* ---- D(V || WH) in double ----------------------------------------------
 * Per element: read V and WH (8 bytes, 5 for a byte V), up to three double
 * pow (or a log and a divide): on the faces 33 MB and ~12M double
 * transcendentals, every 10 iterations. The grid is fixed by len alone (never by the device), so
 * the partials and their order, hence the bits, are too. */

template <typename T>
struct beta_loss_term {
    const T *V;
    const uint8_t *mask; /* NULL: every entry observed */
    const float *WH;
    double beta;
    __device__ double operator()(size_t i) const
    {
        return mask && !mask[i] ? 0.0 : nmf_beta_loss_term((float)V[i], WH[i], beta);
    }
};

template <typename T>
static cudaError_t reduce_beta_divergence(const T *V, const uint8_t *mask, const float *WH,
                                          size_t len, double beta, double *partial, double *out,
                                          cudaStream_t stream)
{
    return nmf_reduce(beta_loss_term<T>{V, mask, WH, beta}, len, partial, out,
                      beta == 0.0 || beta == 1.0 ? 1.0 : beta * (beta - 1.0), stream);
}

extern "C" cudaError_t nmf_cuda_beta_divergence(const void *V, size_t v_size,
                                                const uint8_t *mask, const float *WH,
                                                size_t len, float beta, double *partial,
                                                double *out, cudaStream_t stream)
{
    if (len == 0 || !V || !WH || !partial || !out)
        return cudaErrorInvalidValue;
    return nmf_with_V_type(V, v_size, [&](auto *v) {
        return reduce_beta_divergence(v, mask, WH, len, (double)beta, partial, out, stream);
    });
}
