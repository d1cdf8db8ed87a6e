/* settings.c - see settings.h: for each KIND, how a value is shown (as the
 * checkpoint writes it, or as JSON), read back and compared; the table's
 * uses are made from those by expanding RUN_SETTINGS. */
#define _POSIX_C_SOURCE 200809L
#include "settings.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { VALUE_CHARS = 64 };

int parse_whole(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int parse_number(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static void show_INT(char *buf, int json, const int *v)
{
    (void)json;
    snprintf(buf, VALUE_CHARS, "%d", *v);
}

static int read_INT(const char *s, int *v)
{
    long x;
    if (parse_whole(s, INT_MIN, INT_MAX, &x))
        return -1;
    *v = (int)x;
    return 0;
}

static int same_INT(const int *a, const int *b) { return *a == *b; }

static void show_U32(char *buf, int json, const uint32_t *v)
{
    (void)json;
    snprintf(buf, VALUE_CHARS, "%lu", (unsigned long)*v);
}

static int read_U32(const char *s, uint32_t *v)
{
    long x;
    if (parse_whole(s, 0, 4294967295L, &x))
        return -1;
    *v = (uint32_t)x;
    return 0;
}

static int same_U32(const uint32_t *a, const uint32_t *b) { return *a == *b; }

/* Every digit of a double, so that a value read back is the value written;
 * JSON has no NaN or infinity (none is a valid setting anyway). */
static void show_DOUBLE(char *buf, int json, const double *v)
{
    snprintf(buf, VALUE_CHARS, json && !isfinite(*v) ? "null" : "%.17g", *v);
}

static int read_DOUBLE(const char *s, double *v) { return parse_number(s, -DBL_MAX, DBL_MAX, v); }

static int same_DOUBLE(const double *a, const double *b) { return *a == *b; }

/* An enum, by its name (a JSON string); the names have nothing to escape. */
#define ENUM_KIND(KIND, TYPE, NAME_FN, PARSE_FN)                                    \
    static void show_##KIND(char *buf, int json, const TYPE *v)                    \
    {                                                                              \
        const char *name = NAME_FN(*v);                                            \
        snprintf(buf, VALUE_CHARS, json ? "\"%s\"" : "%s", name ? name : "unknown"); \
    }                                                                              \
    static int read_##KIND(const char *s, TYPE *v) { return PARSE_FN(s, v); }      \
    static int same_##KIND(const TYPE *a, const TYPE *b) { return *a == *b; }

ENUM_KIND(INIT, nmf_init_method, nmf_init_name, nmf_init_parse)
ENUM_KIND(SOLVER, nmf_solver, nmf_solver_name, nmf_solver_parse)
ENUM_KIND(STOPPING, nmf_stopping, nmf_stopping_name, nmf_stopping_parse)
ENUM_KIND(DEVICE, nmf_device, nmf_device_name, nmf_device_parse)
ENUM_KIND(PRECISION, nmf_precision, nmf_precision_name, nmf_precision_parse)
ENUM_KIND(GREY, dataset_grey, dataset_grey_name, dataset_grey_parse)
ENUM_KIND(MISSING, dataset_missing, dataset_missing_name, dataset_missing_parse)

/* "W H" (0 0: no resizing); in JSON [W, H], or null for none. */
static void show_RESIZE(char *buf, int json, const dataset_options *v)
{
    if (json && v->resize_w == 0 && v->resize_h == 0)
        snprintf(buf, VALUE_CHARS, "null");
    else
        snprintf(buf, VALUE_CHARS, json ? "[%d, %d]" : "%d %d", v->resize_w, v->resize_h);
}

static int read_RESIZE(const char *s, dataset_options *v)
{
    const char *space = strchr(s, ' ');
    char w_text[VALUE_CHARS];
    long w, h;
    if (!space || (size_t)(space - s) >= sizeof w_text)
        return -1;
    memcpy(w_text, s, (size_t)(space - s));
    w_text[space - s] = '\0';
    if (parse_whole(w_text, 0, 65536, &w) || parse_whole(space + 1, 0, 65536, &h))
        return -1;
    v->resize_w = (int)w;
    v->resize_h = (int)h;
    return 0;
}

static int same_RESIZE(const dataset_options *a, const dataset_options *b)
{
    return a->resize_w == b->resize_w && a->resize_h == b->resize_h;
}

/* --- the table's uses ----------------------------------------------------- */

#define KEY_OF(id, key, option, kind, member, in_metrics) key,
static const char *const keys[SETTING_COUNT] = {RUN_SETTINGS(KEY_OF)};
#undef KEY_OF
#define OPTION_OF(id, key, option, kind, member, in_metrics) option,
static const char *const options[SETTING_COUNT] = {RUN_SETTINGS(OPTION_OF)};
#undef OPTION_OF

const char *setting_key(setting_id id) { return id < SETTING_COUNT ? keys[id] : NULL; }
const char *setting_option(setting_id id) { return id < SETTING_COUNT ? options[id] : NULL; }

void run_config_default(run_config *c)
{
    memset(c, 0, sizeof *c);
    nmf_params_default(&c->params);
    dataset_options_default(&c->data);
    c->recon_count = 8;
}

void settings_write(FILE *fp, const run_config *c)
{
    char value[VALUE_CHARS];
#define WRITE(id, key, option, kind, member, in_metrics) \
    show_##kind(value, 0, &c->member);                   \
    fprintf(fp, "%s %s\n", key, value);
    RUN_SETTINGS(WRITE)
#undef WRITE
}

int setting_read(setting_id id, const char *value, run_config *c)
{
    switch (id) {
#define READ(id, key, option, kind, member, in_metrics) \
    case SETTING_##id:                                  \
        return read_##kind(value, &c->member);
        RUN_SETTINGS(READ)
#undef READ
    default:
        return -1;
    }
}

setting_id settings_first_difference(const run_config *a, const run_config *b, unsigned among)
{
#define DIFFERS(id, key, option, kind, member, in_metrics)                                   \
    if ((among & SETTING_BIT(SETTING_##id)) && !same_##kind(&a->member, &b->member))      \
        return SETTING_##id;
    RUN_SETTINGS(DIFFERS)
#undef DIFFERS
    return SETTING_COUNT;
}

void settings_to_json(strbuf *sb, const run_config *c)
{
    char value[VALUE_CHARS];
#define JSON(id, key, option, kind, member, in_metrics) \
    if (in_metrics) {                                   \
        show_##kind(value, 1, &c->member);              \
        sb_printf(sb, "  \"%s\": %s,\n", key, value);   \
    }
    RUN_SETTINGS(JSON)
#undef JSON
}
