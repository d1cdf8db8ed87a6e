/* error.c - the per-thread last-error message, status names and notes. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[1024];

static void note_to_stderr(const char *msg, void *user)
{
    (void)user;
    fprintf(stderr, "nmf: note: %s\n", msg);
}

static nmf_note_fn note_handler = note_to_stderr;
static void *note_user;

const char *nmf_status_string(nmf_status status)
{
    switch (status) {
    case NMF_STATUS_OK: return "ok";
    case NMF_STATUS_BAD_ARGUMENT: return "bad argument";
    case NMF_STATUS_BAD_INPUT: return "bad input";
    case NMF_STATUS_IO: return "input/output error";
    case NMF_STATUS_NO_MEMORY: return "out of memory";
    case NMF_STATUS_TOO_LARGE: return "too large";
    case NMF_STATUS_INTERRUPTED: return "interrupted";
    case NMF_STATUS_NO_DEVICE: return "no device";
    case NMF_STATUS_INTERNAL: return "internal error";
    case NMF_STATUS_PEER_FAILED: return "another rank failed";
    }
    return "unknown status";
}

const char *nmf_last_error(void)
{
    return last_error;
}

nmf_status nmf_error(nmf_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

void nmf_set_note_handler(nmf_note_fn fn, void *user)
{
    note_handler = fn;
    note_user = user;
}

void nmf_note(const char *fmt, ...)
{
    if (!note_handler)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    note_handler(msg, note_user);
}
