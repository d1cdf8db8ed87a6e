/* test_output.c - the PNGs (grid and tile sizes, percentile scaling, gap
 * width and colour, reconstructions spread over the set, RGB outputs,
 * rows written in pixel units), atomic files (nothing half-written or
 * temporary left behind) and the directory helpers. Images are read back
 * with stb_image. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, dirent */

#include "fsutil.h"
#include "nmf/nmf.h"
#include "output.h"
#include "test_util.h"

#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>

static char tmp_dir[] = "/tmp/test_output.XXXXXX";

/* tmp_dir/name in one of a few rotating static buffers: valid for the
 * next three calls; copy it to keep it longer. */
static const char *tmp_path(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, sizeof bufs[0], "%s/%s", tmp_dir, name);
    return buf;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Counts entries under dir (recursively) whose name contains `part`;
 * with remove_all, also deletes everything under dir and dir itself. */
static int walk(const char *dir, const char *part, int remove_all)
{
    int found = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (part && strstr(e->d_name, part))
            found++;
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
            found += walk(path, part, remove_all);
        else if (remove_all)
            remove(path);
    }
    closedir(d);
    if (remove_all)
        rmdir(dir);
    return found;
}

static float frand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 16777216.0f;
}

/* Loads a PNG of `channels` channels (1 grey, 3 RGB); NULL on failure or
 * another number of channels. */
static unsigned char *load_channels(const char *path, int channels, int *w, int *h)
{
    int comp = 0;
    unsigned char *px = stbi_load(path, w, h, &comp, 0);
    if (px && comp != channels) {
        stbi_image_free(px);
        return NULL;
    }
    return px;
}

/* Loads a grey PNG; NULL on failure. */
static unsigned char *load(const char *path, int *w, int *h)
{
    return load_channels(path, 1, w, h);
}

enum { K = 5, W_PX = 4, H_PX = 6, N_PX = W_PX * H_PX, M = 3 };
enum { GAP = 4, GAP_GREY = 128 }; /* the separator output.h promises */

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The test's own 99.5th percentile (nearest rank) of x's positive values,
 * by sorting: the oracle for output_tile_scale. */
static float ref_scale(const float *x, size_t n)
{
    float *pos = malloc((n ? n : 1) * sizeof *pos);
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (x[i] > 0.0f && x[i] < INFINITY)
            pos[c++] = x[i];
    qsort(pos, c, sizeof *pos, cmp_float);
    float s = c ? pos[(size_t)ceil(0.995 * (double)c - 1e-9) - 1] : 0.0f;
    free(pos);
    return s;
}

static int want_byte(double v, double scale)
{
    double g = scale > 0 ? 255.0 * v / scale : 0;
    return g <= 0 ? 0 : g >= 255 ? 255 : (int)(g + 0.5);
}

static void test_tile_scale(void)
{
    enum { LEN = 3000 };
    static float x[LEN], scratch[LEN];
    /* 1..1000 in a scrambled order, behind 2000 zeros that must not count */
    for (int i = 0; i < LEN; i++)
        x[i] = i < 2000 ? 0.0f : (float)((i - 2000) * 617 % 1000 + 1);
    float copy0 = x[2500];
    CHECK(output_tile_scale(x, LEN, scratch) == 995.0f); /* 995 of 1000 are <= 995 */
    CHECK(x[2500] == copy0); /* x untouched */
    CHECK(output_tile_scale(x, 2000, scratch) == 0.0f); /* all zero: black */
    CHECK(output_tile_scale(x + 2000, 1, scratch) == x[2000]); /* one value: itself */

    /* NaN, infinities and negatives are not values to scale by */
    float odd[6] = {NAN, INFINITY, -5.0f, 3.0f, 4.0f, -INFINITY};
    CHECK(output_tile_scale(odd, 6, scratch) == 4.0f);

    /* many ties, and against the sorting oracle on random data */
    uint32_t seed = 5;
    for (int i = 0; i < LEN; i++)
        x[i] = (float)(int)(8.0f * frand(&seed));
    CHECK(output_tile_scale(x, LEN, scratch) == ref_scale(x, LEN));
    for (int i = 0; i < LEN; i++)
        x[i] = frand(&seed) * frand(&seed);
    CHECK(output_tile_scale(x, LEN, scratch) == ref_scale(x, LEN));
}

static void test_pick_spread(void)
{
    size_t got[8];
    output_pick_spread(400, 8, got); /* the bundled faces: one pick per 5 people */
    int bad = 0;
    for (size_t i = 0; i < 8; i++)
        bad += got[i] != 50 * i;
    CHECK(bad == 0);

    output_pick_spread(10, 3, got); /* round(0), round(3.33), round(6.67) */
    CHECK(got[0] == 0 && got[1] == 3 && got[2] == 7);
    output_pick_spread(5, 5, got); /* all of them */
    CHECK(got[0] == 0 && got[1] == 1 && got[2] == 2 && got[3] == 3 && got[4] == 4);
    output_pick_spread(7, 1, got);
    CHECK(got[0] == 0);

    /* increasing, distinct and inside the set for every count */
    size_t many[100];
    for (size_t m = 1; m <= 100; m++)
        for (size_t c = 1; c <= m; c++) {
            output_pick_spread(m, c, many);
            for (size_t i = 0; i < c; i++)
                bad += many[i] >= m || (i > 0 && many[i] <= many[i - 1]);
        }
    CHECK(bad == 0);
}

/* One very bright pixel in a face-sized component: scaled by its maximum
 * the tile was black; by the percentile its typical values stay grey. */
static void test_bright_pixel(void)
{
    enum { BW = 92, BH = 112, BN = BW * BH };
    static float h[2 * BN];
    uint32_t seed = 11;
    for (int p = 0; p < BN; p++) {
        h[p] = frand(&seed); /* typical values 0..1 */
        h[BN + p] = 1.0f;                  /* a flat second component */
    }
    h[BN / 2] = 1000.0f;

    CHECK(output_write_components(tmp_path("bright"), h, 2, BW, BH, 1) == NMF_STATUS_OK);
    int w = 0, ht = 0;
    unsigned char *one = load(tmp_path("bright/components/00.png"), &w, &ht);
    CHECK(one != NULL && w == BW && ht == BH);
    if (one && w == BW && ht == BH) {
        double mean = 0;
        int white = 0;
        for (int p = 0; p < BN; p++) {
            mean += one[p];
            white += one[p] == 255;
        }
        mean /= BN;
        CHECK(mean > 100.0); /* about 0.5 / 0.995 * 255 = 128; by the max, 0 */
        /* the top 0.5% saturate, and those within half a grey level of it */
        CHECK(white <= BN / 100);
        CHECK(one[BN / 2] == 255);
    }
    stbi_image_free(one);

    /* the grid shows the same tile as the file, magnified */
    int gw = 0, gh = 0;
    unsigned char *grid = load(tmp_path("bright/components.png"), &gw, &gh);
    CHECK(grid != NULL);
    int f = grid ? gh / BH : 0;
    CHECK(grid && f >= 1 && gw == 2 * BW * f + GAP && gh == BH * f);
    if (grid && f >= 1 && gw == 2 * BW * f + GAP && gh == BH * f) {
        long sum = 0;
        for (int y = 0; y < BH * f; y++)
            for (int x = 0; x < BW * f; x++)
                sum += grid[y * gw + x];
        CHECK(sum / ((double)BN * f * f) > 100.0);
        CHECK(grid[0 * gw + BW * f + BW] == 255); /* the flat tile: its own white */
    }
    stbi_image_free(grid);
}

static void test_components(void)
{
    float H[K * N_PX];
    uint32_t seed = 7;
    for (int i = 0; i < K * N_PX; i++)
        H[i] = 10.0f * frand(&seed);
    for (int p = 0; p < N_PX; p++)
        H[2 * N_PX + p] = 0.0f; /* an all-zero component: all black */

    const char *out = tmp_path("out");
    nmf_status st = output_write_components(out, H, K, W_PX, H_PX, 1);
    if (st != NMF_STATUS_OK)
        fprintf(stderr, "%s\n", nmf_last_error());
    CHECK(st == NMF_STATUS_OK);

    unsigned char *tiles[K] = {0};
    for (int j = 0; j < K; j++) {
        char name[64];
        snprintf(name, sizeof name, "out/components/%02d.png", j);
        int w = 0, h = 0;
        tiles[j] = load(tmp_path(name), &w, &h);
        CHECK(tiles[j] != NULL);
        CHECK(w == W_PX && h == H_PX);
        if (!tiles[j] || w != W_PX || h != H_PX)
            continue;
        int max = 0;
        for (int p = 0; p < N_PX; p++)
            max = tiles[j][p] > max ? tiles[j][p] : max;
        CHECK(max == (j == 2 ? 0 : 255));
        /* each tile on its own scale: round(255 * h / its percentile), clamped */
        float scale = ref_scale(H + j * N_PX, N_PX);
        int bad = 0;
        for (int p = 0; p < N_PX; p++)
            bad += abs(tiles[j][p] - want_byte(H[j * N_PX + p], scale)) > 1;
        CHECK(bad == 0);
    }
    CHECK(!exists(tmp_path("out/components/05.png")));

    /* 5 tiles: 3 columns, 2 rows, GAP-pixel gaps; tiles magnified by a
     * whole factor f (readability of small faces), the gap not. */
    int gw = 0, gh = 0;
    unsigned char *grid = load(tmp_path("out/components.png"), &gw, &gh);
    CHECK(grid != NULL);
    int f = (gw - 2 * GAP) / (3 * W_PX);
    CHECK(f >= 1);
    CHECK(gw == 3 * W_PX * f + 2 * GAP);
    CHECK(gh == 2 * H_PX * f + 1 * GAP);
    if (grid && f >= 1 && gw == 3 * W_PX * f + 2 * GAP && gh == 2 * H_PX * f + GAP) {
        int tw = W_PX * f, th = H_PX * f, mismatches = 0, not_grey = 0;
        for (int y = 0; y < gh; y++)
            for (int x = 0; x < gw; x++) {
                int cx = x / (tw + GAP), cy = y / (th + GAP), j = cy * 3 + cx;
                int tx = x % (tw + GAP), ty = y % (th + GAP);
                if (tx >= tw || ty >= th || j >= K) /* a separator or the empty cell */
                    not_grey += grid[y * gw + x] != GAP_GREY;
                else if (tiles[j])
                    mismatches += grid[y * gw + x] != tiles[j][(ty / f) * W_PX + tx / f];
            }
        CHECK(mismatches == 0);
        CHECK(not_grey == 0); /* every separator pixel is the neutral grey */
    }
    stbi_image_free(grid);
    for (int j = 0; j < K; j++)
        stbi_image_free(tiles[j]);

    /* Zero padding follows the digits of k - 1, at least 2. */
    float H12[12 * N_PX];
    for (int i = 0; i < 12 * N_PX; i++)
        H12[i] = frand(&seed);
    CHECK(output_write_components(tmp_path("out12"), H12, 12, W_PX, H_PX, 1) == NMF_STATUS_OK);
    CHECK(exists(tmp_path("out12/components/11.png")));
    CHECK(!exists(tmp_path("out12/components/011.png")));
    CHECK(exists(tmp_path("out12/components.png")));

    CHECK(output_write_components(out, H, 0, W_PX, H_PX, 1) == NMF_STATUS_BAD_ARGUMENT);
    CHECK(output_write_components(out, H, K, 0, H_PX, 1) == NMF_STATUS_BAD_ARGUMENT);
}

/* Mismatches between out/reconstructions.png and what it should show:
 * column t is row rows[t] of V above its W·H, both scaled by the pair's
 * own percentile; -1 when the image has the wrong size. */
static int recon_mismatches(const float *V, const float *W, const float *H, int k,
                            const size_t *rows, int count)
{
    int gw = 0, gh = 0, bad = -1;
    unsigned char *img = load(tmp_path("out/reconstructions.png"), &gw, &gh);
    int f = img ? (gw - (count - 1) * GAP) / (count * W_PX) : 0;
    if (img && f >= 1 && gw == count * W_PX * f + (count - 1) * GAP &&
        gh == 2 * H_PX * f + GAP) {
        bad = 0;
        for (int t = 0; t < count; t++) {
            float pair[2 * N_PX];
            size_t i = rows[t];
            for (int p = 0; p < N_PX; p++) {
                double r = 0;
                for (int j = 0; j < k; j++)
                    r += (double)W[i * (size_t)k + (size_t)j] * H[j * N_PX + p];
                pair[p] = V[i * N_PX + p];
                pair[N_PX + p] = (float)r;
            }
            float scale = ref_scale(pair, 2 * N_PX);
            for (int p = 0; p < N_PX; p++) {
                int x = t * (W_PX * f + GAP) + (p % W_PX) * f, y = (p / W_PX) * f;
                bad += abs(img[y * gw + x] - want_byte(pair[p], scale)) > 1;
                bad += abs(img[(y + H_PX * f + GAP) * gw + x] - want_byte(pair[N_PX + p], scale)) > 1;
                bad += img[(H_PX * f) * gw + x] != GAP_GREY; /* the separator below the input */
            }
        }
    }
    stbi_image_free(img);
    return bad;
}

static void test_reconstructions(void)
{
    enum { MR = 10 };
    float V[MR * N_PX], W[MR * K], H[K * N_PX];
    uint32_t seed = 99;
    for (int i = 0; i < MR * N_PX; i++)
        V[i] = 300.0f * frand(&seed) - 20.0f; /* some values outside 0..255 */
    for (int i = 0; i < MR * K; i++)
        W[i] = frand(&seed);
    for (int i = 0; i < K * N_PX; i++)
        H[i] = 100.0f * frand(&seed);

    const char *out = tmp_path("out");
    /* count 5 is clipped to m = 3: all of them */
    const size_t all[3] = {0, 1, 2};
    const nmf_problem three = {M, N_PX, V, NULL, 0, NULL, NULL}, ten = {MR, N_PX, V, NULL, 0, NULL, NULL};
    CHECK(output_write_reconstructions(out, &three, W, H, K, W_PX, H_PX, 1, 5) == NMF_STATUS_OK);
    CHECK(recon_mismatches(V, W, H, K, all, 3) == 0);

    /* 3 of 10: spread over the set, not the first three */
    const size_t spread[3] = {0, 3, 7};
    CHECK(output_write_reconstructions(out, &ten, W, H, K, W_PX, H_PX, 1, 3) == NMF_STATUS_OK);
    CHECK(recon_mismatches(V, W, H, K, spread, 3) == 0);

    /* One scale per pair: a dim input is shown bright, and a reconstruction
     * at half its brightness is shown at half the grey, not stretched too. */
    float dim[N_PX], half = 0.5f;
    for (int p = 0; p < N_PX; p++)
        dim[p] = 10.0f + (float)(p * 90 / (N_PX - 1)); /* 10..100 */
    const nmf_problem one = {1, N_PX, dim, NULL, 0, NULL, NULL};
    CHECK(output_write_reconstructions(out, &one, &half, dim, 1, W_PX, H_PX, 1, 1) == NMF_STATUS_OK);
    int gw = 0, gh = 0;
    unsigned char *img = load(tmp_path("out/reconstructions.png"), &gw, &gh);
    int f = img ? gw / W_PX : 0;
    CHECK(img && f >= 1 && gw == W_PX * f && gh == 2 * H_PX * f + GAP);
    if (img && f >= 1 && gw == W_PX * f && gh == 2 * H_PX * f + GAP) {
        int bad = 0, top = 0;
        for (int y = 0; y < H_PX * f; y++)
            for (int x = 0; x < gw; x++) {
                int v = img[y * gw + x], r = img[(y + H_PX * f + GAP) * gw + x];
                top = v > top ? v : top;
                bad += abs(r - v / 2) > 1;
            }
        CHECK(top == 255);
        CHECK(bad == 0);
    }
    stbi_image_free(img);
    CHECK(output_write_reconstructions(out, &three, W, H, K, W_PX, H_PX, 1, 0) ==
          NMF_STATUS_BAD_ARGUMENT);
}

/* Colour: RGB PNGs, each component scaled over its three channels
 * together, reconstructions side by side in colour. */
static void test_colour(void)
{
    enum { C = 3, NC = N_PX * C };
    float H[2 * NC], V[M * NC], W[M * 2];
    uint32_t seed = 21;
    for (int i = 0; i < 2 * NC; i++)
        H[i] = 10.0f * frand(&seed);
    for (int p = 0; p < N_PX; p++)
        H[NC + C * p] *= 4.0f; /* a reddish second component: red saturates */
    for (int i = 0; i < M * NC; i++)
        V[i] = 255.0f * frand(&seed);
    for (int i = 0; i < M * 2; i++)
        W[i] = frand(&seed);

    CHECK(output_write_components(tmp_path("rgb"), H, 2, W_PX, H_PX, C) == NMF_STATUS_OK);
    int bad = 0;
    for (int j = 0; j < 2; j++) {
        char name[64];
        snprintf(name, sizeof name, "rgb/components/%02d.png", j);
        int w = 0, h = 0;
        unsigned char *tile = load_channels(tmp_path(name), C, &w, &h);
        CHECK(tile != NULL && w == W_PX && h == H_PX);
        float scale = ref_scale(H + j * NC, NC);
        for (int i = 0; i < NC && tile && w == W_PX && h == H_PX; i++)
            bad += abs(tile[i] - want_byte(H[j * NC + i], scale)) > 1;
        stbi_image_free(tile);
    }
    CHECK(bad == 0);
    int gw = 0, gh = 0;
    unsigned char *grid = load_channels(tmp_path("rgb/components.png"), C, &gw, &gh);
    int f = grid ? gh / H_PX : 0;
    CHECK(grid && f >= 1 && gw == 2 * W_PX * f + GAP && gh == H_PX * f);
    if (grid && f >= 1 && gw == 2 * W_PX * f + GAP) /* the gap: neutral grey in R, G, B */
        CHECK(grid[C * (W_PX * f)] == GAP_GREY && grid[C * (W_PX * f) + 1] == GAP_GREY &&
              grid[C * (W_PX * f) + 2] == GAP_GREY);
    stbi_image_free(grid);

    const nmf_problem rgb = {M, NC, V, NULL, 0, NULL, NULL};
    CHECK(output_write_reconstructions(tmp_path("rgb"), &rgb, W, H, 2, W_PX, H_PX, C, M) ==
          NMF_STATUS_OK);
    unsigned char *img = load_channels(tmp_path("rgb/reconstructions.png"), C, &gw, &gh);
    f = img ? gh / (2 * H_PX) : 0;
    CHECK(img && f >= 1 && gw == M * W_PX * f + (M - 1) * GAP && gh == 2 * H_PX * f + GAP);
    if (img && f >= 1 && gw == M * W_PX * f + (M - 1) * GAP) {
        /* the first input, pixel (0, 0), on the scale it shares with its W·H */
        float pair[2 * NC];
        for (int i = 0; i < NC; i++) {
            pair[i] = V[i];
            pair[NC + i] = W[0] * H[i] + W[1] * H[NC + i];
        }
        float scale = ref_scale(pair, 2 * NC);
        int bottom = (H_PX * f + GAP) * gw * C;
        for (int c = 0; c < C; c++) {
            CHECK(abs(img[c] - want_byte(pair[c], scale)) <= 1);
            CHECK(abs(img[bottom + c] - want_byte(pair[NC + c], scale)) <= 1);
        }
    }
    stbi_image_free(img);
    CHECK(output_write_components(tmp_path("rgb"), H, 2, W_PX, H_PX, 2) ==
          NMF_STATUS_BAD_ARGUMENT);
}

/* output_write_images: pixel values as they are, clamped and rounded. */
static void test_images(void)
{
    enum { IW = 3, IH = 2, IN = IW * IH };
    const float grey[2 * IN] = {-5.0f, 0.0f, 12.4f, 12.5f, 254.6f, 300.0f,
                                NAN,   1.0f, 2.0f,  3.0f,  INFINITY, -INFINITY};
    const unsigned char want[2 * IN] = {0, 0, 12, 13, 255, 255, 0, 1, 2, 3, 255, 0};
    const char *names[] = {"0000.png", "0001.png"};
    CHECK(output_write_images(tmp_path("img/grey"), grey, 2, IW, IH, 1, names) == NMF_STATUS_OK);
    int bad = 0;
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "img/grey/%s", names[i]);
        int w = 0, h = 0;
        unsigned char *px = load(tmp_path(name), &w, &h);
        CHECK(px && w == IW && h == IH);
        for (int p = 0; p < IN && px && w == IW && h == IH; p++)
            bad += px[p] != want[i * IN + p];
        stbi_image_free(px);
    }
    CHECK(bad == 0);

    /* colour: R, G, B of pixel 0, then pixel 1, as in V */
    float rgb[IN * 3];
    for (int i = 0; i < IN * 3; i++)
        rgb[i] = (float)(i * 17) + 0.4f; /* 0.4..289.4: the last two clamp */
    const char *one[] = {"colour.png"};
    CHECK(output_write_images(tmp_path("img"), rgb, 1, IW, IH, 3, one) == NMF_STATUS_OK);
    int w = 0, h = 0;
    unsigned char *px = load_channels(tmp_path("img/colour.png"), 3, &w, &h);
    CHECK(px && w == IW && h == IH);
    for (int i = 0; i < IN * 3 && px && w == IW && h == IH; i++)
        bad += px[i] != (i * 17 > 255 ? 255 : i * 17);
    CHECK(bad == 0);
    stbi_image_free(px);

    CHECK(output_write_images(tmp_path("img"), rgb, 1, IW, IH, 4, one) ==
          NMF_STATUS_BAD_ARGUMENT);
    CHECK(output_write_images(tmp_path("img"), rgb, 1, 0, IH, 3, one) ==
          NMF_STATUS_BAD_ARGUMENT);
    /* a file that cannot be written is named */
    const char *deep[] = {"missing/x.png"};
    CHECK(output_write_images(tmp_path("img"), rgb, 1, IW, IH, 3, deep) == NMF_STATUS_IO);
    CHECK(strstr(nmf_last_error(), "img/missing/x.png") != NULL);
}

static void test_atomic(void)
{
    const char *path = tmp_path("atomic/file.txt");
    CHECK(fs_make_dirs(tmp_path("atomic")) == NMF_STATUS_OK);

    atomic_file f;
    CHECK(atomic_file_open(&f, path) == NMF_STATUS_OK);
    CHECK(f.fp != NULL && strstr(f.tmp_path, "/.file.txt.tmp.") != NULL);
    fputs("half", f.fp);
    CHECK(!exists(path)); /* only the temporary exists while writing */
    atomic_file_abort(&f);
    CHECK(!exists(path));
    CHECK(walk(tmp_path("atomic"), "", 0) == 0); /* nothing at all left */

    CHECK(output_write_text(path, "hello\n", 6) == NMF_STATUS_OK);
    FILE *fp = fopen(path, "rb");
    char buf[16] = {0};
    CHECK(fp && fread(buf, 1, sizeof buf, fp) == 6 && memcmp(buf, "hello\n", 6) == 0);
    if (fp)
        fclose(fp);

    /* A missing directory: the message names the final path. */
    const char *bad = tmp_path("no/such/dir/x.png");
    CHECK(atomic_file_open(&f, bad) == NMF_STATUS_IO);
    CHECK(strstr(nmf_last_error(), bad) != NULL);
    CHECK(f.fp == NULL && f.path == NULL && f.tmp_path == NULL);
    atomic_file_abort(&f); /* harmless after a failed open */
}

static void test_dirs(void)
{
    char file[512];
    snprintf(file, sizeof file, "%s", tmp_path("regular"));
    FILE *fp = fopen(file, "w");
    CHECK(fp != NULL);
    if (fp)
        fclose(fp);

    /* Creatable: checked, not created. */
    CHECK(fs_check_writable_dir(tmp_path("x/y/z")) == NMF_STATUS_OK);
    CHECK(!exists(tmp_path("x")));
    CHECK(fs_check_writable_dir(tmp_dir) == NMF_STATUS_OK);
    CHECK(fs_check_writable_dir(tmp_path("x/y/z/")) == NMF_STATUS_OK);

    /* Under a regular file (works as root too, unlike permissions). */
    char under[512];
    snprintf(under, sizeof under, "%s", tmp_path("regular/out"));
    CHECK(fs_check_writable_dir(under) == NMF_STATUS_IO);
    CHECK(strstr(nmf_last_error(), under) != NULL);
    CHECK(strstr(nmf_last_error(), "not a directory") != NULL);
    CHECK(fs_check_writable_dir(file) == NMF_STATUS_IO);
    CHECK(strstr(nmf_last_error(), "exists and is not a directory") != NULL);

    if (geteuid() != 0) { /* root may write anywhere */
        CHECK(fs_make_dirs(tmp_path("ro")) == NMF_STATUS_OK);
        chmod(tmp_path("ro"), 0555);
        CHECK(fs_check_writable_dir(tmp_path("ro/out")) == NMF_STATUS_IO);
        CHECK(strstr(nmf_last_error(), "not writable") != NULL);
        chmod(tmp_path("ro"), 0755);
    }

    /* mkdir -p: nested, idempotent, trailing and doubled slashes. */
    CHECK(fs_make_dirs(tmp_path("a/b//c")) == NMF_STATUS_OK);
    CHECK(fs_make_dirs(tmp_path("a/b/c/")) == NMF_STATUS_OK);
    struct stat sb;
    CHECK(stat(tmp_path("a/b/c"), &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK(fs_make_dirs(tmp_path("regular/sub")) == NMF_STATUS_IO);
    CHECK(strstr(nmf_last_error(), "regular: not a directory") != NULL);

    /* Writing outputs under a regular file fails cleanly. */
    float H[N_PX] = {1};
    CHECK(output_write_components(tmp_path("regular/out"), H, 1, W_PX, H_PX, 1) == NMF_STATUS_IO);
    CHECK(strstr(nmf_last_error(), "regular") != NULL);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_tile_scale();
    test_pick_spread();
    test_components();
    test_bright_pixel();
    test_reconstructions();
    test_colour();
    test_images();
    test_atomic();
    test_dirs();
    CHECK(walk(tmp_dir, ".tmp.", 0) == 0); /* no temporary file left behind */
    walk(tmp_dir, NULL, 1);
    CHECK(!exists(tmp_dir));
    return test_exit();
}
