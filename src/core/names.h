/* names.h - internal: the one way an enum's values get the names that the
 * command line, metrics.json and checkpoints use: a table of strings
 * indexed by value, and two functions made from it by NMF_NAMES. */
#ifndef NMF_NAMES_H
#define NMF_NAMES_H

#include <stddef.h>

/* names[value], or NULL for a value outside the table. */
const char *nmf_name_of(const char *const *names, size_t count, int value);

/* The value whose name is `name` (exactly), or -1 (also for NULL). */
int nmf_name_find(const char *const *names, size_t count, const char *name);

/* Defines `const char *NAME_FN(TYPE)` (NULL outside the table) and
 * `int PARSE_FN(const char *, TYPE *)` (0 and *out set, or -1 with *out
 * untouched) from TABLE, a static array of strings indexed by value. */
#define NMF_NAMES(TYPE, NAME_FN, PARSE_FN, TABLE)                                  \
    const char *NAME_FN(TYPE value)                                                \
    {                                                                              \
        return nmf_name_of(TABLE, sizeof TABLE / sizeof *TABLE, (int)value);        \
    }                                                                              \
    int PARSE_FN(const char *name, TYPE *out)                                      \
    {                                                                              \
        int value = nmf_name_find(TABLE, sizeof TABLE / sizeof *TABLE, name);       \
        if (value < 0)                                                             \
            return -1;                                                             \
        *out = (TYPE)value;                                                        \
        return 0;                                                                  \
    }

#endif
