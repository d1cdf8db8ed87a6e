/* fuzz_image.c - fuzz target for image decoding as the tool runs it: the
 * bytes become one file in a folder and go through dataset_load (content
 * sniffing, stb_image, grey conversion, and, by the first byte's low bits,
 * --grey first, --resize, --colour and --storage float32). Any bytes must
 * give a clean failure or a finite V of the right size in one of its two
 * forms, never a crash, a leak or undefined behaviour. Built like
 * fuzz_npy.c. */
#define _POSIX_C_SOURCE 200809L
#include "dataset.h"
#include "fuzz_util.h"
#include "stb_guard.h"

#include <stb_image.h>

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        nmf_set_note_handler(NULL, NULL);
        quiet = 1;
    }
    char path[64];
    snprintf(path, sizeof path, "/tmp/nmf-fuzz-image-%ld", (long)getpid());
    if (fuzz_write_file(path, data, size))
        return 0;
    /* Headers claiming more than a megapixel make every run allocate and
     * page in gigabytes: they are tested on their own (test_cli's huge
     * images), and here would slow fuzzing to a dozen runs a second. The
     * size comes from stb only for inputs the guard lets through, read from
     * memory, as in dataset_load. */
    int w, h, comp, huge = 0;
    if (size <= INT_MAX && !stb_guard_check(data, size))
        huge = stbi_info_from_memory(data, (int)size, &w, &h, &comp) && (long)w * h > (1L << 20);
    if (huge) {
        remove(path);
        return 0;
    }
    dataset_options opt;
    dataset_options_default(&opt);
    opt.threads = 1;
    if (size > 0 && (data[0] & 1))
        opt.grey = DATASET_GREY_FIRST;
    if (size > 0 && (data[0] & 2))
        opt.resize_w = 7, opt.resize_h = 5;
    if (size > 0 && (data[0] & 4))
        opt.colour = 1;
    if (size > 0 && (data[0] & 8))
        opt.storage = DATASET_STORAGE_FLOAT32;
    const char *inputs[1] = {path};
    dataset d;
    if (dataset_load(inputs, 1, &opt, &d) == NMF_STATUS_OK) {
        if (d.m != 1 || d.channels != (opt.colour ? 3 : 1) ||
            d.n != (size_t)d.width * (size_t)d.height * (size_t)d.channels)
            abort();
        if (!d.V == !d.V8)
            abort(); /* exactly one form */
        for (size_t i = 0; d.V && i < d.n; i++)
            if (!isfinite(d.V[i]))
                abort();
        dataset_free(&d);
    }
    remove(path);
    return 0;
}
