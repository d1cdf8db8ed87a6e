/* fuzz_npy.c - fuzz target for the .npy reader (custom init files): any
 * bytes must give a clean failure or a well-formed array, never a crash, a
 * leak or undefined behaviour. Built with libFuzzer by scripts/fuzz, and
 * with tests/fuzz/replay.c into a normal program that CTest runs over the
 * corpus and every crash ever found. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_util.h"
#include "npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    snprintf(path, sizeof path, "/tmp/nmf-fuzz-npy-%ld.npy", (long)getpid());
    if (fuzz_write_file(path, data, size))
        return 0;
    float *array = NULL;
    size_t rows = 0, cols = 0;
    if (npy_read_f32(path, &array, &rows, &cols) == NMF_STATUS_OK) {
        /* Touch every element: an array shorter than its shape shows up here. */
        volatile float sum = 0.0f;
        for (size_t i = 0; i < rows * cols; i++)
            sum += array[i];
        (void)sum;
    }
    free(array);
    remove(path);
    return 0;
}
