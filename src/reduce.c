/* reduce.c - deterministic double-precision sums (see reduce.h). */
#include "reduce.h"

#include <math.h>
#include <stdlib.h>

#define SUM_BLOCK 4096

double nmf_dot_double(const float *a, const float *b, size_t len)
{
    size_t n_blocks = (len + SUM_BLOCK - 1) / SUM_BLOCK;
    double *partial = malloc((n_blocks ? n_blocks : 1) * sizeof *partial);
    if (!partial)
        return NAN;
    #pragma omp parallel for schedule(static)
    for (size_t blk = 0; blk < n_blocks; blk++) {
        size_t lo = blk * SUM_BLOCK, hi = lo + SUM_BLOCK < len ? lo + SUM_BLOCK : len;
        double s = 0.0;
        for (size_t i = lo; i < hi; i++)
            s += (double)a[i] * (double)(b ? b[i] : a[i]);
        partial[blk] = s;
    }
    double total = 0.0;
    for (size_t blk = 0; blk < n_blocks; blk++)
        total += partial[blk];
    free(partial);
    return total;
}
