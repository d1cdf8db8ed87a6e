/* init.h - internal: the initial W and H (random and the NNDSVD family).
 * nmf_initialize() in the public header dispatches here. */
#ifndef NMF_INIT_H
#define NMF_INIT_H

#include "nmf/nmf.h"

/* scikit-learn's init='random': H then W from N(0,1) scaled by
 * sqrt(mean(V)/k), absolute values. W is (m, k), H is (k, n). */
nmf_status nmf_init_random(const nmf_problem *problem, int k, uint32_t seed,
                           float *W, float *H);

/* NNDSVD (Boutsidis & Gallopoulos 2008) as scikit-learn computes it, from an
 * exact truncated SVD (the eigen-decomposition of the smaller Gram matrix
 * in double through LAPACK's dsyevr in OpenBLAS), then the zero fill of `init` (NNDSVD,
 * NNDSVDA or NNDSVDAR). Requires k <= min(m, n). */
nmf_status nmf_init_nndsvd(const nmf_problem *problem, int k,
                           nmf_init_method init, uint32_t seed,
                           float *W, float *H);

/* W's start for nmf_transform, as scikit-learn's transform makes it: every
 * entry sqrt(mean(V)/k) for mu (which cannot leave 0), zeros for hals. */
void nmf_init_transform(const nmf_problem *problem, int k, nmf_solver solver, float *W);

#endif
