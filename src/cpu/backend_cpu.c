/* backend_cpu.c - the CPU backend: the products through the kernels table
 * the CPU's features choose (kernels.h), the element-wise updates in OpenMP
 * loops over the shared per-element math.
 * Three solvers share its products: Frobenius MU (below), MU for other
 * beta-divergences (beta_mu.c) and HALS (hals.c).
 *
 * One Frobenius MU iteration (scikit-learn's order, W first):
 *   HHt = H Hᵀ            (k, k)  2k²n flops (syrk: half)
 *   VHt = V Hᵀ            (m, k)  2mnk
 *   W  *= VHt / (W HHt)   (m, k)  2mk²
 *   WtW = Wᵀ W            (k, k)  2k²m (syrk: half)
 *   WtV = Wᵀ V            (k, n)  2mnk
 *   H  *= WtV / (WtW H)   (k, n)  2k²n
 * The loss reuses WtV and WtW, which stay valid for the current W after the
 * H update, and HHt of the new H, which the next W update needs anyway:
 *   ||V - WH||² = ||V||² - 2<WtV, H> + <WtW, HHt>, summed in double.
 * HALS sweeps W with HHt and VHt, then H with WtW and WtV: the same products.
 * Other betas make WH block by block (beta_mu.c) and cost 3-4 GEMMs of 2mnk
 * per update.
 * MU and HALS read V once an iteration, in blocks of rows: V_b Hᵀ, W_b's
 * update, then W_bᵀ V_b and W_bᵀ W_b with the new W_b while V_b is in
 * cache (choose_schedule); H after the last block.
 * With a fixed H (nmf_transform) only W is updated, and H's products are
 * made once for the whole run. */
#define _POSIX_C_SOURCE 200809L
#include "backend.h"
#include "beta_mu.h"
#include "clock.h"
#include "comm.h"
#include "error.h"
#include "hals.h"
#include "kernels.h"
#include "reduce.h"
#include "stream.h"

#include <cblas.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const nmf_cpu_kernels *kernels;
    size_t m, n, k;
    nmf_problem V;  /* the problem's V, floats or bytes, borrowed */
    /* V as the kernels read it (pack_V): bytes when every value is a
     * whole number 0..255, else floats (always floats for the BLAS
     * table); its rows ldv elements apart. */
    const void *Vk;
    int V_bytes;
    void *V_copy;
    size_t ldv;
    float *W;       /* (m, k) */
    float *H;       /* (k, n) */
    float *HHt;     /* (k, k) of the current H when HHt_valid */
    float *WtW;     /* (k, k) of the current W when WtV_valid */
    float *WtV;     /* (k, n) of the current W when WtV_valid; right after WtW,
                       so that the ranks sum both at once */
    float *VHt;     /* (m, k) of the current H when VHt_valid, else scratch */
    float *den_W;   /* (m, k) scratch */
    float *den_H;   /* (k, n) scratch */
    /* beta != 2 or a mask: the updates form WH (beta_mu.c), and beta_fit
     * holds their blocks of V and scratch. */
    int elementwise;
    nmf_beta_cpu beta_fit;
    nmf_solver solver;
    int sweeps_W, sweeps_H; /* HALS sweeps per iteration (nmf_params) */
    float beta;
    float l1_W, l2_W, l1_H, l2_H; /* scaled regularisation */
    double norm_V_sq;
    int norm_V_summed; /* over the ranks: at the first loss, after init */
    /* HALS with tol > 0: the violation of each iteration of the last
     * iterate call, and the factors from before it (W_mark, H_mark). */
    int track_violation;
    double violations[NMF_HISTORY_EVERY];
    float *W_mark, *H_mark;
    int HHt_valid, VHt_valid, WtV_valid;
    /* Rows of V a block of every pass over it, and whether an iteration
     * makes one pass or two (choose_schedule). */
    size_t block_rows;
    int one_pass;
    int fixed_H; /* nmf_transform: only W is updated, H's products made once */
    /* The process's OpenMP and BLAS thread counts before a fit that set
     * its own (params->threads > 0), given back when it ends; 0: none. */
    int saved_omp_threads, saved_blas_threads;
} cpu_ctx;

void nmf_set_threads(int threads)
{
    if (threads <= 0)
        return;
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    openblas_set_num_threads(threads);
}

/* The fit's thread count, the process's own saved in c. */
static void take_threads(cpu_ctx *c, int threads)
{
    if (threads <= 0)
        return;
#ifdef _OPENMP
    c->saved_omp_threads = omp_get_max_threads();
#endif
    c->saved_blas_threads = openblas_get_num_threads();
    nmf_set_threads(threads);
}

static void give_back_threads(const cpu_ctx *c)
{
#ifdef _OPENMP
    if (c->saved_omp_threads > 0)
        omp_set_num_threads(c->saved_omp_threads);
#endif
    if (c->saved_blas_threads > 0)
        openblas_set_num_threads(c->saved_blas_threads);
}

/* Whether every value of V is a whole number in 0..255 (8-bit images). */
static int all_bytes(const float *V, size_t len)
{
    int ok = 1;
    #pragma omp parallel for schedule(static) reduction(&& : ok)
    for (size_t i = 0; i < len; i++)
        ok = ok && V[i] >= 0.0f && V[i] <= 255.0f && V[i] == floorf(V[i]);
    return ok;
}

/* V as the kernels read it, made once. 8-bit data as bytes: a quarter of
 * the bytes per pass, the same values, so the same bits (64x64 images,
 * k = 20: see docs/BENCHMARKS.md). Bytes given as bytes are read in place;
 * float V holding whole numbers 0..255 is copied to bytes. Rows a multiple
 * of 4 KB apart all fall in the same cache sets, so such rows are padded
 * (by 64 bytes) in the copy; for float data that copy is made up to 1 GB
 * and skipped (it only speeds things up) when it does not fit. The BLAS
 * table has no byte kernels: it gets bytes widened to floats. */
static nmf_status pack_V(cpu_ctx *c)
{
    const size_t m = c->m, n = c->n;
    c->ldv = n;
    c->V_bytes = 0;
    if (c->V.stream_block) { /* a copy would hold V in memory: read in place */
        c->Vk = c->V.V8 ? (const void *)c->V.V8 : (const void *)c->V.V;
        c->V_bytes = c->V.V8 != NULL;
        return NMF_STATUS_OK;
    }
    if (c->V.V8 && c->kernels->dots_bytes) {
        c->Vk = c->V.V8;
        c->V_bytes = 1;
        return NMF_STATUS_OK;
    }
    if (c->V.V8) {
        float *Vf = malloc(m * n * sizeof *Vf);
        if (!Vf)
            return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for V as floats (%zu x %zu) "
                             "for the blas kernels", m, n);
        nmf_problem_rows(&c->V, 0, m, Vf);
        c->V_copy = Vf;
        c->Vk = Vf;
        return NMF_STATUS_OK;
    }
    c->Vk = c->V.V;
    if (c->kernels->dots_bytes && all_bytes(c->V.V, m * n)) {
        const size_t ld = n % 4096 == 0 ? n + 64 : n;
        unsigned char *Vb = malloc(m * ld);
        if (Vb) {
            #pragma omp parallel for schedule(static)
            for (size_t i = 0; i < m; i++)
                for (size_t j = 0; j < n; j++)
                    Vb[i * ld + j] = (unsigned char)c->V.V[i * n + j];
            c->V_copy = Vb;
            c->Vk = Vb;
            c->ldv = ld;
            c->V_bytes = 1;
            return NMF_STATUS_OK;
        }
    }
    if (c->kernels != &nmf_cpu_kernels_blas && n % 1024 == 0 && m * n <= ((size_t)1 << 28)) {
        const size_t ld = n + 16;
        float *Vf = malloc(m * ld * sizeof *Vf);
        if (Vf) {
            for (size_t i = 0; i < m; i++)
                memcpy(Vf + i * ld, c->V.V + i * n, n * sizeof *Vf);
            c->V_copy = Vf;
            c->Vk = Vf;
            c->ldv = ld;
        }
    }
    return NMF_STATUS_OK;
}

/* The schedule of Frobenius MU and HALS: one pass over V an iteration
 * (mu_iteration_one_pass), unless NMF_CPU_SCHEDULE=two-pass asks for the
 * other, for comparison. A block is half the last-level cache, so that a
 * block read by V_b Hᵀ is still there for W_bᵀ V_b: 4-13% faster at
 * k = 20 once V is larger than the cache, the same within noise at k = 64
 * and when V fits (docs/BENCHMARKS.md, "One pass over V"). With the vector
 * tables each output of the products is one chain over the rows in order
 * either way, so W and H get the same bits (test_mu checks; HALS's
 * violation, summed block by block, differs in its last bits). The BLAS
 * table would sum W_bᵀ V_b by blocks whose size depends on the machine's
 * cache, so the reference keeps the two-pass order. */
static nmf_status choose_schedule(cpu_ctx *c)
{
    const char *want = getenv("NMF_CPU_SCHEDULE");
    want = want && *want ? want : "one-pass";
    c->block_rows = c->m;
    c->one_pass = 0;
    if (strcmp(want, "two-pass") != 0 && strcmp(want, "one-pass") != 0)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "NMF_CPU_SCHEDULE=%s: unknown (one-pass or two-pass)", want);
    if (c->kernels == &nmf_cpu_kernels_blas) /* never streamed (cpu_init) */
        return NMF_STATUS_OK;
    c->one_pass = strcmp(want, "one-pass") == 0;
    if (!c->one_pass && !c->V.stream_block)
        return NMF_STATUS_OK;
    /* A VM may report the host's L3 (320 MB here for 32 MB a CCD): a block
     * is at most 16 MB, half a Zen 4 CCD's L3. */
    long cache = 0;
#ifdef _SC_LEVEL3_CACHE_SIZE /* glibc's */
    cache = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (cache <= 0)
        cache = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    size_t budget = cache > 0 ? (size_t)cache / 2 : (size_t)4 << 20;
    budget = budget < ((size_t)16 << 20) ? budget : (size_t)16 << 20;
    const size_t row_bytes = c->n * (c->V_bytes ? 1 : sizeof(float));
    size_t rows = budget / row_bytes;
    rows = rows < 16 ? 16 : rows;
    /* A streamed V's blocks are no larger than its budget allows, in
     * either schedule (two passes then read the file twice). */
    c->block_rows = nmf_problem_block_rows(&c->V, rows);
    return NMF_STATUS_OK;
}

static void ensure_HHt(cpu_ctx *c)
{
    if (!c->HHt_valid) {
        c->kernels->gram(c->k, c->n, c->H, c->n, c->HHt);
        c->HHt_valid = 1;
    }
}

/* WtW and WtV's share of rows [i0, i0 + rows) of V, with W's rows as they
 * are: W_bᵀ W_b and W_bᵀ V_b added (the first block sets them), in the
 * one-pass schedule while V_b is still in cache. */
static void add_block_products(cpu_ctx *c, size_t i0, size_t rows)
{
    const size_t k = c->k, n = c->n;
    const float *Wb = c->W + i0 * k;
    const int first = i0 == 0;
    (first ? c->kernels->outer : c->kernels->outer_add)(rows, k, k, Wb, k, Wb, k, c->WtW, k);
    if (c->V_bytes)
        (first ? c->kernels->outer_bytes : c->kernels->outer_bytes_add)(
            rows, k, n, Wb, k, (const unsigned char *)c->Vk + i0 * c->ldv, c->ldv, c->WtV, n);
    else
        (first ? c->kernels->outer : c->kernels->outer_add)(
            rows, k, n, Wb, k, (const float *)c->Vk + i0 * c->ldv, c->ldv, c->WtV, n);
}

/* VHt's rows [i0, i0 + rows) = V_b Hᵀ. */
static void block_VHt(cpu_ctx *c, size_t i0, size_t rows)
{
    const size_t k = c->k, n = c->n;
    if (c->V_bytes)
        c->kernels->dots_bytes(rows, k, n, (const unsigned char *)c->Vk + i0 * c->ldv, c->ldv,
                               c->H, n, c->VHt + i0 * k, k);
    else
        c->kernels->dots(rows, k, n, (const float *)c->Vk + i0 * c->ldv, c->ldv, c->H, n,
                         c->VHt + i0 * k, k);
}

/* Around each block of a pass over V: a streamed V's block is mapped and
 * the next one asked for before it is read, and it is handed back after
 * (no-ops for V in memory). */
static void block_begin(const cpu_ctx *c, size_t i0, size_t rows)
{
    nmf_problem_block_begin(&c->V, i0, rows, c->block_rows);
}

static void block_end(const cpu_ctx *c, size_t i0, size_t rows)
{
    nmf_problem_block_end(&c->V, i0, rows);
}

/* One pass over V: product(c, i0, rows) for each block of rows. */
static void pass_over_V(cpu_ctx *c, void (*product)(cpu_ctx *c, size_t i0, size_t rows))
{
    for (size_t i0 = 0; i0 < c->m; i0 += c->block_rows) {
        const size_t rows = nmf_block_len(c->m, i0, c->block_rows);
        block_begin(c, i0, rows);
        product(c, i0, rows);
        block_end(c, i0, rows);
    }
}

/* After the last block's add_block_products: WtW and WtV of the whole W,
 * the ranks' shares summed (nmf_comm). */
static void WtV_made(cpu_ctx *c)
{
    nmf_sum_floats(&c->V, c->WtW, c->k * (c->k + c->n));
    c->WtV_valid = 1;
}

/* WtW and WtV for the current W, block after block. */
static void ensure_WtV(cpu_ctx *c)
{
    if (!c->WtV_valid) {
        pass_over_V(c, add_block_products);
        WtV_made(c);
    }
}

/* VHt (m, k) = V Hᵀ for the current H. */
static void ensure_VHt(cpu_ctx *c)
{
    if (!c->VHt_valid) {
        pass_over_V(c, block_VHt);
        c->VHt_valid = 1;
    }
}

/* After H changed (or VHt served as scratch): its products are stale. */
static void H_changed(cpu_ctx *c)
{
    c->HHt_valid = c->VHt_valid = 0;
}

/* Frobenius MU's W update of rows [i0, i0 + rows), VHt's rows made:
 * W *= VHt / (W HHt). */
static void mu_update_W_rows(cpu_ctx *c, size_t i0, size_t rows)
{
    const size_t k = c->k;
    c->kernels->times(rows, k, k, c->W + i0 * k, k, c->HHt, k, c->den_W + i0 * k, k);
    nmf_mu_apply_cpu(c->W + i0 * k, c->VHt + i0 * k, c->den_W + i0 * k, rows * k, c->l1_W,
                     c->l2_W, 1.0f, 0.0f);
}

/* H *= WtV / (WtW H), WtV and WtW of the current W; WtW H as outer (WtW
 * is symmetric). */
static void mu_update_H(cpu_ctx *c)
{
    const size_t n = c->n, k = c->k;
    c->kernels->outer(k, k, n, c->WtW, k, c->H, n, c->den_H, n);
    nmf_mu_apply_cpu(c->H, c->WtV, c->den_H, c->k * c->n, c->l1_H, c->l2_H, 1.0f, 0.0f);
    H_changed(c);
}

/* One Frobenius MU iteration reading V once (issue 15's schedule): block
 * by block, V_b Hᵀ, W_b's update, then W_bᵀ V_b with the new W_b while
 * V_b is in cache; H after the last block. The same mathematics as
 * mu_iteration; WtV summed block after block. */
static void mu_iteration_one_pass(cpu_ctx *c)
{
    ensure_HHt(c);
    for (size_t i0 = 0; i0 < c->m; i0 += c->block_rows) {
        const size_t rows = nmf_block_len(c->m, i0, c->block_rows);
        block_begin(c, i0, rows);
        block_VHt(c, i0, rows);
        mu_update_W_rows(c, i0, rows);
        add_block_products(c, i0, rows);
        block_end(c, i0, rows);
    }
    WtV_made(c);
    mu_update_H(c);
}

/* One Frobenius MU iteration: W, then H with the new W. */
static void mu_iteration(cpu_ctx *c)
{
    if (c->one_pass && !c->fixed_H) {
        mu_iteration_one_pass(c);
        return;
    }
    ensure_HHt(c);
    ensure_VHt(c);
    mu_update_W_rows(c, 0, c->m);
    c->WtV_valid = 0;
    if (c->fixed_H)
        return;
    ensure_WtV(c);
    mu_update_H(c);
}

/* One element-wise MU iteration (beta_mu.c: any beta with a mask, or
 * beta != 2): W, then H. */
static void beta_mu_iteration(cpu_ctx *c)
{
    nmf_beta_update_W_cpu(&c->beta_fit, c->beta, c->W, c->H, c->l1_W, c->l2_W, c->VHt, c->den_W);
    if (!c->fixed_H)
        nmf_beta_update_H_cpu(&c->beta_fit, c->beta, c->W, c->H, c->l1_H, c->l2_H, c->WtV,
                              c->den_H);
    H_changed(c);
    c->WtV_valid = 0;
}

/* sweeps_W HALS sweeps of W's rows [i0, i0 + rows), VHt's rows made; the
 * last sweep's violation. */
static double hals_sweeps_W(cpu_ctx *c, size_t i0, size_t rows)
{
    const size_t k = c->k;
    double violation = 0.0;
    for (int s = 0; s < c->sweeps_W; s++)
        violation = nmf_hals_sweep_cpu(c->W + i0 * k, rows, k, k, 1, c->HHt, c->VHt + i0 * k, k,
                                       1, c->l1_W, c->l2_W);
    return violation;
}

/* One HALS iteration (hals.c): sweep W's columns sweeps_W times with one
 * V Hᵀ and H Hᵀ, then H's rows sweeps_H times with one Wᵀ V and Wᵀ W;
 * returns the violation, the sum of the last W and the last H sweep's. */
static double hals_iteration(cpu_ctx *c)
{
    ensure_HHt(c);
    double violation_W = 0.0, violation_H = 0.0;
    if (c->one_pass && !c->fixed_H) {
        /* One pass over V, as mu_iteration_one_pass: W's rows are
         * independent given HHt, so each block is swept on its own. */
        for (size_t i0 = 0; i0 < c->m; i0 += c->block_rows) {
            const size_t rows = nmf_block_len(c->m, i0, c->block_rows);
            block_begin(c, i0, rows);
            block_VHt(c, i0, rows);
            violation_W += hals_sweeps_W(c, i0, rows);
            add_block_products(c, i0, rows);
            block_end(c, i0, rows);
        }
        WtV_made(c);
    } else {
        ensure_VHt(c);
        violation_W = hals_sweeps_W(c, 0, c->m);
        c->WtV_valid = 0;
        if (!c->fixed_H)
            ensure_WtV(c);
    }
    if (c->track_violation) /* W's rows are the ranks' */
        violation_W = nmf_sum_double(&c->V, violation_W);
    if (c->fixed_H)
        return violation_W;
    for (int s = 0; s < c->sweeps_H; s++)
        violation_H = nmf_hals_sweep_cpu(c->H, c->n, c->k, 1, c->n, c->WtW, c->WtV, 1, c->n,
                                         c->l1_H, c->l2_H);
    H_changed(c);
    return violation_W + violation_H;
}

static void cpu_free(void *ctx)
{
    cpu_ctx *c = ctx;
    if (!c)
        return;
    give_back_threads(c);
    free(c->W);
    free(c->H);
    free(c->HHt);
    free(c->WtW); /* and WtV */
    free(c->VHt);
    free(c->den_W);
    free(c->den_H);
    free(c->beta_fit.WH);
    free(c->beta_fit.R);
    free(c->beta_fit.colsum);
    free(c->W_mark);
    free(c->H_mark);
    free(c->V_copy);
    free(c);
}

static nmf_status cpu_init(void **ctx, const nmf_problem *problem,
                           const nmf_params *params, const float *W0, const float *H0)
{
    size_t m = problem->m, n = problem->n, k = (size_t)params->k;
    /* CBLAS takes int dimensions. */
    if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX)
        return nmf_error(NMF_STATUS_TOO_LARGE,
                         "%zu x %zu is beyond the CPU backend's 32-bit BLAS dimensions", m, n);
    const nmf_cpu_kernels *kernels;
    nmf_status st = nmf_cpu_kernels_select(&kernels);
    if (st != NMF_STATUS_OK)
        return st;
    if (problem->stream_block && kernels == &nmf_cpu_kernels_blas)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "NMF_CPU_KERNELS=blas (the reference table) holds V as float32 in "
                         "memory and cannot read a V streamed from disk; unset NMF_CPU_KERNELS, "
                         "or give the run the memory to hold V");
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the CPU backend");
    c->kernels = kernels;
    c->m = m;
    c->n = n;
    c->k = k;
    c->V = *problem;
    c->W = malloc(m * k * sizeof(float));
    c->H = malloc(k * n * sizeof(float));
    c->HHt = malloc(k * k * sizeof(float));
    c->WtW = malloc(k * (k + n) * sizeof(float));
    c->WtV = c->WtW ? c->WtW + k * k : NULL;
    c->VHt = malloc(m * k * sizeof(float));
    c->den_W = malloc(m * k * sizeof(float));
    c->den_H = malloc(k * n * sizeof(float));
    c->solver = params->solver;
    c->fixed_H = params->fixed_H;
    c->sweeps_W = params->sweeps_W;
    c->sweeps_H = params->sweeps_H;
    c->beta = (float)params->beta;
    nmf_regularization reg = nmf_regularization_of(problem, params);
    c->l1_W = (float)reg.l1_W;
    c->l2_W = (float)reg.l2_W;
    c->l1_H = (float)reg.l1_H;
    c->l2_H = (float)reg.l2_H;
    c->elementwise = params->beta != 2.0 || problem->mask;
    if (c->elementwise) {
        /* Not cut to a streamed V's block: the loss is summed block by
         * block, so its bits follow the block (at most 4 MiB of V). */
        const size_t block = nmf_beta_block_rows(m, n);
        c->beta_fit = (nmf_beta_cpu){kernels, &c->V, k, block, malloc(block * n * sizeof(float)),
                                     malloc(block * n * sizeof(float)),
                                     malloc(k * sizeof(double))};
    }
    c->track_violation = nmf_hals_rule_on(params);
    if (c->track_violation) {
        c->W_mark = malloc(m * k * sizeof(float));
        c->H_mark = malloc(k * n * sizeof(float));
    }
    if (!c->W || !c->H || !c->HHt || !c->WtW || !c->WtV || !c->VHt || !c->den_W || !c->den_H ||
        (c->elementwise && (!c->beta_fit.WH || !c->beta_fit.R || !c->beta_fit.colsum)) ||
        (c->track_violation && (!c->W_mark || !c->H_mark))) {
        cpu_free(c);
        return nmf_error(NMF_STATUS_NO_MEMORY,
                         "out of memory for the factors (%zu x %zu, k = %zu)", m, n, k);
    }
    /* An element-wise fit reads V through beta_fit, never the Frobenius
     * products' copy of it. */
    if ((!c->elementwise && (st = pack_V(c)) != NMF_STATUS_OK) ||
        (st = choose_schedule(c)) != NMF_STATUS_OK) {
        cpu_free(c);
        return st;
    }
    memcpy(c->W, W0, m * k * sizeof(float));
    memcpy(c->H, H0, k * n * sizeof(float));
    take_threads(c, params->threads);
    c->norm_V_sq = nmf_problem_norm_sq(problem); /* this rank's rows */
    *ctx = c;
    return NMF_STATUS_OK;
}

static nmf_status cpu_iterate(void *ctx, int n_iter)
{
    cpu_ctx *c = ctx;
    if (n_iter > NMF_HISTORY_EVERY)
        return nmf_error(NMF_STATUS_INTERNAL, "iterate: %d iterations in one call, at most %d",
                         n_iter, NMF_HISTORY_EVERY);
    if (c->track_violation) {
        memcpy(c->W_mark, c->W, c->m * c->k * sizeof(float));
        memcpy(c->H_mark, c->H, c->k * c->n * sizeof(float));
    }
    for (int it = 0; it < n_iter; it++) {
        if (c->solver == NMF_SOLVER_HALS)
            c->violations[it] = hals_iteration(c);
        else if (c->elementwise)
            beta_mu_iteration(c);
        else
            mu_iteration(c);
    }
    return NMF_STATUS_OK;
}

static nmf_status cpu_violations(void *ctx, double *out, int n)
{
    cpu_ctx *c = ctx;
    if (!c->track_violation || n > NMF_HISTORY_EVERY)
        return nmf_error(NMF_STATUS_INTERNAL, "violations: not recorded for this fit");
    memcpy(out, c->violations, (size_t)n * sizeof *out);
    return NMF_STATUS_OK;
}

static nmf_status cpu_rewind(void *ctx)
{
    cpu_ctx *c = ctx;
    if (!c->track_violation)
        return nmf_error(NMF_STATUS_INTERNAL, "rewind: no factors kept for this fit");
    memcpy(c->W, c->W_mark, c->m * c->k * sizeof(float));
    memcpy(c->H, c->H_mark, c->k * c->n * sizeof(float));
    H_changed(c);
    c->WtV_valid = 0;
    return NMF_STATUS_OK;
}

static nmf_status cpu_loss(void *ctx, double *error)
{
    cpu_ctx *c = ctx;
    if (c->elementwise) {
        *error = nmf_beta_error_cpu(&c->beta_fit, c->beta, c->W, c->H);
        return NMF_STATUS_OK;
    }
    if (!c->norm_V_summed) {
        c->norm_V_sq = nmf_sum_double(&c->V, c->norm_V_sq);
        c->norm_V_summed = 1;
    }
    ensure_HHt(c);
    double cross;
    if (c->fixed_H) {
        /* <WtV, H> = <W, VHt>, and VHt is made once for the fixed H: the
         * loss costs no pass over V. */
        ensure_VHt(c);
        c->kernels->outer(c->m, c->k, c->k, c->W, c->k, c->W, c->k, c->WtW, c->k);
        nmf_sum_floats(&c->V, c->WtW, c->k * c->k);
        cross = nmf_sum_double(&c->V, nmf_dot_double(c->W, c->VHt, c->m * c->k));
    } else {
        ensure_WtV(c);
        cross = nmf_dot_double(c->WtV, c->H, c->k * c->n);
    }
    double quad = nmf_dot_double(c->WtW, c->HHt, c->k * c->k);
    double sq = c->norm_V_sq - 2.0 * cross + quad;
    /* Rounding can push an exact fit a hair below zero; a NaN (a fit whose
     * products overflowed) stays NaN for the driver to report. */
    *error = sqrt(sq < 0.0 ? 0.0 : sq);
    return NMF_STATUS_OK;
}

static nmf_status cpu_frobenius(void *ctx, double *error)
{
    cpu_ctx *c = ctx;
    if (c->beta == 2.0f)
        return cpu_loss(ctx, error);
    /* A beta != 2 fit is element-wise: it has the scratch this loss uses. */
    *error = nmf_beta_error_cpu(&c->beta_fit, 2.0f, c->W, c->H);
    return NMF_STATUS_OK;
}

static nmf_status cpu_reset(void *ctx, const float *W0, const float *H0)
{
    cpu_ctx *c = ctx;
    memcpy(c->W, W0, c->m * c->k * sizeof(float));
    memcpy(c->H, H0, c->k * c->n * sizeof(float));
    H_changed(c);
    c->WtV_valid = 0;
    return NMF_STATUS_OK;
}

/* The best of a few runs of the kernels' FMA loop on every thread at once:
 * flops per second of the whole machine. */
static double fma_peak_gflops(const nmf_cpu_kernels *kt)
{
    double best = 0.0;
    for (int rep = 0; rep < 5; rep++) {
        double flops = 0.0, t0 = nmf_clock_s();
        #pragma omp parallel reduction(+ : flops)
        flops += kt->fma_loop(20 * 1000 * 1000);
        double rate = flops / (nmf_clock_s() - t0) / 1e9;
        best = rate > best ? rate : best;
    }
    return best;
}

/* Copying 2 x 256 MB, far beyond any cache, on every thread: bytes read
 * plus bytes written per second, the best of a few runs. */
static nmf_status copy_gbps(double *out)
{
    const size_t len = (size_t)64 << 20; /* floats */
    float *src = malloc(len * sizeof *src), *dst = malloc(len * sizeof *dst);
    if (!src || !dst) {
        free(src), free(dst);
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the bandwidth ceiling");
    }
    #pragma omp parallel for schedule(static)
    for (size_t i = 0; i < len; i++)
        src[i] = dst[i] = (float)(i & 255); /* pages touched by the threads that copy them */
    double best = INFINITY;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = nmf_clock_s();
        #pragma omp parallel for schedule(static)
        for (size_t i = 0; i < len; i++)
            dst[i] = src[i];
        double s = nmf_clock_s() - t0;
        best = s < best ? s : best;
    }
    free(src), free(dst);
    *out = 2.0 * (double)len * sizeof(float) / best / 1e9;
    return NMF_STATUS_OK;
}

/* The BLAS's SGEMM on square matrices, for comparison with the kernels. */
static nmf_status sgemm_ceiling(nmf_ceilings *out)
{
    const int size = 2048;
    const size_t len = (size_t)size * size;
    float *A = malloc(len * sizeof *A), *B = malloc(len * sizeof *B), *C = malloc(len * sizeof *C);
    if (!A || !B || !C) {
        free(A), free(B), free(C);
        return nmf_error(NMF_STATUS_NO_MEMORY, "out of memory for the SGEMM ceiling");
    }
    for (size_t i = 0; i < len; i++)
        A[i] = B[i] = (float)(i % 7) * 0.25f;
    double best = INFINITY;
    for (int rep = 0; rep < 6; rep++) {
        double t0 = nmf_clock_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0f, A, size,
                    B, size, 0.0f, C, size);
        double s = nmf_clock_s() - t0;
        if (rep > 0 && s < best) /* rep 0 warms up the threads and caches */
            best = s;
    }
    free(A), free(B), free(C);
    out->sgemm_gflops = 2.0 * size * size * (double)size / best / 1e9;
    out->sgemm_size = size;
    return NMF_STATUS_OK;
}

static nmf_status cpu_measure_ceilings(nmf_ceilings *out)
{
    const nmf_cpu_kernels *kt;
    nmf_status st;
    memset(out, 0, sizeof *out);
    if ((st = nmf_cpu_kernels_select(&kt)) != NMF_STATUS_OK ||
        (st = sgemm_ceiling(out)) != NMF_STATUS_OK || (st = copy_gbps(&out->copy_gbps)) != NMF_STATUS_OK)
        return st;
    /* blas has no loop of its own: the widest table this CPU runs stands in. */
    const nmf_cpu_kernels *peak = kt->fma_loop ? kt : nmf_cpu_kernels_best();
    out->fma_gflops = fma_peak_gflops(peak);
    out->fma_kernels = peak->name;
    return NMF_STATUS_OK;
}

static nmf_status cpu_get_factors(void *ctx, float *W, float *H)
{
    cpu_ctx *c = ctx;
    memcpy(W, c->W, c->m * c->k * sizeof(float));
    memcpy(H, c->H, c->k * c->n * sizeof(float));
    return NMF_STATUS_OK;
}

static const nmf_bench_hooks cpu_bench = {
    .reset = cpu_reset,
    .measure_ceilings = cpu_measure_ceilings,
};

/* The kernels a fit would run, and why: one line. */
static void cpu_describe(char *buf, size_t size)
{
    const nmf_cpu_kernels *k;
    if (nmf_cpu_kernels_select(&k) == NMF_STATUS_OK)
        snprintf(buf, size, "product kernels %s (needs %s; NMF_CPU_KERNELS=avx512|avx2|generic|blas "
                 "chooses)\n", k->name, k->needs);
    else
        snprintf(buf, size, "product kernels: none (%s)\n", nmf_last_error());
}

static const char *cpu_kernels(void)
{
    const nmf_cpu_kernels *k;
    return nmf_cpu_kernels_select(&k) == NMF_STATUS_OK ? k->name : "none";
}

const nmf_backend nmf_backend_cpu = {
    .name = "cpu",
    .describe = cpu_describe,
    .kernels = cpu_kernels,
    .device = NMF_DEVICE_CPU,
    .precisions = 1u << NMF_PRECISION_FP32,
    .meets = NMF_NEEDS_RANKS | NMF_NEEDS_MASK,
    .init = cpu_init,
    .iterate = cpu_iterate,
    .violations = cpu_violations,
    .rewind = cpu_rewind,
    .loss = cpu_loss,
    .frobenius = cpu_frobenius,
    .get_factors = cpu_get_factors,
    .free = cpu_free,
    .bench = &cpu_bench,
};
