/* sgemm_variants.h - cblas_sgemm and cblas_ssyrk interposed in one test
 * executable (test_gpu_tolerances): linked into it, they take the place of
 * OpenBLAS's for every call the library makes, and do what the current
 * variant says. Row-major only, as the library calls them.
 *
 * The correct variants compute the same product as OpenBLAS in another
 * order, as another correct backend (cuBLAS on a GPU) would; the defects
 * are the kind of bug a GPU kernel has, for the checks to catch. */
#ifndef NMF_SGEMM_VARIANTS_H
#define NMF_SGEMM_VARIANTS_H

typedef enum {
    SGEMM_OPENBLAS,      /* the real one (passed through) */
    SGEMM_DOUBLE,        /* every dot product accumulated in double */
    SGEMM_CHUNKED,       /* fp32 over 64-element chunks of 4 interleaved
                            partial sums each, as GPU tiles add */
    SGEMM_TF32,          /* SGEMM_CHUNKED on inputs truncated to TF32's 10
                            mantissa bits, as tensor cores multiply */
    SGEMM_DEFECT_EDGE,   /* OpenBLAS, but the last row of C is never written
                            (a tile-edge bug: stale values stay) */
    SGEMM_DEFECT_ELEMENT /* OpenBLAS, but one element of C, another on each
                            call, is 1% off */
} sgemm_variant;

/* The variant every following call uses (SGEMM_OPENBLAS at start). */
void sgemm_variant_set(int variant);
void sgemm_variant_reset(void);
const char *sgemm_variant_name(int variant);

#endif
