/* progress.h - internal: the progress display on stderr. On a terminal one
 * line rewritten in place (iteration, error, iterations/s, ETA); otherwise
 * plain lines at most about once a second plus the first and the last. */
#ifndef NMF_PROGRESS_H
#define NMF_PROGRESS_H

#include "nmf/nmf.h"

typedef struct {
    int quiet;
    int tty;            /* stderr is a terminal */
    double last_print_s;
    int line_open;      /* a terminal line is waiting for its newline */
} progress_state;

void progress_start(progress_state *ps, int quiet);
/* An nmf_progress_fn; user is a progress_state. Always returns 0. */
int progress_report(const nmf_progress *p, void *user);
/* Ends an open terminal line. */
void progress_finish(progress_state *ps);

#endif
