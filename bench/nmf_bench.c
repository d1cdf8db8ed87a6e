/* nmf_bench.c - nmf-bench, the benchmark harness: ms per iteration of
 * nmf-faces on the CPU and the GPU, at the bundled faces and a ladder of
 * synthetic sizes, read against ceilings the harness measures itself.
 *
 * What one iteration costs (../shared/REFERENCE.md, "Counting work"), for
 * Frobenius MU with the small-product form:
 *   flops = 4mnk            WᵀV and VHᵀ
 *         + 4k²(m + n)      WᵀW, HHᵀ, (WᵀW)H, W(HHᵀ)
 *         + 6(m + n)k       the element-wise updates
 *   bytes = mn              V, 8-bit as every case here is, read once as
 *                           bytes (the fewest possible, as the CPU's
 *                           one-pass schedule does)
 *         + 32(m + n)k      W, H, the products and the denominators, each
 *                           read or written about 8 times in all
 * HALS (--solvers hals) does the same two big products and the two Grams,
 * then sweeps each factor against a Gram: 4mnk + 4k²(m + n) flops, the same
 * bytes. The loss every 10 iterations (2k²n + 2kn + 2k² flops) is timed, as
 * in a real fit, but not counted.
 *
 * Timing: each repeat starts again from the same W0, H0 (backend reset, V
 * and any CUDA Graph kept), runs `iters` iterations in the driver's chunks
 * of 10 with a loss read after each chunk, and is timed with CUDA events on
 * the GPU and CLOCK_MONOTONIC on the CPU, after one warm-up run. With
 * --stream the CPU also runs on a copy of V in a file mapped from disk and
 * read in blocks (nmf_problem's stream_block; row cpu-disk), its repeats
 * taken in turns with the in-memory run's. */
#define _POSIX_C_SOURCE 200809L
#include "backend.h"
#include "clock.h"
#include "dataset.h"
#include "error.h"
#include "init.h"
#include "mapped_file.h"
#include "npy.h"
#include "fsutil.h"
#include "settings.h"
#include "size_text.h"
#include "strbuf.h"
#include "stream.h"

#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef NMF_BUNDLED_DATA
#define NMF_BUNDLED_DATA "data/orl_faces"
#endif

#define MAX_CASES 64
#define MAX_K 8
#define MAX_SOLVERS 2
#define MAX_REPEAT 100
/* Above this many flops for a whole CPU case (warm-up and repeats), the
 * default ladder leaves the case to the GPU: under a minute at 40 GFLOP/s,
 * what 2 cores of the build machine reach. */
#define CPU_CASE_BUDGET_FLOP 2e12

enum { DEV_CPU, DEV_GPU, DEV_COUNT };
static const char *const device_names[DEV_COUNT] = {"cpu", "gpu"};

typedef struct {
    int run;             /* 1 when measured, 0 when skipped */
    char skipped[256];
    double median_ms, min_ms, transfer_ms, loss;
} result;

typedef struct {
    char name[64];
    int faces;           /* the bundled faces, else synthetic */
    size_t m, n, k;
    nmf_solver solver;
    int mu_case;         /* a HALS case: the index of its MU twin, or -1 */
    result res[DEV_COUNT];
    result disk;         /* --stream: the CPU on V streamed from a file */
} bench_case;

typedef struct {
    int devices[DEV_COUNT];
    int iters, repeats, threads, quick, no_ceilings;
    nmf_precision precision;
    const char *json_path, *export_dir;
    const char *case_list, *k_list, *solver_list;
    const char *stream_dir; /* --stream: where the mapped copy of V goes, or NULL */
    size_t stream_block;
} options;

static double case_flops(const bench_case *c)
{
    double m = (double)c->m, n = (double)c->n, k = (double)c->k;
    if (c->solver == NMF_SOLVER_HALS)
        return 4 * m * n * k + 4 * k * k * (m + n);
    return 4 * m * n * k + 4 * k * k * (m + n) + 6 * (m + n) * k;
}

static double case_bytes(const bench_case *c)
{
    double m = (double)c->m, n = (double)c->n, k = (double)c->k;
    return m * n + 32 * (m + n) * k;
}

/* A uniform double in [0, 1) from (seed, i): splitmix64, so that synthetic
 * data of any size is generated in parallel and reproducibly. */
static double hash_uniform(uint64_t seed, uint64_t i)
{
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + i + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

/* V (m, n) = A (m, 16) · B (16, n) + noise: non-negative, low-rank plus
 * 10% noise, rounded to 8-bit pixel values (0..255) and held as bytes, as
 * the tool holds images; made in blocks of rows through a float block. */
static uint8_t *synthetic_V(size_t m, size_t n, uint64_t seed)
{
    const size_t r = 16, rows = 256;
    uint8_t *V = malloc(m * n);
    float *A = malloc(m * r * sizeof *A), *B = malloc(r * n * sizeof *B);
    float *block = malloc(rows * n * sizeof *block);
    if (!V || !A || !B || !block) {
        free(V), free(A), free(B), free(block);
        return NULL;
    }
    for (size_t i = 0; i < m * r; i++)
        A[i] = (float)hash_uniform(seed, i);
    for (size_t i = 0; i < r * n; i++)
        B[i] = (float)(2.0 * hash_uniform(seed + 1, i));
    for (size_t i0 = 0; i0 < m; i0 += rows) {
        const size_t b = m - i0 < rows ? m - i0 : rows;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)n, (int)r, 8.0f,
                    A + i0 * r, (int)r, B, (int)n, 0.0f, block, (int)n);
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < b * n; i++)
            V[i0 * n + i] = (uint8_t)fminf(
                255.0f, rintf(block[i] + (float)(25.0 * hash_uniform(seed + 2, i0 * n + i))));
    }
    free(A);
    free(B);
    free(block);
    return V;
}

/* Runs `iters` iterations as nmf_fit does: chunks of 10, a loss after each. */
static nmf_status run_chunks(const nmf_backend *b, void *ctx, int iters, double *loss)
{
    nmf_status st = NMF_STATUS_OK;
    for (int done = 0; done < iters && st == NMF_STATUS_OK;) {
        int step = iters - done < NMF_HISTORY_EVERY ? iters - done : NMF_HISTORY_EVERY;
        if ((st = b->iterate(ctx, step)) == NMF_STATUS_OK)
            st = b->loss(ctx, loss);
        done += step;
    }
    return st;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double now_ms(void)
{
    return 1e3 * nmf_clock_s();
}

/* One timed repeat from W0, H0: ms per iteration into *ms. */
static nmf_status timed_run(const nmf_backend *b, void *ctx, const float *W0, const float *H0,
                            int iters, double *ms, double *loss)
{
    nmf_status st;
    if ((st = b->bench->reset(ctx, W0, H0)) != NMF_STATUS_OK)
        return st;
    double start = now_ms();
    if (b->bench->timer_start && (st = b->bench->timer_start(ctx)) != NMF_STATUS_OK)
        return st;
    if ((st = run_chunks(b, ctx, iters, loss)) != NMF_STATUS_OK)
        return st;
    if (b->bench->timer_stop) {
        if ((st = b->bench->timer_stop(ctx, ms)) != NMF_STATUS_OK)
            return st;
    } else {
        *ms = now_ms() - start;
    }
    *ms /= iters;
    return NMF_STATUS_OK;
}

/* Keeps a failure's reason in r as a skip, before a later failure
 * replaces nmf_last_error(); returns whether st is a failure. */
static int kept_failure(nmf_status st, result *r)
{
    if (st != NMF_STATUS_OK)
        snprintf(r->skipped, sizeof r->skipped, "%s", nmf_last_error());
    return st != NMF_STATUS_OK;
}

/* Measures one case on one backend from each of n (1 or 2) problems, the
 * same V held in different ways, into r[0..n): each staged and warmed up,
 * then their repeats taken in turns, so that the machine's noise falls on
 * all alike. A failure skips that problem alone, with the reason (a GPU
 * without room for V is a result, not an error). */
static void measure(const nmf_backend *b, const nmf_problem *problems, int n, const nmf_params *p,
                    const float *W0, const float *H0, int iters, int repeats, result *const *r)
{
    void *ctx[2] = {NULL, NULL};
    double ms[2][MAX_REPEAT];
    int ok[2] = {0, 0};
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        if (kept_failure(b->init(&ctx[i], &problems[i], p, W0, H0), r[i]))
            continue;
        r[i]->transfer_ms = now_ms() - t0;
        ok[i] = !kept_failure(run_chunks(b, ctx[i], iters, &r[i]->loss), r[i]); /* warm-up */
    }
    for (int rep = 0; rep < repeats; rep++)
        for (int i = 0; i < n; i++)
            ok[i] = ok[i] && !kept_failure(timed_run(b, ctx[i], W0, H0, iters, &ms[i][rep],
                                                     &r[i]->loss), r[i]);
    for (int i = 0; i < n; i++) {
        if (ok[i]) {
            qsort(ms[i], (size_t)repeats, sizeof *ms[i], compare_double);
            r[i]->run = 1;
            r[i]->min_ms = ms[i][0];
            r[i]->median_ms = repeats % 2 ? ms[i][repeats / 2]
                                          : 0.5 * (ms[i][repeats / 2 - 1] + ms[i][repeats / 2]);
        }
        if (ctx[i])
            b->free(ctx[i]);
    }
}

/* The relative tolerance GPU and CPU losses must meet: fp32 both ways
 * computes the same function; TF32 rounds GEMM inputs to 10 bits. */
static double agreement_tolerance(nmf_precision precision)
{
    return precision == NMF_PRECISION_FP32 ? 1e-4 : 1e-2;
}

static int losses_agree(const bench_case *c, nmf_precision precision)
{
    const result *cpu = &c->res[DEV_CPU], *gpu = &c->res[DEV_GPU];
    return fabs(gpu->loss - cpu->loss) <= agreement_tolerance(precision) * cpu->loss;
}

/* Streaming changes where V is read from, not a sum's order: the same bits. */
static int stream_agrees(const bench_case *c)
{
    return c->disk.loss == c->res[DEV_CPU].loss;
}

/* Copies V into a new file mapped from dir, as *streamed: read back in
 * blocks of `block` bytes. The file, just written, is in the page cache;
 * written back to disk first, so that no writeback runs under the timing,
 * and handed back, so that the fits read it as a stream from the start. */
static nmf_status stream_copy(const nmf_problem *problem, const char *dir, size_t block,
                              nmf_problem *streamed, void **map)
{
    const size_t bytes = problem->m * problem->n * nmf_problem_element_size(problem);
    nmf_status st = mapped_file_create(dir, bytes, map);
    if (st != NMF_STATUS_OK)
        return st;
    memcpy(*map, problem->V ? (const void *)problem->V : (const void *)problem->V8, bytes);
    if ((st = mapped_file_sync(*map, bytes, dir)) != NMF_STATUS_OK)
        return st;
    *streamed = (nmf_problem){problem->m, problem->n, problem->V ? *map : NULL,
                              problem->V ? NULL : *map, block, NULL, NULL};
    nmf_problem_release(streamed, 0, problem->m * problem->n);
    return NMF_STATUS_OK;
}

static nmf_status export_case(const char *dir, const bench_case *c, const nmf_problem *problem,
                              const float *W0, const float *H0)
{
    char path[4096];
    nmf_status st = NMF_STATUS_OK;
    snprintf(path, sizeof path, "%s/%.63s", dir, c->name);
    if ((st = fs_make_dirs(path)) != NMF_STATUS_OK)
        return st;
    float *V = malloc(c->m * c->n * sizeof *V); /* .npy as float32 for the peers */
    if (!V)
        return nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory for V as floats", c->name);
    nmf_problem_rows(problem, 0, c->m, V);
    const struct { const char *file; const float *data; size_t rows, cols; } arrays[] = {
        {"V.npy", V, c->m, c->n}, {"W0.npy", W0, c->m, c->k}, {"H0.npy", H0, c->k, c->n}};
    for (size_t i = 0; i < 3 && st == NMF_STATUS_OK; i++) {
        snprintf(path, sizeof path, "%s/%.63s/%s", dir, c->name, arrays[i].file);
        st = npy_write_f32(path, arrays[i].data, arrays[i].rows, arrays[i].cols);
    }
    free(V);
    return st;
}

/* Loads or makes V, draws W0, H0 (scikit-learn's init='random', seed 42) and
 * measures the case on every selected backend. */
static nmf_status run_case(bench_case *c, const options *o, const nmf_backend *const *backends)
{
    dataset d = {0};
    uint8_t *V8 = NULL;
    float *W0 = NULL, *H0 = NULL;
    void *map = NULL;
    nmf_problem problem, problems[2];
    nmf_status st = NMF_STATUS_OK;
    if (c->faces) {
        const char *inputs[1] = {NMF_BUNDLED_DATA};
        dataset_options dopt;
        dataset_options_default(&dopt);
        if ((st = dataset_load(inputs, 1, &dopt, &d)) != NMF_STATUS_OK)
            return st;
        c->m = d.m;
        c->n = d.n;
        problem = dataset_problem(&d);
    } else if ((V8 = synthetic_V(c->m, c->n, 1234))) {
        problem = (nmf_problem){c->m, c->n, NULL, V8, 0, NULL, NULL};
    } else {
        return nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory for V", c->name);
    }
    W0 = malloc(c->m * c->k * sizeof *W0);
    H0 = malloc(c->k * c->n * sizeof *H0);
    if (!W0 || !H0) {
        st = nmf_error(NMF_STATUS_NO_MEMORY, "%s: out of memory for W0, H0", c->name);
        goto cleanup;
    }
    if ((st = nmf_init_random(&problem, (int)c->k, 42, W0, H0)) != NMF_STATUS_OK)
        goto cleanup;
    if (o->export_dir && (st = export_case(o->export_dir, c, &problem, W0, H0)) != NMF_STATUS_OK)
        goto cleanup;

    nmf_params p;
    nmf_params_default(&p);
    p.k = (int)c->k;
    p.solver = c->solver;
    p.threads = o->threads;
    for (int dev = 0; dev < DEV_COUNT; dev++) {
        result *r = &c->res[dev];
        if (dev == DEV_CPU && r->skipped[0]) /* over the CPU budget: not streamed either */
            snprintf(c->disk.skipped, sizeof c->disk.skipped, "%s", r->skipped);
        if (!o->devices[dev] || r->skipped[0])
            continue;
        if (!backends[dev]) {
            snprintf(r->skipped, sizeof r->skipped, "no CUDA device");
            continue;
        }
        p.precision = dev == DEV_GPU ? o->precision : NMF_PRECISION_FP32;
        result *rs[2] = {r, &c->disk};
        problems[0] = problem;
        int n = 1;
        if (dev == DEV_CPU && o->stream_dir) {
            if ((st = stream_copy(&problem, o->stream_dir, o->stream_block, &problems[1], &map)) !=
                NMF_STATUS_OK)
                goto cleanup;
            n = 2;
        }
        fprintf(stderr, "  %s on the %s%s...\n", c->name, device_names[dev],
                n == 2 ? ", from memory and streamed from disk in turns" : "");
        measure(backends[dev], problems, n, &p, W0, H0, o->iters, o->repeats, rs);
    }
cleanup:
    mapped_file_free(map, problem.m * problem.n * nmf_problem_element_size(&problem));
    dataset_free(&d);
    free(V8);
    free(W0);
    free(H0);
    return st;
}

/* --- the case list ------------------------------------------------------ */

/* Splits a comma-separated list into items; -1 on an empty or too long
 * item, or more than max items. */
static int parse_list(const char *s, char items[][32], int max)
{
    int count = 0;
    while (s && *s && count < max) {
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= 32)
            return -1;
        memcpy(items[count], s, len);
        items[count++][len] = '\0';
        s += len + (s[len] == ',');
    }
    return s && *s ? -1 : count;
}

static int parse_size_t(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno || v == 0 || v > (1ull << 31) - 1 || *s == '-')
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Builds the cases: each name in case_list ("faces" or "MxN") with each k
 * (faces default to k 20 and 64, synthetic sizes to 16, 64 and 128) and
 * each solver (default mu); a HALS case's name ends in "-hals". */
static int make_cases(const options *o, bench_case *cases, int *count)
{
    static const char quick_cases[] = "faces,1000x1000";
    static const char ladder[] = "faces,1000x1000,4000x4000,16384x4096,65536x4096,200000x4096";
    char names[MAX_CASES][32], ks[MAX_K][32], solver_names[MAX_SOLVERS][32];
    int n_names = parse_list(o->case_list ? o->case_list : o->quick ? quick_cases : ladder,
                             names, MAX_CASES);
    int n_k = o->k_list ? parse_list(o->k_list, ks, MAX_K) : 0;
    int n_solvers = parse_list(o->solver_list ? o->solver_list : "mu", solver_names,
                               MAX_SOLVERS);
    nmf_solver solvers[MAX_SOLVERS];
    if (n_names <= 0 || n_k < 0 || n_solvers <= 0)
        return -1;
    for (int s = 0; s < n_solvers; s++)
        if (nmf_solver_parse(solver_names[s], &solvers[s]) || (s > 0 && solvers[s] == solvers[0]))
            return -1;
    *count = 0;
    for (int i = 0; i < n_names; i++) {
        bench_case base = {0};
        base.faces = !strcmp(names[i], "faces");
        char *x = strchr(names[i], 'x');
        if (!base.faces) {
            if (!x)
                return -1;
            *x = '\0';
            if (parse_size_t(names[i], &base.m) || parse_size_t(x + 1, &base.n))
                return -1;
            *x = 'x';
        }
        static const char *const faces_k[] = {"20", "64"}, *const synth_k[] = {"16", "64", "128"};
        int n_default = base.faces ? (o->quick ? 1 : 2) : (o->quick ? 1 : 3);
        for (int j = 0; j < (n_k ? n_k : n_default); j++) {
            const char *kstr = n_k ? ks[j] : base.faces ? faces_k[j] : synth_k[j];
            if (parse_size_t(kstr, &base.k))
                return -1;
            const int first = *count;
            int mu_case = -1;
            for (int s = 0; s < n_solvers; s++) {
                if (*count >= MAX_CASES)
                    return -1;
                if (solvers[s] == NMF_SOLVER_MU)
                    mu_case = *count;
                bench_case *c = &cases[(*count)++];
                *c = base;
                c->solver = solvers[s];
                snprintf(c->name, sizeof c->name, "%s-k%zu%s", names[i], base.k,
                         c->solver == NMF_SOLVER_MU ? "" : "-hals");
            }
            for (int c = first; c < *count; c++)
                cases[c].mu_case = cases[c].solver == NMF_SOLVER_HALS ? mu_case : -1;
        }
    }
    return 0;
}

/* --- output ------------------------------------------------------------- */

static void cpu_model(char *buf, size_t size)
{
    snprintf(buf, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && colon) {
            snprintf(buf, size, "%s", colon + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
}

typedef struct {
    int have[DEV_COUNT];
    nmf_ceilings ceil[DEV_COUNT];
    nmf_device_info gpu;
    char cpu[256];
    int threads;
} machine;

/* The fraction of the binding ceiling, max(flops/peak, bytes/bandwidth)
 * over the time taken: the larger of the flop rate against the peak (on
 * the CPU the FMA peak of the kernels in use, measured by their own loop;
 * on the GPU its GEMM) and the byte rate against copy bandwidth. */
static double pct_of_ceiling(const machine *mc, int dev, nmf_precision precision, double gflops,
                             double gbps, const char **which)
{
    const nmf_ceilings *c = &mc->ceil[dev];
    double gemm = dev == DEV_GPU ? (precision == NMF_PRECISION_TF32 ? c->tf32_gflops : c->sgemm_gflops)
                                 : c->fma_gflops;
    double pf = gemm > 0 ? 100 * gflops / gemm : NAN, pb = c->copy_gbps > 0 ? 100 * gbps / c->copy_gbps : NAN;
    int by_bytes = isfinite(pb) && (!isfinite(pf) || pb > pf);
    *which = by_bytes ? (dev == DEV_GPU ? "gpu copy bandwidth" : "copy bandwidth")
                      : (dev == DEV_GPU ? (precision == NMF_PRECISION_TF32 ? "gpu tf32 gemm" : "gpu sgemm")
                                        : "cpu fma peak");
    return by_bytes ? pb : pf;
}

/* One row of the table: r, case c on a device whose ceilings are dev's;
 * ref, the run its loss is checked against (NULL: none), agree whether it
 * passed, and then the speedup is ref's time over r's. Returns whether r
 * ran and failed the check. */
static int print_row(const bench_case *c, const char *device, int dev, const result *r,
                     const result *ref, int agree, const machine *mc, const options *o)
{
    const int width = o->stream_dir ? 8 : 6; /* "cpu-disk" */
    if (!r->run) {
        printf("%-22s %*s skipped: %s\n", c->name, width, device, r->skipped);
        return 0;
    }
    double gflops = case_flops(c) / r->median_ms / 1e6, gbps = case_bytes(c) / r->median_ms / 1e6;
    const char *which;
    double pct = pct_of_ceiling(mc, dev, o->precision, gflops, gbps, &which);
    char speedup[16] = "-";
    if (ref && agree)
        snprintf(speedup, sizeof speedup, dev == DEV_GPU ? "%.1fx" : "%.2fx",
                 ref->median_ms / r->median_ms);
    printf("%-22s %*s %10.3f %10.3f %9.1f %8.1f %10.1f%% %11.1f %14.6g %7s %8s\n", c->name,
           width, device, r->median_ms, r->min_ms, gflops, gbps, pct, r->transfer_ms, r->loss,
           ref ? (agree ? "yes" : "NO") : "-", speedup);
    return ref && !agree;
}

static void print_table(const bench_case *cases, int count, const machine *mc, const options *o)
{
    printf("\n%-22s %*s %10s %10s %9s %8s %11s %11s %14s %7s %8s\n", "case",
           o->stream_dir ? 8 : 6, "device", "ms/iter", "min ms", "GFLOP/s", "GB/s", "% ceiling",
           "transfer ms", "loss", "agrees", "speedup");
    for (int i = 0; i < count; i++) {
        const bench_case *c = &cases[i];
        const result *cpu = c->res[DEV_CPU].run ? &c->res[DEV_CPU] : NULL;
        for (int dev = 0; dev < DEV_COUNT; dev++) {
            const result *ref = dev == DEV_GPU ? cpu : NULL;
            if (o->devices[dev] && print_row(c, device_names[dev], dev, &c->res[dev], ref,
                                             ref && losses_agree(c, o->precision), mc, o))
                printf("FAIL: %s: GPU loss %.9g vs CPU %.9g differ by more than %g relative\n",
                       c->name, c->res[dev].loss, cpu->loss, agreement_tolerance(o->precision));
        }
        if (o->stream_dir && o->devices[DEV_CPU] &&
            print_row(c, "cpu-disk", DEV_CPU, &c->disk, cpu, cpu && stream_agrees(c), mc, o))
            printf("FAIL: %s: streamed loss %.17g vs in memory %.17g, not the same bits\n",
                   c->name, c->disk.loss, cpu->loss);
    }
}

/* Issue 15's target: an iteration on V streamed from the page cache at
 * most 1.2x one on V in memory. */
#define STREAM_TARGET_RATIO 1.2

static void print_stream_ratios(const bench_case *cases, int count)
{
    for (int i = 0; i < count; i++) {
        const bench_case *c = &cases[i];
        const result *mem = &c->res[DEV_CPU], *disk = &c->disk;
        if (!mem->run || !disk->run)
            continue;
        double ratio = disk->median_ms / mem->median_ms;
        printf("target: streamed <= %.1fx in memory: %s %.2fx (%.3f vs %.3f ms): %s\n",
               STREAM_TARGET_RATIO, c->name, ratio, disk->median_ms, mem->median_ms,
               !stream_agrees(c) ? "not counted, the streamed loss differs from the in-memory one"
               : ratio > STREAM_TARGET_RATIO ? "missed" : "met");
    }
}

/* A HALS iteration against an MU iteration of the same case and device,
 * with issue 5's target for the GPU: a HALS iteration at most 1.5x an MU
 * iteration. */
#define HALS_TARGET_RATIO 1.5

static void print_solver_ratios(const bench_case *cases, int count, const options *o)
{
    for (int i = 0; i < count; i++) {
        const bench_case *h = &cases[i];
        if (h->mu_case < 0)
            continue;
        const bench_case *mu = &cases[h->mu_case];
        for (int dev = 0; dev < DEV_COUNT; dev++) {
            if (!o->devices[dev] || !h->res[dev].run || !mu->res[dev].run)
                continue;
            double ratio = h->res[dev].median_ms / mu->res[dev].median_ms;
            if (dev == DEV_CPU) {
                printf("HALS/MU per iteration on the cpu: %s %.2fx (%.3f vs %.3f ms)\n", h->name,
                       ratio, h->res[dev].median_ms, mu->res[dev].median_ms);
                continue;
            }
            /* A time counts only for a GPU that computes what the CPU does. */
            int checked = h->res[DEV_CPU].run && mu->res[DEV_CPU].run;
            int agree = checked && losses_agree(h, o->precision) && losses_agree(mu, o->precision);
            printf("target: HALS iteration <= %.1fx MU on the GPU: %s %.2fx (%.3f vs %.3f ms): "
                   "%s\n", HALS_TARGET_RATIO, h->name, ratio, h->res[dev].median_ms,
                   mu->res[dev].median_ms,
                   checked && !agree ? "not counted, the GPU loss differs from the CPU's"
                   : ratio > HALS_TARGET_RATIO ? "MISSED"
                   : checked ? "met" : "met (losses not checked: no CPU run)");
        }
    }
}

static void json_ceiling(strbuf *sb, const machine *mc, int dev)
{
    const nmf_ceilings *c = &mc->ceil[dev];
    if (!mc->have[dev]) {
        sb_printf(sb, "null");
        return;
    }
    sb_printf(sb, "{\"sgemm_gflops\": ");
    sb_number(sb, c->sgemm_gflops);
    sb_printf(sb, ", \"sgemm_size\": %d", c->sgemm_size);
    if (dev == DEV_CPU) {
        sb_printf(sb, ", \"fma_gflops\": ");
        sb_number(sb, c->fma_gflops);
        sb_printf(sb, ", \"fma_kernels\": ");
        if (c->fma_kernels)
            sb_string(sb, c->fma_kernels);
        else
            sb_printf(sb, "null");
        sb_printf(sb, ", \"copy_gbps\": ");
        sb_number(sb, c->copy_gbps);
    }
    if (dev == DEV_GPU) {
        sb_printf(sb, ", \"tf32_gflops\": ");
        sb_number(sb, c->tf32_gflops);
        sb_printf(sb, ", \"d2d_gbps\": ");
        sb_number(sb, c->copy_gbps);
    }
    sb_printf(sb, "}");
}

/* One result object, as print_row's row; stream_block > 0 for a streamed
 * run, which also gives its time against ref's (the in-memory run's). */
static void json_result(strbuf *sb, int first, const bench_case *c, const char *device, int dev,
                        const result *r, const result *ref, int agree, size_t stream_block,
                        const machine *mc, const options *o)
{
    nmf_precision prec = dev == DEV_GPU ? o->precision : NMF_PRECISION_FP32;
    sb_printf(sb, "%s\n      {\"impl\": \"nmf-faces\", \"device\": \"%s\", \"precision\": \"%s\", ",
              first ? "" : ",", device, nmf_precision_name(prec));
    if (stream_block)
        sb_printf(sb, "\"stream_block_bytes\": %zu, ", stream_block);
    if (!r->run) {
        sb_printf(sb, "\"skipped\": ");
        sb_string(sb, r->skipped);
        sb_printf(sb, "}");
        return;
    }
    double gflops = case_flops(c) / r->median_ms / 1e6, gbps = case_bytes(c) / r->median_ms / 1e6;
    const char *which;
    double pct = pct_of_ceiling(mc, dev, o->precision, gflops, gbps, &which);
    sb_printf(sb, "\"ms_per_iter_median\": ");
    sb_number(sb, r->median_ms);
    sb_printf(sb, ", \"ms_per_iter_min\": ");
    sb_number(sb, r->min_ms);
    sb_printf(sb, ", \"transfer_ms\": ");
    sb_number(sb, r->transfer_ms);
    sb_printf(sb, ",\n       \"gflops\": ");
    sb_number(sb, gflops);
    sb_printf(sb, ", \"gbps\": ");
    sb_number(sb, gbps);
    sb_printf(sb, ", \"pct_of_ceiling\": ");
    sb_number(sb, pct);
    sb_printf(sb, ", \"ceiling\": \"%s\", \"loss\": ", which);
    sb_number(sb, r->loss);
    sb_printf(sb, ", \"loss_agrees\": %s, \"speedup_vs_cpu\": ",
              ref ? (agree ? "true" : "false") : "null");
    sb_number(sb, agree ? ref->median_ms / r->median_ms : NAN);
    if (stream_block) {
        sb_printf(sb, ", \"vs_memory\": ");
        sb_number(sb, agree ? r->median_ms / ref->median_ms : NAN);
    }
    sb_printf(sb, ", \"skipped\": null}");
}

static nmf_status write_json(const char *path, const bench_case *cases, int count,
                             const machine *mc, const options *o, const char *command)
{
    strbuf sb;
    if (strbuf_init(&sb))
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for %s", path);
    char date[32];
    time_t t = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    sb_printf(&sb, "{\n  \"tool\": \"nmf-bench\", \"version\": \"%s\", \"date\": \"%s\",\n  \"command\": ",
              NMF_VERSION, date);
    sb_string(&sb, command);
    sb_printf(&sb, ",\n  \"machine\": {\"cpu_model\": ");
    sb_string(&sb, mc->cpu);
    sb_printf(&sb, ", \"cpu_threads\": %d, \"blas\": ", mc->threads);
    sb_string(&sb, openblas_get_config());
    sb_printf(&sb, ", \"blas_core\": ");
    sb_string(&sb, openblas_get_corename());
    sb_printf(&sb, ", \"kernels\": \"%s\"", nmf_backend_cpu.kernels());
    sb_printf(&sb, ",\n              \"gpu\": ");
    if (mc->have[DEV_GPU]) {
        sb_printf(&sb, "{\"name\": ");
        sb_string(&sb, mc->gpu.name);
        sb_printf(&sb, ", \"driver\": \"%s\", \"cuda_runtime\": \"%s\", \"memory_gb\": %.1f}",
                  mc->gpu.driver, mc->gpu.runtime, mc->gpu.memory_gb);
    } else {
        sb_printf(&sb, "null");
    }
    sb_printf(&sb, ", \"precision\": \"%s\"},\n  \"ceilings\": {\"cpu\": ",
              nmf_precision_name(o->precision));
    json_ceiling(&sb, mc, DEV_CPU);
    sb_printf(&sb, ", \"gpu\": ");
    json_ceiling(&sb, mc, DEV_GPU);
    sb_printf(&sb, "},\n  \"cases\": [");
    for (int i = 0; i < count; i++) {
        const bench_case *c = &cases[i];
        sb_printf(&sb, "%s\n    {\"name\": \"%s\", \"source\": \"%s\", \"m\": %zu, \"n\": %zu, "
                       "\"k\": %zu, \"solver\": \"%s\", \"seed\": 42, \"iters\": %d, "
                       "\"repeats\": %d,\n     \"flops_per_iter\": %.6g, \"bytes_per_iter\": %.6g, "
                       "\"data_dir\": ",
                  i ? "," : "", c->name, c->faces ? "faces" : "synthetic", c->m, c->n, c->k,
                  nmf_solver_name(c->solver), o->iters, o->repeats, case_flops(c), case_bytes(c));
        if (o->export_dir) {
            char dir[4096];
            snprintf(dir, sizeof dir, "%s/%.63s", o->export_dir, c->name);
            sb_string(&sb, dir);
        } else {
            sb_printf(&sb, "null");
        }
        sb_printf(&sb, ",\n     \"results\": [");
        int first = 1;
        const result *cpu = c->res[DEV_CPU].run ? &c->res[DEV_CPU] : NULL;
        for (int dev = 0; dev < DEV_COUNT; dev++) {
            const result *ref = dev == DEV_GPU ? cpu : NULL;
            if (!o->devices[dev])
                continue;
            json_result(&sb, first, c, device_names[dev], dev, &c->res[dev], ref,
                        ref && losses_agree(c, o->precision), 0, mc, o);
            first = 0;
        }
        if (o->stream_dir && o->devices[DEV_CPU])
            json_result(&sb, first, c, "cpu-disk", DEV_CPU, &c->disk, cpu,
                        cpu && stream_agrees(c), o->stream_block, mc, o);
        sb_printf(&sb, "]}");
    }
    sb_printf(&sb, "\n  ]\n}\n");
    nmf_status st = sb.failed ? nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for %s", path)
                              : NMF_STATUS_OK;
    if (st == NMF_STATUS_OK) {
        atomic_file f;
        if ((st = atomic_file_open(&f, path)) == NMF_STATUS_OK) {
            fwrite(sb.buf, 1, sb.len, f.fp);
            st = atomic_file_commit(&f);
        }
    }
    free(sb.buf);
    return st;
}

/* --- main --------------------------------------------------------------- */

static void usage(FILE *out)
{
    fprintf(out,
"usage: nmf-bench [options]\n"
"Times nmf-faces per iteration on the CPU and the GPU from the same start,\n"
"against ceilings it measures itself, and checks that the devices agree.\n"
"\n"
"  --quick           faces k=20 and 1000x1000 k=16, 20 iterations, 3 repeats\n"
"  --cases LIST      comma-separated: faces, MxN (default: faces, 1000x1000,\n"
"                    4000x4000, 16384x4096, 65536x4096, 200000x4096)\n"
"  --k LIST          components (default: 20,64 for faces; 16,64,128 otherwise)\n"
"  --solvers LIST    mu, hals or mu,hals: each case with each solver, and the\n"
"                    HALS/MU time per iteration where both ran (default mu)\n"
"  --devices LIST    cpu, gpu or cpu,gpu (default: both, gpu when present)\n"
"  --iters N         iterations per timed run (default 50)\n"
"  --repeat R        timed runs, after one warm-up (default 5)\n"
"  --threads N       CPU threads (default: all)\n"
"  --precision P     GPU precision: fp32 or tf32 (default fp32)\n"
"  --json FILE       write the results as JSON\n"
"  --export DIR      write each case's V, W0, H0 as .npy under DIR/CASE (for\n"
"                    bench/peers/run_peers.py)\n"
"  --no-ceilings     skip measuring the ceilings (%% of ceiling: null), for\n"
"                    many short runs (bench/peers/alternate.py)\n"
"  --stream DIR      also time the CPU on V streamed from a file in DIR (row\n"
"                    cpu-disk), in turns with V in memory: the same loss, and\n"
"                    its time against the in-memory one's (from the page cache)\n"
"  --stream-block SIZE\n"
"                    bytes of V a streamed pass holds at once, with K, M, G,\n"
"                    T as powers of 1024 (default 8M, about what nmf-faces\n"
"                    --max-memory 48M gives 4096 images of 128x128)\n"
"  -h, --help        this help\n");
}

static int usage_error(const char *what)
{
    fprintf(stderr, "nmf-bench: error: %s\nhint: nmf-bench --help lists the options\n", what);
    return 2;
}

int main(int argc, char **argv)
{
    enum { OPT_QUICK = 256, OPT_CASES, OPT_K, OPT_DEVICES, OPT_ITERS, OPT_REPEAT, OPT_THREADS,
           OPT_PRECISION, OPT_JSON, OPT_EXPORT, OPT_SOLVERS, OPT_NO_CEILINGS, OPT_STREAM,
           OPT_STREAM_BLOCK };
    static const struct option long_options[] = {
        {"quick", no_argument, NULL, OPT_QUICK},       {"cases", required_argument, NULL, OPT_CASES},
        {"k", required_argument, NULL, OPT_K},         {"devices", required_argument, NULL, OPT_DEVICES},
        {"solvers", required_argument, NULL, OPT_SOLVERS},
        {"iters", required_argument, NULL, OPT_ITERS}, {"repeat", required_argument, NULL, OPT_REPEAT},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"precision", required_argument, NULL, OPT_PRECISION},
        {"json", required_argument, NULL, OPT_JSON},   {"export", required_argument, NULL, OPT_EXPORT},
        {"no-ceilings", no_argument, NULL, OPT_NO_CEILINGS},
        {"stream", required_argument, NULL, OPT_STREAM},
        {"stream-block", required_argument, NULL, OPT_STREAM_BLOCK},
        {"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0}};
    options o = {.devices = {1, 1}, .iters = 0, .repeats = 0, .stream_block = 8u << 20};
    const char *device_list = NULL;
    int c;
    size_t v;
    while ((c = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_QUICK: o.quick = 1; break;
        case OPT_CASES: o.case_list = optarg; break;
        case OPT_K: o.k_list = optarg; break;
        case OPT_SOLVERS: o.solver_list = optarg; break;
        case OPT_DEVICES: device_list = optarg; break;
        case OPT_ITERS:
            if (parse_size_t(optarg, &v) || v > 100000)
                return usage_error("--iters: must be a whole number in 1..100000");
            o.iters = (int)v;
            break;
        case OPT_REPEAT:
            if (parse_size_t(optarg, &v) || v > MAX_REPEAT)
                return usage_error("--repeat: must be a whole number in 1..100");
            o.repeats = (int)v;
            break;
        case OPT_THREADS:
            if (parse_size_t(optarg, &v) || v > 4096)
                return usage_error("--threads: must be a whole number in 1..4096");
            o.threads = (int)v;
            break;
        case OPT_PRECISION:
            if (nmf_precision_parse(optarg, &o.precision))
                return usage_error("--precision: must be fp32 or tf32");
            break;
        case OPT_JSON: o.json_path = optarg; break;
        case OPT_EXPORT: o.export_dir = optarg; break;
        case OPT_NO_CEILINGS: o.no_ceilings = 1; break;
        case OPT_STREAM: o.stream_dir = optarg; break;
        case OPT_STREAM_BLOCK:
            if (nmf_parse_bytes(optarg, &o.stream_block))
                return usage_error("--stream-block: must be a number of bytes, > 0, with an "
                                   "optional K, M, G or T (powers of 1024), as nmf-faces --max-memory");
            break;
        case 'h': usage(stdout); return 0;
        default: return usage_error("unknown option or missing value");
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument");
    if (!o.iters)
        o.iters = o.quick ? 20 : 50;
    if (!o.repeats)
        o.repeats = o.quick ? 3 : 5;
    if (device_list) {
        char names[DEV_COUNT + 1][32];
        int n = parse_list(device_list, names, DEV_COUNT + 1);
        o.devices[DEV_CPU] = o.devices[DEV_GPU] = 0;
        for (int i = 0; i < n; i++) {
            if (!strcmp(names[i], "cpu"))
                o.devices[DEV_CPU] = 1;
            else if (!strcmp(names[i], "gpu"))
                o.devices[DEV_GPU] = 1;
            else
                return usage_error("--devices: must list cpu and/or gpu");
        }
        if (n <= 0)
            return usage_error("--devices: must list cpu and/or gpu");
    }
    static bench_case cases[MAX_CASES];
    int count;
    if (make_cases(&o, cases, &count))
        return usage_error("--cases/--k/--solvers: cases are faces or MxN, k a whole number, "
                           "solvers mu or hals, comma-separated");
    nmf_set_note_handler(NULL, NULL);
    nmf_set_threads(o.threads);

    /* Backends and their ceilings, once per run. */
    machine mc = {0};
    const nmf_backend *backends[DEV_COUNT] = {&nmf_backend_cpu, NULL};
    const nmf_backend *gpu;
    if (o.devices[DEV_GPU] && nmf_backend_select(NMF_DEVICE_GPU, 0, &gpu) == NMF_STATUS_OK) {
        backends[DEV_GPU] = gpu;
    } else if (o.devices[DEV_GPU]) {
        fprintf(stderr, "nmf-bench: note: %s; GPU results skipped\n", nmf_last_error());
        if (!device_list) /* gpu was only a default */
            o.devices[DEV_GPU] = 0;
    }
    cpu_model(mc.cpu, sizeof mc.cpu);
#ifdef _OPENMP
    mc.threads = o.threads > 0 ? o.threads : omp_get_max_threads();
#else
    mc.threads = 1;
#endif
    for (int dev = 0; dev < DEV_COUNT; dev++) {
        if (!o.devices[dev] || !backends[dev])
            continue;
        if (!o.no_ceilings)
            fprintf(stderr, "measuring the %s ceilings...\n", device_names[dev]);
        if (!o.no_ceilings && backends[dev]->bench->measure_ceilings(&mc.ceil[dev]) != NMF_STATUS_OK) {
            fprintf(stderr, "nmf-bench: error: %s\n", nmf_last_error());
            return 1;
        }
        mc.have[dev] = 1;
        if (backends[dev]->bench->device_info)
            backends[dev]->bench->device_info(&mc.gpu);
    }
    printf("nmf-bench %s: CPU %s, %d threads, %s kernels, OpenBLAS (%s core) for the rest; GPU %s; "
           "precision %s\n", NMF_VERSION, mc.cpu, mc.threads, nmf_backend_cpu.kernels(),
           openblas_get_corename(),
           mc.have[DEV_GPU] ? mc.gpu.name : "none", nmf_precision_name(o.precision));
    if (mc.have[DEV_CPU] && o.no_ceilings)
        printf("ceilings not measured (--no-ceilings)\n");
    else if (mc.have[DEV_CPU])
        printf("ceiling cpu: FMA peak %.1f GFLOP/s (%s kernels' own loop), copy %.1f GB/s; "
               "the BLAS's SGEMM %d^2 %.1f GFLOP/s\n", mc.ceil[DEV_CPU].fma_gflops,
               mc.ceil[DEV_CPU].fma_kernels, mc.ceil[DEV_CPU].copy_gbps,
               mc.ceil[DEV_CPU].sgemm_size, mc.ceil[DEV_CPU].sgemm_gflops);
    if (mc.have[DEV_GPU])
        printf("ceiling gpu: SGEMM %d^2 %.0f GFLOP/s, TF32 %.0f GFLOP/s, device copy %.0f GB/s\n",
               mc.ceil[DEV_GPU].sgemm_size, mc.ceil[DEV_GPU].sgemm_gflops,
               mc.ceil[DEV_GPU].tf32_gflops, mc.ceil[DEV_GPU].copy_gbps);
    if (o.stream_dir && o.devices[DEV_CPU])
        printf("cpu-disk: the CPU on V streamed from a file in %s in blocks of %zu bytes, "
               "from the page cache (the file just written)\n", o.stream_dir, o.stream_block);

    for (int i = 0; i < count; i++) {
        bench_case *bc = &cases[i];
        double cpu_flop = case_flops(bc) * o.iters * (o.repeats + 1);
        if (!o.case_list && !bc->faces && cpu_flop > CPU_CASE_BUDGET_FLOP)
            snprintf(bc->res[DEV_CPU].skipped, sizeof bc->res[DEV_CPU].skipped,
                     "over the default CPU budget (%.0f GFLOP in all); name it in --cases to run it",
                     cpu_flop / 1e9);
        if (run_case(bc, &o, backends) != NMF_STATUS_OK) {
            fprintf(stderr, "nmf-bench: error: %s: %s\n", bc->name, nmf_last_error());
            return 1;
        }
    }
    print_table(cases, count, &mc, &o);
    print_stream_ratios(cases, count);
    print_solver_ratios(cases, count, &o);

    int failed = 0;
    for (int i = 0; i < count; i++)
        failed |= (cases[i].res[DEV_CPU].run && cases[i].res[DEV_GPU].run &&
                   !losses_agree(&cases[i], o.precision)) ||
                  (cases[i].res[DEV_CPU].run && cases[i].disk.run && !stream_agrees(&cases[i]));
    if (o.json_path) {
        char command[2048] = "";
        for (int i = 0; i < argc; i++) {
            size_t len = strlen(command);
            snprintf(command + len, sizeof command - len, "%s%s", i ? " " : "", argv[i]);
        }
        if (write_json(o.json_path, cases, count, &mc, &o, command) != NMF_STATUS_OK) {
            fprintf(stderr, "nmf-bench: error: %s\n", nmf_last_error());
            return 1;
        }
        printf("results: %s\n", o.json_path);
    }
    return failed;
}
