/* reduce.h - internal: sums in double that give the same bits for any
 * thread count (partial sums over fixed blocks, added in block order), so
 * that a run is reproducible whatever --threads says. */
#ifndef NMF_REDUCE_H
#define NMF_REDUCE_H

#include <stddef.h>

/* sum_i a[i]*b[i] in double; b == NULL means sum_i a[i]². Allocates
 * nothing: a NaN result means a NaN (or inf - inf) in the data. */
double nmf_dot_double(const float *a, const float *b, size_t len);

#endif
