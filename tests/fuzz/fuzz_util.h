/* fuzz_util.h - what the fuzz targets share: handing the input to a reader
 * that takes a path, and rules whose breaking libFuzzer must report. */
#ifndef NMF_FUZZ_UTIL_H
#define NMF_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Writes the input to path; 0 on success. */
static inline int fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t wrote = fwrite(data, 1, size, f);
    return fclose(f) == 0 && wrote == size ? 0 : -1;
}

/* Aborts, which libFuzzer and the replay report, when a rule is broken. */
static inline void fuzz_require(int ok, const char *file, const char *rule)
{
    if (!ok) {
        fprintf(stderr, "%s: broken rule: %s\n", file, rule);
        abort();
    }
}
#define FUZZ_REQUIRE(ok, rule) fuzz_require((ok), __FILE__, (rule))

#endif
