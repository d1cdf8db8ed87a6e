/* test_survey_measures.c - the survey's measures on cases whose answer is
 * known: the stability of restarts that found the same parts (in another
 * order, at another scale) is 1, of disjoint parts 0, of a half-shared set
 * in between as counted by hand; the elbow of a curve that bends once is
 * that k, with none for too few points or a rising curve; the null rule
 * stops at the first step whose residual sum of squares the shuffled
 * data's outfalls. */
#include "survey_measures.h"
#include "test_util.h"

#include <math.h>

#define N 6

static void test_stability(void)
{
    /* Three parts on disjoint pixels; b is a's, reordered and scaled. */
    const float a[3 * N] = {1, 1, 0, 0, 0, 0, /**/ 0, 0, 1, 1, 0, 0, /**/ 0, 0, 0, 0, 1, 1};
    const float b[3 * N] = {0, 0, 0, 0, 5, 5, /**/ 2, 2, 0, 0, 0, 0, /**/ 0, 0, 3, 3, 0, 0};
    const float *same[2] = {a, b};
    CHECK_CLOSE(survey_stability(same, 2, 3, N), 1.0, 1e-12, 0);

    /* Two parts each, on pixels the other never uses. */
    const float c[2 * N] = {1, 0, 0, 0, 0, 0, /**/ 0, 1, 0, 0, 0, 0};
    const float d[2 * N] = {0, 0, 1, 0, 0, 0, /**/ 0, 0, 0, 1, 0, 0};
    const float *apart[2] = {c, d};
    CHECK_CLOSE(survey_stability(apart, 2, 2, N), 0.0, 1e-12, 0);

    /* e shares c's first part; its second is all zero (matches nothing):
     * c's rows match 1 and 0, e's 1 and 0, so 0.5 either way. */
    const float e[2 * N] = {1, 0, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 0, 0};
    const float *half[2] = {c, e};
    CHECK_CLOSE(survey_stability(half, 2, 2, N), 0.5, 1e-12, 0);

    /* Three restarts: pairs (c, c) 1, (c, e) 0.5, (c, e) 0.5: mean 2/3. */
    const float *three[3] = {c, c, e};
    CHECK_CLOSE(survey_stability(three, 3, 2, N), 2.0 / 3.0, 1e-12, 0);
}

static void test_elbow(void)
{
    /* Falls steeply to k = 16, then flat: the bend is 16. */
    const int k[6] = {8, 12, 16, 20, 24, 28};
    const double bend[6] = {0.5, 0.3, 0.01, 0.009, 0.008, 0.007};
    CHECK(survey_elbow(k, bend, 6) == 2);
    /* Straight: nothing lies below the line. */
    const double line[6] = {0.6, 0.5, 0.4, 0.3, 0.2, 0.1};
    CHECK(survey_elbow(k, line, 6) == -1);
    /* Rising, and too few points. */
    const double rising[6] = {0.1, 0.2, 0.3, 0.35, 0.4, 0.5};
    CHECK(survey_elbow(k, rising, 6) == -1);
    CHECK(survey_elbow(k, bend, 2) == -1);
    /* Uneven spacing counts: the same errors at k 8, 9, 10, 20, 24, 28
     * bend at 10 (index 2) still, the line being drawn against k. */
    const int uneven[6] = {8, 9, 10, 20, 24, 28};
    CHECK(survey_elbow(uneven, bend, 6) == 2);
}

static void test_null_crossing(void)
{
    const double err[5] = {0.5, 0.3, 0.1, 0.09, 0.08};
    const double null_err[5] = {0.9, 0.88, 0.86, 0.84, 0.82};
    /* Squared, the steps are 0.16, 0.08, 0.0019 against 0.0356, 0.0348,
     * 0.034: the third is the first below. */
    CHECK(survey_null_crossing(err, null_err, 5) == 2);
    /* The rule compares the RSS, not the error: 0.20 -> 0.15 falls more
     * than 0.80 -> 0.76 (0.05 against 0.04), but its RSS falls less
     * (0.0175 against 0.0624): stop at the first k. */
    const double small[2] = {0.20, 0.15}, large[2] = {0.80, 0.76};
    CHECK(survey_null_crossing(small, large, 2) == 0);
    const double fast_null[5] = {0.9, 0.5, 0.2, 0.1, 0.0};
    CHECK(survey_null_crossing(err, fast_null, 5) == 0);
    const double slow_null[5] = {0.9, 0.9, 0.9, 0.9, 0.9};
    CHECK(survey_null_crossing(err, slow_null, 5) == -1);
    CHECK(survey_null_crossing(err, null_err, 1) == -1);
}

int main(void)
{
    test_stability();
    test_elbow();
    test_null_crossing();
    return test_exit();
}
