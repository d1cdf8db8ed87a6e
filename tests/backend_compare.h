/* backend_compare.h - one backend against another from the same start
 * (ggml's test-backend-ops idea), shared by test_gpu (CPU against the CUDA
 * backend) and test_gpu_tolerances (CPU against the CPU with a different
 * SGEMM, which proves on any machine that these checks pass for a correct
 * but differently rounded backend and fail for a broken one).
 *
 * The cases, their fixtures and the bounds live in backend_compare.c; a
 * comparison counts the checks that failed, printing each, so that a
 * caller can demand none (a backend under test) or some (a deliberately
 * broken one). */
#ifndef NMF_BACKEND_COMPARE_H
#define NMF_BACKEND_COMPARE_H

#include "nmf/nmf.h"

/* Where one side's fits run: a device and precision, and an optional hook
 * run around each of its fits (test_gpu_tolerances swaps the SGEMM there). */
typedef struct {
    const char *name;
    nmf_device device;
    nmf_precision precision;
    void (*enter)(int variant);
    void (*leave)(void);
    int variant;
    /* 1: only the cases of Frobenius fits over a complete V (a GPU that
     * streams V from host memory runs no other). */
    int frobenius_only;
} compare_side;

typedef struct {
    int comparisons; /* (case, config) pairs run */
    int failed;      /* of them, those with a failed check */
    int checks_failed;
} compare_summary;

/* Runs every fp32 case with `fp32` and every TF32 case with `tf32` as the
 * tested side (either NULL: those cases left out) against `reference`. */
compare_summary compare_all_cases(const compare_side *reference, const compare_side *fp32,
                                  const compare_side *tf32);

/* HALS with its stopping rule on, from a random start: both sides stop at
 * the same iteration, for tolerances that stop inside a block of 10 and at
 * a block's end, with errors within fp32's HALS loss_rtol. Returns the number of
 * failed checks. */
int compare_stopping(const compare_side *reference, const compare_side *tested);

/* violation_i / violation_1 of HALS's first `count` iterations from W0,
 * H0 (p: HALS with tol > 0, its threads as the fits to compare use), one
 * iterate call at a time on the CPU backend, the rule scikit-learn
 * evaluates after every iteration; 0 on success. */
int compare_violation_ratios(const nmf_problem *problem, const nmf_params *p, const float *W0,
                             const float *H0, int count, double *ratio);

#endif
