/* checkpoint.h - internal: the file that lets a run continue after an
 * interruption (`--checkpoint-every`, SIGINT/SIGTERM, `--resume DIR`).
 *
 * One file, DIR/checkpoint.nmf, written atomically (temporary file, fsync,
 * rename), so the directory holds the previous checkpoint or the new one,
 * never a torn one: a text header of "key value" lines (the run's settings,
 * RUN_SETTINGS, its inputs, a fingerprint of the images found, and the driver's state:
 * iteration, errors, history), an "end" line, then W (m, k) and H (k, n) as
 * little-endian float32. */
#ifndef NMF_CHECKPOINT_H
#define NMF_CHECKPOINT_H

#include "job.h"
#include "nmf/nmf.h"

#include <stdint.h>

#define CHECKPOINT_FILE "checkpoint.nmf"

/* Everything a checkpoint records besides the factors and the fit state. */
typedef struct {
    run_config config;
    const char *const *inputs; /* the run's directories and image files */
    size_t n_inputs;
    char **input_store;  /* owns inputs' strings after checkpoint_read */
    uint64_t fingerprint; /* of the image list and sizes (dataset_fingerprint) */
    size_t m;
    int width, height;
} checkpoint_info;

/* FNV-1a over every image path and the image size: inputs that changed
 * since a checkpoint (a file added, removed, renamed or resized) change it. */
uint64_t dataset_fingerprint(const dataset *d);

/* Writes dir/checkpoint.nmf atomically. */
nmf_status checkpoint_write(const char *dir, const checkpoint_info *info, const nmf_result *state,
                            const float *W, const float *H);

/* Reads dir/checkpoint.nmf: info (free with checkpoint_info_free) and the
 * point to resume from (its state, new malloc'd W (m, k), H (k, n), the
 * shape and the fingerprint; free with resume_point_free). Fails with the
 * path and the reason on a missing or malformed file, leaving both empty. */
nmf_status checkpoint_read(const char *dir, checkpoint_info *info, resume_point *point);

void checkpoint_info_free(checkpoint_info *info);
void resume_point_free(resume_point *point);

#endif
