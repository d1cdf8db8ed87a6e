/* backend_compare.h - one backend against another from the same start
 * (ggml's test-backend-ops idea), shared by test_gpu (CPU against the CUDA
 * backend) and test_gpu_tolerances (CPU against the CPU with a different
 * SGEMM, which proves on any machine that these checks pass for a correct
 * but differently rounded backend and fail for a broken one).
 *
 * A comparison returns the number of checks that failed, printing each, so
 * that a caller can demand zero (a backend under test) or more than zero
 * (a deliberately broken one). */
#ifndef NMF_BACKEND_COMPARE_H
#define NMF_BACKEND_COMPARE_H

#include "nmf/nmf.h"

#include <stddef.h>
#include <stdint.h>

/* V (m, n) and the start W0 (m, k), H0 (k, n). */
typedef struct {
    const char *name;
    size_t m, n, k;
    float *V, *W0, *H0;
} compare_fixture;

/* Uniform V in [0, 255) and uniform W0, H0 in [0, 1). */
void compare_fixture_random(compare_fixture *f, const char *name, size_t m, size_t n, size_t k,
                            uint32_t seed);
/* Smooth blobs on a dark background, one all-black image, nndsvda start. */
int compare_fixture_face_like(compare_fixture *f, const char *name, size_t m, size_t side,
                              size_t k);
/* The bundled faces with the tool's default start (nndsvda). */
int compare_fixture_faces(compare_fixture *f, size_t k);
void compare_fixture_free(compare_fixture *f);

/* A solver and objective. */
typedef struct {
    const char *name;
    nmf_solver solver;
    double beta, alpha_W, l1_ratio;
} compare_config;

/* Every solver and objective: MU Frobenius plain and regularised, KL,
 * beta 1.5, HALS plain and regularised. */
extern const compare_config compare_configs[];
extern const size_t compare_config_count;

/* Where one side's fits run: a device and precision, and an optional hook
 * run around each of its fits (test_gpu_tolerances swaps the SGEMM there). */
typedef struct {
    const char *name;
    nmf_device device;
    nmf_precision precision;
    void (*enter)(int variant);
    void (*leave)(void);
    int variant;
} compare_side;

/* How closely the tested side must follow the reference, per precision
 * and solver: the values and the reasons for them are in backend_compare.c. */
typedef struct {
    double atol, rtol; /* 1 iteration, per element: |t - r| <= atol + rtol·|r| */
    double max_rtol;   /* 1 iteration, per element: |t - r| <= max_rtol·max|r| */
    double norm_rtol;  /* 1 iteration: ||t - r|| <= norm_rtol·||r|| */
    double loss_rtol;  /* after N iterations: the two errors' relative difference */
} compare_bounds;

typedef struct {
    const char *name;
    compare_bounds mu, hals;
    /* A side's reported error e against e64, the float64 error of its own
     * factors: |e - e64| <= own_rtol·e64 + own_scale·||V||² / e64. */
    double own_rtol, own_scale;
} compare_tolerance;

extern const compare_tolerance compare_fp32, compare_tf32;

/* One case of the comparison: a fixture, the configs to run on it (all,
 * or the one named), the run lengths after the first iteration, and
 * whether the tested side runs at TF32. */
typedef struct {
    const char *fixture;
    const char *config; /* NULL: every config */
    int lengths[3];     /* 0-terminated */
    int tf32;
} compare_case;

/* The cases test_gpu runs and test_gpu_tolerances proves on the CPU. */
extern const compare_case compare_cases[];
extern const size_t compare_case_count;

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

/* Runs cfg on both sides from the fixture's start: the factors after one
 * iteration, then the errors after each of `lengths` iterations. Returns
 * the number of failed checks. */
int compare_backends(const compare_fixture *f, const compare_config *cfg,
                     const compare_side *reference, const compare_side *tested,
                     const compare_tolerance *tol, const int *lengths, size_t length_count);

#endif
