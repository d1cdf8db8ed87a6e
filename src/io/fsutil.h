/* fsutil.h - internal: files that appear whole or not at all, sets of files
 * that appear together, directories. */
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

/* "dir/name" into buf (size bytes); fails naming dir when it is too long. */
nmf_status fs_join(char *buf, size_t size, const char *dir, const char *name);

/* The first of names[0..count) present in dir (as any kind of entry), or
 * NULL when none is (or dir does not exist). */
const char *fs_first_present(const char *dir, const char *const *names, size_t count);

/* A set of files written apart, then moved into dir together: nothing of
 * it shows in dir until every file is written, and a failure leaves dir
 * as it was. */
typedef struct {
    char *dir;          /* the target, as given */
    char *stage;        /* "<dir>/.nmf-partial-XXXXXX": write the files here */
    size_t created_len; /* the length of the outermost prefix of dir that
                           fs_stage_open created, 0 if dir existed */
} fs_stage;

/* Creates dir (mkdir -p) and a fresh stage folder inside it, on dir's file
 * system, so that rename(2) moves its files in. On failure s holds nothing
 * and dir is as it was. */
nmf_status fs_stage_open(fs_stage *s, const char *dir);
/* Replaces dir/names[i] by stage/names[i] for each i: first every present
 * dir/names[i] is moved aside (from the first name to the last), then each
 * present stage/names[i] is renamed in (from the last to the first, so
 * names[0], the one that says a set is complete, goes first and comes
 * last); a name in neither is skipped, an entry of dir not named is
 * untouched. Then removes the stage with what it replaced. If
 * a move fails, the moves done are undone and the stage removed (as
 * fs_stage_abort), so dir is as before; only when undoing fails too is the
 * stage kept, and the message says where the replaced files are. Frees
 * s's memory either way. */
nmf_status fs_stage_commit(fs_stage *s, const char *const *names, size_t count);
/* Removes the stage and what it holds, and the folders fs_stage_open
 * created when they are empty; frees s's memory. Harmless on a stage whose
 * open failed. A last error (nmf_last_error) that names a path in the
 * stage is made to name it in dir, where the user looks. */
void fs_stage_abort(fs_stage *s);

#endif
