/* fuzz_model.c - fuzz target for the model reader (transform --model DIR
 * reads DIR/model.json and the H file it names): the input is model.json,
 * beside a valid grey H.npy (2, 6) and a colour one, colour.npy (2, 18).
 * Any bytes must give a clean one-line failure naming the file, with
 * nothing returned, or a model within model.h's ranges whose H has its
 * shape and values; a model read must write and read back the same.
 * Built with libFuzzer by scripts/fuzz, and with tests/fuzz/replay.c into
 * a normal program that CTest runs over the corpus and every crash ever
 * found. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_util.h"
#include "model.h"
#include "npy.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The model's folder, and two inside it for the round trip, each with an
 * H.npy: the grey one's and the colour one's. */
static char dir[64], again_grey[80], again_colour[80];

/* folder/name into path (192 bytes). */
static const char *in_dir(char *path, const char *folder, const char *name)
{
    snprintf(path, 192, "%s/%s", folder, name);
    return path;
}

/* Writes H (k, n) with values i / 8 to folder/name; 0 on success. */
static int write_H(const char *folder, const char *name, size_t k, size_t n)
{
    float H[2 * 18];
    char path[192];
    for (size_t i = 0; i < k * n; i++)
        H[i] = (float)i / 8;
    return npy_write_f32(in_dir(path, folder, name), H, k, n) != NMF_STATUS_OK;
}

static void remove_folders(void)
{
    char path[192];
    for (int i = 0; i < 2; i++) {
        const char *again = i ? again_colour : again_grey;
        remove(in_dir(path, again, MODEL_FILE));
        remove(in_dir(path, again, MODEL_H_FILE));
        rmdir(again);
    }
    remove(in_dir(path, dir, MODEL_FILE));
    remove(in_dir(path, dir, MODEL_H_FILE));
    remove(in_dir(path, dir, "colour.npy"));
    rmdir(dir);
}

/* The folders and the H files, once a process: npy_write_f32 (as the
 * model's writers) syncs its file to the disk, which would take most of
 * the time of an input. */
static int make_folders(void)
{
    static int made;
    if (made)
        return 0;
    snprintf(dir, sizeof dir, "/tmp/nmf-fuzz-model-%ld", (long)getpid());
    snprintf(again_grey, sizeof again_grey, "%s/again-grey", dir);
    snprintf(again_colour, sizeof again_colour, "%s/again-colour", dir);
    mkdir(dir, 0700);
    mkdir(again_grey, 0700);
    mkdir(again_colour, 0700);
    if (write_H(dir, MODEL_H_FILE, 2, 6) || write_H(dir, "colour.npy", 2, 18) ||
        write_H(again_grey, MODEL_H_FILE, 2, 6) || write_H(again_colour, MODEL_H_FILE, 2, 18))
        return -1;
    atexit(remove_folders);
    made = 1;
    return 0;
}

static int same_model(const model_info *a, const model_info *b)
{
    return a->format == b->format && strcmp(a->version, b->version) == 0 && a->k == b->k &&
           a->width == b->width && a->height == b->height && a->channels == b->channels &&
           a->colour == b->colour && a->grey == b->grey && a->resize_w == b->resize_w &&
           a->resize_h == b->resize_h && a->beta == b->beta && a->alpha_W == b->alpha_W &&
           a->alpha_H == b->alpha_H && a->l1_ratio == b->l1_ratio && a->solver == b->solver &&
           a->tol == b->tol && a->max_iter == b->max_iter && a->m == b->m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[192];
    if (make_folders() || fuzz_write_file(in_dir(path, dir, MODEL_FILE), data, size))
        return 0;

    model_info mi;
    float *H;
    if (model_read(dir, &mi, &H) == NMF_STATUS_OK) {
        size_t k = (size_t)mi.k, n = (size_t)mi.width * (size_t)mi.height * (size_t)mi.channels;
        FUZZ_REQUIRE(H && mi.format == MODEL_FORMAT && mi.version[0], "a model of format 1");
        FUZZ_REQUIRE(k == 2 && (n == 6 || n == 18), "the shape of one of the H files");
        FUZZ_REQUIRE(mi.channels == (mi.colour ? 3 : 1), "channels that match colour");
        FUZZ_REQUIRE(!mi.resize_w || (mi.resize_w == mi.width && mi.resize_h == mi.height),
                     "a resize that is the image's size");
        FUZZ_REQUIRE(fabs(mi.beta) <= 100 && mi.alpha_W >= 0 && mi.alpha_H >= 0 &&
                     mi.l1_ratio >= 0 && mi.l1_ratio <= 1 && mi.tol >= 0 && mi.max_iter >= 1 &&
                     mi.m >= 1, "parameters in range");
        FUZZ_REQUIRE(mi.solver != NMF_SOLVER_HALS || mi.beta == 2, "hals on beta 2 only");
        for (size_t i = 0; i < k * n; i++)
            FUZZ_REQUIRE(H[i] >= 0 && isfinite(H[i]), "H finite and >= 0");
        /* Its text (model_write's), beside the same H, reads back the same. */
        const char *again = n == 6 ? again_grey : again_colour;
        model_info back;
        float *H_back;
        char *json;
        size_t len;
        FUZZ_REQUIRE(model_to_json(&mi, &json, &len) == NMF_STATUS_OK &&
                     !fuzz_write_file(in_dir(path, again, MODEL_FILE), (const uint8_t *)json, len),
                     "the model written");
        FUZZ_REQUIRE(model_read(again, &back, &H_back) == NMF_STATUS_OK &&
                     same_model(&mi, &back) && memcmp(H, H_back, k * n * sizeof *H) == 0,
                     "the model read back the same");
        free(json);
        free(H);
        free(H_back);
    } else {
        const char *msg = nmf_last_error();
        FUZZ_REQUIRE(strstr(msg, dir) && !strchr(msg, '\n'),
                     "a refused model has a one-line message naming its file");
        FUZZ_REQUIRE(!H && mi.k == 0, "nothing returned");
    }
    return 0;
}
