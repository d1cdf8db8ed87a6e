/* hals.c - one HALS (coordinate descent) sweep over a factor on the CPU:
 * scikit-learn's _update_cdnmf_fast without shuffling (see hals.h).
 *
 * scikit-learn loops "for t: for i"; row i of the factor only ever reads
 * row i (and the fixed G and P), so rows are independent and "for i: for t"
 * gives the same numbers. Rows run in parallel; the components of a row run
 * in order t = 0..k-1 because each step uses the ones before it.
 *
 * Precision: the gradient is accumulated in float, as scikit-learn does for
 * float32 data (its Cython uses the data's dtype), in scikit-learn's order:
 * grad = -(P - l1), then + (G[t, r] (+ l2 on the diagonal)) * X[r] for
 * r = 0..k-1, each product rounded before the add. The violation, a
 * Python float (double) in scikit-learn, is summed in double.
 *
 * Work per sweep: rows·k² multiply-adds (2·rows·k² flops); bytes ~ rows·k·4·3
 * (read X and P, write X; G is k² floats and stays in cache). */
#include "hals.h"
#include "nmf_elementwise.h"

#include <math.h>
#include <stdlib.h>

/* The violation is summed over a fixed number of fixed chunks of rows, each
 * in row order, then the chunks in order: the same bits for any thread
 * count, and no scratch to allocate. The chunk count caps the useful thread
 * count, far above the cores this runs on. */
#define HALS_CHUNKS 256

/* Up to this many components, a strided row (the H sweep) is gathered into
 * a stack buffer; above it, into one heap buffer per thread. */
#define HALS_STACK_K 256

/* Sweeps one row x (k entries, stride `stride`) against G and the row's P
 * entries (stride p_comp); returns the row's sum of |projected gradient|. */
static double sweep_row(float *x, size_t stride, size_t k, const float *G, const float *p,
                        size_t p_comp, float l1, float l2)
{
    double violation = 0.0;
    for (size_t t = 0; t < k; t++) {
        const float *g = G + t * k;
        const float hess = g[t] + l2; /* HHt[t, t] after scikit-learn's += l2 */
        float grad = -(p[t * p_comp] - l1);
        /* The diagonal term apart so the loop has no branch; the order of
         * the adds is still r = 0..k-1, as scikit-learn's. */
        for (size_t r = 0; r < t; r++)
            grad += g[r] * x[r * stride];
        grad += hess * x[t * stride];
        for (size_t r = t + 1; r < k; r++)
            grad += g[r] * x[r * stride];
        float pg;
        x[t * stride] = nmf_hals_step(x[t * stride], grad, hess, &pg);
        violation += fabs((double)pg);
    }
    return violation;
}

double nmf_hals_sweep_cpu(float *X, size_t rows, size_t k, size_t x_row, size_t x_comp,
                          const float *G, const float *P, size_t p_row, size_t p_comp,
                          float l1, float l2)
{
    if (rows == 0 || k == 0)
        return 0.0;
    const size_t chunk = (rows + HALS_CHUNKS - 1) / HALS_CHUNKS;
    const size_t n_chunks = (rows + chunk - 1) / chunk;
    double partial[HALS_CHUNKS];
    /* Contiguous rows (the W sweep) are swept in place; strided ones (the H
     * sweep, x_comp = n) are gathered so the k² inner loop reads
     * consecutive floats, then scattered back. */
    const int gather = x_comp != 1;

    #pragma omp parallel
    {
        float stack_buf[HALS_STACK_K];
        float *heap_buf = NULL;
        if (gather && k > HALS_STACK_K)
            heap_buf = malloc(k * sizeof *heap_buf);
        /* Without a buffer (k > HALS_STACK_K and no memory) the row is swept
         * in place: slower, the same arithmetic. */
        float *buf = k <= HALS_STACK_K ? stack_buf : heap_buf;

        #pragma omp for schedule(static)
        for (size_t c = 0; c < n_chunks; c++) {
            const size_t lo = c * chunk, hi = lo + chunk < rows ? lo + chunk : rows;
            double s = 0.0;
            for (size_t i = lo; i < hi; i++) {
                float *x = X + i * x_row;
                const float *p = P + i * p_row;
                if (gather && buf) {
                    for (size_t t = 0; t < k; t++)
                        buf[t] = x[t * x_comp];
                    s += sweep_row(buf, 1, k, G, p, p_comp, l1, l2);
                    for (size_t t = 0; t < k; t++)
                        x[t * x_comp] = buf[t];
                } else {
                    s += sweep_row(x, x_comp, k, G, p, p_comp, l1, l2);
                }
            }
            partial[c] = s;
        }
        free(heap_buf);
    }

    double total = 0.0;
    for (size_t c = 0; c < n_chunks; c++)
        total += partial[c];
    return total;
}
