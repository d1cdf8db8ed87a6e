/* model.c - see model.h. The text is written through strbuf, as
 * metrics.json is; it is read with jansson, whose strict RFC 8259 parser
 * gives the line and column of a syntax error. The reader takes files a
 * user may have edited: every field is checked for presence, type and
 * range, and its failures are sticky (reader.st), so that the first one
 * is the message and the lookups after it do nothing. */
#define _POSIX_C_SOURCE 200809L /* fileno, fstat */
#include "model.h"

#include "error.h"
#include "fsutil.h"
#include "npy.h"
#include "output.h"
#include "strbuf.h"

#include <assert.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MODEL_MAX_SIDE 65536        /* the largest --resize, and a decodable image's side */
#define MODEL_MAX_BYTES (64 * 1024) /* a model.json is under 1 KiB */
#define MODEL_FOLDER_IS "(a model folder is the output folder of a fit)"

void model_info_from_run(model_info *out, const run_config *config, const dataset *d)
{
    const nmf_params *p = &config->params;
    memset(out, 0, sizeof *out);
    out->format = MODEL_FORMAT;
    snprintf(out->version, sizeof out->version, "%s", NMF_VERSION);
    out->k = p->k;
    out->width = d->width;
    out->height = d->height;
    out->channels = d->channels;
    out->colour = config->data.colour;
    out->grey = config->data.colour ? DATASET_GREY_LUMA : config->data.grey;
    out->resize_w = config->data.resize_w;
    out->resize_h = config->data.resize_h;
    out->beta = p->beta;
    out->alpha_W = p->alpha_W;
    out->alpha_H = p->alpha_H < 0 ? p->alpha_W : p->alpha_H;
    out->l1_ratio = p->l1_ratio;
    out->solver = p->solver;
    out->tol = p->tol;
    out->max_iter = p->max_iter;
    out->m = d->rows_total;
}

/* --- writing ------------------------------------------------------------ */

nmf_status model_to_json(const model_info *mi, char **json, size_t *len)
{
    assert(nmf_solver_name(mi->solver) && dataset_grey_name(mi->grey));
    strbuf sb;
    if (strbuf_init(&sb) != 0)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for %s", MODEL_FILE);
    sb_printf(&sb, "{\n  \"format\": %d,\n  \"version\": ", mi->format);
    sb_string(&sb, mi->version);
    sb_printf(&sb, ",\n  \"k\": %d,\n", mi->k);
    sb_printf(&sb, "  \"image\": {\"width\": %d, \"height\": %d, \"channels\": %d},\n", mi->width,
              mi->height, mi->channels);
    sb_printf(&sb, "  \"rows\": {\"colour\": %s, \"grey\": ", mi->colour ? "true" : "false");
    if (mi->colour)
        sb_printf(&sb, "null");
    else
        sb_string(&sb, dataset_grey_name(mi->grey));
    if (mi->resize_w)
        sb_printf(&sb, ", \"resize\": [%d, %d]},\n", mi->resize_w, mi->resize_h);
    else
        sb_printf(&sb, ", \"resize\": null},\n");
    sb_printf(&sb, "  \"loss\": {\"beta\": ");
    sb_number(&sb, mi->beta);
    sb_printf(&sb, ", \"name\": ");
    sb_string(&sb, nmf_loss_name(mi->beta));
    sb_printf(&sb, "},\n  \"regularisation\": {\"alpha_w\": ");
    sb_number(&sb, mi->alpha_W);
    sb_printf(&sb, ", \"alpha_h\": ");
    sb_number(&sb, mi->alpha_H);
    sb_printf(&sb, ", \"l1_ratio\": ");
    sb_number(&sb, mi->l1_ratio);
    sb_printf(&sb, "},\n  \"solver\": ");
    sb_string(&sb, nmf_solver_name(mi->solver));
    sb_printf(&sb, ",\n  \"tol\": ");
    sb_number(&sb, mi->tol);
    sb_printf(&sb, ",\n  \"max_iter\": %d,\n  \"training_images\": %zu,\n", mi->max_iter, mi->m);
    sb_printf(&sb, "  \"H\": \"%s\"\n}\n", MODEL_H_FILE);
    return sb_finish(&sb, MODEL_FILE, json, len);
}

nmf_status model_write(const char *dir, const model_info *mi)
{
    char path[4096], *json;
    size_t len;
    nmf_status st;
    if ((st = fs_join(path, sizeof path, dir, MODEL_FILE)) != NMF_STATUS_OK ||
        (st = model_to_json(mi, &json, &len)) != NMF_STATUS_OK)
        return st;
    st = output_write_text(path, json, len);
    free(json);
    return st;
}

/* --- reading: the fields ------------------------------------------------ */

typedef struct {
    const char *path; /* dir/model.json, which every message names */
    nmf_status st;    /* NMF_STATUS_OK until the first failure */
} reader;

static void refuse(reader *r, const char *fmt, ...) NMF_PRINTF(2, 3);
static void refuse(reader *r, const char *fmt, ...)
{
    if (r->st != NMF_STATUS_OK)
        return;
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    r->st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: %s", r->path, why);
}

/* s for a one-line message: printable ASCII, others as '?', cut at 40. */
static const char *printable(const char *s, char buf[48])
{
    size_t i = 0;
    for (; s[i] && i < 40; i++)
        buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    strcpy(buf + i, s[i] ? "..." : "");
    return buf;
}

/* A value as JSON text for a message, ASCII, cut at 44 characters. */
static const char *shown(const json_t *v, char buf[48])
{
    size_t n = json_dumpb(v, buf, 47, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII);
    if (n == 0)
        strcpy(buf, "?");
    else if (n > 47)
        strcpy(buf + 44, "...");
    else
        buf[n] = '\0';
    return buf;
}

/* obj's member key, its dotted name ("image.width") in name; NULL, refused
 * as missing (must says what it should be), when obj has none. */
static json_t *member(reader *r, json_t *obj, const char *where, const char *key, char name[64],
                      const char *must)
{
    snprintf(name, 64, "%s%s%s", where, *where ? "." : "", key);
    if (r->st != NMF_STATUS_OK)
        return NULL;
    json_t *v = json_object_get(obj, key);
    if (!v)
        refuse(r, "missing field %s (%s)", name, must);
    return v;
}

/* Refuses any member of obj not in keys (NULL-terminated). */
static void only_fields(reader *r, json_t *obj, const char *where, const char *const *keys)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], key) != 0)
            i++;
        char seen[48];
        if (!keys[i])
            refuse(r, "unknown field %s%s%s (format %d has no such field)", where,
                   *where ? "." : "", printable(key, seen), MODEL_FORMAT);
    }
}

static json_t *get_object(reader *r, json_t *obj, const char *key, const char *const *keys)
{
    char name[64], seen[48];
    json_t *v = member(r, obj, "", key, name, "an object");
    if (v && !json_is_object(v)) {
        refuse(r, "%s must be an object, not %s", name, shown(v, seen));
        return NULL;
    }
    if (v)
        only_fields(r, v, name, keys);
    return r->st == NMF_STATUS_OK ? v : NULL;
}

/* An integer in lo..hi; lo when refused. */
static long long get_integer(reader *r, json_t *obj, const char *where, const char *key,
                             long long lo, long long hi)
{
    char name[64], must[64], seen[48];
    snprintf(must, sizeof must, "an integer in %lld..%lld", lo, hi);
    json_t *v = member(r, obj, where, key, name, must);
    if (!v)
        return lo;
    if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi)
        return json_integer_value(v);
    refuse(r, "%s must be %s, not %s", name, must, shown(v, seen));
    return lo;
}

/* A number in [lo, hi] (hi may be INFINITY); lo when refused. jansson
 * reads no NaN or infinity. */
static double get_number(reader *r, json_t *obj, const char *where, const char *key, double lo,
                         double hi)
{
    char name[64], must[64], seen[48];
    if (isinf(hi))
        snprintf(must, sizeof must, "a number >= %g", lo);
    else
        snprintf(must, sizeof must, "a number in [%g, %g]", lo, hi);
    json_t *v = member(r, obj, where, key, name, must);
    if (!v)
        return lo;
    if (json_is_number(v) && json_number_value(v) >= lo && json_number_value(v) <= hi)
        return json_number_value(v);
    refuse(r, "%s must be %s, not %s", name, must, shown(v, seen));
    return lo;
}

static int get_bool(reader *r, json_t *obj, const char *where, const char *key)
{
    char name[64], seen[48];
    json_t *v = member(r, obj, where, key, name, "true or false");
    if (v && !json_is_boolean(v))
        refuse(r, "%s must be true or false, not %s", name, shown(v, seen));
    return v && json_is_true(v);
}

/* A string of 1..max printable ASCII characters, with none of `banned`;
 * NULL when refused. */
static const char *get_text(reader *r, json_t *obj, const char *key, size_t max,
                            const char *banned, const char *must)
{
    char name[64], seen[48];
    json_t *v = member(r, obj, "", key, name, must);
    const char *s = v ? json_string_value(v) : NULL;
    size_t len = s ? strlen(s) : 0;
    int ok = len >= 1 && len <= max && !strpbrk(s, banned);
    for (size_t i = 0; ok && i < len; i++)
        ok = s[i] >= 0x20 && s[i] < 0x7f;
    if (v && !ok)
        refuse(r, "%s must be %s, not %s", name, must, shown(v, seen));
    return ok ? s : NULL;
}

/* The value whose name (name_of(value), NULL past the last) the field
 * holds; 0 when refused. */
static int get_name(reader *r, json_t *obj, const char *where, const char *key,
                    const char *(*name_of)(int))
{
    char name[64], must[128] = "one of", seen[48];
    for (int i = 0; name_of(i); i++)
        snprintf(must + strlen(must), sizeof must - strlen(must), "%s \"%s\"", i ? "," : "",
                 name_of(i));
    json_t *v = member(r, obj, where, key, name, must);
    const char *s = v ? json_string_value(v) : NULL;
    for (int i = 0; s && name_of(i); i++)
        if (strcmp(s, name_of(i)) == 0)
            return i;
    if (v)
        refuse(r, "%s must be %s, not %s", name, must, shown(v, seen));
    return 0;
}

static const char *solver_name_of(int value)
{
    return nmf_solver_name((nmf_solver)value);
}

static const char *grey_name_of(int value)
{
    return dataset_grey_name((dataset_grey)value);
}

static const char *const root_fields[] = {"format", "version", "k", "image", "rows", "loss",
                                          "regularisation", "solver", "tol", "max_iter",
                                          "training_images", "H", NULL};
static const char *const image_fields[] = {"width", "height", "channels", NULL};
static const char *const rows_fields[] = {"colour", "grey", "resize", NULL};
static const char *const loss_fields[] = {"beta", "name", NULL};
static const char *const regularisation_fields[] = {"alpha_w", "alpha_h", "l1_ratio", NULL};

/* rows.resize: null (0, 0) or [width, height]. */
static void get_resize(reader *r, json_t *rows, model_info *out)
{
    char name[64], seen[48], must[64];
    snprintf(must, sizeof must, "null or [width, height], each 1..%d", MODEL_MAX_SIDE);
    json_t *v = member(r, rows, "rows", "resize", name, must);
    if (!v || json_is_null(v))
        return;
    json_t *w = json_array_get(v, 0), *h = json_array_get(v, 1);
    if (json_array_size(v) != 2 || !json_is_integer(w) || !json_is_integer(h) ||
        json_integer_value(w) < 1 || json_integer_value(w) > MODEL_MAX_SIDE ||
        json_integer_value(h) < 1 || json_integer_value(h) > MODEL_MAX_SIDE) {
        refuse(r, "%s must be %s, not %s", name, must, shown(v, seen));
        return;
    }
    out->resize_w = (int)json_integer_value(w);
    out->resize_h = (int)json_integer_value(h);
}

/* The fields of root into out, and the name of H's file into h_file. */
static void read_fields(reader *r, json_t *root, model_info *out, char h_file[256])
{
    char seen[48];
    out->format = (int)get_integer(r, root, "", "format", 1, INT_MAX);
    if (r->st == NMF_STATUS_OK && out->format > MODEL_FORMAT) {
        /* Before the other fields: a newer format may have changed them. */
        const char *by = json_string_value(json_object_get(root, "version"));
        refuse(r, "format %d is newer than nmf-faces %s reads (%d); hint: read it with %s%s",
               out->format, NMF_VERSION, MODEL_FORMAT, by ? "nmf-faces " : "a newer nmf-faces",
               by ? printable(by, seen) : "");
        return;
    }
    only_fields(r, root, "", root_fields);
    const char *version = get_text(r, root, "version", sizeof out->version - 1, "",
                                   "a version string");
    if (version)
        strcpy(out->version, version);
    out->k = (int)get_integer(r, root, "", "k", 1, INT_MAX);

    json_t *image = get_object(r, root, "image", image_fields);
    out->width = (int)get_integer(r, image, "image", "width", 1, MODEL_MAX_SIDE);
    out->height = (int)get_integer(r, image, "image", "height", 1, MODEL_MAX_SIDE);
    out->channels = (int)get_integer(r, image, "image", "channels", 1, 3);
    if (out->channels == 2)
        refuse(r, "image.channels must be 1 (grey) or 3 (R, G, B), not 2");

    json_t *rows = get_object(r, root, "rows", rows_fields);
    out->colour = get_bool(r, rows, "rows", "colour");
    if (r->st == NMF_STATUS_OK && out->channels != (out->colour ? 3 : 1))
        refuse(r, "image.channels %d does not match rows.colour %s (a %s model has %d)",
               out->channels, out->colour ? "true" : "false", out->colour ? "colour" : "grey",
               out->colour ? 3 : 1);
    if (out->colour) {
        char name[64];
        json_t *grey = member(r, rows, "rows", "grey", name, "null in a colour model");
        if (grey && !json_is_null(grey))
            refuse(r, "%s must be null in a colour model, not %s", name, shown(grey, seen));
    } else {
        out->grey = (dataset_grey)get_name(r, rows, "rows", "grey", grey_name_of);
    }
    get_resize(r, rows, out);
    if (r->st == NMF_STATUS_OK && out->resize_w &&
        (out->resize_w != out->width || out->resize_h != out->height))
        refuse(r, "rows.resize [%d, %d] does not match image %dx%d (resized images have the "
                  "resize's size)", out->resize_w, out->resize_h, out->width, out->height);

    /* The ranges nmf_params_check accepts. */
    json_t *loss = get_object(r, root, "loss", loss_fields);
    out->beta = get_number(r, loss, "loss", "beta", -100, 100);
    char name[64];
    json_t *loss_name = member(r, loss, "loss", "name", name, "the loss's name");
    const char *want = nmf_loss_name(out->beta);
    if (loss_name && (!json_is_string(loss_name) || strcmp(json_string_value(loss_name), want)))
        refuse(r, "%s must be \"%s\" (loss.beta is %g), not %s", name, want, out->beta,
               shown(loss_name, seen));

    json_t *reg = get_object(r, root, "regularisation", regularisation_fields);
    out->alpha_W = get_number(r, reg, "regularisation", "alpha_w", 0, INFINITY);
    out->alpha_H = get_number(r, reg, "regularisation", "alpha_h", 0, INFINITY);
    out->l1_ratio = get_number(r, reg, "regularisation", "l1_ratio", 0, 1);

    out->solver = (nmf_solver)get_name(r, root, "", "solver", solver_name_of);
    if (r->st == NMF_STATUS_OK && out->solver == NMF_SOLVER_HALS && out->beta != 2.0)
        refuse(r, "solver \"hals\" fits loss.beta 2 only, not %g", out->beta);
    out->tol = get_number(r, root, "", "tol", 0, INFINITY);
    out->max_iter = (int)get_integer(r, root, "", "max_iter", 1, INT_MAX);
    long long m_max = SIZE_MAX < LLONG_MAX ? (long long)SIZE_MAX : LLONG_MAX;
    out->m = (size_t)get_integer(r, root, "", "training_images", 1, m_max);

    const char *h = get_text(r, root, "H", 255, "/",
                             "a file name in the model's folder, such as \"" MODEL_H_FILE "\"");
    if (h && (strcmp(h, ".") == 0 || strcmp(h, "..") == 0))
        refuse(r, "H must be a file name in the model's folder, not \"%s\"", h);
    if (h)
        strcpy(h_file, h);

    /* H, (k, width * height * channels), must be addressable. */
    size_t k = (size_t)out->k, n_max = SIZE_MAX / sizeof(float) / k;
    if (r->st == NMF_STATUS_OK &&
        (size_t)out->width > n_max / (size_t)out->height / (size_t)out->channels)
        refuse(r, "H, k %d rows of %dx%dx%d values, overflows the address space", out->k,
               out->width, out->height, out->channels);
}

/* --- reading: the files ------------------------------------------------- */

/* Opens dir/model.json (path) into *fp, failing with the reason when dir
 * or the file is missing or not what it should be. */
static nmf_status open_model(const char *dir, const char *path, FILE **fp)
{
    struct stat info;
    int found = stat(dir, &info) == 0;
    if (!found || !S_ISDIR(info.st_mode))
        return nmf_error(NMF_STATUS_IO, "%s: %s " MODEL_FOLDER_IS, dir,
                         found ? "not a folder" : strerror(errno));
    if (!(*fp = fopen(path, "rb")) && errno == ENOENT) {
        /* A fit's output folder from before models were written. */
        char metrics[4096];
        int old = (size_t)snprintf(metrics, sizeof metrics, "%s/metrics.json", dir) <
                      sizeof metrics && stat(metrics, &info) == 0;
        return nmf_error(NMF_STATUS_IO, "%s: no %s " MODEL_FOLDER_IS "; hint: %s", dir,
                         MODEL_FILE,
                         old ? "this is the output of an nmf-faces that wrote no model: fit again"
                             : "fit the images with --output naming this folder");
    }
    if (!*fp)
        return nmf_error(NMF_STATUS_IO, "%s: cannot open (%s)", path, strerror(errno));
    nmf_status status = NMF_STATUS_OK;
    if (fstat(fileno(*fp), &info) != 0 || !S_ISREG(info.st_mode))
        status = nmf_error(NMF_STATUS_IO, "%s: not a regular file", path);
    else if (info.st_size > MODEL_MAX_BYTES)
        status = nmf_error(NMF_STATUS_BAD_INPUT, "%s: %lld bytes, more than a model holds "
                           "(%d at most)", path, (long long)info.st_size, MODEL_MAX_BYTES);
    if (status != NMF_STATUS_OK) {
        fclose(*fp);
        *fp = NULL;
    }
    return status;
}

/* Reads H's file (path) as (k, width * height * channels), every value
 * finite and >= 0, into *H. */
static nmf_status read_H(const char *path, const model_info *mi, float **H)
{
    size_t rows, cols, k = (size_t)mi->k;
    size_t n = (size_t)mi->width * (size_t)mi->height * (size_t)mi->channels;
    nmf_status st = npy_read_f32(path, H, &rows, &cols);
    if (st != NMF_STATUS_OK)
        return st;
    if (rows != k || cols != n) {
        st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: H is (%zu, %zu), but %s says k %d rows of "
                       "%dx%dx%d values: expected (%zu, %zu)", path, rows, cols, MODEL_FILE, mi->k,
                       mi->width, mi->height, mi->channels, k, n);
    } else {
        for (size_t i = 0; i < k * n; i++)
            if (!((*H)[i] >= 0.0f) || isinf((*H)[i])) {
                st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: H[%zu, %zu] is %g; H must be finite "
                               "and >= 0", path, i / n, i % n, (double)(*H)[i]);
                break;
            }
    }
    if (st != NMF_STATUS_OK) {
        free(*H);
        *H = NULL;
    }
    return st;
}

nmf_status model_read(const char *dir, model_info *out, float **H)
{
    char path[4096], h_path[4096], h_file[256] = "";
    memset(out, 0, sizeof *out);
    *H = NULL;
    nmf_status st = fs_join(path, sizeof path, dir, MODEL_FILE);
    if (st != NMF_STATUS_OK)
        return st;
    FILE *fp;
    if ((st = open_model(dir, path, &fp)) != NMF_STATUS_OK)
        return st;
    json_error_t err;
    json_t *root = json_loadf(fp, JSON_REJECT_DUPLICATES, &err);
    fclose(fp);
    reader r = {path, NMF_STATUS_OK};
    if (!root)
        r.st = nmf_error(NMF_STATUS_BAD_INPUT, "%s:%d:%d: not valid JSON (%s)", path, err.line,
                         err.column, err.text);
    else if (!json_is_object(root))
        refuse(&r, "not a JSON object");
    else
        read_fields(&r, root, out, h_file);
    json_decref(root);
    if ((st = r.st) != NMF_STATUS_OK ||
        (st = fs_join(h_path, sizeof h_path, dir, h_file)) != NMF_STATUS_OK ||
        (st = read_H(h_path, out, H)) != NMF_STATUS_OK)
        memset(out, 0, sizeof *out);
    return st;
}
