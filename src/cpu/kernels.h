/* kernels.h - internal: the CPU backend's product shapes, the whole
 * floating-point work of a Frobenius MU or HALS iteration, as a table per
 * instruction set chosen at run time from the CPU's features.
 *
 *   dots:  C (m, k) = A (m, n) · B (k, n)ᵀ   C[i][t] = Σ_j A[i][j] B[t][j]
 *          V Hᵀ and H Hᵀ
 *   outer: D (k, n) = A (m, k)ᵀ · B (m, n)   D[t][j] = Σ_i A[i][t] B[i][j]
 *          Wᵀ V, Wᵀ W, and G·H for a symmetric G (WᵀW); outer_add adds
 *          the product to D (V's row blocks summed one after another)
 *   times: C (m, n) = A (m, k) · B (k, n)    C[i][j] = Σ_t A[i][t] B[t][j]
 *          W·HHᵀ, and W·H for the other β
 *
 * Rows are `ld` floats apart. Each output element is summed by one thread in
 * an order fixed by the table alone, so the bits depend on the table, never
 * on the thread count. kernels.c is one source compiled once per table
 * (NMF_ISA); "blas" is the same two shapes through CBLAS, the reference the
 * others are checked against (tests/test_kernels.c). */
#ifndef NMF_KERNELS_H
#define NMF_KERNELS_H

#include "nmf/nmf.h"

#include <stddef.h>

typedef void (*nmf_dots_fn)(size_t m, size_t k, size_t n, const float *A, size_t lda,
                            const float *B, size_t ldb, float *C, size_t ldc);
typedef void (*nmf_outer_fn)(size_t m, size_t k, size_t n, const float *A, size_t lda,
                             const float *B, size_t ldb, float *D, size_t ldd);

typedef void (*nmf_times_fn)(size_t m, size_t k, size_t n, const float *A, size_t lda,
                             const float *B, size_t ldb, float *C, size_t ldc);

/* The same with V's operand in bytes (8-bit data, exact as floats): A for
 * dots (V Hᵀ), B for outer (Wᵀ V). The results are the float versions' bits. */
typedef void (*nmf_dots_bytes_fn)(size_t m, size_t k, size_t n, const unsigned char *A,
                                  size_t lda, const float *B, size_t ldb, float *C, size_t ldc);
typedef void (*nmf_outer_bytes_fn)(size_t m, size_t k, size_t n, const float *A, size_t lda,
                                   const unsigned char *B, size_t ldb, float *D, size_t ldd);

typedef struct {
    const char *name;     /* "avx512", "avx2", "generic" (16-byte vectors: SSE2 on x86-64) or "blas" */
    const char *needs;    /* the CPU features it needs, for messages */
    nmf_dots_fn dots;
    nmf_outer_fn outer;
    nmf_outer_fn outer_add; /* D += Aᵀ B */
    nmf_times_fn times;
    nmf_dots_bytes_fn dots_bytes;   /* NULL for blas */
    /* G (k, k) = A Aᵀ for A (k, n), rows lda apart: dots of A with itself,
     * half of it computed, both halves filled (the same bits as dots). */
    void (*gram)(size_t k, size_t n, const float *A, size_t lda, float *G);
    nmf_outer_bytes_fn outer_bytes; /* NULL for blas */
    nmf_outer_bytes_fn outer_bytes_add; /* D += Aᵀ B; NULL for blas */
    /* For the benchmark's ceiling: runs `iters` steps of the table's own
     * vector multiply-adds from registers alone and returns the flops done
     * (NULL for blas). */
    double (*fma_loop)(long iters);
} nmf_cpu_kernels;

extern const nmf_cpu_kernels nmf_cpu_kernels_blas;
#if defined(__x86_64__)
extern const nmf_cpu_kernels nmf_cpu_kernels_avx512, nmf_cpu_kernels_avx2;
#endif
extern const nmf_cpu_kernels nmf_cpu_kernels_generic;

/* The table a fit uses: the environment's NMF_CPU_KERNELS (a name above)
 * when set, else the best this CPU runs (AVX-512F, then AVX2 with FMA,
 * then generic). Fails, naming the variable, for an unknown name or a
 * table the CPU cannot run. */
nmf_status nmf_cpu_kernels_select(const nmf_cpu_kernels **out);

/* Whether this CPU (and its OS) runs table t. */
int nmf_cpu_kernels_runs(const nmf_cpu_kernels *t);

/* The best table this CPU runs, whatever NMF_CPU_KERNELS says. */
const nmf_cpu_kernels *nmf_cpu_kernels_best(void);

#endif
