/* mapped_file.c - see mapped_file.h. */
#define _POSIX_C_SOURCE 200809L
#include "mapped_file.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

nmf_status mapped_file_create(const char *dir, size_t bytes, void **out)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/.nmf-faces-V-XXXXXX", dir) >= sizeof path)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "%s: path too long for V's cache file", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        return nmf_error(NMF_STATUS_IO, "%s: cannot create V's cache file there: %s", dir,
                         strerror(errno));
    unlink(path); /* the open descriptor, then the mapping, keep it alive */
    nmf_status st = NMF_STATUS_OK;
    int err = posix_fallocate(fd, 0, (off_t)bytes);
    if (err) {
        struct statvfs fs;
        double free_b = fstatvfs(fd, &fs) == 0 ? (double)fs.f_bavail * (double)fs.f_frsize : -1.0;
        if (err == ENOSPC && free_b >= 0)
            st = nmf_error(NMF_STATUS_IO, "%s: V's cache file needs %.1f MB of disk but only %.1f "
                           "MB are free there; hint: --cache DIR on a larger disk, or more "
                           "--max-memory", dir, (double)bytes / 1e6, free_b / 1e6);
        else
            st = nmf_error(NMF_STATUS_IO, "%s: cannot make V's cache file of %.1f MB there: %s",
                           dir, (double)bytes / 1e6, strerror(err));
    } else {
        void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            st = nmf_error(NMF_STATUS_IO, "%s: cannot map V's cache file of %.1f MB: %s", dir,
                           (double)bytes / 1e6, strerror(errno));
        else
            *out = p;
    }
    close(fd);
    return st;
}

nmf_status mapped_file_sync(void *p, size_t bytes, const char *dir)
{
    if (msync(p, bytes, MS_SYNC) != 0)
        return nmf_error(NMF_STATUS_IO, "%s: cannot write V's cache file: %s", dir,
                         strerror(errno));
    return NMF_STATUS_OK;
}

void mapped_file_free(void *p, size_t bytes)
{
    if (p)
        munmap(p, bytes);
}
