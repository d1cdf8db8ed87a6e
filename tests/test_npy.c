/* test_npy.c - .npy reading and writing: bitwise round trips, the 64-byte
 * alignment numpy expects, files written by numpy 1.24.2 (C and Fortran
 * order, float64, format 2.0), and malformed files, each of which must
 * fail with a message naming the file. A mutation loop at the end gives
 * the sanitizers a first look at hostile headers. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include "npy.h"
#include "test_util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reference files, produced with /usr/bin/python3 (numpy 1.24.2) as
 *   import io, numpy as np; f = io.BytesIO(); <command>; f.getvalue()
 * with the command above each array. */

/* np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)) */
static const char npy_f4[] =
    "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': False, 'shap"
    "e': (2, 3), }                                                       "
    "   \012\000\000\000\000\000\000\200\077\000\000\000@\000\000@@\000"
    "\000\200@\000\000\240@";

/* np.save(f, np.array([[0.5, -1.25, 3.0], [1e-3, 2.0**-20, 1e30]], dtype='<f8')) */
static const char npy_f8[] =
    "\223NUMPY\001\000v\000{'descr': '<f8', 'fortran_order': False, 'shap"
    "e': (2, 3), }                                                       "
    "   \012\000\000\000\000\000\000\340\077\000\000\000\000\000\000\364"
    "\277\000\000\000\000\000\000\010@\374\251\361\322MbP\077\000\000\000"
    "\000\000\000\260>\352\214\2409Y>)F";

/* np.save(f, np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3))) */
static const char npy_fortran[] =
    "\223NUMPY\001\000v\000{'descr': '<f4', 'fortran_order': True, 'shape"
    "': (2, 3), }                                                        "
    "   \012\000\000\000\000\000\000@@\000\000\200\077\000\000\200@\000"
    "\000\000@\000\000\240@";

/* np.lib.format.write_array(f, np.arange(4, dtype='<f4').reshape(2, 2), version=(2, 0)) */
static const char npy_v2[] =
    "\223NUMPY\002\000t\000\000\000{'descr': '<f4', 'fortran_order': Fals"
    "e, 'shape': (2, 2), }                                               "
    "         \012\000\000\000\000\000\000\200\077\000\000\000@\000\000@@";

static char tmp_dir[] = "/tmp/test_npy.XXXXXX";

/* tmp_dir/name in a static buffer. */
static const char *tmp_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", tmp_dir, name);
    return buf;
}

static void write_bytes(const char *path, const void *bytes, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        exit(1);
    }
    if (len)
        fwrite(bytes, 1, len, fp);
    fclose(fp);
}

/* The whole file in a malloc'd buffer, length in *len. */
static unsigned char *read_bytes(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *buf = NULL;
    *len = 0;
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf)
        *len = fread(buf, 1, (size_t)size, fp);
    fclose(fp);
    return buf;
}

/* A version 1.0 file with the given dict and data_len zero bytes. */
static void write_npy(const char *path, const char *dict, size_t data_len)
{
    size_t dict_len = strlen(dict);
    size_t len = 10 + dict_len + 1 + data_len;
    unsigned char *buf = calloc(len, 1);
    memcpy(buf, "\223NUMPY\001\000", 8);
    buf[8] = (unsigned char)((dict_len + 1) & 0xff);
    buf[9] = (unsigned char)((dict_len + 1) >> 8);
    memcpy(buf + 10, dict, dict_len);
    buf[10 + dict_len] = '\n';
    write_bytes(path, buf, len);
    free(buf);
}

static void test_round_trip(size_t rows, size_t cols)
{
    const char *path = tmp_path("round.npy");
    size_t count = rows * cols;
    float *a = malloc(count ? count * sizeof(float) : 1);
    for (size_t i = 0; i < count; i++)
        a[i] = (float)i * 0.37f - 1.5f;
    if (count >= 4) { /* values whose bits must survive exactly */
        a[0] = -0.0f;
        a[1] = 1e-45f; /* denormal */
        a[2] = INFINITY;
        a[3] = NAN;
    }
    CHECK(npy_write_f32(path, a, rows, cols) == NMF_STATUS_OK);

    float *b = NULL;
    size_t r = 99, c = 99;
    CHECK(npy_read_f32(path, &b, &r, &c) == NMF_STATUS_OK);
    CHECK(r == rows && c == cols);
    CHECK(b != NULL);
    if (b && count)
        CHECK(memcmp(a, b, count * sizeof(float)) == 0);

    /* The preamble is a multiple of 64 bytes and ends in '\n'. */
    size_t len;
    unsigned char *bytes = read_bytes(path, &len);
    CHECK(bytes && len >= 64);
    if (bytes && len >= 64) {
        size_t preamble = 10 + (bytes[8] | (size_t)bytes[9] << 8);
        CHECK(preamble % 64 == 0);
        CHECK(bytes[preamble - 1] == '\n');
        CHECK(len == preamble + count * 4);
    }
    free(bytes);
    free(a);
    free(b);
    remove(path);
}

/* Loads a reference file and compares with the expected values. */
static void check_reference(const char *name, const char *bytes, size_t len,
                            size_t rows, size_t cols, const float *want)
{
    const char *path = tmp_path(name);
    write_bytes(path, bytes, len);
    float *a = NULL;
    size_t r = 0, c = 0;
    nmf_status st = npy_read_f32(path, &a, &r, &c);
    if (st != NMF_STATUS_OK)
        fprintf(stderr, "%s\n", nmf_last_error());
    CHECK(st == NMF_STATUS_OK);
    CHECK(r == rows && c == cols);
    if (a && r == rows && c == cols)
        for (size_t i = 0; i < rows * cols; i++)
            CHECK(a[i] == want[i]);
    free(a);
    remove(path);
}

static void test_numpy_files(void)
{
    const float f4[] = {0, 1, 2, 3, 4, 5};
    check_reference("f4.npy", npy_f4, sizeof npy_f4 - 1, 2, 3, f4);
    check_reference("fortran.npy", npy_fortran, sizeof npy_fortran - 1, 2, 3, f4);
    check_reference("v2.npy", npy_v2, sizeof npy_v2 - 1, 2, 2, f4);
    const float f8[] = {0.5f, -1.25f, 3.0f, (float)1e-3, (float)(1.0 / 1048576), (float)1e30};
    check_reference("f8.npy", npy_f8, sizeof npy_f8 - 1, 2, 3, f8);
}

/* The file at tmp_path(name) must fail with st, a message that names it
 * and contains `reason`, and nothing returned. */
static void expect_failure(const char *name, nmf_status want, const char *reason)
{
    const char *path = tmp_path(name);
    float *a = (float *)&a; /* must be reset to NULL */
    size_t r = 7, c = 7;
    nmf_status st = npy_read_f32(path, &a, &r, &c);
    const char *msg = nmf_last_error();
    CHECK(st == want);
    CHECK(a == NULL && r == 0 && c == 0);
    CHECK(strstr(msg, path) != NULL);
    CHECK(strstr(msg, reason) != NULL);
    CHECK(strchr(msg, '\n') == NULL);
    if (st != want || !strstr(msg, reason))
        fprintf(stderr, "  %s: got status %d, message \"%s\"\n", name, (int)st, msg);
    remove(path);
}

#define DICT(descr, order, shape) \
    "{'descr': '" descr "', 'fortran_order': " order ", 'shape': " shape ", }"

static void test_malformed(void)
{
    size_t n = sizeof npy_f4 - 1;

    write_bytes(tmp_path("empty.npy"), "", 0);
    expect_failure("empty.npy", NMF_STATUS_IO, "empty");

    expect_failure("missing.npy", NMF_STATUS_IO, "No such file");

    write_bytes(tmp_path("magic.npy"), "\223NUMPZ\001\000", 8);
    expect_failure("magic.npy", NMF_STATUS_IO, "bad magic");
    write_bytes(tmp_path("text.npy"), "hello", 5);
    expect_failure("text.npy", NMF_STATUS_IO, "bad magic");

    write_bytes(tmp_path("short_pre.npy"), npy_f4, 8);
    expect_failure("short_pre.npy", NMF_STATUS_IO, "truncated .npy header");
    write_bytes(tmp_path("short_header.npy"), npy_f4, 50);
    expect_failure("short_header.npy", NMF_STATUS_IO, "truncated .npy header");

    write_bytes(tmp_path("short_data.npy"), npy_f4, n - 1);
    expect_failure("short_data.npy", NMF_STATUS_IO, "truncated .npy data (expected 24 bytes)");
    /* A forged shape must be caught by the size check, before allocating. */
    write_npy(tmp_path("forged.npy"), DICT("<f4", "False", "(100000, 100000)"), 16);
    expect_failure("forged.npy", NMF_STATUS_IO, "truncated .npy data (expected 40000000000 bytes)");

    write_npy(tmp_path("3d.npy"), DICT("<f4", "False", "(2, 3, 4)"), 96);
    expect_failure("3d.npy", NMF_STATUS_IO, "expected a 2-D array, got shape (2, 3, 4)");
    write_npy(tmp_path("1d.npy"), DICT("<f4", "False", "(5,)"), 20);
    expect_failure("1d.npy", NMF_STATUS_IO, "expected a 2-D array, got shape (5,)");
    write_npy(tmp_path("0d.npy"), DICT("<f4", "False", "()"), 4);
    expect_failure("0d.npy", NMF_STATUS_IO, "got shape ()");

    write_npy(tmp_path("be.npy"), DICT(">f4", "False", "(2, 3)"), 24);
    expect_failure("be.npy", NMF_STATUS_IO, "unsupported dtype '>f4'");
    write_npy(tmp_path("i4.npy"), DICT("<i4", "False", "(2, 3)"), 24);
    expect_failure("i4.npy", NMF_STATUS_IO, "unsupported dtype '<i4'");
    write_npy(tmp_path("rec.npy"),
              "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 3), }", 24);
    expect_failure("rec.npy", NMF_STATUS_IO, "unsupported dtype");

    write_npy(tmp_path("overflow.npy"), DICT("<f4", "False", "(18446744073709551615, 2)"), 0);
    expect_failure("overflow.npy", NMF_STATUS_TOO_LARGE, "too large");
    write_npy(tmp_path("overflow8.npy"), DICT("<f8", "False", "(4294967296, 536870912)"), 0);
    expect_failure("overflow8.npy", NMF_STATUS_TOO_LARGE, "too large");
    write_npy(tmp_path("digits.npy"),
              DICT("<f4", "False", "(123456789012345678901234567890, 1)"), 0);
    expect_failure("digits.npy", NMF_STATUS_TOO_LARGE, "too large");

    write_npy(tmp_path("order.npy"), DICT("<f4", "Maybe", "(2, 3)"), 24);
    expect_failure("order.npy", NMF_STATUS_IO, "fortran_order");
    write_npy(tmp_path("neg.npy"), DICT("<f4", "False", "(-2, 3)"), 24);
    expect_failure("neg.npy", NMF_STATUS_IO, "malformed header");
    write_npy(tmp_path("nokey.npy"), "{'descr': '<f4', 'shape': (2, 3), }", 24);
    expect_failure("nokey.npy", NMF_STATUS_IO, "missing");
    write_npy(tmp_path("dup.npy"), "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)}", 24);
    expect_failure("dup.npy", NMF_STATUS_IO, "repeated key 'descr'");
    write_npy(tmp_path("open.npy"), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), ", 24);
    expect_failure("open.npy", NMF_STATUS_IO, "malformed header");
    write_npy(tmp_path("tail.npy"), DICT("<f4", "False", "(2, 3)") " x", 24);
    expect_failure("tail.npy", NMF_STATUS_IO, "garbage");

    char v3[sizeof npy_f4];
    memcpy(v3, npy_f4, sizeof npy_f4);
    v3[6] = 3;
    write_bytes(tmp_path("v3.npy"), v3, n);
    expect_failure("v3.npy", NMF_STATUS_IO, "unsupported .npy version 3.0");

    const unsigned char huge[] = {0223, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0xff, '{'};
    write_bytes(tmp_path("huge_header.npy"), huge, sizeof huge);
    expect_failure("huge_header.npy", NMF_STATUS_IO, "header too long");
}

/* Every truncation and a few thousand byte mutations of a valid file:
 * each must load or fail cleanly (the sanitizers watch). */
static void test_mutations(void)
{
    const char *path = tmp_path("mutant.npy");
    size_t n = sizeof npy_f8 - 1;
    char buf[sizeof npy_f8];
    int loaded = 0, failed = 0;
    for (size_t len = 0; len <= n; len++) {
        write_bytes(path, npy_f8, len);
        float *a = NULL;
        size_t r, c;
        nmf_status st = npy_read_f32(path, &a, &r, &c);
        CHECK((st == NMF_STATUS_OK) == (len == n));
        free(a);
    }
    uint32_t seed = 12345;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(buf, npy_f8, n);
        int edits = 1 + iter % 4;
        for (int e = 0; e < edits; e++) {
            seed = seed * 1664525u + 1013904223u;
            size_t pos = (seed >> 8) % 128; /* the preamble */
            seed = seed * 1664525u + 1013904223u;
            const char pick[] = "0123456789(),:'\"{} LTF<>f48\n\377";
            buf[pos] = (seed >> 24) & 1 ? (char)(seed >> 16) : pick[(seed >> 16) % (sizeof pick - 1)];
        }
        write_bytes(path, buf, n);
        float *a = NULL;
        size_t r = 0, c = 0;
        if (npy_read_f32(path, &a, &r, &c) == NMF_STATUS_OK) {
            loaded++;
            CHECK(a != NULL);
        } else {
            failed++;
            CHECK(a == NULL && strstr(nmf_last_error(), path) != NULL);
        }
        free(a);
    }
    printf("mutations: %d loaded, %d refused\n", loaded, failed);
    remove(path);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_round_trip(1, 1);
    test_round_trip(3, 7);
    test_round_trip(0, 5);
    test_round_trip(40, 1000); /* more than one write chunk */
    test_numpy_files();
    test_malformed();
    test_mutations();
    rmdir(tmp_dir);
    return test_exit();
}
