/* mapped_file.h - internal: memory that lives on disk. A scratch file of a
 * given size in a directory, removed from the directory as soon as it is
 * made (so nothing is left behind, even after a crash) and mapped shared,
 * read-write: the home of a V too large for the memory budget
 * (dataset_memory_plan). Its pages can be handed back to the system at
 * any time (nmf_problem_release) without losing what was written. */
#ifndef NMF_MAPPED_FILE_H
#define NMF_MAPPED_FILE_H

#include "nmf/nmf.h"

#include <stddef.h>

/* Maps `bytes` (> 0) of a new file in dir into *out, its disk space
 * allocated up front, so that writing through the mapping cannot fail for
 * want of space later. Fails with a message naming dir: not a writable
 * directory, or not enough free space (the bytes needed and free). */
nmf_status mapped_file_create(const char *dir, size_t bytes, void **out);

/* Writes what was written through the mapping to the disk and waits, so
 * that a failure shows now (a full quota, a network file system), naming
 * dir, rather than as wrong values read back later. */
nmf_status mapped_file_sync(void *p, size_t bytes, const char *dir);

/* Unmaps what mapped_file_create mapped; the file goes with it. */
void mapped_file_free(void *p, size_t bytes);

#endif
