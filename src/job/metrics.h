/* metrics.h - internal: the run's metrics.json. */
#ifndef NMF_METRICS_H
#define NMF_METRICS_H

#include "nmf/nmf.h"
#include "settings.h"

#include <stddef.h>

typedef struct {
    const run_config *config;
    int threads;           /* threads actually used (by each rank) */
    int ranks;             /* processes of the job (MPI ranks), 1 without MPI */
    size_t images, skipped;
    int height, width;
    const char *storage;   /* how V was held: "uint8" or "float32" */
    size_t V_bytes;
    size_t stream_block;   /* 0: V in memory; else streamed in blocks of this many bytes */
    size_t observed;       /* V's entries the fit saw: all but the missing pixels' */
    const nmf_result *result;
    double load_s, init_s, write_s;
} run_metrics;

/* The outcome keys every command's metrics.json has: iterations,
 * converged, stop_rule, relative_err, frobenius_err, reconstruction_err
 * (the last without its comma). */
void metrics_outcome(strbuf *sb, const nmf_result *r);

/* Renders the metrics as a JSON object into a new malloc'd string (*json,
 * *len); the keys are documented in README.md. */
nmf_status metrics_to_json(const run_metrics *rm, char **json, size_t *len);

#endif
