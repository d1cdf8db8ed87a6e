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
 * Speed: one row's gradient is a chain of k dependent adds, so row by row
 * the sweep waits on add latency (on the faces, k = 20, the H sweep took
 * longer than a GEMM). Rows are swept HALS_LANES at a time instead, each
 * add a vector op across the rows: every row still adds in the same order,
 * so the bits are the row-by-row ones (tests/test_hals.c checks), and the
 * compiler vectorises the lane loops. H's rows are adjacent columns, read in
 * place; W's are copied into a (k, lanes) tile and back.
 *
 * Work per sweep: rows·k² multiply-adds (2·rows·k² flops); bytes ~ rows·k·4·3
 * (read X and P, write X; G is k² floats and stays in cache). */
#include "hals.h"
#include "nmf_elementwise.h"
#include "reduce.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The violation is summed over at most this many fixed chunks of rows, each
 * in row order, by nmf_sum_parts: the same bits for any thread count. The
 * chunk count caps the useful thread count, far above the cores this runs
 * on. */
#define HALS_CHUNKS 256

/* Rows swept together: 16 floats are four SSE or two AVX vectors, enough
 * independent adds to hide their latency. */
#define HALS_LANES 16

/* The lanes' gradients as HALS_LANES / 4 vectors of the baseline's width,
 * so that they stay in registers through the k adds (an array of floats
 * went through the stack on every add, store to load, and made the sweep
 * cost more than a product). */
typedef float vec4 __attribute__((vector_size(4 * sizeof(float)), aligned(4)));
#define LANE_VECS (HALS_LANES / 4)

/* Sweeps `lanes` rows together: component t of lane v is x[t*ld + v], its
 * data product p[t*pld + v]. Adds each lane's sum of |projected gradient|,
 * in component order, to viol[v]. */
static inline void sweep_lanes(float *x, size_t ld, size_t lanes, size_t k, const float *G,
                               const float *p, size_t pld, float l1, float l2, double *viol)
{
    for (size_t t = 0; t < k; t++) {
        const float *g = G + t * k;
        const float hess = g[t] + l2; /* HHt[t, t] after scikit-learn's += l2 */
        float grad[HALS_LANES];
        /* scikit-learn's order r = 0..k-1, the diagonal term with l2; the
         * same operations lane by lane on whole rows of lanes or on a few. */
        if (lanes == HALS_LANES) {
            vec4 sum[LANE_VECS];
#pragma GCC unroll 4
            for (int q = 0; q < LANE_VECS; q++)
                sum[q] = -(*(const vec4 *)(p + t * pld + 4 * q) - l1);
            for (size_t r = 0; r < k; r++) {
                const float gr = r == t ? hess : g[r];
#pragma GCC unroll 4
                for (int q = 0; q < LANE_VECS; q++)
                    sum[q] += gr * *(const vec4 *)(x + r * ld + 4 * q);
            }
            memcpy(grad, sum, sizeof grad);
        } else {
            for (size_t v = 0; v < lanes; v++)
                grad[v] = -(p[t * pld + v] - l1);
            for (size_t r = 0; r < k; r++) {
                const float gr = r == t ? hess : g[r];
                const float *xr = x + r * ld;
                for (size_t v = 0; v < lanes; v++)
                    grad[v] += gr * xr[v];
            }
        }
        float *xt = x + t * ld;
        for (size_t v = 0; v < lanes; v++) {
            float pg;
            xt[v] = nmf_hals_step(xt[v], grad[v], hess, &pg);
            viol[v] += fabs((double)pg);
        }
    }
}

/* Sweeps rows [lo, hi) of a factor laid out as nmf_hals_sweep_cpu's, using
 * tile (2·k·HALS_LANES floats, or NULL) for rows that are not adjacent in
 * memory; returns their violation summed in row order. */
static double sweep_rows(float *X, size_t lo, size_t hi, size_t k, size_t x_row, size_t x_comp,
                         const float *G, const float *P, size_t p_row, size_t p_comp, float l1,
                         float l2, float *tile)
{
    double s = 0.0;
    for (size_t i = lo; i < hi; i += HALS_LANES) {
        const size_t lanes = hi - i < HALS_LANES ? hi - i : HALS_LANES;
        double viol[HALS_LANES] = {0};
        float *x = X + i * x_row;
        const float *p = P + i * p_row;
        if (x_row == 1 && p_row == 1) { /* H: the rows are adjacent columns */
            if (lanes == HALS_LANES)
                sweep_lanes(x, x_comp, HALS_LANES, k, G, p, p_comp, l1, l2, viol);
            else
                sweep_lanes(x, x_comp, lanes, k, G, p, p_comp, l1, l2, viol);
        } else if (tile) { /* W: each row contiguous, copied to a (k, lanes) tile */
            float *xt = tile, *pt = tile + k * HALS_LANES;
            for (size_t v = 0; v < lanes; v++)
                for (size_t t = 0; t < k; t++) {
                    xt[t * HALS_LANES + v] = x[v * x_row + t * x_comp];
                    pt[t * HALS_LANES + v] = p[v * p_row + t * p_comp];
                }
            if (lanes == HALS_LANES)
                sweep_lanes(xt, HALS_LANES, HALS_LANES, k, G, pt, HALS_LANES, l1, l2, viol);
            else
                sweep_lanes(xt, HALS_LANES, lanes, k, G, pt, HALS_LANES, l1, l2, viol);
            for (size_t v = 0; v < lanes; v++)
                for (size_t t = 0; t < k; t++)
                    x[v * x_row + t * x_comp] = xt[t * HALS_LANES + v];
        } else { /* no memory for a tile: row by row in place, the same arithmetic */
            for (size_t v = 0; v < lanes; v++)
                sweep_lanes(x + v * x_row, x_comp, 1, k, G, p + v * p_row, p_comp, l1, l2,
                            viol + v);
        }
        for (size_t v = 0; v < lanes; v++)
            s += viol[v];
    }
    return s;
}

typedef struct {
    float *X;
    size_t rows, chunk, k, x_row, x_comp;
    const float *G, *P;
    size_t p_row, p_comp;
    float l1, l2;
} sweep_job;

/* Chunk c of the rows, with a tile of its own when W's rows need one. */
static double sweep_chunk(const void *ctx, size_t c)
{
    const sweep_job *j = ctx;
    const size_t lo = c * j->chunk, hi = lo + j->chunk < j->rows ? lo + j->chunk : j->rows;
    const int need_tile = !(j->x_row == 1 && j->p_row == 1);
    float *tile = need_tile ? malloc(2 * j->k * HALS_LANES * sizeof *tile) : NULL;
    double s = sweep_rows(j->X, lo, hi, j->k, j->x_row, j->x_comp, j->G, j->P, j->p_row,
                          j->p_comp, j->l1, j->l2, tile);
    free(tile);
    return s;
}

double nmf_hals_sweep_cpu(float *X, size_t rows, size_t k, size_t x_row, size_t x_comp,
                          const float *G, const float *P, size_t p_row, size_t p_comp,
                          float l1, float l2)
{
    if (rows == 0 || k == 0)
        return 0.0;
    /* Chunks of whole blocks of lanes, so only the last block is partial. */
    size_t chunk = (rows + HALS_CHUNKS - 1) / HALS_CHUNKS;
    chunk = (chunk + HALS_LANES - 1) / HALS_LANES * HALS_LANES;
    const sweep_job job = {X, rows, chunk, k, x_row, x_comp, G, P, p_row, p_comp, l1, l2};
    return nmf_sum_parts((rows + chunk - 1) / chunk, sweep_chunk, &job);
}
