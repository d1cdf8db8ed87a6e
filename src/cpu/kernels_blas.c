/* kernels_blas.c - the "blas" table (see kernels.h): its products as
 * CBLAS SGEMMs, the reference the vector tables are checked against, and
 * the one the GPU tolerance test interposes its stand-in SGEMMs under. */
#include "kernels.h"

#include <cblas.h>

static void blas_dots(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                      size_t ldb, float *C, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)k, (int)n, 1.0f, A,
                (int)lda, B, (int)ldb, 0.0f, C, (int)ldc);
}

static void blas_outer(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                       size_t ldb, float *D, size_t ldd)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)n, (int)m, 1.0f, A,
                (int)lda, B, (int)ldb, 0.0f, D, (int)ldd);
}

static void blas_outer_add(size_t m, size_t k, size_t n, const float *A, size_t lda,
                           const float *B, size_t ldb, float *D, size_t ldd)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)n, (int)m, 1.0f, A,
                (int)lda, B, (int)ldb, 1.0f, D, (int)ldd);
}

static void blas_times(size_t m, size_t k, size_t n, const float *A, size_t lda, const float *B,
                       size_t ldb, float *C, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1.0f, A,
                (int)lda, B, (int)ldb, 0.0f, C, (int)ldc);
}

static void blas_gram(size_t k, size_t n, const float *A, size_t lda, float *G)
{
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)k, (int)n, 1.0f, A, (int)lda, 0.0f,
                G, (int)k);
    for (size_t i = 0; i < k; i++)
        for (size_t t = 0; t < i; t++)
            G[i * k + t] = G[t * k + i];
}

const nmf_cpu_kernels nmf_cpu_kernels_blas = {
    .name = "blas",
    .needs = "nothing beyond the BLAS",
    .fma_loop = NULL,
    .dots = blas_dots,
    .outer = blas_outer,
    .outer_add = blas_outer_add,
    .times = blas_times,
    .gram = blas_gram,
};
