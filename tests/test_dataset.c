/* test_dataset.c - dataset_load() on small images this test writes itself
 * into a temporary directory: order, content detection, grey conversion,
 * size checks, and every error path the contract names. */
#define _XOPEN_SOURCE 700

#include "dataset.h"
#include "test_util.h"

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static nmf_status load(const char *const *rels, size_t n, const dataset_options *opt, dataset *d)
{
    const char *full[8];
    char copies[8][512];
    for (size_t i = 0; i < n; i++) {
        snprintf(copies[i], sizeof copies[i], "%s", at(rels[i]));
        full[i] = copies[i];
    }
    memset(d, 0, sizeof *d);
    return dataset_load(full, n, opt, d);
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
    CHECK(d.m == 7 && d.width == 4 && d.height == 3 && d.n == 12);
    CHECK(d.skipped == 1 && notes == 1);
    for (size_t i = 0; i < d.m && i < 7; i++) {
        snprintf(rel, sizeof rel, "order/%s", rels[i]);
        CHECK(strcmp(d.paths[i], at(rel)) == 0);
        CHECK(d.V[i * d.n] == 10.0f * (float)i);
        CHECK(d.V[i * d.n + 11] == 10.0f * (float)i + 11.0f);
    }
    dataset_free(&d);
    CHECK(d.V == NULL && d.paths == NULL && d.m == 0);
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
        CHECK_CLOSE(d.V[p], luma(c[0], c[1], c[2]), 1e-4, 1e-6);
        CHECK_CLOSE(d.V[12 + p], luma(q[0], q[1], q[2]), 1e-4, 1e-6);
        CHECK_CLOSE(d.V[24 + p], luma(q[0], q[1], q[2]), 1e-4, 1e-6);
        CHECK(d.V[36 + p] == (float)(100 + p));
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
        CHECK(d.V[p] == (float)(100 + p));
        CHECK(d.V[12 + p] == (float)rgb[3 * p]);
        CHECK(d.V[24 + p] == (float)rgb[3 * p]);
        CHECK(d.V[36 + p] == (float)gif_palette[gif_index[p]][0]);
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
        CHECK_CLOSE(d.V[p], 120.0, 1.0, 0.0);
    dataset_free(&d);

    /* 16-bit PGM: values are brought to the 0..255 scale, not truncated. */
    static const unsigned char pgm16[] = "P5\n3 1\n65535\n\xff\xff\x01\x01\x80\x80";
    write_bytes("deep.pgm", pgm16, sizeof pgm16 - 1);
    CHECK(load_one("deep.pgm", opt, &d) == NMF_STATUS_OK);
    CHECK(d.n == 3);
    if (d.n == 3) {
        CHECK_CLOSE(d.V[0], 255.0, 1e-4, 0.0);
        CHECK_CLOSE(d.V[1], 1.0, 1e-6, 0.0);
        CHECK_CLOSE(d.V[2], 128.0, 1e-4, 0.0);
    }
    dataset_free(&d);

    /* HDR keeps values above 255; RGBE stores 8 mantissa bits. */
    float hdr[2 * 3] = {300.0f, 300.0f, 300.0f, 0.5f, 0.5f, 0.5f};
    CHECK(stbi_write_hdr(at("bright.hdr"), 2, 1, 3, hdr));
    CHECK(load_one("bright.hdr", opt, &d) == NMF_STATUS_OK);
    CHECK(d.n == 2);
    if (d.n == 2) {
        CHECK_CLOSE(d.V[0], 300.0, 0.0, 1e-2);
        CHECK_CLOSE(d.V[1], 0.5, 0.0, 1e-2);
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
    CHECK(d.V == NULL && d.paths == NULL);

    dataset_options r = *opt;
    r.resize_w = 2;
    r.resize_h = 2;
    CHECK(load_one("sizes", &r, &d) == NMF_STATUS_OK);
    CHECK(d.m == 2 && d.width == 2 && d.height == 2 && d.n == 4);
    /* The triangle filter has no negative lobes: values stay in the
     * source's range 0..14. */
    for (size_t i = 0; i < d.m * d.n; i++)
        CHECK(d.V[i] >= 0.0f && d.V[i] <= 14.0f);
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
    CHECK(d.V == NULL && d.paths == NULL);

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
    CHECK(d.V == NULL);

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

    /* 64 headers of 60000x60000 claim 921.6 GB, more than any machine this
     * runs on has: refused from the headers alone, before anything is
     * allocated or decoded. */
    make_dir("huge");
    char rel[32];
    for (int i = 0; i < 64; i++) {
        snprintf(rel, sizeof rel, "huge/%d.pgm", i);
        write_bytes(rel, "P5\n60000 60000\n255\n", 19);
    }
    CHECK(load_one("huge", opt, &d) == NMF_STATUS_TOO_LARGE);
    CHECK(strstr(nmf_last_error(), "needs 921.6 GB (64 images of 60000x60000)") != NULL);
    CHECK(strstr(nmf_last_error(), "of memory is available") != NULL);
    CHECK(d.V == NULL);
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
    CHECK(opt.grey == DATASET_GREY_LUMA && opt.resize_w == 0 && opt.threads == 0);

    test_natural_compare();
    test_order(&opt);
    write_mixed();
    test_formats(&opt);
    test_deep_formats(&opt);
    test_sizes(&opt);
    test_errors(&opt);
    /* Two decoding threads must give the same rows as the default. */
    opt.threads = 2;
    test_formats(&opt);

    CHECK(nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) == 0);
    return test_exit();
}
