/* progress.h - internal: the progress display on stderr. On a terminal one
 * line rewritten in place (iteration, error, iterations/s, ETA); otherwise
 * plain lines at most about once a second plus the first and the last. */
#ifndef NMF_PROGRESS_H
#define NMF_PROGRESS_H

#include "nmf/nmf.h"

#include <signal.h>

typedef struct {
    int quiet;
    int tty;            /* stderr is a terminal */
    double last_print_s; /* elapsed_s of the last iteration line */
    double loading_start_s, loading_print_s; /* monotonic clock */
    int line_open;      /* a terminal line is waiting for its newline */
    volatile sig_atomic_t *stop_flag; /* may be NULL */
} progress_state;

void progress_start(progress_state *ps, int quiet, volatile sig_atomic_t *stop_flag);
/* An nmf_progress_fn; user is a progress_state. Returns non-zero (stop)
 * once *stop_flag is set. */
int progress_report(const nmf_progress *p, void *user);
/* A dataset_options progress callback; user is a progress_state. Shown on
 * a terminal only: a plain log gets the summary line after loading. */
void progress_loading(size_t done, size_t total, void *user);
/* Ends an open terminal line. */
void progress_finish(progress_state *ps);

#endif
