/* stb_guard.c - see stb_guard.h. */
#include "stb_guard.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Moves *at past n bytes and returns 1 when they are all there, else moves
 * it to the end and returns 0. */
static int take(size_t len, size_t *at, unsigned long long n)
{
    if (n > len - *at) {
        *at = len;
        return 0;
    }
    *at += (size_t)n;
    return 1;
}

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
    take(r->len, &r->at, n);
}

/* stb's PNM header tokeniser: whitespace and '#' comments skipped, then
 * digits; the character after a token is carried to the next call in *c,
 * as stb carries it (a comment may follow a number directly). The value
 * saturates at LONG_MAX instead of overflowing. */
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
        v = v > (LONG_MAX - 9) / 10 ? LONG_MAX : 10 * v + (*c - '0');
    return v;
}

/* Parses a binary PNM (P5, P6) header as stb does: 1 with the kind ('5' or
 * '6'), width, height and maxval and the offset of the pixel data in
 * *header_len; 0 when data is no binary PNM. */
static int pnm_header(const unsigned char *data, size_t len, int *kind, long *w, long *h,
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

/* Whether a binary PNM header's numbers fit what stb and we accept
 * (STB_GUARD_MAX_SIDE, a 16-bit maxval): stb's own parser
 * overflows int on longer numbers, undefined behaviour found by fuzzing, so
 * such headers never reach it. Other files pass. */
static int pnm_header_in_range(const unsigned char *data, size_t len)
{
    int kind;
    long w, h, maxval;
    size_t header_len;
    return !pnm_header(data, len, &kind, &w, &h, &maxval, &header_len) ||
           (w <= STB_GUARD_MAX_SIDE && h <= STB_GUARD_MAX_SIDE && maxval <= 65535);
}

/* Fields at p, big- and little-endian; the caller checked the length. */
static unsigned long be16(const unsigned char *p)
{
    return (unsigned long)p[0] << 8 | p[1];
}

static unsigned long be32(const unsigned char *p)
{
    return be16(p) << 16 | be16(p + 2);
}

static unsigned long le16(const unsigned char *p)
{
    return (unsigned long)p[1] << 8 | p[0];
}

static unsigned long le32(const unsigned char *p)
{
    return le16(p + 2) << 16 | le16(p);
}

int stb_guard_fits(unsigned long w, unsigned long h)
{
    return w <= STB_GUARD_MAX_SIDE && h <= STB_GUARD_MAX_SIDE &&
           (unsigned long long)w * h <= STB_GUARD_MAX_PIXELS;
}

/* What a format's scan found: the size as the format's stb loader reads
 * it (when sized), and whether the file ends before the last byte that
 * loader reads (cut). */
typedef struct {
    int sized;
    unsigned long w, h;
    int cut;
} scan_result;

/* stb's skip by a 32-bit length field: past INT_MAX the length is negative
 * to stb, which then jumps to the end. */
static void skip_field(size_t len, size_t *at, unsigned long n)
{
    take(len, at, n > INT_MAX ? len : n);
}

/* Each scan returns 1 when stb's test takes data for its format, with what
 * it found in *r (zeroed by the caller), and 0 otherwise. The pixel data is
 * walked only for sizes that stb_guard_fits. stb's PNG and JPEG decoders
 * notice a cut file themselves, so those scans only read the size. */

static int png_scan(const unsigned char *d, size_t len, scan_result *r)
{
    if (len < 8 || memcmp(d, "\x89PNG\r\n\x1a\n", 8) != 0)
        return 0;
    size_t at = 8;
    /* Apple's CgBI chunks may come first, as stb allows. */
    while (len - at >= 8 && memcmp(d + at + 4, "CgBI", 4) == 0) {
        unsigned long n = be32(d + at);
        take(len, &at, 12); /* length, type, CRC */
        skip_field(len, &at, n);
    }
    if (len - at >= 16 && memcmp(d + at + 4, "IHDR", 4) == 0)
        *r = (scan_result){1, be32(d + at + 8), be32(d + at + 12), 0};
    return 1;
}

static int jpeg_scan(const unsigned char *d, size_t len, scan_result *r)
{
    size_t at = 0;
    while (at < len && d[at] == 0xFF)
        at++;
    if (at == 0 || at == len || d[at++] != 0xD8)
        return 0;
    while (at < len) {
        if (d[at++] != 0xFF)
            continue;
        while (at < len && d[at] == 0xFF)
            at++;
        if (len - at < 3)
            break;
        int marker = d[at++];
        if (marker >= 0xC0 && marker <= 0xC2) { /* the frames stb decodes */
            if (len - at >= 7)
                *r = (scan_result){1, be16(d + at + 5), be16(d + at + 3), 0};
            break;
        }
        /* Tables, restart interval, application data and comments: the
         * segments stb reads before a frame; it refuses any other. */
        if (marker != 0xC4 && marker != 0xDB && marker != 0xDD && marker != 0xFE &&
            (marker < 0xE0 || marker > 0xEF))
            break;
        take(len, &at, be16(d + at));
    }
    return 1;
}

/* Whether the sub-blocks from *at reach their zero terminator in the file. */
static int gif_sub_blocks(const unsigned char *d, size_t len, size_t *at)
{
    while (*at < len) {
        unsigned n = d[(*at)++];
        if (n == 0)
            return 1;
        if (!take(len, at, n))
            return 0;
    }
    return 0;
}

/* Whether the file holds all that stb's GIF loader reads up to the end of
 * the first frame. It reads zeros past the end and takes a zero as the
 * last sub-block, so a GIF cut anywhere before that decodes, mostly black,
 * without a word. */
static int gif_first_frame_whole(const unsigned char *d, size_t len)
{
    size_t at = 13; /* header, logical screen descriptor */
    if (len < at || ((d[10] & 0x80) && !take(len, &at, 3ull << ((d[10] & 7) + 1))))
        return 0;
    while (at < len) {
        int tag = d[at++];
        if (tag == 0x2C) { /* descriptor, colour table, LZW code size, data */
            if (len - at < 9)
                return 0;
            int flags = d[at + 8];
            at += 9;
            if ((flags & 0x80) && !take(len, &at, 3ull << ((flags & 7) + 1)))
                return 0;
            return take(len, &at, 1) && gif_sub_blocks(d, len, &at);
        }
        if (tag != 0x21)
            return 1; /* the trailer, or a byte stb refuses: stb reads on no further */
        if (at == len)
            return 0;
        if (d[at++] == 0xF9) {
            /* stb reads a graphic control block of 4 bytes and the
             * sub-blocks after it, but skips one of another length and
             * reads the next tag. */
            if (at == len)
                return 0;
            unsigned n = d[at++];
            if (!take(len, &at, n))
                return 0;
            if (n != 4)
                continue;
        }
        if (!gif_sub_blocks(d, len, &at))
            return 0;
    }
    return 0;
}

static int gif_scan(const unsigned char *d, size_t len, scan_result *r)
{
    if (len < 6 || memcmp(d, "GIF8", 4) != 0 || (d[4] != '7' && d[4] != '9') || d[5] != 'a')
        return 0;
    if (len >= 10)
        *r = (scan_result){1, le16(d + 6), le16(d + 8), 0};
    r->cut = !gif_first_frame_whole(d, len);
    return 1;
}

/* stb's BMP loader reads zeros past the end. Its arithmetic is mirrored in
 * int, as it does it, to find where it reads the first pixel. */
static int bmp_scan(const unsigned char *d, size_t len, scan_result *r)
{
    if (len < 2 || d[0] != 'B' || d[1] != 'M')
        return 0;
    r->cut = 1;
    if (len < 18)
        return 1;
    unsigned long hsz = le32(d + 14);
    if (hsz != 12 && hsz != 40 && hsz != 56 && hsz != 108 && hsz != 124)
        return 0;
    int core = hsz == 12; /* OS/2's header: 16-bit sizes, no compression */
    if (len >= (core ? 22u : 26u)) {
        r->sized = 1;
        r->w = core ? le16(d + 18) : le32(d + 18);
        r->h = core ? le16(d + 20) : le32(d + 22);
        if (r->h > 0x7FFFFFFFul) /* negative: stored top-down */
            r->h = 0xFFFFFFFFul - r->h + 1;
    }
    if (len < 14 + hsz)
        return 1;
    unsigned long offset = le32(d + 10), planes = le16(d + (core ? 22 : 26));
    unsigned long bpp = le16(d + (core ? 24 : 28)), compress = core ? 0 : le32(d + 30);
    r->cut = 0;
    if (offset > INT_MAX || planes != 1 || compress == 1 || compress == 2 || compress >= 4 ||
        (compress == 3 && bpp != 16 && bpp != 32) || !stb_guard_fits(r->w, r->h))
        return 1; /* stb refuses it */
    /* The bit masks after a 40- or 56-byte header. */
    int masks = (hsz == 40 || hsz == 56) && compress == 3;
    long long header = 14 + (long long)hsz + (masks ? 12 : 0), at = header, skip;
    int psize = 0, entry = core ? 3 : 4;
    if (core ? bpp < 24 : bpp < 16)
        psize = core ? ((int)offset - 14 - 24) / 3 : ((int)offset - 14 - (int)hsz) >> 2;
    if (psize == 0 && (long long)offset != header)
        return 1; /* stb: bad offset */
    unsigned long long row;
    if (bpp < 16) {
        if (psize == 0 || psize > 256 || (bpp != 1 && bpp != 4 && bpp != 8))
            return 1;
        row = bpp == 1 ? (r->w + 7) >> 3 : bpp == 4 ? (r->w + 1) >> 1 : r->w;
        at += psize > 0 ? (long long)psize * entry : 0;
        skip = (long long)offset - 14 - (long long)hsz - (long long)psize * entry;
    } else {
        row = (bpp == 24 ? 3 : bpp == 16 ? 2 : 4) * (unsigned long long)r->w;
        skip = (long long)offset - header;
    }
    at = skip < 0 ? (long long)len : at + skip;
    unsigned long long pad = bpp == 24 || bpp < 16 || bpp == 16 ? (4 - row % 4) % 4 : 0;
    if (r->w > 0 && r->h > 0)
        r->cut = (unsigned long long)at + (r->h - 1) * (row + pad) + row > len;
    return 1;
}

/* stb's stbi__tga_get_comp: channels, and whether 15/16-bit RGB is read (2
 * bytes a pixel). */
static int tga_channels(unsigned long bits, int grey, int *rgb16)
{
    *rgb16 = 0;
    switch (bits) {
    case 8: return 1;
    case 16:
        if (grey)
            return 2;
        /* fallthrough */
    case 15: *rgb16 = 1; return 3;
    case 24: case 32: return (int)bits / 8;
    default: return 0;
    }
}

static int tga_bits_ok(int bits)
{
    return bits == 8 || bits == 15 || bits == 16 || bits == 24 || bits == 32;
}

/* stb's TGA test and loader, on the header zero-padded as stb reads it. */
static int tga_scan(const unsigned char *d, size_t len, scan_result *r)
{
    unsigned char hd[18] = {0};
    memcpy(hd, d, len < sizeof hd ? len : sizeof hd);
    int indexed = hd[1], type = hd[2], pal_bits = hd[7], bits = hd[16];
    if (indexed > 1 || (indexed && ((type != 1 && type != 9) || !tga_bits_ok(pal_bits))) ||
        (!indexed && type != 2 && type != 3 && type != 10 && type != 11))
        return 0;
    *r = (scan_result){1, le16(hd + 12), le16(hd + 14), 0};
    if (r->w < 1 || r->h < 1 || (indexed && bits != 8 && bits != 16) || !tga_bits_ok(bits))
        return 0;
    if (!stb_guard_fits(r->w, r->h))
        return 1;
    int rle = type >= 8, rgb16;
    int channels = tga_channels(indexed ? (unsigned long)pal_bits : (unsigned long)bits,
                                !indexed && type % 8 == 3, &rgb16);
    size_t at = 0;
    unsigned long long pixel;
    take(len, &at, 18 + (unsigned long long)hd[0]); /* header, image id */
    if (indexed) {
        unsigned long pal_len = le16(hd + 5);
        if (pal_len == 0)
            return 1; /* stb refuses it */
        take(len, &at, le16(hd + 3)); /* stb skips the first entry's index */
        r->cut = !take(len, &at, pal_len * (unsigned long long)(rgb16 ? 2 : channels));
        pixel = bits == 8 ? 1 : 2;
    } else {
        pixel = rgb16 ? 2 : (unsigned long long)channels;
    }
    unsigned long long left = (unsigned long long)r->w * r->h;
    if (!rle) {
        r->cut |= !take(len, &at, left * pixel);
        return 1;
    }
    /* Run-length packets: a count byte, then one pixel repeated or the
     * count's pixels; the last packet may reach past the image. */
    while (left > 0 && !r->cut) {
        if (at == len) {
            r->cut = 1;
            break;
        }
        unsigned cmd = d[at++];
        unsigned long long n = 1 + (cmd & 127);
        if (n > left)
            n = left;
        r->cut = !take(len, &at, cmd & 128 ? pixel : n * pixel);
        left -= n;
    }
    return 1;
}

/* stb's PSD loader reads zeros past the end. */
static int psd_scan(const unsigned char *d, size_t len, scan_result *r)
{
    if (len < 4 || memcmp(d, "8BPS", 4) != 0)
        return 0;
    r->cut = 1;
    if (len >= 22) {
        r->sized = 1;
        r->h = be32(d + 14);
        r->w = be32(d + 18);
    }
    if (len < 26)
        return 1;
    unsigned long channels = be16(d + 12), depth = be16(d + 22);
    r->cut = 0;
    if (be16(d + 4) != 1 || channels > 16 || (depth != 8 && depth != 16) || be16(d + 24) != 3 ||
        !stb_guard_fits(r->w, r->h))
        return 1; /* stb refuses it */
    size_t at = 26;
    for (int i = 0; i < 3; i++) { /* mode data, image resources, layers: skipped */
        if (len - at < 4) {
            r->cut = 1;
            return 1;
        }
        unsigned long n = be32(d + at);
        at += 4;
        skip_field(len, &at, n);
    }
    if (len - at < 2) {
        r->cut = 1;
        return 1;
    }
    unsigned long compression = be16(d + at);
    at += 2;
    unsigned long long pixels = (unsigned long long)r->w * r->h;
    unsigned long used = channels < 4 ? channels : 4; /* stb reads at most R, G, B, A */
    if (compression > 1)
        return 1;
    if (compression == 0) {
        r->cut = !take(len, &at, used * pixels * (depth / 8));
        return 1;
    }
    /* PackBits per channel (8 bits a sample, whatever the depth), after a
     * byte count per row and channel that stb skips. */
    take(len, &at, (unsigned long long)r->h * channels * 2);
    for (unsigned long c = 0; c < used; c++) {
        for (unsigned long long left = pixels; left > 0;) {
            if (at == len) {
                r->cut = 1;
                return 1;
            }
            unsigned n = d[at++];
            if (n == 128)
                continue; /* no-op */
            unsigned long long run = n < 128 ? n + 1 : 257 - n;
            if (run > left)
                return 1; /* stb refuses it */
            if (!take(len, &at, n < 128 ? run : 1)) {
                r->cut = 1;
                return 1;
            }
            left -= run;
        }
    }
    return 1;
}

/* stb's PNM loader reads the pixels with one call that fails when they are
 * not all there, and then leaves them uninitialised. */
static int pnm_scan(const unsigned char *d, size_t len, scan_result *r)
{
    int kind;
    long w, h, maxval;
    size_t at;
    if (!pnm_header(d, len, &kind, &w, &h, &maxval, &at))
        return 0;
    if (w > INT_MAX || h > INT_MAX)
        return 1; /* beyond stb's int parser: pnm_header_in_range refuses it */
    *r = (scan_result){1, (unsigned long)w, (unsigned long)h, 0};
    unsigned long long samples = r->w * (unsigned long long)r->h * (kind == '6' ? 3 : 1);
    if (stb_guard_fits(r->w, r->h) && maxval <= 65535)
        r->cut = !take(len, &at, samples * (maxval > 255 ? 2 : 1));
    return 1;
}

/* One header line as stb's tokeniser reads it, its first 1023 characters
 * kept in buf; 0 when the file ends before its newline. */
static int hdr_line(const unsigned char *d, size_t len, size_t *at, char buf[1024])
{
    size_t n = 0;
    while (*at < len) {
        char c = (char)d[(*at)++];
        if (c == '\n') {
            buf[n] = '\0';
            return 1;
        }
        if (n < 1023)
            buf[n++] = c;
    }
    return 0;
}

/* stb's HDR loader leaves the pixels of a cut flat file uninitialised, and
 * loops forever on a cut run-length one (a zero count past the end). */
static int hdr_scan(const unsigned char *d, size_t len, scan_result *r)
{
    if (!(len >= 11 && memcmp(d, "#?RADIANCE\n", 11) == 0) &&
        !(len >= 7 && memcmp(d, "#?RGBE\n", 7) == 0))
        return 0;
    char line[1024], *s;
    size_t at = 0;
    int rgbe = 0;
    r->cut = 1;
    hdr_line(d, len, &at, line);
    do {
        if (!hdr_line(d, len, &at, line))
            return 1;
        rgbe |= strcmp(line, "FORMAT=32-bit_rle_rgbe") == 0;
    } while (line[0] != '\0');
    if (!hdr_line(d, len, &at, line))
        return 1;
    r->cut = 0;
    if (!rgbe || strncmp(line, "-Y ", 3) != 0)
        return 1; /* stb refuses it */
    int h = (int)strtol(line + 3, &s, 10), w;
    while (*s == ' ')
        s++;
    if (strncmp(s, "+X ", 3) != 0)
        return 1;
    w = (int)strtol(s + 3, NULL, 10);
    if (w <= 0 || h <= 0)
        return 1;
    *r = (scan_result){1, (unsigned long)w, (unsigned long)h, 0};
    if (!stb_guard_fits(r->w, r->h))
        return 1;
    if (w < 8 || w >= 32768) { /* flat RGBE pixels */
        r->cut = !take(len, &at, 4ull * (unsigned long long)w * (unsigned long long)h);
        return 1;
    }
    for (int y = 0; y < h; y++) {
        if (len - at < 4) {
            r->cut = 1;
            return 1;
        }
        if (d[at] != 2 || d[at + 1] != 2 || (d[at + 2] & 0x80)) {
            /* Not run-length: stb reads the whole image flat from here. */
            r->cut = !take(len, &at, 4ull * (unsigned long long)w * (unsigned long long)h);
            return 1;
        }
        if ((d[at + 2] << 8 | d[at + 3]) != w)
            return 1; /* stb refuses it */
        at += 4;
        for (int channel = 0; channel < 4; channel++) {
            for (int x = 0; x < w;) {
                if (at == len) {
                    r->cut = 1;
                    return 1;
                }
                int count = d[at++], run = count > 128;
                if (run)
                    count -= 128;
                if (count > w - x)
                    return 1; /* stb refuses it */
                if (!take(len, &at, run ? 1 : (unsigned long long)count)) {
                    r->cut = 1;
                    return 1;
                }
                x += count;
            }
        }
    }
    return 1;
}

/* TGA last, as in stb (its test is the weakest); the others' tests exclude
 * each other. PIC is not here: its loader checks for the end itself. */
static const struct {
    int (*scan)(const unsigned char *d, size_t len, scan_result *r);
    const char *truncated;
} formats[] = {
    {png_scan, NULL},
    {jpeg_scan, NULL},
    {gif_scan, "GIF file truncated"},
    {bmp_scan, "BMP file truncated"},
    {psd_scan, "PSD file truncated"},
    {pnm_scan, "PNM file truncated"},
    {hdr_scan, "HDR file truncated"},
    {tga_scan, "TGA file truncated"},
};

/* The scan of the format stb takes data for into *r, with its truncation
 * reason in *truncated; 0 when stb takes it for none of them. */
static int scan_format(const unsigned char *d, size_t len, scan_result *r, const char **truncated)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        *r = (scan_result){0, 0, 0, 0};
        if (formats[i].scan(d, len, r)) {
            *truncated = formats[i].truncated;
            return 1;
        }
    }
    return 0;
}

int stb_guard_size(const unsigned char *data, size_t len, unsigned long *w, unsigned long *h)
{
    scan_result r;
    const char *truncated;
    if (!scan_format(data, len, &r, &truncated) || !r.sized)
        return 0;
    *w = r.w;
    *h = r.h;
    return 1;
}

const char *stb_guard_check(const unsigned char *data, size_t len)
{
    if (!pnm_header_in_range(data, len))
        return "PNM header value out of range";
    if (!jpeg_tables_ok(data, len))
        return "bad JPEG Huffman table";
    return NULL;
}

const char *stb_guard_truncated(const unsigned char *data, size_t len)
{
    scan_result r;
    const char *truncated;
    return scan_format(data, len, &r, &truncated) && r.cut ? truncated : NULL;
}
