/* fault_write.c - an LD_PRELOAD library for test_output_dir.sh: writing
 * under one folder fails as on a full disk, without root or a small file
 * system. Test-only: the tool has no hook for it. From the environment:
 *   NMF_FAULT_DIR=PATH   the folder, as the tool is given it (-o PATH);
 *                        only files and renames under it are touched
 *   NMF_FAULT_BYTES=N    fwrite/fputc/fputs to files opened there fail
 *                        with ENOSPC once N bytes went to them in all
 *   NMF_FAULT_RENAME=N   the Nth rename(2) there fails with ENOSPC
 *   NMF_FAULT_COUNT=FILE at exit, "bytes B renames R": what a run did, to
 *                        choose N from
 * The tool writes through stdio, whose own write(2) calls stay inside
 * glibc, so the stdio calls are the ones replaced. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir;
static size_t dir_len;
static long long byte_limit = -1, rename_fail = -1;
static long long bytes, renames;

static FILE *(*real_fopen)(const char *, const char *);
static int (*real_fclose)(FILE *);
static size_t (*real_fwrite)(const void *, size_t, size_t, FILE *);
static int (*real_fputc)(int, FILE *);
static int (*real_fputs)(const char *, FILE *);
static int (*real_rename)(const char *, const char *);

/* The streams opened under dir (a run has a few open at once). */
enum { MAX_OPEN = 64 };
static FILE *watched[MAX_OPEN];

/* The next definition of `name` (libc's, or a sanitizer's) into *fn;
 * through memcpy, since ISO C has no cast from void * to a function
 * pointer. */
static void find_real(const char *name, void *fn)
{
    void *found = dlsym(RTLD_NEXT, name);
    if (!found) {
        fprintf(stderr, "fault_write: no %s after this one\n", name);
        abort();
    }
    memcpy(fn, &found, sizeof found);
}

/* Before main, and on first use too: another library's constructor may
 * open a file before ours runs. */
__attribute__((constructor)) static void setup(void)
{
    if (real_fopen)
        return;
    find_real("fclose", &real_fclose);
    find_real("fwrite", &real_fwrite);
    find_real("fputc", &real_fputc);
    find_real("fputs", &real_fputs);
    find_real("rename", &real_rename);
    find_real("fopen", &real_fopen); /* last: it says the rest are found */
    dir = getenv("NMF_FAULT_DIR");
    dir_len = dir ? strlen(dir) : 0;
    const char *v;
    if ((v = getenv("NMF_FAULT_BYTES")) && *v)
        byte_limit = atoll(v);
    if ((v = getenv("NMF_FAULT_RENAME")) && *v)
        rename_fail = atoll(v);
}

__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("NMF_FAULT_COUNT");
    FILE *fp = path && *path ? real_fopen(path, "w") : NULL;
    if (fp) {
        fprintf(fp, "bytes %lld renames %lld\n", bytes, renames);
        real_fclose(fp);
    }
}

static int under_dir(const char *path)
{
    setup();
    return dir_len && path && strncmp(path, dir, dir_len) == 0 &&
           (path[dir_len] == '/' || path[dir_len] == '\0');
}

static int is_watched(FILE *fp)
{
    setup();
    for (int i = 0; i < MAX_OPEN; i++)
        if (watched[i] == fp)
            return 1;
    return 0;
}

/* How many of `count` items of `size` bytes may go to fp: all of them but
 * for a watched stream past the limit, which then fails with ENOSPC. */
static size_t allowance(FILE *fp, size_t size, size_t count)
{
    if (!is_watched(fp) || size == 0)
        return count;
    size_t fits = count;
    if (byte_limit >= 0) {
        long long left = byte_limit - bytes;
        size_t room = left > 0 ? (size_t)left / size : 0;
        if (room < fits)
            fits = room;
    }
    bytes += (long long)(fits * size);
    if (fits < count)
        errno = ENOSPC;
    return fits;
}

FILE *fopen(const char *path, const char *mode)
{
    setup();
    FILE *fp = real_fopen(path, mode);
    if (fp && under_dir(path) && strchr(mode, 'w'))
        for (int i = 0; i < MAX_OPEN; i++)
            if (!watched[i]) {
                watched[i] = fp;
                break;
            }
    return fp;
}

int fclose(FILE *fp)
{
    setup();
    for (int i = 0; i < MAX_OPEN; i++)
        if (watched[i] == fp)
            watched[i] = NULL;
    return real_fclose(fp);
}

size_t fwrite(const void *data, size_t size, size_t count, FILE *fp)
{
    size_t fits = allowance(fp, size, count);
    if (fits == 0)
        return 0;
    size_t done = real_fwrite(data, size, fits, fp);
    if (fits < count)
        errno = ENOSPC;
    return done;
}

int fputc(int c, FILE *fp)
{
    return allowance(fp, 1, 1) ? real_fputc(c, fp) : EOF;
}

int fputs(const char *s, FILE *fp)
{
    size_t len = strlen(s);
    if (allowance(fp, 1, len) < len)
        return EOF; /* none of it written: as good a failure for the test */
    return real_fputs(s, fp);
}

int rename(const char *from, const char *to)
{
    if (under_dir(from) || under_dir(to)) {
        renames++;
        if (renames == rename_fail) {
            errno = ENOSPC;
            return -1;
        }
    }
    return real_rename(from, to);
}
