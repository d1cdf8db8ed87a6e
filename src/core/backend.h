/* backend.h - internal: the interface every compute backend implements.
 *
 * Coarse on purpose: a backend owns its copies of V, W and H for the whole
 * fit (on the GPU they stay in device memory), so the driver in nmf.c only
 * asks it to iterate, to evaluate the loss and, at the end, for W and H. */
#ifndef NMF_BACKEND_H
#define NMF_BACKEND_H

#include "nmf/nmf.h"

/* What the hardware behind a backend can do, measured, for the benchmark
 * harness's "% of ceiling". Zero where a figure does not apply. */
typedef struct {
    double sgemm_gflops; /* fp32 GEMM of sgemm_size² matrices (the BLAS's, on the CPU) */
    int sgemm_size;
    double tf32_gflops;  /* the same GEMM on TF32 tensor cores (GPU) */
    double copy_gbps;    /* copy in memory, bytes read + written per second */
    /* CPU: the multiply-add peak of the kernels a fit runs (every thread
     * running fma_kernels' own vector loop from registers), not the BLAS's:
     * what a misdetected BLAS cannot hide behind. */
    double fma_gflops;
    const char *fma_kernels;
} nmf_ceilings;

typedef struct {
    char name[320];
    char driver[16], runtime[16];
    double memory_gb;
} nmf_device_info;

/* What only the benchmark harness uses, apart from the compute interface. */
typedef struct {
    /* Starts again from W0, H0, keeping V and everything built for it
     * (device buffers, graphs), so that repeated runs time only iterating. */
    nmf_status (*reset)(void *ctx, const float *W0, const float *H0);
    /* Optional: time the work enqueued between them on the backend's own
     * clock (CUDA events on the GPU; NULL: the caller uses CLOCK_MONOTONIC,
     * the work being synchronous). */
    nmf_status (*timer_start)(void *ctx);
    nmf_status (*timer_stop)(void *ctx, double *ms);
    /* Takes seconds: call it once per run. */
    nmf_status (*measure_ceilings)(nmf_ceilings *out);
    /* Optional. */
    void (*device_info)(nmf_device_info *out);
} nmf_bench_hooks;

/* What a fit asks of its backend beyond one process's complete V. */
enum {
    NMF_NEEDS_RANKS = 1u << 0, /* V split over the ranks of a job (nmf_comm) */
    NMF_NEEDS_MASK = 1u << 1   /* missing entries (nmf_problem.mask) */
};

/* The needs of a fit of `problem`. */
static inline unsigned nmf_problem_needs(const nmf_problem *problem)
{
    return (problem->comm && problem->comm->ranks > 1 ? NMF_NEEDS_RANKS : 0u) |
           (problem->mask ? NMF_NEEDS_MASK : 0u);
}

typedef struct nmf_backend {
    const char *name;
    /* What it offers, so that callers need not know backends by name: the
     * device it runs on, a bit (1 << precision) per nmf_precision, and the
     * NMF_NEEDS_* it meets. */
    nmf_device device;
    unsigned precisions;
    unsigned meets;
    /* Optional (NULL: always usable). Returns the number of usable devices;
     * 0 with the reason written into why. Never aborts. */
    int (*device_count)(char *why, size_t why_size);
    /* Optional: one line per device into buf. */
    void (*describe)(char *buf, size_t size);
    /* Optional (NULL: the backend's name): the product kernels its fits run
     * now, by name (the CPU's table, chosen from the CPU's features). */
    const char *(*kernels)(void);
    /* Stages the problem and the start W0 (m, k), H0 (k, n); *ctx receives
     * the backend's state. V is borrowed for the lifetime of ctx. */
    nmf_status (*init)(void **ctx, const nmf_problem *problem,
                       const nmf_params *params, const float *W0, const float *H0);
    /* Runs n <= NMF_HISTORY_EVERY iterations of params->solver (W then H
     * each time). With HALS and tol > 0 it also records each iteration's
     * projected-gradient violation (the sum of both sweeps', for
     * scikit-learn's 'cd' stopping rule) and keeps the factors as they were
     * before the call, so that the driver can evaluate the rule for a whole
     * block after one synchronisation and go back to stop exactly where
     * scikit-learn would. */
    nmf_status (*iterate)(void *ctx, int n);
    /* The violations of the last iterate call's n iterations, in order. */
    nmf_status (*violations)(void *ctx, double *out, int n);
    /* Back to the factors as they were before the last iterate call. */
    nmf_status (*rewind)(void *ctx);
    /* scikit-learn's reconstruction_err_ of the current factors:
     * sqrt(2·D(V || WH)), ||V - WH||_F for beta = 2. */
    nmf_status (*loss)(void *ctx, double *error);
    /* ||V - WH||_F of the current factors whatever the fit's loss (the
     * relative error every run reports); for beta = 2 the same as loss. */
    nmf_status (*frobenius)(void *ctx, double *error);
    /* Copies the current factors out into W (m, k) and H (k, n). */
    nmf_status (*get_factors)(void *ctx, float *W, float *H);
    void (*free)(void *ctx);
    /* For the benchmark harness. */
    const nmf_bench_hooks *bench;
} nmf_backend;

extern const nmf_backend nmf_backend_cpu;

/* Whether a fit runs HALS's stopping rule, so that the driver reads the
 * violations and the backends record them and keep each block's start. */
static inline int nmf_hals_rule_on(const nmf_params *p)
{
    return p->solver == NMF_SOLVER_HALS && p->tol > 0.0 && p->stopping == NMF_STOPPING_SKLEARN;
}

/* Sets the OpenMP and BLAS thread counts of the process (0: leave them).
 * A CPU fit sets params->threads this way for its own duration only. */
void nmf_set_threads(int threads);

/* The backend for `device` that meets `needs` (NMF_NEEDS_*): the CPU, the
 * CUDA backend, or for AUTO the CUDA backend when it is compiled in, sees a
 * device and meets the needs, else the CPU with an nmf_note() saying why;
 * over ranks AUTO is the CPU, unprobed: the ranks of a job must run one
 * backend, whose sums match, so the job agrees on a GPU and asks for it.
 * NMF_STATUS_NO_DEVICE for GPU without a device; NMF_STATUS_BAD_ARGUMENT
 * for GPU when the CUDA backend does not meet the needs. */
nmf_status nmf_backend_select(nmf_device device, unsigned needs, const nmf_backend **out);

/* Whether backend b computes in `precision`; the error names both. */
nmf_status nmf_backend_check_precision(const nmf_backend *b, nmf_precision precision);

#endif
