/* backend_compare.c - see backend_compare.h. */
#include "backend_compare.h"

#include "backend.h"
#include "clock.h"
#include "dataset.h"
#include "oracle.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* V (m, n) and the start W0 (m, k), H0 (k, n). With V8, the fits get V
 * as bytes (nmf_problem's V8) and V holds the same whole values as floats,
 * for the float64 checks. With a mask (0 = missing), every fit and check
 * is over the observed entries. */
typedef struct {
    const char *name;
    size_t m, n, k;
    float *V, *W0, *H0;
    uint8_t *V8;   /* or NULL */
    uint8_t *mask; /* or NULL */
} compare_fixture;

/* A solver and objective; with `transform`, nmf_transform with the
 * fixture's H0 fixed (and scikit-learn's start of W) instead of a fit. */
typedef struct {
    const char *name;
    nmf_solver solver;
    double beta, alpha_W, l1_ratio;
    int transform;
} compare_config;

/* How closely the tested side must follow the reference, per precision
 * and solver: the values and the reasons for them below. */
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

/* One case of the comparison: a fixture, the configs to run on it (all,
 * or the one named), the run lengths after the first iteration, and
 * whether the tested side runs at TF32. */
typedef struct {
    const char *fixture;
    const char *config; /* NULL: every config */
    int lengths[3];     /* 0-terminated */
    int tf32;
} compare_case;

#define SENTINELS 16
static const float SENTINEL = -12345.0f;

/* The tolerances. A correct backend differs from the CPU only in how its
 * GEMMs round (another blocking, order and partial sums; cuBLAS on a GPU),
 * so each bound is set from what such a difference does to the quantity
 * checked, about 7 to 10 times the worst seen when test_gpu_tolerances runs
 * the CPU against its double-accumulating and chunked-fp32 SGEMMs (the
 * figures in brackets, from docs/BENCHMARKS.md).
 *   MU, per element: x·(num/den) carries the products' relative error
 *     (~1e-6) into the factor unamplified; 1e-5 absolute for entries near 0
 *     [0.014 of the bound]. As a whole [4.9e-7]: 1e-5.
 *   HALS, per element, relative to the matrix's largest entry: each step
 *     computes x - (Σ G·x - P)/G_tt, a difference of terms the size of the
 *     large entries, so a last-bit change in the products moves a small
 *     entry by a large fraction of itself (0.4557 against 0.4543) but not
 *     by much against max|x| [1.45e-4 at k = 128, where a step sums the
 *     most terms]: 1e-3. As a whole [1.15e-4, k = 128]: 1e-3.
 *   Errors after N iterations, each side's through
 *     reconstruction_error_f64() of its own factors for beta = 2 (a direct
 *     float64 sum) and its direct divergence otherwise: the loss is flat at
 *     the factors the runs reach, so their difference moves it little. MU
 *     [2.5e-7]: 1e-5; HALS, whose sweeps amplify differences as above
 *     [2.5e-5]: 2e-4.
 *   A side's own reported error: ||V||² - 2<WᵀV, H> + <WᵀW, HHᵀ> from fp32
 *     products holds e² to a few fp32 roundings of ||V||², so e to about
 *     that·||V||²/(2e): far from 1e-5 of e when ||V||/e is large (~78 on the
 *     faces, where the CPU itself misses 1e-5 of e64 by a factor of 5). The
 *     bound is 1e-5 of e64 plus 4e-7·||V||²/e64 [the CPU's own error: 0.64
 *     of 1e-7·||V||²/e64 on the face-like data with its black image].
 * TF32 rounds the GEMMs' inputs to 10 mantissa bits (2^-11 ≈ 4.9e-4
 * relative each), so the factors drift by more than any tight per-element
 * bound and only their whole is checked [1.5e-3 after 1 iteration]: 2e-2;
 * the errors from the factors stay close [1.2e-5]: 1e-3; the reported
 * error is computed from TF32 products too, off by up to ~4 TF32 roundings
 * of ||V||² [0.77% of e on the faces, 0.17 of the bound]: 2e-3·||V||²/e64. */
static const compare_tolerance compare_fp32 = {
    .name = "fp32",
    .mu = {.atol = 1e-5, .rtol = 1e-4, .max_rtol = INFINITY, .norm_rtol = 1e-5, .loss_rtol = 1e-5},
    .hals = {.atol = INFINITY, .rtol = INFINITY, .max_rtol = 1e-3, .norm_rtol = 1e-3,
             .loss_rtol = 2e-4},
    .own_rtol = 1e-5,
    .own_scale = 4e-7,
};

static const compare_tolerance compare_tf32 = {
    .name = "tf32",
    .mu = {.atol = INFINITY, .rtol = INFINITY, .max_rtol = INFINITY, .norm_rtol = 2e-2,
           .loss_rtol = 1e-3},
    .hals = {.atol = INFINITY, .rtol = INFINITY, .max_rtol = INFINITY, .norm_rtol = 2e-2,
             .loss_rtol = 1e-3},
    .own_rtol = 1e-5,
    .own_scale = 2e-3,
};

static const compare_config compare_configs[] = {
    {"mu frobenius", NMF_SOLVER_MU, 2.0, 0.0, 0.0, 0},
    {"mu frobenius regularised", NMF_SOLVER_MU, 2.0, 0.01, 0.5, 0},
    {"mu kullback-leibler", NMF_SOLVER_MU, 1.0, 0.0, 0.0, 0},
    {"mu beta 1.5", NMF_SOLVER_MU, 1.5, 0.0, 0.0, 0},
    {"hals", NMF_SOLVER_HALS, 2.0, 0.0, 0.0, 0},
    {"hals regularised", NMF_SOLVER_HALS, 2.0, 0.01, 0.5, 0},
    /* Only where a case names them: */
    {"mu transform", NMF_SOLVER_MU, 2.0, 0.0, 0.0, 1},
    {"mu kullback-leibler transform", NMF_SOLVER_MU, 1.0, 0.0, 0.0, 1},
    {"hals transform", NMF_SOLVER_HALS, 2.0, 0.01, 0.5, 1},
};
static const size_t compare_config_count = sizeof compare_configs / sizeof *compare_configs;

/* The cases. Beside every config on shapes no block size divides (k = 1
 * included) and the tool's default on the faces for as long as the tool
 * runs: HALS at k = 128, whose k² floats of shared memory need the GPU's
 * opt-in limit; KL over more than the 4096 blocks × 256 threads the
 * element-wise kernels launch, so their grid-stride loops loop; and TF32.
 * Then transform (H fixed), colour rows (3 values a pixel, interleaved,
 * as a --colour run has them), and V as bytes: every config, then the
 * products that read V (Frobenius MU and HALS) on more than the 16M
 * floats of the GPU's scratch, which it widens in two blocks of rows.
 * Last, missing entries (a mask; MU only, as HALS refuses them): the
 * weighted updates for each loss, regularised, H fixed, and over bytes. */
static const compare_case compare_cases[] = {
    {"random, k = 1", NULL, {100, 25}, 0},
    {"random, odd sizes", NULL, {100, 25}, 0},
    {"random, faces' k", NULL, {100, 25}, 0},
    {"face-like, nndsvda start", NULL, {100, 25}, 0},
    {"bundled faces", "mu frobenius", {100, 25, 200}, 0},
    {"random, k = 128", "hals", {25}, 0},
    {"random, over 1M elements", "mu kullback-leibler", {25}, 0},
    {"bundled faces", "mu frobenius", {100}, 1},
    {"random, faces' k", "hals", {100}, 1},
    {"random, faces' k", "mu transform", {100, 25}, 0},
    {"random, odd sizes", "mu kullback-leibler transform", {25}, 0},
    {"face-like, nndsvda start", "hals transform", {100, 25}, 0},
    {"face-like colour, nndsvda start", "mu frobenius", {100, 25}, 0},
    {"face-like colour, nndsvda start", "hals", {100, 25}, 0},
    {"face-like bytes, nndsvda start", NULL, {100, 25}, 0},
    /* Two of the GPU's blocks of widened bytes from the first iteration;
     * 5 iterations, as the CPU's stand-in SGEMMs take minutes at this size. */
    {"random bytes, over 16M elements", "mu frobenius", {5}, 0},
    {"random bytes, over 16M elements", "hals", {5}, 0},
    {"face-like masked, nndsvda start", "mu frobenius", {100, 25}, 0},
    {"face-like masked, nndsvda start", "mu frobenius regularised", {100, 25}, 0},
    {"face-like masked, nndsvda start", "mu kullback-leibler", {100, 25}, 0},
    {"face-like masked, nndsvda start", "mu beta 1.5", {100, 25}, 0},
    {"face-like masked, nndsvda start", "mu transform", {100, 25}, 0},
    {"face-like masked bytes, nndsvda start", "mu frobenius", {100, 25}, 0},
    {"face-like masked bytes, nndsvda start", "mu kullback-leibler", {100, 25}, 0},
};
static const size_t compare_case_count = sizeof compare_cases / sizeof *compare_cases;

/* --- fixtures ------------------------------------------------------------ */

static void fixture_alloc(compare_fixture *f, const char *name, size_t m, size_t n, size_t k)
{
    *f = (compare_fixture){name, m, n, k, calloc(m * n, sizeof(float)),
                           malloc(m * k * sizeof(float)), malloc(k * n * sizeof(float)), NULL,
                           NULL};
}

/* Rounds V to whole values (0..255 for the fixtures here) and keeps them
 * as bytes too, for the fits. */
static void fixture_to_bytes(compare_fixture *f)
{
    f->V8 = malloc(f->m * f->n);
    for (size_t i = 0; i < f->m * f->n; i++) {
        f->V[i] = roundf(f->V[i]);
        f->V8[i] = (uint8_t)f->V[i];
    }
}

/* The problem the fits get: V as bytes when the fixture has them. */
static nmf_problem fixture_problem(const compare_fixture *f)
{
    return (nmf_problem){f->m, f->n, f->V8 ? NULL : f->V, f->V8, 0, NULL, f->mask};
}

/* V as floats, for the float64 checks. */
static nmf_problem fixture_float_problem(const compare_fixture *f)
{
    return (nmf_problem){f->m, f->n, f->V, NULL, 0, NULL, f->mask};
}

/* Hides a block of each image but the first (side/4 square, its place
 * moving from image to image), its values set to 255 there: a fit that
 * read a missing value would move. */
static void fixture_hide_blocks(compare_fixture *f, size_t side)
{
    const size_t block = side / 4;
    f->mask = malloc(f->m * f->n);
    memset(f->mask, 1, f->m * f->n);
    for (size_t i = 1; i < f->m; i++) {
        const size_t x0 = i * 7 % (side - block), y0 = i * 5 % (side - block);
        for (size_t y = y0; y < y0 + block; y++)
            for (size_t x = x0; x < x0 + block; x++) {
                f->mask[i * f->n + y * side + x] = 0;
                f->V[i * f->n + y * side + x] = 255.0f;
                if (f->V8)
                    f->V8[i * f->n + y * side + x] = 255;
            }
    }
}

static int nndsvda_start(compare_fixture *f)
{
    nmf_problem problem = fixture_float_problem(f);
    nmf_params p;
    nmf_params_default(&p);
    p.k = (int)f->k;
    if (nmf_initialize(&problem, &p, f->W0, f->H0) != NMF_STATUS_OK) {
        fprintf(stderr, "%s: init failed: %s\n", f->name, nmf_last_error());
        return -1;
    }
    return 0;
}

static void compare_fixture_random(compare_fixture *f, const char *name, size_t m, size_t n, size_t k,
                            uint32_t seed)
{
    nmf_rng rng;
    nmf_rng_seed(&rng, seed);
    fixture_alloc(f, name, m, n, k);
    for (size_t i = 0; i < m * n; i++)
        f->V[i] = (float)(255.0 * nmf_rng_double(&rng));
    for (size_t i = 0; i < m * k; i++)
        f->W0[i] = (float)nmf_rng_double(&rng);
    for (size_t i = 0; i < k * n; i++)
        f->H0[i] = (float)nmf_rng_double(&rng);
}

/* Blobs of light that move and widen from image to image, channels
 * values a pixel (interleaved; each channel its own width); image 0 black.
 * With `bytes`, rounded and given to the fits as bytes; with `masked`
 * (grey only), a block of each image missing (fixture_hide_blocks). */
static int compare_fixture_face_like(compare_fixture *f, const char *name, size_t m, size_t side,
                                     size_t channels, size_t k, int bytes, int masked)
{
    size_t n = side * side * channels;
    fixture_alloc(f, name, m, n, k);
    for (size_t i = 1; i < m; i++)
        for (size_t y = 0; y < side; y++)
            for (size_t x = 0; x < side; x++)
                for (size_t c = 0; c < channels; c++) {
                    double cx = side / 2.0 + (double)(i % 5) - 2;
                    double cy = side / 2.0 + (double)(i % 3) - 1;
                    double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                    f->V[i * n + (y * side + x) * channels + c] =
                        (float)(220.0 * exp(-d2 / (side + (double)i + 3.0 * (double)c)));
                }
    if (bytes)
        fixture_to_bytes(f);
    if (masked)
        fixture_hide_blocks(f, side);
    return nndsvda_start(f);
}

static int compare_fixture_faces(compare_fixture *f, size_t k)
{
    const char *inputs[1] = {NMF_BUNDLED_DATA};
    dataset_options opt;
    dataset_options_default(&opt);
    opt.storage = DATASET_STORAGE_FLOAT32; /* float V here; bytes have cases of their own */
    dataset d;
    if (dataset_load(inputs, 1, &opt, &d) != NMF_STATUS_OK) {
        fprintf(stderr, "cannot load the faces: %s\n", nmf_last_error());
        return -1;
    }
    fixture_alloc(f, "bundled faces", d.m, d.n, k);
    memcpy(f->V, d.V, d.m * d.n * sizeof(float));
    dataset_free(&d);
    return nndsvda_start(f);
}

static void compare_fixture_free(compare_fixture *f)
{
    free(f->V);
    free(f->W0);
    free(f->H0);
    free(f->V8);
    free(f->mask);
    memset(f, 0, sizeof *f);
}

/* The fixture a case names; 0 on success. */
static int fixture_make(compare_fixture *f, const char *name)
{
    if (!strcmp(name, "random, k = 1"))
        compare_fixture_random(f, name, 37, 53, 1, 1);
    else if (!strcmp(name, "random, odd sizes"))
        compare_fixture_random(f, name, 101, 1001, 7, 2);
    else if (!strcmp(name, "random, faces' k"))
        compare_fixture_random(f, name, 257, 3001, 20, 3);
    else if (!strcmp(name, "random, k = 128"))
        compare_fixture_random(f, name, 300, 700, 128, 4);
    else if (!strcmp(name, "random, over 1M elements"))
        compare_fixture_random(f, name, 1031, 1033, 8, 5);
    else if (!strcmp(name, "face-like, nndsvda start"))
        return compare_fixture_face_like(f, name, 60, 37, 1, 9, 0, 0);
    else if (!strcmp(name, "face-like colour, nndsvda start"))
        return compare_fixture_face_like(f, name, 60, 23, 3, 9, 0, 0);
    else if (!strcmp(name, "face-like bytes, nndsvda start"))
        return compare_fixture_face_like(f, name, 60, 37, 1, 9, 1, 0);
    else if (!strcmp(name, "face-like masked, nndsvda start"))
        return compare_fixture_face_like(f, name, 60, 37, 1, 9, 0, 1);
    else if (!strcmp(name, "face-like masked bytes, nndsvda start"))
        return compare_fixture_face_like(f, name, 60, 37, 1, 9, 1, 1);
    else if (!strcmp(name, "random bytes, over 16M elements")) {
        compare_fixture_random(f, name, 1100, 16384, 4, 6);
        fixture_to_bytes(f);
    } else if (!strcmp(name, "bundled faces"))
        return compare_fixture_faces(f, 20);
    else
        return -1;
    return 0;
}

/* --- one side's run ------------------------------------------------------ */

typedef struct {
    float *W, *H; /* with SENTINELS floats past the end */
    double error; /* the backend's reported error; NAN when the fit failed */
} side_run;

/* nmf_fit of p on `side` (its device, precision and hooks), or with
 * `transform` nmf_transform with H fixed; a failure printed with the
 * side's name. */
static nmf_status side_fit(const compare_side *side, const nmf_problem *problem, nmf_params p,
                           int transform, float *W, float *H, nmf_result *r)
{
    p.device = side->device;
    p.precision = side->precision;
    if (side->enter)
        side->enter(side->variant);
    nmf_status st = transform ? nmf_transform(problem, &p, H, W, r) : nmf_fit(problem, &p, W, H, r);
    if (side->leave)
        side->leave();
    if (st != NMF_STATUS_OK)
        fprintf(stderr, "  FAILED: nmf_fit on %s: %s\n", side->name, nmf_last_error());
    return st;
}

/* Runs `iterations` of cfg from the fixture's start on `side`; counts a
 * failed fit or an overwritten sentinel into *failures. */
static void run_side(const compare_fixture *f, const compare_config *cfg, const compare_side *side,
                     int iterations, side_run *out, int *failures)
{
    memcpy(out->W, f->W0, f->m * f->k * sizeof(float));
    memcpy(out->H, f->H0, f->k * f->n * sizeof(float));
    for (int s = 0; s < SENTINELS; s++)
        out->W[f->m * f->k + s] = out->H[f->k * f->n + s] = SENTINEL;
    nmf_problem problem = fixture_problem(f);
    nmf_params p;
    nmf_params_default(&p);
    p.k = (int)f->k;
    p.max_iter = iterations;
    p.tol = 0;
    p.solver = cfg->solver;
    p.beta = cfg->beta;
    p.alpha_W = cfg->alpha_W;
    p.l1_ratio = cfg->l1_ratio;
    nmf_result r;
    out->error = NAN;
    if (side_fit(side, &problem, p, cfg->transform, out->W, out->H, &r) != NMF_STATUS_OK) {
        ++*failures;
        return;
    }
    out->error = r.reconstruction_err;
    nmf_result_free(&r);
    for (int s = 0; s < SENTINELS; s++)
        if (out->W[f->m * f->k + s] != SENTINEL || out->H[f->k * f->n + s] != SENTINEL) {
            fprintf(stderr, "  FAILED: %s wrote past the end of W or H\n", side->name);
            ++*failures;
            return;
        }
}

/* --- the checks ---------------------------------------------------------- */

/* Reports a failed check (and counts it) or a passed one, with what was
 * measured against what was allowed. */
static void verdict(int *failures, int ok, const char *what, const char *measured)
{
    printf("    %-4s %s: %s\n", ok ? "ok" : "FAIL", what, measured);
    if (!ok) {
        fprintf(stderr, "  FAILED: %s: %s\n", what, measured);
        ++*failures;
    }
}

/* Tested factor t against the reference r after one iteration: each
 * element-wise bound that is finite, then the whole. */
static void check_factor(const char *name, const float *t, const float *r, size_t len,
                         const compare_bounds *b, int *failures)
{
    double max_r = 0.0, diff_sq = 0.0, ref_sq = 0.0;
    int finite = 1;
    for (size_t i = 0; i < len; i++) {
        max_r = fmax(max_r, fabs((double)r[i]));
        double d = (double)t[i] - (double)r[i];
        diff_sq += d * d;
        ref_sq += (double)r[i] * r[i];
        finite &= isfinite(t[i]);
    }
    char what[96], measured[160];
    const double bounds[2][2] = {{b->atol, b->rtol}, {b->max_rtol * max_r, 0.0}};
    const char *const forms[2] = {"|t - r| <= atol + rtol·|r|", "|t - r| <= rtol·max|r|"};
    for (int form = 0; form < 2; form++) {
        const double atol = bounds[form][0], rtol = bounds[form][1];
        if (!isfinite(atol) || !isfinite(rtol))
            continue;
        size_t bad = 0, worst = 0;
        double worst_ratio = 0.0;
        for (size_t i = 0; i < len; i++) {
            double allowed = atol + rtol * fabs((double)r[i]);
            double ratio = isfinite(t[i]) ? fabs((double)t[i] - r[i]) / allowed : INFINITY;
            bad += !(ratio <= 1.0);
            if (!(ratio <= worst_ratio)) {
                worst_ratio = ratio;
                worst = i;
            }
        }
        snprintf(what, sizeof what, "%s element-wise (%s)", name, forms[form]);
        snprintf(measured, sizeof measured,
                 "%zu of %zu off; worst [%zu] %.9g against %.9g, %.3g of its bound", bad, len,
                 worst, (double)t[worst], (double)r[worst], worst_ratio);
        verdict(failures, bad == 0, what, measured);
    }
    double rel = ref_sq > 0.0 ? sqrt(diff_sq / ref_sq) : sqrt(diff_sq);
    snprintf(what, sizeof what, "%s ||t - r|| / ||r||", name);
    snprintf(measured, sizeof measured, "%.3g (at most %.3g)", rel, b->norm_rtol);
    verdict(failures, finite && rel <= b->norm_rtol, what, measured);
}

/* A side's reported error against e64, the float64 error of its factors. */
static void check_own_error(const char *side, double e, double e64, double norm_V_sq,
                            const compare_tolerance *tol, int *failures)
{
    char what[96], measured[160];
    double allowed = tol->own_rtol * e64 + tol->own_scale * norm_V_sq / e64;
    snprintf(what, sizeof what, "%s's own error against float64 from its factors", side);
    snprintf(measured, sizeof measured, "%.10g against %.10g: |diff| %.3g (at most %.3g)", e, e64,
             fabs(e - e64), allowed);
    verdict(failures, isfinite(e) && fabs(e - e64) <= allowed, what, measured);
}

/* Runs cfg on both sides from the fixture's start: the factors after one
 * iteration, then the errors after each of `lengths` iterations. Returns
 * the number of failed checks. */
static int compare_backends(const compare_fixture *f, const compare_config *cfg,
                     const compare_side *reference, const compare_side *tested,
                     const compare_tolerance *tol, const int *lengths, size_t length_count)
{
    int failures = 0;
    const double t0 = nmf_clock_s();
    const size_t wl = f->m * f->k + SENTINELS, hl = f->k * f->n + SENTINELS;
    side_run r = {malloc(wl * sizeof(float)), malloc(hl * sizeof(float)), NAN};
    side_run t = {malloc(wl * sizeof(float)), malloc(hl * sizeof(float)), NAN};
    printf("%s, %s: m %zu, n %zu, k %zu; %s against %s (%s tolerances)\n", f->name, cfg->name,
           f->m, f->n, f->k, tested->name, reference->name, tol->name);

    printf("  1 iteration:\n");
    run_side(f, cfg, reference, 1, &r, &failures);
    run_side(f, cfg, tested, 1, &t, &failures);
    const compare_bounds *b = cfg->solver == NMF_SOLVER_HALS ? &tol->hals : &tol->mu;
    int fit_failed = failures; /* a failed fit leaves nothing to compare */
    if (!fit_failed) {
        check_factor("W", t.W, r.W, f->m * f->k, b, &failures);
        check_factor("H", t.H, r.H, f->k * f->n, b, &failures);
    }

    const nmf_problem problem = fixture_float_problem(f);
    double norm_V_sq = 0.0;
    for (size_t i = 0; i < f->m * f->n; i++)
        if (nmf_problem_observed(&problem, i))
            norm_V_sq += (double)f->V[i] * f->V[i];
    for (size_t i = 0; i < length_count && !fit_failed; i++) {
        printf("  %d iterations:\n", lengths[i]);
        int before = failures;
        run_side(f, cfg, reference, lengths[i], &r, &failures);
        run_side(f, cfg, tested, lengths[i], &t, &failures);
        if ((fit_failed = failures > before))
            break;
        double er = r.error, et = t.error;
        if (cfg->beta == 2.0) {
            er = reconstruction_error_f64(&problem, r.W, r.H, f->k);
            et = reconstruction_error_f64(&problem, t.W, t.H, f->k);
            check_own_error(reference->name, r.error, er, norm_V_sq, tol, &failures);
            check_own_error(tested->name, t.error, et, norm_V_sq, tol, &failures);
        }
        char measured[160];
        double rel = fabs(et - er) / er;
        snprintf(measured, sizeof measured, "%.10g against %.10g: %.3g (at most %.3g)", et, er,
                 rel, b->loss_rtol);
        verdict(&failures, isfinite(et) && rel <= b->loss_rtol,
                cfg->beta == 2.0 ? "errors from the factors, relative difference"
                                 : "reported errors, relative difference",
                measured);
    }
    printf("  %d failed, %.1f s\n", failures, nmf_clock_s() - t0);
    free(r.W), free(r.H), free(t.W), free(t.H);
    return failures;
}

compare_summary compare_all_cases(const compare_side *reference, const compare_side *fp32,
                                  const compare_side *tf32)
{
    compare_summary sum = {0, 0, 0};
    for (size_t c = 0; c < compare_case_count; c++) {
        const compare_case *cs = &compare_cases[c];
        const compare_side *tested = cs->tf32 ? tf32 : fp32;
        if (!tested)
            continue;
        compare_fixture f;
        if (fixture_make(&f, cs->fixture) != 0) {
            fprintf(stderr, "FAILED: fixture %s could not be made\n", cs->fixture);
            sum.comparisons++, sum.failed++, sum.checks_failed++;
            continue;
        }
        int lengths = 0;
        while (lengths < 3 && cs->lengths[lengths] > 0)
            lengths++;
        for (size_t i = 0; i < compare_config_count; i++) {
            const compare_config *cfg = &compare_configs[i];
            if (cs->config ? strcmp(cs->config, cfg->name) != 0 : cfg->transform)
                continue;
            if (tested->frobenius_only && (cfg->beta != 2.0 || f.mask))
                continue;
            int failed = compare_backends(&f, cfg, reference, tested,
                                          cs->tf32 ? &compare_tf32 : &compare_fp32, cs->lengths,
                                          (size_t)lengths);
            sum.comparisons++;
            sum.failed += failed > 0;
            sum.checks_failed += failed;
        }
        compare_fixture_free(&f);
    }
    return sum;
}

/* --- the stopping rule ----------------------------------------------------- */

#define STOP_ITERATIONS 40

/* HALS with the stopping rule at tol, for the fixture. */
static nmf_params stopping_params(const compare_fixture *f, double tol)
{
    nmf_params p;
    nmf_params_default(&p);
    p.k = (int)f->k;
    p.solver = NMF_SOLVER_HALS;
    p.stopping = NMF_STOPPING_SKLEARN; /* the violation rule is what is compared */
    p.tol = tol;
    p.max_iter = STOP_ITERATIONS;
    return p;
}

int compare_violation_ratios(const nmf_problem *problem, const nmf_params *p, const float *W0,
                             const float *H0, int count, double *ratio)
{
    void *ctx = NULL;
    if (nmf_backend_cpu.init(&ctx, problem, p, W0, H0) != NMF_STATUS_OK)
        return -1;
    double first = 0.0;
    for (int i = 0; i < count; i++) {
        double v;
        if (nmf_backend_cpu.iterate(ctx, 1) != NMF_STATUS_OK ||
            nmf_backend_cpu.violations(ctx, &v, 1) != NMF_STATUS_OK) {
            nmf_backend_cpu.free(ctx);
            return -1;
        }
        first = i == 0 ? v : first;
        ratio[i] = v / first;
    }
    nmf_backend_cpu.free(ctx);
    return 0;
}

int compare_stopping(const compare_side *reference, const compare_side *tested)
{
    int failures = 0;
    compare_fixture f;
    compare_fixture_random(&f, "random, faces' k", 257, 3001, 20, 3);
    printf("%s, hals with its stopping rule: %s against %s\n", f.name, tested->name,
           reference->name);
    double ratio[STOP_ITERATIONS];
    const nmf_problem problem = {f.m, f.n, f.V, NULL, 0, NULL, NULL};
    const nmf_params ratio_params = stopping_params(&f, 1.0);
    if (compare_violation_ratios(&problem, &ratio_params, f.W0, f.H0, STOP_ITERATIONS, ratio) != 0) {
        fprintf(stderr, "  FAILED: the violations could not be computed: %s\n", nmf_last_error());
        compare_fixture_free(&f);
        return 1;
    }
    /* A tolerance halfway (geometrically) between the ratios of iterations
     * j - 1 and j, where j is the first to go below it: a rounding
     * difference cannot move the stop to another iteration. */
    static const int targets[] = {13, 20};
    const size_t wl = f.m * f.k, hl = f.k * f.n;
    float *W[2] = {malloc(wl * sizeof(float)), malloc(wl * sizeof(float))};
    float *H[2] = {malloc(hl * sizeof(float)), malloc(hl * sizeof(float))};
    for (size_t t = 0; t < sizeof targets / sizeof *targets; t++) {
        int j = targets[t];
        double above = INFINITY;
        for (int i = 0; i < j - 1; i++)
            above = fmin(above, ratio[i]);
        char what[96], measured[200];
        snprintf(what, sizeof what, "stopping at iteration %d", j);
        if (!(ratio[j - 1] < above)) {
            snprintf(measured, sizeof measured, "the violation at %d (%.4g) is not below all "
                     "before it (%.4g): no tolerance stops there", j, ratio[j - 1], above);
            verdict(&failures, 0, what, measured);
            continue;
        }
        double tol = sqrt(ratio[j - 1] * above);
        const compare_side *sides[2] = {reference, tested};
        int iterations[2] = {0, 0}, converged[2] = {0, 0};
        double error[2] = {NAN, NAN};
        for (int s = 0; s < 2; s++) {
            memcpy(W[s], f.W0, wl * sizeof(float));
            memcpy(H[s], f.H0, hl * sizeof(float));
            nmf_result r;
            if (side_fit(sides[s], &problem, stopping_params(&f, tol), 0, W[s], H[s], &r) !=
                NMF_STATUS_OK) {
                failures++;
                continue;
            }
            iterations[s] = r.iterations;
            converged[s] = r.converged;
            error[s] = reconstruction_error_f64(&problem, W[s], H[s], f.k);
            nmf_result_free(&r);
        }
        snprintf(measured, sizeof measured,
                 "tol %.6g: %s stopped at %d%s, %s at %d%s; errors %.10g and %.10g", tol,
                 reference->name, iterations[0], converged[0] ? "" : " (not converged)",
                 tested->name, iterations[1], converged[1] ? "" : " (not converged)", error[0],
                 error[1]);
        verdict(&failures,
                iterations[0] == j && iterations[1] == j && converged[0] && converged[1] &&
                    fabs(error[1] - error[0]) <= compare_fp32.hals.loss_rtol * error[0],
                what, measured);
    }
    free(W[0]), free(W[1]), free(H[0]), free(H[1]);
    compare_fixture_free(&f);
    return failures;
}
