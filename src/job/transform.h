/* transform.h - internal: the commands that use a fitted model (model.h):
 * `transform` encodes new images with the model's H (nmf_transform) and
 * `reconstruct` turns codes back into images (W·H, scikit-learn's
 * inverse_transform). */
#ifndef NMF_TRANSFORM_H
#define NMF_TRANSFORM_H

#include "job.h"

#define TRANSFORM_DEFAULT_DIR "nmf-transform-out"
#define RECONSTRUCT_DEFAULT_DIR "nmf-reconstruct-out"
/* The solve is k unknowns per image: cheap to run tight. */
#define TRANSFORM_DEFAULT_TOL 1e-6
#define TRANSFORM_DEFAULT_MAX_ITER 2000

typedef struct {
    /* inputs, output_dir, quiet, overwrite, stop_flag; of config: the
     * params' solver, sweeps, tol, max_iter, device, precision, threads,
     * and recon_count. The rest comes from the model. */
    job_options job;
    const char *model_dir;
    int solver_given; /* --solver given: else the model's */
} transform_options;

/* Reads the model, loads the inputs as the model's fit made its rows (grey
 * mode or colour, resize), solves W >= 0 with H fixed and writes into the
 * output directory (staged, as job_run): W.npy (rows in inputs.txt order),
 * inputs.txt, reconstructions.png and metrics.json (the overall and every
 * image's relative error). Images of another size than the model's, a
 * colour model given grey images and a model folder that does not read are
 * refused with one line naming the file and the reason. */
nmf_status job_transform(const transform_options *opt);

typedef struct {
    const char *model_dir;
    const char *codes_path; /* .npy, images x k */
    const char *output_dir;
    int overwrite, quiet;
} reconstruct_options;

/* Writes W·H, for the codes W and the model's H, as output_dir/images/NNNN.png
 * (row i as image i, zero-padded to at least 4 digits; pixel values clamped
 * to 0..255 and rounded, no scaling). */
nmf_status job_reconstruct(const reconstruct_options *opt);

#endif
