/* reduce.c - deterministic double-precision sums (see reduce.h). */
#include "reduce.h"
#include "stream.h"

#include <stdint.h>

/* Parts summed in parallel at a time, their sums on the stack; each group's
 * sums are added to the total in part order, so the bits are those of one
 * pass over all the parts' sums. */
#define SUM_GROUP 256

/* total + the sums of parts [begin, end), added in order: a sum taken in
 * pieces this way has the bits of one taken at once. */
static double sum_parts_onto(double total, size_t begin, size_t end, nmf_part_sum part_sum,
                             const void *ctx)
{
    for (size_t first = begin; first < end; first += SUM_GROUP) {
        const size_t count = end - first < SUM_GROUP ? end - first : SUM_GROUP;
        double partial[SUM_GROUP];
        #pragma omp parallel for schedule(static)
        for (size_t g = 0; g < count; g++)
            partial[g] = part_sum(ctx, first + g);
        for (size_t g = 0; g < count; g++)
            total += partial[g];
    }
    return total;
}

double nmf_sum_parts(size_t parts, nmf_part_sum part_sum, const void *ctx)
{
    return sum_parts_onto(0.0, 0, parts, part_sum, ctx);
}

#define DOT_BLOCK 4096

typedef struct {
    const float *a, *b;
    size_t len;
    const uint8_t *mask; /* or NULL: the entries where it is 0 left out */
} dot_job;

static double dot_block(const void *ctx, size_t block)
{
    const dot_job *d = ctx;
    const size_t lo = block * DOT_BLOCK, hi = lo + DOT_BLOCK < d->len ? lo + DOT_BLOCK : d->len;
    double s = 0.0;
    if (d->mask) {
        for (size_t i = lo; i < hi; i++)
            if (d->mask[i])
                s += (double)d->a[i] * (double)(d->b ? d->b[i] : d->a[i]);
        return s;
    }
    for (size_t i = lo; i < hi; i++)
        s += (double)d->a[i] * (double)(d->b ? d->b[i] : d->a[i]);
    return s;
}

double nmf_dot_double(const float *a, const float *b, size_t len)
{
    const dot_job d = {a, b, len, NULL};
    return nmf_sum_parts((len + DOT_BLOCK - 1) / DOT_BLOCK, dot_block, &d);
}

double nmf_problem_norm_sq(const nmf_problem *problem)
{
    /* A streamed V goes a block at a time, each handed back after it;
     * whole dot parts a block, so that the float sum has the bits of the
     * in-memory one, and bytes sum exactly in integers anyway. */
    const size_t len = problem->m * problem->n, parts = (len + DOT_BLOCK - 1) / DOT_BLOCK;
    const size_t block_parts = problem->stream_block
                                   ? problem->stream_block / nmf_problem_element_size(problem) /
                                         DOT_BLOCK
                                   : parts;
    const size_t step = block_parts ? block_parts : 1;
    const dot_job d = {problem->V, NULL, len, problem->mask};
    double total = 0.0;
    uint64_t sum = 0;
    for (size_t p0 = 0; p0 < parts; p0 += step) {
        const size_t p1 = parts - p0 < step ? parts : p0 + step;
        const size_t first = p0 * DOT_BLOCK, last = p1 * DOT_BLOCK < len ? p1 * DOT_BLOCK : len;
        if (problem->V) {
            total = sum_parts_onto(total, p0, p1, dot_block, &d);
        } else {
            const uint8_t *M = problem->mask;
            #pragma omp parallel for schedule(static) reduction(+ : sum)
            for (size_t i = first; i < last; i++)
                sum += M && !M[i] ? 0u : (uint64_t)problem->V8[i] * problem->V8[i];
        }
        nmf_problem_release(problem, first, last - first);
    }
    return problem->V ? total : (double)sum;
}
