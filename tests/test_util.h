/* test_util.h - the two-macro test harness every test executable uses.
 * The exit code is the verdict: tests return test_exit(), which is 1 when
 * any CHECK failed. TEST_SKIP (77) is CTest's skip code for tests whose
 * prerequisite (a GPU) is missing. */
#ifndef NMF_TEST_UTIL_H
#define NMF_TEST_UTIL_H

#include <math.h>
#include <stdio.h>

#define TEST_SKIP 77

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                          \
    do {                                                                     \
        test_checks++;                                                       \
        if (!(cond)) {                                                       \
            test_failures++;                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
        }                                                                    \
    } while (0)

/* |got - ref| <= atol + rtol*|ref|, NaN/Inf in got always failing. */
#define CHECK_CLOSE(got, ref, atol, rtol)                                        \
    do {                                                                         \
        double g_ = (got), r_ = (ref);                                           \
        test_checks++;                                                           \
        if (!isfinite(g_) || fabs(g_ - r_) > (atol) + (rtol)*fabs(r_)) {         \
            test_failures++;                                                     \
            fprintf(stderr, "%s:%d: CHECK_CLOSE failed: %s = %.10g, want %.10g\n", \
                    __FILE__, __LINE__, #got, g_, r_);                           \
        }                                                                        \
    } while (0)

#include <stdlib.h>

static inline double *to_double(const float *x, size_t len)
{
    double *d = malloc(len * sizeof *d);
    for (size_t i = 0; i < len; i++)
        d[i] = x[i];
    return d;
}

/* Whether every element is >= 0 (NaN is not). */
static inline int all_nonnegative(const float *x, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!(x[i] >= 0.0f))
            return 0;
    return 1;
}

/* Compares got with ref element-wise (|got - ref| <= atol + rtol*|ref|,
 * non-finite always failing) as one CHECK, printing the worst element. */
static inline void check_matrix(const char *name, const float *got, const double *ref,
                                size_t len, double atol, double rtol)
{
    size_t worst = 0, bad = 0;
    double worst_excess = -INFINITY;
    for (size_t i = 0; i < len; i++) {
        double excess = isfinite(got[i]) ? fabs(got[i] - ref[i]) - (atol + rtol * fabs(ref[i]))
                                         : INFINITY;
        bad += excess > 0;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
        }
    }
    test_checks++;
    if (bad) {
        test_failures++;
        fprintf(stderr, "  %s: %zu of %zu elements off; worst [%zu] got %.9g want %.9g\n", name,
                bad, len, worst, (double)got[worst], ref[worst]);
    }
}

static inline int test_exit(void)
{
    printf("%d checks, %d failed\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}

#endif
