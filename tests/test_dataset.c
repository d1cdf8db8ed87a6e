/* test_dataset.c - dataset_load() on small images this test writes itself
 * into a temporary directory: order, content detection, grey conversion,
 * colour runs, size checks, and every error path the contract names. */
#define _XOPEN_SOURCE 700

#include "dataset.h"
#include "test_util.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image_resize.h>
#include <stb_image_write.h>

static char root[] = "/tmp/nmf_test_dataset_XXXXXX";
static int notes;

static void count_note(const char *msg, void *user)
{
    (void)msg;
    (void)user;
    notes++;
}

/* Paths under root; the returned buffer is reused by the next call. */
static const char *at(const char *rel)
{
    static char buf[4][512];
    static int next;
    char *b = buf[next++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", root, rel);
    return b;
}

static void make_dir(const char *rel)
{
    CHECK(mkdir(at(rel), 0700) == 0);
}

static void write_bytes(const char *rel, const void *data, size_t len)
{
    FILE *f = fopen(at(rel), "wb");
    CHECK(f != NULL);
    if (!f)
        return;
    CHECK(fwrite(data, 1, len, f) == len);
    fclose(f);
}

/* An 8-bit binary PGM of w*h pixels, every pixel `value` + its index. */
static void write_pgm(const char *rel, int w, int h, int value)
{
    unsigned char buf[2048];
    int head = snprintf((char *)buf, sizeof buf, "P5\n%d %d\n255\n", w, h);
    for (int i = 0; i < w * h; i++)
        buf[head + i] = (unsigned char)(value + i);
    write_bytes(rel, buf, (size_t)(head + w * h));
}

/* 4x3, 4-colour palette (black, red, green, blue), indices below; LZW data
 * with a clear code every two pixels so the code size stays at 3 bits. */
static const unsigned char gif_4x3[] = {
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x04, 0x00, 0x03, 0x00, 0x81, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00,
    0xff, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x02,
    0x08, 0x44, 0xa8, 0x71, 0x62, 0xc0, 0x84, 0x52, 0x01, 0x00, 0x3b};
static const int gif_index[12] = {0, 1, 2, 3, 3, 2, 1, 0, 1, 1, 2, 2};
static const unsigned char gif_palette[4][3] = {{0, 0, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};

/* A minimal baseline JPEG built by hand, because stbi_write_jpg trips
 * UBSan (a signed left shift in stbiw__jpg_writeBits): one 8x8 grey block,
 * quantisers all 1, one-code Huffman tables (DC category 7, AC end of
 * block), DC = -64 so that every pixel is 128 - 64/8 = 120. */
static void write_jpeg(const char *rel)
{
    static const unsigned char head[] = {0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00};
    static const unsigned char tail[] = {
        0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x08, 0x00, 0x08, 0x01, 0x01, 0x11, 0x00,
        0xFF, 0xC4, 0x00, 0x14, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x07,
        0xFF, 0xC4, 0x00, 0x14, 0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x3F, 0x00,
        0x3F, 0x7F, /* DC: code 0, bits 0111111 (-64); AC: code 0 (EOB); 1s pad */
        0xFF, 0xD9};
    unsigned char jpeg[sizeof head + 64 + sizeof tail];
    memcpy(jpeg, head, sizeof head);
    memset(jpeg + sizeof head, 1, 64);
    memcpy(jpeg + sizeof head + 64, tail, sizeof tail);
    write_bytes(rel, jpeg, sizeof jpeg);
}

static double luma(double r, double g, double b)
{
    return 0.299 * r + 0.587 * g + 0.114 * b;
}

/* The luma of an 8-bit colour, rounded to the nearest level, halves up:
 * round(luma), computed in integers, where (299 R + 587 G + 114 B) / 1000
 * is exact and so are its ties (which luma() in doubles may land on
 * either side of). */
static double luma8(unsigned r, unsigned g, unsigned b)
{
    return (double)((299u * r + 587u * g + 114u * b + 500u) / 1000u);
}

/* Entry i (row-major) of V, whichever form holds it. */
static double v_at(const dataset *d, size_t i)
{
    return d->V8 ? (double)d->V8[i] : (double)d->V[i];
}

static int has_v(const dataset *d)
{
    return d->V != NULL || d->V8 != NULL;
}

/* Whether count values of a from entry i equal those of b from entry j. */
static int same_values(const dataset *a, size_t i, const dataset *b, size_t j, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (v_at(a, i + k) != v_at(b, j + k))
            return 0;
    return 1;
}

/* Whether every value of V is a whole number. */
static int all_whole(const dataset *d)
{
    for (size_t i = 0; i < d->m * d->n; i++)
        if (v_at(d, i) != floor(v_at(d, i)))
            return 0;
    return 1;
}

static nmf_status load(const char *const *rels, size_t n, const dataset_options *opt, dataset *d)
{
    const char *full[8];
    char copies[8][512];
    for (size_t i = 0; i < n; i++) {
        snprintf(copies[i], sizeof copies[i], "%s", at(rels[i]));
        full[i] = copies[i];
    }
    memset(d, 0, sizeof *d);
    nmf_status st = dataset_load(full, n, opt, d);
    /* Exactly one form, named by d->storage, and bytes only when allowed. */
    if (st == NMF_STATUS_OK) {
        CHECK((d->V == NULL) != (d->V8 == NULL));
        CHECK(d->storage != NULL &&
              strcmp(d->storage, d->V8 ? "uint8" : "float32") == 0);
        CHECK(!d->V8 || opt->storage == DATASET_STORAGE_AUTO);
    } else {
        CHECK(d->V == NULL && d->V8 == NULL && d->paths == NULL);
    }
    return st;
}

static nmf_status load_one(const char *rel, const dataset_options *opt, dataset *d)
{
    return load(&rel, 1, opt, d);
}

static void test_natural_compare(void)
{
    CHECK(dataset_natural_compare("s2/9.pgm", "s2/10.pgm") < 0);
    CHECK(dataset_natural_compare("s9", "s10") < 0);
    CHECK(dataset_natural_compare("s10", "s9") > 0);
    CHECK(dataset_natural_compare("s10/1.pgm", "s10/a/2.pgm") < 0);
    CHECK(dataset_natural_compare("abc", "abc") == 0);
    CHECK(dataset_natural_compare("abc", "abd") < 0);
    CHECK(dataset_natural_compare("a", "ab") < 0);
    CHECK(dataset_natural_compare("x7", "x007") < 0);
    CHECK(dataset_natural_compare("x007", "x7") > 0);
    CHECK(dataset_natural_compare("img2b", "img2a") > 0);
    CHECK(dataset_natural_compare("99999999999999999999", "100000000000000000000") < 0);
    CHECK(dataset_natural_compare("", "a") < 0);
}

static void test_order(const dataset_options *opt)
{
    make_dir("order");
    make_dir("order/s1");
    make_dir("order/s2");
    make_dir("order/s9");
    make_dir("order/s10");
    make_dir("order/s10/a");
    make_dir("order/.git");
    const char *rels[] = {"s1/1.pgm", "s1/2.pgm", "s2/9.pgm", "s2/10.pgm",
                          "s9/1.pgm", "s10/1.pgm", "s10/a/2.pgm"};
    char rel[64];
    /* Written in reverse so that creation order cannot pass for sorting. */
    for (int i = 6; i >= 0; i--) {
        snprintf(rel, sizeof rel, "order/%s", rels[i]);
        write_pgm(rel, 4, 3, 10 * i);
    }
    write_pgm("order/.hidden.pgm", 4, 3, 200);
    write_pgm("order/.git/1.pgm", 4, 3, 200);
    write_bytes("order/README", "Forty subjects, ten images each.\n", 33);

    dataset d;
    notes = 0;
    /* The trailing slash must not give "order//s1/1.pgm". */
    CHECK(load_one("order/", opt, &d) == NMF_STATUS_OK);
    CHECK(d.m == 7 && d.width == 4 && d.height == 3 && d.channels == 1 && d.n == 12);
    CHECK(d.skipped == 1 && notes == 1);
    for (size_t i = 0; i < d.m && i < 7; i++) {
        snprintf(rel, sizeof rel, "order/%s", rels[i]);
        CHECK(strcmp(d.paths[i], at(rel)) == 0);
        CHECK(v_at(&d, i * d.n) == 10.0f * (float)i);
        CHECK(v_at(&d, i * d.n + 11) == 10.0f * (float)i + 11.0f);
    }
    dataset_free(&d);
    CHECK(d.V == NULL && d.V8 == NULL && d.paths == NULL && d.m == 0);
}

static unsigned char rgb[12 * 3];

/* Files named to mislead: a GIF, a PNG, a BMP and a PGM. */
static void write_mixed(void)
{
    make_dir("mixed");
    write_bytes("mixed/subject01.happy", gif_4x3, sizeof gif_4x3);
    for (int i = 0; i < 12 * 3; i++)
        rgb[i] = (unsigned char)(i * 7 + 3);
    CHECK(stbi_write_png(at("mixed/noext"), 4, 3, 3, rgb, 4 * 3));
    CHECK(stbi_write_bmp(at("mixed/photo.txt"), 4, 3, 3, rgb));
    write_pgm("mixed/image.png", 4, 3, 100);
}

/* The mixed files given by name (luma), then as a directory (first channel). */
static void test_formats(const dataset_options *opt)
{
    const char *rels[] = {"mixed/subject01.happy", "mixed/noext", "mixed/photo.txt",
                          "mixed/image.png"};
    dataset d;
    CHECK(load(rels, 4, opt, &d) == NMF_STATUS_OK);
    CHECK(d.m == 4 && d.n == 12 && d.skipped == 0);
    for (int p = 0; p < 12 && d.m == 4; p++) {
        const unsigned char *c = gif_palette[gif_index[p]];
        const unsigned char *q = rgb + 3 * p;
        /* 8-bit colour files: their luma rounded, as an 8-bit grey image. */
        CHECK(v_at(&d, p) == luma8(c[0], c[1], c[2]));
        CHECK(v_at(&d, 12 + p) == luma8(q[0], q[1], q[2]));
        CHECK(v_at(&d, 24 + p) == luma8(q[0], q[1], q[2]));
        CHECK(v_at(&d, 36 + p) == (float)(100 + p));
    }
    CHECK(d.m == 4 && strcmp(d.paths[1], at("mixed/noext")) == 0);
    dataset_free(&d);

    dataset_options first = *opt;
    first.grey = DATASET_GREY_FIRST;
    notes = 0;
    CHECK(load_one("mixed", &first, &d) == NMF_STATUS_OK);
    CHECK(d.m == 4 && d.skipped == 0 && notes == 0);
    /* Natural order: image.png, noext, photo.txt, subject01.happy. */
    for (int p = 0; p < 12 && d.m == 4; p++) {
        CHECK(v_at(&d, p) == (float)(100 + p));
        CHECK(v_at(&d, 12 + p) == (float)rgb[3 * p]);
        CHECK(v_at(&d, 24 + p) == (float)rgb[3 * p]);
        CHECK(v_at(&d, 36 + p) == (float)gif_palette[gif_index[p]][0]);
    }
    dataset_free(&d);
}

static void test_deep_formats(const dataset_options *opt)
{
    /* A JPEG decodes through an IDCT, whose rounding may differ by a level
     * between decoders; stb gives exactly 120. */
    write_jpeg("flat.jpg");
    dataset d;
    CHECK(load_one("flat.jpg", opt, &d) == NMF_STATUS_OK);
    CHECK(d.width == 8 && d.height == 8);
    for (size_t p = 0; p < d.n; p++)
        CHECK_CLOSE(v_at(&d, p), 120.0, 1.0, 0.0);
    dataset_free(&d);

    /* 16-bit PGM: values are brought to the 0..255 scale, not truncated. */
    static const unsigned char pgm16[] = "P5\n3 1\n65535\n\xff\xff\x01\x01\x80\x80";
    write_bytes("deep.pgm", pgm16, sizeof pgm16 - 1);
    CHECK(load_one("deep.pgm", opt, &d) == NMF_STATUS_OK);
    CHECK(d.n == 3);
    if (d.n == 3) {
        CHECK_CLOSE(v_at(&d, 0), 255.0, 1e-4, 0.0);
        CHECK_CLOSE(v_at(&d, 1), 1.0, 1e-6, 0.0);
        CHECK_CLOSE(v_at(&d, 2), 128.0, 1e-4, 0.0);
    }
    dataset_free(&d);

    /* HDR keeps values above 255; RGBE stores 8 mantissa bits. */
    float hdr[2 * 3] = {300.0f, 300.0f, 300.0f, 0.5f, 0.5f, 0.5f};
    CHECK(stbi_write_hdr(at("bright.hdr"), 2, 1, 3, hdr));
    CHECK(load_one("bright.hdr", opt, &d) == NMF_STATUS_OK);
    CHECK(d.n == 2);
    if (d.n == 2) {
        CHECK_CLOSE(v_at(&d, 0), 300.0, 0.0, 1e-2);
        CHECK_CLOSE(v_at(&d, 1), 0.5, 0.0, 1e-2);
    }
    dataset_free(&d);
}

static void test_sizes(const dataset_options *opt)
{
    make_dir("sizes");
    write_pgm("sizes/a.pgm", 4, 3, 0);
    write_pgm("sizes/b.pgm", 5, 3, 0);
    dataset d;
    CHECK(load_one("sizes", opt, &d) == NMF_STATUS_BAD_INPUT);
    const char *msg = nmf_last_error();
    CHECK(strstr(msg, "b.pgm: image is 5x3") != NULL);
    CHECK(strstr(msg, "a.pgm is 4x3") != NULL);
    CHECK(strstr(msg, "--resize") != NULL);
    CHECK(d.V == NULL && d.V8 == NULL && d.paths == NULL);

    dataset_options r = *opt;
    r.resize_w = 2;
    r.resize_h = 2;
    CHECK(load_one("sizes", &r, &d) == NMF_STATUS_OK);
    CHECK(d.m == 2 && d.width == 2 && d.height == 2 && d.n == 4);
    /* The triangle filter has no negative lobes: values stay in the
     * source's range 0..14. */
    for (size_t i = 0; i < d.m * d.n; i++)
        CHECK(v_at(&d, i) >= 0.0f && v_at(&d, i) <= 14.0f);
    dataset_free(&d);

    r.resize_w = 9;
    r.resize_h = 7;
    CHECK(load_one("sizes", &r, &d) == NMF_STATUS_OK);
    CHECK(d.m == 2 && d.width == 9 && d.height == 7 && d.n == 63);
    dataset_free(&d);

    r.resize_h = 0;
    CHECK(load_one("sizes", &r, &d) == NMF_STATUS_BAD_ARGUMENT);
}

static void test_errors(const dataset_options *opt)
{
    dataset d;
    make_dir("empty");
    CHECK(load_one("empty", opt, &d) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "no images found (0 files skipped)") != NULL);

    make_dir("text");
    write_bytes("text/a.txt", "hello\n", 6);
    write_bytes("text/b", "", 0);
    notes = 0;
    CHECK(load_one("text", opt, &d) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "no images found (2 files skipped)") != NULL);
    CHECK(notes == 2);

    CHECK(load_one("text/a.txt", opt, &d) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "a.txt: not an image (") != NULL);

    CHECK(load_one("missing", opt, &d) == NMF_STATUS_IO);
    CHECK(strstr(nmf_last_error(), "missing: No such file or directory") != NULL);
    CHECK(d.V == NULL && d.V8 == NULL && d.paths == NULL);

    /* Noise compresses badly, so half the file cuts into the pixel data
     * while the header that stbi_info reads survives. */
    make_dir("trunc");
    unsigned char noise[32 * 32];
    unsigned s = 12345;
    for (int i = 0; i < 32 * 32; i++) {
        s = s * 1103515245u + 12345u;
        noise[i] = (unsigned char)(s >> 16);
    }
    write_pgm("trunc/a.pgm", 32, 32, 0);
    CHECK(stbi_write_png(at("trunc/b.png"), 32, 32, 1, noise, 32));
    struct stat sb;
    CHECK(stat(at("trunc/b.png"), &sb) == 0);
    CHECK(truncate(at("trunc/b.png"), sb.st_size / 2) == 0);
    CHECK(load_one("trunc", opt, &d) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "b.png: corrupt image (") != NULL);
    CHECK(d.V == NULL && d.V8 == NULL);

    /* stb 2.27 does not notice a PGM shorter than its header says. */
    make_dir("shortpgm");
    write_bytes("shortpgm/a.pgm", "P5\n# comment\n4 3\n255\n12345678901", 32);
    CHECK(load_one("shortpgm", opt, &d) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "a.pgm: corrupt image (PNM file truncated)") != NULL);
    write_bytes("shortpgm/a.pgm", "P5\n# comment\n4 3\n255\n123456789012", 33);
    CHECK(load_one("shortpgm", opt, &d) == NMF_STATUS_OK);
    dataset_free(&d);

    /* A PNG signature with a broken header is corrupt, not skipped. */
    make_dir("badhead");
    write_bytes("badhead/x", "\x89PNG\r\n\x1a\nrubbish", 15);
    CHECK(load_one("badhead", opt, &d) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "x: corrupt image (") != NULL);

    /* 8192 8-bit headers of 16384x8192, each within the caps, claim
     * 1099.5 GB as bytes (4398.0 GB as float32), more than any machine this
     * runs on has: refused from the headers alone, before anything is
     * allocated or decoded, at the element size of the storage. */
    make_dir("huge");
    char rel[32];
    for (int i = 0; i < 8192; i++) {
        snprintf(rel, sizeof rel, "huge/%d.pgm", i);
        write_bytes(rel, "P5\n16384 8192\n255\n", 19);
    }
    dataset_options as[2] = {*opt, *opt};
    as[0].storage = DATASET_STORAGE_AUTO;
    as[1].storage = DATASET_STORAGE_FLOAT32;
    const char *huge_need[2] = {"needs 1099.5 GB (8192 images of 16384x8192, uint8)",
                                "needs 4398.0 GB (8192 images of 16384x8192, float32)"};
    for (int i = 0; i < 2; i++) {
        CHECK(load_one("huge", &as[i], &d) == NMF_STATUS_TOO_LARGE);
        CHECK(strstr(nmf_last_error(), huge_need[i]) != NULL);
        CHECK(strstr(nmf_last_error(), "of memory is available") != NULL);
        CHECK(d.V == NULL && d.V8 == NULL);
    }
}

/* A file's bytes, built in memory. */
typedef struct {
    unsigned char b[8192];
    size_t n;
} bytes;

static void put(bytes *f, const void *p, size_t n)
{
    CHECK(f->n + n <= sizeof f->b);
    if (f->n + n <= sizeof f->b) {
        memcpy(f->b + f->n, p, n);
        f->n += n;
    }
}

static void put8(bytes *f, unsigned v)
{
    unsigned char c = (unsigned char)v;
    put(f, &c, 1);
}

static void put16le(bytes *f, unsigned v)
{
    put8(f, v & 255);
    put8(f, v >> 8);
}

static void put16be(bytes *f, unsigned v)
{
    put8(f, v >> 8);
    put8(f, v & 255);
}

static void put32be(bytes *f, unsigned long v)
{
    put16be(f, (unsigned)(v >> 16));
    put16be(f, (unsigned)(v & 0xFFFF));
}

static void read_into(const char *rel, bytes *f)
{
    FILE *in = fopen(at(rel), "rb");
    CHECK(in != NULL);
    f->n = in ? fread(f->b, 1, sizeof f->b, in) : 0;
    if (in)
        fclose(in);
}

static unsigned char noise_byte(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (unsigned char)(*s >> 16);
}

/* f whole loads as a w x h image whose first pixel is first (when >= 0);
 * cut to each of the lengths it is refused, naming it, as "reason". */
static void check_cuts(const char *rel, const bytes *f, int w, int h, double first,
                       const size_t *cuts, size_t n_cuts, const char *reason,
                       const dataset_options *opt)
{
    dataset d;
    write_bytes(rel, f->b, f->n);
    CHECK(load_one(rel, opt, &d) == NMF_STATUS_OK);
    CHECK(d.width == w && d.height == h);
    if (has_v(&d) && first >= 0)
        CHECK_CLOSE(v_at(&d, 0), first, 1e-3, 1e-6);
    dataset_free(&d);
    char want[600];
    snprintf(want, sizeof want, "%s: corrupt image (%s)", at(rel), reason);
    for (size_t i = 0; i < n_cuts; i++) {
        write_bytes(rel, f->b, cuts[i]);
        nmf_status st = load_one(rel, opt, &d);
        if (st != NMF_STATUS_BAD_INPUT || !strstr(nmf_last_error(), want))
            fprintf(stderr, "%s cut to %zu of %zu bytes: %s\n", rel, cuts[i], f->n,
                    st ? nmf_last_error() : "loaded");
        CHECK(st == NMF_STATUS_BAD_INPUT && strstr(nmf_last_error(), want) != NULL);
        CHECK(d.V == NULL && d.V8 == NULL);
    }
}

/* A w x h GIF of 4 grey levels (index i is grey 85 i), a graphic control
 * extension before the image, and LZW codes as in gif_4x3 (a clear code
 * every two pixels keeps them at 3 bits) in as many 255-byte sub-blocks as
 * they take. *data_at is where the first sub-block starts. */
static void make_gif(bytes *f, int w, int h, const unsigned char *index, size_t *data_at)
{
    put(f, "GIF89a", 6);
    put16le(f, (unsigned)w);
    put16le(f, (unsigned)h);
    put(f, "\x81\0\0", 3); /* a global table of 4 colours */
    for (int i = 0; i < 4; i++)
        put(f, (unsigned char[]){(unsigned char)(85 * i), (unsigned char)(85 * i),
                                 (unsigned char)(85 * i)}, 3);
    put(f, "\x21\xF9\x04\0\0\0\0\0", 8);
    put8(f, 0x2C);
    put(f, "\0\0\0\0", 4);
    put16le(f, (unsigned)w);
    put16le(f, (unsigned)h);
    put(f, "\0\x02", 2); /* no local table; 2-bit minimum code size */
    unsigned char lzw[4096];
    size_t n = 0;
    unsigned long bits = 0;
    int held = 0;
    for (int i = 0; i <= w * h; i++) {
        int codes[2] = {i % 2 == 0 ? 4 : -1, i < w * h ? index[i] : 5}; /* clear, EOI */
        for (int c = 0; c < 2; c++) {
            if (codes[c] < 0)
                continue;
            bits |= (unsigned long)codes[c] << held;
            for (held += 3; held >= 8; held -= 8, bits >>= 8)
                lzw[n++] = (unsigned char)bits;
        }
    }
    if (held > 0)
        lzw[n++] = (unsigned char)bits;
    *data_at = f->n;
    for (size_t off = 0; off < n; off += 255) {
        size_t len = n - off < 255 ? n - off : 255;
        put8(f, (unsigned)len);
        put(f, lzw + off, len);
    }
    put(f, "\0\x3B", 2); /* terminator, trailer */
}

/* A w x h RGB PSD, raw or PackBits (row 0 a run, the others literal). */
static void make_psd(bytes *f, int w, int h, int rle, const unsigned char *pixels)
{
    put(f, "8BPS\0\x01\0\0\0\0\0\0\0\x03", 14);
    put32be(f, (unsigned long)h);
    put32be(f, (unsigned long)w);
    put(f, "\0\x08\0\x03", 4);                 /* 8 bits, RGB */
    put(f, "\0\0\0\0\0\0\0\0\0\0\0\0", 12);  /* no mode data, resources, layers */
    put16be(f, (unsigned)rle);
    if (rle)
        for (int i = 0; i < 3 * h; i++)
            put16be(f, i % h == 0 ? 2u : (unsigned)w + 1);
    for (int c = 0; c < 3; c++) {
        for (int y = 0; y < h; y++) {
            if (rle && y == 0) {
                put8(f, 257u - (unsigned)w);
                put8(f, pixels[c]);
                continue;
            }
            if (rle)
                put8(f, (unsigned)w - 1);
            for (int x = 0; x < w; x++)
                put8(f, pixels[3 * (y * w + x) + c]);
        }
    }
}

/* Every format stb reads short without a word is refused as truncated at
 * a few cut points, and still read whole. */
static void test_truncated(const dataset_options *opt)
{
    make_dir("cut");
    unsigned s = 4242;
    unsigned char pix[32 * 24 * 3];
    for (size_t i = 0; i < sizeof pix; i++)
        pix[i] = noise_byte(&s);
    for (int i = 0; i < 3 * 16; i++) /* row 0 of the 16-wide images: one colour */
        pix[i] = pix[i % 3];
    bytes f;

    /* GIF: in the LZW data (as head -c does), at the second sub-block's
     * length, without the terminator; in the colour table and the
     * extension. Without the trailer alone it is whole. */
    unsigned char index[32 * 24];
    for (int i = 0; i < 32 * 24; i++)
        index[i] = pix[i] & 3;
    size_t data_at;
    f.n = 0;
    make_gif(&f, 32, 24, index, &data_at);
    CHECK(f.n > data_at + 256 + 2); /* more than one sub-block */
    size_t gif_cuts[] = {data_at + 100, data_at + 256, f.n - 2, 20, 40, 6};
    check_cuts("cut/a.gif", &f, 32, 24, 85.0 * index[0], gif_cuts, 6, "GIF file truncated", opt);
    dataset d;
    write_bytes("cut/a.gif", f.b, f.n - 1);
    CHECK(load_one("cut/a.gif", opt, &d) == NMF_STATUS_OK);
    dataset_free(&d);
    remove(at("cut/a.gif"));

    /* BMP, 24-bit rows of 5 pixels, padded to 16 bytes: a cut of the last
     * row's padding alone is whole. */
    CHECK(stbi_write_bmp(at("cut/a.bmp"), 5, 4, 3, pix));
    read_into("cut/a.bmp", &f);
    size_t bmp_cuts[] = {f.n - 2, 54 + 20, 54, 30, 10};
    check_cuts("cut/a.bmp", &f, 5, 4, -1, bmp_cuts, 5, "BMP file truncated", opt);
    write_bytes("cut/a.bmp", f.b, f.n - 1);
    CHECK(load_one("cut/a.bmp", opt, &d) == NMF_STATUS_OK);
    dataset_free(&d);
    remove(at("cut/a.bmp"));

    /* TGA, raw and run-length (row 0 a run). */
    for (int rle = 0; rle <= 1; rle++) {
        stbi_write_tga_with_rle = rle;
        CHECK(stbi_write_tga(at("cut/a.tga"), 16, 8, 3, pix));
        read_into("cut/a.tga", &f);
        size_t tga_cuts[] = {f.n - 1, f.n / 2, 19, 18, 17};
        check_cuts("cut/a.tga", &f, 16, 8, -1, tga_cuts, 5, "TGA file truncated", opt);
    }
    stbi_write_tga_with_rle = 1;
    remove(at("cut/a.tga"));

    /* PSD, raw and PackBits. */
    for (int rle = 0; rle <= 1; rle++) {
        f.n = 0;
        make_psd(&f, 16, 8, rle, pix);
        size_t psd_cuts[] = {f.n - 1, f.n / 2, 40, 30, 20};
        check_cuts("cut/a.psd", &f, 16, 8, luma8(pix[0], pix[1], pix[2]), psd_cuts, 5,
                   "PSD file truncated", opt);
    }
    remove(at("cut/a.psd"));

    /* 16-bit PPM (8-bit PGM in test_errors). */
    f.n = 0;
    put(&f, "P6\n2 1\n65535\n", 13);
    put(&f, pix, 12);
    size_t pnm_cuts[] = {f.n - 1, 14, 13};
    check_cuts("cut/a.ppm", &f, 2, 1, -1, pnm_cuts, 3, "PNM file truncated", opt);
    remove(at("cut/a.ppm"));

    /* HDR, flat (under 8 wide) and run-length: stb would loop forever on
     * the cut run-length one. */
    float hdr[16 * 8 * 3];
    for (int i = 0; i < 16 * 8 * 3; i++)
        hdr[i] = pix[i] / 16.0f;
    int widths[] = {4, 16};
    for (int i = 0; i < 2; i++) {
        CHECK(stbi_write_hdr(at("cut/a.hdr"), widths[i], 8, 3, hdr));
        read_into("cut/a.hdr", &f);
        size_t hdr_cuts[] = {f.n - 1, f.n - 60, f.n / 2, f.n - 4 * 8 * (size_t)widths[i] + 2};
        check_cuts("cut/a.hdr", &f, widths[i], 8, -1, hdr_cuts, 4, "HDR file truncated", opt);
    }
    remove(at("cut/a.hdr"));
}

/* A header over the caps is too large, with its size and the caps, for
 * every format whose size we read; stb calls these corrupt. */
static void test_too_large(const dataset_options *opt)
{
    make_dir("big");
    static const struct {
        const char *name, *bytes;
        size_t len;
        const char *size;
    } big[] = {
#define BIG(name, bytes, size) {name, bytes, sizeof bytes - 1, size}
        BIG("a.png", "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\xea\x60\0\0\xea\x60\x08\0\0\0\0\0\0\0\0",
            "60000x60000"),
        BIG("a.gif", "GIF89a\x60\xea\x60\xea\0\0\0\x3b", "60000x60000"),
        BIG("a.jpg", "\xff\xd8\xff\xc0\0\x0b\x08\xff\xff\xff\xff\x01\x01\x11\0\xff\xd9",
            "65535x65535"),
        BIG("a.bmp", "BM\0\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x70\x11\x01\0\x02\0\0\0\x01\0\x18\0",
            "70000x2"),
        BIG("a.psd", "8BPS\0\x01\0\0\0\0\0\0\0\x03\0\0\x40\0\0\0\x40\x01\0\x08\0\x03",
            "16385x16384"),
        BIG("a.tga", "\0\0\x02\0\0\0\0\0\0\0\0\0\xff\xff\xff\xff\x18\0", "65535x65535"),
        BIG("a.pgm", "P5\n70000 1\n255\n", "70000x1"),
        BIG("b.pgm", "P5 11586 11586 255\n", "11586x11586"), /* 11585 squared fits */
        BIG("a.hdr", "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 20000 +X 20000\n", "20000x20000"),
#undef BIG
    };
    char rel[64], want[600];
    dataset d;
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        snprintf(rel, sizeof rel, "big/%s", big[i].name);
        write_bytes(rel, big[i].bytes, big[i].len);
        snprintf(want, sizeof want,
                 "%s: image too large (%s; at most 65536 pixels a side and 134217728 pixels)",
                 at(rel), big[i].size);
        nmf_status st = load_one(rel, opt, &d);
        if (st != NMF_STATUS_TOO_LARGE || !strstr(nmf_last_error(), want))
            fprintf(stderr, "%s: %s\n", rel, nmf_last_error());
        CHECK(st == NMF_STATUS_TOO_LARGE && strstr(nmf_last_error(), want) != NULL);
        remove(at(rel));
    }
    /* At the caps the header is read on (here to the missing pixels);
     * test_errors' huge images are 16384x8192, at the pixel cap. */
    write_bytes("big/c.pgm", "P5 65536 1 255\n", 15);
    CHECK(load_one("big/c.pgm", opt, &d) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "c.pgm: corrupt image (PNM file truncated)") != NULL);
}

/* A top-down BMP (negative height) reads as the same image stored
 * bottom-up; stbi_info gives its height negative. */
static void test_top_down_bmp(const dataset_options *opt)
{
    CHECK(stbi_write_bmp(at("up.bmp"), 4, 3, 3, rgb));
    bytes f;
    read_into("up.bmp", &f);
    bytes down = f;
    for (int y = 0; y < 3; y++) /* rows of 12 bytes, no padding */
        memcpy(down.b + 54 + 12 * y, f.b + 54 + 12 * (2 - y), 12);
    memcpy(down.b + 22, "\xfd\xff\xff\xff", 4); /* -3 */
    write_bytes("down.bmp", down.b, down.n);
    const char *rels[] = {"up.bmp", "down.bmp"};
    dataset d;
    CHECK(load(rels, 2, opt, &d) == NMF_STATUS_OK);
    CHECK(d.m == 2 && d.width == 4 && d.height == 3);
    if (d.m == 2)
        CHECK(same_values(&d, 0, &d, d.n, d.n));
    dataset_free(&d);
}

/* Symbolic links to folders and files are followed, listed by the path
 * through them; a link back to a folder on the walk's path is skipped with
 * a note, and one that leads nowhere is skipped and counted. */
static void test_links(const dataset_options *opt)
{
    make_dir("people");
    make_dir("people/s1");
    make_dir("people/s2");
    write_pgm("people/s1/1.pgm", 4, 3, 10);
    write_pgm("people/s1/2.pgm", 4, 3, 20);
    write_pgm("people/s2/1.pgm", 4, 3, 30);
    make_dir("split");
    make_dir("split/x");
    CHECK(symlink("../people/s1", at("split/a")) == 0);
    CHECK(symlink(at("people/s2"), at("split/b")) == 0); /* absolute */
    CHECK(symlink("../../people/s2/1.pgm", at("split/x/c.pgm")) == 0);
    CHECK(symlink("..", at("split/x/up")) == 0);
    CHECK(symlink(".", at("split/self")) == 0);
    CHECK(symlink("nowhere", at("split/gone")) == 0);

    dataset d;
    notes = 0;
    CHECK(load_one("split", opt, &d) == NMF_STATUS_OK);
    const char *want[] = {"split/a/1.pgm", "split/a/2.pgm", "split/b/1.pgm", "split/x/c.pgm"};
    const float first[] = {10, 20, 30, 30};
    CHECK(d.m == 4 && d.skipped == 1 && notes == 3);
    for (size_t i = 0; i < d.m && i < 4; i++) {
        CHECK(strcmp(d.paths[i], at(want[i])) == 0);
        CHECK(v_at(&d, i * d.n) == first[i]);
    }
    dataset_free(&d);

    /* The same rows as the folders themselves. */
    const char *direct[] = {"people/s1", "people/s2"};
    dataset e;
    CHECK(load(direct, 2, opt, &e) == NMF_STATUS_OK);
    CHECK(e.m == 3 && e.n == 12);
    CHECK(load_one("split/a", opt, &d) == NMF_STATUS_OK);
    CHECK(d.m == 2 && e.m == 3 && same_values(&d, 0, &e, 0, 2 * e.n));
    dataset_free(&d);
    dataset_free(&e);

    /* Only links that lead nowhere: none found, each counted. */
    make_dir("broken");
    CHECK(symlink("nowhere", at("broken/a.pgm")) == 0);
    CHECK(symlink("a.pgm", at("broken/b.pgm")) == 0);
    CHECK(symlink("c.pgm", at("broken/c.pgm")) == 0); /* itself */
    notes = 0;
    CHECK(load_one("broken", opt, &d) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "no images found (3 files skipped)") != NULL);
    CHECK(notes == 3);
}

/* A colour run keeps R, G, B interleaved, drops alpha, keeps the 0..255
 * scale of 16-bit files, and refuses grey files by name. */
static void test_colour(const dataset_options *grey_opt)
{
    dataset_options opt = *grey_opt;
    opt.colour = 1;
    make_dir("colour");
    unsigned char px[4 * 3 * 3], rgba[4 * 3 * 4];
    for (int p = 0; p < 12; p++) {
        for (int c = 0; c < 3; c++)
            px[3 * p + c] = rgba[4 * p + c] = (unsigned char)(p * 20 + c * 7 + 1);
        rgba[4 * p + 3] = (unsigned char)(p * 21); /* alpha: ignored */
    }
    CHECK(stbi_write_png(at("colour/a.png"), 4, 3, 3, px, 4 * 3));
    CHECK(stbi_write_png(at("colour/b.png"), 4, 3, 4, rgba, 4 * 4));
    dataset d;
    CHECK(load_one("colour", &opt, &d) == NMF_STATUS_OK);
    CHECK(d.m == 2 && d.width == 4 && d.height == 3 && d.channels == 3 && d.n == 36);
    int bad = 0;
    for (size_t i = 0; i < 36 && d.m == 2 && d.n == 36; i++)
        bad += v_at(&d, i) != (float)px[i] || v_at(&d, 36 + i) != (float)px[i];
    CHECK(bad == 0);
    dataset_free(&d);

    /* The same file in a grey run: one luma value a pixel, as before. */
    CHECK(load_one("colour/a.png", grey_opt, &d) == NMF_STATUS_OK);
    CHECK(d.channels == 1 && d.n == 12);
    for (int p = 0; p < 12 && d.n == 12; p++)
        CHECK(v_at(&d, p) == luma8(px[3 * p], px[3 * p + 1], px[3 * p + 2]));
    dataset_free(&d);

    /* A paletted GIF is colour; a 16-bit PPM keeps the 0..255 scale. */
    write_bytes("palette.gif", gif_4x3, sizeof gif_4x3);
    CHECK(load_one("palette.gif", &opt, &d) == NMF_STATUS_OK);
    CHECK(d.n == 36);
    for (int p = 0; p < 12 && d.n == 36; p++)
        for (int c = 0; c < 3; c++)
            CHECK(v_at(&d, 3 * p + c) == (float)gif_palette[gif_index[p]][c]);
    dataset_free(&d);
    static const unsigned char ppm16[] = "P6\n1 1\n65535\n\xff\xff\x01\x01\x80\x80";
    write_bytes("deep.ppm", ppm16, sizeof ppm16 - 1);
    CHECK(load_one("deep.ppm", &opt, &d) == NMF_STATUS_OK);
    CHECK(d.n == 3);
    if (d.n == 3) {
        CHECK_CLOSE(v_at(&d, 0), 255.0, 1e-4, 0.0);
        CHECK_CLOSE(v_at(&d, 1), 1.0, 1e-6, 0.0);
        CHECK_CLOSE(v_at(&d, 2), 128.0, 1e-4, 0.0);
    }
    dataset_free(&d);

    /* Resized with its three channels: a flat colour stays that colour,
     * in the order R, G, B. */
    unsigned char flat[5 * 3 * 3];
    for (int p = 0; p < 15; p++) {
        flat[3 * p] = 10;
        flat[3 * p + 1] = 100;
        flat[3 * p + 2] = 200;
    }
    CHECK(stbi_write_png(at("colour/c.png"), 5, 3, 3, flat, 5 * 3));
    dataset_options r = opt;
    r.resize_w = 2;
    r.resize_h = 2;
    CHECK(load_one("colour", &r, &d) == NMF_STATUS_OK);
    CHECK(d.m == 3 && d.width == 2 && d.height == 2 && d.channels == 3 && d.n == 12);
    for (size_t p = 0; p < 4 && d.m == 3 && d.n == 12; p++) {
        CHECK_CLOSE(v_at(&d, 24 + 3 * p), 10.0, 1e-3, 0.0);
        CHECK_CLOSE(v_at(&d, 24 + 3 * p + 1), 100.0, 1e-3, 0.0);
        CHECK_CLOSE(v_at(&d, 24 + 3 * p + 2), 200.0, 1e-3, 0.0);
    }
    for (size_t i = 0; i < d.m * d.n; i++)
        CHECK(v_at(&d, i) >= 0.0f && v_at(&d, i) <= 255.0f);
    dataset_free(&d);

    /* Grey files, PGM and grey + alpha PNG, are refused, the first named,
     * from the headers: with nothing decoded and nothing left allocated. */
    write_pgm("colour/d.pgm", 4, 3, 0);
    CHECK(load_one("colour", &r, &d) == NMF_STATUS_BAD_INPUT);
    char want[600];
    snprintf(want, sizeof want,
             "%s: a grey image (1 channel), but --colour needs colour images (RGB or RGBA); "
             "hint: drop --colour, or convert the images to RGB",
             at("colour/d.pgm"));
    CHECK(strcmp(nmf_last_error(), want) == 0);
    CHECK(d.V == NULL && d.V8 == NULL && d.paths == NULL);
    unsigned char ga[4 * 3 * 2] = {0};
    CHECK(stbi_write_png(at("colour/0.png"), 4, 3, 2, ga, 4 * 2));
    CHECK(load_one("colour", &r, &d) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "colour/0.png: a grey image (2 channels: grey and alpha)") !=
          NULL);
    CHECK(strstr(nmf_last_error(), "; 2 of the 5 images are grey; hint: drop --colour") != NULL);
    CHECK(load_one("colour/d.pgm", &opt, &d) == NMF_STATUS_BAD_INPUT);
    CHECK(strstr(nmf_last_error(), "colour/d.pgm: a grey image (1 channel)") != NULL);
    /* V's size counts the three channels: 4096 8-bit headers of 16384x8192
     * RGB claim 4096 * 16384 * 8192 * 3 bytes, 4 times that as float32. */
    make_dir("hugergb");
    char rel[32];
    for (int i = 0; i < 4096; i++) {
        snprintf(rel, sizeof rel, "hugergb/%d.ppm", i);
        write_bytes(rel, "P6\n16384 8192\n255\n", 19);
    }
    dataset_options as[2] = {opt, opt};
    as[0].storage = DATASET_STORAGE_AUTO;
    as[1].storage = DATASET_STORAGE_FLOAT32;
    const char *huge_need[2] = {"needs 1649.3 GB (4096 images of 16384x8192 RGB, uint8)",
                                "needs 6597.1 GB (4096 images of 16384x8192 RGB, float32)"};
    for (int i = 0; i < 2; i++) {
        CHECK(load_one("hugergb", &as[i], &d) == NMF_STATUS_TOO_LARGE);
        CHECK(strstr(nmf_last_error(), huge_need[i]) != NULL);
    }

    /* The same folder loads in a grey run. */
    r.colour = 0;
    CHECK(load_one("colour", &r, &d) == NMF_STATUS_OK);
    CHECK(d.m == 5 && d.channels == 1 && d.n == 4);
    dataset_free(&d);
}

static unsigned long crc32_of(const unsigned char *p, size_t n)
{
    unsigned long c = 0xFFFFFFFFul;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320ul & (0ul - (c & 1)));
    }
    return c ^ 0xFFFFFFFFul;
}

/* A PNG chunk: length, type, data, CRC of type and data. */
static void put_chunk(bytes *f, const char *type, const unsigned char *data, size_t n)
{
    put32be(f, (unsigned long)n);
    size_t at_type = f->n;
    put(f, type, 4);
    if (n)
        put(f, data, n);
    put32be(f, crc32_of(f->b + at_type, 4 + n));
}

/* A w x h 16-bit PNG, grey (channels 1) or RGB (3), of the samples given
 * (big-endian in the file), in one stored (uncompressed) zlib block:
 * stbi_write_png writes only 8 bits. */
static void make_png16(bytes *f, int w, int h, int channels, const unsigned short *samples)
{
    unsigned char raw[2048];
    size_t n = 0, row = (size_t)w * (size_t)channels;
    CHECK((size_t)h * (1 + 2 * row) <= sizeof raw);
    for (int y = 0; y < h && (size_t)(y + 1) * (1 + 2 * row) <= sizeof raw; y++) {
        raw[n++] = 0; /* filter: none */
        for (size_t i = 0; i < row; i++) {
            raw[n++] = (unsigned char)(samples[(size_t)y * row + i] >> 8);
            raw[n++] = (unsigned char)(samples[(size_t)y * row + i] & 255);
        }
    }
    unsigned long a = 1, b = 0; /* Adler-32 */
    for (size_t i = 0; i < n; i++) {
        a = (a + raw[i]) % 65521;
        b = (b + a) % 65521;
    }
    bytes z = {.n = 0};
    put(&z, "\x78\x01\x01", 3); /* zlib header; a final stored block */
    put16le(&z, (unsigned)n);
    put16le(&z, (unsigned)(~n & 0xFFFF));
    put(&z, raw, n);
    put32be(&z, (b << 16) | a);
    put(f, "\x89PNG\r\n\x1a\n", 8);
    bytes ihdr = {.n = 0};
    put32be(&ihdr, (unsigned long)w);
    put32be(&ihdr, (unsigned long)h);
    put(&ihdr, (unsigned char[]){16, channels == 3 ? 2 : 0, 0, 0, 0}, 5);
    put_chunk(f, "IHDR", ihdr.b, ihdr.n);
    put_chunk(f, "IDAT", z.b, z.n);
    put_chunk(f, "IEND", NULL, 0);
}

/* Loads rels with AUTO and with FLOAT32 storage (else as opt): AUTO gives
 * bytes exactly when want_bytes, FLOAT32 floats always, and both the same
 * values. *d keeps the AUTO load (free it). */
static void load_both(const char *const *rels, size_t n, const dataset_options *opt,
                      int want_bytes, dataset *d)
{
    dataset_options a = *opt, f = *opt;
    a.storage = DATASET_STORAGE_AUTO;
    f.storage = DATASET_STORAGE_FLOAT32;
    dataset e;
    CHECK(load(rels, n, &a, d) == NMF_STATUS_OK);
    CHECK(load(rels, n, &f, &e) == NMF_STATUS_OK);
    CHECK((d->V8 != NULL) == want_bytes && (d->V == NULL) == want_bytes);
    CHECK(strcmp(d->storage ? d->storage : "", want_bytes ? "uint8" : "float32") == 0);
    CHECK(e.V != NULL && e.V8 == NULL && strcmp(e.storage ? e.storage : "", "float32") == 0);
    CHECK(d->m == e.m && d->n == e.n && has_v(d) && has_v(&e) && same_values(d, 0, &e, 0, d->m * d->n));
    dataset_free(&e);
}

/* V at its source precision: bytes when every image is 8-bit, float32
 * for 16-bit and HDR files and for a set that mixes them with 8-bit ones;
 * what is derived from an 8-bit file (luma, resizing) rounded to whole
 * levels whatever the storage, 16-bit and HDR values never rounded. */
static void test_storage(const dataset_options *opt)
{
    const char *names[] = {"auto", "float32"};
    for (int i = 0; i < 2; i++) {
        dataset_storage st;
        CHECK(strcmp(dataset_storage_name((dataset_storage)i), names[i]) == 0);
        CHECK(dataset_storage_parse(names[i], &st) == 0 && (int)st == i);
    }
    dataset_storage keep = DATASET_STORAGE_FLOAT32;
    CHECK(dataset_storage_parse("uint8", &keep) == -1 && keep == DATASET_STORAGE_FLOAT32);
    CHECK(dataset_storage_name((dataset_storage)2) == NULL);
    dataset d;
    dataset_options bad = *opt;
    bad.storage = (dataset_storage)7;
    const char *one[] = {"order/s1/1.pgm"};
    CHECK(load(one, 1, &bad, &d) == NMF_STATUS_BAD_ARGUMENT);

    /* 8-bit grey files: bytes, the pixels as they are. */
    make_dir("st");
    write_pgm("st/a.pgm", 4, 3, 0);
    write_pgm("st/b.pgm", 4, 3, 240);
    const char *grey8[] = {"st/a.pgm", "st/b.pgm"};
    load_both(grey8, 2, opt, 1, &d);
    CHECK(d.m == 2 && d.n == 12);
    for (int p = 0; p < 12 && d.V8; p++)
        CHECK(d.V8[p] == p && d.V8[12 + p] == 240 + p);
    dataset_free(&d);

    /* 8-bit RGB: its luma rounded to nearest, halves up (the first six
     * colours are exact ties: 299 R + 587 G + 114 B ends in 500), in
     * bytes; its first channel, and R, G, B in a colour run, as they are. */
    static const unsigned char tie[6][3] = {{67, 47, 227},  {31, 139, 67},  {127, 129, 86},
                                            {58, 248, 163}, {247, 167, 137}, {224, 172, 40}};
    unsigned char px[12 * 3];
    for (int p = 0; p < 12; p++)
        for (int c = 0; c < 3; c++)
            px[3 * p + c] = p < 6 ? tie[p][c] : (unsigned char)(p * 37 + c * 71 + 5);
    CHECK(stbi_write_png(at("st/rgb.png"), 4, 3, 3, px, 4 * 3));
    const char *rgb8[] = {"st/rgb.png"};
    load_both(rgb8, 1, opt, 1, &d);
    CHECK(d.n == 12 && all_whole(&d));
    for (int p = 0; p < 12 && d.n == 12; p++) {
        double y = luma(px[3 * p], px[3 * p + 1], px[3 * p + 2]);
        CHECK(v_at(&d, (size_t)p) == luma8(px[3 * p], px[3 * p + 1], px[3 * p + 2]));
        CHECK(v_at(&d, (size_t)p) - y <= 0.5 + 1e-9 && y - v_at(&d, (size_t)p) < 0.5);
        if (p < 6) /* a tie, up; y in doubles may be off it by an ulp */
            CHECK(fabs(v_at(&d, (size_t)p) - (y + 0.5)) < 1e-9);
    }
    dataset_free(&d);
    dataset_options first = *opt, colour = *opt;
    first.grey = DATASET_GREY_FIRST;
    colour.colour = 1;
    load_both(rgb8, 1, &first, 1, &d);
    for (int p = 0; p < 12 && d.n == 12; p++)
        CHECK(v_at(&d, (size_t)p) == px[3 * p]);
    dataset_free(&d);
    load_both(rgb8, 1, &colour, 1, &d);
    CHECK(d.n == 36 && d.channels == 3);
    for (int i = 0; i < 36 && d.n == 36; i++)
        CHECK(v_at(&d, (size_t)i) == px[i]);
    dataset_free(&d);

    /* Resized 8-bit: whole levels, the float resize of the (rounded) luma
     * rounded halves up, whatever the storage. */
    dataset_options r = *opt;
    r.resize_w = 3;
    r.resize_h = 2;
    load_both(rgb8, 1, &r, 1, &d);
    CHECK(d.n == 6 && all_whole(&d));
    float grey[12], small[6];
    for (int p = 0; p < 12; p++)
        grey[p] = (float)luma8(px[3 * p], px[3 * p + 1], px[3 * p + 2]);
    CHECK(stbir_resize_float_generic(grey, 4, 3, 0, small, 3, 2, 0, 1, STBIR_ALPHA_CHANNEL_NONE,
                                     0, STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE,
                                     STBIR_COLORSPACE_LINEAR, NULL));
    int unrounded = 0;
    for (int i = 0; i < 6 && d.n == 6; i++) {
        CHECK(v_at(&d, (size_t)i) == floor(small[i] + 0.5));
        unrounded += small[i] != floorf(small[i]);
    }
    CHECK(unrounded > 0); /* the rounding is tested, not a no-op */
    dataset_free(&d);
    r.colour = 1;
    load_both(rgb8, 1, &r, 1, &d);
    CHECK(d.n == 18 && all_whole(&d));
    dataset_free(&d);
    r.colour = 0;

    /* 16-bit PNG: float32, value / 257 unrounded; the same in a grey
     * run of a 16-bit RGB file's luma. */
    static const unsigned short s16[12] = {0,    1000, 65535, 12345, 40000, 257,
                                           5000, 999,  60000, 31,    7777,  65000};
    bytes f = {.n = 0};
    make_png16(&f, 4, 3, 1, s16);
    write_bytes("st/deep.png", f.b, f.n);
    const char *deep[] = {"st/deep.png"};
    load_both(deep, 1, opt, 0, &d);
    CHECK(d.n == 12 && !all_whole(&d));
    for (int p = 0; p < 12 && d.n == 12; p++)
        CHECK_CLOSE(v_at(&d, (size_t)p), s16[p] / 257.0, 0.0, 1e-6);
    dataset_free(&d);
    unsigned short c16[12 * 3];
    for (int i = 0; i < 36; i++)
        c16[i] = (unsigned short)(i * 1811 + 3);
    f.n = 0;
    make_png16(&f, 4, 3, 3, c16);
    write_bytes("st/deeprgb.png", f.b, f.n);
    const char *deeprgb[] = {"st/deeprgb.png"};
    load_both(deeprgb, 1, opt, 0, &d);
    for (int p = 0; p < 12 && d.n == 12; p++)
        CHECK_CLOSE(v_at(&d, (size_t)p),
                    luma(c16[3 * p] / 257.0, c16[3 * p + 1] / 257.0, c16[3 * p + 2] / 257.0), 0.0,
                    1e-6);
    dataset_free(&d);

    /* HDR: float32, unrounded. */
    float hdr[4 * 3 * 3];
    for (int i = 0; i < 36; i++)
        hdr[i] = 0.25f + (float)i * 0.5f;
    CHECK(stbi_write_hdr(at("st/light.hdr"), 4, 3, 3, hdr));
    const char *light[] = {"st/light.hdr"};
    load_both(light, 1, opt, 0, &d);
    CHECK(d.n == 12 && !all_whole(&d));
    for (int p = 0; p < 12 && d.n == 12; p++)
        CHECK_CLOSE(v_at(&d, (size_t)p), luma(hdr[3 * p], hdr[3 * p + 1], hdr[3 * p + 2]), 0.0,
                    1e-2); /* RGBE: 8 mantissa bits */
    dataset_free(&d);

    /* 8-bit and 16-bit together: all float32, the 8-bit rows still whole
     * levels (rounded luma; rounded after resizing), the 16-bit row not. */
    const char *mix[] = {"st/rgb.png", "st/deep.png", "st/a.pgm"};
    load_both(mix, 3, opt, 0, &d);
    CHECK(d.m == 3 && d.n == 12);
    for (int p = 0; p < 12 && d.m == 3 && d.n == 12; p++) {
        CHECK(v_at(&d, (size_t)p) == luma8(px[3 * p], px[3 * p + 1], px[3 * p + 2]));
        CHECK_CLOSE(v_at(&d, 12 + (size_t)p), s16[p] / 257.0, 0.0, 1e-6);
        CHECK(v_at(&d, 24 + (size_t)p) == p);
    }
    dataset_free(&d);
    load_both(mix, 3, &r, 0, &d);
    CHECK(d.m == 3 && d.n == 6);
    int whole8 = 1, whole16 = 1;
    for (int i = 0; i < 6 && d.m == 3 && d.n == 6; i++) {
        CHECK(v_at(&d, (size_t)i) == floor(small[i] + 0.5));
        whole8 &= v_at(&d, 12 + (size_t)i) == floor(v_at(&d, 12 + (size_t)i));
        whole16 &= v_at(&d, 6 + (size_t)i) == floor(v_at(&d, 6 + (size_t)i));
    }
    CHECK(whole8 && !whole16);
    dataset_free(&d);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void)
{
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    nmf_set_note_handler(count_note, NULL);
    dataset_options opt;
    dataset_options_default(&opt);
    CHECK(opt.grey == DATASET_GREY_LUMA && opt.colour == 0 && opt.resize_w == 0 &&
          opt.threads == 0 && opt.storage == DATASET_STORAGE_AUTO);

    test_natural_compare();
    test_order(&opt);
    write_mixed();
    test_formats(&opt);
    test_deep_formats(&opt);
    test_sizes(&opt);
    test_errors(&opt);
    test_truncated(&opt);
    test_too_large(&opt);
    test_top_down_bmp(&opt);
    test_links(&opt);
    test_colour(&opt);
    test_storage(&opt);
    /* Two decoding threads must give the same rows as the default. */
    opt.threads = 2;
    test_formats(&opt);
    /* Float32 storage: the same values (the checks read either form). */
    opt.threads = 0;
    opt.storage = DATASET_STORAGE_FLOAT32;
    test_formats(&opt);
    test_deep_formats(&opt);
    test_top_down_bmp(&opt);

    CHECK(nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
    return test_exit();
}
