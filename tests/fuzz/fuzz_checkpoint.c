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
    resume_point point;
    if (checkpoint_read(dir, &info, &point) == NMF_STATUS_OK) {
        const nmf_params *p = &info.config.params;
        const nmf_result *state = &point.state;
        size_t k = (size_t)p->k, n = (size_t)info.width * (size_t)info.height;
        FUZZ_REQUIRE(point.W && point.H && k >= 1 && info.m >= 1 && n >= 1,
                     "factors of a known shape");
        FUZZ_REQUIRE(point.m == info.m && point.n == n && point.fingerprint == info.fingerprint,
                     "the point's shape and fingerprint are the header's");
        FUZZ_REQUIRE((info.m * k + k * n) * sizeof(float) <= size, "factors no larger than the file");
        FUZZ_REQUIRE(state->history_len >= 1 && state->iterations <= p->max_iter, "a valid state");
        FUZZ_REQUIRE(info.n_inputs >= 1 && info.inputs, "inputs recorded");
        /* Touch every element and string: short arrays show up here. */
        volatile float sum = 0.0f;
        for (size_t i = 0; i < info.m * k; i++)
            sum += point.W[i];
        for (size_t i = 0; i < k * n; i++)
            sum += point.H[i];
        for (int i = 0; i < state->history_len; i++)
            sum += (float)state->history_err[i] + (float)state->history_iter[i];
        for (size_t i = 0; i < info.n_inputs; i++)
            sum += (float)info.inputs[i][0];
        (void)sum;
        checkpoint_info_free(&info);
        resume_point_free(&point);
    } else {
        FUZZ_REQUIRE(*nmf_last_error() != '\0', "a refused checkpoint has a message");
        FUZZ_REQUIRE(!point.W && !point.H && !info.input_store && !point.state.history_err,
                     "nothing left allocated");
    }
    remove(path);
    rmdir(dir);
    return 0;
}
