/* kernels.c - dots and outer (see kernels.h), written once with GCC vector
 * extensions and compiled once per instruction set: CMake builds this file
 * with NMF_ISA=avx512 (-mavx512f -mfma, 64-byte vectors), NMF_ISA=avx2
 * (-mavx2 -mfma, 32 bytes) and NMF_ISA=generic (the baseline, 16 bytes),
 * each copy defining nmf_cpu_kernels_<NMF_ISA>. -ffp-contract=fast lets
 * a multiply and its add become one FMA where the ISA has it.
 *
 * Register tiles: as many accumulators as the ISA has registers, less the
 * operands, so that each loaded value feeds several FMAs:
 *   outer: TR rows of D by TC vectors of columns; per row i of A and B,
 *          TC loads of B and TR broadcasts of A feed TR·TC FMAs.
 *   dots:  RI rows of A by RT rows of B; per vector of j, RI + RT loads
 *          feed RI·RT FMAs, the vectors summed across at the end.
 * Work: 2·m·k·n flops either way; bytes: A and B once from memory when the
 * blocks fit the caches (dots blocks j by DOTS_JB so a block of A stays in
 * L1 while it meets every row of B, its partial sums kept as vectors). */
#include "kernels.h"

#include <string.h>

#ifndef NMF_ISA
#error "kernels.c is compiled with NMF_ISA and NMF_VEC_BYTES set (CMakeLists.txt)"
#endif

#define VF (NMF_VEC_BYTES / 4)
/* A vector of VF floats that may sit at any float boundary. */
typedef float vf __attribute__((vector_size(NMF_VEC_BYTES), aligned(4)));

#if NMF_VEC_BYTES == 64 /* 32 registers */
#define TR 8
#define TC 3
#define RI 4
#define RT 6
#else /* 16 registers */
#define TR 4
#define TC 3
#define RI 3
#define RT 4
#endif
#define DOTS_JB (64 * VF) /* floats of j per block: RI rows of A in 16 KB at most */
#define OUTER_MC 128      /* rows per chunk: 128 rows of a TC-vector panel, 24 KB at most */

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define KERNELS_NAME CAT(nmf_cpu_kernels_, NMF_ISA)

ALWAYS_INLINE vf load(const float *p) { return *(const vf *)p; }
ALWAYS_INLINE void store(float *p, vf v) { *(vf *)p = v; }
ALWAYS_INLINE vf splat(float x) { return (vf){0} + x; }

/* --- outer: D (k, n) = Aᵀ B ---------------------------------------------- */

/* D[t0 + r][j0 + c·VF ...] for r < tr, c < tc (+)= the sum over rows
 * [0, m) of this chunk, in order; `first` starts from zero. */
ALWAYS_INLINE void outer_tile(size_t m, const float *A, size_t lda, const float *B, size_t ldb,
                              float *D, size_t ldd, int first, const int tr, const int tc)
{
    vf acc[TR][TC];
#pragma GCC unroll 8
    for (int r = 0; r < tr; r++)
#pragma GCC unroll 3
        for (int c = 0; c < tc; c++)
            acc[r][c] = first ? splat(0.0f) : load(D + r * ldd + c * VF);
    for (size_t i = 0; i < m; i++) {
        const float *a = A + i * lda, *b = B + i * ldb;
        vf bv[TC];
#pragma GCC unroll 3
        for (int c = 0; c < tc; c++)
            bv[c] = load(b + c * VF);
#pragma GCC unroll 8
        for (int r = 0; r < tr; r++) {
            const vf ar = splat(a[r]);
#pragma GCC unroll 3
            for (int c = 0; c < tc; c++)
                acc[r][c] += ar * bv[c];
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < tr; r++)
#pragma GCC unroll 3
        for (int c = 0; c < tc; c++)
            store(D + r * ldd + c * VF, acc[r][c]);
}

/* One tile with tr and tc known to the compiler, so the accumulators live
 * in registers. */
#define OUTER_TR(tc_)                                                          \
    switch (tr) {                                                              \
    case 1: outer_tile(m, A, lda, B, ldb, D, ldd, first, 1, tc_); break;              \
    case 2: outer_tile(m, A, lda, B, ldb, D, ldd, first, 2, tc_); break;              \
    case 3: outer_tile(m, A, lda, B, ldb, D, ldd, first, 3, tc_); break;              \
    case 4: outer_tile(m, A, lda, B, ldb, D, ldd, first, 4, tc_); break;              \
    OUTER_TR_WIDE(tc_)                                                         \
    }
#if TR == 8
#define OUTER_TR_WIDE(tc_)                                                     \
    case 5: outer_tile(m, A, lda, B, ldb, D, ldd, first, 5, tc_); break;              \
    case 6: outer_tile(m, A, lda, B, ldb, D, ldd, first, 6, tc_); break;              \
    case 7: outer_tile(m, A, lda, B, ldb, D, ldd, first, 7, tc_); break;              \
    case 8: outer_tile(m, A, lda, B, ldb, D, ldd, first, 8, tc_); break;
#else
#define OUTER_TR_WIDE(tc_)
#endif

static void outer_block(size_t m, const float *A, size_t lda, const float *B, size_t ldb,
                        float *D, size_t ldd, int first, int tr, int tc)
{
    switch (tc) {
    case 1: OUTER_TR(1) break;
    case 2: OUTER_TR(2) break;
    default: OUTER_TR(3) break;
    }
}

static void outer(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                  size_t ldb, float *D, size_t ldd)
{
    const size_t panel = (size_t)TC * VF, full = n / panel, vectors_left = n % panel / VF;
    const size_t panels = full + (vectors_left > 0), vec_end = n / VF * VF;
    /* Tiles of near-equal height: 20 as 7+7+6, not 8+8+4. */
    const size_t tiles = (k + TR - 1) / TR, width = (k + tiles - 1) / tiles;
    #pragma omp parallel for schedule(static)
    for (size_t p = 0; p < panels; p++) {
        const size_t j0 = p * panel;
        const int tc = p < full ? TC : (int)vectors_left;
        /* Rows in chunks whose part of the panel stays in L1 while every
         * tile of components meets it. */
        for (size_t i0 = 0; i0 < m; i0 += OUTER_MC) {
            const size_t mc = m - i0 < OUTER_MC ? m - i0 : OUTER_MC;
            for (size_t t0 = 0; t0 < k; t0 += width) {
                const int tr = k - t0 < width ? (int)(k - t0) : (int)width;
                outer_block(mc, A + i0 * lda + t0, lda, B + i0 * ldb + j0, ldb,
                            D + t0 * ldd + j0, ldd, i0 == 0, tr, tc);
            }
        }
    }
    /* The last n % VF columns, one element at a time in the same order. */
    for (size_t t = 0; t < k; t++)
        for (size_t j = vec_end; j < n; j++) {
            float s = 0.0f;
            for (size_t i = 0; i < m; i++)
                s += A[i * lda + t] * B[i * ldb + j];
            D[t * ldd + j] = s;
        }
}

/* --- dots: C (m, k) = A Bᵀ ----------------------------------------------- */

/* The partial sums of tile (r, q) are VF lanes, kept as vectors in P (ri·rt
 * vectors, rt apart per r) from one j-block to the next and summed across
 * only at the end, so the cost of that is paid once per element. Over
 * [0, len) of this block: P (+)= Σ_j A[r][j] B[q][j] lane by lane; `first`
 * starts from zero. len is a whole number of vectors. */
ALWAYS_INLINE void dots_tile(size_t len, const float *A, size_t lda, const float *B, size_t ldb,
                             float *P, size_t ldp, int first, const int ri, const int rt)
{
    vf acc[RI][RT];
#pragma GCC unroll 4
    for (int r = 0; r < ri; r++)
#pragma GCC unroll 6
        for (int q = 0; q < rt; q++)
            acc[r][q] = first ? splat(0.0f) : load(P + (r * ldp + q) * VF);
    for (size_t j = 0; j < len; j += VF) {
        vf av[RI];
#pragma GCC unroll 4
        for (int r = 0; r < ri; r++)
            av[r] = load(A + r * lda + j);
#pragma GCC unroll 6
        for (int q = 0; q < rt; q++) {
            const vf bq = load(B + q * ldb + j);
#pragma GCC unroll 4
            for (int r = 0; r < ri; r++)
                acc[r][q] += av[r] * bq;
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < ri; r++)
#pragma GCC unroll 6
        for (int q = 0; q < rt; q++)
            store(P + (r * ldp + q) * VF, acc[r][q]);
}

#define DOTS_RT(ri_)                                                           \
    switch (rt) {                                                              \
    case 1: dots_tile(len, A, lda, B, ldb, P, ldp, first, ri_, 1); break;      \
    case 2: dots_tile(len, A, lda, B, ldb, P, ldp, first, ri_, 2); break;      \
    case 3: dots_tile(len, A, lda, B, ldb, P, ldp, first, ri_, 3); break;      \
    case 4: dots_tile(len, A, lda, B, ldb, P, ldp, first, ri_, 4); break;      \
    DOTS_RT_WIDE(ri_)                                                          \
    }
#if RT == 6
#define DOTS_RT_WIDE(ri_)                                                      \
    case 5: dots_tile(len, A, lda, B, ldb, P, ldp, first, ri_, 5); break;      \
    case 6: dots_tile(len, A, lda, B, ldb, P, ldp, first, ri_, 6); break;
#else
#define DOTS_RT_WIDE(ri_)
#endif

static void dots_block(size_t len, const float *A, size_t lda, const float *B, size_t ldb,
                       float *P, size_t ldp, int first, int ri, int rt)
{
    switch (ri) {
    case 1: DOTS_RT(1) break;
    case 2: DOTS_RT(2) break;
#if RI == 4
    case 3: DOTS_RT(3) break;
    default: DOTS_RT(4) break;
#else
    default: DOTS_RT(3) break;
#endif
    }
}

/* Components per pass over A's rows: the partials of RI rows by DOTS_KC
 * components, RI·DOTS_KC vectors (16 KB for AVX-512), stay on the stack. */
#define DOTS_KC 64

static void dots(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                 size_t ldb, float *C, size_t ldc)
{
    const size_t blocks = (m + RI - 1) / RI, vec_n = n / VF * VF;
    #pragma omp parallel for schedule(static)
    for (size_t b = 0; b < blocks; b++) {
        const size_t i0 = b * RI;
        const int ri = m - i0 < RI ? (int)(m - i0) : RI;
        vf partial[RI * DOTS_KC];
        float *P = (float *)partial;
        for (size_t c0 = 0; c0 < k; c0 += DOTS_KC) {
            const size_t kc = k - c0 < DOTS_KC ? k - c0 : DOTS_KC;
            /* Tiles of near-equal width: 20 as 5+5+5+5, not 6+6+6+2. */
            const size_t tiles = (kc + RT - 1) / RT, width = (kc + tiles - 1) / tiles;
            for (size_t j0 = 0; j0 < vec_n; j0 += DOTS_JB) {
                const size_t len = vec_n - j0 < DOTS_JB ? vec_n - j0 : DOTS_JB;
                for (size_t q0 = 0; q0 < kc; q0 += width) {
                    const int rt = kc - q0 < width ? (int)(kc - q0) : (int)width;
                    dots_block(len, A + i0 * lda + j0, lda, B + (c0 + q0) * ldb + j0, ldb,
                               P + q0 * VF, kc, j0 == 0, ri, rt);
                }
            }
            /* Across the lanes in order, then the last n % VF products. */
            for (int r = 0; r < ri; r++)
                for (size_t q = 0; q < kc; q++) {
                    const float *lanes = P + (r * kc + q) * VF;
                    const float *a = A + (i0 + r) * lda, *bq = B + (c0 + q) * ldb;
                    float s = 0.0f;
                    for (int l = 0; vec_n > 0 && l < VF; l++)
                        s += lanes[l];
                    for (size_t j = vec_n; j < n; j++)
                        s += a[j] * bq[j];
                    C[(i0 + r) * ldc + c0 + q] = s;
                }
        }
    }
}

/* --- the peak this table can reach ------------------------------------- */

/* iters steps of FMA_CHAINS independent multiply-adds of whole vectors, in
 * registers (the empty asm keeps each chain live, so the compiler cannot
 * fold the loop): 2·iters·FMA_CHAINS·VF flops. Enough chains to cover an
 * FMA's latency times the FMA pipes of current cores. */
#if NMF_VEC_BYTES == 64
#define FMA_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define FMA_CHAIN_COUNT 12
#else
#define FMA_CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9)
#define FMA_CHAIN_COUNT 10
#endif

static double fma_loop(long iters)
{
    const vf b = splat(0.999f), c = splat(1e-3f);
#define CHAIN_START(i) vf x##i = splat((float)(i));
    FMA_CHAINS(CHAIN_START)
    for (long it = 0; it < iters; it++) {
#define CHAIN_STEP(i) x##i = x##i * b + c; __asm__ volatile("" : "+x"(x##i));
        FMA_CHAINS(CHAIN_STEP)
    }
    vf sum = splat(0.0f);
#define CHAIN_SUM(i) sum += x##i;
    FMA_CHAINS(CHAIN_SUM)
    (void)sum;
    return 2.0 * (double)iters * FMA_CHAIN_COUNT * VF;
}

const nmf_cpu_kernels KERNELS_NAME = {
#if NMF_VEC_BYTES == 64
    .name = "avx512", .needs = "AVX-512F and FMA",
#elif NMF_VEC_BYTES == 32
    .name = "avx2", .needs = "AVX2 and FMA",
#else
    .name = "generic", .needs = "nothing beyond the baseline",
#endif
    .dots = dots,
    .outer = outer,
    .fma_loop = fma_loop,
};
