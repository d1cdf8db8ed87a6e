/* nmf.h - the public API of nmf-faces: non-negative matrix factorisation
 * V ≈ W·H of an image collection.
 *
 * Shapes, defined once for the whole project:
 *   m  number of samples (images), rows of V and of W
 *   n  number of features (pixels per image), columns of V and of H
 *   k  number of components (latent images), columns of W and rows of H
 * Every matrix is dense and row-major, and float32 but for V, which may
 * also be bytes (nmf_problem): V is (m, n), W is (m, k), H is (k, n); row j
 * of H is one latent image.
 *
 * The definitions follow scikit-learn 1.2.1 (sklearn.decomposition.NMF) so
 * that a run here can reproduce a run there from the same start. */
#ifndef NMF_NMF_H
#define NMF_NMF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version, written here alone (CMakeLists.txt reads these lines). */
#define NMF_VERSION_MAJOR 0
#define NMF_VERSION_MINOR 8
#define NMF_VERSION_PATCH 0
#define NMF_VERSION_STR_(x) #x
#define NMF_VERSION_STR(x) NMF_VERSION_STR_(x)
#define NMF_VERSION                                                            \
    NMF_VERSION_STR(NMF_VERSION_MAJOR) "." NMF_VERSION_STR(NMF_VERSION_MINOR) "." \
    NMF_VERSION_STR(NMF_VERSION_PATCH)

typedef enum {
    NMF_STATUS_OK = 0,
    NMF_STATUS_BAD_ARGUMENT, /* a parameter is out of range or inconsistent */
    NMF_STATUS_BAD_INPUT,    /* the data cannot be factorised (no images, all zero, NaN...) */
    NMF_STATUS_IO,           /* a file could not be read or written */
    NMF_STATUS_NO_MEMORY,    /* an allocation failed */
    NMF_STATUS_TOO_LARGE,    /* a size overflows or exceeds the available memory */
    NMF_STATUS_INTERRUPTED,  /* the progress callback asked to stop */
    NMF_STATUS_NO_DEVICE,    /* --device gpu without a usable CUDA device */
    NMF_STATUS_INTERNAL,     /* a bug or a failure of a library we call */
    NMF_STATUS_PEER_FAILED   /* another rank of a distributed fit failed (nmf_comm): it
                                reports why */
} nmf_status;

/* A short English phrase for a status ("bad argument"); never NULL. */
const char *nmf_status_string(nmf_status status);

/* Non-fatal notes from the library (a skipped file...) go to this handler;
 * the default prints "nmf: note: <msg>" to stderr, NULL silences them. */
typedef void (*nmf_note_fn)(const char *msg, void *user);
void nmf_set_note_handler(nmf_note_fn fn, void *user);

/* The message of the last failure in this thread: names the file or
 * parameter and the reason. Empty when nothing has failed. Valid until the
 * next failing call in the same thread. */
const char *nmf_last_error(void);

typedef enum {
    NMF_INIT_RANDOM,   /* |N(0,1)|·sqrt(mean(V)/k), numpy's legacy RandomState */
    NMF_INIT_NNDSVD,   /* NNDSVD, zeros kept */
    NMF_INIT_NNDSVDA,  /* NNDSVD, zeros filled with mean(V) */
    NMF_INIT_NNDSVDAR, /* NNDSVD, zeros filled with small random values */
    NMF_INIT_CUSTOM    /* W and H given by the caller */
} nmf_init_method;

/* The init's name as the command line spells it ("nndsvda"); NULL if unknown. */
const char *nmf_init_name(nmf_init_method init);
/* Parses a name from nmf_init_name(); returns 0 on success, -1 if unknown. */
int nmf_init_parse(const char *name, nmf_init_method *out);

typedef enum {
    NMF_SOLVER_MU,  /* Lee-Seung multiplicative updates, W then H; any beta */
    NMF_SOLVER_HALS /* hierarchical ALS (scikit-learn's 'cd', no shuffle); beta = 2 */
} nmf_solver;

typedef enum {
    NMF_DEVICE_AUTO, /* the GPU when one is usable, else the CPU (saying so) */
    NMF_DEVICE_CPU,
    NMF_DEVICE_GPU   /* a CUDA device, or NMF_STATUS_NO_DEVICE */
} nmf_device;

typedef enum {
    NMF_PRECISION_FP32, /* fp32 everywhere: GPU and CPU compute the same function */
    NMF_PRECISION_TF32  /* GPU GEMMs on TF32 tensor cores (10-bit mantissa inputs) */
} nmf_precision;

/* When a fit with tol > 0 stops (checked every 10 iterations, where the
 * error is evaluated; an error of exactly 0 always stops). */
typedef enum {
    /* The error fell by less than tol times the current error over the last
     * 10 iterations, for every solver: invariant to the scale of V and of
     * the start, so one tol means the same on any data. */
    NMF_STOPPING_RELATIVE,
    /* scikit-learn's: MU, the fall since the last check is below tol times
     * the error at the start; HALS, after every iteration, its projected-
     * gradient violation is at most tol times the first iteration's. */
    NMF_STOPPING_SKLEARN
} nmf_stopping;

/* "relative" / "sklearn"; 0 on success, -1 if unknown. */
const char *nmf_stopping_name(nmf_stopping stopping);
int nmf_stopping_parse(const char *name, nmf_stopping *out);

const char *nmf_solver_name(nmf_solver solver);
/* 0 on success, -1 for an unknown name ("mu", "hals"). */
int nmf_solver_parse(const char *name, nmf_solver *out);
/* The loss's name for a beta: "frobenius" (2), "kullback-leibler" (1),
 * "itakura-saito" (0), "beta" otherwise. */
const char *nmf_loss_name(double beta);

/* A fit shared by several processes (ranks), each holding a contiguous
 * slice of V's rows: nmf-faces implements it over MPI (src/mpi), the
 * library never calls MPI itself. Every rank makes the same calls in the
 * same order (nmf_fit, nmf_initialize and the checks are collective). The
 * sums must give every rank the same bits, in an order that depends only
 * on the number of ranks, so that a fit with the same ranks is
 * reproducible bit for bit. */
typedef struct nmf_comm {
    int rank, ranks;
    size_t row0;       /* this rank's first row of the whole V */
    size_t rows_total; /* rows of the whole V, over every rank */
    /* In place: values[i] becomes the sum over the ranks of their values[i]. */
    void (*sum_floats)(void *user, float *values, size_t count);
    void (*sum_doubles)(void *user, double *values, size_t count);
    /* all (rows_total, width) = every rank's mine (its rows, width), in rank order. */
    void (*gather_rows)(void *user, const double *mine, size_t width, double *all);
    /* The lowest rank that passes failed != 0, or -1 when none does. */
    int (*first_failed)(void *user, int failed);
    void *user;
    /* This rank's number among the ranks on its machine: the GPU backend
     * takes GPU local_rank modulo the GPUs the rank sees (0: the first). */
    int local_rank;
} nmf_comm;

/* Every rank's st, agreed on before the next collective step: st itself
 * with no comm, or when every rank's is OK; else the lowest failing rank
 * keeps its own status and message, and the others return
 * NMF_STATUS_PEER_FAILED, so that the error is reported once (a rank that
 * has NMF_STATUS_PEER_FAILED already keeps it). Collective. */
nmf_status nmf_comm_agree(const nmf_comm *comm, nmf_status st);

/* The data to factorise, borrowed, never modified or freed, in one of two
 * forms: exactly one of V and V8 is non-NULL. 8-bit data (0..255, the
 * usual images) is exact as bytes, in a quarter of float32's memory; the
 * same values give the same factorisation up to the order in which the
 * products are summed. */
typedef struct {
    size_t m, n;
    const float *V;    /* (m, n) row-major, every value finite and >= 0; or NULL */
    const uint8_t *V8; /* (m, n) row-major bytes, when V is NULL */
    /* 0: V is in memory. Else V is a file mapped into memory (too large
     * for the memory budget: nmf-faces --max-memory), and this is the most
     * of it, in bytes, a reader should have touched and not yet released:
     * every pass over V goes a block of rows at a time and hands each back
     * (src/core/stream.h), so that the resident part of V stays about one
     * block. Only for a V mapped shared from a file (MAP_SHARED): on
     * other memory a release would discard the data. */
    size_t stream_block;
    /* NULL: V is the whole matrix. Else it is this rank's slice of rows
     * (m >= 1 of them, from comm->row0) and every call on the problem is
     * collective; W is then this rank's rows of W (m, k). */
    const nmf_comm *comm;
    /* NULL: every entry of V is observed. Else (m, n) bytes, row-major
     * like V: 0 where V's entry is missing, anything else where it is
     * observed. The objective and every error then sum over the observed
     * entries alone, and a missing entry's value is never used (it may be
     * anything, NaN included). Fits with a mask: MU, any beta, on either
     * backend, V in memory (not streamed); the starts fill missing entries
     * first (see nmf_initialize). */
    const uint8_t *mask;
} nmf_problem;

/* Whether entry idx (row-major) of V is observed. */
static inline int nmf_problem_observed(const nmf_problem *p, size_t idx)
{
    return !p->mask || p->mask[idx] != 0;
}

/* Entry idx (row-major) of V as a float, whichever form holds it. */
static inline float nmf_problem_value(const nmf_problem *p, size_t idx)
{
    return p->V ? p->V[idx] : (float)p->V8[idx];
}

/* Rows [i0, i0 + rows) of V as floats into out (rows, n); a streamed V's
 * rows are then handed back. */
void nmf_problem_rows(const nmf_problem *p, size_t i0, size_t rows, float *out);

/* Whether V has a 0, and the first one's index (row-major) into *at. */
int nmf_problem_find_zero(const nmf_problem *p, size_t *at);

/* The bytes an element of V takes: 4, or 1 for V8. */
static inline size_t nmf_problem_element_size(const nmf_problem *p)
{
    return p->V ? sizeof(float) : 1;
}

/* Reported to the progress callback at iteration 0 (the init), every 10
 * iterations, and after the last iteration. */
typedef struct {
    int iteration;       /* iterations done so far */
    int max_iter;
    double error;        /* reconstruction error after `iteration` iterations */
    double elapsed_s;    /* seconds since the fit started (init excluded) */
} nmf_progress;

/* Returns 0 to go on, non-zero to stop the fit (nmf_fit then returns
 * NMF_STATUS_INTERRUPTED with W and H as of the last iteration). */
typedef int (*nmf_progress_fn)(const nmf_progress *progress, void *user);

struct nmf_result;
/* Called every params->checkpoint_every iterations with the run's state
 * (everything nmf_fit_resume needs) and the current W, H. A failure stops
 * the fit with that status. */
typedef nmf_status (*nmf_checkpoint_fn)(const struct nmf_result *state, const float *W,
                                        const float *H, void *user);

typedef struct {
    int k;                  /* components, >= 1 (default 20) */
    int max_iter;           /* >= 1 (default 1000, a safety net: tol stops a fit first) */
    double tol;             /* >= 0; 0 runs every iteration (default 1e-3) */
    nmf_stopping stopping;  /* how tol is read (default NMF_STOPPING_RELATIVE) */
    uint32_t seed;          /* for random and nndsvdar inits (default 42) */
    nmf_init_method init;   /* default NMF_INIT_NNDSVD */
    nmf_solver solver;      /* default NMF_SOLVER_HALS */
    /* HALS: sweeps over W, then over H, per iteration, each reusing the
     * iteration's products (V Hᵀ, H Hᵀ; Wᵀ V, Wᵀ W), which cost far more than
     * a sweep: the accelerated HALS of Gillis and Glineur (2012). Default 4
     * and 2; 1 and 1 is scikit-learn's cd. 1..64. */
    int sweeps_W, sweeps_H;
    double beta;            /* the beta-divergence: 2 Frobenius (default), 1 KL, 0 IS */
    double alpha_W;         /* regularisation of W, >= 0 (default 0) */
    double alpha_H;         /* of H, >= 0; negative means "same as alpha_W" (default -1) */
    double l1_ratio;        /* in [0, 1]: the L1 share of the regularisation (default 0) */
    int threads;            /* OpenMP and BLAS threads of a CPU fit, the process's own
                               given back after it; 0 = the process's as they are */
    nmf_device device;      /* default NMF_DEVICE_AUTO */
    nmf_precision precision; /* default NMF_PRECISION_FP32 */
    nmf_progress_fn progress; /* optional, may be NULL */
    void *progress_user;
    int checkpoint_every;   /* iterations between checkpoint calls; 0: none */
    nmf_checkpoint_fn checkpoint; /* optional, may be NULL */
    void *checkpoint_user;
    int fixed_H;            /* 1: H stays as given and only W is updated (what
                               nmf_transform sets; default 0) */
} nmf_params;

#define NMF_MAX_SWEEPS 64 /* sweeps_W and sweeps_H at most */

/* Fills p with the defaults listed above: chosen by measurement for a good
 * result in about the time scikit-learn's default fit takes (README, "Which
 * solver"). */
void nmf_params_default(nmf_params *p);

/* Fills p with scikit-learn's NMF() defaults and semantics instead: solver
 * HALS ('cd': one sweep of W and of H per iteration), init nndsvda, tol
 * 1e-4, max_iter 200, NMF_STOPPING_SKLEARN
 * (k stays 20: scikit-learn's None means every feature). */
void nmf_params_sklearn(nmf_params *p);

/* Checks p against the problem (k against min(m, n) for the NNDSVD inits,
 * ranges of every field) without doing any work. Returns NMF_STATUS_OK or
 * NMF_STATUS_BAD_ARGUMENT with nmf_last_error() naming the parameter. */
nmf_status nmf_params_check(const nmf_problem *problem, const nmf_params *p);

/* Writes a description of the compiled-in backends and the visible CUDA
 * devices (or why there are none) into buf, one line each. */
void nmf_devices_describe(char *buf, size_t size);

/* Parses "auto", "cpu", "gpu" / "fp32", "tf32"; 0 on success, -1 if unknown. */
int nmf_device_parse(const char *name, nmf_device *out);
const char *nmf_device_name(nmf_device device);
int nmf_precision_parse(const char *name, nmf_precision *out);
const char *nmf_precision_name(nmf_precision precision);

/* Checks V: finite, non-negative, not all zero (its observed entries, with
 * a mask). */
nmf_status nmf_problem_check(const nmf_problem *problem);

/* Computes the initial W (m, k) and H (k, n) for p->init (not CUSTOM) into
 * caller-owned arrays. Deterministic for a given seed and thread count.
 * With a mask, the NNDSVD family starts from V with each missing entry set
 * to the mean of its column's observed entries (of all observed entries,
 * for a column with none), the random init scales by the observed mean. */
nmf_status nmf_initialize(const nmf_problem *problem, const nmf_params *p,
                          float *W, float *H);

#define NMF_HISTORY_EVERY 10 /* the loss is evaluated every 10 iterations, as in scikit-learn */

typedef struct nmf_result {
    int iterations;          /* iterations run (in all, for a resumed run) */
    int converged;           /* 1 when the tolerance rule stopped the run */
    double error_at_init;    /* the error of W0, H0 */
    double reconstruction_err; /* at the end: scikit-learn's reconstruction_err_,
                                * sqrt(2·D(V || WH)), ||V - WH||_F for beta = 2 */
    double frobenius_err;    /* ||V - WH||_F at the end, whatever the loss (for beta = 2
                              * reconstruction_err itself) */
    double norm_V;           /* ||V||_F; frobenius_err / norm_V is the relative error */
    int history_len;         /* entries in the two arrays below */
    int *history_iter;       /* iteration 0, every 10th, and the last (owned) */
    double *history_err;     /* error at those iterations (owned) */
    double *history_s;       /* seconds since the fit started at those iterations (owned) */
    double fit_s;            /* seconds spent iterating, staging included (in all) */
    double previous_error;   /* the MU rule's last checked error (for resuming) */
    double violation_at_1;   /* the HALS rule's first violation (for resuming) */
    const char *device;      /* the backend that ran: "cpu" or "cuda" (static) */
    const char *kernels;     /* its product kernels (static): on the CPU "avx512",
                              * "avx2", "generic" or "blas", chosen from the CPU's
                              * features or by NMF_CPU_KERNELS; "cuda" on the GPU */
    const char *stop_rule;   /* what ended the run (static): "max_iter", "mu tolerance"
                              * (error decrease), "hals tolerance" (projected
                              * gradient), or "interrupted" */
} nmf_result;

/* Runs the factorisation from the start in W (m, k) and H (k, n), which the
 * caller fills (nmf_initialize() or its own values, all >= 0) and which hold
 * the result on return. result is filled on success and on
 * NMF_STATUS_INTERRUPTED; free it with nmf_result_free(). */
nmf_status nmf_fit(const nmf_problem *problem, const nmf_params *p,
                   float *W, float *H, nmf_result *result);

/* Continues a run from a state an earlier nmf_fit reported (through its
 * checkpoint callback or on NMF_STATUS_INTERRUPTED) with W, H as it left
 * them; p must be the earlier run's parameters (max_iter may be larger).
 * On the CPU with the same threads the result is bitwise the one an
 * uninterrupted run gives. */
nmf_status nmf_fit_resume(const nmf_problem *problem, const nmf_params *p, float *W, float *H,
                          const nmf_result *from, nmf_result *result);

void nmf_result_free(nmf_result *result);

/* Encodes the m images of problem with fixed components H (k, n), as
 * scikit-learn's NMF.transform does: W (m, k) >= 0 minimising p's loss
 * plus its W regularisation, H unchanged. p gives k, the solver, sweeps,
 * beta, alpha_W and l1_ratio (scaled by n as in a fit), tol, max_iter, the
 * device, precision and threads; the stopping rule is the relative one
 * whatever p->stopping says (scikit-learn's HALS rule is defined for a
 * whole fit), p->init is ignored and W starts as scikit-learn's transform
 * starts it (mu: every entry sqrt(mean(V) / k); hals: zeros). result as for
 * nmf_fit (reconstruction_err is the encoding's); free it with
 * nmf_result_free(). One process's rows: a problem with a comm is refused. */
nmf_status nmf_transform(const nmf_problem *problem, const nmf_params *p, const float *H,
                         float *W, nmf_result *result);

/* The regularisation terms scikit-learn adds, scaled as it scales them:
 * l1_W = n·alpha_W·l1_ratio, l2_W = n·alpha_W·(1 - l1_ratio), and for H
 * with m and alpha_H (alpha_W when alpha_H < 0). */
typedef struct {
    double l1_W, l2_W, l1_H, l2_H;
} nmf_regularization;
nmf_regularization nmf_regularization_of(const nmf_problem *problem, const nmf_params *p);

#ifdef __cplusplus
}
#endif

#endif /* NMF_NMF_H */
