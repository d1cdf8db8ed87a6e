/* metrics.c - renders metrics.json: flat keys (the settings' from
 * RUN_SETTINGS, then the run's), numbers and one list of pairs, through
 * the string builder in strbuf.c. */
#include "metrics.h"

#include "error.h"
#include "strbuf.h"

#include <math.h>
#include <stdlib.h>

void metrics_outcome(strbuf *sb, const nmf_result *r)
{
    sb_printf(sb, "  \"iterations\": %d,\n  \"converged\": %s,\n  \"stop_rule\": \"%s\",\n",
              r->iterations, r->converged ? "true" : "false", r->stop_rule);
    /* relative_err is always the Frobenius one; reconstruction_err is
     * scikit-learn's, sqrt(2·D) of the loss fitted (the same for beta 2). */
    sb_printf(sb, "  \"relative_err\": ");
    sb_number(sb, r->norm_V > 0 ? r->frobenius_err / r->norm_V : NAN);
    sb_printf(sb, ",\n  \"frobenius_err\": ");
    sb_number(sb, r->frobenius_err);
    sb_printf(sb, ",\n  \"reconstruction_err\": ");
    sb_number(sb, r->reconstruction_err);
}

nmf_status metrics_to_json(const run_metrics *rm, char **json, size_t *len)
{
    const nmf_result *r = rm->result;
    strbuf sb;
    if (strbuf_init(&sb) != 0)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for metrics.json");
    sb_printf(&sb, "{\n  \"version\": \"%s\",\n  \"device\": \"%s\",\n", NMF_VERSION, r->device);
    sb_printf(&sb, "  \"kernels\": \"%s\",\n", r->kernels ? r->kernels : r->device);
    /* The settings as they took effect: alpha_h "same as alpha_w" resolved. */
    run_config shown = *rm->config;
    if (shown.params.alpha_H < 0)
        shown.params.alpha_H = shown.params.alpha_W;
    settings_to_json(&sb, &shown);
    sb_printf(&sb, "  \"loss\": \"%s\",\n", nmf_loss_name(shown.params.beta));
    sb_printf(&sb, "  \"images\": %zu,\n  \"skipped_files\": %zu,\n", rm->images, rm->skipped);
    sb_printf(&sb, "  \"height\": %d,\n  \"width\": %d,\n  \"threads\": %d,\n  \"ranks\": %d,\n",
              rm->height, rm->width, rm->threads, rm->ranks);
    sb_printf(&sb, "  \"storage\": \"%s\",\n  \"V_bytes\": %zu,\n", rm->storage, rm->V_bytes);
    sb_printf(&sb, "  \"streamed\": %s,\n  \"stream_block_bytes\": %zu,\n",
              rm->stream_block ? "true" : "false", rm->stream_block);
    const size_t values = rm->images * (size_t)rm->height * (size_t)rm->width *
                          (size_t)(rm->config->data.colour ? 3 : 1);
    sb_printf(&sb, "  \"observed_values\": %zu,\n  \"missing_values\": %zu,\n", rm->observed,
              values - rm->observed);
    metrics_outcome(&sb, r);
    sb_printf(&sb, ",\n  \"beta_divergence\": ");
    sb_number(&sb, 0.5 * r->reconstruction_err * r->reconstruction_err);
    sb_printf(&sb, ",\n  \"error_at_init\": ");
    sb_number(&sb, r->error_at_init);
    sb_printf(&sb, ",\n  \"loss_history\": [");
    for (int i = 0; i < r->history_len; i++) {
        sb_printf(&sb, "%s[%d, ", i ? ", " : "", r->history_iter[i]);
        sb_number(&sb, r->history_err[i]);
        sb_printf(&sb, "]");
    }
    sb_printf(&sb, "],\n  \"history_time_s\": [");
    for (int i = 0; i < r->history_len; i++) {
        sb_printf(&sb, "%s", i ? ", " : "");
        sb_number(&sb, r->history_s[i]);
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
    return sb_finish(&sb, "metrics.json", json, len);
}
