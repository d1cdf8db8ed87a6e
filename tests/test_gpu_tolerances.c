/* test_gpu_tolerances.c - proves test_gpu's verdict on the CPU, so that it
 * can be trusted before it ever runs on a GPU: every case of
 * backend_compare.c runs with the CPU backend on both sides, the tested
 * side's SGEMM swapped for one that rounds differently (sgemm_variants.c):
 *   - double accumulation, and fp32 in 64-element chunks of 4 interleaved
 *     partial sums (as GPU tiles add): every check must pass, HALS's
 *     stopping rule included;
 *   - TF32 inputs, for the TF32 cases and their tolerances: must pass;
 *   - a GEMM that leaves C's last row unwritten, and one with a single
 *     element 1% off: every comparison must catch each.
 * Arguments name the variants to run (double, chunked, edge, element; all
 * without), so that CTest can run them side by side. */
#include "backend_compare.h"
#include "sgemm_variants.h"
#include "test_util.h"

#include <string.h>

static compare_side cpu_with(int variant)
{
    return (compare_side){sgemm_variant_name(variant), NMF_DEVICE_CPU, NMF_PRECISION_FP32,
                          sgemm_variant_set, sgemm_variant_reset, variant, 0};
}

/* The correct variants against OpenBLAS: every comparison passes. */
static void run_correct(const compare_side *cpu, int variant)
{
    compare_side fp32 = cpu_with(variant), tf32 = cpu_with(SGEMM_TF32);
    /* The TF32 cases once, with the chunked order tensor cores add in. */
    compare_summary s = compare_all_cases(cpu, &fp32, variant == SGEMM_CHUNKED ? &tf32 : NULL);
    printf("== %s: %d of %d comparisons failed (%d checks)\n", fp32.name, s.failed, s.comparisons,
           s.checks_failed);
    CHECK(s.comparisons > 0);
    CHECK(s.failed == 0);
    CHECK(compare_stopping(cpu, &fp32) == 0);
}

/* A defect against OpenBLAS: every comparison catches it. */
static void run_defect(const compare_side *cpu, int variant)
{
    compare_side broken = cpu_with(variant);
    compare_summary s = compare_all_cases(cpu, &broken, NULL);
    printf("== %s: caught by %d of %d comparisons (%d checks failed, as they must)\n", broken.name,
           s.failed, s.comparisons, s.checks_failed);
    CHECK(s.comparisons > 0);
    CHECK(s.failed == s.comparisons);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *arg;
        int variant;
        void (*run)(const compare_side *, int);
    } runs[] = {
        {"double", SGEMM_DOUBLE, run_correct},
        {"chunked", SGEMM_CHUNKED, run_correct},
        {"edge", SGEMM_DEFECT_EDGE, run_defect},
        {"element", SGEMM_DEFECT_ELEMENT, run_defect},
    };
    const size_t run_count = sizeof runs / sizeof *runs;
    nmf_set_note_handler(NULL, NULL);
    const compare_side cpu = cpu_with(SGEMM_OPENBLAS);
    if (argc == 1)
        for (size_t r = 0; r < run_count; r++)
            runs[r].run(&cpu, runs[r].variant);
    for (int a = 1; a < argc; a++) {
        size_t r = 0;
        while (r < run_count && strcmp(argv[a], runs[r].arg) != 0)
            r++;
        if (r == run_count) {
            fprintf(stderr, "test_gpu_tolerances: unknown variant '%s'\n", argv[a]);
            return 2;
        }
        runs[r].run(&cpu, runs[r].variant);
    }
    return test_exit();
}
