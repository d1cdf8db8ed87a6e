/* output.h - internal: the images the tool writes.
 * Every file goes through atomic_file, so a file that exists is complete. */
#ifndef NMF_OUTPUT_H
#define NMF_OUTPUT_H

#include "nmf/nmf.h"

#include <stddef.h>

/* Writes H's k rows as width x height grey PNGs: `dir`/components.png, a
 * grid of all of them with a 2-pixel gap, about square, and
 * `dir`/components/NN.png (zero-padded to the digits of k - 1, at least 2), one each.
 * Each latent image is scaled to its own 0..max (all black if max is 0). */
nmf_status output_write_components(const char *dir, const float *H, int k,
                                   int width, int height);

/* Writes `dir`/reconstructions.png: the first `count` rows of V (top row)
 * above their reconstructions W·H (bottom row), on a common 0..255 scale,
 * clamped. count is clipped to m. W is (m, k), H is (k, n). */
nmf_status output_write_reconstructions(const char *dir, const float *V,
                                        const float *W, const float *H,
                                        size_t m, int k, int width, int height,
                                        int count);

/* Writes text to path atomically. */
nmf_status output_write_text(const char *path, const char *text, size_t len);

#endif
