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

static inline int test_exit(void)
{
    printf("%d checks, %d failed\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}

#endif
