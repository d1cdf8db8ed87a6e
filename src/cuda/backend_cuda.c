/* backend_cuda.c - the CUDA backend, host side: V, W and H are staged on
 * the GPU once, every iteration runs there (cuBLAS SGEMMs plus the kernels
 * in kernels/), and only the loss (8 bytes, every 10 iterations), HALS's
 * violations when its stopping rule is on (160 bytes, every 10), and the
 * final W, H come back. The 10 iterations between two loss evaluations are
 * captured once in a CUDA Graph and replayed, so an iteration costs no
 * host work and no launch latency.
 *
 * The three solvers are the CPU backend's: Frobenius MU, MU for other betas
 * (kernels/beta_mu.cu between cuBLAS GEMMs) and HALS (kernels/hals_sweep.cu,
 * one launch per factor sweep). With a fixed H (nmf_transform) each
 * iteration stops after W's update, and H's products are made once.
 *
 * The products are the CPU backend's (backend_cpu.c), as row-major
 * matrices; cuBLAS is column-major, so each row-major C = op(A)·op(B) is
 * computed as the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ (gemm_rm below).
 *
 * V given as bytes (nmf_problem's V8) stays bytes on the GPU, a quarter of
 * float V's memory: the element-wise kernels read the bytes themselves,
 * and the two GEMMs that read V (V Hᵀ, Wᵀ V) take it a block of rows at a
 * time, widened into a bounded float scratch (for_V_blocks).
 *
 * A V larger than the device's free memory (or any V, with
 * NMF_GPU_STREAM_BLOCK) stays in host memory for a Frobenius fit: every
 * pass over it copies its blocks of rows into two device slots on a
 * second stream, block b+1's copy overlapping block b's products, from V
 * itself when the CUDA driver can pin it in place, else through two pinned
 * buffers the host fills (from the mapped cache file of a V streamed from
 * disk, a block at a time). Fits through W·H (beta != 2, missing entries)
 * hold W·H whole on the device and are not streamed.
 *
 * Over the ranks of an MPI job (nmf_comm) each rank takes GPU local_rank
 * modulo those it sees, and the sums over rows (Wᵀ V and Wᵀ W, the beta
 * H update's two k x n products, KL's column sums, the losses, HALS's
 * violation) go through host memory and the comm's sums (sum_over_ranks,
 * the one function an NCCL path would replace). Iterations then run
 * eagerly, not as a graph, and every rank calls every sum even after a
 * failure of its own, which the sums agree on first, so that no rank
 * waits for one that stopped. */
#include "backend.h"
#include "beta_mu.cuh"
#include "comm.h"
#include "cuda_check.h"
#include "error.h"
#include "hals_sweep.cuh"
#include "loss.cuh"
#include "reduce.cuh"
#include "reduce.h"
#include "size_text.h"
#include "stream.h"
#include "widen.cuh"
#include "nmf_elementwise.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Iterations per graph: the driver evaluates the loss every 10. */
#define GRAPH_ITERATIONS NMF_HISTORY_EVERY
/* cuBLAS needs a workspace of its own during graph capture; 32 MiB is what
 * NVIDIA recommends for Hopper. */
#define CUBLAS_WORKSPACE_BYTES (32u << 20)
/* A byte V's GEMMs read it as floats from a scratch of whole rows at most
 * this big (all of V when that is smaller; one row when a row is bigger):
 * 16M floats, 1628 rows of the faces' 10304 pixels (all 400 fit in one
 * block), so each block's GEMM is large enough to run at the speed of one
 * over all of V, while the scratch stays small beside the bytes of a data
 * set too large for float V. */
#define V_BLOCK_BYTES ((size_t)64 << 20)

/* Slots of d_sums: the loss's terms, then (HALS with tol > 0) the W and H
 * sweeps' violations of each iteration of a block, W's at
 * SUM_VIOLATIONS + 2·i and H's after it. */
enum {
    SUM_NORM_V,
    SUM_CROSS,
    SUM_QUAD,
    SUM_LOSS,
    SUM_VIOLATIONS,
    SUM_COUNT = SUM_VIOLATIONS + 2 * GRAPH_ITERATIONS
};

typedef struct {
    size_t m, n, k;
    nmf_problem problem; /* the host's V (borrowed) and the ranks */
    const nmf_comm *comm; /* the ranks of a job; NULL in one process */
    int norm_V_summed;   /* SUM_NORM_V holds the whole V's (over the ranks) */
    cudaStream_t stream;
    cublasHandle_t blas;
    void *d_workspace;
    float *d_V;     /* (m, n) float V, or NULL when the problem gives bytes */
    uint8_t *d_V8;  /* (m, n) byte V, or NULL */
    size_t v_size;  /* bytes per element of V: sizeof(float) or 1 */
    size_t block_rows; /* rows of V per block of its GEMMs: m for float V */
    float *d_V_block;  /* (block_rows, n): a block of byte V widened; not elementwise only */
    /* A V streamed from host memory (d_V and d_V8 NULL): block b is copied
     * into d_slot[b % 2] on copy_stream, from V pinned in place
     * (V_registered) or through h_slot[b % 2]; `copied` marks a slot's
     * copy done, `consumed` its products enqueued after it. */
    int streamed, V_registered;
    cudaStream_t copy_stream;
    void *d_slot[2], *h_slot[2];
    cudaEvent_t copied[2], consumed[2];
    float *h_reduce;   /* pinned, reduce_floats: the staging of sum_over_ranks */
    size_t reduce_floats;
    float *d_W;     /* (m, k) */
    float *d_H;     /* (k, n) */
    float *d_HHt;   /* (k, k) */
    /* d_WtW, d_WtV and d_den_H are one allocation, in this order (WtW's
     * k² floats padded to WtW_span with zeros), so that WᵀW and WᵀV, and
     * the beta H update's two products, are each one sum over the ranks. */
    float *d_WtW;   /* (k, k) of the current W when WtV_valid */
    float *d_WtV;   /* (k, n) of the current W when WtV_valid */
    float *d_den_H; /* (k, n) */
    size_t WtW_span;
    float *d_VHt;   /* (m, k) */
    float *d_den_W; /* (m, k) */
    uint8_t *d_mask;    /* (m, n), 0 where V is missing; NULL: every entry observed */
    float *d_WH, *d_R;  /* (m, n), element-wise fits only */
    float *d_sum;       /* (k) row sums of H or column sums of W, kl_sums only */
    double *d_row_violation; /* max(m, n), HALS with tol > 0 only */
    float *d_W_mark, *d_H_mark; /* the factors before the last iterate call,
                                   HALS with tol > 0 only */
    double *d_partial; /* NMF_REDUCE_PARTIALS */
    double *d_sums;    /* SUM_COUNT */
    double *h_sums;    /* pinned, SUM_COUNT */
    nmf_solver solver;
    int sweeps_W, sweeps_H; /* HALS sweeps per iteration (nmf_params) */
    int fixed_H; /* nmf_transform: only W is updated */
    int H_products_made; /* fixed H: HHt and VHt enqueued once, kept for the run */
    float beta, gamma;
    /* The fit runs through WH element by element (the beta-MU path):
     * beta != 2, or any beta with missing entries, as on the CPU. */
    int elementwise;
    int kl_sums; /* beta = 1 over a complete V: the denominators are sums */
    float l1_W, l2_W, l1_H, l2_H;
    int WtV_valid;
    int track_violation; /* HALS with tol > 0: violations summed, factors kept */
    int eager_runs; /* 10-iteration runs done before capturing the graph */
    cudaGraphExec_t graph;
    cudaEvent_t timer[2]; /* for the benchmark harness */
} cuda_ctx;

nmf_status nmf_cuda_report(cudaError_t err, const char *call, const char *file, int line)
{
    nmf_status st = err == cudaErrorMemoryAllocation ? NMF_STATUS_NO_MEMORY
                    : err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver
                        ? NMF_STATUS_NO_DEVICE
                        : NMF_STATUS_INTERNAL;
    return nmf_error(st, "CUDA: %s failed at %s:%d: %s", call, file, line,
                     cudaGetErrorString(err));
}

nmf_status nmf_cublas_report(cublasStatus_t err, const char *call, const char *file, int line)
{
    nmf_status st = err == CUBLAS_STATUS_ALLOC_FAILED ? NMF_STATUS_NO_MEMORY : NMF_STATUS_INTERNAL;
    return nmf_error(st, "cuBLAS: %s failed at %s:%d: %s", call, file, line,
                     cublasGetStatusString(err));
}

/* Row-major C (M, N) = op(A) (M, K) · op(B) (K, N) + beta·C, leading
 * dimensions as in row-major storage. */
static cublasStatus_t gemm_rm_beta(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                   size_t M, size_t N, size_t K, const float *A, size_t lda,
                                   const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    const float one = 1.0f;
    return cublasSgemm(h, tb, ta, (int)N, (int)M, (int)K, &one, B, (int)ldb, A, (int)lda,
                       &beta, C, (int)ldc);
}

/* Row-major C (M, N) = op(A) (M, K) · op(B) (K, N). */
static cublasStatus_t gemm_rm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                              size_t M, size_t N, size_t K, const float *A, size_t lda,
                              const float *B, size_t ldb, float *C, size_t ldc)
{
    return gemm_rm_beta(h, ta, tb, M, N, K, A, lda, B, ldb, 0.0f, C, ldc);
}

/* V on the device in the problem's form (v_size bytes an element), for
 * the kernels that read it element-wise. */
static const void *device_V(const cuda_ctx *c)
{
    return c->d_V ? (const void *)c->d_V : (const void *)c->d_V8;
}

/* Copies `count` sums from d_sums[first] home, synchronising the stream. */
static nmf_status read_sums(cuda_ctx *c, int first, int count)
{
    nmf_status st = NMF_STATUS_OK;
    CUDA_CHECK(cudaMemcpyAsync(c->h_sums + first, c->d_sums + first, count * sizeof(double),
                               cudaMemcpyDeviceToHost, c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
cleanup:
    return st;
}

/* Over the ranks (no-op in one process): every rank's st agreed on, then,
 * when all are OK, values (host memory) summed in place. Collective: each
 * rank calls it at the same points, whatever failed before on its own. */
static nmf_status sum_doubles_over_ranks(cuda_ctx *c, nmf_status st, double *values, size_t count)
{
    if (!c->comm)
        return st;
    if ((st = nmf_comm_agree(c->comm, st)) == NMF_STATUS_OK)
        nmf_sum_doubles(&c->problem, values, count);
    return st;
}

/* The backend's one sum of device memory over the ranks (no-op in one
 * process): `count` floats at d_values, summed in place through pinned
 * host memory and the comm (MPI, in a fixed order); an NCCL allreduce on
 * the device would replace this function alone. Collective, and agrees on
 * every rank's st first, as sum_doubles_over_ranks. */
static nmf_status sum_over_ranks(cuda_ctx *c, nmf_status st, float *d_values, size_t count)
{
    if (!c->comm)
        return st;
    if (st == NMF_STATUS_OK && count > c->reduce_floats)
        st = nmf_error(NMF_STATUS_INTERNAL, "sum_over_ranks: %zu floats, room for %zu", count,
                       c->reduce_floats);
    if (st == NMF_STATUS_OK) {
        CUDA_CHECK(cudaMemcpyAsync(c->h_reduce, d_values, count * sizeof(float),
                                   cudaMemcpyDeviceToHost, c->stream));
        CUDA_CHECK(cudaStreamSynchronize(c->stream));
    }
cleanup:
    if ((st = nmf_comm_agree(c->comm, st)) != NMF_STATUS_OK)
        return st;
    nmf_sum_floats(&c->problem, c->h_reduce, count);
    /* Stream-ordered before the next sum's copy home, which waits for it. */
    cudaError_t e = cudaMemcpyAsync(d_values, c->h_reduce, count * sizeof(float),
                                    cudaMemcpyHostToDevice, c->stream);
    return e == cudaSuccess ? NMF_STATUS_OK
                            : nmf_cuda_report(e, "cudaMemcpyAsync", __FILE__, __LINE__);
}

/* ||V||² of the whole V in SUM_NORM_V: init leaves this rank's there; the
 * first collective call (iterate or a loss, in the same order on every
 * rank) sums it over the ranks. */
static nmf_status sum_norm_V(cuda_ctx *c, nmf_status st)
{
    if (!c->comm || c->norm_V_summed)
        return st;
    c->norm_V_summed = 1;
    if (st == NMF_STATUS_OK)
        st = read_sums(c, SUM_NORM_V, 1);
    if ((st = sum_doubles_over_ranks(c, st, c->h_sums + SUM_NORM_V, 1)) != NMF_STATUS_OK)
        return st;
    CUDA_CHECK(cudaMemcpyAsync(c->d_sums + SUM_NORM_V, c->h_sums + SUM_NORM_V, sizeof(double),
                               cudaMemcpyHostToDevice, c->stream));
cleanup:
    return st;
}

/* Enqueues the copy of block b of a streamed V into d_slot[b % 2] on
 * copy_stream, once the slot's last products are enqueued: from V itself
 * when it is pinned in place, else through h_slot[b % 2], filled here (a
 * V streamed from disk mapped and handed back around it) once that
 * buffer's last copy is done. */
static nmf_status stage_block(cuda_ctx *c, size_t b)
{
    nmf_status st = NMF_STATUS_OK;
    const int s = (int)(b & 1);
    const size_t i0 = b * c->block_rows, rows = nmf_block_len(c->m, i0, c->block_rows);
    const size_t at = i0 * c->n * c->v_size, bytes = rows * c->n * c->v_size;
    const void *V_host = c->problem.V ? (const void *)c->problem.V : (const void *)c->problem.V8;
    const char *from = (const char *)V_host + at;
    if (!c->V_registered) {
        CUDA_CHECK(cudaEventSynchronize(c->copied[s]));
        nmf_problem_block_begin(&c->problem, i0, rows, c->block_rows);
        memcpy(c->h_slot[s], from, bytes);
        nmf_problem_block_end(&c->problem, i0, rows);
        from = c->h_slot[s];
    }
    CUDA_CHECK(cudaStreamWaitEvent(c->copy_stream, c->consumed[s], 0));
    CUDA_CHECK(cudaMemcpyAsync(c->d_slot[s], from, bytes, cudaMemcpyHostToDevice,
                               c->copy_stream));
    CUDA_CHECK(cudaEventRecord(c->copied[s], c->copy_stream));
cleanup:
    return st;
}

/* A product's share from rows [i0, i0 + rows) of V, given as floats
 * (rows, n) in V_rows. */
typedef nmf_status (*V_block_product)(cuda_ctx *c, size_t i0, size_t rows, const float *V_rows);

/* Enqueues product for each block of block_rows rows of V, in order. A
 * resident float V is one block, its own memory; a byte V's blocks are
 * widened in turn into d_V_block, which the stream's order keeps from
 * being overwritten before the block's GEMM has read it. A streamed V's
 * blocks come through the slots (stage_block), each one's products
 * waiting for its copy, the next block's copy enqueued after them. */
static nmf_status for_V_blocks(cuda_ctx *c, V_block_product product)
{
    nmf_status st = NMF_STATUS_OK;
    const size_t n = c->n, blocks = (c->m + c->block_rows - 1) / c->block_rows;
    if (c->streamed && (st = stage_block(c, 0)) != NMF_STATUS_OK)
        goto cleanup;
    for (size_t b = 0; b < blocks; b++) {
        const int s = (int)(b & 1);
        const size_t i0 = b * c->block_rows, rows = nmf_block_len(c->m, i0, c->block_rows);
        const void *raw = c->streamed ? c->d_slot[s]
                                      : (const char *)device_V(c) + i0 * n * c->v_size;
        if (c->streamed)
            CUDA_CHECK(cudaStreamWaitEvent(c->stream, c->copied[s], 0));
        const float *V_rows = raw;
        if (c->v_size == 1) {
            CUDA_CHECK(nmf_cuda_widen_bytes(raw, c->d_V_block, rows * n, c->stream));
            V_rows = c->d_V_block;
        }
        if ((st = product(c, i0, rows, V_rows)) != NMF_STATUS_OK)
            goto cleanup;
        if (c->streamed) {
            CUDA_CHECK(cudaEventRecord(c->consumed[s], c->stream));
            if (b + 1 < blocks && (st = stage_block(c, b + 1)) != NMF_STATUS_OK)
                goto cleanup;
        }
    }
cleanup:
    return st;
}

/* WtV (k, n) += W[i0 : i0 + rows]ᵀ V_rows; the first block sets it. */
static nmf_status WtV_block(cuda_ctx *c, size_t i0, size_t rows, const float *V_rows)
{
    nmf_status st = NMF_STATUS_OK;
    CUBLAS_CHECK(gemm_rm_beta(c->blas, CUBLAS_OP_T, CUBLAS_OP_N, c->k, c->n, rows,
                              c->d_W + i0 * c->k, c->k, V_rows, c->n, i0 == 0 ? 0.0f : 1.0f,
                              c->d_WtV, c->n));
cleanup:
    return st;
}

/* VHt[i0 : i0 + rows] (rows, k) = V_rows Hᵀ. */
static nmf_status VHt_block(cuda_ctx *c, size_t i0, size_t rows, const float *V_rows)
{
    nmf_status st = NMF_STATUS_OK;
    CUBLAS_CHECK(gemm_rm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, rows, c->k, c->n, V_rows, c->n,
                         c->d_H, c->n, c->d_VHt + i0 * c->k, c->k));
cleanup:
    return st;
}

/* WtW = Wᵀ W and WtV = Wᵀ V for the current W, summed over the ranks:
 * collective (sum_over_ranks), with the status so far. */
static nmf_status enqueue_W_products(cuda_ctx *c, nmf_status st)
{
    const cublasOperation_t N = CUBLAS_OP_N, T = CUBLAS_OP_T;
    if (st != NMF_STATUS_OK)
        goto cleanup;
    CUBLAS_CHECK(gemm_rm(c->blas, T, N, c->k, c->k, c->m, c->d_W, c->k, c->d_W, c->k, c->d_WtW, c->k));
    st = for_V_blocks(c, WtV_block);
cleanup:
    return sum_over_ranks(c, st, c->d_WtW, c->WtW_span + c->k * c->n);
}

/* HHt = H Hᵀ and VHt = V Hᵀ for the current H; a fixed H's once (in the
 * first, eager, iteration, so the graph captured later leaves them out). */
static nmf_status enqueue_H_products(cuda_ctx *c)
{
    nmf_status st = NMF_STATUS_OK;
    const cublasOperation_t N = CUBLAS_OP_N, T = CUBLAS_OP_T;
    if (c->fixed_H && c->H_products_made)
        return NMF_STATUS_OK;
    c->H_products_made = c->fixed_H;
    CUBLAS_CHECK(gemm_rm(c->blas, N, T, c->k, c->k, c->n, c->d_H, c->n, c->d_H, c->n, c->d_HHt, c->k));
    st = for_V_blocks(c, VHt_block);
cleanup:
    return st;
}

/* Frobenius MU's W update with HHt and VHt: W *= VHt / (W HHt). */
static nmf_status mu_update_W(cuda_ctx *c)
{
    nmf_status st = NMF_STATUS_OK;
    const cublasOperation_t N = CUBLAS_OP_N;
    const size_t m = c->m, k = c->k;
    if ((st = enqueue_H_products(c)) != NMF_STATUS_OK)
        goto cleanup;
    CUBLAS_CHECK(gemm_rm(c->blas, N, N, m, k, k, c->d_W, k, c->d_HHt, k, c->d_den_W, k));
    CUDA_CHECK(nmf_cuda_mu_update_reg(c->d_W, c->d_VHt, c->d_den_W, m * k, c->l1_W, c->l2_W,
                                      1.0f, 0.0f, c->stream));
cleanup:
    return st;
}

/* Frobenius MU's H update with WtW and WtV: H *= WtV / (WtW H). */
static nmf_status mu_update_H(cuda_ctx *c)
{
    nmf_status st = NMF_STATUS_OK;
    const cublasOperation_t N = CUBLAS_OP_N;
    const size_t n = c->n, k = c->k;
    CUBLAS_CHECK(gemm_rm(c->blas, N, N, k, n, k, c->d_WtW, k, c->d_H, n, c->d_den_H, n));
    CUDA_CHECK(nmf_cuda_mu_update_reg(c->d_H, c->d_WtV, c->d_den_H, k * n, c->l1_H, c->l2_H,
                                      1.0f, 0.0f, c->stream));
cleanup:
    return st;
}

/* One Frobenius MU iteration in scikit-learn's order (see backend_cpu.c
 * for the products and their costs), after the status st so far: the
 * local steps run only while it is OK, the sum over the ranks always. */
static nmf_status enqueue_mu(cuda_ctx *c, nmf_status st)
{
    if (st == NMF_STATUS_OK)
        st = mu_update_W(c);
    if (c->fixed_H || (st = enqueue_W_products(c, st)) != NMF_STATUS_OK)
        return st;
    return mu_update_H(c);
}

/* WH = W H, then R = its element-wise terms against V (the numerator's
 * matrix, src/cpu/beta_mu.h). */
static nmf_status enqueue_WH_terms(cuda_ctx *c)
{
    nmf_status st = NMF_STATUS_OK;
    const size_t m = c->m, n = c->n, k = c->k;
    CUBLAS_CHECK(gemm_rm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, c->d_W, k, c->d_H, n,
                         c->d_WH, n));
    CUDA_CHECK(nmf_cuda_beta_terms(device_V(c), c->v_size, c->d_mask, c->d_WH, c->d_R, m * n,
                                   c->beta, c->stream));
cleanup:
    return st;
}

/* An element-wise fit's W update: num = (V ∘ WH^(β-2)) Hᵀ, den =
 * rowsums(H) (kl_sums) or WH^(β-1) Hᵀ, the update and the small-value
 * threshold. W's rows are the rank's own: nothing is summed. */
static nmf_status beta_update_W(cuda_ctx *c)
{
    nmf_status st = NMF_STATUS_OK;
    const cublasOperation_t N = CUBLAS_OP_N, T = CUBLAS_OP_T;
    const size_t m = c->m, n = c->n, k = c->k;
    if ((st = enqueue_WH_terms(c)) != NMF_STATUS_OK)
        goto cleanup;
    CUBLAS_CHECK(gemm_rm(c->blas, N, T, m, k, n, c->d_R, n, c->d_H, n, c->d_VHt, k));
    if (c->kl_sums) {
        CUDA_CHECK(nmf_cuda_component_sums(c->d_H, k, n, 1, c->d_sum, c->stream));
        CUDA_CHECK(nmf_cuda_broadcast(c->d_den_W, c->d_sum, m, k, 1, 0.0f, c->stream));
    } else {
        CUBLAS_CHECK(gemm_rm(c->blas, N, T, m, k, n, c->d_WH, n, c->d_H, n, c->d_den_W, k));
    }
    CUDA_CHECK(nmf_cuda_mu_update_reg(c->d_W, c->d_VHt, c->d_den_W, m * k, c->l1_W, c->l2_W,
                                      c->gamma, c->beta < 1.0f ? NMF_EPSILON64 : 0.0f, c->stream));
cleanup:
    return st;
}

/* The H update's products over this rank's rows, with the new W: num =
 * Wᵀ (V ∘ WH^(β-2)) into WtV, den = Wᵀ WH^(β-1) into den_H, or for
 * kl_sums W's column sums into d_sum. */
static nmf_status beta_H_products(cuda_ctx *c)
{
    nmf_status st = NMF_STATUS_OK;
    const cublasOperation_t N = CUBLAS_OP_N, T = CUBLAS_OP_T;
    const size_t m = c->m, n = c->n, k = c->k;
    if ((st = enqueue_WH_terms(c)) != NMF_STATUS_OK)
        goto cleanup;
    CUBLAS_CHECK(gemm_rm(c->blas, T, N, k, n, m, c->d_W, k, c->d_R, n, c->d_WtV, n));
    if (c->kl_sums)
        CUDA_CHECK(nmf_cuda_component_sums(c->d_W, m, k, 0, c->d_sum, c->stream));
    else
        CUBLAS_CHECK(gemm_rm(c->blas, T, N, k, n, m, c->d_W, k, c->d_WH, n, c->d_den_H, n));
cleanup:
    return st;
}

/* The H update from the products summed over the ranks (den = colsums(W),
 * 0 -> 1, broadcast for kl_sums). */
static nmf_status beta_update_H(cuda_ctx *c)
{
    nmf_status st = NMF_STATUS_OK;
    const size_t n = c->n, k = c->k;
    if (c->kl_sums)
        CUDA_CHECK(nmf_cuda_broadcast(c->d_den_H, c->d_sum, k, n, 0, 1.0f, c->stream));
    CUDA_CHECK(nmf_cuda_mu_update_reg(c->d_H, c->d_WtV, c->d_den_H, k * n, c->l1_H, c->l2_H,
                                      c->gamma, c->beta <= 1.0f ? NMF_EPSILON64 : 0.0f,
                                      c->stream));
cleanup:
    return st;
}

/* One MU iteration of an element-wise fit (src/cpu/beta_mu.h has the
 * formulas; with a mask, the weighted ones): W, then H with the new W,
 * after the status st so far, as enqueue_mu. */
static nmf_status enqueue_beta_mu(cuda_ctx *c, nmf_status st)
{
    if (st == NMF_STATUS_OK)
        st = beta_update_W(c);
    if (c->fixed_H)
        return st;
    if (st == NMF_STATUS_OK)
        st = beta_H_products(c);
    if (c->kl_sums) {
        st = sum_over_ranks(c, st, c->d_sum, c->k);
        st = sum_over_ranks(c, st, c->d_WtV, c->k * c->n);
    } else {
        st = sum_over_ranks(c, st, c->d_WtV, 2 * c->k * c->n); /* WtV and den_H */
    }
    return st == NMF_STATUS_OK ? beta_update_H(c) : st;
}

/* sweeps_W sweeps of W's rows with one V Hᵀ and H Hᵀ (the last one's
 * violation counts, summed into W's slot of the i-th iteration). */
static nmf_status hals_sweeps_W(cuda_ctx *c, int i)
{
    nmf_status st = NMF_STATUS_OK;
    double *row_violation = c->track_violation ? c->d_row_violation : NULL;
    if ((st = enqueue_H_products(c)) != NMF_STATUS_OK)
        goto cleanup;
    for (int s = 0; s < c->sweeps_W; s++)
        CUDA_CHECK(nmf_cuda_hals_sweep(c->d_W, c->m, c->k, c->k, 1, c->d_HHt, c->d_VHt, c->k, 1,
                                       c->l1_W, c->l2_W, row_violation, c->stream));
    if (row_violation)
        CUDA_CHECK(nmf_cuda_sum_double(row_violation, c->m, c->d_partial,
                                       c->d_sums + SUM_VIOLATIONS + 2 * i, c->stream));
cleanup:
    return st;
}

/* sweeps_H sweeps of H's columns with one Wᵀ V and Wᵀ W, as on the CPU. */
static nmf_status hals_sweeps_H(cuda_ctx *c, int i)
{
    nmf_status st = NMF_STATUS_OK;
    double *row_violation = c->track_violation ? c->d_row_violation : NULL;
    for (int s = 0; s < c->sweeps_H; s++)
        CUDA_CHECK(nmf_cuda_hals_sweep(c->d_H, c->n, c->k, 1, c->n, c->d_WtW, c->d_WtV, 1, c->n,
                                       c->l1_H, c->l2_H, row_violation, c->stream));
    if (row_violation)
        CUDA_CHECK(nmf_cuda_sum_double(row_violation, c->n, c->d_partial,
                                       c->d_sums + SUM_VIOLATIONS + 2 * i + 1, c->stream));
cleanup:
    return st;
}

/* One HALS iteration, the i-th of its block, after the status st so far:
 * sweep kernels over W's rows with HHt and VHt, then over H's columns
 * with WtW and WtV. With tol > 0 each sweep's violation is summed on the
 * device into its slot of d_sums, read once per block; with tol = 0
 * nobody reads it and it is not summed. */
static nmf_status enqueue_hals(cuda_ctx *c, int i, nmf_status st)
{
    if (st == NMF_STATUS_OK)
        st = hals_sweeps_W(c, i);
    if (c->fixed_H || (st = enqueue_W_products(c, st)) != NMF_STATUS_OK)
        return st;
    return hals_sweeps_H(c, i);
}

/* The i-th iteration of a block, after the status st so far. */
static nmf_status enqueue_iteration(cuda_ctx *c, int i, nmf_status st)
{
    return c->solver == NMF_SOLVER_HALS ? enqueue_hals(c, i, st)
           : c->elementwise             ? enqueue_beta_mu(c, st)
                                        : enqueue_mu(c, st);
}

/* Captures GRAPH_ITERATIONS iterations into c->graph, which is set only
 * when the whole capture and instantiation succeeded. */
static nmf_status capture_graph(cuda_ctx *c)
{
    nmf_status st = NMF_STATUS_OK;
    cudaGraph_t graph = NULL;
    cudaGraphExec_t exec = NULL;
    CUDA_CHECK(cudaStreamBeginCapture(c->stream, cudaStreamCaptureModeThreadLocal));
    for (int it = 0; it < GRAPH_ITERATIONS && st == NMF_STATUS_OK; it++)
        st = enqueue_iteration(c, it, st);
    /* End the capture even after a failure, so the stream is usable again. */
    cudaError_t end = cudaStreamEndCapture(c->stream, &graph);
    if (st != NMF_STATUS_OK)
        goto cleanup;
    CUDA_CHECK(end);
    CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
    c->graph = exec;
cleanup:
    if (graph)
        cudaGraphDestroy(graph);
    return st;
}

/* Frees a device buffer and nulls the pointer, so a second free is harmless. */
#define CUDA_FREE(ptr)       \
    do {                     \
        if (ptr)             \
            cudaFree(ptr);   \
        (ptr) = NULL;        \
    } while (0)

static void cuda_free(void *ctx)
{
    cuda_ctx *c = ctx;
    if (!c)
        return;
    /* Nothing in flight reads what is freed below (an error path's copy). */
    if (c->copy_stream)
        cudaStreamSynchronize(c->copy_stream);
    if (c->stream)
        cudaStreamSynchronize(c->stream);
    if (c->graph)
        cudaGraphExecDestroy(c->graph);
    for (int i = 0; i < 2; i++)
        if (c->timer[i])
            cudaEventDestroy(c->timer[i]);
    if (c->blas)
        cublasDestroy(c->blas);
    for (int i = 0; i < 2; i++) {
        if (c->copied[i])
            cudaEventDestroy(c->copied[i]);
        if (c->consumed[i])
            cudaEventDestroy(c->consumed[i]);
        CUDA_FREE(c->d_slot[i]);
        if (c->h_slot[i])
            cudaFreeHost(c->h_slot[i]);
    }
    if (c->V_registered)
        cudaHostUnregister(c->problem.V ? (void *)c->problem.V : (void *)c->problem.V8);
    if (c->h_reduce)
        cudaFreeHost(c->h_reduce);
    if (c->copy_stream)
        cudaStreamDestroy(c->copy_stream);
    if (c->stream)
        cudaStreamDestroy(c->stream);
    CUDA_FREE(c->d_workspace);
    CUDA_FREE(c->d_V);
    CUDA_FREE(c->d_V8);
    CUDA_FREE(c->d_V_block);
    CUDA_FREE(c->d_W);
    CUDA_FREE(c->d_H);
    CUDA_FREE(c->d_HHt);
    CUDA_FREE(c->d_WtW); /* and WtV, den_H */
    CUDA_FREE(c->d_VHt);
    CUDA_FREE(c->d_den_W);
    CUDA_FREE(c->d_WH);
    CUDA_FREE(c->d_R);
    CUDA_FREE(c->d_sum);
    CUDA_FREE(c->d_mask);
    CUDA_FREE(c->d_row_violation);
    CUDA_FREE(c->d_W_mark);
    CUDA_FREE(c->d_H_mark);
    CUDA_FREE(c->d_partial);
    CUDA_FREE(c->d_sums);
    if (c->h_sums)
        cudaFreeHost(c->h_sums);
    free(c);
}

static int cuda_device_count(char *why, size_t why_size)
{
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
        snprintf(why, why_size, "%s", cudaGetErrorString(err));
        cudaGetLastError(); /* clear it: the CPU path goes on */
        return 0;
    }
    if (count == 0)
        snprintf(why, why_size, "the CUDA runtime sees no devices");
    return count;
}

static void cuda_describe(char *buf, size_t size)
{
    int count = 0, driver = 0, runtime = 0;
    cudaGetDeviceCount(&count);
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    size_t used = 0;
    for (int i = 0; i < count && used < size; i++) {
        struct cudaDeviceProp prop;
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess)
            break;
        int len = snprintf(buf + used, size - used,
                           "  device %d: %s, sm_%d%d, %.1f GiB, driver %d.%d, runtime %d.%d\n", i,
                           prop.name, prop.major, prop.minor,
                           (double)prop.totalGlobalMem / (1 << 30), driver / 1000,
                           driver % 1000 / 10, runtime / 1000, runtime % 1000 / 10);
        if (len < 0)
            break;
        used += (size_t)len;
    }
}

/* cuBLAS's handle, its kernels and the graph take memory of their own. */
#define DEVICE_MEMORY_MARGIN ((size_t)256 << 20)

/* Whether a fit of p on problem is element-wise (cuda_ctx.elementwise). */
static int fit_is_elementwise(const nmf_problem *problem, const nmf_params *p)
{
    return p->beta != 2.0 || problem->mask != NULL;
}

/* How V is held on the device: whole (resident) or streamed, and the rows
 * of a block of the GEMMs that read it. */
typedef struct {
    int streamed;
    size_t block_rows;
} V_layout;

/* Rows whose elements take at most `bytes` (at least one, at most m). */
static size_t rows_in(const nmf_problem *problem, size_t bytes)
{
    const size_t fit = bytes / nmf_problem_element_size(problem) / problem->n;
    return fit == 0 ? 1 : fit < problem->m ? fit : problem->m;
}

/* A resident V's blocks: all of float V (read in place), V_BLOCK_BYTES of
 * floats of a byte V's rows. A streamed V's: slots of `slot_bytes` of V's
 * elements (V_BLOCK_BYTES of them as floats by default), within what the
 * host streams from disk in a block. */
static V_layout layout_of(const nmf_problem *problem, int streamed, size_t slot_bytes)
{
    const size_t floats_bytes = V_BLOCK_BYTES / sizeof(float) * nmf_problem_element_size(problem);
    if (!streamed)
        return (V_layout){0, problem->V ? problem->m : rows_in(problem, floats_bytes)};
    const size_t rows = rows_in(problem, slot_bytes ? slot_bytes : floats_bytes);
    return (V_layout){1, nmf_problem_block_rows(problem, rows)};
}

/* The floats of d_V_block: only the products of a Frobenius fit over a
 * complete V read V in a GEMM (an element-wise fit multiplies R, V ∘
 * WH^(β-2), formed element-wise from the bytes), and float V is read
 * where it is. */
static size_t V_block_floats(const nmf_problem *problem, const nmf_params *p, V_layout v)
{
    return problem->V || fit_is_elementwise(problem, p) ? 0 : v.block_rows * problem->n;
}

/* k² floats rounded up to 64 (256 bytes), so that WtV after WtW is as
 * aligned as a buffer of its own. */
static size_t WtW_span_of(size_t k)
{
    return (k * k + 63) / 64 * 64;
}

/* Bytes of device memory the fit needs, or 0 if that overflows size_t. */
static size_t bytes_needed(const nmf_problem *problem, size_t k, const nmf_params *p, V_layout v)
{
    const size_t m = problem->m, n = problem->n;
    size_t mn = m > n ? m : n;
    size_t marks = (size_t)nmf_hals_rule_on(p); /* W_mark, H_mark */
    /* WH and R of an element-wise fit, the factors and their products, a
     * byte V's block; V itself at its element size, and its mask, or the
     * two slots of a streamed V. */
    size_t floats[] = {m * n * (fit_is_elementwise(problem, p) ? 2 : 0), (3 + marks) * m * k,
                       (3 + marks) * k * n, WtW_span_of(k) + k * k + k,
                       V_block_floats(problem, p, v)};
    size_t total = DEVICE_MEMORY_MARGIN + CUBLAS_WORKSPACE_BYTES +
                   (NMF_REDUCE_PARTIALS + SUM_COUNT + mn) * sizeof(double);
    const size_t V_bytes =
        v.streamed ? 2 * v.block_rows * n * nmf_problem_element_size(problem)
                   : m * n * (nmf_problem_element_size(problem) + (problem->mask ? 1 : 0));
    if (V_bytes > SIZE_MAX - total)
        return 0;
    total += V_bytes;
    for (size_t i = 0; i < sizeof floats / sizeof *floats; i++) {
        if (floats[i] > (SIZE_MAX - total) / sizeof(float))
            return 0;
        total += floats[i] * sizeof(float);
    }
    return total;
}

/* NMF_GPU_STREAM_BLOCK=SIZE (as --max-memory takes it: 64K, 16M) streams
 * V from host memory in slots of at most SIZE even when it fits on the
 * device: for the tests and the benchmark. *out is 0 when it is unset. */
static nmf_status stream_block_asked(size_t *out)
{
    const char *env = getenv("NMF_GPU_STREAM_BLOCK");
    *out = 0;
    if (env && *env && nmf_parse_bytes(env, out) != 0)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "NMF_GPU_STREAM_BLOCK=%s: not a size (bytes, or with K, M, G or T)", env);
    return NMF_STATUS_OK;
}

/* Where V goes and how much it takes: resident when the fit fits the
 * device's free memory and no streaming is asked for, else streamed from
 * host memory (Frobenius fits). */
static nmf_status plan_V(const nmf_problem *problem, size_t k, const nmf_params *p, V_layout *out)
{
    nmf_status st = NMF_STATUS_OK;
    const size_t m = problem->m, n = problem->n;
    const int elementwise = fit_is_elementwise(problem, p);
    size_t asked, free_bytes = 0, total_bytes = 0;
    if ((st = stream_block_asked(&asked)) != NMF_STATUS_OK)
        return st;
    if (asked && elementwise)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "NMF_GPU_STREAM_BLOCK: a fit through W·H (beta != 2, or missing "
                         "pixels) holds it whole on the GPU and is not streamed");
    CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    V_layout v = layout_of(problem, 0, 0);
    size_t need = bytes_needed(problem, k, p, v);
    if (asked || ((need == 0 || need > free_bytes) && !elementwise)) {
        v = layout_of(problem, 1, asked);
        need = bytes_needed(problem, k, p, v);
    }
    if (need == 0 || need > free_bytes)
        return nmf_error(NMF_STATUS_TOO_LARGE,
                         elementwise
                             ? "the GPU fit needs %.2f GB for V (%zu x %zu, as %s), W·H (twice, "
                               "as floats: beta != 2 or missing pixels hold it whole), W, H and "
                               "scratch, but the GPU has %.2f GB free of %.2f GB; hint: the CPU "
                               "device, or the Frobenius loss, whose V the GPU streams"
                             : "the GPU fit needs %.2f GB for two blocks of V (%zu x %zu, as %s, "
                               "streamed from host memory), W, H and their products, but the "
                               "GPU has %.2f GB free of %.2f GB; hint: the CPU device",
                         (double)need / 1e9, m, n, problem->V ? "floats" : "bytes",
                         (double)free_bytes / 1e9, (double)total_bytes / 1e9);
    *out = v;
cleanup:
    return st;
}

/* V onto the device, a block of rows at a time for a streamed V (mapped
 * from its cache file), each block handed back once copied, so that the
 * host holds one block of it, not all. */
static cudaError_t upload_V(const nmf_problem *problem, const void *V_host, void *d_V,
                            size_t v_size, cudaStream_t stream)
{
    const size_t m = problem->m, n = problem->n, block = nmf_problem_block_rows(problem, m);
    for (size_t i0 = 0; i0 < m; i0 += block) {
        const size_t rows = nmf_block_len(m, i0, block), at = i0 * n * v_size;
        cudaError_t e = cudaMemcpyAsync((char *)d_V + at, (const char *)V_host + at,
                                        rows * n * v_size, cudaMemcpyHostToDevice, stream);
        if (e == cudaSuccess)
            e = cudaStreamSynchronize(stream);
        if (e != cudaSuccess)
            return e;
        nmf_problem_release(problem, i0 * n, rows * n);
    }
    return cudaSuccess;
}

/* V on the device (resident) or its streaming's slots, events and host
 * side (streamed: V pinned in place when it is in memory and the driver
 * can, else two pinned buffers), and this rank's ||V||² in SUM_NORM_V. */
static nmf_status stage_V(cuda_ctx *c, const nmf_problem *problem)
{
    nmf_status st = NMF_STATUS_OK;
    const size_t m = c->m, n = c->n;
    const void *V_host = problem->V ? (const void *)problem->V : (const void *)problem->V8;
    if (!c->streamed) {
        void *d_V_elems = NULL;
        CUDA_CHECK(cudaMalloc(&d_V_elems, m * n * c->v_size));
        if (problem->V)
            c->d_V = d_V_elems;
        else
            c->d_V8 = d_V_elems;
        CUDA_CHECK(upload_V(problem, V_host, d_V_elems, c->v_size, c->stream));
        if (problem->mask) /* never streamed: a masked V is held in memory (nmf_params_check) */
            CUDA_CHECK(cudaMemcpyAsync(c->d_mask, problem->mask, m * n, cudaMemcpyHostToDevice,
                                       c->stream));
        CUDA_CHECK(nmf_cuda_norm_sq(device_V(c), c->v_size, c->d_mask, m * n, c->d_partial,
                                    c->d_sums + SUM_NORM_V, c->stream));
        goto cleanup;
    }
    const size_t slot_bytes = c->block_rows * n * c->v_size;
    CUDA_CHECK(cudaStreamCreateWithFlags(&c->copy_stream, cudaStreamNonBlocking));
    for (int i = 0; i < 2; i++) {
        CUDA_CHECK(cudaMalloc(&c->d_slot[i], slot_bytes));
        CUDA_CHECK(cudaEventCreateWithFlags(&c->copied[i], cudaEventDisableTiming));
        CUDA_CHECK(cudaEventCreateWithFlags(&c->consumed[i], cudaEventDisableTiming));
    }
    /* Pinned in place, V's blocks are copied at the bus's speed with no
     * host copy; a V mapped from disk would then be pinned whole, so it
     * goes through the buffers, as does any V the driver cannot pin. */
    if (!problem->stream_block &&
        cudaHostRegister((void *)(uintptr_t)V_host, m * n * c->v_size, cudaHostRegisterDefault) ==
            cudaSuccess)
        c->V_registered = 1;
    else
        cudaGetLastError(); /* a refused registration: the buffers instead */
    for (int i = 0; i < 2 && !c->V_registered; i++)
        CUDA_CHECK(cudaMallocHost(&c->h_slot[i], slot_bytes));
    c->h_sums[SUM_NORM_V] = nmf_problem_norm_sq(problem);
    CUDA_CHECK(cudaMemcpyAsync(c->d_sums + SUM_NORM_V, c->h_sums + SUM_NORM_V, sizeof(double),
                               cudaMemcpyHostToDevice, c->stream));
cleanup:
    return st;
}

static nmf_status cuda_init(void **ctx, const nmf_problem *problem, const nmf_params *params,
                            const float *W0, const float *H0)
{
    nmf_status st = NMF_STATUS_OK;
    const size_t m = problem->m, n = problem->n, k = (size_t)params->k;
    cuda_ctx *c = NULL;
    V_layout v = {0, 0};
    int devices = 0;
    /* An error left by an earlier fit in this process (a failed cudaMalloc
     * in one nmf-bench case) would otherwise fail this one's first launch. */
    cudaGetLastError();
    if (m > INT32_MAX || n > INT32_MAX)
        return nmf_error(NMF_STATUS_TOO_LARGE,
                         "%zu x %zu is beyond cuBLAS's 32-bit matrix dimensions", m, n);
    /* Over ranks, each its own GPU while there are as many on its machine
     * (local_rank modulo those it sees); one process, the current one. */
    const nmf_comm *comm = nmf_problem_needs(problem) & NMF_NEEDS_RANKS ? problem->comm : NULL;
    if (comm) {
        CUDA_CHECK(cudaGetDeviceCount(&devices));
        if (devices == 0)
            return nmf_error(NMF_STATUS_NO_DEVICE, "the CUDA runtime sees no devices");
        CUDA_CHECK(cudaSetDevice(comm->local_rank % devices));
    }
    /* The m*n bound above keeps the sizes far from overflowing on 64-bit. */
    if ((st = plan_V(problem, k, params, &v)) != NMF_STATUS_OK)
        goto cleanup;

    if (params->solver == NMF_SOLVER_HALS) {
        /* The sweep keeps the k x k Gram matrix in one block's shared
         * memory; its limit is raised here, once, outside any capture. */
        int device = 0, shared = 0;
        CUDA_CHECK(cudaGetDevice(&device));
        CUDA_CHECK(cudaDeviceGetAttribute(&shared, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
        if (k * k * sizeof(float) > (size_t)shared)
            return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                             "k: %zu is too many for the hals solver on this GPU (its sweep "
                             "holds k² floats in %d bytes of shared memory); hint: the CPU "
                             "device or the mu solver", k, shared);
        CUDA_CHECK(nmf_cuda_hals_prepare(k));
    }
    c = calloc(1, sizeof *c);
    if (!c)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the CUDA backend");
    c->m = m;
    c->n = n;
    c->k = k;
    c->problem = *problem;
    c->comm = comm;
    c->v_size = nmf_problem_element_size(problem);
    c->streamed = v.streamed;
    c->block_rows = v.block_rows;
    c->solver = params->solver;
    c->fixed_H = params->fixed_H;
    c->sweeps_W = params->sweeps_W;
    c->sweeps_H = params->sweeps_H;
    c->track_violation = nmf_hals_rule_on(params);
    c->beta = (float)params->beta;
    c->gamma = nmf_mu_gamma(c->beta);
    c->elementwise = fit_is_elementwise(problem, params);
    c->kl_sums = c->beta == 1.0f && !problem->mask;
    nmf_regularization reg = nmf_regularization_of(problem, params);
    c->l1_W = (float)reg.l1_W;
    c->l2_W = (float)reg.l2_W;
    c->l1_H = (float)reg.l1_H;
    c->l2_H = (float)reg.l2_H;
    CUDA_CHECK(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));
    CUBLAS_CHECK(cublasCreate(&c->blas));
    CUBLAS_CHECK(cublasSetStream(c->blas, c->stream));
    /* fp32 means fp32: no TF32 unless asked for, so GPU and CPU compute the
     * same function. */
    CUBLAS_CHECK(cublasSetMathMode(c->blas, params->precision == NMF_PRECISION_TF32
                                                ? CUBLAS_TF32_TENSOR_OP_MATH
                                                : CUBLAS_DEFAULT_MATH));
    CUDA_CHECK(cudaMalloc(&c->d_workspace, CUBLAS_WORKSPACE_BYTES));
    CUBLAS_CHECK(cublasSetWorkspace(c->blas, c->d_workspace, CUBLAS_WORKSPACE_BYTES));
    const size_t block_floats = V_block_floats(problem, params, v);
    if (block_floats > 0)
        CUDA_CHECK(cudaMalloc((void **)&c->d_V_block, block_floats * sizeof(float)));
    CUDA_CHECK(cudaMalloc((void **)&c->d_W, m * k * sizeof(float)));
    CUDA_CHECK(cudaMalloc((void **)&c->d_H, k * n * sizeof(float)));
    CUDA_CHECK(cudaMalloc((void **)&c->d_HHt, k * k * sizeof(float)));
    c->WtW_span = WtW_span_of(k);
    CUDA_CHECK(cudaMalloc((void **)&c->d_WtW, (c->WtW_span + 2 * k * n) * sizeof(float)));
    CUDA_CHECK(cudaMemsetAsync(c->d_WtW, 0, c->WtW_span * sizeof(float), c->stream)); /* the pad */
    c->d_WtV = c->d_WtW + c->WtW_span;
    c->d_den_H = c->d_WtV + k * n;
    CUDA_CHECK(cudaMalloc((void **)&c->d_VHt, m * k * sizeof(float)));
    CUDA_CHECK(cudaMalloc((void **)&c->d_den_W, m * k * sizeof(float)));
    CUDA_CHECK(cudaMalloc((void **)&c->d_partial, NMF_REDUCE_PARTIALS * sizeof(double)));
    CUDA_CHECK(cudaMalloc((void **)&c->d_sums, SUM_COUNT * sizeof(double)));
    CUDA_CHECK(cudaMallocHost((void **)&c->h_sums, SUM_COUNT * sizeof(double)));
    if (comm) {
        c->reduce_floats = c->WtW_span + 2 * k * n;
        CUDA_CHECK(cudaMallocHost((void **)&c->h_reduce, c->reduce_floats * sizeof(float)));
    }
    const size_t mn = m > n ? m : n;
    if (c->elementwise) {
        CUDA_CHECK(cudaMalloc((void **)&c->d_WH, m * n * sizeof(float)));
        CUDA_CHECK(cudaMalloc((void **)&c->d_R, m * n * sizeof(float)));
    }
    if (c->kl_sums)
        CUDA_CHECK(cudaMalloc((void **)&c->d_sum, k * sizeof(float)));
    if (problem->mask)
        CUDA_CHECK(cudaMalloc((void **)&c->d_mask, m * n));
    if (c->track_violation) {
        CUDA_CHECK(cudaMalloc((void **)&c->d_row_violation, mn * sizeof(double)));
        CUDA_CHECK(cudaMalloc((void **)&c->d_W_mark, m * k * sizeof(float)));
        CUDA_CHECK(cudaMalloc((void **)&c->d_H_mark, k * n * sizeof(float)));
    }
    CUDA_CHECK(cudaEventCreate(&c->timer[0]));
    CUDA_CHECK(cudaEventCreate(&c->timer[1]));

    if ((st = stage_V(c, problem)) != NMF_STATUS_OK)
        goto cleanup;
    CUDA_CHECK(cudaMemcpyAsync(c->d_W, W0, m * k * sizeof(float), cudaMemcpyHostToDevice,
                               c->stream));
    CUDA_CHECK(cudaMemcpyAsync(c->d_H, H0, k * n * sizeof(float), cudaMemcpyHostToDevice,
                               c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    *ctx = c;
    return NMF_STATUS_OK;
cleanup:
    cuda_free(c);
    return st;
}

/* Copies W, H into `to` from `from` (device buffers of the same shapes). */
static nmf_status enqueue_factor_copy(cuda_ctx *c, float *W_to, float *H_to, const float *W_from,
                                      const float *H_from)
{
    nmf_status st = NMF_STATUS_OK;
    CUDA_CHECK(cudaMemcpyAsync(W_to, W_from, c->m * c->k * sizeof(float),
                               cudaMemcpyDeviceToDevice, c->stream));
    CUDA_CHECK(cudaMemcpyAsync(H_to, H_from, c->k * c->n * sizeof(float),
                               cudaMemcpyDeviceToDevice, c->stream));
cleanup:
    return st;
}

static nmf_status cuda_iterate(void *ctx, int n_iter)
{
    cuda_ctx *c = ctx;
    nmf_status st = NMF_STATUS_OK;
    if (n_iter > GRAPH_ITERATIONS)
        return nmf_error(NMF_STATUS_INTERNAL, "iterate: %d iterations in one call, at most %d",
                         n_iter, GRAPH_ITERATIONS);
    st = sum_norm_V(c, st);
    if (st == NMF_STATUS_OK && c->track_violation)
        st = enqueue_factor_copy(c, c->d_W_mark, c->d_H_mark, c->d_W, c->d_H);
    /* The first 10 run eagerly, so that cuBLAS's one-time set-up (its
     * kernels' loading, heuristics) happens outside stream capture; the
     * graph replays from the second 10 on. Over ranks (sums through the
     * host) and for a streamed V (blocks the host stages) every iteration
     * is eager; a rank goes through every iteration's sums even after its
     * own failure, and the ranks agree on the last steps' at the end. */
    if (n_iter == GRAPH_ITERATIONS && c->eager_runs > 0 && !c->comm && !c->streamed) {
        if (st == NMF_STATUS_OK && !c->graph)
            st = capture_graph(c);
        if (st != NMF_STATUS_OK)
            goto cleanup;
        CUDA_CHECK(cudaGraphLaunch(c->graph, c->stream));
    } else {
        c->eager_runs += n_iter == GRAPH_ITERATIONS;
        for (int it = 0; it < n_iter && (st == NMF_STATUS_OK || c->comm); it++)
            st = enqueue_iteration(c, it, st);
        if (c->comm)
            st = nmf_comm_agree(c->comm, st);
    }
    /* MU and HALS iterations end with WtV and WtW of the current W; the
     * beta-MU iteration leaves other products in those buffers, and a
     * transform's (fixed H) makes neither. */
    c->WtV_valid = !c->elementwise && !c->fixed_H;
cleanup:
    return st;
}

/* sqrt(2·D_beta(V || WH)) from WH in one reduction: scikit-learn's error
 * for beta != 2, and with beta = 2 the Frobenius norm of V - WH (over the
 * observed entries of a masked V). */
static nmf_status beta_loss(cuda_ctx *c, nmf_status st, float beta, double *error)
{
    double divergence = NAN;
    if (st != NMF_STATUS_OK)
        goto cleanup;
    CUBLAS_CHECK(gemm_rm(c->blas, CUBLAS_OP_N, CUBLAS_OP_N, c->m, c->n, c->k, c->d_W, c->k,
                         c->d_H, c->n, c->d_WH, c->n));
    CUDA_CHECK(nmf_cuda_beta_divergence(device_V(c), c->v_size, c->d_mask, c->d_WH, c->m * c->n,
                                        beta, c->d_partial, c->d_sums + SUM_LOSS, c->stream));
    if ((st = read_sums(c, SUM_LOSS, 1)) == NMF_STATUS_OK)
        divergence = c->h_sums[SUM_LOSS];
cleanup:
    /* This rank's rows' share, summed over the ranks. */
    if ((st = sum_doubles_over_ranks(c, st, &divergence, 1)) != NMF_STATUS_OK)
        return st;
    if (divergence < 0.0) /* rounding; a NaN stays NaN, as on the CPU */
        divergence = 0.0;
    *error = sqrt(2.0 * divergence);
    return st;
}

/* ||V||² - 2<WᵀV, H> + <WᵀW, HHᵀ> on the device, WᵀV and WᵀW made (and
 * summed over the ranks) when the last iteration left none; after the
 * status st so far, the sum made whatever it is. */
static nmf_status frobenius_loss(cuda_ctx *c, nmf_status st, double *error)
{
    const size_t n = c->n, k = c->k;
    const cublasStatus_t gram = st != NMF_STATUS_OK
                                    ? CUBLAS_STATUS_SUCCESS
                                    : gemm_rm(c->blas, CUBLAS_OP_N, CUBLAS_OP_T, k, k, n, c->d_H,
                                              n, c->d_H, n, c->d_HHt, k);
    if (gram != CUBLAS_STATUS_SUCCESS)
        st = nmf_cublas_report(gram, "gemm_rm(H Hᵀ)", __FILE__, __LINE__);
    if (!c->WtV_valid) {
        if ((st = enqueue_W_products(c, st)) != NMF_STATUS_OK)
            goto cleanup;
        c->WtV_valid = 1;
    }
    if (st != NMF_STATUS_OK)
        goto cleanup;
    CUDA_CHECK(nmf_cuda_dot(c->d_WtV, c->d_H, k * n, c->d_partial, c->d_sums + SUM_CROSS,
                            c->stream));
    CUDA_CHECK(nmf_cuda_dot(c->d_WtW, c->d_HHt, k * k, c->d_partial, c->d_sums + SUM_QUAD,
                            c->stream));
    CUDA_CHECK(nmf_cuda_loss_combine(c->d_sums + SUM_NORM_V, c->d_sums + SUM_CROSS,
                                     c->d_sums + SUM_QUAD, c->d_sums + SUM_LOSS, c->stream));
    /* The loss's one synchronisation per 10 iterations. */
    if ((st = read_sums(c, SUM_LOSS, 1)) != NMF_STATUS_OK)
        goto cleanup;
    *error = sqrt(c->h_sums[SUM_LOSS]);
cleanup:
    return st;
}

/* sqrt(2·D_beta(V || WH)): an element-wise fit's from its m x n WH buffer,
 * a Frobenius fit's (beta 2) from its products. The losses go on through
 * their sums after a failure of ||V||²'s, as the other ranks do. */
static nmf_status loss_at(cuda_ctx *c, float beta, double *error)
{
    nmf_status st = sum_norm_V(c, NMF_STATUS_OK);
    return c->elementwise ? beta_loss(c, st, beta, error) : frobenius_loss(c, st, error);
}

static nmf_status cuda_loss(void *ctx, double *error)
{
    cuda_ctx *c = ctx;
    return loss_at(c, c->beta, error);
}

static nmf_status cuda_frobenius(void *ctx, double *error)
{
    return loss_at(ctx, 2.0f, error);
}

/* The block's violations: one synchronisation per 10 iterations; W's
 * sweeps' summed over the ranks (H is every rank's alike). */
static nmf_status cuda_violations(void *ctx, double *out, int n)
{
    cuda_ctx *c = ctx;
    if (!c->track_violation || n > GRAPH_ITERATIONS)
        return nmf_error(NMF_STATUS_INTERNAL, "violations: not recorded for this fit");
    double W_part[GRAPH_ITERATIONS] = {0};
    nmf_status st = read_sums(c, SUM_VIOLATIONS, 2 * n);
    for (int i = 0; i < n && st == NMF_STATUS_OK; i++)
        W_part[i] = c->h_sums[SUM_VIOLATIONS + 2 * i];
    if ((st = sum_doubles_over_ranks(c, st, W_part, (size_t)n)) != NMF_STATUS_OK)
        return st;
    for (int i = 0; i < n; i++)
        out[i] = W_part[i] + c->h_sums[SUM_VIOLATIONS + 2 * i + 1];
    return st;
}

static nmf_status cuda_rewind(void *ctx)
{
    cuda_ctx *c = ctx;
    if (!c->track_violation)
        return nmf_error(NMF_STATUS_INTERNAL, "rewind: no factors kept for this fit");
    c->WtV_valid = 0;
    return enqueue_factor_copy(c, c->d_W, c->d_H, c->d_W_mark, c->d_H_mark);
}

static nmf_status cuda_get_factors(void *ctx, float *W, float *H)
{
    cuda_ctx *c = ctx;
    nmf_status st = NMF_STATUS_OK;
    CUDA_CHECK(cudaMemcpyAsync(W, c->d_W, c->m * c->k * sizeof(float), cudaMemcpyDeviceToHost,
                               c->stream));
    CUDA_CHECK(cudaMemcpyAsync(H, c->d_H, c->k * c->n * sizeof(float), cudaMemcpyDeviceToHost,
                               c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
cleanup:
    return st;
}

static nmf_status cuda_reset(void *ctx, const float *W0, const float *H0)
{
    cuda_ctx *c = ctx;
    nmf_status st = NMF_STATUS_OK;
    CUDA_CHECK(cudaMemcpyAsync(c->d_W, W0, c->m * c->k * sizeof(float), cudaMemcpyHostToDevice,
                               c->stream));
    CUDA_CHECK(cudaMemcpyAsync(c->d_H, H0, c->k * c->n * sizeof(float), cudaMemcpyHostToDevice,
                               c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    c->WtV_valid = 0;
    c->H_products_made = 0;
cleanup:
    return st;
}

static nmf_status cuda_timer_start(void *ctx)
{
    cuda_ctx *c = ctx;
    nmf_status st = NMF_STATUS_OK;
    CUDA_CHECK(cudaEventRecord(c->timer[0], c->stream));
cleanup:
    return st;
}

static nmf_status cuda_timer_stop(void *ctx, double *ms)
{
    cuda_ctx *c = ctx;
    nmf_status st = NMF_STATUS_OK;
    float elapsed = 0.0f;
    CUDA_CHECK(cudaEventRecord(c->timer[1], c->stream));
    CUDA_CHECK(cudaEventSynchronize(c->timer[1]));
    CUDA_CHECK(cudaEventElapsedTime(&elapsed, c->timer[0], c->timer[1]));
    *ms = elapsed;
cleanup:
    return st;
}

/* Best of a few timed runs of `call`, enqueued on `stream`, in ms. */
#define BEST_MS(best, stream, call)                                      \
    do {                                                                 \
        (best) = INFINITY;                                               \
        for (int rep_ = 0; rep_ < 4; rep_++) {                           \
            float ms_;                                                   \
            CUDA_CHECK(cudaEventRecord(ev[0], stream));                  \
            call;                                                        \
            CUDA_CHECK(cudaEventRecord(ev[1], stream));                  \
            CUDA_CHECK(cudaEventSynchronize(ev[1]));                     \
            CUDA_CHECK(cudaEventElapsedTime(&ms_, ev[0], ev[1]));        \
            if (rep_ > 0 && ms_ < (best)) /* rep 0 warms up */           \
                (best) = ms_;                                            \
        }                                                                \
    } while (0)

/* The GPU's ceilings: SGEMM and TF32 GEMM of 8192² matrices through cuBLAS,
 * and a 256 MiB device-to-device copy. */
static nmf_status cuda_measure_ceilings(nmf_ceilings *out)
{
    nmf_status st = NMF_STATUS_OK;
    const int size = 8192;
    const size_t len = (size_t)size * size, copy_bytes = (size_t)1 << 30;
    float *d_A = NULL, *d_B = NULL, *d_C = NULL;
    cublasHandle_t blas = NULL;
    cudaStream_t stream = NULL;
    cudaEvent_t ev[2] = {NULL, NULL};
    const float one = 1.0f, zero = 0.0f;
    double sgemm_ms, tf32_ms, copy_ms;
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    CUDA_CHECK(cudaEventCreate(&ev[0]));
    CUDA_CHECK(cudaEventCreate(&ev[1]));
    CUBLAS_CHECK(cublasCreate(&blas));
    CUBLAS_CHECK(cublasSetStream(blas, stream));
    CUDA_CHECK(cudaMalloc((void **)&d_A, len * sizeof(float)));
    CUDA_CHECK(cudaMalloc((void **)&d_B, len * sizeof(float)));
    CUDA_CHECK(cudaMalloc((void **)&d_C, len * sizeof(float)));
    /* Non-zero inputs (every float 0x3c3c3c3c = 0.0115): GEMMs on zeros
     * run faster than on real data and would flatter the ceiling. */
    CUDA_CHECK(cudaMemsetAsync(d_A, 0x3c, len * sizeof(float), stream));
    CUDA_CHECK(cudaMemsetAsync(d_B, 0x3c, len * sizeof(float), stream));
    CUBLAS_CHECK(cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH));
    BEST_MS(sgemm_ms, stream, CUBLAS_CHECK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, size, size, size, &one, d_A, size, d_B, size, &zero, d_C, size)));
    CUBLAS_CHECK(cublasSetMathMode(blas, CUBLAS_TF32_TENSOR_OP_MATH));
    BEST_MS(tf32_ms, stream, CUBLAS_CHECK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, size, size, size, &one, d_A, size, d_B, size, &zero, d_C, size)));
    /* One whole 256 MiB buffer into another (copy_bytes caps it at 1 GiB). */
    const size_t copied = copy_bytes < len * sizeof(float) ? copy_bytes : len * sizeof(float);
    BEST_MS(copy_ms, stream, CUDA_CHECK(cudaMemcpyAsync(d_C, d_A, copied, cudaMemcpyDeviceToDevice, stream)));
    double flops = 2.0 * size * size * (double)size;
    *out = (nmf_ceilings){.sgemm_gflops = flops / sgemm_ms / 1e6,
                          .sgemm_size = size,
                          .tf32_gflops = flops / tf32_ms / 1e6,
                          .copy_gbps = 2.0 * (double)copied / copy_ms / 1e6};
cleanup:
    CUDA_FREE(d_A);
    CUDA_FREE(d_B);
    CUDA_FREE(d_C);
    if (blas)
        cublasDestroy(blas);
    for (int i = 0; i < 2; i++)
        if (ev[i])
            cudaEventDestroy(ev[i]);
    if (stream)
        cudaStreamDestroy(stream);
    return st;
}

static void cuda_device_info(nmf_device_info *out)
{
    struct cudaDeviceProp prop;
    int driver = 0, runtime = 0;
    memset(out, 0, sizeof *out);
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    snprintf(out->driver, sizeof out->driver, "%d.%d", driver / 1000, driver % 1000 / 10);
    snprintf(out->runtime, sizeof out->runtime, "%d.%d", runtime / 1000, runtime % 1000 / 10);
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) {
        snprintf(out->name, sizeof out->name, "%s (sm_%d%d)", prop.name, prop.major, prop.minor);
        out->memory_gb = (double)prop.totalGlobalMem / 1e9;
    }
}

static const nmf_bench_hooks cuda_bench = {
    .reset = cuda_reset,
    .timer_start = cuda_timer_start,
    .timer_stop = cuda_timer_stop,
    .measure_ceilings = cuda_measure_ceilings,
    .device_info = cuda_device_info,
};

const nmf_backend nmf_backend_cuda = {
    .name = "cuda",
    .device = NMF_DEVICE_GPU,
    .precisions = 1u << NMF_PRECISION_FP32 | 1u << NMF_PRECISION_TF32,
    .meets = NMF_NEEDS_MASK | NMF_NEEDS_RANKS,
    .device_count = cuda_device_count,
    .describe = cuda_describe,
    .init = cuda_init,
    .iterate = cuda_iterate,
    .violations = cuda_violations,
    .rewind = cuda_rewind,
    .loss = cuda_loss,
    .frobenius = cuda_frobenius,
    .get_factors = cuda_get_factors,
    .free = cuda_free,
    .bench = &cuda_bench,
};
