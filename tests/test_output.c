/* test_output.c - the PNGs (grid and tile sizes, scaling, gap colour,
 * reconstructions), atomic files (nothing half-written or temporary left
 * behind) and the directory helpers. Images are read back with stb_image. */
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

/* Loads a grey PNG; NULL on failure. */
static unsigned char *load(const char *path, int *w, int *h)
{
    int comp = 0;
    unsigned char *px = stbi_load(path, w, h, &comp, 0);
    if (px && comp != 1) {
        stbi_image_free(px);
        return NULL;
    }
    return px;
}

enum { K = 5, W_PX = 4, H_PX = 6, N_PX = W_PX * H_PX, M = 3 };

static void test_components(void)
{
    float H[K * N_PX];
    uint32_t seed = 7;
    for (int i = 0; i < K * N_PX; i++)
        H[i] = 10.0f * frand(&seed);
    for (int p = 0; p < N_PX; p++)
        H[2 * N_PX + p] = 0.0f; /* an all-zero component: all black */

    const char *out = tmp_path("out");
    nmf_status st = output_write_components(out, H, K, W_PX, H_PX);
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
        /* each tile on its own scale: round(255 * h / max) */
        float hmax = 0;
        for (int p = 0; p < N_PX; p++)
            hmax = H[j * N_PX + p] > hmax ? H[j * N_PX + p] : hmax;
        for (int p = 0; p < N_PX && j != 2; p++)
            CHECK(abs(tiles[j][p] - (int)(255.0 * H[j * N_PX + p] / hmax + 0.5)) <= 1);
    }
    CHECK(!exists(tmp_path("out/components/05.png")));

    /* 5 tiles: 3 columns, 2 rows, 2-pixel gaps; tiles magnified by a
     * whole factor f (readability of small faces), the gap not. */
    int gw = 0, gh = 0;
    unsigned char *grid = load(tmp_path("out/components.png"), &gw, &gh);
    CHECK(grid != NULL);
    int f = (gw - 2 * 2) / (3 * W_PX);
    CHECK(f >= 1);
    CHECK(gw == 3 * W_PX * f + 2 * 2);
    CHECK(gh == 2 * H_PX * f + 1 * 2);
    if (grid && f >= 1 && gw == 3 * W_PX * f + 4 && gh == 2 * H_PX * f + 2) {
        int tw = W_PX * f, th = H_PX * f, mismatches = 0;
        for (int j = 0; j < K; j++) {
            int x0 = (j % 3) * (tw + 2), y0 = (j / 3) * (th + 2);
            for (int y = 0; y < th && tiles[j]; y++)
                for (int x = 0; x < tw; x++)
                    mismatches += grid[(y0 + y) * gw + x0 + x] != tiles[j][(y / f) * W_PX + x / f];
        }
        CHECK(mismatches == 0);
        CHECK(grid[0 * gw + tw] == 128 && grid[0 * gw + tw + 1] == 128); /* vertical gap */
        CHECK(grid[th * gw + 0] == 128 && grid[(th + 1) * gw + 0] == 128); /* horizontal gap */
        CHECK(grid[(gh - 1) * gw + gw - 1] == 128); /* the empty sixth cell */
    }
    stbi_image_free(grid);
    for (int j = 0; j < K; j++)
        stbi_image_free(tiles[j]);

    /* Zero padding follows the digits of k - 1, at least 2. */
    float H12[12 * N_PX];
    for (int i = 0; i < 12 * N_PX; i++)
        H12[i] = frand(&seed);
    CHECK(output_write_components(tmp_path("out12"), H12, 12, W_PX, H_PX) == NMF_STATUS_OK);
    CHECK(exists(tmp_path("out12/components/11.png")));
    CHECK(!exists(tmp_path("out12/components/011.png")));
    CHECK(exists(tmp_path("out12/components.png")));

    CHECK(output_write_components(out, H, 0, W_PX, H_PX) == NMF_STATUS_BAD_ARGUMENT);
    CHECK(output_write_components(out, H, K, 0, H_PX) == NMF_STATUS_BAD_ARGUMENT);
}

static void test_reconstructions(void)
{
    float V[M * N_PX], W[M * K], H[K * N_PX];
    uint32_t seed = 99;
    for (int i = 0; i < M * N_PX; i++)
        V[i] = 300.0f * frand(&seed) - 20.0f; /* some values outside 0..255 */
    for (int i = 0; i < M * K; i++)
        W[i] = frand(&seed);
    for (int i = 0; i < K * N_PX; i++)
        H[i] = 100.0f * frand(&seed);

    const char *out = tmp_path("out");
    /* count 5 is clipped to m = 3 */
    CHECK(output_write_reconstructions(out, V, W, H, M, K, W_PX, H_PX, 5) == NMF_STATUS_OK);
    int gw = 0, gh = 0;
    unsigned char *img = load(tmp_path("out/reconstructions.png"), &gw, &gh);
    CHECK(img != NULL);
    int f = (gw - 2 * 2) / (M * W_PX);
    CHECK(f >= 1 && gw == M * W_PX * f + 2 * 2 && gh == 2 * H_PX * f + 2);
    if (img && f >= 1 && gw == M * W_PX * f + 4 && gh == 2 * H_PX * f + 2) {
        int bad = 0;
        for (int i = 0; i < M; i++)
            for (int p = 0; p < N_PX; p++) {
                int x = i * (W_PX * f + 2) + (p % W_PX) * f, y = (p / W_PX) * f;
                double v = V[i * N_PX + p], r = 0;
                for (int j = 0; j < K; j++)
                    r += (double)W[i * K + j] * H[j * N_PX + p];
                int want_v = v < 0 ? 0 : v > 255 ? 255 : (int)(v + 0.5);
                int want_r = r < 0 ? 0 : r > 255 ? 255 : (int)(r + 0.5);
                bad += abs(img[y * gw + x] - want_v) > 1;
                bad += abs(img[(y + H_PX * f + 2) * gw + x] - want_r) > 1;
            }
        CHECK(bad == 0);
    }
    stbi_image_free(img);
    CHECK(output_write_reconstructions(out, V, W, H, M, K, W_PX, H_PX, 0) == NMF_STATUS_BAD_ARGUMENT);
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
    CHECK(output_write_components(tmp_path("regular/out"), H, 1, W_PX, H_PX) == NMF_STATUS_IO);
    CHECK(strstr(nmf_last_error(), "regular") != NULL);
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_components();
    test_reconstructions();
    test_atomic();
    test_dirs();
    CHECK(walk(tmp_dir, ".tmp.", 0) == 0); /* no temporary file left behind */
    walk(tmp_dir, NULL, 1);
    CHECK(!exists(tmp_dir));
    return test_exit();
}
