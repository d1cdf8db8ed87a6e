/* dataset.c - walks the inputs, recognises images by content, checks their
 * sizes, colour and the memory V needs before decoding anything, then
 * decodes the images in parallel into the rows of V on the 0..255 scale:
 * grey, or R, G, B in a colour run; as bytes when every image is 8-bit,
 * else as float32 (dataset.h).
 *
 * Two passes: the first decodes only headers (stbi_info), so that a size
 * mismatch or a V too large for this machine is reported before any pixel
 * is decoded, not after minutes of decoding or an out-of-memory kill. Each
 * pass reads every file whole (see below), so the files are read twice.
 * A grey file in a colour run is refused in the first pass too.
 *
 * stb reads each file from memory, never through its FILE functions: from a
 * FILE, stb "rewinds" between one format's test and the next only within
 * its 128-byte window, so after the JPEG test has read further the next
 * tests parse bytes from the middle of the file (found by fuzzing: a JPEG
 * whose bytes at 256 were a PNM header with an overflowing width). In
 * memory every test starts at byte 0, and stb_guard checks the very bytes
 * stb parses. */
#define _POSIX_C_SOURCE 200809L

#include "dataset.h"
#include "available_memory.h"
#include "fsutil.h"
#include "mapped_file.h"
#include "stb_guard.h"
#include "stream.h"
#include "error.h"
#include "names.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_resize.h>

typedef enum { PIXELS_8, PIXELS_16, PIXELS_HDR } pixel_format;

/* A file found by the walk; an image once the first pass has read its header. */
typedef struct {
    char *path;   /* display path (owned) */
    int w, h;     /* from the header */
    int channels; /* from the header: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA */
    pixel_format format;
    int is_image; /* what the probe found */
    int in_dir;   /* found in a directory (a non-image is skipped), or given by name */
    size_t input; /* the input it came from */
} image_entry;

typedef struct {
    image_entry *v;
    size_t len, cap;
} image_list;

/* Why a file failed in the parallel decode; formatted after the loop
 * because nmf_error() keeps one message per thread. */
typedef enum {
    DECODE_OK,
    DECODE_OPEN,      /* err holds errno */
    DECODE_CORRUPT,   /* reason holds stb's static string */
    DECODE_CHANGED,   /* the size, or a colour file's channels, differ from the first pass */
    DECODE_NONFINITE,
    DECODE_NO_MEMORY,
    DECODE_MASK_OPEN,    /* the mask file: err holds errno */
    DECODE_MASK_CORRUPT, /* reason holds stb's or stb_guard's string */
    DECODE_MASK_SIZE,    /* the mask's size (w, h) is not the image's */
    DECODE_ALL_MISSING   /* no pixel observed */
} decode_outcome;

typedef struct {
    decode_outcome outcome;
    int err;
    const char *reason;
    int w, h; /* DECODE_MASK_SIZE: the mask's */
} decode_result;

static const char *const grey_names[] = {[DATASET_GREY_LUMA] = "luma",
                                         [DATASET_GREY_FIRST] = "first"};
NMF_NAMES(dataset_grey, dataset_grey_name, dataset_grey_parse, grey_names)

static const char *const storage_names[] = {[DATASET_STORAGE_AUTO] = "auto",
                                            [DATASET_STORAGE_FLOAT32] = "float32"};
NMF_NAMES(dataset_storage, dataset_storage_name, dataset_storage_parse, storage_names)

static const char *const missing_names[] = {[DATASET_MISSING_NONE] = "none",
                                            [DATASET_MISSING_ALPHA] = "alpha",
                                            [DATASET_MISSING_MASKS] = "masks"};
NMF_NAMES(dataset_missing, dataset_missing_name, dataset_missing_parse, missing_names)

void dataset_options_default(dataset_options *opt)
{
    *opt = (dataset_options){.grey = DATASET_GREY_LUMA, .storage = DATASET_STORAGE_AUTO};
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int dataset_natural_compare(const char *a, const char *b)
{
    while (*a && *b) {
        if (is_digit(*a) && is_digit(*b)) {
            /* Compare digit runs by value without converting, so runs longer
             * than any integer type still order correctly. */
            const char *za = a, *zb = b;
            while (*za == '0')
                za++;
            while (*zb == '0')
                zb++;
            size_t la = 0, lb = 0;
            while (is_digit(za[la]))
                la++;
            while (is_digit(zb[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = memcmp(za, zb, la);
            if (c != 0)
                return c < 0 ? -1 : 1;
            /* Same value: the run with fewer leading zeros first ("1" < "01"),
             * so that distinct names never compare equal. */
            size_t ra = (size_t)(za - a) + la, rb = (size_t)(zb - b) + lb;
            if (ra != rb)
                return ra < rb ? -1 : 1;
            a += ra;
            b += rb;
        } else {
            if (*a != *b)
                return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return (unsigned char)*a - (unsigned char)*b;
}

static int compare_entries(const void *a, const void *b)
{
    return dataset_natural_compare(((const image_entry *)a)->path,
                                   ((const image_entry *)b)->path);
}

/* dir + "/" + name, without doubling a slash that dir already ends with;
 * NULL when out of memory. */
static char *join_path(const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    int slash = ld > 0 && dir[ld - 1] != '/';
    char *s = malloc(ld + (size_t)slash + ln + 1);
    if (!s)
        return NULL;
    memcpy(s, dir, ld);
    if (slash)
        s[ld] = '/';
    memcpy(s + ld + (size_t)slash, name, ln + 1);
    return s;
}

/* Appends an entry for path (owned; freed on failure) to l. */
static nmf_status push_file(image_list *l, char *path)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        image_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(path);
            return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory listing files");
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->len++] = (image_entry){.path = path, .format = PIXELS_8};
    return NMF_STATUS_OK;
}

/* A directory on the walk's current path, so that a link back to one is
 * known by its device and inode. */
typedef struct walk_frame {
    dev_t dev;
    ino_t ino;
    const char *path;
    const struct walk_frame *up;
} walk_frame;

/* Appends the regular files under dir (dir_sb its stat, up the directories
 * above it; full display paths, through any links) to out. Hidden entries
 * are skipped. Symbolic links are followed to files and directories; a
 * directory already on the path (a loop) is skipped with a note, and a
 * link that leads nowhere is noted and counted in *skipped. */
static nmf_status walk_dir(const char *dir, const struct stat *dir_sb, const walk_frame *up,
                           image_list *out, size_t *skipped)
{
    nmf_status st = NMF_STATUS_OK;
    const walk_frame here = {dir_sb->st_dev, dir_sb->st_ino, dir, up};
    DIR *d = opendir(dir);
    if (!d)
        return nmf_error(NMF_STATUS_IO, "%s: %s", dir, strerror(errno));
    for (;;) {
        errno = 0;
        struct dirent *ent = readdir(d);
        if (!ent) {
            if (errno)
                st = nmf_error(NMF_STATUS_IO, "%s: %s", dir, strerror(errno));
            break;
        }
        if (ent->d_name[0] == '.')
            continue;
        char *child = join_path(dir, ent->d_name);
        if (!child) {
            st = nmf_error(NMF_STATUS_NO_MEMORY, "out of memory listing files");
            break;
        }
        struct stat sb;
        if (lstat(child, &sb) != 0) {
            st = nmf_error(NMF_STATUS_IO, "%s: %s", child, strerror(errno));
            free(child);
            break;
        }
        if (S_ISLNK(sb.st_mode) && stat(child, &sb) != 0) {
            nmf_note("%s: broken symbolic link (%s), skipped", child, strerror(errno));
            (*skipped)++;
            free(child);
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            const walk_frame *f = &here;
            while (f && (f->dev != sb.st_dev || f->ino != sb.st_ino))
                f = f->up;
            if (f)
                nmf_note("%s: leads back to %s (a loop), skipped", child, f->path);
            else
                st = walk_dir(child, &sb, &here, out, skipped);
            free(child);
        } else if (S_ISREG(sb.st_mode)) {
            st = push_file(out, child);
        } else {
            free(child);
        }
        if (st != NMF_STATUS_OK)
            break;
    }
    closedir(d);
    return st;
}

/* Whether the bytes start like a format stb decodes, so that a file stb
 * refuses is called corrupt rather than silently skipped as "not an image". */
static int has_image_signature(const unsigned char *s, size_t len)
{
    static const struct { const char *bytes; size_t len; } sigs[] = {
        {"\x89PNG", 4}, {"\xFF\xD8\xFF", 3}, {"GIF8", 4}, {"BM", 2},
        {"8BPS", 4}, {"#?RADIANCE", 10}, {"#?RGBE", 6},
    };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (len >= sigs[i].len && memcmp(s, sigs[i].bytes, sigs[i].len) == 0)
            return 1;
    return len >= 2 && s[0] == 'P' && s[1] >= '1' && s[1] <= '6';
}

static const char *stb_reason(void)
{
    const char *r = stbi_failure_reason();
    return r ? r : "unknown reason";
}

/* The most stb_image takes in one buffer (its lengths are int). */
#define STB_MAX_FILE_BYTES ((size_t)INT_MAX)

/* Reads the whole file at path into a new buffer *data of *len bytes (free
 * it). Returns 0 or an errno value: EFBIG above STB_MAX_FILE_BYTES. Prints
 * nothing, so it runs inside the parallel decode. */
static int read_whole_file(const char *path, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return errno;
    int err = 0;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        err = errno;
    } else if ((uintmax_t)sb.st_size > STB_MAX_FILE_BYTES) {
        err = EFBIG;
    } else if (!(*data = malloc((size_t)sb.st_size + 1))) { /* + 1: never malloc(0) */
        err = ENOMEM;
    } else if ((*len = fread(*data, 1, (size_t)sb.st_size, f)) != (size_t)sb.st_size ||
               ferror(f)) {
        err = ferror(f) ? EIO : 0; /* a file that shrank since fstat: the bytes read */
    }
    fclose(f);
    if (err) {
        free(*data);
        *data = NULL;
        *len = 0;
    }
    return err;
}

/* Reads the header of e->path into e, and whether it is an image. A
 * non-image inside a directory (e->in_dir) is not (keep_images skips it);
 * given by name it is an error. */
static nmf_status probe_file(image_entry *e)
{
    nmf_status st = NMF_STATUS_OK;
    unsigned char *data;
    size_t len;
    e->is_image = 0;
    int err = read_whole_file(e->path, &data, &len);
    if (err == EFBIG)
        return nmf_error(NMF_STATUS_TOO_LARGE, "%s: larger than stb_image reads (2 GiB)",
                         e->path);
    if (err)
        return nmf_error(err == ENOMEM ? NMF_STATUS_NO_MEMORY : NMF_STATUS_IO, "%s: %s",
                         e->path, strerror(err));
    /* Read before stb, which calls an image over its caps corrupt. */
    unsigned long w, h;
    int sized = stb_guard_size(data, len, &w, &h);
    if (sized && !stb_guard_fits(w, h)) {
        st = nmf_error(NMF_STATUS_TOO_LARGE,
                       "%s: image too large (%lux%lu; at most %d pixels a side and %d pixels)",
                       e->path, w, h, STB_GUARD_MAX_SIDE, STB_GUARD_MAX_PIXELS);
        goto cleanup;
    }
    const char *unsafe = stb_guard_check(data, len);
    if (unsafe) {
        st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: corrupt image (%s)", e->path, unsafe);
        goto cleanup;
    }
    if (stbi_info_from_memory(data, (int)len, &e->w, &e->h, &e->channels)) {
        /* stbi_info gives a top-down BMP's height negative, its loader and
         * stb_guard_size positive. */
        if (e->h < 0 && sized)
            e->h = (int)h;
        /* stb's PNM header parser accepts a 0 (found by fuzzing), and
         * stb reads the size of a header cut short as 0. */
        if (e->w <= 0 || e->h <= 0) {
            const char *cut = stb_guard_truncated(data, len);
            if (cut)
                st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: corrupt image (%s)", e->path, cut);
            else
                st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: corrupt image (size %dx%d)", e->path,
                               e->w, e->h);
            goto cleanup;
        }
        e->is_image = 1;
        if (stbi_is_hdr_from_memory(data, (int)len))
            e->format = PIXELS_HDR;
        else if (stbi_is_16_bit_from_memory(data, (int)len))
            e->format = PIXELS_16;
        goto cleanup;
    }
    /* A header cut short is named as such rather than by stb's guess. */
    const char *cut = stb_guard_truncated(data, len), *reason = cut ? cut : stb_reason();
    if (cut || has_image_signature(data, len))
        st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: corrupt image (%s)", e->path, reason);
    else if (!e->in_dir) /* in a directory: skipped, with a note */
        st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: not an image (%s)", e->path, reason);
cleanup:
    free(data);
    return st;
}

/* The listing, first: appends one input's files to files, a directory's
 * in natural order, or the one file given; broken links are counted in
 * *skipped. */
static nmf_status list_input(const char *input, size_t index, image_list *files, size_t *skipped)
{
    nmf_status st;
    struct stat sb;
    const size_t start = files->len;
    if (stat(input, &sb) != 0)
        return nmf_error(NMF_STATUS_IO, "%s: %s", input, strerror(errno));
    if (S_ISREG(sb.st_mode)) {
        char *copy = strdup(input);
        if (!copy)
            return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory listing files");
        st = push_file(files, copy);
    } else if (S_ISDIR(sb.st_mode)) {
        st = walk_dir(input, &sb, NULL, files, skipped);
        /* Every path starts with the same "input/", which ends in a
         * non-digit, so sorting whole paths orders them as their relative
         * paths. */
        if (st == NMF_STATUS_OK && files->len - start > 1)
            qsort(files->v + start, files->len - start, sizeof *files->v, compare_entries);
    } else {
        return nmf_error(NMF_STATUS_BAD_INPUT, "%s: not a regular file or directory", input);
    }
    for (size_t i = start; i < files->len; i++) {
        files->v[i].input = index;
        files->v[i].in_dir = S_ISDIR(sb.st_mode);
    }
    return st;
}

/* What the probe of a file found: what the ranks share. */
typedef struct {
    int w, h, channels, format, is_image;
} probe_record;

/* The first pass, the headers: every file probed, in order, up to the
 * first that fails. Over ranks (opt->ranks), each rank probes a share of
 * the files, the ranks agree on the first failure (the lowest rank's, so
 * the first file's, as one process would name it), and share the rest. */
static nmf_status probe_files(image_list *files, const dataset_options *opt)
{
    const size_t total = files->len;
    size_t first = 0, count = total;
    if (opt->ranks)
        opt->ranks->slice(total, &first, &count);
    probe_record *found = malloc((total ? total : 1) * sizeof *found);
    nmf_status st = found ? NMF_STATUS_OK
                          : nmf_error(NMF_STATUS_NO_MEMORY, "out of memory listing files");
    for (size_t i = first; i < first + count && st == NMF_STATUS_OK; i++) {
        image_entry *e = &files->v[i];
        st = probe_file(e);
        found[i] = (probe_record){e->w, e->h, e->channels, (int)e->format, e->is_image};
    }
    if (opt->ranks && (st = opt->ranks->agree(st)) == NMF_STATUS_OK) {
        opt->ranks->share(found, sizeof *found, total);
        for (size_t i = 0; i < total; i++) {
            image_entry *e = &files->v[i];
            e->w = found[i].w, e->h = found[i].h, e->channels = found[i].channels;
            e->format = (pixel_format)found[i].format, e->is_image = found[i].is_image;
        }
    }
    free(found);
    return st;
}

/* Keeps the images, in order: a directory's non-images are noted and
 * counted in *skipped (with the walk's broken links, per input in
 * input_skipped), and an input without images is an error. */
static nmf_status keep_images(image_list *files, const char *const *inputs, size_t n_inputs,
                              size_t *input_skipped, size_t *skipped)
{
    size_t kept = 0, i = 0;
    nmf_status st = NMF_STATUS_OK;
    for (size_t in = 0; in < n_inputs; in++) {
        const size_t start = kept;
        for (; i < files->len && files->v[i].input == in; i++) {
            if (files->v[i].is_image) {
                files->v[kept++] = files->v[i];
                continue;
            }
            /* No image signature: stb's "not of any known type" adds nothing. */
            nmf_note("%s: not an image, skipped", files->v[i].path);
            input_skipped[in]++;
            free(files->v[i].path);
        }
        *skipped += input_skipped[in];
        if (st == NMF_STATUS_OK && kept == start)
            st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: no images found (%zu file%s skipped)",
                           inputs[in], input_skipped[in], input_skipped[in] == 1 ? "" : "s");
    }
    files->len = kept;
    return st;
}

/* "68.7 GB" or "412.3 MB" (decimal units, as memory is usually quoted). */
static void format_bytes(double bytes, char *buf, size_t size)
{
    if (bytes >= 1e9)
        snprintf(buf, size, "%.1f GB", bytes / 1e9);
    else
        snprintf(buf, size, "%.1f MB", bytes / 1e6);
}

static double sample(const void *pix, pixel_format format, size_t i)
{
    switch (format) {
    case PIXELS_8: return ((const stbi_uc *)pix)[i];
    case PIXELS_16: return ((const stbi_us *)pix)[i] / 257.0; /* 65535 -> 255 */
    case PIXELS_HDR: return ((const float *)pix)[i];
    }
    return 0.0;
}

/* The values a pixel has in V: 3 in a colour run, else 1. */
static int row_channels(const dataset_options *opt)
{
    return opt->colour ? 3 : 1;
}

/* Value c (of row_channels(opt)) of pixel p of the decoded pixels
 * (channels each, interleaved), before any resizing: R, G or B in a colour
 * run; else the grey as opt->grey asks. Alpha, the 2nd or 4th channel, is
 * ignored. An 8-bit file's luma is rounded to the nearest whole number,
 * halves up, in integers, so that it is exact (ties are exact there too:
 * 299 R + 587 G + 114 B ends in 500 for 16782 of the 2^24 colours). */
static float pixel_value(const void *pix, pixel_format format, int channels, size_t p, int c,
                         const dataset_options *opt)
{
    size_t i = p * (size_t)channels;
    if (opt->colour)
        return (float)sample(pix, format, i + (size_t)c);
    if (channels < 3 || opt->grey != DATASET_GREY_LUMA)
        return (float)sample(pix, format, i);
    if (format == PIXELS_8) {
        const stbi_uc *q = (const stbi_uc *)pix + i;
        return (float)((299u * q[0] + 587u * q[1] + 114u * q[2] + 500u) / 1000u);
    }
    return (float)(0.299 * sample(pix, format, i) + 0.587 * sample(pix, format, i + 1) +
                   0.114 * sample(pix, format, i + 2));
}

/* Decoded pixels (count of them, channels each) to row_channels(opt)
 * floats a pixel, grey or R, G, B as opt asks. */
static void to_row(const void *pix, pixel_format format, int channels, size_t count,
                   const dataset_options *opt, float *out)
{
    int ch = row_channels(opt);
    for (size_t p = 0; p < count; p++)
        for (int c = 0; c < ch; c++)
            out[p * (size_t)ch + (size_t)c] = pixel_value(pix, format, channels, p, c, opt);
}

/* As to_row, for an 8-bit file, into bytes: every value is a whole number
 * 0..255 (pixel_value rounds the luma). */
static void to_row8(const stbi_uc *pix, int channels, size_t count, const dataset_options *opt,
                    unsigned char *out)
{
    int ch = row_channels(opt);
    for (size_t p = 0; p < count; p++)
        for (int c = 0; c < ch; c++)
            out[p * (size_t)ch + (size_t)c] =
                (unsigned char)pixel_value(pix, PIXELS_8, channels, p, c, opt);
}

/* A resized value of an 8-bit file back to a whole level 0..255: rounded
 * to nearest, halves up (roundf: halves away from zero, and the values are
 * >= 0). The clamp only catches float error at the ends: the triangle
 * filter keeps values within the source's range. */
static float round_level(float x)
{
    return x <= 0.0f ? 0.0f : x >= 255.0f ? 255.0f : roundf(x);
}

/* The mask row (count pixels, ch values each) from the decoded image's
 * alpha: 0 where it is 0; every pixel observed in an image without alpha. */
static void mask_from_alpha(const void *pix, pixel_format format, int channels, size_t count,
                            int ch, unsigned char *mask)
{
    const int alpha = channels == 2 || channels == 4;
    for (size_t p = 0; p < count; p++) {
        const unsigned char seen =
            !alpha || sample(pix, format, p * (size_t)channels + (size_t)channels - 1) != 0.0;
        memset(mask + p * (size_t)ch, seen, (size_t)ch);
    }
}

/* The mask row from the mask file at path, which must be a w x h image:
 * 0 where its first channel is 0 (read at 16 bits, or as floats for HDR,
 * so that no value above 0 rounds to it). */
static decode_result mask_from_file(const char *path, int w, int h, int ch, unsigned char *mask)
{
    decode_result r = {DECODE_OK, 0, NULL, 0, 0};
    unsigned char *data = NULL;
    void *pix = NULL;
    size_t len;
    int channels;
    if ((r.err = read_whole_file(path, &data, &len)) != 0) {
        r.outcome = r.err == ENOMEM ? DECODE_NO_MEMORY : DECODE_MASK_OPEN;
        goto cleanup;
    }
    if ((r.reason = stb_guard_check(data, len)) != NULL ||
        (r.reason = stb_guard_truncated(data, len)) != NULL) {
        r.outcome = DECODE_MASK_CORRUPT;
        goto cleanup;
    }
    const pixel_format format = stbi_is_hdr_from_memory(data, (int)len) ? PIXELS_HDR : PIXELS_16;
    if (format == PIXELS_HDR)
        pix = stbi_loadf_from_memory(data, (int)len, &r.w, &r.h, &channels, 0);
    else
        pix = stbi_load_16_from_memory(data, (int)len, &r.w, &r.h, &channels, 0);
    if (!pix) {
        r.outcome = DECODE_MASK_CORRUPT;
        r.reason = stb_reason();
        goto cleanup;
    }
    if (r.w != w || r.h != h) {
        r.outcome = DECODE_MASK_SIZE;
        goto cleanup;
    }
    const size_t count = (size_t)w * (size_t)h;
    for (size_t p = 0; p < count; p++)
        memset(mask + p * (size_t)ch, sample(pix, format, p * (size_t)channels) != 0.0, (size_t)ch);
cleanup:
    free(data);
    stbi_image_free(pix);
    return r;
}

/* Decodes one image into its row of V, n values: the probed size, or the
 * resize target, times row_channels(opt); into row (floats) or, when V is
 * bytes, row8 (then the file is 8-bit). With opt->missing, its mask row
 * too (from its alpha, or from the file at mask_path). Runs inside the
 * parallel region: reports through its result, never through nmf_error(). */
static decode_result decode_image(const image_entry *e, const dataset_options *opt, float *row,
                                  unsigned char *row8, size_t n, unsigned char *mask,
                                  const char *mask_path)
{
    decode_result r = {DECODE_OK, 0, NULL, 0, 0};
    void *pix = NULL;
    float *unsized = NULL; /* the image at its own size, before resizing */
    float *sized = NULL;   /* resized, before rounding into row8 */
    unsigned char *data = NULL;
    size_t len;
    int w, h, channels;
    assert((row == NULL) != (row8 == NULL));
    assert(!row8 || e->format == PIXELS_8);
    if ((r.err = read_whole_file(e->path, &data, &len)) != 0) {
        r.outcome = r.err == ENOMEM ? DECODE_NO_MEMORY : DECODE_OPEN;
        goto cleanup;
    }
    /* Checked again: the file may have changed since the first pass. The
     * pixel data, that it is all there, only here: the first pass reads
     * headers. */
    if ((r.reason = stb_guard_check(data, len)) != NULL ||
        (r.reason = stb_guard_truncated(data, len)) != NULL) {
        r.outcome = DECODE_CORRUPT;
        goto cleanup;
    }
    if (e->format == PIXELS_HDR)
        pix = stbi_loadf_from_memory(data, (int)len, &w, &h, &channels, 0);
    else if (e->format == PIXELS_16)
        pix = stbi_load_16_from_memory(data, (int)len, &w, &h, &channels, 0);
    else
        pix = stbi_load_from_memory(data, (int)len, &w, &h, &channels, 0);
    if (!pix) {
        r.outcome = DECODE_CORRUPT;
        r.reason = stb_reason();
        goto cleanup;
    }
    /* As the first pass saw it: this size and, in a colour run, colour.
     * Not its bit depth: stb converts to the depth the first pass chose,
     * so the row (bytes or floats) is filled either way. */
    if (w != e->w || h != e->h || (opt->colour && channels < 3)) {
        r.outcome = DECODE_CHANGED;
        goto cleanup;
    }
    size_t count = (size_t)w * (size_t)h;
    int ch = row_channels(opt);
    if (opt->resize_w == 0) {
        if (row8)
            to_row8(pix, channels, count, opt, row8);
        else
            to_row(pix, e->format, channels, count, opt, row);
    } else {
        unsized = malloc(count * (size_t)ch * sizeof *unsized);
        if (row8)
            sized = malloc(n * sizeof *sized);
        if (!unsized || (row8 && !sized)) {
            r.outcome = DECODE_NO_MEMORY;
            goto cleanup;
        }
        to_row(pix, e->format, channels, count, opt, unsized);
        float *out = row8 ? sized : row;
        /* Resizing the float image keeps HDR and 16-bit values unrounded.
         * The triangle filter has no negative lobes, unlike stb's default
         * cubics, so the result stays within the source's range: V stays
         * non-negative and on the 0..255 scale. */
        if (!stbir_resize_float_generic(unsized, w, h, 0, out, opt->resize_w, opt->resize_h, 0,
                                        ch, STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP,
                                        STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, NULL)) {
            r.outcome = DECODE_NO_MEMORY;
            goto cleanup;
        }
        /* An 8-bit file stays 8-bit, whether V is bytes or floats. */
        if (row8)
            for (size_t i = 0; i < n; i++)
                row8[i] = (unsigned char)round_level(sized[i]);
        else if (e->format == PIXELS_8)
            for (size_t i = 0; i < n; i++)
                row[i] = round_level(row[i]);
    }
    if (mask) {
        if (opt->missing == DATASET_MISSING_ALPHA)
            mask_from_alpha(pix, e->format, channels, count, ch, mask);
        else
            r = mask_from_file(mask_path, w, h, ch, mask);
        if (r.outcome == DECODE_OK && !memchr(mask, 1, n))
            r.outcome = DECODE_ALL_MISSING;
    }
    /* A missing pixel's value is never used: it may be anything. */
    for (size_t i = 0; row && r.outcome == DECODE_OK && i < n; i++) {
        if (!isfinite(row[i]) && (!mask || mask[i])) {
            r.outcome = DECODE_NONFINITE;
            break;
        }
    }
cleanup:
    free(data);
    stbi_image_free(pix);
    free(unsized);
    free(sized);
    return r;
}

/* Where image e's mask is (dataset_options.mask_dir), allocated; NULL
 * when out of memory. */
static char *mask_path_of(const dataset_options *opt, const char *const *inputs,
                          const image_entry *e)
{
    const char *rel;
    if (e->in_dir) {
        rel = e->path + strlen(inputs[e->input]);
    } else {
        const char *slash = strrchr(e->path, '/');
        rel = slash ? slash + 1 : e->path;
    }
    while (*rel == '/')
        rel++;
    return join_path(opt->mask_dir, rel);
}

/* The options' missing pixels, checked: a mask folder that is one, and no
 * resizing (a resized mask's pixels would be part missing). */
static nmf_status check_missing(const dataset_options *opt)
{
    struct stat sb;
    if (opt->missing == DATASET_MISSING_NONE)
        return NMF_STATUS_OK;
    if (opt->missing != DATASET_MISSING_ALPHA && opt->missing != DATASET_MISSING_MASKS)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "missing %d: not a dataset_missing",
                         (int)opt->missing);
    if (opt->resize_w)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "resize %dx%d: not with missing pixels yet (a resized mask would be "
                         "part missing); hint: resize the images and masks beforehand",
                         opt->resize_w, opt->resize_h);
    if (opt->missing == DATASET_MISSING_MASKS && !opt->mask_dir)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "missing masks: no mask folder given");
    if (opt->missing == DATASET_MISSING_MASKS && stat(opt->mask_dir, &sb) != 0)
        return nmf_error(NMF_STATUS_IO, "%s: %s", opt->mask_dir, strerror(errno));
    if (opt->missing == DATASET_MISSING_MASKS && !S_ISDIR(sb.st_mode))
        return nmf_error(NMF_STATUS_BAD_INPUT, "%s: not a directory (masks are read from one)",
                         opt->mask_dir);
    return NMF_STATUS_OK;
}

/* The error for a decode failure of image e, whose mask is at mask_path
 * (or NULL: from its alpha). */
static nmf_status decode_error(const decode_result *r, const image_entry *e, const char *mask_path)
{
    const char *path = e->path;
    switch (r->outcome) {
    case DECODE_OK: break;
    case DECODE_OPEN: return nmf_error(NMF_STATUS_IO, "%s: %s", path, strerror(r->err));
    case DECODE_CORRUPT:
        return nmf_error(NMF_STATUS_BAD_INPUT, "%s: corrupt image (%s)", path, r->reason);
    case DECODE_CHANGED:
        return nmf_error(NMF_STATUS_BAD_INPUT, "%s: the image changed while it was being loaded",
                         path);
    case DECODE_NONFINITE:
        return nmf_error(NMF_STATUS_BAD_INPUT, "%s: non-finite pixel value", path);
    case DECODE_NO_MEMORY:
        return nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory decoding the image", path);
    case DECODE_MASK_OPEN:
        return nmf_error(NMF_STATUS_IO, "%s: its mask %s: %s", path, mask_path, strerror(r->err));
    case DECODE_MASK_CORRUPT:
        return nmf_error(NMF_STATUS_BAD_INPUT, "%s: corrupt mask image (%s)", mask_path, r->reason);
    case DECODE_MASK_SIZE:
        return nmf_error(NMF_STATUS_BAD_INPUT, "%s: a %dx%d mask for %s, which is %dx%d",
                         mask_path, r->w, r->h, path, e->w, e->h);
    case DECODE_ALL_MISSING:
        if (mask_path)
            return nmf_error(NMF_STATUS_BAD_INPUT,
                             "%s: every pixel is missing (its mask %s is 0 everywhere)", path,
                             mask_path);
        return nmf_error(NMF_STATUS_BAD_INPUT, "%s: every pixel is missing (alpha 0 everywhere)",
                         path);
    }
    return NMF_STATUS_OK;
}

/* The colour check of the first pass: in a colour run, no grey image (by
 * its header). The first one is named, with how many there are. */
static nmf_status check_colour(const image_list *images, const dataset_options *opt)
{
    if (!opt->colour)
        return NMF_STATUS_OK;
    const image_entry *first = NULL;
    size_t grey = 0;
    for (size_t i = 0; i < images->len; i++) {
        if (images->v[i].channels < 3) {
            first = first ? first : &images->v[i];
            grey++;
        }
    }
    if (!first)
        return NMF_STATUS_OK;
    char more[96] = "";
    if (grey > 1)
        snprintf(more, sizeof more, "; %zu of the %zu images are grey", grey, images->len);
    return nmf_error(NMF_STATUS_BAD_INPUT,
                     "%s: a grey image (%s), but --colour needs colour images (RGB or RGBA)%s; "
                     "hint: drop --colour, or convert the images to RGB",
                     first->path,
                     first->channels == 1 ? "1 channel" : "2 channels: grey and alpha", more);
}

/* Whether V can be bytes: the storage allows it and every image is 8-bit
 * (by its header). */
static int use_bytes(const image_list *images, const dataset_options *opt)
{
    if (opt->storage != DATASET_STORAGE_AUTO)
        return 0;
    for (size_t i = 0; i < images->len; i++)
        if (images->v[i].format != PIXELS_8)
            return 0;
    return 1;
}

/* The size checks of the first pass: agreeing sizes (unless resizing), and
 * an m x n matrix (n counting the channels) of elem-byte values, named
 * storage, that fits in size_t (plan_V then decides where it goes). */
static nmf_status check_sizes(const image_list *images, const dataset_options *opt, size_t elem,
                              const char *storage, int *w, int *h)
{
    const image_entry *first = &images->v[0];
    *w = opt->resize_w ? opt->resize_w : first->w;
    *h = opt->resize_h ? opt->resize_h : first->h;
    for (size_t i = 1; i < images->len && opt->resize_w == 0; i++) {
        const image_entry *e = &images->v[i];
        if (e->w != first->w || e->h != first->h)
            return nmf_error(NMF_STATUS_BAD_INPUT,
                             "%s: image is %dx%d but %s is %dx%d; hint: use --resize %dx%d to "
                             "scale all images to one size",
                             e->path, e->w, e->h, first->path, first->w, first->h, first->w,
                             first->h);
    }
    size_t m = images->len, ch = (size_t)row_channels(opt), max = SIZE_MAX / elem;
    const char *rgb = ch == 3 ? " RGB" : "";
    if ((size_t)*w > max / (size_t)*h || (size_t)*w * (size_t)*h > max / ch ||
        (size_t)*w * (size_t)*h * ch > max / m)
        return nmf_error(NMF_STATUS_TOO_LARGE,
                         "V would need more than SIZE_MAX bytes (%zu images of %dx%d%s, %s)", m,
                         *w, *h, rgb, storage);
    return NMF_STATUS_OK;
}

/* The largest block a streamed V reads at once: more only costs memory. */
#define MAX_STREAM_BLOCK ((size_t)256 << 20)

/* Where V goes (dataset_memory_plan): *stream_block 0 for memory, else the
 * block of a V streamed from its cache file. The messages name the inputs,
 * V's shape and the budget. */
static nmf_status plan_V(const char *const *inputs, size_t n_inputs, const dataset_options *opt,
                         size_t m, size_t rows_total, int w, int h, size_t n, size_t elem,
                         const char *storage, size_t *stream_block)
{
    const dataset_memory_plan *plan = &opt->memory;
    const double need = (double)m * (double)n * (double)elem,
                 avail = available_memory_bytes() / (plan->sharers > 1 ? plan->sharers : 1);
    char need_s[32], avail_s[32], more[48] = "", shape[96];
    format_bytes(need, need_s, sizeof need_s);
    format_bytes(avail, avail_s, sizeof avail_s);
    if (n_inputs > 1)
        snprintf(more, sizeof more, " (and %zu more inputs)", n_inputs - 1);
    snprintf(shape, sizeof shape, "%zu images of %dx%d%s, %s", m, w, h,
             opt->colour ? " RGB" : "", storage);
    *stream_block = 0;
    if (plan->max_memory == 0 || (plan->max_memory == DATASET_MEMORY_AVAILABLE && avail <= 0)) {
        if (avail > 0 && need > avail)
            return nmf_error(NMF_STATUS_TOO_LARGE,
                             "%s%s: the image matrix needs %s (%s) but only %s of memory is "
                             "available", inputs[0], more, need_s, shape, avail_s);
        return NMF_STATUS_OK;
    }
    if (!plan->cache_dir)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "dataset_load: a memory budget without a cache_dir");
    const int given = plan->max_memory != DATASET_MEMORY_AVAILABLE;
    const double budget = given ? (double)plan->max_memory : 0.9 * avail;
    const double others =
        plan->others ? (double)plan->others(m, rows_total, n, plan->others_user) : 0.0;
    if (others + need <= budget && (avail <= 0 || need <= avail))
        return NMF_STATUS_OK;
    /* Streamed: two blocks' room, one read and one asked for ahead. */
    const double left = budget - others, row = (double)n * (double)elem;
    if (left < 2.0 * row && !given && need <= avail)
        return NMF_STATUS_OK; /* only a budget given is a promise: V fits, so try */
    if (left < 2.0 * row) {
        char budget_s[32], others_s[32];
        format_bytes(budget, budget_s, sizeof budget_s);
        format_bytes(others, others_s, sizeof others_s);
        return nmf_error(NMF_STATUS_TOO_LARGE,
                         "%s%s: %s of memory (%s) is too little to stream the image matrix "
                         "(%s, %s): the rest of the run needs %s, and two blocks of V at "
                         "least %.1f KB more; hint: raise --max-memory%s",
                         inputs[0], more, budget_s, given ? "--max-memory" : "90% of what is available",
                         need_s, shape, others_s, 2.0 * row / 1e3,
                         plan->others ? ", or use fewer components or the random init" : "");
    }
    const double block = left / 2.0 < (double)MAX_STREAM_BLOCK ? left / 2.0 : (double)MAX_STREAM_BLOCK;
    *stream_block = (size_t)block;
    return NMF_STATUS_OK;
}

nmf_status dataset_load(const char *const *inputs, size_t n_inputs, const dataset_options *opt,
                        dataset *out)
{
    nmf_status st = NMF_STATUS_OK;
    image_list images = {0};
    decode_result *results = NULL;
    float *V = NULL;
    unsigned char *V8 = NULL, *mask = NULL;
    char **paths = NULL, **mask_paths = NULL;
    size_t mask_count = 0; /* of mask_paths */
    size_t skipped = 0, mapped_bytes = 0;
    int w = 0, h = 0;

    if (n_inputs == 0)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "no inputs given");
    if (opt->resize_w < 0 || opt->resize_h < 0 || (opt->resize_w == 0) != (opt->resize_h == 0))
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "resize %dx%d: both sizes must be positive, or both 0 for no resizing",
                         opt->resize_w, opt->resize_h);
    if (!dataset_storage_name(opt->storage))
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "storage %d: not a dataset_storage",
                         (int)opt->storage);
    if ((st = check_missing(opt)) != NMF_STATUS_OK)
        return st;

    size_t *input_skipped = calloc(n_inputs, sizeof *input_skipped);
    if (!input_skipped)
        st = nmf_error(NMF_STATUS_NO_MEMORY, "out of memory listing files");
    for (size_t i = 0; i < n_inputs && st == NMF_STATUS_OK; i++)
        st = list_input(inputs[i], i, &images, &input_skipped[i]);
    /* The ranks share the probe's work by the listing: they must have
     * listed alike (the job compares the paths once loaded). */
    if (opt->ranks && (st = opt->ranks->agree(st)) == NMF_STATUS_OK &&
        !opt->ranks->same(images.len))
        st = nmf_error(NMF_STATUS_BAD_INPUT,
                       "%s%s: the ranks of the job found different numbers of files (files "
                       "added or removed as it started, or inputs not every rank sees)",
                       inputs[0], n_inputs > 1 ? " (and more)" : "");
    if (st == NMF_STATUS_OK)
        st = probe_files(&images, opt);
    if (st == NMF_STATUS_OK)
        st = keep_images(&images, inputs, n_inputs, input_skipped, &skipped);
    free(input_skipped);
    if (st != NMF_STATUS_OK)
        goto cleanup;
    /* From the headers, so that V is allocated once, at its final size. */
    const int bytes = use_bytes(&images, opt);
    const size_t elem = bytes ? 1 : sizeof(float);
    const char *storage = bytes ? "uint8" : "float32";
    st = check_colour(&images, opt);
    if (st == NMF_STATUS_OK)
        st = check_sizes(&images, opt, elem, storage, &w, &h);
    if (st != NMF_STATUS_OK)
        goto cleanup;

    const int channels = row_channels(opt);
    const size_t rows_total = images.len;
    size_t row0 = 0, m = rows_total, n = (size_t)w * (size_t)h * (size_t)channels, stream_block;
    if (opt->ranks)
        opt->ranks->slice(rows_total, &row0, &m);
    if (m == 0) {
        st = nmf_error(NMF_STATUS_BAD_ARGUMENT,
                       "%s%s: %zu image%s, fewer than the ranks of the job (each needs one at "
                       "least); hint: start fewer ranks", inputs[0], n_inputs > 1 ? " (and more)" : "",
                       rows_total, rows_total == 1 ? "" : "s");
        goto cleanup;
    }
    /* Missing pixels are fitted on a V in memory (nmf_problem.mask). */
    dataset_options planned = *opt;
    if (opt->missing != DATASET_MISSING_NONE)
        planned.memory.max_memory = 0;
    if ((st = plan_V(inputs, n_inputs, &planned, m, rows_total, w, h, n, elem, storage,
                     &stream_block)) != NMF_STATUS_OK)
        goto cleanup;
    if (stream_block) {
        void *map = NULL;
        if ((st = fs_make_dirs(opt->memory.cache_dir)) != NMF_STATUS_OK ||
            (st = mapped_file_create(opt->memory.cache_dir, m * n * elem, &map)) != NMF_STATUS_OK)
            goto cleanup;
        mapped_bytes = m * n * elem;
        V8 = bytes ? map : NULL;
        V = bytes ? NULL : map;
    } else if (bytes) {
        V8 = malloc(m * n);
    } else {
        V = malloc(m * n * sizeof *V);
    }
    /* A streamed V's rows are handed back once decoded (nmf_problem_release). */
    const nmf_problem written = {m, n, V, V8, stream_block, NULL, NULL};
    results = malloc(m * sizeof *results);
    paths = malloc(rows_total * sizeof *paths);
    int masks_ok = 1;
    if (opt->missing != DATASET_MISSING_NONE)
        masks_ok = (mask = malloc(m * n)) != NULL;
    if (masks_ok && opt->missing == DATASET_MISSING_MASKS) {
        masks_ok = (mask_paths = calloc(m, sizeof *mask_paths)) != NULL;
        for (; masks_ok && mask_count < m; mask_count++) {
            const image_entry *e = &images.v[row0 + mask_count];
            masks_ok = (mask_paths[mask_count] = mask_path_of(opt, inputs, e)) != NULL;
        }
    }
    if (!masks_ok) {
        st = nmf_error(NMF_STATUS_NO_MEMORY,
                       "out of memory for the mask of missing pixels (%zu bytes)", m * n);
        goto cleanup;
    }
    if ((!V && !V8) || !results || !paths) {
        char need_s[32];
        format_bytes((double)m * (double)n * (double)elem, need_s, sizeof need_s);
        st = nmf_error(NMF_STATUS_NO_MEMORY, "cannot allocate %s for the image matrix (%s)",
                       need_s, storage);
        goto cleanup;
    }
    int threads = opt->threads > 0 ? opt->threads : omp_get_max_threads();
    /* dynamic: file sizes and formats vary, so decode times do too. */
    size_t decoded = 0;
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (size_t i = 0; i < m; i++) {
        results[i] = decode_image(&images.v[row0 + i], opt, V ? V + i * n : NULL,
                                  V8 ? V8 + i * n : NULL, n, mask ? mask + i * n : NULL,
                                  mask_paths ? mask_paths[i] : NULL);
        nmf_problem_release(&written, i * n, n);
        size_t done;
#pragma omp atomic capture
        done = ++decoded;
        if (opt->progress && omp_get_thread_num() == 0)
            opt->progress(done, m, opt->progress_user);
    }
    if (opt->progress)
        opt->progress(m, m, opt->progress_user);
    for (size_t i = 0; i < m && st == NMF_STATUS_OK; i++)
        st = decode_error(&results[i], &images.v[row0 + i], mask_paths ? mask_paths[i] : NULL);
    if (st == NMF_STATUS_OK && mapped_bytes)
        st = mapped_file_sync(V ? (void *)V : (void *)V8, mapped_bytes, opt->memory.cache_dir);
    if (st != NMF_STATUS_OK)
        goto cleanup;

    for (size_t i = 0; i < rows_total; i++) {
        paths[i] = images.v[i].path;
        images.v[i].path = NULL;
    }
    out->m = m;
    out->row0 = row0;
    out->rows_total = rows_total;
    out->width = w;
    out->height = h;
    out->channels = channels;
    out->n = n;
    out->V = V;
    out->V8 = V8;
    out->storage = storage;
    out->stream_block = stream_block;
    out->mapped_bytes = mapped_bytes;
    out->mask = mask;
    out->observed = m * n;
    if (mask) {
        size_t missing = 0;
        #pragma omp parallel for schedule(static) reduction(+ : missing)
        for (size_t i = 0; i < m * n; i++)
            missing += mask[i] == 0;
        out->observed -= missing;
    }
    out->paths = paths;
    out->skipped = skipped;
    V = NULL;
    V8 = NULL;
    mask = NULL;
    mapped_bytes = 0;
    paths = NULL;
cleanup:
    for (size_t i = 0; i < mask_count; i++)
        free(mask_paths[i]);
    free(mask_paths);
    free(mask);
    for (size_t i = 0; i < images.len; i++)
        free(images.v[i].path);
    free(images.v);
    free(results);
    free(paths);
    if (mapped_bytes)
        mapped_file_free(V ? (void *)V : (void *)V8, mapped_bytes);
    else {
        free(V);
        free(V8);
    }
    return st;
}

void dataset_free(dataset *d)
{
    if (!d)
        return;
    if (d->paths)
        for (size_t i = 0; i < d->rows_total; i++)
            free(d->paths[i]);
    free(d->paths);
    free(d->mask);
    if (d->mapped_bytes) {
        mapped_file_free(d->V ? (void *)d->V : (void *)d->V8, d->mapped_bytes);
    } else {
        free(d->V);
        free(d->V8);
    }
    memset(d, 0, sizeof *d);
}
