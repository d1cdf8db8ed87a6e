/* fsutil.c - files that appear whole or not at all (write a temporary file
 * beside the final path, fsync, rename), sets of files that appear together
 * (a stage folder whose entries are renamed in), mkdir -p, and a
 * writability check that creates nothing. POSIX only. */
#define _POSIX_C_SOURCE 200809L

#include "fsutil.h"

#include "error.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* A malloc'd copy of s, or NULL. */
static char *fs__strdup(const char *s)
{
    size_t len = strlen(s) + 1;
    char *copy = malloc(len);
    if (copy)
        memcpy(copy, s, len);
    return copy;
}

static void fs__free_names(atomic_file *f)
{
    free(f->path);
    free(f->tmp_path);
    f->path = NULL;
    f->tmp_path = NULL;
}

/* Fills f and opens "<dir>/.<name>.tmp.<pid>" for writing. On failure f
 * holds nothing (fp and both paths NULL), so atomic_file_abort() on it is a
 * harmless no-op. */
nmf_status atomic_file_open(atomic_file *f, const char *path)
{
    f->fp = NULL;
    f->path = NULL;
    f->tmp_path = NULL;
    if (!path || !*path)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "atomic_file_open: empty path");

    const char *slash = strrchr(path, '/');
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0; /* with the '/' */
    const char *name = path + dir_len;
    if (!*name)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s: not a file name", path);

    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    /* dir + "." + name + ".tmp." + pid + NUL */
    size_t tmp_len = dir_len + 1 + strlen(name) + 5 + strlen(pid) + 1;
    f->path = fs__strdup(path);
    f->tmp_path = malloc(tmp_len);
    if (!f->path || !f->tmp_path) {
        fs__free_names(f);
        return nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", path);
    }
    snprintf(f->tmp_path, tmp_len, "%.*s.%s.tmp.%s", (int)dir_len, path, name, pid);

    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        int err = errno;
        fs__free_names(f);
        return nmf_error(NMF_STATUS_IO, "%s: cannot create (%s)", path, strerror(err));
    }
    return NMF_STATUS_OK;
}

/* Every step is checked: a full disk often shows only at fflush, fsync or
 * fclose. On failure the temporary file is removed and the final path is
 * left as it was. */
nmf_status atomic_file_commit(atomic_file *f)
{
    nmf_status st = NMF_STATUS_OK;
    if (!f->fp) {
        st = nmf_error(NMF_STATUS_INTERNAL, "%s: commit of a file that is not open",
                       f->path ? f->path : "(null)");
        fs__free_names(f);
        return st;
    }

    const char *step = NULL;
    int err = 0;
    if (ferror(f->fp)) {
        step = "write failed";
        err = EIO;
    } else if (fflush(f->fp) != 0) {
        step = "write failed";
        err = errno;
    } else if (fsync(fileno(f->fp)) != 0) {
        step = "fsync failed";
        err = errno;
    }
    /* fclose always releases the stream, even when it fails. */
    if (fclose(f->fp) != 0 && !step) {
        step = "close failed";
        err = errno;
    }
    f->fp = NULL;
    if (!step && rename(f->tmp_path, f->path) != 0) {
        step = "cannot rename into place";
        err = errno;
    }
    if (step) {
        remove(f->tmp_path);
        st = nmf_error(NMF_STATUS_IO, "%s: %s (%s)", f->path, step, strerror(err));
    }
    fs__free_names(f);
    return st;
}

void atomic_file_abort(atomic_file *f)
{
    if (f->fp) {
        fclose(f->fp);
        f->fp = NULL;
    }
    if (f->tmp_path)
        remove(f->tmp_path);
    fs__free_names(f);
}

/* Creates one directory; an existing directory is fine. *made is set when
 * this call created it. */
static nmf_status fs__make_dir(const char *path, int *made)
{
    *made = 0;
    if (mkdir(path, 0777) == 0) {
        *made = 1;
        return NMF_STATUS_OK;
    }
    int err = errno;
    struct stat sb;
    /* stat rather than trusting EEXIST: mkdir of an existing directory on a
     * read-only file system or without permission can fail otherwise. */
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return NMF_STATUS_OK;
        return nmf_error(NMF_STATUS_IO, "%s: not a directory", path);
    }
    return nmf_error(NMF_STATUS_IO, "%s: cannot create directory (%s)", path, strerror(err));
}

/* mkdir -p; *created_len gets the length of the outermost prefix of path
 * it created (the ones below it are new too), 0 when it created none. */
static nmf_status fs__make_dirs(const char *path, size_t *created_len)
{
    *created_len = 0;
    if (!path || !*path)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "fs_make_dirs: empty path");
    char *buf = fs__strdup(path);
    if (!buf)
        return nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", path);

    nmf_status st = NMF_STATUS_OK;
    int made;
    /* Each '/' after a component ends a prefix to create; the leading '/'
     * of an absolute path and runs of '/' are not components. */
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        st = fs__make_dir(buf, &made);
        if (made && !*created_len)
            *created_len = (size_t)(p - buf);
        *p = '/';
        if (st != NMF_STATUS_OK)
            goto cleanup;
    }
    st = fs__make_dir(buf, &made);
    if (made && !*created_len)
        *created_len = strlen(buf);

cleanup:
    free(buf);
    return st;
}

nmf_status fs_make_dirs(const char *path)
{
    size_t created_len;
    return fs__make_dirs(path, &created_len);
}

/* Shortens p (a path without trailing '/') to its parent: "a/b" -> "a",
 * "a" -> ".", "/a" -> "/". Returns 0 when p has no parent ("/" or "."). */
static int fs__parent(char *p)
{
    if (strcmp(p, "/") == 0 || strcmp(p, ".") == 0)
        return 0;
    char *slash = strrchr(p, '/');
    if (!slash) {
        strcpy(p, "."); /* p held at least one character, and "." fits */
        return 1;
    }
    while (slash > p && slash[-1] == '/')
        slash--;
    if (slash == p)
        slash++; /* keep the root */
    *slash = '\0';
    return 1;
}

nmf_status fs_join(char *buf, size_t size, const char *dir, const char *name)
{
    if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "%.64s...: path too long", dir);
    return NMF_STATUS_OK;
}

nmf_status fs_check_writable_dir(const char *path)
{
    if (!path || !*path)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "fs_check_writable_dir: empty path");
    char *cur = fs__strdup(path);
    if (!cur)
        return nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", path);
    size_t len = strlen(cur);
    while (len > 1 && cur[len - 1] == '/')
        cur[--len] = '\0';

    nmf_status st = NMF_STATUS_OK;
    struct stat sb;
    int is_self = 1; /* cur is path itself, not an ancestor */
    for (;;) {
        if (stat(cur, &sb) == 0)
            break;
        int err = errno;
        /* ENOTDIR: an ancestor is a file; that ancestor shows further up. */
        if ((err != ENOENT && err != ENOTDIR) || !fs__parent(cur)) {
            st = nmf_error(NMF_STATUS_IO, "%s: not writable (%s)", path, strerror(err));
            goto cleanup;
        }
        is_self = 0;
    }

    if (!S_ISDIR(sb.st_mode)) {
        if (is_self)
            st = nmf_error(NMF_STATUS_IO, "%s: exists and is not a directory", path);
        else
            st = nmf_error(NMF_STATUS_IO, "%s: not writable (%s is not a directory)",
                           path, cur);
        goto cleanup;
    }
    if (access(cur, W_OK | X_OK) != 0) {
        if (is_self)
            st = nmf_error(NMF_STATUS_IO, "%s: not writable (%s)", path, strerror(errno));
        else
            st = nmf_error(NMF_STATUS_IO, "%s: not writable (%s: %s)", path, cur,
                           strerror(errno));
    }

cleanup:
    free(cur);
    return st;
}

#define FS__PATH_MAX 4096 /* the longest path a stage handles, as job.c's */

/* "a/b" into buf (FS__PATH_MAX bytes); 0 when it does not fit. */
static int fs__join(char *buf, const char *a, const char *b)
{
    return (size_t)snprintf(buf, FS__PATH_MAX, "%s/%s", a, b) < FS__PATH_MAX;
}

const char *fs_first_present(const char *dir, const char *const *names, size_t count)
{
    char path[FS__PATH_MAX];
    struct stat sb;
    for (size_t i = 0; i < count; i++)
        if (fs__join(path, dir, names[i]) && lstat(path, &sb) == 0)
            return names[i];
    return NULL;
}

/* rm -r, not following symbolic links; 0 when all of it is gone. */
static int fs__remove_tree(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(sb.st_mode))
        return unlink(path);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int rc = 0;
    char child[FS__PATH_MAX];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (!fs__join(child, path, e->d_name) || fs__remove_tree(child) != 0)
            rc = -1;
    }
    closedir(d);
    return rmdir(path) == 0 ? rc : -1;
}

static void fs__stage_free(fs_stage *s)
{
    free(s->dir);
    free(s->stage);
    s->dir = NULL;
    s->stage = NULL;
    s->created_len = 0;
}

/* rmdir of dir and its parents up to the outermost one fs_stage_open made;
 * stops at the first that is not empty (a checkpoint written there). */
static void fs__remove_created(const fs_stage *s)
{
    if (!s->dir || !s->created_len)
        return;
    char *cur = fs__strdup(s->dir);
    if (!cur)
        return;
    size_t len = strlen(cur);
    while (len > 1 && cur[len - 1] == '/')
        cur[--len] = '\0';
    while (rmdir(cur) == 0 && strlen(cur) > s->created_len && fs__parent(cur))
        ;
    free(cur);
}

#define FS__STAGE_NAME ".nmf-partial-XXXXXX"
#define FS__REPLACED ".replaced" /* in the stage: what a commit moved aside */

nmf_status fs_stage_open(fs_stage *s, const char *dir)
{
    s->dir = NULL;
    s->stage = NULL;
    s->created_len = 0;
    if (!dir || !*dir)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "fs_stage_open: empty path");
    size_t len = strlen(dir) + 1 + sizeof FS__STAGE_NAME;
    if (len + sizeof FS__REPLACED + 256 > FS__PATH_MAX) /* + a file name */
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s: output path too long", dir);
    s->dir = fs__strdup(dir);
    s->stage = malloc(len);
    nmf_status st = NMF_STATUS_OK;
    if (!s->dir || !s->stage)
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", dir);
    else if ((st = fs__make_dirs(dir, &s->created_len)) == NMF_STATUS_OK) {
        snprintf(s->stage, len, "%s/%s", dir, FS__STAGE_NAME);
        if (!mkdtemp(s->stage))
            st = nmf_error(NMF_STATUS_IO, "%s: cannot create a folder to write into (%s)", dir,
                           strerror(errno));
    }
    if (st != NMF_STATUS_OK) {
        free(s->stage); /* not created: nothing to remove */
        s->stage = NULL;
        fs_stage_abort(s);
    }
    return st;
}

void fs_stage_abort(fs_stage *s)
{
    size_t len = s->stage ? strlen(s->stage) : 0;
    const char *msg = nmf_last_error();
    if (len && strncmp(msg, s->stage, len) == 0 && msg[len] == '/') {
        /* "DIR/W.npy: write failed", not the stage's name for it. */
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", msg + len);
        size_t dir_len = strlen(s->dir);
        while (dir_len > 1 && s->dir[dir_len - 1] == '/')
            dir_len--;
        nmf_error(NMF_STATUS_IO, "%.*s%s", (int)dir_len, s->dir, rest);
    }
    if (s->stage)
        fs__remove_tree(s->stage);
    fs__remove_created(s);
    fs__stage_free(s);
}

enum { FS__MOVED_ASIDE = 1, FS__MOVED_IN = 2 };

/* Undoes a commit's moves (moved[i]); 0 when every one was undone. */
static int fs__stage_undo(const fs_stage *s, const char *replaced, const char *const *names,
                          size_t count, const unsigned char *moved)
{
    char in_dir[FS__PATH_MAX], elsewhere[FS__PATH_MAX];
    int rc = 0;
    for (size_t i = 0; i < count; i++)
        if ((moved[i] & FS__MOVED_IN) && (!fs__join(in_dir, s->dir, names[i]) ||
                                          !fs__join(elsewhere, s->stage, names[i]) ||
                                          rename(in_dir, elsewhere) != 0))
            rc = -1;
    for (size_t i = 0; i < count; i++)
        if ((moved[i] & FS__MOVED_ASIDE) && (!fs__join(in_dir, s->dir, names[i]) ||
                                             !fs__join(elsewhere, replaced, names[i]) ||
                                             rename(elsewhere, in_dir) != 0))
            rc = -1;
    return rc;
}

nmf_status fs_stage_commit(fs_stage *s, const char *const *names, size_t count)
{
    char replaced[FS__PATH_MAX], in_dir[FS__PATH_MAX], elsewhere[FS__PATH_MAX];
    unsigned char *moved = calloc(count ? count : 1, 1);
    nmf_status st = NMF_STATUS_OK;
    if (!moved) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", s->dir);
        goto cleanup;
    }
    /* fs_stage_open checked that the stage's paths fit. */
    fs__join(replaced, s->stage, FS__REPLACED);
    if (mkdir(replaced, 0700) != 0) {
        st = nmf_error(NMF_STATUS_IO, "%s: cannot create (%s)", replaced, strerror(errno));
        goto cleanup;
    }
    /* names[0] (metrics.json) is the first to go and the last to come. */
    for (size_t i = 0; i < count; i++) {
        if (!fs__join(in_dir, s->dir, names[i]) || !fs__join(elsewhere, replaced, names[i])) {
            st = nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s: output path too long", s->dir);
            goto cleanup;
        }
        if (rename(in_dir, elsewhere) == 0)
            moved[i] |= FS__MOVED_ASIDE;
        else if (errno != ENOENT) {
            st = nmf_error(NMF_STATUS_IO, "%s: cannot move the previous run's file aside (%s)",
                           in_dir, strerror(errno));
            goto cleanup;
        }
    }
    for (size_t i = count; i-- > 0;) {
        fs__join(in_dir, s->dir, names[i]); /* fits: it did above */
        if (!fs__join(elsewhere, s->stage, names[i])) {
            st = nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s: output path too long", s->dir);
            goto cleanup;
        }
        if (rename(elsewhere, in_dir) == 0)
            moved[i] |= FS__MOVED_IN;
        else if (errno != ENOENT) {
            st = nmf_error(NMF_STATUS_IO, "%s: cannot rename into place (%s)", in_dir,
                           strerror(errno));
            goto cleanup;
        }
    }

cleanup:
    if (st == NMF_STATUS_OK) {
        fs__remove_tree(s->stage); /* what was replaced goes with it */
        fs__stage_free(s);
    } else if (!moved || fs__stage_undo(s, replaced, names, count, moved) == 0) {
        fs_stage_abort(s);
    } else {
        char why[1024];
        snprintf(why, sizeof why, "%s", nmf_last_error());
        st = nmf_error(st, "%s; undoing it failed too: the previous files are in %s", why,
                       replaced);
        fs__stage_free(s);
    }
    free(moved);
    return st;
}
