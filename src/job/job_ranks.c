/* job_ranks.c - see job_ranks.h. */
#include "job_ranks.h"

#include "error.h"
#include "output.h"
#include "ranks.h"

#include <stdlib.h>
#include <string.h>

const float *job_whole_W(const dataset *d, size_t k, const float *W, float *W_all)
{
    if (ranks_size() == 1)
        return W;
    ranks_gather(W, d->m * k, W_all);
    return W_all;
}

nmf_status job_gather_shown(const dataset *d, const float *W_all, size_t k, int count,
                            shown_rows *out)
{
    const nmf_problem V = dataset_problem(d);
    *out = (shown_rows){.V = V, .W = W_all};
    if (ranks_size() == 1)
        return NMF_STATUS_OK;
    const size_t total = d->rows_total, want = count > 0 ? (size_t)count : 1,
                 shown = want < total ? want : total, n = d->n;
    size_t *picks = malloc(shown * sizeof *picks);
    float *mine = malloc(shown * n * sizeof *mine);
    const int root = ranks_rank() == 0;
    out->V_rows = root ? malloc(shown * n * sizeof *out->V_rows) : NULL;
    out->W_rows = root ? malloc(shown * k * sizeof *out->W_rows) : NULL;
    nmf_status st = NMF_STATUS_OK;
    if (!picks || !mine || (root && (!out->V_rows || !out->W_rows)))
        st = nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the reconstructions' images");
    if ((st = ranks_agree(st)) == NMF_STATUS_OK) {
        output_pick_spread(total, shown, picks);
        size_t held = 0;
        for (size_t t = 0; t < shown; t++)
            if (picks[t] >= d->row0 && picks[t] < d->row0 + d->m)
                nmf_problem_rows(&V, picks[t] - d->row0, 1, mine + n * held++);
        ranks_gather(mine, held * n, out->V_rows);
        for (size_t t = 0; t < shown && root; t++)
            memcpy(out->W_rows + t * k, W_all + picks[t] * k, k * sizeof *W_all);
        out->V = (nmf_problem){shown, n, out->V_rows, NULL, 0, NULL, NULL};
        out->W = out->W_rows;
    }
    free(picks);
    free(mine);
    return st;
}

void job_shown_free(shown_rows *shown)
{
    free(shown->V_rows);
    free(shown->W_rows);
    memset(shown, 0, sizeof *shown);
}
