/* progress.c - see progress.h. */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include "clock.h"

#include <stdio.h>
#include <unistd.h>

void progress_start(progress_state *ps, int quiet, volatile sig_atomic_t *stop_flag)
{
    ps->stop_flag = stop_flag;
    ps->quiet = quiet;
    ps->tty = isatty(STDERR_FILENO);
    ps->last_print_s = -1.0;
    ps->line_open = 0;
    ps->loading_start_s = nmf_clock_s();
    ps->loading_print_s = 0.0;
}

void progress_loading(size_t done, size_t total, void *user)
{
    progress_state *ps = user;
    double t = nmf_clock_s();
    /* A few updates a second are plenty, and keep the lock-free caller fast. */
    if (ps->quiet || !ps->tty || (done < total && t - ps->loading_print_s < 0.2))
        return;
    ps->loading_print_s = t;
    double rate = done / (t - ps->loading_start_s + 1e-9);
    fprintf(stderr, "\rloading %zu/%zu images  %.0f images/s  ETA %.1f s\033[K", done, total,
            rate, (double)(total - done) / (rate > 0 ? rate : 1.0));
    ps->line_open = 1;
}

int progress_report(const nmf_progress *p, void *user)
{
    progress_state *ps = user;
    int last = p->iteration == p->max_iter;
    int stop = ps->stop_flag && *ps->stop_flag;
    if (ps->quiet || (!ps->tty && !last && !stop && p->iteration > 0 &&
                      p->elapsed_s - ps->last_print_s < 1.0))
        return stop;
    ps->last_print_s = p->elapsed_s;
    fprintf(stderr, "%siteration %d/%d  error %.6g", ps->tty ? "\r" : "", p->iteration,
            p->max_iter, p->error);
    if (p->iteration > 0 && p->elapsed_s > 0) {
        double rate = p->iteration / p->elapsed_s;
        fprintf(stderr, "  %.1f it/s  ETA %.1f s", rate, (p->max_iter - p->iteration) / rate);
    }
    fputs(ps->tty ? "\033[K" : "\n", stderr);
    ps->line_open = ps->tty;
    return stop;
}

void progress_finish(progress_state *ps)
{
    if (ps->line_open)
        fputc('\n', stderr);
    ps->line_open = 0;
}
