/* sgemm_variants.c - see sgemm_variants.h. The executable's own
 * cblas_sgemm/cblas_ssyrk take precedence over the shared OpenBLAS's for
 * the whole program, the static library's calls included; the real ones
 * are found with dlsym(RTLD_NEXT). */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "sgemm_variants.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int current = SGEMM_OPENBLAS;

void sgemm_variant_set(int variant) { current = variant; }
void sgemm_variant_reset(void) { current = SGEMM_OPENBLAS; }

const char *sgemm_variant_name(int variant)
{
    static const char *const names[] = {
        "OpenBLAS SGEMM",
        "double-accumulating SGEMM",
        "chunked fp32 SGEMM",
        "TF32-input chunked SGEMM",
        "SGEMM that skips C's last row",
        "SGEMM with one element 1% off",
    };
    return variant >= 0 && variant <= SGEMM_DEFECT_ELEMENT ? names[variant] : "?";
}

typedef void sgemm_fn(const enum CBLAS_ORDER, const enum CBLAS_TRANSPOSE,
                      const enum CBLAS_TRANSPOSE, const blasint, const blasint, const blasint,
                      const float, const float *, const blasint, const float *, const blasint,
                      const float, float *, const blasint);
typedef void ssyrk_fn(const enum CBLAS_ORDER, const enum CBLAS_UPLO, const enum CBLAS_TRANSPOSE,
                      const blasint, const blasint, const float, const float *, const blasint,
                      const float, float *, const blasint);

/* The next definition of `name` (OpenBLAS's) into *fn; through memcpy,
 * since ISO C has no cast from dlsym's void * to a function pointer. */
static void find_real(const char *name, void *fn, size_t size)
{
    void *found = dlsym(RTLD_NEXT, name);
    if (!found || size != sizeof found) {
        fprintf(stderr, "sgemm_variants: no %s after this one: %s\n", name, dlerror());
        abort();
    }
    memcpy(fn, &found, size);
}

/* TF32 keeps 10 of fp32's 23 mantissa bits; truncating (rather than
 * rounding) is the coarser of the two conversions hardware uses. */
static float to_tf32(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits &= ~(uint32_t)0x1fff;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* A scratch array of len floats; a test scaffold has nowhere to report a
 * failed allocation, so it stops the test. */
static float *floats(size_t len)
{
    float *x = malloc((len ? len : 1) * sizeof *x);
    if (!x) {
        fprintf(stderr, "sgemm_variants: out of memory\n");
        abort();
    }
    return x;
}

/* op(X) (rows, cols) packed row-major: entry (i, p) of op(X) is
 * X[i*ld + p] untransposed, X[p*ld + i] transposed; TF32-truncated when
 * asked. */
static float *pack(const float *X, int transposed, size_t rows, size_t cols, size_t ld, int tf32)
{
    float *P = floats(rows * cols);
    for (size_t i = 0; i < rows; i++)
        for (size_t p = 0; p < cols; p++) {
            float x = transposed ? X[p * ld + i] : X[i * ld + p];
            P[i * cols + p] = tf32 ? to_tf32(x) : x;
        }
    return P;
}

/* Rows of C are made ROWS at a time, TILE columns at a time, so that each
 * row of B's tile is read once for ROWS rows and the partial sums stay in
 * the L1 cache. */
#define ROWS 4
#define TILE 128

/* Rows i0..i0+rows-1 of A (M, K) times columns j0..j0+cols-1 of B (K, N),
 * into out (rows, TILE): every element summed over p = 0..K-1 in the
 * variant's order, the inner loops running across columns so that they
 * vectorise.
 *   double: one double sum per element, p in order.
 *   chunked: per 64-element chunk of p, four fp32 partial sums (p into
 *     sum p % 4), the chunk's (s0 + s1) + (s2 + s3) added to a fp32 total. */
static void product_tile(const float *A, size_t K, const float *B, size_t N, size_t rows,
                         size_t j0, size_t cols, float out[ROWS][TILE])
{
    if (current == SGEMM_DOUBLE) {
        double d[ROWS][TILE] = {{0.0}};
        for (size_t p = 0; p < K; p++) {
            const float *b = B + p * N + j0;
            for (size_t r = 0; r < rows; r++) {
                const double a = A[r * K + p];
                for (size_t j = 0; j < cols; j++)
                    d[r][j] += a * b[j];
            }
        }
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < cols; j++)
                out[r][j] = (float)d[r][j];
        return;
    }
    for (size_t r = 0; r < rows; r++)
        for (size_t j = 0; j < cols; j++)
            out[r][j] = 0.0f;
    for (size_t c = 0; c < K; c += 64) {
        const size_t end = c + 64 < K ? c + 64 : K;
        float s[ROWS][4][TILE] = {{{0.0f}}};
        for (size_t p = c; p < end; p++) {
            const float *b = B + p * N + j0;
            for (size_t r = 0; r < rows; r++) {
                const float a = A[r * K + p];
                float *sl = s[r][p % 4];
                for (size_t j = 0; j < cols; j++)
                    sl[j] += a * b[j];
            }
        }
        for (size_t r = 0; r < rows; r++)
            for (size_t j = 0; j < cols; j++)
                out[r][j] += (s[r][0][j] + s[r][1][j]) + (s[r][2][j] + s[r][3][j]);
    }
}

/* C (M, N) = alpha·A·B + beta·C with A (M, K) and B (K, N) packed;
 * upper/lower: only C's upper (j >= i) or lower (j <= i) triangle is
 * written. */
static void product(size_t M, size_t N, size_t K, float alpha, const float *A, const float *B,
                    float beta, float *C, size_t ldc, int upper, int lower)
{
    const size_t row_blocks = (M + ROWS - 1) / ROWS, tiles = (N + TILE - 1) / TILE;
    /* Tiles are independent: each element's order is fixed within its tile. */
    #pragma omp parallel for schedule(dynamic)
    for (size_t t = 0; t < row_blocks * tiles; t++) {
            const size_t i0 = t / tiles * ROWS, j0 = t % tiles * TILE;
            const size_t rows = M - i0 < ROWS ? M - i0 : ROWS;
            const size_t cols = N - j0 < TILE ? N - j0 : TILE;
            float out[ROWS][TILE];
            product_tile(A + i0 * K, K, B, N, rows, j0, cols, out);
            for (size_t r = 0; r < rows; r++) {
                const size_t i = i0 + r;
                for (size_t j = j0; j < j0 + cols; j++) {
                    if ((upper && j < i) || (lower && j > i))
                        continue;
                    float *c = &C[i * ldc + j];
                    *c = alpha * out[r][j - j0] + (beta == 0.0f ? 0.0f : beta * *c);
                }
            }
        }
}

static int computes_itself(void)
{
    return current == SGEMM_DOUBLE || current == SGEMM_CHUNKED || current == SGEMM_TF32;
}

static void require_row_major(enum CBLAS_ORDER order)
{
    if (order != CblasRowMajor) {
        fprintf(stderr, "sgemm_variants: row-major only\n");
        abort();
    }
}

void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta,
                 const enum CBLAS_TRANSPOSE tb, const blasint M, const blasint N, const blasint K,
                 const float alpha, const float *A, const blasint lda, const float *B,
                 const blasint ldb, const float beta, float *C, const blasint ldc)
{
    if (!computes_itself()) {
        static sgemm_fn *openblas;
        if (!openblas)
            find_real("cblas_sgemm", &openblas, sizeof openblas);
        float *last_row = NULL;
        if (current == SGEMM_DEFECT_EDGE && M > 0) {
            last_row = floats((size_t)N);
            memcpy(last_row, C + (size_t)(M - 1) * ldc, (size_t)N * sizeof *last_row);
        }
        openblas(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        if (last_row) {
            memcpy(C + (size_t)(M - 1) * ldc, last_row, (size_t)N * sizeof *last_row);
            free(last_row);
        }
        if (current == SGEMM_DEFECT_ELEMENT && M > 0 && N > 0) {
            /* Somewhere else on every call, as a race would strike: the
             * same element in an update's numerator and denominator (two
             * products of one shape) would cancel in their ratio. */
            static size_t calls;
            size_t at = (calls++ * 7919u) % ((size_t)M * (size_t)N);
            C[at / (size_t)N * (size_t)ldc + at % (size_t)N] *= 1.01f;
        }
        return;
    }
    require_row_major(order);
    const int tf32 = current == SGEMM_TF32;
    float *Ap = pack(A, ta == CblasTrans, (size_t)M, (size_t)K, (size_t)lda, tf32);
    float *Bp = pack(B, tb == CblasTrans, (size_t)K, (size_t)N, (size_t)ldb, tf32);
    product((size_t)M, (size_t)N, (size_t)K, alpha, Ap, Bp, beta, C, (size_t)ldc, 0, 0);
    free(Ap);
    free(Bp);
}

void cblas_ssyrk(const enum CBLAS_ORDER order, const enum CBLAS_UPLO uplo,
                 const enum CBLAS_TRANSPOSE trans, const blasint N, const blasint K,
                 const float alpha, const float *A, const blasint lda, const float beta, float *C,
                 const blasint ldc)
{
    if (!computes_itself()) {
        static ssyrk_fn *openblas;
        if (!openblas)
            find_real("cblas_ssyrk", &openblas, sizeof openblas);
        openblas(order, uplo, trans, N, K, alpha, A, lda, beta, C, ldc);
        return;
    }
    require_row_major(order);
    /* C = op(A)·op(A)ᵀ with op(A) (N, K): A itself, or Aᵀ for CblasTrans. */
    const int tf32 = current == SGEMM_TF32;
    float *Ap = pack(A, trans == CblasTrans, (size_t)N, (size_t)K, (size_t)lda, tf32);
    float *At = pack(A, trans == CblasNoTrans, (size_t)K, (size_t)N, (size_t)lda, tf32);
    product((size_t)N, (size_t)N, (size_t)K, alpha, Ap, At, beta, C, (size_t)ldc,
            uplo == CblasUpper, uplo == CblasLower);
    free(Ap);
    free(At);
}
