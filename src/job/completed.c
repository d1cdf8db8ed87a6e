/* completed.c - see completed.h. */
#include "completed.h"

#include "error.h"
#include "fsutil.h"
#include "output.h"

#include <stdio.h>
#include <stdlib.h>

/* Images made and written at a time: their rows in floats, not all m. */
#define CHUNK 64

nmf_status job_write_completed(const char *dir, const dataset *d, const float *W,
                               const float *H, size_t k)
{
    const size_t n = d->n;
    const nmf_problem V = dataset_problem(d);
    char path[4096];
    nmf_status st = fs_join(path, sizeof path, dir, "completed");
    float *rows = malloc(CHUNK * n * sizeof *rows);
    char names[CHUNK][16];
    const char *name_of[CHUNK];
    if (st == NMF_STATUS_OK && !rows)
        st = nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the completed images");
    for (size_t i0 = 0; i0 < d->m && st == NMF_STATUS_OK; i0 += CHUNK) {
        const size_t count = d->m - i0 < CHUNK ? d->m - i0 : CHUNK;
        nmf_problem_rows(&V, i0, count, rows);
        #pragma omp parallel for schedule(static)
        for (size_t r = 0; r < count; r++) {
            const size_t i = i0 + r;
            for (size_t j = 0; j < n; j++) {
                if (d->mask[i * n + j])
                    continue;
                double wh = 0.0;
                for (size_t t = 0; t < k; t++)
                    wh += (double)W[i * k + t] * H[t * n + j];
                rows[r * n + j] = (float)wh;
            }
        }
        for (size_t r = 0; r < count; r++) {
            snprintf(names[r], sizeof names[r], "%04zu.png", i0 + r);
            name_of[r] = names[r];
        }
        st = output_write_images(path, rows, count, d->width, d->height, d->channels, name_of);
    }
    free(rows);
    return st;
}
