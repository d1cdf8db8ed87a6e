/* strbuf.c - see strbuf.h. */
#include "strbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int strbuf_init(strbuf *sb)
{
    sb->cap = 1024;
    sb->len = 0;
    sb->buf = malloc(sb->cap);
    sb->failed = !sb->buf;
    if (sb->buf)
        sb->buf[0] = '\0';
    return sb->buf ? 0 : -1;
}

void sb_printf(strbuf *sb, const char *fmt, ...)
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

void sb_number(strbuf *sb, double x)
{
    if (isfinite(x))
        sb_printf(sb, "%.17g", x);
    else
        sb_printf(sb, "null");
}

void sb_string(strbuf *sb, const char *s)
{
    sb_printf(sb, "\"");
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_printf(sb, "\\%c", c);
        else if (c < 0x20)
            sb_printf(sb, "\\u%04x", c);
        else
            sb_printf(sb, "%c", c);
    }
    sb_printf(sb, "\"");
}

nmf_status sb_finish(strbuf *sb, const char *what, char **text, size_t *len)
{
    if (sb->failed) {
        free(sb->buf);
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for %s", what);
    }
    *text = sb->buf;
    *len = sb->len;
    return NMF_STATUS_OK;
}
