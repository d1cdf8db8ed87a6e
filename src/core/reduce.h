/* reduce.h - internal: the one way the CPU side sums in double, with the
 * same bits for any thread count: the sum is split into parts that do not
 * depend on the threads, the parts are summed in parallel, each in its own
 * order, and their sums added in part order. ‖V‖² and the Frobenius loss
 * (nmf_dot_double), the β-divergence (cpu/beta_mu.c) and HALS's violation
 * (cpu/hals.c) all go through nmf_sum_parts. */
#ifndef NMF_REDUCE_H
#define NMF_REDUCE_H

#include "nmf/nmf.h"

#include <stddef.h>

/* The sum of part `part` of a reduction described by ctx; called from
 * several threads at once, each part once. */
typedef double (*nmf_part_sum)(const void *ctx, size_t part);

/* Σ part_sum(ctx, p) for p = 0..parts-1: the parts in parallel (OpenMP),
 * their sums added in order p = 0, 1, ... Allocates nothing. */
double nmf_sum_parts(size_t parts, nmf_part_sum part_sum, const void *ctx);

/* sum_i a[i]*b[i] in double; b == NULL means sum_i a[i]², over blocks of
 * 4096 elements. A NaN result means a NaN (or inf - inf) in the data. */
double nmf_dot_double(const float *a, const float *b, size_t len);

/* ||V||², either form of V, over its observed entries (nmf_problem.mask):
 * bytes summed exactly in integers (the same value the float sum gives
 * for whole numbers, below 2^53). Over ranks
 * (nmf_comm), of this rank's rows alone: the caller sums. */
double nmf_problem_norm_sq(const nmf_problem *problem);

#endif
