/* fsutil.c - files that appear whole or not at all (write a temporary file
 * beside the final path, fsync, rename), mkdir -p, and a writability check
 * that creates nothing. POSIX only. */
#define _POSIX_C_SOURCE 200809L

#include "fsutil.h"

#include "error.h"

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

/* Creates one directory; an existing directory is fine. */
static nmf_status fs__make_dir(const char *path)
{
    if (mkdir(path, 0777) == 0)
        return NMF_STATUS_OK;
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

nmf_status fs_make_dirs(const char *path)
{
    if (!path || !*path)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "fs_make_dirs: empty path");
    char *buf = fs__strdup(path);
    if (!buf)
        return nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory", path);

    nmf_status st = NMF_STATUS_OK;
    /* Each '/' after a component ends a prefix to create; the leading '/'
     * of an absolute path and runs of '/' are not components. */
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = '\0';
        st = fs__make_dir(buf);
        *p = '/';
        if (st != NMF_STATUS_OK)
            goto cleanup;
    }
    st = fs__make_dir(buf);

cleanup:
    free(buf);
    return st;
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
