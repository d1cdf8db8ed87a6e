/* test_model.c - the model of a fit (model.json beside H.npy): the text as
 * model.h documents it, write then read giving back every field and H
 * bit for bit, the model of a run's settings, and each refusal of a bad
 * folder, file, field or H with its status and a message naming the file
 * and the reason. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include "model.h"
#include "npy.h"
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp_dir[] = "/tmp/test_model.XXXXXX";

/* tmp_dir/name in a static buffer (one at a time). */
static const char *tmp_path(const char *name)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s/%s", tmp_dir, name);
    return buf;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        exit(1);
    }
    fputs(text, fp);
    fclose(fp);
}

/* A small grey model: k 2 of 3x2 images. */
static model_info grey_model(void)
{
    model_info mi = {.format = MODEL_FORMAT, .version = NMF_VERSION, .k = 2, .width = 3,
                     .height = 2, .channels = 1, .grey = DATASET_GREY_LUMA, .beta = 2,
                     .solver = NMF_SOLVER_HALS, .tol = 1e-3, .max_iter = 1000, .m = 10};
    return mi;
}

/* H (k, n) with distinct values, none of them exact in decimal. */
static float *make_H(size_t k, size_t n)
{
    float *H = malloc(k * n * sizeof *H);
    for (size_t i = 0; i < k * n; i++)
        H[i] = 0.1f * (float)i + 1e-7f;
    return H;
}

static void check_same(const model_info *a, const model_info *b)
{
    CHECK(a->format == b->format && strcmp(a->version, b->version) == 0);
    CHECK(a->k == b->k && a->width == b->width && a->height == b->height);
    CHECK(a->channels == b->channels && a->colour == b->colour);
    CHECK(a->colour || a->grey == b->grey);
    CHECK(a->resize_w == b->resize_w && a->resize_h == b->resize_h);
    CHECK(a->beta == b->beta && a->alpha_W == b->alpha_W && a->alpha_H == b->alpha_H);
    CHECK(a->l1_ratio == b->l1_ratio && a->solver == b->solver && a->tol == b->tol);
    CHECK(a->max_iter == b->max_iter && a->m == b->m);
}

/* Writes mi and H into tmp_dir, reads them back, compares. */
static void round_trip(const model_info *mi)
{
    size_t k = (size_t)mi->k, n = (size_t)(mi->width * mi->height * mi->channels);
    float *H = make_H(k, n), *got = NULL;
    CHECK(model_write(tmp_dir, mi) == NMF_STATUS_OK);
    CHECK(npy_write_f32(tmp_path(MODEL_H_FILE), H, k, n) == NMF_STATUS_OK);
    model_info back;
    nmf_status st = model_read(tmp_dir, &back, &got);
    CHECK(st == NMF_STATUS_OK);
    if (st != NMF_STATUS_OK)
        fprintf(stderr, "  %s\n", nmf_last_error());
    check_same(mi, &back);
    CHECK(got && memcmp(got, H, k * n * sizeof *H) == 0);
    free(H);
    free(got);
}

/* The text, exactly as model.h documents it. */
static void test_text(void)
{
    model_info mi = grey_model();
    char *json;
    size_t len;
    CHECK(model_to_json(&mi, &json, &len) == NMF_STATUS_OK);
    const char *want =
        "{\n"
        "  \"format\": 1,\n"
        "  \"version\": \"" NMF_VERSION "\",\n"
        "  \"k\": 2,\n"
        "  \"image\": {\"width\": 3, \"height\": 2, \"channels\": 1},\n"
        "  \"rows\": {\"colour\": false, \"grey\": \"luma\", \"resize\": null},\n"
        "  \"loss\": {\"beta\": 2, \"name\": \"frobenius\"},\n"
        "  \"regularisation\": {\"alpha_w\": 0, \"alpha_h\": 0, \"l1_ratio\": 0},\n"
        "  \"solver\": \"hals\",\n"
        "  \"tol\": 0.001,\n"
        "  \"max_iter\": 1000,\n"
        "  \"training_images\": 10,\n"
        "  \"H\": \"H.npy\"\n"
        "}\n";
    CHECK(len == strlen(json) && strcmp(json, want) == 0);
    if (strcmp(json, want) != 0)
        fprintf(stderr, "got:\n%s", json);
    free(json);

    mi.colour = 1;
    mi.channels = 3;
    mi.resize_w = 3;
    mi.resize_h = 2;
    CHECK(model_to_json(&mi, &json, &len) == NMF_STATUS_OK);
    CHECK(strstr(json, "\"rows\": {\"colour\": true, \"grey\": null, \"resize\": [3, 2]}"));
    free(json);
}

static void test_round_trips(void)
{
    model_info mi = grey_model();
    round_trip(&mi);
    mi.grey = DATASET_GREY_FIRST;
    round_trip(&mi);
    /* Colour, resized, KL by MU, regularised: numbers that %.17g must keep. */
    mi = grey_model();
    mi.colour = 1;
    mi.channels = 3;
    mi.width = mi.resize_w = 4;
    mi.height = mi.resize_h = 5;
    mi.k = 3;
    mi.beta = 1;
    mi.solver = NMF_SOLVER_MU;
    mi.alpha_W = 0.1;
    mi.alpha_H = 1.0 / 3.0;
    mi.l1_ratio = 0.7;
    mi.tol = 1e-4;
    mi.max_iter = 200;
    mi.m = 400;
    round_trip(&mi);
    mi.beta = 0.5;
    round_trip(&mi);
}

static void test_from_run(void)
{
    run_config c;
    run_config_default(&c);
    c.params.k = 7;
    c.params.alpha_W = 0.25; /* alpha_H stays -1, "the same" */
    c.params.solver = NMF_SOLVER_MU;
    c.params.beta = 1;
    c.data.grey = DATASET_GREY_FIRST;
    c.data.resize_w = 30;
    c.data.resize_h = 40;
    dataset d = {.m = 12, .rows_total = 12, .width = 30, .height = 40, .channels = 1, .n = 1200};
    model_info mi;
    model_info_from_run(&mi, &c, &d);
    CHECK(mi.format == MODEL_FORMAT && strcmp(mi.version, NMF_VERSION) == 0);
    CHECK(mi.k == 7 && mi.width == 30 && mi.height == 40 && mi.channels == 1 && !mi.colour);
    CHECK(mi.grey == DATASET_GREY_FIRST && mi.resize_w == 30 && mi.resize_h == 40);
    CHECK(mi.alpha_W == 0.25 && mi.alpha_H == 0.25 && mi.beta == 1);
    CHECK(mi.solver == NMF_SOLVER_MU && mi.tol == c.params.tol && mi.m == 12);
    c.params.alpha_H = 0;
    c.data.colour = 1;
    d.channels = 3;
    model_info_from_run(&mi, &c, &d);
    CHECK(mi.alpha_H == 0 && mi.colour && mi.channels == 3);
}

/* Expects model_read(dir) to fail with status and a message holding both
 * words (NULL: none), nothing returned. */
static void expect_refusal(const char *dir, nmf_status status, const char *word1,
                           const char *word2, const char *what)
{
    model_info mi;
    float *H = (float *)&mi; /* must come back NULL */
    nmf_status st = model_read(dir, &mi, &H);
    const char *msg = nmf_last_error();
    int ok = st == status && H == NULL && mi.k == 0 && strstr(msg, word1) &&
             (!word2 || strstr(msg, word2));
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  %s: status %d, message: %s\n", what, (int)st, msg);
}

/* The grey model's text with `from` replaced by `to` (once, which must be
 * there) as model.json, beside a valid H.npy (2, 6). */
static void write_variant(const char *from, const char *to)
{
    model_info mi = grey_model();
    char *json, text[8192];
    size_t len;
    if (model_to_json(&mi, &json, &len) != NMF_STATUS_OK)
        exit(1);
    const char *at = strstr(json, from);
    if (!at) {
        fprintf(stderr, "test_model: \"%s\" is not in the model's text\n", from);
        exit(1);
    }
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
    free(json);
    write_text(tmp_path(MODEL_FILE), text);
    float *H = make_H(2, 6);
    if (npy_write_f32(tmp_path(MODEL_H_FILE), H, 2, 6) != NMF_STATUS_OK)
        exit(1);
    free(H);
}

typedef struct {
    const char *from, *to; /* the change to the valid text */
    const char *word;      /* in the message, beside "model.json" */
} field_case;

static const field_case field_cases[] = {
    {"{", "{,", "not valid JSON"},
    {"{", "[1]\n", "not valid JSON"}, /* text after the array */
    {"\"H.npy\"\n}", "\"H.npy\",\n}", "model.json:14:1: not valid JSON"},
    {"\"k\": 2,", "\"k\": 2, \"k\": 3,", "duplicate"},
    {"\"format\": 1", "\"format\": 2", "newer than nmf-faces"},
    {"\"format\": 1", "\"format\": 0", "format must be an integer in 1.."},
    {"\"format\": 1,\n", "", "missing field format"},
    {"\"version\": \"" NMF_VERSION "\"", "\"version\": \"0123456789012345678901234567890123\"",
     "version must be"},
    {"\"version\": \"" NMF_VERSION "\"", "\"version\": 2", "version must be"},
    {"\"k\": 2,\n", "", "missing field k (an integer in 1.."},
    {"\"k\": 2", "\"k\": \"2\"", "k must be an integer in 1..2147483647, not \"2\""},
    {"\"k\": 2", "\"k\": 2.0", "k must be an integer"},
    {"\"k\": 2", "\"k\": 0", "k must be an integer in 1..2147483647, not 0"},
    {"\"k\": 2", "\"k\": 99999999999999999999", "not valid JSON"},
    {"\"k\": 2", "\"k\": 2, \"colour\": true", "unknown field colour"},
    {"\"width\": 3", "\"width\": 3, \"depth\": 8", "unknown field image.depth"},
    {"{\"width\": 3, \"height\": 2, \"channels\": 1}", "[3, 2, 1]",
     "image must be an object, not [3,2,1]"},
    {"\"width\": 3", "\"width\": 65537", "image.width must be an integer in 1..65536"},
    {"\"height\": 2, ", "", "missing field image.height"},
    {"\"channels\": 1", "\"channels\": 2", "image.channels must be 1 (grey) or 3"},
    {"\"channels\": 1", "\"channels\": 4", "image.channels must be an integer in 1..3"},
    {"\"channels\": 1", "\"channels\": 3", "image.channels 3 does not match rows.colour false"},
    {"\"colour\": false", "\"colour\": true", "image.channels 1 does not match rows.colour true"},
    {"\"colour\": false", "\"colour\": 0", "rows.colour must be true or false"},
    {"\"grey\": \"luma\"", "\"grey\": \"avg\"", "rows.grey must be one of \"luma\", \"first\""},
    {"\"grey\": \"luma\"", "\"grey\": null", "rows.grey must be one of"},
    {"\"resize\": null", "\"resize\": [3, 3]", "rows.resize [3, 3] does not match image 3x2"},
    {"\"resize\": null", "\"resize\": [3]", "rows.resize must be null or [width, height]"},
    {"\"resize\": null", "\"resize\": \"3x2\"", "rows.resize must be null or"},
    {"\"beta\": 2", "\"beta\": 200", "loss.beta must be a number in [-100, 100]"},
    {"\"name\": \"frobenius\"", "\"name\": \"kullback-leibler\"",
     "loss.name must be \"frobenius\" (loss.beta is 2)"},
    {"\"beta\": 2, \"name\": \"frobenius\"", "\"beta\": 1, \"name\": \"kullback-leibler\"",
     "solver \"hals\" fits loss.beta 2 only"},
    {"\"alpha_w\": 0", "\"alpha_w\": -1", "regularisation.alpha_w must be a number >= 0"},
    {"\"alpha_h\": 0", "\"alpha_h\": null", "regularisation.alpha_h must be a number >= 0"},
    {"\"l1_ratio\": 0", "\"l1_ratio\": 1.5", "regularisation.l1_ratio must be a number in [0, 1]"},
    {"\"solver\": \"hals\"", "\"solver\": \"cd\"", "solver must be one of \"mu\", \"hals\""},
    {"\"tol\": 0.001", "\"tol\": -0.001", "tol must be a number >= 0"},
    {"\"max_iter\": 1000", "\"max_iter\": 0", "max_iter must be an integer in 1.."},
    {"\"training_images\": 10", "\"training_images\": 0", "training_images must be"},
    {"\"H\": \"H.npy\"", "\"H\": \"../H.npy\"", "H must be a file name in the model's folder"},
    {"\"H\": \"H.npy\"", "\"H\": \"..\"", "H must be a file name"},
    {"\"H\": \"H.npy\"", "\"H\": \"\"", "H must be a file name"},
    /* H would be 2^31 - 1 rows of 65536 x 65536 x 3 values. */
    {"\"k\": 2,\n  \"image\": {\"width\": 3, \"height\": 2, \"channels\": 1},\n"
     "  \"rows\": {\"colour\": false, \"grey\": \"luma\"",
     "\"k\": 2147483647,\n  \"image\": {\"width\": 65536, \"height\": 65536, \"channels\": 3},\n"
     "  \"rows\": {\"colour\": true, \"grey\": null", "overflows"},
};

static void test_field_refusals(void)
{
    for (size_t i = 0; i < sizeof field_cases / sizeof *field_cases; i++) {
        const field_case *c = &field_cases[i];
        write_variant(c->from, c->to);
        expect_refusal(tmp_dir, NMF_STATUS_BAD_INPUT, "model.json", c->word, c->word);
    }
    write_text(tmp_path(MODEL_FILE), "[1, 2]");
    expect_refusal(tmp_dir, NMF_STATUS_BAD_INPUT, "model.json", "not a JSON object", "array");
    write_text(tmp_path(MODEL_FILE), "");
    expect_refusal(tmp_dir, NMF_STATUS_BAD_INPUT, "model.json:", "not valid JSON", "empty");
    /* A string no model holds: jansson is never asked to parse it. */
    char *big = malloc(70000);
    memset(big, ' ', 69999);
    big[69999] = '\0';
    big[0] = '{';
    big[69998] = '}';
    write_text(tmp_path(MODEL_FILE), big);
    free(big);
    expect_refusal(tmp_dir, NMF_STATUS_BAD_INPUT, "model.json", "more than a model holds", "big");
}

static void test_folder_refusals(void)
{
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none", tmp_dir);
    expect_refusal(missing, NMF_STATUS_IO, "/none: No such file",
                   "a model folder is the output folder of a fit", "no folder");
    write_text(tmp_path("file"), "x");
    expect_refusal(tmp_path("file"), NMF_STATUS_IO, "/file: not a folder", NULL, "a file");
    remove(tmp_path("file"));

    char empty[300];
    snprintf(empty, sizeof empty, "%s/empty", tmp_dir);
    mkdir(empty, 0700);
    expect_refusal(empty, NMF_STATUS_IO, "/empty: no model.json (a model folder",
                   "hint: fit the images", "no model.json");
    /* A fit's outputs from before models. */
    char metrics[320];
    snprintf(metrics, sizeof metrics, "%s/metrics.json", empty);
    write_text(metrics, "{}");
    expect_refusal(empty, NMF_STATUS_IO, "no model.json", "wrote no model: fit again", "old fit");
    remove(metrics);
    /* model.json a folder. */
    char sub[320];
    snprintf(sub, sizeof sub, "%s/%s", empty, MODEL_FILE);
    mkdir(sub, 0700);
    expect_refusal(empty, NMF_STATUS_IO, "model.json: not a regular file", NULL, "a folder");
    rmdir(sub);
    rmdir(empty);
}

/* H.npy missing, of another shape than the model's, or with a bad value. */
static void test_H_refusals(void)
{
    write_variant("\"k\": 2", "\"k\": 2");
    remove(tmp_path(MODEL_H_FILE));
    expect_refusal(tmp_dir, NMF_STATUS_IO, "H.npy", "No such file", "no H.npy");
    write_text(tmp_path(MODEL_H_FILE), "not a npy file");
    expect_refusal(tmp_dir, NMF_STATUS_IO, "H.npy", "not a .npy file", "bad H.npy");

    /* A model whose k or sizes disagree with H (2, 6). */
    write_variant("\"k\": 2", "\"k\": 3");
    expect_refusal(tmp_dir, NMF_STATUS_BAD_INPUT,
                   "H.npy: H is (2, 6), but model.json says k 3 rows", "expected (3, 6)", "k");
    write_variant("\"width\": 3", "\"width\": 4");
    expect_refusal(tmp_dir, NMF_STATUS_BAD_INPUT, "H.npy: H is (2, 6)", "expected (2, 8)",
                   "width");
    write_variant("\"channels\": 1},\n  \"rows\": {\"colour\": false, \"grey\": \"luma\"",
                  "\"channels\": 3},\n  \"rows\": {\"colour\": true, \"grey\": null");
    expect_refusal(tmp_dir, NMF_STATUS_BAD_INPUT, "H.npy: H is (2, 6)", "expected (2, 18)",
                   "channels");

    const float bad[] = {NAN, INFINITY, -0.5f};
    for (size_t b = 0; b < sizeof bad / sizeof *bad; b++) {
        write_variant("\"k\": 2", "\"k\": 2");
        float *H = make_H(2, 6);
        H[1 * 6 + 2] = bad[b];
        CHECK(npy_write_f32(tmp_path(MODEL_H_FILE), H, 2, 6) == NMF_STATUS_OK);
        free(H);
        expect_refusal(tmp_dir, NMF_STATUS_BAD_INPUT, "H.npy: H[1, 2] is",
                       "H must be finite and >= 0", "bad value");
    }
}

int main(void)
{
    if (!mkdtemp(tmp_dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_text();
    test_round_trips();
    test_from_run();
    test_field_refusals();
    test_folder_refusals();
    test_H_refusals();
    remove(tmp_path(MODEL_FILE));
    remove(tmp_path(MODEL_H_FILE));
    rmdir(tmp_dir);
    return test_exit();
}
