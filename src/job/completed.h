/* completed.h - internal: the completed images of a fit with missing
 * pixels (--write-completed). */
#ifndef NMF_COMPLETED_H
#define NMF_COMPLETED_H

#include "dataset.h"

#include <stddef.h>

/* Writes dir/completed/NNNN.png for every image i (row i of V, line i of
 * inputs.txt, numbered from 0): its observed pixels as they are, its
 * missing ones from W·H (W (m, k), H (k, n)), clamped to 0..255 and
 * rounded. d must have a mask and be one process's whole V. */
nmf_status job_write_completed(const char *dir, const dataset *d, const float *W,
                               const float *H, size_t k);

#endif
