/* output.h - internal: the images the tool writes.
 * Every file goes through atomic_file, so a file that exists is complete.
 * channels is 1 (grey) or 3 (RGB): a row of H or V then holds
 * width * height * channels values, a pixel's R, G, B side by side, as
 * dataset.h lays them out; the PNGs are grey or RGB to match. */
#ifndef NMF_OUTPUT_H
#define NMF_OUTPUT_H

#include "nmf/nmf.h"

#include <stddef.h>

/* Writes H's k rows as width x height PNGs: `dir`/components.png, a grid
 * of all of them with a 4-pixel mid-grey (128) gap, about square, and
 * `dir`/components/NN.png (zero-padded to the digits of k - 1, at least 2), one each.
 * Each latent image is scaled to its own 0..output_tile_scale, taken over
 * all its values, every channel together (brighter values white; all
 * black if the scale is 0); the grid and the files agree. */
nmf_status output_write_components(const char *dir, const float *H, int k,
                                   int width, int height, int channels);

/* Writes `dir`/reconstructions.png: `count` rows of V spread over the set
 * (output_pick_spread) in the top row above their reconstructions W·H in
 * the bottom row; V's missing pixels (a mask) are grey checks, W·H
 * completes them. Each input and its reconstruction share one scale, the
 * output_tile_scale of the two together, so the pair compares pixel for
 * pixel. count is clipped to m. V is (m, n), floats or bytes, W is (m, k),
 * H is (k, n), n = width * height * channels. */
nmf_status output_write_reconstructions(const char *dir, const nmf_problem *V,
                                        const float *W, const float *H, int k, int width,
                                        int height, int channels, int count);

/* Writes the m rows of `rows` (each width * height * channels values in
 * pixel units, as V holds them: a reconstruction W·H, say) as one PNG each,
 * `dir`/names[i] for row i, creating dir; each value is clamped to
 * 0..255 and rounded (NaN is 0), with no scaling. Fails on a bad shape, a
 * size stb cannot write, or a file that cannot be written (naming it);
 * the files written before stay. */
nmf_status output_write_images(const char *dir, const float *rows, size_t m,
                               int width, int height, int channels,
                               const char *const *names);

/* The value a tile's white stands for: the 99.5th percentile (nearest
 * rank) of the finite positive values of x (n of them), so that a few bright
 * pixels do not leave the rest of the tile nearly black, and zeros (sparse
 * components) do not pull it down to 0. 0 when there are none. scratch
 * holds n floats; x is not changed. Exposed for tests. */
float output_tile_scale(const float *x, size_t n, float *scratch);

/* Writes to out the `count` (1 <= count <= m) rows of m that
 * reconstructions.png shows: round(i * m / count) for i < count, increasing
 * and distinct, so the picks cover the set (its first rows are often one
 * person). Exposed for tests. */
void output_pick_spread(size_t m, size_t count, size_t *out);

/* Writes text to path atomically. */
nmf_status output_write_text(const char *path, const char *text, size_t len);

#endif
