/* metrics.c - renders metrics.json. A small append-only string builder is
 * all the JSON we need: flat keys, numbers and one list of pairs. */
#include "metrics.h"

#include "error.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} strbuf;

static void sb_printf(strbuf *sb, const char *fmt, ...) NMF_PRINTF(2, 3);

static void sb_printf(strbuf *sb, const char *fmt, ...)
{
    if (sb->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int need = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
        va_end(ap);
        if (need < 0) {
            sb->failed = 1;
            return;
        }
        if ((size_t)need < sb->cap - sb->len) {
            sb->len += (size_t)need;
            return;
        }
        size_t cap = 2 * sb->cap + (size_t)need + 1;
        char *grown = realloc(sb->buf, cap);
        if (!grown) {
            sb->failed = 1;
            return;
        }
        sb->buf = grown;
        sb->cap = cap;
    }
}

/* JSON has no NaN or Infinity. */
static void sb_number(strbuf *sb, double x)
{
    if (isfinite(x))
        sb_printf(sb, "%.17g", x);
    else
        sb_printf(sb, "null");
}

nmf_status metrics_to_json(const run_metrics *rm, char **json, size_t *len)
{
    const nmf_result *r = rm->result;
    const nmf_params *p = rm->params;
    strbuf sb = {malloc(1024), 0, 1024, 0};
    if (!sb.buf)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for metrics.json");
    sb_printf(&sb, "{\n  \"version\": \"%s\",\n  \"device\": \"%s\",\n", NMF_VERSION, r->device);
    sb_printf(&sb, "  \"precision\": \"%s\",\n", nmf_precision_name(p->precision));
    sb_printf(&sb, "  \"solver\": \"%s\",\n  \"loss\": \"%s\",\n  \"init\": \"%s\",\n",
              nmf_solver_name(p->solver), nmf_loss_name(p->loss), nmf_init_name(p->init));
    sb_printf(&sb, "  \"seed\": %u,\n  \"k\": %d,\n  \"max_iter\": %d,\n  \"tol\": ",
              (unsigned)p->seed, p->k, p->max_iter);
    sb_number(&sb, p->tol);
    sb_printf(&sb, ",\n  \"images\": %zu,\n  \"skipped_files\": %zu,\n", rm->images, rm->skipped);
    sb_printf(&sb, "  \"height\": %d,\n  \"width\": %d,\n  \"threads\": %d,\n", rm->height,
              rm->width, rm->threads);
    sb_printf(&sb, "  \"iterations\": %d,\n  \"converged\": %s,\n", r->iterations,
              r->converged ? "true" : "false");
    sb_printf(&sb, "  \"reconstruction_err\": ");
    sb_number(&sb, r->reconstruction_err);
    sb_printf(&sb, ",\n  \"relative_err\": ");
    sb_number(&sb, r->norm_V > 0 ? r->reconstruction_err / r->norm_V : NAN);
    sb_printf(&sb, ",\n  \"error_at_init\": ");
    sb_number(&sb, r->error_at_init);
    sb_printf(&sb, ",\n  \"loss_history\": [");
    for (int i = 0; i < r->history_len; i++) {
        sb_printf(&sb, "%s[%d, ", i ? ", " : "", r->history_iter[i]);
        sb_number(&sb, r->history_err[i]);
        sb_printf(&sb, "]");
    }
    sb_printf(&sb, "],\n  \"ms_per_iter\": ");
    sb_number(&sb, r->iterations ? 1e3 * r->fit_s / r->iterations : NAN);
    sb_printf(&sb, ",\n  \"timings\": {\"load_s\": ");
    sb_number(&sb, rm->load_s);
    sb_printf(&sb, ", \"init_s\": ");
    sb_number(&sb, rm->init_s);
    sb_printf(&sb, ", \"fit_s\": ");
    sb_number(&sb, r->fit_s);
    sb_printf(&sb, ", \"write_s\": ");
    sb_number(&sb, rm->write_s);
    sb_printf(&sb, "}\n}\n");
    if (sb.failed) {
        free(sb.buf);
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for metrics.json");
    }
    *json = sb.buf;
    *len = sb.len;
    return NMF_STATUS_OK;
}
