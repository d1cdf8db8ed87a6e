/* kernels.c - dots, outer and times (see kernels.h), written once with GCC
 * vector extensions and compiled once per instruction set: CMake builds this file
 * with NMF_ISA=avx512 (-mavx512f -mfma, 64-byte vectors), NMF_ISA=avx2
 * (-mavx2 -mfma, 32 bytes) and NMF_ISA=generic (the baseline, 16 bytes),
 * each copy defining nmf_cpu_kernels_<NMF_ISA>. -ffp-contract=fast lets
 * a multiply and its add become one FMA where the ISA has it.
 *
 * Register tiles: as many accumulators as the ISA has registers, less the
 * operands, so that each loaded value feeds several FMAs:
 *   outer: TR rows of D by TC vectors of columns; per row i of A and B,
 *          TC loads of B and TR broadcasts of A feed TR·TC FMAs.
 *   times: outer's tile with A read along its rows.
 *   dots:  RI rows of A by RT rows of B; per vector of j, RI + RT loads
 *          feed RI·RT FMAs, the vectors summed across by halves at the end.
 * Work: 2·m·k·n flops either way; bytes: A and B once from memory when the
 * blocks fit the caches (dots blocks j by DOTS_JB so a block of A stays in
 * L1 while it meets every row of B, its partial sums kept as vectors). */
#include "kernels.h"

#include <omp.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

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
/* The dispatch below knows tiles of up to 8 (tr, rt) by 4 (tc, ri). */
_Static_assert(TR <= 8 && RT <= 8 && TC <= 4 && RI <= 4, "tile larger than its dispatch");
#define UP_TO_8(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)
#define DOTS_JB (64 * VF) /* floats of j per block: RI rows of A in 16 KB at most */
/* outer: rows in chunks of OUTER_MC (A's part, 64 KB at k = 64, stays in L2),
 * each meeting OUTER_GROUP panels of TC vectors before the next chunk, so
 * that a chunk of A read once serves 4·TC vectors of columns (measured on
 * 4096² k = 64: 178 -> 188 GFLOP/s against one panel of 128 rows). */
#define OUTER_MC 256
#define OUTER_GROUP 4

#define ALWAYS_INLINE static inline __attribute__((always_inline))
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define KERNELS_NAME CAT(nmf_cpu_kernels_, NMF_ISA)

ALWAYS_INLINE vf load(const float *p) { return *(const vf *)p; }
ALWAYS_INLINE void store(float *p, vf v) { *(vf *)p = v; }
/* x − 0, not 0 + x: the latter is not x for x = −0, so GCC would add in a
 * register and broadcast that instead of broadcasting from memory. */
ALWAYS_INLINE vf splat(float x) { return x - (vf){0}; }

/* V as the kernels read it: floats, or bytes (8-bit images, every value
 * exact in a float) widened in registers, so that a pass over V moves a
 * quarter of the bytes. `bytes` is a constant wherever these are inlined;
 * `at` counts elements. The same values go into the same FMAs either way,
 * so the two give the same bits. */
ALWAYS_INLINE vf widen(const unsigned char *p)
{
    /* GCC 12 widens a vector of bytes element by element; the ISA's own
     * zero-extension does VF at once. */
#if NMF_VEC_BYTES == 64 && defined(__AVX512F__)
    return (vf)_mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
#elif NMF_VEC_BYTES == 32 && defined(__AVX2__)
    return (vf)_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
#elif NMF_VEC_BYTES == 16 && defined(__SSE2__)
    int32_t four;
    memcpy(&four, p, sizeof four);
    const __m128i zero = _mm_setzero_si128();
    const __m128i words = _mm_unpacklo_epi8(_mm_cvtsi32_si128(four), zero);
    return (vf)_mm_cvtepi32_ps(_mm_unpacklo_epi16(words, zero));
#else
    vf v;
    for (int l = 0; l < VF; l++)
        v[l] = (float)p[l];
    return v;
#endif
}

ALWAYS_INLINE vf load_v(const void *base, size_t at, const int bytes)
{
    if (bytes)
        return widen((const unsigned char *)base + at);
    return load((const float *)base + at);
}
ALWAYS_INLINE float elem_v(const void *base, size_t at, const int bytes)
{
    return bytes ? (float)((const unsigned char *)base)[at] : ((const float *)base)[at];
}

/* --- outer: D (k, n) = Aᵀ B ---------------------------------------------- */

/* D[t0 + r][j0 + c·VF ...] for r < tr, c < tc (+)= the sum over rows
 * [0, m) of this chunk, in order; `first` starts from zero. A's element
 * (i, r) of the tile is at i·lda + r·sa, B's (i, j) at b0 + i·ldb + j. */
ALWAYS_INLINE void outer_tile(size_t m, const float *A, size_t lda, size_t sa, const void *B,
                              size_t b0, size_t ldb, float *D, size_t ldd, int first,
                              const int tr, const int tc, const int bytes)
{
    vf acc[8][4]; /* [tr][tc] of it used, in registers */
#pragma GCC unroll 8
    for (int r = 0; r < tr; r++)
#pragma GCC unroll 4
        for (int c = 0; c < tc; c++)
            acc[r][c] = first ? splat(0.0f) : load(D + r * ldd + c * VF);
    for (size_t i = 0; i < m; i++) {
        const float *a = A + i * lda;
        vf bv[4];
#pragma GCC unroll 4
        for (int c = 0; c < tc; c++)
            bv[c] = load_v(B, b0 + i * ldb + c * VF, bytes);
#pragma GCC unroll 8
        for (int r = 0; r < tr; r++) {
            const vf ar = splat(a[r * sa]);
#pragma GCC unroll 4
            for (int c = 0; c < tc; c++)
                acc[r][c] += ar * bv[c];
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < tr; r++)
#pragma GCC unroll 4
        for (int c = 0; c < tc; c++)
            store(D + r * ldd + c * VF, acc[r][c]);
}

/* One tile with tr and tc known to the compiler, so that the accumulators
 * live in registers: a case per (tr, tc) a tile can have. */
ALWAYS_INLINE void outer_block(size_t m, const float *A, size_t lda, size_t sa, const void *B,
                               size_t b0, size_t ldb, float *D, size_t ldd, int first, int tr,
                               int tc, const int bytes)
{
#define OUTER_CASE(r, c)                                                         \
    case (r) * 8 + (c):                                                          \
        outer_tile(m, A, lda, sa, B, b0, ldb, D, ldd, first, r, c, bytes);       \
        break;
#define OUTER_ROW(r) OUTER_CASE(r, 1) OUTER_CASE(r, 2) OUTER_CASE(r, 3) OUTER_CASE(r, 4)
    switch (tr * 8 + tc) { UP_TO_8(OUTER_ROW) }
#undef OUTER_ROW
#undef OUTER_CASE
}

/* outer_of and dots_of are one thread's share, called inside each entry
 * point's own parallel region: GCC outlines a region before it inlines, so
 * a region in here would be one body testing `bytes` in its inner loops;
 * in the callers each body has it as a constant (5-8% faster at k = 64). */
ALWAYS_INLINE void outer_of(size_t m, size_t k, size_t n, const float *A, size_t lda,
                            const void *B, size_t ldb, float *D, size_t ldd, const int bytes,
                            const int add)
{
    const size_t panel = (size_t)TC * VF, full = n / panel, vectors_left = n % panel / VF;
    const size_t panels = full + (vectors_left > 0), vec_end = n / VF * VF;
    /* Tiles of near-equal height: 20 as 7+7+6, not 8+8+4. */
    const size_t tiles = (k + TR - 1) / TR, width = (k + tiles - 1) / tiles;
    const size_t threads = (size_t)omp_get_num_threads(), me = (size_t)omp_get_thread_num();
    if (panels < 2 * threads) {
        /* Too few panels to share (W^T W): deal out (panel, tile) pairs,
         * tiles first, so that a narrow last panel does not idle a thread. */
        #pragma omp for schedule(static, 1) nowait
        for (size_t job = 0; job < panels * tiles; job++) {
            const size_t p = job / tiles, t0 = job % tiles * width, j0 = p * panel;
            const int tc = p < full ? TC : (int)vectors_left;
            const int tr = k - t0 < width ? (int)(k - t0) : (int)width;
            for (size_t i0 = 0; i0 < m; i0 += OUTER_MC) {
                const size_t mc = m - i0 < OUTER_MC ? m - i0 : OUTER_MC;
                outer_block(mc, A + i0 * lda + t0, lda, 1, B, i0 * ldb + j0, ldb,
                            D + t0 * ldd + j0, ldd, i0 == 0 && !add, tr, tc, bytes);
            }
        }
    } else {
        /* Each thread an equal run of panels (86 as 43 + 43, not whole
         * groups: 44 + 42), taken OUTER_GROUP at a time. */
        const size_t mine_end = panels * (me + 1) / threads;
        for (size_t g0 = panels * me / threads; g0 < mine_end; g0 += OUTER_GROUP) {
            const size_t g_end = g0 + OUTER_GROUP < mine_end ? g0 + OUTER_GROUP : mine_end;
            /* Rows in chunks whose part of the panels stays in L1/L2 while
             * every tile of components meets it; A's chunk serves the group. */
            for (size_t i0 = 0; i0 < m; i0 += OUTER_MC) {
                const size_t mc = m - i0 < OUTER_MC ? m - i0 : OUTER_MC;
                for (size_t p = g0; p < g_end; p++) {
                    const size_t j0 = p * panel;
                    const int tc = p < full ? TC : (int)vectors_left;
                    for (size_t t0 = 0; t0 < k; t0 += width) {
                        const int tr = k - t0 < width ? (int)(k - t0) : (int)width;
                        outer_block(mc, A + i0 * lda + t0, lda, 1, B, i0 * ldb + j0, ldb,
                                    D + t0 * ldd + j0, ldd, i0 == 0 && !add, tr, tc, bytes);
                    }
                }
            }
        }
    }
    /* The last n % VF columns, each summed in the same order, all of a row
     * at once (independent sums, not one long chain of dependent adds). */
    #pragma omp for schedule(static) nowait
    for (size_t t = 0; t < k; t++) {
        float s[VF] = {0};
        for (size_t j = vec_end; add && j < n; j++)
            s[j - vec_end] = D[t * ldd + j];
        for (size_t i = 0; i < m; i++)
            for (size_t j = vec_end; j < n; j++)
                s[j - vec_end] += A[i * lda + t] * elem_v(B, i * ldb + j, bytes);
        for (size_t j = vec_end; j < n; j++)
            D[t * ldd + j] = s[j - vec_end];
    }
}

static void outer(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                  size_t ldb, float *D, size_t ldd)
{
    #pragma omp parallel
    outer_of(m, k, n, A, lda, B, ldb, D, ldd, 0, 0);
}

static void outer_add(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                      size_t ldb, float *D, size_t ldd)
{
    #pragma omp parallel
    outer_of(m, k, n, A, lda, B, ldb, D, ldd, 0, 1);
}

static void outer_bytes(size_t m, size_t k, size_t n, const float *A, size_t lda,
                        const unsigned char *B, size_t ldb, float *D, size_t ldd)
{
    #pragma omp parallel
    outer_of(m, k, n, A, lda, B, ldb, D, ldd, 1, 0);
}

static void outer_bytes_add(size_t m, size_t k, size_t n, const float *A, size_t lda,
                            const unsigned char *B, size_t ldb, float *D, size_t ldd)
{
    #pragma omp parallel
    outer_of(m, k, n, A, lda, B, ldb, D, ldd, 1, 1);
}

/* --- times: C (m, n) = A (m, k) · B (k, n), n small --------------------- */

/* W·HHᵀ and W·H: outer's tile with A read along its rows, so that one
 * broadcast of A[i][t] meets tc vectors of B's row t. Each thread takes an
 * equal run of C's rows, in tiles of tr, and walks B in blocks of
 * TIMES_NB vectors of columns, each staying in L2 while every tile meets
 * it. Panels of up to 4 vectors (n = 64 is one), as many rows as leave
 * the tile TR·TC accumulators. */
#define TIMES_NB 16
static void times(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                  size_t ldb, float *C, size_t ldc)
{
    const size_t vectors = n / VF, vec_end = vectors * VF;
    const size_t block = vectors < TIMES_NB ? vectors : TIMES_NB;
    const size_t panels = (block + 3) / 4, tc = panels ? (block + panels - 1) / panels : 1;
    const size_t tr = TR * TC / tc < TR ? TR * TC / tc : TR, tiles = (m + tr - 1) / tr;
    #pragma omp parallel
    {
        const size_t threads = (size_t)omp_get_num_threads(), me = (size_t)omp_get_thread_num();
        const size_t b_begin = tiles * me / threads, b_end = tiles * (me + 1) / threads;
        for (size_t v_block = 0; v_block < vectors; v_block += block) {
            const size_t v_end = v_block + block < vectors ? v_block + block : vectors;
            for (size_t b = b_begin; b < b_end; b++) {
                const size_t i0 = b * tr;
                const int rows = m - i0 < tr ? (int)(m - i0) : (int)tr;
                for (size_t v0 = v_block; v0 < v_end; v0 += tc) {
                    const int cols = v_end - v0 < tc ? (int)(v_end - v0) : (int)tc;
                    outer_block(k, A + i0 * lda, 1, lda, B, v0 * VF, ldb,
                                C + i0 * ldc + v0 * VF, ldc, 1, rows, cols, 0);
                }
            }
        }
        /* The last n % VF columns, one element at a time in the same order. */
        for (size_t i = b_begin * tr; i < m && i < b_end * tr; i++)
            for (size_t j = vec_end; j < n; j++) {
                float s = 0.0f;
                for (size_t t = 0; t < k; t++)
                    s += A[i * lda + t] * B[t * ldb + j];
                C[i * ldc + j] = s;
            }
    }
}

/* The lanes of v summed by halves (a fixed order, log2(VF) dependent adds
 * rather than VF: 2% of dots at k = 64). */
typedef float vf8 __attribute__((vector_size(32), aligned(4)));
typedef float vf4 __attribute__((vector_size(16), aligned(4)));
ALWAYS_INLINE float sum_lanes(vf v)
{
#if VF == 16
    const vf8 h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                  __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
#elif VF == 8
    const vf8 h = v;
#endif
#if VF >= 8
    const vf4 q =
        __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
#else
    const vf4 q = v;
#endif
    return (q[0] + q[2]) + (q[1] + q[3]);
}

/* --- dots: C (m, k) = A Bᵀ ----------------------------------------------- */

/* The partial sums of tile (r, q) are VF lanes, kept as vectors in P (ri·rt
 * vectors, rt apart per r) from one j-block to the next and summed across
 * only at the end, so the cost of that is paid once per element. Over
 * [0, len) of this block: P (+)= Σ_j A[r][j] B[q][j] lane by lane; `first`
 * starts from zero. len is a whole number of vectors. */
ALWAYS_INLINE void dots_tile(size_t len, const void *A, size_t a0, size_t lda, const float *B,
                             size_t ldb, float *P, size_t ldp, int first, const int ri,
                             const int rt, const int bytes)
{
    vf acc[4][8]; /* [ri][rt] of it used, in registers */
#pragma GCC unroll 4
    for (int r = 0; r < ri; r++)
#pragma GCC unroll 8
        for (int q = 0; q < rt; q++)
            acc[r][q] = first ? splat(0.0f) : load(P + (r * ldp + q) * VF);
    for (size_t j = 0; j < len; j += VF) {
        vf av[4];
#pragma GCC unroll 4
        for (int r = 0; r < ri; r++)
            av[r] = load_v(A, a0 + r * lda + j, bytes);
#pragma GCC unroll 8
        for (int q = 0; q < rt; q++) {
            const vf bq = load(B + q * ldb + j);
#pragma GCC unroll 4
            for (int r = 0; r < ri; r++)
                acc[r][q] += av[r] * bq;
        }
    }
#pragma GCC unroll 4
    for (int r = 0; r < ri; r++)
#pragma GCC unroll 8
        for (int q = 0; q < rt; q++)
            store(P + (r * ldp + q) * VF, acc[r][q]);
}

/* One tile with ri and rt known to the compiler (as outer_block). */
ALWAYS_INLINE void dots_block(size_t len, const void *A, size_t a0, size_t lda, const float *B,
                              size_t ldb, float *P, size_t ldp, int first, int ri, int rt,
                              const int bytes)
{
#define DOTS_CASE(r, q)                                                          \
    case (r) * 8 + (q):                                                          \
        dots_tile(len, A, a0, lda, B, ldb, P, ldp, first, r, q, bytes);          \
        break;
#define DOTS_ROW(q) DOTS_CASE(1, q) DOTS_CASE(2, q) DOTS_CASE(3, q) DOTS_CASE(4, q)
    switch (ri * 8 + rt) { UP_TO_8(DOTS_ROW) }
#undef DOTS_ROW
#undef DOTS_CASE
}

/* Components per pass over A's rows: the partials of RI rows by DOTS_KC
 * components, RI·DOTS_KC vectors (16 KB for AVX-512), stay on the stack. */
#define DOTS_KC 64

/* With `upper` (A = B, a Gram matrix), tiles wholly below the diagonal are
 * skipped and that half copied from the other: each element is the same
 * sum of the same products either way. */
ALWAYS_INLINE void dots_of(size_t m, size_t k, size_t n, const void *A, size_t lda,
                           const float *B, size_t ldb, float *C, size_t ldc, const int bytes,
                           const int upper)
{
    const size_t blocks = (m + RI - 1) / RI, vec_n = n / VF * VF;
    /* Blocks dealt round-robin: a Gram's blocks shrink along the diagonal. */
    #pragma omp for schedule(static, 1)
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
                    if (upper && c0 + q0 + (size_t)rt <= i0)
                        continue;
                    dots_block(len, A, i0 * lda + j0, lda, B + (c0 + q0) * ldb + j0, ldb,
                               P + q0 * VF, kc, j0 == 0, ri, rt, bytes);
                }
            }
            /* Across the lanes, then the last n % VF products. */
            for (int r = 0; r < ri; r++)
                for (size_t q = upper && c0 < i0 + r ? i0 + r - c0 : 0; q < kc; q++) {
                    const float *lanes = P + (r * kc + q) * VF, *bq = B + (c0 + q) * ldb;
                    const size_t a_row = (i0 + r) * lda;
                    float s = vec_n > 0 ? sum_lanes(load(lanes)) : 0.0f;
                    for (size_t j = vec_n; j < n; j++)
                        s += elem_v(A, a_row + j, bytes) * bq[j];
                    C[(i0 + r) * ldc + c0 + q] = s;
                }
        }
    }
}

static void dots(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                 size_t ldb, float *C, size_t ldc)
{
    #pragma omp parallel
    dots_of(m, k, n, A, lda, B, ldb, C, ldc, 0, 0);
}

static void dots_bytes(size_t m, size_t k, size_t n, const unsigned char *A, size_t lda,
                       const float *B, size_t ldb, float *C, size_t ldc)
{
    #pragma omp parallel
    dots_of(m, k, n, A, lda, B, ldb, C, ldc, 1, 0);
}

static void gram(size_t k, size_t n, const float *A, size_t lda, float *G)
{
    #pragma omp parallel
    dots_of(k, k, n, A, lda, A, lda, G, k, 0, 1);
    for (size_t i = 0; i < k; i++)
        for (size_t t = 0; t < i; t++)
            G[i * k + t] = G[t * k + i];
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

#if defined(__x86_64__) || defined(__i386__)
#define KEEP_IN_REGISTER(v) __asm__ volatile("" : "+x"(v))
#elif defined(__aarch64__)
#define KEEP_IN_REGISTER(v) __asm__ volatile("" : "+w"(v))
#else
#define KEEP_IN_REGISTER(v) ((void)0)
#endif

static double fma_loop(long iters)
{
    const vf b = splat(0.999f), c = splat(1e-3f);
#define CHAIN_START(i) vf x##i = splat((float)(i));
    FMA_CHAINS(CHAIN_START)
    for (long it = 0; it < iters; it++) {
#define CHAIN_STEP(i) x##i = x##i * b + c; KEEP_IN_REGISTER(x##i);
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
    .outer_add = outer_add,
    .times = times,
    .dots_bytes = dots_bytes,
    .gram = gram,
    .outer_bytes = outer_bytes,
    .outer_bytes_add = outer_bytes_add,
    .fma_loop = fma_loop,
};
