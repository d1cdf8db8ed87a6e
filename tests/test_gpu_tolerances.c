/* test_gpu_tolerances.c - proves test_gpu's verdict on the CPU, so that it
 * can be trusted before it ever runs on a GPU: every case of
 * backend_compare.c runs with the CPU backend on both sides, the tested
 * side's SGEMM swapped for one that rounds differently (sgemm_variants.c):
 *   - double accumulation, and fp32 in 64-element chunks of 4 interleaved
 *     partial sums (as GPU tiles add): every check must pass, HALS's
 *     stopping rule included;
 *   - TF32 inputs, for the TF32 cases and their tolerances: must pass;
 *   - a GEMM that leaves C's last row unwritten, and one with a single
 *     element 1% off: every comparison must catch each. */
#include "backend_compare.h"
#include "sgemm_variants.h"
#include "test_util.h"

static compare_side cpu_with(int variant)
{
    return (compare_side){sgemm_variant_name(variant), NMF_DEVICE_CPU, NMF_PRECISION_FP32,
                          sgemm_variant_set, sgemm_variant_reset, variant};
}

int main(void)
{
    nmf_set_note_handler(NULL, NULL);
    const compare_side cpu = cpu_with(SGEMM_OPENBLAS);

    static const int correct[] = {SGEMM_DOUBLE, SGEMM_CHUNKED};
    for (size_t i = 0; i < sizeof correct / sizeof *correct; i++) {
        compare_side fp32 = cpu_with(correct[i]), tf32 = cpu_with(SGEMM_TF32);
        /* The TF32 cases once, with the chunked order tensor cores add in. */
        compare_summary s = compare_all_cases(&cpu, &fp32, correct[i] == SGEMM_CHUNKED ? &tf32 : NULL);
        printf("== %s: %d of %d comparisons failed (%d checks)\n", fp32.name, s.failed,
               s.comparisons, s.checks_failed);
        CHECK(s.comparisons > 0);
        CHECK(s.failed == 0);
        CHECK(compare_stopping(&cpu, &fp32) == 0);
    }

    static const int defects[] = {SGEMM_DEFECT_EDGE, SGEMM_DEFECT_ELEMENT};
    for (size_t i = 0; i < sizeof defects / sizeof *defects; i++) {
        compare_side broken = cpu_with(defects[i]);
        compare_summary s = compare_all_cases(&cpu, &broken, NULL);
        printf("== %s: caught by %d of %d comparisons (%d checks failed, as they must)\n",
               broken.name, s.failed, s.comparisons, s.checks_failed);
        CHECK(s.comparisons > 0);
        CHECK(s.failed == s.comparisons);
    }
    return test_exit();
}
