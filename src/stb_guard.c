/* stb_guard.c - see stb_guard.h. */
#include "stb_guard.h"

/* stb's PNM header tokeniser: whitespace and '#' comments skipped, then
 * digits; the character after a token is carried to the next call in *c,
 * as stb carries it (a comment may follow a number directly). The value
 * saturates past a million instead of overflowing. */
static long pnm_token(FILE *f, int *c)
{
    for (;;) {
        while (*c == ' ' || (*c >= '\t' && *c <= '\r'))
            *c = getc(f);
        if (*c != '#')
            break;
        while (*c != EOF && *c != '\n' && *c != '\r')
            *c = getc(f);
    }
    long v = 0;
    for (; *c >= '0' && *c <= '9'; *c = getc(f))
        if (v < 1000000)
            v = 10 * v + (*c - '0');
    return v;
}

int stb_guard_pnm_header(FILE *f, int *kind, long *w, long *h, long *maxval)
{
    rewind(f);
    if (getc(f) != 'P')
        return 0;
    *kind = getc(f);
    if (*kind != '5' && *kind != '6')
        return 0;
    int c = getc(f);
    *w = pnm_token(f, &c);
    *h = pnm_token(f, &c);
    *maxval = pnm_token(f, &c);
    return 1;
}

/* Debian's stb_image (2.27) builds a JPEG Huffman table from a DHT segment
 * without checking that its code counts add up to at most 256: a crafted
 * file writes past the table (found by fuzzing; stb 2.28 checks it). So
 * JPEG files are scanned first, and DHT tables with more than 256 codes or
 * a bad class or id are refused. Other files pass. Leaves f rewound. */
static int jpeg_tables_ok(FILE *f)
{
    int ok = 1;
    /* stb takes any run of 0xFF before the SOI marker, as before any marker. */
    int soi = getc(f);
    if (soi != 0xFF)
        goto done;
    while (soi == 0xFF)
        soi = getc(f);
    if (soi != 0xD8)
        goto done;
    for (int c; (c = getc(f)) != EOF;) {
        if (c != 0xFF)
            continue; /* entropy-coded data */
        int marker;
        do
            marker = getc(f);
        while (marker == 0xFF);
        if (marker == EOF || marker == 0xD9)
            break;
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
            continue; /* a stuffed byte or a marker without a length */
        int hi = getc(f), lo = getc(f);
        long len = hi == EOF || lo == EOF ? -1 : (hi << 8 | lo) - 2;
        if (len < 0)
            break; /* stb refuses it itself */
        if (marker != 0xC4) {
            if (fseek(f, len, SEEK_CUR) != 0)
                break;
            continue;
        }
        while (len > 0) { /* as stb: a table may run past its segment */
            int q = getc(f);
            long codes = 0;
            for (int i = 0; i < 16; i++) {
                int count = getc(f);
                codes += count == EOF ? 0 : count;
            }
            if (q == EOF || (q >> 4) > 1 || (q & 15) > 3 || codes > 256) {
                ok = q == EOF;
                goto done;
            }
            if (fseek(f, codes, SEEK_CUR) != 0)
                goto done;
            len -= 17 + codes;
        }
    }
done:
    rewind(f);
    return ok;
}

/* Whether a binary PNM header's numbers fit what stb and we accept (the
 * dimension cap of stb_impl.c, a 16-bit maxval): stb's own parser
 * overflows int on longer numbers, undefined behaviour found by fuzzing, so
 * such headers never reach it. Other files pass. Leaves f rewound. */
static int pnm_header_in_range(FILE *f)
{
    int kind;
    long w, h, maxval;
    int ok = !stb_guard_pnm_header(f, &kind, &w, &h, &maxval) ||
             (w <= (1 << 16) && h <= (1 << 16) && maxval <= 65535);
    rewind(f);
    return ok;
}

const char *stb_guard_check(FILE *f)
{
    rewind(f);
    if (!pnm_header_in_range(f))
        return "PNM header value out of range";
    if (!jpeg_tables_ok(f))
        return "bad JPEG Huffman table";
    return NULL;
}
