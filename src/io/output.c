/* output.c - the PNGs the tool writes: the latent faces (rows of H) as a
 * grid and one file each, originals above their reconstructions, and rows
 * of pixel values as one file each.
 *
 * Images are 8-bit grey, or 8-bit RGB in a colour run (channels 3, a
 * pixel's values interleaved as in V). In the grids every tile is
 * magnified by the same integer factor (nearest neighbour) so that a
 * 92x112 face reads at a glance, and tiles are separated by a mid-grey gap
 * so that dark edges of neighbouring tiles stay apart. A tile's white is a
 * high percentile of its values (of all its channels together, so that a
 * colour keeps its hue), not the maximum: one bright pixel would leave the
 * rest near black (output_tile_scale). PNG bytes are streamed into an
 * atomic_file, so no half-written PNG ever appears under its final name. */
#include "output.h"

#include "error.h"
#include "fsutil.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#define OUTPUT_GAP 4           /* pixels between tiles: 2 was lost beside bright tiles */
#define OUTPUT_GAP_GREY 128    /* the gap and empty cells: neither a dark nor a bright tile */
#define OUTPUT_SCALE_PERMILLE 995 /* the percentile that is white: 0.5% of pixels saturate */
#define OUTPUT_MIN_TILE_H 180  /* magnify grid tiles to at least this height... */
#define OUTPUT_MAX_MAGNIFY 8   /* ...but tiny images no more than this */
#define OUTPUT_LIMIT ((size_t)INT_MAX / 2) /* bytes: stb's sizes are int, with room to spare */

/* ---- helpers ---- */

/* "dir/name" in a new malloc'd string (just name when dir is empty). */
static char *output__join(const char *dir, const char *name)
{
    size_t dl = strlen(dir);
    const char *sep = dl == 0 || dir[dl - 1] == '/' ? "" : "/";
    size_t len = dl + strlen(sep) + strlen(name) + 1;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s%s%s", dir, sep, name);
    return path;
}

/* The grid magnification for tiles `height` pixels tall. */
static int output__magnify(int height)
{
    int f = (OUTPUT_MIN_TILE_H + height - 1) / height;
    return f < 1 ? 1 : f > OUTPUT_MAX_MAGNIFY ? OUTPUT_MAX_MAGNIFY : f;
}

/* Whether stb's int arithmetic holds for a w x h PNG of `channels` bytes a
 * pixel: it allocates (w * channels + 1) * h bytes for the filtered rows. */
static int output__png_fits(size_t w, size_t h, int channels)
{
    return w < OUTPUT_LIMIT / (size_t)channels &&
           h <= OUTPUT_LIMIT / (w * (size_t)channels + 1);
}

/* The size of a grid of cols x rows tiles of tile_w x tile_h pixels with
 * OUTPUT_GAP between them. Fails unless it is output__png_fits. */
static nmf_status output__grid_size(const char *path, size_t cols, size_t rows,
                                    size_t tile_w, size_t tile_h, int channels, int *w, int *h)
{
    if (tile_w > OUTPUT_LIMIT / cols || tile_h > OUTPUT_LIMIT / rows)
        goto too_large;
    size_t gw = cols * tile_w + (cols - 1) * OUTPUT_GAP;
    size_t gh = rows * tile_h + (rows - 1) * OUTPUT_GAP;
    if (!output__png_fits(gw, gh, channels))
        goto too_large;
    *w = (int)gw;
    *h = (int)gh;
    return NMF_STATUS_OK;
too_large:
    return nmf_error(NMF_STATUS_TOO_LARGE, "%s: image too large (%zu x %zu tiles of %zu x %zu)",
                     path, cols, rows, tile_w, tile_h);
}

/* v rounded and clamped to 0..255; NaN gives 0. */
static unsigned char output__byte(double v)
{
    if (!(v > 0.0))
        return 0;
    if (v >= 255.0)
        return 255;
    return (unsigned char)(v + 0.5);
}

/* The r-th smallest of a[0..n) (r < n, no NaN), reordering a: Hoare's
 * selection (Wirth's form), linear on average, exact and deterministic. */
static float output__select(float *a, size_t n, size_t r)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, k = (ptrdiff_t)r;
    while (lo < hi) {
        float pivot = a[k];
        ptrdiff_t i = lo, j = hi;
        do {
            while (a[i] < pivot)
                i++;
            while (pivot < a[j])
                j--;
            if (i <= j) {
                float t = a[i];
                a[i++] = a[j];
                a[j--] = t;
            }
        } while (i <= j);
        if (j < k)
            lo = i;
        if (k < i)
            hi = j;
    }
    return a[k];
}

float output_tile_scale(const float *x, size_t n, float *scratch)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(x[i]) && x[i] > 0.0f)
            scratch[c++] = x[i];
    if (c == 0)
        return 0.0f;
    /* nearest rank: the smallest value with at least 99.5% of them <= it */
    size_t rank = (c * OUTPUT_SCALE_PERMILLE + 999) / 1000;
    return output__select(scratch, c, rank - 1);
}

/* Maps x (n values) to 0..255 with `scale` as white, clamped; all black
 * when scale is not positive. */
static void output__scale_bytes(const float *x, size_t n, double scale, unsigned char *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = scale > 0.0 ? output__byte(255.0 * x[i] / scale) : 0;
}

void output_pick_spread(size_t m, size_t count, size_t *out)
{
    assert(count >= 1 && count <= m && m <= SIZE_MAX / 2 / count);
    /* round(i * m / count) in integers: floor((2 i m + count) / (2 count)) */
    for (size_t i = 0; i < count; i++)
        out[i] = (2 * i * m + count) / (2 * count);
}

/* Copies a tw x th tile into the canvas (canvas_w pixels wide) at pixel
 * (x0, y0), magnified f times; both hold `channels` bytes a pixel. */
static void output__blit(unsigned char *canvas, int canvas_w, size_t x0, size_t y0,
                         const unsigned char *tile, int tw, int th, int channels, int f)
{
    size_t w = (size_t)tw * (size_t)f, h = (size_t)th * (size_t)f, c = (size_t)channels;
    for (size_t y = 0; y < h; y++) {
        unsigned char *dst = canvas + ((y0 + y) * (size_t)canvas_w + x0) * c;
        const unsigned char *src = tile + (y / (size_t)f) * (size_t)tw * c;
        for (size_t x = 0; x < w; x++)
            memcpy(dst + x * c, src + (x / (size_t)f) * c, c);
    }
}

typedef struct {
    FILE *fp;
    int failed; /* the errno of the first failed write, or 0 */
} output__sink;

static void output__sink_write(void *context, void *data, int size)
{
    output__sink *s = context;
    if (!s->failed && size > 0 && fwrite(data, 1, (size_t)size, s->fp) != (size_t)size)
        s->failed = errno ? errno : EIO;
}

/* Writes a w x h image of `channels` bytes a pixel (1 grey, 3 RGB) to path
 * as a PNG, atomically. */
static nmf_status output__write_png(const char *path, const unsigned char *pixels, int w, int h,
                                    int channels)
{
    atomic_file f;
    nmf_status st = atomic_file_open(&f, path);
    if (st != NMF_STATUS_OK)
        return st;
    output__sink sink = {f.fp, 0};
    if (!stbi_write_png_to_func(output__sink_write, &sink, w, h, channels, pixels,
                                w * channels)) {
        atomic_file_abort(&f);
        return nmf_error(NMF_STATUS_NO_MEMORY, "%s: PNG encoding failed (out of memory)", path);
    }
    if (sink.failed) {
        atomic_file_abort(&f);
        return nmf_error(NMF_STATUS_IO, "%s: write failed (%s)", path, strerror(sink.failed));
    }
    return atomic_file_commit(&f);
}

static nmf_status output__check_shape(const char *what, int width, int height, int channels)
{
    if (width < 1 || height < 1)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s: bad image size %d x %d", what, width,
                         height);
    if (channels != 1 && channels != 3)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s: channels must be 1 or 3 (got %d)", what,
                         channels);
    return NMF_STATUS_OK;
}

static nmf_status output__check_image(const char *what, int k, int width, int height,
                                      int channels)
{
    if (k < 1)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s: k must be >= 1 (got %d)", what, k);
    return output__check_shape(what, width, height, channels);
}

/* ---- the components ---- */

nmf_status output_write_components(const char *dir, const float *H, int k, int width,
                                   int height, int channels)
{
    nmf_status st = output__check_image("components", k, width, height, channels);
    if (st != NMF_STATUS_OK)
        return st;

    unsigned char *canvas = NULL, *tile = NULL;
    float *scratch = NULL;
    char *grid_path = NULL, *sub_dir = NULL, *one_path = NULL;
    size_t n = (size_t)width * (size_t)height * (size_t)channels; /* all < 2^31: fits */
    size_t cols = 1;
    while (cols * cols < (size_t)k)
        cols++;
    size_t rows = ((size_t)k + cols - 1) / cols;
    int f = output__magnify(height);
    size_t tw = (size_t)width * (size_t)f, th = (size_t)height * (size_t)f;

    grid_path = output__join(dir, "components.png");
    sub_dir = output__join(dir, "components");
    if (!grid_path || !sub_dir) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", dir);
        goto cleanup;
    }
    int gw = 0, gh = 0;
    st = output__grid_size(grid_path, cols, rows, tw, th, channels, &gw, &gh);
    if (st != NMF_STATUS_OK)
        goto cleanup;
    size_t canvas_bytes = (size_t)gw * (size_t)gh * (size_t)channels;
    canvas = malloc(canvas_bytes);
    tile = malloc(n);
    scratch = malloc(n * sizeof *scratch);
    if (!canvas || !tile || !scratch) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory (%d x %d image)", grid_path, gw, gh);
        goto cleanup;
    }
    memset(canvas, OUTPUT_GAP_GREY, canvas_bytes);

    st = fs_make_dirs(sub_dir);
    if (st != NMF_STATUS_OK)
        goto cleanup;

    int digits = 2; /* "00".."19" for k = 20, "000".."119" for k = 120 */
    for (int v = (k - 1) / 100; v > 0 && digits < 10; v /= 10)
        digits++;
    for (int j = 0; j < k; j++) {
        const float *h = H + (size_t)j * n;
        output__scale_bytes(h, n, output_tile_scale(h, n, scratch), tile);

        /* zero padding by hand: a "%0*d" width defeats gcc's truncation check */
        char num[16], name[32];
        int len = snprintf(num, sizeof num, "%d", j);
        int pad = digits > len ? digits - len : 0;
        snprintf(name, sizeof name, "%.*s%s.png", pad, "0000000000", num);
        one_path = output__join(sub_dir, name);
        if (!one_path) {
            st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", sub_dir);
            goto cleanup;
        }
        st = output__write_png(one_path, tile, width, height, channels);
        if (st != NMF_STATUS_OK)
            goto cleanup;
        free(one_path);
        one_path = NULL;

        size_t c = (size_t)j % cols, r = (size_t)j / cols;
        output__blit(canvas, gw, c * (tw + OUTPUT_GAP), r * (th + OUTPUT_GAP), tile, width,
                     height, channels, f);
    }
    st = output__write_png(grid_path, canvas, gw, gh, channels);

cleanup:
    free(one_path);
    free(sub_dir);
    free(grid_path);
    free(scratch);
    free(tile);
    free(canvas);
    return st;
}

/* ---- the reconstructions ---- */

/* A tile's missing pixels (mask 0) as grey checks of 4 x 4 pixels, as
 * image editors show transparency: no pixel value looks like them. */
static void mark_missing(unsigned char *tile, const uint8_t *mask, int width, int height,
                         int channels)
{
    for (size_t y = 0; y < (size_t)height; y++)
        for (size_t x = 0; x < (size_t)width; x++)
            for (size_t c = 0; c < (size_t)channels; c++) {
                const size_t at = (y * (size_t)width + x) * (size_t)channels + c;
                if (!mask[at])
                    tile[at] = (x / 4 + y / 4) % 2 ? 96 : 160;
            }
}

nmf_status output_write_reconstructions(const char *dir, const nmf_problem *V, const float *W,
                                        const float *H, int k, int width, int height,
                                        int channels, int count)
{
    nmf_status st = output__check_image("reconstructions", k, width, height, channels);
    if (st != NMF_STATUS_OK)
        return st;
    const size_t m = V->m;
    if (count < 1 || m < 1)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "reconstructions: nothing to show (count %d, %zu images)", count, m);
    if ((size_t)count > m)
        count = (int)m;

    unsigned char *canvas = NULL, *tile = NULL;
    double *acc = NULL;
    float *pair = NULL, *scratch = NULL;
    size_t *picks = NULL;
    char *path = NULL;
    size_t n = (size_t)width * (size_t)height * (size_t)channels;
    int f = output__magnify(height);
    size_t tw = (size_t)width * (size_t)f, th = (size_t)height * (size_t)f;

    path = output__join(dir, "reconstructions.png");
    if (!path) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", dir);
        goto cleanup;
    }
    int gw = 0, gh = 0;
    st = output__grid_size(path, (size_t)count, 2, tw, th, channels, &gw, &gh);
    if (st != NMF_STATUS_OK)
        goto cleanup;
    size_t canvas_bytes = (size_t)gw * (size_t)gh * (size_t)channels;
    canvas = malloc(canvas_bytes);
    tile = malloc(n);
    acc = malloc(n * sizeof *acc);
    pair = malloc(2 * n * sizeof *pair); /* the input, then its reconstruction */
    scratch = malloc(2 * n * sizeof *scratch);
    picks = malloc((size_t)count * sizeof *picks);
    if (!canvas || !tile || !acc || !pair || !scratch || !picks) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory (%d x %d image)", path, gw, gh);
        goto cleanup;
    }
    memset(canvas, OUTPUT_GAP_GREY, canvas_bytes);
    output_pick_spread(m, (size_t)count, picks);

    for (size_t t = 0; t < (size_t)count; t++) {
        size_t x0 = t * (tw + OUTPUT_GAP), i = picks[t];
        nmf_problem_rows(V, i, 1, pair);
        /* A missing value is anything: left out of the scale, shown as
         * the checks below. */
        for (size_t p = 0; p < n; p++)
            if (!nmf_problem_observed(V, i * n + p))
                pair[p] = 0.0f;

        /* row i of W·H: sum over components of W[i][j] * H[j] */
        memset(acc, 0, n * sizeof *acc);
        for (size_t j = 0; j < (size_t)k; j++) {
            double w = W[i * (size_t)k + j];
            const float *h = H + j * n;
            for (size_t p = 0; p < n; p++)
                acc[p] += w * h[p];
        }
        for (size_t p = 0; p < n; p++)
            pair[n + p] = (float)acc[p];

        /* one scale for both, so that a darker reconstruction looks darker */
        double scale = output_tile_scale(pair, 2 * n, scratch);
        output__scale_bytes(pair, n, scale, tile);
        if (V->mask)
            mark_missing(tile, V->mask + i * n, width, height, channels);
        output__blit(canvas, gw, x0, 0, tile, width, height, channels, f);
        output__scale_bytes(pair + n, n, scale, tile);
        output__blit(canvas, gw, x0, th + OUTPUT_GAP, tile, width, height, channels, f);
    }

    if (dir[0]) {
        st = fs_make_dirs(dir);
        if (st != NMF_STATUS_OK)
            goto cleanup;
    }
    st = output__write_png(path, canvas, gw, gh, channels);

cleanup:
    free(path);
    free(picks);
    free(scratch);
    free(pair);
    free(acc);
    free(tile);
    free(canvas);
    return st;
}

/* ---- images in pixel units ---- */

nmf_status output_write_images(const char *dir, const float *rows, size_t m, int width,
                               int height, int channels, const char *const *names)
{
    nmf_status st = output__check_shape("images", width, height, channels);
    if (st != NMF_STATUS_OK)
        return st;
    if (!output__png_fits((size_t)width, (size_t)height, channels))
        return nmf_error(NMF_STATUS_TOO_LARGE, "%s: images too large to write (%d x %d)", dir,
                         width, height);

    size_t n = (size_t)width * (size_t)height * (size_t)channels; /* fits: png_fits */
    unsigned char *pixels = malloc(n);
    char *path = NULL;
    if (!pixels) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory (%d x %d image)", dir, width,
                       height);
        goto cleanup;
    }
    if (dir[0] && (st = fs_make_dirs(dir)) != NMF_STATUS_OK)
        goto cleanup;
    for (size_t i = 0; i < m; i++) {
        path = output__join(dir, names[i]);
        if (!path) {
            st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", dir);
            goto cleanup;
        }
        const float *row = rows + i * n;
        for (size_t p = 0; p < n; p++)
            pixels[p] = output__byte(row[p]);
        st = output__write_png(path, pixels, width, height, channels);
        if (st != NMF_STATUS_OK)
            goto cleanup;
        free(path);
        path = NULL;
    }

cleanup:
    free(path);
    free(pixels);
    return st;
}

/* ---- text ---- */

nmf_status output_write_text(const char *path, const char *text, size_t len)
{
    atomic_file f;
    nmf_status st = atomic_file_open(&f, path);
    if (st != NMF_STATUS_OK)
        return st;
    if (len > 0 && fwrite(text, 1, len, f.fp) != len) {
        int err = errno ? errno : EIO;
        atomic_file_abort(&f);
        return nmf_error(NMF_STATUS_IO, "%s: write failed (%s)", path, strerror(err));
    }
    return atomic_file_commit(&f);
}
