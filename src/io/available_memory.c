/* available_memory.c - see available_memory.h. */
#define _POSIX_C_SOURCE 200809L
#include "available_memory.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The number after `key` in the file at dir/name (key "": the first word
 * of the file), or -1 (absent, or "max"). */
static double number_in_file(const char *dir, const char *name, const char *key)
{
    char path[4200], line[256];
    unsigned long long v;
    double found = -1.0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    const size_t len = strlen(key);
    while (f && found < 0 && fgets(line, sizeof line, f))
        if (strncmp(line, key, len) == 0 && sscanf(line + len, "%llu", &v) == 1)
            found = (double)v;
    if (f)
        fclose(f);
    return found;
}

typedef struct {
    const char *prefix, *root, *limit, *usage, *cache;
} cgroup_kind;

static const cgroup_kind kinds[] = {
    {"0::", "/sys/fs/cgroup", "memory.max", "memory.current", "file "},
    {":memory:", "/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes",
     "total_cache "}};

/* This process's path in the hierarchy of `kind` (from /proc/self/cgroup)
 * into path; 0 when it has none. */
static int cgroup_path(const cgroup_kind *kind, char *path, size_t size)
{
    char line[4096];
    int found = 0;
    FILE *f = fopen("/proc/self/cgroup", "r");
    while (f && !found && fgets(line, sizeof line, f)) {
        const char *at = strstr(line, kind->prefix);
        if (at && (kind == &kinds[1] || at == line)) {
            snprintf(path, size, "%s", at + strlen(kind->prefix));
            path[strcspn(path, "\n")] = '\0';
            found = 1;
        }
    }
    if (f)
        fclose(f);
    return found;
}

/* The least that the cgroups from this process's up to the hierarchy's
 * root have left under their limits (a Slurm task's own cgroup has none;
 * its job's has), page cache counted as free; -1 without a limit. The root
 * of the mount also stands for a container whose own path is not mounted
 * (v1 without a cgroup namespace). */
static double cgroup_bytes_left(void)
{
    double least = -1.0;
    char path[4096], dir[4200];
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        if (!cgroup_path(&kinds[k], path, sizeof path))
            continue;
        for (;;) {
            snprintf(dir, sizeof dir, "%s%s", kinds[k].root, strcmp(path, "/") ? path : "");
            const double limit = number_in_file(dir, kinds[k].limit, ""),
                         used = number_in_file(dir, kinds[k].usage, ""),
                         cache = number_in_file(dir, "memory.stat", kinds[k].cache);
            /* v1 says "no limit" with about 2^63 */
            if (limit > 0 && limit < 0x1p60 && used >= 0) {
                const double held = used - (cache > 0 ? cache : 0.0);
                const double left = limit > held ? limit - held : 0.0;
                least = least < 0 || left < least ? left : least;
            }
            char *slash = strrchr(path, '/');
            if (!slash || !*path || strcmp(path, "/") == 0)
                break;
            *slash = '\0'; /* the parent; "" is the root */
            if (!*path)
                snprintf(path, sizeof path, "/");
        }
    }
    return least;
}

double available_memory_bytes(void)
{
    double avail = 0.0;
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        char line[256];
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                avail = (double)kb * 1024.0;
                break;
            }
        fclose(f);
    }
    if (avail == 0.0) {
        long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
        avail = pages > 0 && page > 0 ? (double)pages * (double)page : 0.0;
    }
    const double left = cgroup_bytes_left();
    if (left >= 0)
        avail = avail > 0.0 && avail < left ? avail : left;
    return avail > 0.0 || left < 0 ? avail : 1.0; /* known, and nothing left */
}
