/* npy.c - NumPy .npy files of 2-D float arrays.
 *
 * Format (numpy.lib.format): the magic "\x93NUMPY", a major and a minor
 * version byte, the header length (uint16 LE in 1.0, uint32 LE in 2.0), an
 * ASCII Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (400, 10304), }
 * padded with spaces and ended by '\n', then the raw data.
 *
 * The reader takes untrusted files (it is fuzzed): every length is bounded
 * before use, every size product is overflow-checked, the dict is parsed
 * by hand with an end pointer, and the file size is checked against the
 * shape before anything is allocated for the data. */
#define _POSIX_C_SOURCE 200809L /* fileno, fstat */

#include "npy.h"

#include "error.h"
#include "fsutil.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64               /* numpy aligns the data to 64 bytes */
#define NPY_MAX_HEADER (64 * 1024) /* numpy writes < 1 KiB for a 2-D array */
#define NPY_CHUNK 8192             /* elements converted per pass */

/* ---- little-endian helpers (the host may be either) ---- */

static uint32_t npy__le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t npy__le64(const unsigned char *b)
{
    return (uint64_t)npy__le32(b) | (uint64_t)npy__le32(b + 4) << 32;
}

static void npy__put_le32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

/* a * b into *out; 0 if it overflows size_t. */
static int npy__mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
}

/* ---- writing ---- */

nmf_status npy_write_f32(const char *path, const float *data, size_t rows, size_t cols)
{
    size_t count;
    if (!npy__mul(rows, cols, &count) || count > SIZE_MAX / sizeof(float))
        return nmf_error(NMF_STATUS_TOO_LARGE, "%s: array too large (%zu x %zu)", path, rows, cols);

    char dict[128];
    int len = snprintf(dict, sizeof dict,
                       "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
                       rows, cols);
    /* preamble = magic, version, uint16 length, dict, spaces, '\n' */
    size_t unpadded = NPY_MAGIC_LEN + 2 + 2 + (size_t)len + 1;
    size_t pad = (NPY_ALIGN - unpadded % NPY_ALIGN) % NPY_ALIGN;
    size_t header_len = (size_t)len + pad + 1;
    unsigned char pre[NPY_MAGIC_LEN + 4];
    memcpy(pre, NPY_MAGIC, NPY_MAGIC_LEN);
    pre[6] = 1;
    pre[7] = 0;
    pre[8] = (unsigned char)(header_len & 0xff);
    pre[9] = (unsigned char)(header_len >> 8);

    atomic_file f;
    nmf_status st = atomic_file_open(&f, path);
    if (st != NMF_STATUS_OK)
        return st;

    int ok = fwrite(pre, 1, sizeof pre, f.fp) == sizeof pre &&
             fwrite(dict, 1, (size_t)len, f.fp) == (size_t)len;
    for (size_t i = 0; ok && i < pad; i++)
        ok = fputc(' ', f.fp) != EOF;
    ok = ok && fputc('\n', f.fp) != EOF;

    unsigned char buf[NPY_CHUNK * 4];
    for (size_t done = 0; ok && done < count;) {
        size_t n = count - done < NPY_CHUNK ? count - done : NPY_CHUNK;
        for (size_t i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &data[done + i], 4);
            npy__put_le32(buf + 4 * i, u);
        }
        ok = fwrite(buf, 4, n, f.fp) == n;
        done += n;
    }
    if (!ok) {
        int err = errno ? errno : EIO;
        nmf_error(NMF_STATUS_IO, "%s: write failed (%s)", path, strerror(err));
        atomic_file_abort(&f);
        return NMF_STATUS_IO;
    }
    return atomic_file_commit(&f);
}

/* ---- the header dict ---- */

typedef struct {
    const char *p, *end;
} npy__cursor;

typedef struct {
    int itemsize;    /* 4 or 8 */
    int fortran;     /* column-major data */
    int ndim;        /* as in the file; only 2 is accepted */
    size_t shape[2]; /* the first two dimensions */
    char shape_text[200]; /* the shape as read (8 dimensions at most), for messages */
} npy__header;

/* A reason for a malformed header, with its status. */
typedef struct {
    nmf_status status;
    char msg[320];
} npy__why;

static nmf_status npy__fail(npy__why *why, nmf_status status, const char *msg)
{
    why->status = status;
    snprintf(why->msg, sizeof why->msg, "%s", msg);
    return status;
}

static void npy__skip_ws(npy__cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int npy__accept(npy__cursor *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int npy__accept_word(npy__cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes: 'abc' or "abc". */
static int npy__string(npy__cursor *c, const char **s, size_t *len)
{
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return 0;
    char quote = *c->p++;
    const char *start = c->p;
    while (c->p < c->end && *c->p != quote) {
        if (*c->p == '\\' || *c->p == '\n')
            return 0;
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    *s = start;
    *len = (size_t)(c->p - start);
    c->p++;
    return 1;
}

static int npy__is(const char *s, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(s, word, len) == 0;
}

/* The shape tuple: "()", "(5,)", "(2, 3)", "(2L, 3L)" (Python 2), ... */
static nmf_status npy__shape(npy__cursor *c, npy__header *h, npy__why *why)
{
    size_t used = 0;
    h->ndim = 0;
    if (!npy__accept(c, '('))
        return npy__fail(why, NMF_STATUS_IO, "malformed header (shape is not a tuple)");
    npy__skip_ws(c);
    used += (size_t)snprintf(h->shape_text, sizeof h->shape_text, "(");
    while (!npy__accept(c, ')')) {
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return npy__fail(why, NMF_STATUS_IO, "malformed header (bad shape)");
        size_t v = 0;
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            size_t d = (size_t)(*c->p++ - '0');
            if (v > (SIZE_MAX - d) / 10)
                return npy__fail(why, NMF_STATUS_TOO_LARGE, "array too large (a dimension overflows size_t)");
            v = v * 10 + d;
        }
        npy__accept(c, 'L');
        if (h->ndim < 2)
            h->shape[h->ndim] = v;
        h->ndim++;
        if (h->ndim <= 8) /* 8 * (20 digits + ", ") fits shape_text */
            used += (size_t)snprintf(h->shape_text + used, sizeof h->shape_text - used,
                                     "%s%zu", h->ndim > 1 ? ", " : "", v);
        else if (h->ndim == 9)
            used += (size_t)snprintf(h->shape_text + used, sizeof h->shape_text - used, ", ...");
        npy__skip_ws(c);
        if (npy__accept(c, ','))
            npy__skip_ws(c);
        else if (c->p >= c->end || *c->p != ')')
            return npy__fail(why, NMF_STATUS_IO, "malformed header (bad shape)");
    }
    snprintf(h->shape_text + used, sizeof h->shape_text - used, "%s)", h->ndim == 1 ? "," : "");
    return NMF_STATUS_OK;
}

/* Copies up to 24 characters of s for a message, '?' for unprintable ones. */
static void npy__printable(char *dst, size_t dst_size, const char *s, size_t len)
{
    size_t n = len < dst_size - 1 ? len : dst_size - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    dst[n] = '\0';
}

static nmf_status npy__parse_header(const char *text, size_t len, npy__header *h, npy__why *why)
{
    npy__cursor c = {text, text + len};
    int have_descr = 0, have_order = 0, have_shape = 0;

    npy__skip_ws(&c);
    if (!npy__accept(&c, '{'))
        return npy__fail(why, NMF_STATUS_IO, "malformed header (not a dict)");
    for (;;) {
        npy__skip_ws(&c);
        if (npy__accept(&c, '}'))
            break;
        const char *key;
        size_t key_len;
        if (!npy__string(&c, &key, &key_len))
            return npy__fail(why, NMF_STATUS_IO, "malformed header (bad key)");
        npy__skip_ws(&c);
        if (!npy__accept(&c, ':'))
            return npy__fail(why, NMF_STATUS_IO, "malformed header (missing ':')");
        npy__skip_ws(&c);

        if (npy__is(key, key_len, "descr") && !have_descr) {
            const char *d;
            size_t d_len;
            if (!npy__string(&c, &d, &d_len))
                return npy__fail(why, NMF_STATUS_IO, "unsupported dtype (not a simple type; expected '<f4' or '<f8')");
            if (npy__is(d, d_len, "<f4")) {
                h->itemsize = 4;
            } else if (npy__is(d, d_len, "<f8")) {
                h->itemsize = 8;
            } else {
                char shown[25];
                npy__printable(shown, sizeof shown, d, d_len);
                why->status = NMF_STATUS_IO;
                snprintf(why->msg, sizeof why->msg,
                         "unsupported dtype '%s' (expected '<f4' or '<f8')", shown);
                return why->status;
            }
            have_descr = 1;
        } else if (npy__is(key, key_len, "fortran_order") && !have_order) {
            if (npy__accept_word(&c, "True"))
                h->fortran = 1;
            else if (npy__accept_word(&c, "False"))
                h->fortran = 0;
            else
                return npy__fail(why, NMF_STATUS_IO, "malformed header (fortran_order is not True or False)");
            have_order = 1;
        } else if (npy__is(key, key_len, "shape") && !have_shape) {
            nmf_status st = npy__shape(&c, h, why);
            if (st != NMF_STATUS_OK)
                return st;
            have_shape = 1;
        } else {
            char shown[25];
            npy__printable(shown, sizeof shown, key, key_len);
            why->status = NMF_STATUS_IO;
            snprintf(why->msg, sizeof why->msg, "malformed header (unexpected or repeated key '%s')", shown);
            return why->status;
        }

        npy__skip_ws(&c);
        if (npy__accept(&c, ','))
            continue;
        if (npy__accept(&c, '}'))
            break;
        return npy__fail(why, NMF_STATUS_IO, "malformed header (expected ',' or '}')");
    }
    npy__skip_ws(&c);
    if (c.p != c.end)
        return npy__fail(why, NMF_STATUS_IO, "malformed header (garbage after the dict)");
    if (!have_descr || !have_order || !have_shape)
        return npy__fail(why, NMF_STATUS_IO, "malformed header (missing descr, fortran_order or shape)");
    if (h->ndim != 2) {
        why->status = NMF_STATUS_IO;
        snprintf(why->msg, sizeof why->msg, "expected a 2-D array, got shape %s", h->shape_text);
        return why->status;
    }
    return NMF_STATUS_OK;
}

/* ---- reading ---- */

/* Reads count elements of itemsize bytes (little-endian f4 or f8) into
 * out as floats. Returns 0 on a short read. */
static int npy__read_data(FILE *fp, float *out, size_t count, int itemsize)
{
    if (itemsize == 4) {
        if (fread(out, 4, count, fp) != count)
            return 0;
        for (size_t i = 0; i < count; i++) { /* no-op on little-endian hosts */
            unsigned char b[4];
            memcpy(b, &out[i], 4);
            uint32_t u = npy__le32(b);
            memcpy(&out[i], &u, 4);
        }
        return 1;
    }
    unsigned char buf[NPY_CHUNK * 8];
    for (size_t done = 0; done < count;) {
        size_t n = count - done < NPY_CHUNK ? count - done : NPY_CHUNK;
        if (fread(buf, 8, n, fp) != n)
            return 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t u = npy__le64(buf + 8 * i);
            double d;
            memcpy(&d, &u, 8);
            /* Out-of-range double -> float conversion is undefined in ISO C;
             * saturate to infinity as IEEE arithmetic would. */
            if (d > FLT_MAX)
                out[done + i] = INFINITY;
            else if (d < -FLT_MAX)
                out[done + i] = -INFINITY;
            else
                out[done + i] = (float)d;
        }
        done += n;
    }
    return 1;
}

nmf_status npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols)
{
    nmf_status st = NMF_STATUS_OK;
    FILE *fp = NULL;
    char *text = NULL;
    float *flat = NULL;
    float *out = NULL;
    *data = NULL;
    *rows = 0;
    *cols = 0;

    fp = fopen(path, "rb");
    if (!fp)
        return nmf_error(NMF_STATUS_IO, "%s: %s", path, strerror(errno));

    unsigned char pre[12];
    size_t got = fread(pre, 1, 10, fp);
    if (ferror(fp)) {
        st = nmf_error(NMF_STATUS_IO, "%s: read error (%s)", path, strerror(errno));
        goto cleanup;
    }
    if (got == 0) {
        st = nmf_error(NMF_STATUS_IO, "%s: empty file, not a .npy file", path);
        goto cleanup;
    }
    if (memcmp(pre, NPY_MAGIC, got < NPY_MAGIC_LEN ? got : NPY_MAGIC_LEN) != 0) {
        st = nmf_error(NMF_STATUS_IO, "%s: not a .npy file (bad magic)", path);
        goto cleanup;
    }
    if (got < 10) {
        st = nmf_error(NMF_STATUS_IO, "%s: truncated .npy header", path);
        goto cleanup;
    }

    size_t preamble, header_len;
    if (pre[6] == 1 && pre[7] == 0) {
        header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
        preamble = 10;
    } else if (pre[6] == 2 && pre[7] == 0) {
        if (fread(pre + 10, 1, 2, fp) != 2) {
            st = nmf_error(NMF_STATUS_IO, "%s: truncated .npy header", path);
            goto cleanup;
        }
        uint32_t len32 = npy__le32(pre + 8);
        if (len32 > NPY_MAX_HEADER) {
            st = nmf_error(NMF_STATUS_IO, "%s: .npy header too long (%lu bytes)", path,
                           (unsigned long)len32);
            goto cleanup;
        }
        header_len = len32;
        preamble = 12;
    } else {
        st = nmf_error(NMF_STATUS_IO, "%s: unsupported .npy version %d.%d (expected 1.0 or 2.0)",
                       path, pre[6], pre[7]);
        goto cleanup;
    }

    text = malloc(header_len + 1);
    if (!text) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", path);
        goto cleanup;
    }
    if (fread(text, 1, header_len, fp) != header_len) {
        st = nmf_error(NMF_STATUS_IO, "%s: truncated .npy header", path);
        goto cleanup;
    }
    text[header_len] = '\0';

    npy__header h = {0};
    npy__why why = {NMF_STATUS_OK, ""};
    if (npy__parse_header(text, header_len, &h, &why) != NMF_STATUS_OK) {
        st = nmf_error(why.status, "%s: %s", path, why.msg);
        goto cleanup;
    }

    size_t count, nbytes;
    if (!npy__mul(h.shape[0], h.shape[1], &count) ||
        !npy__mul(count, (size_t)h.itemsize, &nbytes)) {
        st = nmf_error(NMF_STATUS_TOO_LARGE, "%s: array too large (%zu x %zu)", path,
                       h.shape[0], h.shape[1]);
        goto cleanup;
    }

    /* Check the size before allocating, so that a forged shape cannot make
     * us allocate more than the file holds. Non-regular files (pipes) are
     * checked by the short read below. */
    struct stat sb;
    if (fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode)) {
        uintmax_t size = sb.st_size > 0 ? (uintmax_t)sb.st_size : 0;
        uintmax_t start = preamble + header_len;
        if (size < start || size - start < nbytes) {
            st = nmf_error(NMF_STATUS_IO, "%s: truncated .npy data (expected %zu bytes)", path, nbytes);
            goto cleanup;
        }
    }

    flat = malloc(count ? count * sizeof(float) : 1);
    if (!flat) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory (%zu x %zu floats)", path,
                       h.shape[0], h.shape[1]);
        goto cleanup;
    }
    if (!npy__read_data(fp, flat, count, h.itemsize)) {
        if (ferror(fp))
            st = nmf_error(NMF_STATUS_IO, "%s: read error (%s)", path, strerror(errno));
        else
            st = nmf_error(NMF_STATUS_IO, "%s: truncated .npy data (expected %zu bytes)", path, nbytes);
        goto cleanup;
    }

    if (h.fortran && h.shape[0] > 1 && h.shape[1] > 1) {
        /* Fortran order: element (i, j) is at j * rows + i. */
        out = malloc(count * sizeof(float));
        if (!out) {
            st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", path);
            goto cleanup;
        }
        size_t r = h.shape[0], c = h.shape[1];
        for (size_t i = 0; i < r; i++)
            for (size_t j = 0; j < c; j++)
                out[i * c + j] = flat[j * r + i];
        free(flat);
        flat = NULL;
    } else {
        out = flat; /* a single row or column reads the same in both orders */
        flat = NULL;
    }

    *data = out;
    *rows = h.shape[0];
    *cols = h.shape[1];
    out = NULL;

cleanup:
    free(out);
    free(flat);
    free(text);
    if (fp)
        fclose(fp);
    return st;
}
