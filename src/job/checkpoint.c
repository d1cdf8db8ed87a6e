/* checkpoint.c - see checkpoint.h. */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"

#include "error.h"
#include "fsutil.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* 2: the stopping rule recorded (version 1, without it, ran scikit-learn's);
 * 3: colour recorded; 4: 8-bit values rounded after luma and resize (0.3's
 * rows were not, so its checkpoints would resume on other values); 5:
 * missing pixels recorded (0.7). */
#define MAGIC "nmf-faces checkpoint 5"

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Values a pixel in the checkpointed run's rows. */
static size_t checkpoint_channels(const checkpoint_info *info)
{
    return info->config.data.colour ? 3 : 1;
}

uint64_t dataset_fingerprint(const dataset *d)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < d->rows_total; i++)
        h = fnv1a(h, d->paths[i], strlen(d->paths[i]) + 1);
    uint64_t dims[4] = {d->rows_total, (uint64_t)d->width, (uint64_t)d->height, (uint64_t)d->channels};
    h = fnv1a(h, dims, sizeof dims);
    /* A resume with other missing pixels is another problem (masks are
     * one process's: the whole V's). */
    return d->mask ? fnv1a(h, d->mask, d->m * d->n) : h;
}

nmf_status checkpoint_write(const char *dir, const checkpoint_info *info, const nmf_result *state,
                            const float *W, const float *H)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, CHECKPOINT_FILE) >= sizeof path)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s: output path too long", dir);
    nmf_status st = fs_make_dirs(dir);
    atomic_file f;
    if (st != NMF_STATUS_OK || (st = atomic_file_open(&f, path)) != NMF_STATUS_OK)
        return st;
    FILE *fp = f.fp;
    fprintf(fp, "%s\nfingerprint %016" PRIx64 "\nm %zu\nwidth %d\nheight %d\n", MAGIC,
            info->fingerprint, info->m, info->width, info->height);
    settings_write(fp, &info->config);
    fprintf(fp, "iteration %d\nerror_at_init %.17g\nprevious_error %.17g\nviolation_at_1 %.17g\n"
                "fit_s %.17g\nhistory %d\n",
            state->iterations, state->error_at_init, state->previous_error, state->violation_at_1,
            state->fit_s, state->history_len);
    for (int i = 0; i < state->history_len; i++)
        fprintf(fp, "%d %.17g %.17g\n", state->history_iter[i], state->history_err[i],
                state->history_s[i]);
    fprintf(fp, "inputs %zu\n", info->n_inputs);
    for (size_t i = 0; i < info->n_inputs; i++)
        fprintf(fp, "%zu %s\n", strlen(info->inputs[i]), info->inputs[i]);
    fprintf(fp, "end\n");
    size_t k = (size_t)info->config.params.k;
    size_t n = (size_t)info->width * (size_t)info->height * checkpoint_channels(info);
    fwrite(W, sizeof *W, info->m * k, fp);
    fwrite(H, sizeof *H, k * n, fp);
    return atomic_file_commit(&f);
}

/* --- reading ---------------------------------------------------------- */

typedef struct {
    FILE *fp;
    const char *path;
    char line[512];
} reader;

/* Reads "key value" into r->line and returns the value, or NULL when the
 * line does not start with key. */
static const char *field(reader *r, const char *key)
{
    if (!fgets(r->line, sizeof r->line, r->fp))
        return NULL;
    r->line[strcspn(r->line, "\n")] = '\0';
    size_t len = strlen(key);
    if (strncmp(r->line, key, len) != 0 || r->line[len] != ' ')
        return NULL;
    return r->line + len + 1;
}

#define READ(r, key, fmt, ...)                                            \
    do {                                                                  \
        const char *v_ = field(r, key);                                   \
        if (!v_ || sscanf(v_, fmt, __VA_ARGS__) < 1) {                    \
            st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: malformed checkpoint (%s)", r->path, key); \
            goto cleanup;                                                 \
        }                                                                 \
    } while (0)

nmf_status checkpoint_read(const char *dir, checkpoint_info *info, resume_point *point)
{
    char path[4096];
    memset(info, 0, sizeof *info);
    memset(point, 0, sizeof *point);
    nmf_result *state = &point->state;
    float **W = &point->W, **H = &point->H;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, CHECKPOINT_FILE) >= sizeof path)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "--resume %.64s...: path too long", dir);
    nmf_status st = NMF_STATUS_OK;
    reader rd = {fopen(path, "rb"), path, ""}, *r = &rd;
    if (!r->fp)
        return nmf_error(NMF_STATUS_IO, "%s: no checkpoint to resume (cannot open it)", path);
    struct stat file_stat;
    if (fstat(fileno(r->fp), &file_stat) != 0 || !S_ISREG(file_stat.st_mode)) {
        fclose(r->fp);
        return nmf_error(NMF_STATUS_IO, "%s: not a regular file", path);
    }
    const uint64_t file_size = (uint64_t)file_stat.st_size;
    nmf_params *p = &info->config.params;
    run_config_default(&info->config);
    if (!fgets(r->line, sizeof r->line, r->fp) || strncmp(r->line, MAGIC, strlen(MAGIC))) {
        /* Format N < 4 was nmf-faces 0.N's, 4 that of 0.4 to 0.6. */
        static const char *const versions[] = {"", "0.1", "0.2", "0.3", "0.4 to 0.6"};
        int older = 0;
        for (int f = 1; f <= 4 && !older; f++) {
            char magic[32];
            snprintf(magic, sizeof magic, "nmf-faces checkpoint %d", f);
            older = strncmp(r->line, magic, strlen(magic)) == 0 ? f : 0;
        }
        st = older ? nmf_error(NMF_STATUS_BAD_INPUT,
                               "%s: a checkpoint of nmf-faces %s (format %d), which this "
                               "version does not resume; resume it with that version",
                               path, versions[older], older)
                   : nmf_error(NMF_STATUS_BAD_INPUT, "%s: not an nmf-faces checkpoint", path);
        goto cleanup;
    }
    READ(r, "fingerprint", "%" SCNx64, &info->fingerprint);
    READ(r, "m", "%zu", &info->m);
    READ(r, "width", "%d", &info->width);
    READ(r, "height", "%d", &info->height);
    for (setting_id id = 0; id < SETTING_COUNT; id++) {
        const char *value = field(r, setting_key(id));
        if (!value) {
            st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: malformed checkpoint (%s)", r->path,
                           setting_key(id));
            goto cleanup;
        }
        if (setting_read(id, value, &info->config))
            goto bad_value;
    }
    READ(r, "iteration", "%d", &state->iterations);
    READ(r, "error_at_init", "%lf", &state->error_at_init);
    READ(r, "previous_error", "%lf", &state->previous_error);
    READ(r, "violation_at_1", "%lf", &state->violation_at_1);
    READ(r, "fit_s", "%lf", &state->fit_s);
    READ(r, "history", "%d", &state->history_len);
    /* Every count is checked before it sizes an allocation: against the
     * driver's own rules and against what the file can hold. */
    if (p->k < 1 || p->max_iter < 1 || info->m == 0 || info->width < 1 || info->height < 1 ||
        info->config.data.colour < 0 || info->config.data.colour > 1 ||
        info->width > (1 << 16) || info->height > (1 << 16) || state->iterations < 0 ||
        state->iterations > p->max_iter || state->history_len < 1 ||
        state->history_len > state->iterations / NMF_HISTORY_EVERY + 2 ||
        (uint64_t)state->history_len > file_size / 6 || !isfinite(state->error_at_init) ||
        !isfinite(state->previous_error) || !isfinite(state->violation_at_1) ||
        !(state->fit_s >= 0) || !isfinite(state->fit_s))
        goto bad_value;
    size_t hl = (size_t)state->history_len;
    state->history_iter = malloc(hl * sizeof *state->history_iter);
    state->history_err = malloc(hl * sizeof *state->history_err);
    state->history_s = malloc(hl * sizeof *state->history_s);
    if (!state->history_iter || !state->history_err || !state->history_s) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", path);
        goto cleanup;
    }
    for (size_t i = 0; i < hl; i++)
        if (fscanf(r->fp, "%d %lf %lf\n", &state->history_iter[i], &state->history_err[i],
                   &state->history_s[i]) != 3)
            goto bad_value;
    READ(r, "inputs", "%zu", &info->n_inputs);
    if (info->n_inputs < 1 || info->n_inputs > 100000)
        goto bad_value;
    info->input_store = calloc(info->n_inputs, sizeof *info->input_store);
    if (!info->input_store) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", path);
        goto cleanup;
    }
    for (size_t i = 0; i < info->n_inputs; i++) {
        size_t len;
        if (fscanf(r->fp, "%zu", &len) != 1 || len > 4095 || fgetc(r->fp) != ' ' ||
            !(info->input_store[i] = calloc(len + 1, 1)) ||
            fread(info->input_store[i], 1, len, r->fp) != len || fgetc(r->fp) != '\n')
            goto bad_value;
    }
    info->inputs = (const char *const *)info->input_store;
    if (!fgets(r->line, sizeof r->line, r->fp) || strcmp(r->line, "end\n"))
        goto bad_value;
    /* The rest of the file is exactly W (m, k) and H (k, n). */
    size_t k = (size_t)p->k;
    size_t n = (size_t)info->width * (size_t)info->height * checkpoint_channels(info);
    long header = ftell(r->fp);
    uint64_t floats = header < 0 || (uint64_t)header > file_size
                          ? 0 : (file_size - (uint64_t)header) / sizeof(float);
    if (info->m > floats / k || n > floats / k || info->m * k + k * n > floats) {
        st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: truncated checkpoint (W and H)", path);
        goto cleanup;
    }
    if (info->m * k + k * n < floats || (file_size - (uint64_t)header) % sizeof(float)) {
        st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: malformed checkpoint (bytes after W and H)",
                       path);
        goto cleanup;
    }
    *W = malloc(info->m * k * sizeof **W);
    *H = malloc(k * n * sizeof **H);
    if (!*W || !*H) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory for W and H", path);
        goto cleanup;
    }
    if (fread(*W, sizeof **W, info->m * k, r->fp) != info->m * k ||
        fread(*H, sizeof **H, k * n, r->fp) != k * n) {
        st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: truncated checkpoint (W and H)", path);
        goto cleanup;
    }
    point->m = info->m;
    point->n = n;
    point->fingerprint = info->fingerprint;
    goto cleanup;
bad_value:
    st = nmf_error(NMF_STATUS_BAD_INPUT, "%s: malformed checkpoint (near \"%s\")", path, r->line);
cleanup:
    fclose(r->fp);
    if (st != NMF_STATUS_OK) {
        checkpoint_info_free(info);
        resume_point_free(point);
    }
    return st;
}

void resume_point_free(resume_point *point)
{
    nmf_result_free(&point->state);
    free(point->W);
    free(point->H);
    memset(point, 0, sizeof *point);
}

void checkpoint_info_free(checkpoint_info *info)
{
    if (info->input_store)
        for (size_t i = 0; i < info->n_inputs; i++)
            free(info->input_store[i]);
    free(info->input_store);
    memset(info, 0, sizeof *info);
}
