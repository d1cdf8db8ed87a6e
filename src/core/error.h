/* error.h - internal: recording the reason of a failure and library notes.
 * Library code never prints errors or exits: it records one message naming
 * the file or parameter and the reason, and returns a status. */
#ifndef NMF_ERROR_H
#define NMF_ERROR_H

#include "nmf/nmf.h"

#if defined(__GNUC__)
#define NMF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NMF_PRINTF(a, b)
#endif

/* Records the message for nmf_last_error() and returns status, so that a
 * failure reads `return nmf_error(NMF_STATUS_IO, "%s: %s", path, why);`. */
nmf_status nmf_error(nmf_status status, const char *fmt, ...) NMF_PRINTF(2, 3);

/* Sends a note to the handler set by nmf_set_note_handler(). */
void nmf_note(const char *fmt, ...) NMF_PRINTF(1, 2);

#endif
