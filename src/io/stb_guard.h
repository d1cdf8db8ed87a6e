/* stb_guard.h - internal: the inputs Debian's stb_image (2.27) would
 * mishandle, found by fuzzing, refused before stb reads them. Each check
 * looks at one format's header and lets every other file through. The
 * checks read the same bytes in memory that stb then decodes (stb's own
 * FILE reader re-reads a shifted 128-byte window when it moves from one
 * format's test to the next, so a check of the file's start would not
 * cover what stb parses). */
#ifndef NMF_STB_GUARD_H
#define NMF_STB_GUARD_H

#include <stddef.h>

/* NULL when data (len bytes, a whole file) is safe to hand to stb_image's
 * *_from_memory functions, else the reason it is not ("PNM header value out
 * of range", "bad JPEG Huffman table"). */
const char *stb_guard_check(const unsigned char *data, size_t len);

/* Parses a binary PNM (P5, P6) header as stb does: 1 with the kind ('5' or
 * '6'), width, height and maxval (each saturated past a million) and the
 * offset of the pixel data in *header_len; 0 when data is no binary PNM. */
int stb_guard_pnm_header(const unsigned char *data, size_t len, int *kind, long *w, long *h,
                         long *maxval, size_t *header_len);

#endif
