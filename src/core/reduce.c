/* reduce.c - deterministic double-precision sums (see reduce.h). */
#include "reduce.h"

#include <stdint.h>

/* Parts summed in parallel at a time, their sums on the stack; each group's
 * sums are added to the total in part order, so the bits are those of one
 * pass over all the parts' sums. */
#define SUM_GROUP 256

double nmf_sum_parts(size_t parts, nmf_part_sum part_sum, const void *ctx)
{
    double total = 0.0;
    for (size_t first = 0; first < parts; first += SUM_GROUP) {
        const size_t count = parts - first < SUM_GROUP ? parts - first : SUM_GROUP;
        double partial[SUM_GROUP];
        #pragma omp parallel for schedule(static)
        for (size_t g = 0; g < count; g++)
            partial[g] = part_sum(ctx, first + g);
        for (size_t g = 0; g < count; g++)
            total += partial[g];
    }
    return total;
}

#define DOT_BLOCK 4096

typedef struct {
    const float *a, *b;
    size_t len;
} dot_job;

static double dot_block(const void *ctx, size_t block)
{
    const dot_job *d = ctx;
    const size_t lo = block * DOT_BLOCK, hi = lo + DOT_BLOCK < d->len ? lo + DOT_BLOCK : d->len;
    double s = 0.0;
    for (size_t i = lo; i < hi; i++)
        s += (double)d->a[i] * (double)(d->b ? d->b[i] : d->a[i]);
    return s;
}

double nmf_dot_double(const float *a, const float *b, size_t len)
{
    const dot_job d = {a, b, len};
    return nmf_sum_parts((len + DOT_BLOCK - 1) / DOT_BLOCK, dot_block, &d);
}

double nmf_problem_norm_sq(const nmf_problem *problem)
{
    const size_t len = problem->m * problem->n;
    if (problem->V)
        return nmf_dot_double(problem->V, NULL, len);
    uint64_t sum = 0;
    #pragma omp parallel for schedule(static) reduction(+ : sum)
    for (size_t i = 0; i < len; i++)
        sum += (uint64_t)problem->V8[i] * problem->V8[i];
    return (double)sum;
}
