/* fsutil.h - internal: files that appear whole or not at all, directories. */
#ifndef NMF_FSUTIL_H
#define NMF_FSUTIL_H

#include "nmf/nmf.h"

#include <stdio.h>

/* A file being written under a temporary name beside its final path. */
typedef struct {
    FILE *fp;
    char *path;     /* final path */
    char *tmp_path; /* "<dir>/.<name>.tmp.<pid>" */
} atomic_file;

/* Opens a temporary file next to path for writing (binary). */
nmf_status atomic_file_open(atomic_file *f, const char *path);
/* Flushes, fsyncs, closes and renames into place. Frees f's memory; on
 * failure removes the temporary file. */
nmf_status atomic_file_commit(atomic_file *f);
/* Closes and removes the temporary file, frees f's memory. */
void atomic_file_abort(atomic_file *f);

/* mkdir -p. */
nmf_status fs_make_dirs(const char *path);

/* Whether path is, or could be created as, a writable directory: checks
 * the nearest existing ancestor without creating anything. */
nmf_status fs_check_writable_dir(const char *path);

#endif
