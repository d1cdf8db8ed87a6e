/* oracle.h - the float64 reference the tests hold the backends to:
 * ||V - WH||_F computed directly, O(mnk), with no product of the library's.
 * (Summed with an OpenMP reduction: its last bits may follow the thread
 * count, which a reference may.) */
#ifndef NMF_TEST_ORACLE_H
#define NMF_TEST_ORACLE_H

#include "nmf/nmf.h"

#include <math.h>
#include <stddef.h>

static inline double reconstruction_error_f64(const nmf_problem *problem, const float *W,
                                              const float *H, size_t k)
{
    const size_t m = problem->m, n = problem->n;
    double sum = 0.0;
    #pragma omp parallel for reduction(+ : sum) schedule(static)
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double wh = 0.0;
            for (size_t t = 0; t < k; t++)
                wh += (double)W[i * k + t] * (double)H[t * n + j];
            if (!nmf_problem_observed(problem, i * n + j))
                continue; /* a masked problem's error is over its observed entries */
            double d = (double)nmf_problem_value(problem, i * n + j) - wh;
            sum += d * d;
        }
    }
    return sqrt(sum);
}

#endif
