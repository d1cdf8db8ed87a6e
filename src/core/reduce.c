/* reduce.c - deterministic double-precision sums (see reduce.h). */
#include "reduce.h"


#define SUM_BLOCK 4096
/* Blocks summed in parallel at a time, their partials on the stack; the
 * partials are then added to the total in block order, so the bits are
 * those of one pass over all the blocks' partials. */
#define SUM_GROUP 256

double nmf_dot_double(const float *a, const float *b, size_t len)
{
    const size_t n_blocks = (len + SUM_BLOCK - 1) / SUM_BLOCK;
    double total = 0.0;
    for (size_t first = 0; first < n_blocks; first += SUM_GROUP) {
        const size_t count = n_blocks - first < SUM_GROUP ? n_blocks - first : SUM_GROUP;
        double partial[SUM_GROUP];
        #pragma omp parallel for schedule(static)
        for (size_t g = 0; g < count; g++) {
            size_t lo = (first + g) * SUM_BLOCK, hi = lo + SUM_BLOCK < len ? lo + SUM_BLOCK : len;
            double s = 0.0;
            for (size_t i = lo; i < hi; i++)
                s += (double)a[i] * (double)(b ? b[i] : a[i]);
            partial[g] = s;
        }
        for (size_t g = 0; g < count; g++)
            total += partial[g];
    }
    return total;
}
