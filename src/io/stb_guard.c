/* stb_guard.c - see stb_guard.h. */
#include "stb_guard.h"

#include <stdio.h>

/* Bytes in memory read one at a time, EOF past the end (as getc). */
typedef struct {
    const unsigned char *data;
    size_t len, at;
} byte_reader;

static int next_byte(byte_reader *r)
{
    return r->at < r->len ? r->data[r->at++] : EOF;
}

static void skip_bytes(byte_reader *r, size_t n)
{
    r->at = n < r->len - r->at ? r->at + n : r->len;
}

/* stb's PNM header tokeniser: whitespace and '#' comments skipped, then
 * digits; the character after a token is carried to the next call in *c,
 * as stb carries it (a comment may follow a number directly). The value
 * saturates past a million instead of overflowing. */
static long pnm_token(byte_reader *r, int *c)
{
    for (;;) {
        while (*c == ' ' || (*c >= '\t' && *c <= '\r'))
            *c = next_byte(r);
        if (*c != '#')
            break;
        while (*c != EOF && *c != '\n' && *c != '\r')
            *c = next_byte(r);
    }
    long v = 0;
    for (; *c >= '0' && *c <= '9'; *c = next_byte(r))
        if (v < 1000000)
            v = 10 * v + (*c - '0');
    return v;
}

int stb_guard_pnm_header(const unsigned char *data, size_t len, int *kind, long *w, long *h,
                         long *maxval, size_t *header_len)
{
    byte_reader r = {data, len, 0};
    if (next_byte(&r) != 'P')
        return 0;
    *kind = next_byte(&r);
    if (*kind != '5' && *kind != '6')
        return 0;
    int c = next_byte(&r);
    *w = pnm_token(&r, &c);
    *h = pnm_token(&r, &c);
    *maxval = pnm_token(&r, &c);
    *header_len = r.at; /* the one whitespace after maxval is read, as stb reads it */
    return 1;
}

/* Debian's stb_image (2.27) builds a JPEG Huffman table from a DHT segment
 * without checking that its code counts add up to at most 256: a crafted
 * file writes past the table (found by fuzzing; stb 2.28 checks it). So
 * JPEG files are scanned first, and DHT tables with more than 256 codes or
 * a bad class or id are refused. Other files pass. */
static int jpeg_tables_ok(const unsigned char *data, size_t len)
{
    byte_reader rd = {data, len, 0}, *r = &rd;
    /* stb takes any run of 0xFF before the SOI marker, as before any marker. */
    int soi = next_byte(r);
    if (soi != 0xFF)
        return 1;
    while (soi == 0xFF)
        soi = next_byte(r);
    if (soi != 0xD8)
        return 1;
    for (int c; (c = next_byte(r)) != EOF;) {
        if (c != 0xFF)
            continue; /* entropy-coded data */
        int marker;
        do
            marker = next_byte(r);
        while (marker == 0xFF);
        if (marker == EOF || marker == 0xD9)
            break;
        if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
            continue; /* a stuffed byte or a marker without a length */
        int hi = next_byte(r), lo = next_byte(r);
        long seg = hi == EOF || lo == EOF ? -1 : (hi << 8 | lo) - 2;
        if (seg < 0)
            break; /* stb refuses it itself */
        if (marker != 0xC4) {
            skip_bytes(r, (size_t)seg);
            continue;
        }
        while (seg > 0) { /* as stb: a table may run past its segment */
            int q = next_byte(r);
            long codes = 0;
            for (int i = 0; i < 16; i++) {
                int count = next_byte(r);
                codes += count == EOF ? 0 : count;
            }
            if (q == EOF || (q >> 4) > 1 || (q & 15) > 3 || codes > 256)
                return q == EOF;
            skip_bytes(r, (size_t)codes);
            seg -= 17 + codes;
        }
    }
    return 1;
}

/* Whether a binary PNM header's numbers fit what stb and we accept (the
 * dimension cap of stb_impl.c, a 16-bit maxval): stb's own parser
 * overflows int on longer numbers, undefined behaviour found by fuzzing, so
 * such headers never reach it. Other files pass. */
static int pnm_header_in_range(const unsigned char *data, size_t len)
{
    int kind;
    long w, h, maxval;
    size_t header_len;
    return !stb_guard_pnm_header(data, len, &kind, &w, &h, &maxval, &header_len) ||
           (w <= (1 << 16) && h <= (1 << 16) && maxval <= 65535);
}

const char *stb_guard_check(const unsigned char *data, size_t len)
{
    if (!pnm_header_in_range(data, len))
        return "PNM header value out of range";
    if (!jpeg_tables_ok(data, len))
        return "bad JPEG Huffman table";
    return NULL;
}
