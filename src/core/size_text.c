/* size_text.c - see size_text.h. */
#include "size_text.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int nmf_parse_bytes(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    const char *units = "KMGT", *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (end == s || errno == ERANGE || !(v > 0) || (*end && (!u || end[1] != '\0')))
        return -1;
    for (const char *p = units; u && p <= u; p++)
        v *= 1024.0;
    if (!(v >= 1.0 && v < 9e18))
        return -1;
    *out = (size_t)v;
    return 0;
}
