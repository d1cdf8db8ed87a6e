/* job_ranks.h - internal: what the job gathers to rank 0 over the ranks of
 * an MPI job (ranks.h) to write the outputs one process writes: the whole
 * W, and the rows of V and W that reconstructions.png shows. With one
 * process, what is there already. */
#ifndef NMF_JOB_RANKS_H
#define NMF_JOB_RANKS_H

#include "dataset.h"

/* The whole W on rank 0: the ranks' rows gathered into W_all, or with one
 * process W itself. Collective. */
const float *job_whole_W(const dataset *d, size_t k, const float *W, float *W_all);

/* The images reconstructions.png shows, on rank 0: their rows of V
 * (shown->V) and of W (shown->W). With one process, V and W themselves
 * (the output picks its images); over ranks, the picked rows gathered from
 * the ranks that hold them, in order. Collective. */
typedef struct {
    nmf_problem V;
    const float *W;
    float *V_rows, *W_rows; /* owned, over ranks */
} shown_rows;

nmf_status job_gather_shown(const dataset *d, const float *W_all, size_t k, int count,
                            shown_rows *out);

/* Frees what job_gather_shown gathered. */
void job_shown_free(shown_rows *shown);

#endif
