/* model.h - internal: the model of a fit, what `nmf-faces transform --model
 * DIR` needs to encode new images with the fit's H: DIR/model.json, which
 * says how images become rows and what H was fitted for, beside DIR/H.npy.
 *
 * model.json (format 1), every field required, no others allowed:
 *   format           1; a reader refuses a newer one
 *   version          the NMF_VERSION of the nmf-faces that wrote it
 *   k                components: the rows of H
 *   image            {"width", "height", "channels"}: every image's size
 *                    after resizing, and the values a pixel has in a row
 *                    (1 grey, 3 R, G, B interleaved); a row of H holds
 *                    width * height * channels values
 *   rows             {"colour", "grey", "resize"}: how an image becomes a
 *                    row: colour true (channels 3) or false (1); grey, the
 *                    grey mode ("luma", "first"), null in a colour model;
 *                    resize, [width, height] when images were resized to
 *                    image's size, null when they all had it
 *   loss             {"beta", "name"}: the beta-divergence fitted and its
 *                    name (nmf_loss_name: "frobenius", "kullback-leibler",
 *                    "itakura-saito", "beta")
 *   regularisation   {"alpha_w", "alpha_h", "l1_ratio"}: as nmf_params has
 *                    them, alpha_h resolved (>= 0)
 *   solver           "mu" or "hals"
 *   tol, max_iter    the fit's tolerance and iteration limit
 *   training_images  m, the images the fit ran on
 *   H                the file of H in DIR ("H.npy"): float32 (k, width *
 *                    height * channels), every value finite and >= 0 */
#ifndef NMF_MODEL_H
#define NMF_MODEL_H

#include "dataset.h"
#include "nmf/nmf.h"
#include "settings.h"

#include <stddef.h>

#define MODEL_FILE "model.json"
#define MODEL_H_FILE "H.npy"
#define MODEL_FORMAT 1 /* the newest format written and read */

/* model.json's fields (see above); a row of H is width * height * channels. */
typedef struct {
    int format;           /* MODEL_FORMAT */
    char version[32];     /* of the tool that wrote it */
    int k;
    int width, height;    /* 1..65536 each */
    int channels;         /* 1 or 3 */
    int colour;           /* 1 with channels 3, 0 with 1 */
    dataset_grey grey;    /* meaningful when !colour; DATASET_GREY_LUMA otherwise */
    int resize_w, resize_h; /* width, height when images were resized; 0, 0: not */
    double beta;
    double alpha_W, alpha_H, l1_ratio; /* alpha_H >= 0 (resolved) */
    nmf_solver solver;
    double tol;
    int max_iter;
    size_t m;             /* training images */
} model_info;

/* The model of a finished run: its settings (alpha_H resolved) and its
 * images' size and channels. */
void model_info_from_run(model_info *out, const run_config *config, const dataset *d);

/* Renders mi as model.json's text into a new malloc'd string (*json, *len). */
nmf_status model_to_json(const model_info *mi, char **json, size_t *len);

/* Writes dir/model.json atomically (H.npy is the job's, written beside it). */
nmf_status model_write(const char *dir, const model_info *mi);

/* Reads dir/model.json into *out and dir's H file into a new malloc'd
 * (k, width * height * channels) array *H (the caller frees it), checking
 * every field and every value of H. Fails with one line naming the file and
 * the reason, *H NULL: NMF_STATUS_IO when dir, model.json or H cannot be
 * read (npy_read_f32's status for H); NMF_STATUS_BAD_INPUT for a file that is
 * not JSON (line:column), a field missing, of the wrong type or out of
 * range (its name and what it must be), an unknown field, a newer format,
 * fields that disagree (channels and colour, resize and image, the loss's
 * name and beta, hals with beta != 2), sizes that overflow, an H whose
 * shape is not (k, width * height * channels) or with a value NaN,
 * infinite or negative. */
nmf_status model_read(const char *dir, model_info *out, float **H);

#endif
