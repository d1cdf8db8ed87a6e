/* test_gpu.c - the CUDA backend against the CPU backend from the same
 * start, on every case of backend_compare.c: each solver and objective on
 * random and face-like data of shapes no block size divides, k = 1 and
 * k = 128, more elements than one grid covers, the bundled faces for the
 * tool's 200 iterations, and TF32 with its own tolerances. The factors
 * after one iteration and the errors after 25 to 200 (graph replays and an
 * eager tail) must agree within the bounds backend_compare.c derives;
 * test_gpu_tolerances proves on the CPU that a correct backend that rounds
 * differently passes them and a broken one does not. Host buffers past W
 * and H keep their sentinels. HALS with its stopping rule stops at the
 * CPU's iteration, inside a block of 10 and at its end. Then the Frobenius
 * cases again with V streamed from host memory in slots of 64 KiB
 * (NMF_GPU_STREAM_BLOCK): tens to hundreds of blocks a pass, so that the
 * two slots' copies and products overlap and take turns many times.
 * Without a CUDA device (or without the CUDA build) it prints why and exits
 * 77, which CTest reports as SKIPPED. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "backend.h"
#include "backend_compare.h"
#include "test_util.h"

#include <stdlib.h>

static void stream_V(int variant)
{
    (void)variant;
    setenv("NMF_GPU_STREAM_BLOCK", "64K", 1);
}

static void resident_V(void)
{
    unsetenv("NMF_GPU_STREAM_BLOCK");
}

int main(void)
{
    const nmf_backend *gpu;
    nmf_set_note_handler(NULL, NULL);
    if (nmf_backend_select(NMF_DEVICE_GPU, 0, &gpu) != NMF_STATUS_OK) {
        printf("SKIPPED: %s\n", nmf_last_error());
        return TEST_SKIP;
    }
    const compare_side cpu = {"cpu", NMF_DEVICE_CPU, NMF_PRECISION_FP32, NULL, NULL, 0, 0};
    const compare_side fp32 = {"gpu", NMF_DEVICE_GPU, NMF_PRECISION_FP32, NULL, NULL, 0, 0};
    const compare_side tf32 = {"gpu tf32", NMF_DEVICE_GPU, NMF_PRECISION_TF32, NULL, NULL, 0, 0};
    compare_summary s = compare_all_cases(&cpu, &fp32, &tf32);
    printf("%d of %d comparisons failed (%d checks)\n", s.failed, s.comparisons, s.checks_failed);
    CHECK(s.comparisons > 0);
    CHECK(s.failed == 0);
    CHECK(compare_stopping(&cpu, &fp32) == 0);
    const compare_side streamed = {"gpu streamed", NMF_DEVICE_GPU, NMF_PRECISION_FP32, stream_V,
                                   resident_V, 0, 1};
    s = compare_all_cases(&cpu, &streamed, NULL);
    printf("streamed: %d of %d comparisons failed (%d checks)\n", s.failed, s.comparisons,
           s.checks_failed);
    CHECK(s.comparisons > 0);
    CHECK(s.failed == 0);
    CHECK(compare_stopping(&cpu, &streamed) == 0);
    return test_exit();
}
