/* stb_guard.h - internal: the inputs Debian's stb_image (2.27) would
 * mishandle, found by fuzzing, refused before stb reads them. Each check
 * looks at one format's header and lets every other file through. */
#ifndef NMF_STB_GUARD_H
#define NMF_STB_GUARD_H

#include <stdio.h>

/* NULL when f is safe to hand to stb_image, else the reason it is not
 * ("PNM header value out of range", "bad JPEG Huffman table"). Reads from
 * the start of f and leaves it rewound. */
const char *stb_guard_check(FILE *f);

/* Parses a binary PNM (P5, P6) header as stb does: 1 with the kind ('5' or
 * '6'), width, height and maxval (each saturated past a million) and f
 * positioned at the pixel data; 0 when f is no binary PNM. */
int stb_guard_pnm_header(FILE *f, int *kind, long *w, long *h, long *maxval);

#endif
