/* strbuf.h - internal: an append-only, growing string for writing JSON.
 * Failures are sticky: after one, appends do nothing and `failed` is set,
 * so a caller checks once at the end. */
#ifndef NMF_STRBUF_H
#define NMF_STRBUF_H

#include "error.h"

#include <stddef.h>

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} strbuf;

/* 0 on success, -1 when the first block cannot be allocated. */
int strbuf_init(strbuf *sb);
void sb_printf(strbuf *sb, const char *fmt, ...) NMF_PRINTF(2, 3);
/* A JSON number, or null for NaN and infinities (JSON has neither). */
void sb_number(strbuf *sb, double x);
/* A JSON string literal with quotes, backslashes and control characters escaped. */
void sb_string(strbuf *sb, const char *s);
/* Hands the text over (*text, *len; the caller frees it), or after a
 * failed append frees it and fails with "out of memory for `what`". */
nmf_status sb_finish(strbuf *sb, const char *what, char **text, size_t *len);

#endif
