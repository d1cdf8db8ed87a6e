/* dataset.h - internal: turning folders and files of images into V.
 *
 * Inputs are directories (walked recursively, hidden entries skipped) and
 * image files. Within a directory, files are ordered by natural sort of
 * their path relative to that directory ("s2/9.pgm" < "s2/10.pgm",
 * "s9" < "s10"); inputs are concatenated in the order given. Images are
 * recognised by content, not by name. Row i of V is the i-th image.
 *
 * Pixel values are on the 0..255 scale: 8-bit samples as they are, 16-bit
 * ones divided by 257, HDR ones as decoded (they may pass 255). What is
 * derived from an 8-bit file stays 8-bit, rounded to the nearest whole
 * number, halves up: its luma grey (as Pillow's convert("L") gives an
 * 8-bit image) and its values after resizing (the luma rounded first, then
 * the resized value). 16-bit and HDR values are never rounded. The
 * rounding follows each file's bit depth, not the storage below, so an
 * 8-bit file gives the same values held as bytes or as floats.
 *
 * Storage: V is held at its source precision. When every image is 8-bit
 * (by its header: GIF, PSD, BMP, JPEG and paletted PNGs are), every value
 * is a whole number 0..255 and V is bytes (V8), a quarter of float32's
 * memory; one 16-bit or HDR file makes all of V float32 (V).
 * DATASET_STORAGE_FLOAT32 asks for float32 always. A grey run
 * (the default) turns each pixel into one grey value (dataset_grey). A
 * colour run keeps R, G and B: a row is then 3 * width * height values,
 * pixel-interleaved (R, G, B of pixel 0, then of pixel 1, ...), and alpha
 * is ignored. A colour run refuses a grey file (1 channel, or 2: grey and
 * alpha; as its header says) rather than repeat its grey in R, G and B: a
 * grey file among colour ones is most likely a mistake, and would teach
 * the factors that colour is grey. GIF, PSD, HDR and BMP files and
 * paletted PNGs always count as colour. */
#ifndef NMF_DATASET_H
#define NMF_DATASET_H

#include "nmf/nmf.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DATASET_GREY_LUMA,  /* Rec. 601: 0.299 R + 0.587 G + 0.114 B */
    DATASET_GREY_FIRST  /* the first channel, as the original Python seed did */
} dataset_grey;

/* "luma" or "first"; dataset_grey_parse returns 0, or -1 for another name. */
const char *dataset_grey_name(dataset_grey grey);
int dataset_grey_parse(const char *name, dataset_grey *out);

typedef enum {
    DATASET_STORAGE_AUTO,   /* bytes when every image is 8-bit, else float32 */
    DATASET_STORAGE_FLOAT32 /* float32 always (comparisons, or by choice) */
} dataset_storage;

/* "auto" or "float32"; dataset_storage_parse returns 0, or -1 for another
 * name. */
const char *dataset_storage_name(dataset_storage storage);
int dataset_storage_parse(const char *name, dataset_storage *out);

/* How V is held when it may not fit in memory. With max_memory 0 (the
 * default) V is always in memory, and refused when larger than the memory
 * available. Otherwise V is held in memory when it fits in max_memory
 * beside what the rest of the run takes (others(m, rows_total, n,
 * others_user): this process's rows of V, the whole V's, its columns) and
 * in the memory available; if not, the loader writes it, in its compact
 * form, to a file in cache_dir, removed from the directory as soon as it
 * is made (nothing is left behind, whatever happens), and maps it: V is
 * streamed (dataset.stream_block), a block of rows at a time. */
typedef struct {
    size_t max_memory; /* bytes for this process (a rank's); DATASET_MEMORY_AVAILABLE: see below */
    size_t (*others)(size_t m, size_t rows_total, size_t n, const void *user);
    const void *others_user;
    const char *cache_dir;
    /* Processes loading at once on this machine (ranks of one job): each
     * takes its share of the memory available. 0 or 1: this one alone. */
    int sharers;
} dataset_memory_plan;

/* max_memory: what the system has available (MemAvailable, and the cgroup's
 * memory.max less its use when lower), less a tenth. */
#define DATASET_MEMORY_AVAILABLE SIZE_MAX

/* The ranks of a job that loads its images together (ranks.h): each
 * probes a share of the files' headers and decodes only its slice of the
 * images, and all know the whole set's paths, sizes and storage. */
typedef struct {
    /* This rank's share of total items: [*first, *first + *count). */
    void (*slice)(size_t total, size_t *first, size_t *count);
    /* Every rank's st, the lowest failing rank's kept (nmf_comm_agree). */
    nmf_status (*agree)(nmf_status st);
    /* Whether every rank passes the same value. */
    int (*same)(uint64_t value);
    /* items (total of them, item_bytes each): every rank's share, filled
     * by that rank, copied to every rank. */
    void (*share)(void *items, size_t item_bytes, size_t total);
} dataset_ranks;

/* Where missing pixels are read from (see dataset.mask). */
typedef enum {
    DATASET_MISSING_NONE,  /* every pixel observed */
    DATASET_MISSING_ALPHA, /* a pixel whose alpha is 0 (partial alpha is observed) */
    DATASET_MISSING_MASKS  /* a pixel that is 0 in the image's mask (dataset_options.mask_dir) */
} dataset_missing;

/* "none", "alpha" or "masks"; dataset_missing_parse returns 0, or -1 for
 * another name. */
const char *dataset_missing_name(dataset_missing missing);
int dataset_missing_parse(const char *name, dataset_missing *out);

typedef struct {
    dataset_grey grey;      /* unused in a colour run */
    int colour;             /* 0: grey; 1: keep R, G, B (see above) */
    int resize_w, resize_h; /* both 0: no resizing, sizes must then agree */
    int threads;            /* decoding threads; 0 = OpenMP default */
    dataset_storage storage; /* how V is held; AUTO (0) by default */
    dataset_memory_plan memory; /* in memory or streamed; all 0 by default */
    /* Missing pixels (NONE by default); V is then in memory whatever the
     * plan, and no resizing is done. MASKS: image INPUT/REL of a directory
     * input has its mask at mask_dir/REL, a file given by name at
     * mask_dir/its name; a mask is an image of the same size whose pixels
     * are 0 (missing) or not (observed; the first channel of a colour
     * mask). No mask file is an error. */
    dataset_missing missing;
    const char *mask_dir;
    /* Optional (NULL: one process): the ranks of an MPI job, each of
     * which decodes and holds its slice of the images. */
    const dataset_ranks *ranks;
    /* Optional: called now and then while decoding, from one thread, with
     * the images decoded so far, and once at the end with done == total. */
    void (*progress)(size_t done, size_t total, void *user);
    void *progress_user;
} dataset_options;

typedef struct {
    size_t m;          /* images held: V's rows (a rank's slice, with opt->ranks) */
    size_t row0;       /* the first one's row of the whole V */
    size_t rows_total; /* images in all: m, or the whole set's of a slice */
    int width, height; /* of every image (after resizing) */
    int channels;      /* values a pixel: 1, or 3 (R, G, B) in a colour run */
    size_t n;          /* width * height * channels */
    /* V (m, n) row-major, raw pixel values on the 0..255 scale, in one of
     * two forms: exactly one of V and V8 is non-NULL. */
    float *V;          /* float32, or NULL */
    unsigned char *V8; /* bytes (every value a whole number), or NULL */
    const char *storage; /* "uint8" (V8) or "float32" (V); static, not freed */
    /* 0: V is in memory. Else V is mapped from its cache file, and this is
     * the most of it a pass should hold at once (nmf_problem.stream_block). */
    size_t stream_block;
    size_t mapped_bytes; /* of the mapping, when streamed */
    /* NULL, or with opt->missing (m, n) bytes: 0 where the pixel is missing
     * (each of a colour pixel's values alike), 1 where observed; every row
     * has one observed at least. */
    unsigned char *mask;
    size_t observed;   /* entries of this process's V observed: m·n without a mask */
    char **paths;      /* rows_total display paths, in row order (the whole set's) */
    size_t skipped;    /* files that were not images */
} dataset;

/* Fills opt with the defaults: luma grey (not colour), no resize, default
 * threads, automatic storage. */
void dataset_options_default(dataset_options *opt);

/* Loads every image of the n_inputs inputs into out.
 * Non-images inside a directory are skipped with an nmf_note() and counted;
 * a non-image given by name is an error. Symbolic links in a directory are
 * followed to files and directories, listed by the path through them; one
 * that leads back to a directory on the walk's path is skipped with a note,
 * one that leads nowhere is skipped with a note and counted. Fails, with
 * nothing allocated left behind and nmf_last_error() naming the file, on: a
 * missing path, a directory without images, a corrupt or truncated image
 * (the decoder's reason), an image over the size caps of stb_guard.h
 * (NMF_STATUS_TOO_LARGE, with its size and the caps), a grey file in a
 * colour run (NMF_STATUS_BAD_INPUT: the first one, with a hint; found from
 * the headers, before any pixel is decoded), sizes that differ
 * (the first file that differs and both sizes, with a hint about --resize),
 * a V that would overflow size_t, or one that fits neither in memory nor,
 * streamed, in opt->memory's budget (checked before allocating, at the
 * storage's element size, with the bytes needed), or a cache file that
 * cannot be made (naming its directory, with the disk space needed and
 * free). The storage is decided from the headers, so V is
 * allocated once, at its final element size; with bytes no m x n float
 * buffer is ever allocated. NMF_STATUS_BAD_ARGUMENT for no inputs, a
 * resize with one size 0 or negative, or a storage outside the enum. */
nmf_status dataset_load(const char *const *inputs, size_t n_inputs,
                        const dataset_options *opt, dataset *out);

/* Frees (or unmaps) V or V8 and the paths, and zeroes *d; NULL or a zeroed
 * d is fine. */
void dataset_free(dataset *d);

/* The loaded V as the library takes it (borrowed from d). */
static inline nmf_problem dataset_problem(const dataset *d)
{
    return (nmf_problem){d->m, d->n, d->V, d->V8, d->stream_block, NULL, d->mask};
}

/* strcmp-like natural order: runs of digits compare by numeric value. */
int dataset_natural_compare(const char *a, const char *b);

#endif
