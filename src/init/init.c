/* init.c - the initial W and H, as scikit-learn 1.2.1's _initialize_nmf:
 * init='random' (numpy's legacy RandomState, see rng.c) and the NNDSVD
 * family (Boutsidis & Gallopoulos 2008) from an exact truncated SVD.
 *
 * The SVD goes through the Gram matrix of the short side: G = V Vᵀ (m, m)
 * when m <= n, else G = Vᵀ V (n, n), in double, then its top k eigenpairs
 * with LAPACK's dsyevr. Why this route: it is exact (not randomized) and
 * deterministic for a given BLAS thread count, its cost is one symmetric
 * rank-update over V (m·n·min(m,n) flops, a fraction of a second for the
 * 400 × 10304 faces) plus an eigensolve of min(m,n)², and it needs
 * min(m,n)² doubles of memory besides a bounded block of V in double.
 * Its precision: forming G squares the condition number, so singular
 * values below about sqrt(eps)·S_0 ≈ 1.5e-8·S_0 are noise. That is fine
 * for the leading k triplets NNDSVD uses (well above that on real data);
 * components whose eigenvalue is at the noise floor are treated as exact
 * zeros, which scikit-learn's formula turns into zero columns anyway
 * (λ = sqrt(S·σ) = 0), so rank-deficient V gives zeros, never NaN.
 *
 * Over several ranks (nmf_comm), each holding a slice of V's rows, every
 * init gives each rank its rows of the one-process W, up to rounding:
 * the random one draws the whole W's sequence and keeps its rows; the
 * SVD's wide Gram V Vᵀ gathers each block of columns from the ranks, the
 * tall VᵀV sums the ranks' own, and the singular vectors are gathered
 * whole, so that every rank makes the same components. */
#include "init.h"

#include "comm.h"
#include "error.h"
#include "names.h"
#include "rng.h"
#include "stream.h"

#include <cblas.h>
#include <float.h>
#include <lapack.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define NNDSVD_EPS 1e-6 /* scikit-learn's eps: smaller entries of W, H become 0 */
#define GRAM_BLOCK_DOUBLES ((size_t)1 << 22) /* 32 MiB: V is converted to double in blocks */

static const char *const init_names[] = {
    [NMF_INIT_RANDOM] = "random",     [NMF_INIT_NNDSVD] = "nndsvd",
    [NMF_INIT_NNDSVDA] = "nndsvda",   [NMF_INIT_NNDSVDAR] = "nndsvdar",
    [NMF_INIT_CUSTOM] = "custom",
};
NMF_NAMES(nmf_init_method, nmf_init_name, nmf_init_parse, init_names)

/* Validates what both inits need; NMF_STATUS_BAD_ARGUMENT with a message. */
static nmf_status check_args(const nmf_problem *problem, int k, const float *W,
                             const float *H)
{
    if (!problem || (!problem->V && !problem->V8) || !W || !H)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "init: NULL problem, V, W or H");
    if (problem->m == 0 || problem->n == 0)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "the data matrix is empty (%zu x %zu)",
                         problem->m, problem->n);
    if (k < 1)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "k: %d is not a number of components (must be >= 1)", k);
    return NMF_STATUS_OK;
}

/* The mean of the observed entries of a masked V (summed as mean_of). */
static double observed_mean(const nmf_problem *problem)
{
    const size_t m = problem->m, n = problem->n;
    double sums[2] = {0.0, 0.0}; /* the values, their count */
    for (size_t i = 0; i < m; i++) {
        double s = 0.0, c = 0.0;
        for (size_t j = 0; j < n; j++)
            if (problem->mask[i * n + j]) {
                s += nmf_problem_value(problem, i * n + j);
                c += 1.0;
            }
        sums[0] += s;
        sums[1] += c;
    }
    nmf_sum_doubles(problem, sums, 2);
    return sums[1] > 0.0 ? sums[0] / sums[1] : 0.0;
}

/* mean(V) accumulated in double, row by row (rows summed separately first,
 * which keeps the rounding error small for large V); of the observed
 * entries with a mask. */
static double mean_of(const nmf_problem *problem)
{
    if (problem->mask)
        return observed_mean(problem);
    const size_t m = problem->m, n = problem->n, block = nmf_problem_block_rows(problem, m);
    double total = 0.0;
    for (size_t i = 0; i < m; i++) {
        double s = 0.0;
        if (problem->V) {
            const float *row = problem->V + i * n;
            for (size_t j = 0; j < n; j++)
                s += row[j];
        } else { /* a row of bytes sums exactly in integers */
            const uint8_t *row = problem->V8 + i * n;
            uint64_t bytes = 0;
            for (size_t j = 0; j < n; j++)
                bytes += row[j];
            s = (double)bytes;
        }
        total += s;
        if ((i + 1) % block == 0 || i + 1 == m) /* a streamed V's block, handed back */
            nmf_problem_release(problem, (i / block) * block * n, (i % block + 1) * n);
    }
    return nmf_sum_double(problem, total) / ((double)nmf_rows_total(problem) * (double)n);
}

void nmf_init_transform(const nmf_problem *problem, int k, nmf_solver solver, float *W)
{
    const float start = solver == NMF_SOLVER_MU ? (float)sqrt(mean_of(problem) / k) : 0.0f;
    for (size_t i = 0; i < problem->m * (size_t)k; i++)
        W[i] = start;
}

/* scikit-learn's init='random': avg = sqrt(mean(V)/k); H (k, n) is drawn
 * first, then W (m, k), both in row-major order from RandomState(seed);
 * each entry is |avg·N(0,1)| computed in double and rounded to float.
 * Fails only with NMF_STATUS_BAD_ARGUMENT (NULL/empty input, k < 1). */
nmf_status nmf_init_random(const nmf_problem *problem, int k, uint32_t seed,
                           float *W, float *H)
{
    nmf_status status = check_args(problem, k, W, H);
    if (status != NMF_STATUS_OK)
        return status;
    const double avg = sqrt(mean_of(problem) / k);
    const size_t nh = (size_t)k * problem->n, first = nmf_row0(problem) * (size_t)k,
                 end = first + problem->m * (size_t)k;
    nmf_rng rng;
    nmf_rng_seed(&rng, seed);
    for (size_t i = 0; i < nh; i++)
        H[i] = (float)fabs(avg * nmf_rng_gauss(&rng));
    for (size_t i = 0; i < end; i++) { /* the whole W's draws, up to this rank's last row */
        const double draw = nmf_rng_gauss(&rng);
        if (i >= first)
            W[i - first] = (float)fabs(avg * draw);
    }
    return NMF_STATUS_OK;
}

/* malloc of count doubles, size-checked, in a chain of allocations: NULL
 * without trying once *status is a failure; NULL with *status and the
 * message set (NMF_STATUS_TOO_LARGE on overflow, NMF_STATUS_NO_MEMORY)
 * when it fails. */
static double *alloc_doubles(size_t count, const char *what, nmf_status *status)
{
    if (*status != NMF_STATUS_OK)
        return NULL;
    if (count > SIZE_MAX / sizeof(double)) {
        *status = nmf_error(NMF_STATUS_TOO_LARGE,
                            "nndsvd init: %s needs %zu doubles, more than memory can address",
                            what, count);
        return NULL;
    }
    double *p = malloc(count ? count * sizeof(double) : 1);
    if (!p)
        *status = nmf_error(NMF_STATUS_NO_MEMORY,
                            "nndsvd init: cannot allocate %zu bytes for %s; hint: use the random init",
                            count * sizeof(double), what);
    return p;
}

/* Copies a block of V to double: for wide V (m <= n) the columns
 * [b0, b0+bw) as an (m, bw) matrix, for tall V the rows [b0, b0+bw) as a
 * (bw, n) matrix. Either way the block holds min(m,n)·bw values. */
static void load_block(const nmf_problem *problem, int wide, size_t b0, size_t bw,
                       double *B)
{
    const size_t m = problem->m, n = problem->n;
    /* A streamed V hands back what the block touched: each row's strip
     * once copied, or the whole rows. */
    if (wide) {
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < bw; j++)
                B[i * bw + j] = nmf_problem_value(problem, i * n + b0 + j);
            nmf_problem_release(problem, i * n + b0, bw);
        }
    } else {
        for (size_t i = 0; i < bw * n; i++)
            B[i] = nmf_problem_value(problem, b0 * n + i);
        nmf_problem_release(problem, b0 * n, bw * n);
    }
}

/* The eigenpairs il..dim (ascending) of the symmetric G (dim, dim; its
 * column-major lower triangle) into w and Zt (column-major, dim rows), as
 * LAPACKE_dsyevr would: the workspace asked for first, then the call. The
 * LAPACK is the one in the BLAS library (OpenBLAS), so that the process
 * holds one implementation of both, not a second through LAPACKE. */
static nmf_status top_eigenpairs(double *G, lapack_int dim, lapack_int il, double *w, double *Zt,
                                 lapack_int *isuppz, lapack_int *found)
{
    const char jobz = 'V', range = 'I', uplo = 'L', safe_minimum = 'S';
    const double vl = 0.0, vu = 0.0, abstol = LAPACK_dlamch(&safe_minimum);
    lapack_int info = 0, lwork = -1, liwork = -1, iwork_query = 0;
    double work_query = 0.0;
    LAPACK_dsyevr(&jobz, &range, &uplo, &dim, G, &dim, &vl, &vu, &il, &dim, &abstol, found, w,
                  Zt, &dim, isuppz, &work_query, &lwork, &iwork_query, &liwork, &info);
    if (info != 0)
        return nmf_error(NMF_STATUS_INTERNAL, "nndsvd init: dsyevr's workspace query failed (info %d)",
                         (int)info);
    lwork = (lapack_int)work_query;
    liwork = iwork_query;
    double *work = malloc((size_t)lwork * sizeof *work);
    lapack_int *iwork = malloc((size_t)liwork * sizeof *iwork);
    nmf_status status = NMF_STATUS_OK;
    if (!work || !iwork) {
        status = nmf_error(NMF_STATUS_NO_MEMORY, "nndsvd init: no memory for dsyevr's workspace");
    } else {
        LAPACK_dsyevr(&jobz, &range, &uplo, &dim, G, &dim, &vl, &vu, &il, &dim, &abstol, found,
                      w, Zt, &dim, isuppz, work, &lwork, iwork, &liwork, &info);
        if (info != 0)
            status = nmf_error(NMF_STATUS_INTERNAL, "nndsvd init: dsyevr failed (info %d)",
                               (int)info);
    }
    free(work);
    free(iwork);
    return status;
}

/* A tall V's Gram matrix G (dim, dim) summed over the ranks: its upper
 * triangle alone (row i from column i, all dsyrk writes), packed a run of
 * rows at a time into buf (size >= dim doubles, the same on every rank, so
 * that every rank cuts the same runs). */
static void sum_upper_triangle(const nmf_problem *problem, double *G, size_t dim, double *buf,
                               size_t size)
{
    for (size_t i0 = 0, i1; i0 < dim; i0 = i1) {
        size_t used = 0;
        for (i1 = i0; i1 < dim && used + (dim - i1) <= size; i1++)
            used += dim - i1;
        for (size_t i = i0, at = 0; i < i1; at += dim - i++)
            memcpy(buf + at, G + i * dim + i, (dim - i) * sizeof *buf);
        nmf_sum_doubles(problem, buf, used);
        for (size_t i = i0, at = 0; i < i1; at += dim - i++)
            memcpy(G + i * dim + i, buf + at, (dim - i) * sizeof *buf);
    }
}

/* The top k singular triplets of V (k <= min(m, n)), exact up to rounding:
 * S (k) descending, Ut (k, rows of the whole V) the left and Vt (k, n) the
 * right singular vectors as rows, in double, the same on every rank. Signs follow scikit-learn's svd_flip: the
 * largest-|.| entry of each left vector (the first one on ties) is positive.
 * A singular value at the Gram noise floor (see the file comment) comes
 * back as exactly 0 with zero vectors. The caller owns S, Ut and Vt.
 * Failures: NMF_STATUS_TOO_LARGE (a dimension beyond int, as BLAS needs),
 * NMF_STATUS_NO_MEMORY, NMF_STATUS_INTERNAL (LAPACK info) - all with a
 * message, nothing left allocated. */
static nmf_status truncated_svd(const nmf_problem *problem, size_t k, double *S,
                                double *Ut, double *Vt)
{
    const size_t m = problem->m, n = problem->n, rows = nmf_rows_total(problem);
    const int wide = rows <= n;
    const size_t dim = wide ? rows : n;  /* side of the Gram matrix */
    const size_t len = wide ? n : m;     /* this rank's other side, cut into blocks */
    const size_t out = wide ? n : rows;  /* the singular vectors' other side */
    const int distributed = problem->comm != NULL;
    nmf_status status = NMF_STATUS_OK;
    double *G = NULL, *B = NULL, *B_all = NULL, *w = NULL, *Zt = NULL, *Y = NULL, *Yt = NULL,
           *Yt_all = NULL;
    lapack_int *isuppz = NULL;

    if (rows > INT_MAX || n > INT_MAX)
        return nmf_error(NMF_STATUS_TOO_LARGE,
                         "nndsvd init: V is %zu x %zu, BLAS needs both below %d; "
                         "hint: use the random init", rows, n, INT_MAX);
    size_t bw = GRAM_BLOCK_DOUBLES / dim;
    bw = bw < 1 ? 1 : bw > len ? len : bw;

    /* dim <= INT_MAX: no overflow. Over ranks, a wide V's blocks are
     * gathered (B_all), and a tall V's left singular vectors, made by rows
     * (Yt, (m, k)), gathered whole (Yt_all). */
    G = alloc_doubles(dim * dim, "the Gram matrix", &status);
    B = alloc_doubles((wide ? m : dim) * bw, "a block of V", &status);
    if (wide && distributed)
        B_all = alloc_doubles(rows * bw, "a block of V from every rank", &status);
    w = alloc_doubles(dim, "the eigenvalues", &status);
    Zt = alloc_doubles(k * dim, "the eigenvectors", &status);
    Y = alloc_doubles(k * out, "the singular vectors", &status);
    if (!wide)
        Yt = alloc_doubles(m * k, "this rank's left singular vectors", &status);
    if (!wide && distributed)
        Yt_all = alloc_doubles(rows * k, "the left singular vectors", &status);
    if (status == NMF_STATUS_OK && !(isuppz = malloc(2 * k * sizeof *isuppz)))
        status = nmf_error(NMF_STATUS_NO_MEMORY, "nndsvd init: no memory for dsyevr's %zu indices",
                           2 * k);
    if ((status = nmf_comm_agree(problem->comm, status)) != NMF_STATUS_OK)
        goto cleanup;

    /* G = Σ over blocks of B·Bᵀ (wide, B is (rows, bw)) or Bᵀ·B (tall, B is
     * (bw, n); the ranks' sums added); only the upper triangle (row-major)
     * is written. */
    for (size_t b0 = 0; b0 < len; b0 += bw) {
        size_t nb = len - b0 < bw ? len - b0 : bw;
        load_block(problem, wide, b0, nb, B);
        const double *block = B;
        if (wide && distributed) {
            problem->comm->gather_rows(problem->comm->user, B, nb, B_all);
            block = B_all;
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, wide ? CblasNoTrans : CblasTrans,
                    (int)dim, (int)nb, 1.0, block, wide ? (int)nb : (int)n,
                    b0 ? 1.0 : 0.0, G, (int)dim);
    }
    if (!wide && distributed) {
        /* Runs cut alike on every rank: B's size on the rank with fewest rows. */
        const size_t fewest = rows / (size_t)problem->comm->ranks, least_bw = GRAM_BLOCK_DOUBLES / dim;
        sum_upper_triangle(problem, G, dim, B, dim * (least_bw < fewest ? least_bw : fewest));
    }

    /* The top k eigenpairs (il..iu, ascending). G's row-major upper triangle
     * is its column-major lower one, so LAPACK gets G as it is ('L'), and
     * the column-major (dim, k) eigenvector matrix is Zt, (k, dim) row-major:
     * one eigenvector per row. Every rank has the same G. */
    lapack_int found = 0;
    status = top_eigenpairs(G, (lapack_int)dim, (lapack_int)(dim - k + 1), w, Zt, isuppz, &found);
    if (status == NMF_STATUS_OK && found != (lapack_int)k)
        status = nmf_error(NMF_STATUS_INTERNAL,
                           "nndsvd init: dsyevr found %d of %zu eigenpairs", (int)found, k);
    if ((status = nmf_comm_agree(problem->comm, status)) != NMF_STATUS_OK) /* its workspace */
        goto cleanup;

    /* Wide: Y = Zt·V (k, n), row j is (Vᵀu_j)ᵀ = S_j·v_j, the ranks' rows'
     * shares summed. Tall: Yt = V·Ztᵀ (rows, k), column j is V·v_j = S_j·u_j,
     * made by blocks of this rank's rows, gathered, and Y = Ytᵀ. */
    for (size_t b0 = 0; b0 < len; b0 += bw) {
        size_t nb = len - b0 < bw ? len - b0 : bw;
        load_block(problem, wide, b0, nb, B);
        if (wide)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)k, (int)nb, (int)m, 1.0,
                        Zt + nmf_row0(problem), (int)dim, B, (int)nb, 0.0, Y + b0, (int)n);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)k, (int)n, 1.0, B,
                        (int)n, Zt, (int)dim, 0.0, Yt + b0 * k, (int)k);
    }
    if (wide) {
        nmf_sum_doubles(problem, Y, k * n);
    } else {
        if (distributed)
            problem->comm->gather_rows(problem->comm->user, Yt, k, Yt_all);
        const double *all = distributed ? Yt_all : Yt;
        for (size_t i = 0; i < rows; i++)
            for (size_t j = 0; j < k; j++)
                Y[j * rows + i] = all[i * k + j];
    }

    /* Component j is eigenpair k-1-j (dsyevr sorts ascending). Eigenvalues
     * within dim·eps·λ_max of zero are rounding noise of the Gram route:
     * S = 0 there, and zero vectors instead of noise divided by noise. */
    const double noise_floor = fmax(w[k - 1], 0.0) * (double)dim * DBL_EPSILON;
    for (size_t j = 0; j < k; j++) {
        const size_t e = k - 1 - j;
        double *u = Ut + j * rows, *v = Vt + j * n;
        double *eig = wide ? u : v, *other = wide ? v : u;
        S[j] = w[e] > noise_floor ? sqrt(w[e]) : 0.0;
        for (size_t i = 0; i < dim; i++)
            eig[i] = S[j] > 0.0 ? Zt[e * dim + i] : 0.0;
        for (size_t i = 0; i < out; i++)
            other[i] = S[j] > 0.0 ? Y[e * out + i] / S[j] : 0.0;

        size_t imax = 0; /* svd_flip: np.argmax(np.abs(u)) takes the first maximum */
        for (size_t i = 1; i < rows; i++)
            if (fabs(u[i]) > fabs(u[imax]))
                imax = i;
        if (u[imax] < 0.0) {
            for (size_t i = 0; i < rows; i++)
                u[i] = -u[i];
            for (size_t i = 0; i < n; i++)
                v[i] = -v[i];
        }
    }

cleanup:
    free(G);
    free(B);
    free(B_all);
    free(w);
    free(Zt);
    free(Y);
    free(Yt);
    free(Yt_all);
    free(isuppz);
    return status;
}

/* Which part of a singular vector a component uses. */
typedef enum { PART_ABS, PART_POS, PART_NEG } vec_part;

static double part_of(double x, vec_part part)
{
    switch (part) {
    case PART_ABS: return fabs(x);
    case PART_POS: return x > 0.0 ? x : 0.0;
    case PART_NEG: return x < 0.0 ? -x : 0.0;
    }
    return 0.0;
}

/* An NNDSVD entry as float: scikit-learn's `W[W < eps] = 0` on the double. */
static float nndsvd_entry(double value)
{
    return value < NNDSVD_EPS ? 0.0f : (float)value;
}

/* Writes component j, W[:, j] of W (m, k) and H[j, :] of H (k, n), from the
 * singular triplet (s, x (m), y (n)) with scikit-learn's rule: component 0
 * uses |x|, |y| and sqrt(s); later ones the positive or the negative parts,
 * whichever has the larger product of norms m_p > m_n (ties: negative),
 * normalised and scaled by sqrt(s·σ). A zero product (s == 0, or parts
 * that vanish, where scikit-learn would divide 0 by 0) gives a zero
 * component instead of NaN. */
static void nndsvd_component(size_t j, double s, const double *x, size_t m,
                             const double *y, size_t n, size_t k, float *W, float *H)
{
    double xp = 0.0, xn = 0.0, yp = 0.0, yn = 0.0; /* squared norms of the parts */
    for (size_t i = 0; i < m; i++)
        *(x[i] > 0.0 ? &xp : &xn) += x[i] * x[i];
    for (size_t i = 0; i < n; i++)
        *(y[i] > 0.0 ? &yp : &yn) += y[i] * y[i];
    xp = sqrt(xp), xn = sqrt(xn), yp = sqrt(yp), yn = sqrt(yn);

    vec_part part = PART_ABS;
    double lbd = sqrt(s), xnorm = 1.0, ynorm = 1.0, sigma = 1.0;
    if (j > 0) {
        const double mp = xp * yp, mn = xn * yn;
        part = mp > mn ? PART_POS : PART_NEG;
        sigma = mp > mn ? mp : mn;
        xnorm = mp > mn ? xp : xn;
        ynorm = mp > mn ? yp : yn;
        lbd = sqrt(s * sigma);
    }
    const int zero = s == 0.0 || sigma == 0.0;
    for (size_t i = 0; i < m; i++)
        W[i * k + j] = zero ? 0.0f : nndsvd_entry(lbd * (part_of(x[i], part) / xnorm));
    for (size_t i = 0; i < n; i++)
        H[j * n + i] = zero ? 0.0f : nndsvd_entry(lbd * (part_of(y[i], part) / ynorm));
}

/* NNDSVD (scikit-learn's _initialize_nmf) into W (m, k) and H (k, n):
 * components from the exact truncated SVD, entries below 1e-6 set to 0,
 * then for NNDSVDA every zero becomes mean(V), for NNDSVDAR every zero of W
 * (row-major order), then of H, becomes |mean(V)·N(0,1)/100| drawn from a
 * fresh RandomState(seed). The result does not depend on the SVD's signs
 * except at exact ties m_p == m_n. Failures: NMF_STATUS_BAD_ARGUMENT (k out
 * of 1..min(m, n), init not of the NNDSVD family), NMF_STATUS_TOO_LARGE,
 * NMF_STATUS_NO_MEMORY, NMF_STATUS_INTERNAL (LAPACK); W and H are then
 * unspecified. */
nmf_status nmf_init_nndsvd(const nmf_problem *problem, int k, nmf_init_method init,
                           uint32_t seed, float *W_out, float *H)
{
    float *W = W_out;
    nmf_status status = check_args(problem, k, W, H);
    if (status != NMF_STATUS_OK)
        return status;
    if (init != NMF_INIT_NNDSVD && init != NMF_INIT_NNDSVDA && init != NMF_INIT_NNDSVDAR)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "init %s: not an nndsvd init",
                         nmf_init_name(init) ? nmf_init_name(init) : "(unknown)");
    /* Over ranks, every rank makes the whole W (m rows) and keeps its own. */
    const size_t m = nmf_rows_total(problem), n = problem->n, kk = (size_t)k;
    const size_t dim = m < n ? m : n;
    if (kk > dim)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                         "k: %d is larger than min(images, pixels) = %zu, which the nndsvd "
                         "inits need; hint: use the random init or a smaller k",
                         k, dim);

    double *S = alloc_doubles(kk, "the singular values", &status);
    double *Ut = alloc_doubles(kk * m, "the left singular vectors", &status);
    double *Vt = alloc_doubles(kk * n, "the right singular vectors", &status);
    float *W_all = problem->comm ? malloc(m * kk * sizeof *W_all) : W;
    if (status == NMF_STATUS_OK && !W_all)
        status = nmf_error(NMF_STATUS_NO_MEMORY, "nndsvd init: no memory for W (%zu x %zu)", m, kk);
    if ((status = nmf_comm_agree(problem->comm, status)) != NMF_STATUS_OK ||
        (status = truncated_svd(problem, kk, S, Ut, Vt)) != NMF_STATUS_OK)
        goto cleanup;
    W = W_all;

    for (size_t j = 0; j < kk; j++)
        nndsvd_component(j, S[j], Ut + j * m, m, Vt + j * n, n, kk, W, H);

    const size_t nw = m * kk, nh = kk * n;
    if (init == NMF_INIT_NNDSVDA) {
        const float avg = (float)mean_of(problem);
        for (size_t i = 0; i < nw; i++)
            if (W[i] == 0.0f)
                W[i] = avg;
        for (size_t i = 0; i < nh; i++)
            if (H[i] == 0.0f)
                H[i] = avg;
    } else if (init == NMF_INIT_NNDSVDAR) {
        const double avg = mean_of(problem);
        nmf_rng rng;
        nmf_rng_seed(&rng, seed);
        for (size_t i = 0; i < nw; i++)
            if (W[i] == 0.0f)
                W[i] = (float)fabs(avg * nmf_rng_gauss(&rng) / 100.0);
        for (size_t i = 0; i < nh; i++)
            if (H[i] == 0.0f)
                H[i] = (float)fabs(avg * nmf_rng_gauss(&rng) / 100.0);
    }
    if (problem->comm)
        memcpy(W_out, W_all + nmf_row0(problem) * kk, problem->m * kk * sizeof *W_out);

cleanup:
    if (problem->comm)
        free(W_all);
    free(S);
    free(Ut);
    free(Vt);
    return status;
}

/* A masked V as floats with each missing entry filled in, into *out
 * (m, n), for the NNDSVD starts: the mean of its column's observed entries
 * (the same pixel in the images that show it), or of all observed entries
 * for a column none shows. */
static nmf_status fill_missing(const nmf_problem *problem, float **out)
{
    const size_t m = problem->m, n = problem->n;
    double *sums = calloc(2 * n, sizeof *sums); /* per column: the values, their count */
    float *V = malloc(m * n * sizeof *V);
    nmf_status st = !sums || !V ? nmf_error(NMF_STATUS_NO_MEMORY,
                                            "out of memory for V with its missing pixels filled "
                                            "(%zu x %zu floats)", m, n)
                                : NMF_STATUS_OK;
    /* Every rank reaches the sums below, or none does. */
    if ((st = nmf_comm_agree(problem->comm, st)) != NMF_STATUS_OK) {
        free(sums);
        free(V);
        return st;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            if (problem->mask[i * n + j]) {
                sums[j] += nmf_problem_value(problem, i * n + j);
                sums[n + j] += 1.0;
            }
    nmf_sum_doubles(problem, sums, 2 * n); /* the ranks' rows */
    const double overall = observed_mean(problem);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            V[i * n + j] = problem->mask[i * n + j] ? nmf_problem_value(problem, i * n + j)
                           : sums[n + j] > 0.0     ? (float)(sums[j] / sums[n + j])
                                                   : (float)overall;
    free(sums);
    *out = V;
    return NMF_STATUS_OK;
}

/* Dispatches on p->init: random or the NNDSVD family into the caller's
 * W (m, k) and H (k, n); with a mask, the NNDSVD family starts from V
 * with its missing entries filled (fill_missing), the random init from the
 * observed entries' mean. NMF_STATUS_BAD_ARGUMENT for CUSTOM (the caller
 * supplies W and H), an unknown init, NULL pointers, k < 1, or an NNDSVD
 * init with k > min(m, n); otherwise the statuses of the init called. */
nmf_status nmf_initialize(const nmf_problem *problem, const nmf_params *p,
                          float *W, float *H)
{
    if (!p)
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "init: NULL parameters");
    switch (p->init) {
    case NMF_INIT_RANDOM:
        return nmf_init_random(problem, p->k, p->seed, W, H);
    case NMF_INIT_NNDSVD:
    case NMF_INIT_NNDSVDA:
    case NMF_INIT_NNDSVDAR: {
        if (!problem->mask)
            return nmf_init_nndsvd(problem, p->k, p->init, p->seed, W, H);
        float *filled = NULL;
        nmf_status st = fill_missing(problem, &filled);
        if (st != NMF_STATUS_OK)
            return st;
        nmf_problem whole = *problem;
        whole.V = filled, whole.V8 = NULL, whole.mask = NULL;
        st = nmf_init_nndsvd(&whole, p->k, p->init, p->seed, W, H);
        free(filled);
        return st;
    }
    case NMF_INIT_CUSTOM:
        return nmf_error(NMF_STATUS_BAD_ARGUMENT, "custom init needs W and H from the caller");
    }
    return nmf_error(NMF_STATUS_BAD_ARGUMENT, "init: unknown init method %d", (int)p->init);
}
