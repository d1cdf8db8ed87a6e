/* fuzz_checkpoint.c - fuzz target for the checkpoint reader (--resume DIR
 * reads DIR/checkpoint.nmf): any bytes must give a clean failure with a
 * message, or a checkpoint whose counts match the arrays it returns. Built
 * with libFuzzer by scripts/fuzz, and with tests/fuzz/replay.c into a
 * normal program that CTest runs over the corpus and every crash ever
 * found. */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"
#include "fuzz_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char dir[64], path[96];
    snprintf(dir, sizeof dir, "/tmp/nmf-fuzz-checkpoint-%ld", (long)getpid());
    snprintf(path, sizeof path, "%s/%s", dir, CHECKPOINT_FILE);
    mkdir(dir, 0700);
    if (fuzz_write_file(path, data, size))
        return 0;

    checkpoint_info info;
    nmf_result state;
    float *W, *H;
    if (checkpoint_read(dir, &info, &state, &W, &H) == NMF_STATUS_OK) {
        const nmf_params *p = &info.job.params;
        size_t k = (size_t)p->k, n = (size_t)info.width * (size_t)info.height;
        FUZZ_REQUIRE(W && H && k >= 1 && info.m >= 1 && n >= 1, "factors of a known shape");
        FUZZ_REQUIRE((info.m * k + k * n) * sizeof(float) <= size, "factors no larger than the file");
        FUZZ_REQUIRE(state.history_len >= 1 && state.iterations <= p->max_iter, "a valid state");
        FUZZ_REQUIRE(info.job.n_inputs >= 1 && info.job.inputs, "inputs recorded");
        /* Touch every element and string: short arrays show up here. */
        volatile float sum = 0.0f;
        for (size_t i = 0; i < info.m * k; i++)
            sum += W[i];
        for (size_t i = 0; i < k * n; i++)
            sum += H[i];
        for (int i = 0; i < state.history_len; i++)
            sum += (float)state.history_err[i] + (float)state.history_iter[i];
        for (size_t i = 0; i < info.job.n_inputs; i++)
            sum += (float)info.job.inputs[i][0];
        (void)sum;
        checkpoint_info_free(&info);
        nmf_result_free(&state);
        free(W);
        free(H);
    } else {
        FUZZ_REQUIRE(*nmf_last_error() != '\0', "a refused checkpoint has a message");
        FUZZ_REQUIRE(!W && !H && !info.input_store && !state.history_err, "nothing left allocated");
    }
    remove(path);
    rmdir(dir);
    return 0;
}
