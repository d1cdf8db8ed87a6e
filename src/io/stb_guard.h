/* stb_guard.h - internal: the inputs Debian's stb_image (2.27) would
 * mishandle, found by fuzzing and by cutting files short, refused before
 * stb reads them. Each check looks at one format's header (the truncation
 * check walks the data as that format's loader reads it) and lets every
 * other file through. The checks read the same bytes in memory that stb
 * then decodes (stb's own FILE reader re-reads a shifted 128-byte window
 * when it moves from one format's test to the next, so a check of the
 * file's start would not cover what stb parses). */
#ifndef NMF_STB_GUARD_H
#define NMF_STB_GUARD_H

#include <stddef.h>

/* The largest image we decode: STB_GUARD_MAX_SIDE pixels a side (stb's
 * STBI_MAX_DIMENSIONS, set from it in stb_impl.c) and STB_GUARD_MAX_PIXELS
 * in all, below every size stb refuses for its int-sized buffers (the
 * tightest, an HDR's float RGB, 12 bytes a pixel, under 2 GiB): a
 * 16384 x 8192 scan fits. */
#define STB_GUARD_MAX_SIDE (1 << 16)
#define STB_GUARD_MAX_PIXELS (1 << 27)

/* NULL when data (len bytes, a whole file) is safe to hand to stb_image's
 * *_from_memory functions, else the reason it is not ("PNM header value out
 * of range", "bad JPEG Huffman table"). */
const char *stb_guard_check(const unsigned char *data, size_t len);

/* NULL when data holds every byte stb's loader will read, else the reason
 * ("GIF file truncated"): stb decodes the missing bytes of a GIF, BMP, TGA,
 * PSD, PNM or HDR file as zeros or leaves them uninitialised, and loops
 * forever on a cut run-length HDR; stb's PNG and JPEG decoders notice. */
const char *stb_guard_truncated(const unsigned char *data, size_t len);

/* The width and height the header of a PNG, JPEG, GIF, BMP, PSD, PNM, HDR
 * or TGA file gives, as stb's loader reads them (a top-down BMP's height
 * positive): 1 with them in *w, *h, 0 when data is none of these or its size
 * is not there. Read without stb, which calls an image over its caps
 * corrupt, so that it can be called too large. */
int stb_guard_size(const unsigned char *data, size_t len, unsigned long *w, unsigned long *h);

/* Whether a w x h image is within STB_GUARD_MAX_SIDE and _MAX_PIXELS. */
int stb_guard_fits(unsigned long w, unsigned long h);

#endif
