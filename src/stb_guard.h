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

/* The next integer of a PNM header as stb reads it (whitespace and
 * comments skipped, the character after it consumed), saturating past a
 * million instead of overflowing. */
long stb_guard_pnm_int(FILE *f);

#endif
