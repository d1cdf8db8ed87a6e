/* test_init.c - the initial W and H against scikit-learn 1.2.1.
 *
 * The reference arrays below were printed once (%.12g) by /usr/bin/python3
 * with numpy 1.24.2 and scikit-learn 1.2.1, running
 *     from sklearn.decomposition._nmf import _initialize_nmf
 *     V = np.array([[(i*n + j) % 11 for j in range(n)] for i in range(m)],
 *                  dtype=np.float64)
 *     W, H = _initialize_nmf(V, 3, init=INIT, random_state=42)
 * for (m, n) = (7, 5) (tall: the Gram matrix is VᵀV) and (5, 9) (wide:
 * VVᵀ). scikit-learn's randomized_svd is exact on these: with
 * k + 10 oversamples its range finder spans all of V, and it agreed with
 * numpy.linalg.svd (after svd_flip) to 7e-15 in S and 2e-15 in U, V, so
 * the references are sklearn's own output. The test does not run Python. */
#include "init.h"
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static const double random_7x5_W[] = {
    0.706997447827, 1.27349261707, 0.395121802597,
    1.14171250575, 1.77577317738, 1.84284709362,
    0.283881928592, 0.0849072154155, 1.79142036603,
    0.684484675305, 0.139469548502, 1.44721246584,
    0.472387393124, 0.755218635939, 0.366763845767,
    0.756561397976, 2.3289791806, 0.0169708608963,
    1.32992266131, 1.03423448563, 1.53503910338};
static const double random_7x5_H[] = {
    0.624548154132, 0.173847903377, 0.814377199584, 1.91499573697, 0.294414920696,
    0.294394277655, 1.98563790246, 0.964941185193, 0.590297979976, 0.682192910496,
    0.582682540619, 0.585589631689, 0.304233509675, 2.40568068756, 2.168841459};
static const double nndsvd_7x5_W[] = {
    0.774296712951, 0, 0,
    2.81330272527, 0, 0.00913249181545,
    1.36308008753, 0.769777690057, 1.96113403657,
    2.40550152281, 0, 0.00728541289021,
    1.93580076608, 1.88141294272, 0.643031918359,
    1.99770032034, 0, 0.00543833396496,
    2.41402452495, 1.63816017355, 0};
static const double nndsvd_7x5_H[] = {
    2.69297792053, 2.64957318928, 2.39422294194, 1.96189745138, 2.42292485161,
    2.18050910906, 1.43569534814, 0, 0, 0,
    1.76932207059, 0, 0, 0.677725493164, 0.818468312755};
static const double nndsvda_7x5_W[] = {
    0.774296712951, 4.74285714286, 4.74285714286,
    2.81330272527, 4.74285714286, 0.00913249181545,
    1.36308008753, 0.769777690057, 1.96113403657,
    2.40550152281, 4.74285714286, 0.00728541289021,
    1.93580076608, 1.88141294272, 0.643031918359,
    1.99770032034, 4.74285714286, 0.00543833396496,
    2.41402452495, 1.63816017355, 4.74285714286};
static const double nndsvda_7x5_H[] = {
    2.69297792053, 2.64957318928, 2.39422294194, 1.96189745138, 2.42292485161,
    2.18050910906, 1.43569534814, 4.74285714286, 4.74285714286, 4.74285714286,
    1.76932207059, 4.74285714286, 4.74285714286, 0.677725493164, 0.818468312755};
static const double nndsvdar_7x5_W[] = {
    0.774296712951, 0.0235584426857, 0.00655767828412,
    2.81330272527, 0.0307189420928, 0.00913249181545,
    1.36308008753, 0.769777690057, 1.96113403657,
    2.40550152281, 0.0722351303325, 0.00728541289021,
    1.93580076608, 1.88141294272, 0.643031918359,
    1.99770032034, 0.0111055600583, 0.00543833396496,
    2.41402452495, 1.63816017355, 0.0111047813867};
static const double nndsvdar_7x5_H[] = {
    2.69297792053, 2.64957318928, 2.39422294194, 1.96189745138, 2.42292485161,
    2.18050910906, 1.43569534814, 0.0748998078212, 0.0363983328684, 0.0222664994472,
    1.76932207059, 0.0257328477815, 0.0219792391448, 0.677725493164, 0.818468312755};
static const double random_5x9_W[] = {
    0.479604622793, 0.766757018261, 0.37236733762,
    0.768120295286, 2.36456179327, 0.0172301451248,
    1.3502414874, 1.05003572826, 1.55849173975,
    0.266628890241, 2.50165506515, 1.69552176981,
    0.251307044917, 0.942703895813, 0.218763517095};
static const double random_5x9_H[] = {
    0.634090126532, 0.176503986635, 0.826819418348, 1.94425342726, 0.29891305111, 0.298892092681, 2.01597487798, 0.979683750833, 0.599316671322,
    0.692615591086, 0.59158488175, 0.594536387942, 0.308881650469, 2.44243516129, 2.20197745533, 0.717799097132, 1.29294929358, 0.401158553022,
    1.1591558192, 1.80290379739, 1.87100248242, 0.288219133833, 0.0862044449418, 1.81879004694, 0.69494236994, 0.141600392334, 1.46932326917};
static const double nndsvd_5x9_W[] = {
    1.94887236631, 1.80391088268, 0.839448748367,
    2.27699455591, 0, 2.40119262489,
    2.61485445714, 0, 0.0375988066232,
    2.88921742474, 0, 0,
    3.04061243377, 1.96218045287, 0};
static const double nndsvd_5x9_H[] = {
    1.86647514522, 2.24867623996, 1.88126459258, 2.26346568731, 1.78482668265, 2.16702777738, 1.59806533477, 1.9802664295, 1.36146301228,
    0, 0, 0, 0, 1.06737724854, 1.07436005634, 1.54742421293, 1.55440702074, 0,
    0.912231479834, 0.984252440106, 0, 0, 0, 0, 1.04693596374, 1.11895692401, 1.52405880615};
static const double nndsvda_5x9_W[] = {
    1.94887236631, 1.80391088268, 0.839448748367,
    2.27699455591, 4.88888888889, 2.40119262489,
    2.61485445714, 4.88888888889, 0.0375988066232,
    2.88921742474, 4.88888888889, 4.88888888889,
    3.04061243377, 1.96218045287, 4.88888888889};
static const double nndsvda_5x9_H[] = {
    1.86647514522, 2.24867623996, 1.88126459258, 2.26346568731, 1.78482668265, 2.16702777738, 1.59806533477, 1.9802664295, 1.36146301228,
    4.88888888889, 4.88888888889, 4.88888888889, 4.88888888889, 1.06737724854, 1.07436005634, 1.54742421293, 1.55440702074, 4.88888888889,
    0.912231479834, 0.984252440106, 4.88888888889, 4.88888888889, 4.88888888889, 4.88888888889, 1.04693596374, 1.11895692401, 1.52405880615};
static const double nndsvdar_5x9_W[] = {
    1.94887236631, 1.80391088268, 0.839448748367,
    2.27699455591, 0.0242838030361, 2.40119262489,
    2.61485445714, 0.00675958805726, 0.0375988066232,
    2.88921742474, 0.0316647729738, 0.0744592374244,
    3.04061243377, 1.96218045287, 0.0114474983198};
static const double nndsvdar_5x9_H[] = {
    1.86647514522, 2.24867623996, 1.88126459258, 2.26346568731, 1.78482668265, 2.16702777738, 1.59806533477, 1.9802664295, 1.36146301228,
    0.0114466956731, 0.0772059598693, 0.037519031203, 0.0229520810902, 1.06737724854, 1.07436005634, 1.54742421293, 1.55440702074, 0.0265251576864,
    0.912231479834, 0.984252440106, 0.0226559760931, 0.0227690101745, 0.0118292666099, 0.0935381452944, 1.04693596374, 1.11895692401, 1.52405880615};

/* V[i][j] = (i*n + j) % 11, the matrix the references were made from. */
static float *make_v(size_t m, size_t n)
{
    float *V = malloc(m * n * sizeof *V);
    for (size_t i = 0; V && i < m * n; i++)
        V[i] = (float)(i % 11);
    return V;
}

/* Checks |got - ref| <= atol + rtol·|ref| for every element (NaN fails),
 * printing the first few offenders. */
static void check_array(const char *what, const float *got, const double *ref,
                        size_t count, double atol, double rtol)
{
    size_t bad = 0;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)got[i] - ref[i]);
        if (!isfinite(got[i]) || d > atol + rtol * fabs(ref[i])) {
            if (bad < 4)
                fprintf(stderr, "  %s[%zu] = %.9g, want %.9g\n", what, i, got[i], ref[i]);
            bad++;
        }
    }
    if (bad)
        fprintf(stderr, "  %s: %zu of %zu elements off\n", what, bad, count);
    CHECK(bad == 0);
}

/* Counts elements that are not finite, negative, and exactly zero. */
static void census(const float *a, size_t count, size_t *nonfinite, size_t *negative,
                   size_t *zeros)
{
    for (size_t i = 0; i < count; i++) {
        *nonfinite += !isfinite(a[i]);
        *negative += a[i] < 0.0f;
        *zeros += a[i] == 0.0f;
    }
}

typedef struct {
    size_t m, n;
    nmf_init_method init;
    const double *W, *H;
} ref_case;

static const ref_case ref_cases[] = {
    {7, 5, NMF_INIT_RANDOM, random_7x5_W, random_7x5_H},
    {7, 5, NMF_INIT_NNDSVD, nndsvd_7x5_W, nndsvd_7x5_H},
    {7, 5, NMF_INIT_NNDSVDA, nndsvda_7x5_W, nndsvda_7x5_H},
    {7, 5, NMF_INIT_NNDSVDAR, nndsvdar_7x5_W, nndsvdar_7x5_H},
    {5, 9, NMF_INIT_RANDOM, random_5x9_W, random_5x9_H},
    {5, 9, NMF_INIT_NNDSVD, nndsvd_5x9_W, nndsvd_5x9_H},
    {5, 9, NMF_INIT_NNDSVDA, nndsvda_5x9_W, nndsvda_5x9_H},
    {5, 9, NMF_INIT_NNDSVDAR, nndsvdar_5x9_W, nndsvdar_5x9_H},
};

/* Our init (float, exact Gram SVD) against scikit-learn's (float64).
 * random: only float rounding separates the two, hence rtol 1e-6. NNDSVD:
 * float rounding plus the SVD route's (~1e-14 here); rtol 1e-5 with
 * atol 1e-6 (an absolute floor for the near-threshold entries). */
static void test_references(void)
{
    for (size_t c = 0; c < sizeof ref_cases / sizeof ref_cases[0]; c++) {
        const ref_case *rc = &ref_cases[c];
        const int k = 3;
        float *V = make_v(rc->m, rc->n);
        float *W = calloc(rc->m * k, sizeof *W), *H = calloc(k * rc->n, sizeof *H);
        CHECK(V && W && H);
        if (!V || !W || !H)
            return;
        nmf_problem problem = {rc->m, rc->n, V, NULL, 0, NULL, NULL};
        nmf_status st = rc->init == NMF_INIT_RANDOM
                            ? nmf_init_random(&problem, k, 42, W, H)
                            : nmf_init_nndsvd(&problem, k, rc->init, 42, W, H);
        CHECK(st == NMF_STATUS_OK);
        char what[64];
        double rtol = rc->init == NMF_INIT_RANDOM ? 1e-6 : 1e-5;
        double atol = rc->init == NMF_INIT_RANDOM ? 0.0 : 1e-6;
        snprintf(what, sizeof what, "%s %zux%zu W", nmf_init_name(rc->init), rc->m, rc->n);
        check_array(what, W, rc->W, rc->m * k, atol, rtol);
        snprintf(what, sizeof what, "%s %zux%zu H", nmf_init_name(rc->init), rc->m, rc->n);
        check_array(what, H, rc->H, k * rc->n, atol, rtol);

        /* Properties: everything >= 0; zeros only for plain nndsvd. */
        size_t nonfinite = 0, negative = 0, zeros = 0;
        census(W, rc->m * k, &nonfinite, &negative, &zeros);
        census(H, k * rc->n, &nonfinite, &negative, &zeros);
        CHECK(nonfinite == 0 && negative == 0);
        if (rc->init == NMF_INIT_NNDSVDA || rc->init == NMF_INIT_NNDSVDAR)
            CHECK(zeros == 0);
        if (rc->init == NMF_INIT_NNDSVD)
            CHECK(zeros > 0); /* the references have zeros: the fills are exercised */

        /* nmf_initialize dispatches to the same code. */
        nmf_params p;
        memset(&p, 0, sizeof p);
        p.k = k;
        p.seed = 42;
        p.init = rc->init;
        float *W2 = calloc(rc->m * k, sizeof *W2), *H2 = calloc(k * rc->n, sizeof *H2);
        CHECK(W2 && H2 && nmf_initialize(&problem, &p, W2, H2) == NMF_STATUS_OK);
        CHECK(W2 && H2 && memcmp(W, W2, rc->m * k * sizeof *W) == 0 &&
              memcmp(H, H2, k * rc->n * sizeof *H) == 0);
        free(W2);
        free(H2);
        free(V);
        free(W);
        free(H);
    }
}

static void test_names(void)
{
    static const char *const names[] = {"random", "nndsvd", "nndsvda", "nndsvdar", "custom"};
    for (int i = 0; i < 5; i++) {
        nmf_init_method got = NMF_INIT_RANDOM;
        CHECK(nmf_init_parse(names[i], &got) == 0 && got == (nmf_init_method)i);
        CHECK(nmf_init_name((nmf_init_method)i) && strcmp(nmf_init_name(got), names[i]) == 0);
    }
    nmf_init_method untouched = NMF_INIT_NNDSVDA;
    CHECK(nmf_init_parse("NNDSVDA", &untouched) == -1 && untouched == NMF_INIT_NNDSVDA);
    CHECK(nmf_init_parse("", &untouched) == -1);
    CHECK(nmf_init_parse(NULL, &untouched) == -1);
    CHECK(nmf_init_name((nmf_init_method)99) == NULL);
}

/* Refusals: k > min(m, n) for the NNDSVD family (random accepts it), k < 1,
 * custom, an unknown init. */
static void test_refusals(void)
{
    float *V = make_v(7, 5), W[7 * 6], H[6 * 5];
    nmf_problem problem = {7, 5, V, NULL, 0, NULL, NULL};
    nmf_params p;
    memset(&p, 0, sizeof p);
    p.k = 6;
    p.seed = 42;
    for (int init = NMF_INIT_NNDSVD; init <= NMF_INIT_NNDSVDAR; init++) {
        p.init = (nmf_init_method)init;
        CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_BAD_ARGUMENT);
        CHECK(strstr(nmf_last_error(), "k: 6 is larger than min(images, pixels) = 5") ==
              nmf_last_error());
        CHECK(strstr(nmf_last_error(), "hint: use the random init") != NULL);
    }
    p.init = NMF_INIT_RANDOM;
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_OK);
    p.k = 5; /* k == min(m, n) is allowed */
    p.init = NMF_INIT_NNDSVDA;
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_OK);
    p.k = 0;
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_BAD_ARGUMENT);
    p.init = NMF_INIT_RANDOM;
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_BAD_ARGUMENT);
    p.k = 2;
    p.init = NMF_INIT_CUSTOM;
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_BAD_ARGUMENT);
    CHECK(strstr(nmf_last_error(), "custom init needs W and H") != NULL);
    p.init = (nmf_init_method)42;
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_BAD_ARGUMENT);
    CHECK(nmf_init_nndsvd(&problem, 2, NMF_INIT_RANDOM, 42, W, H) == NMF_STATUS_BAD_ARGUMENT);
    free(V);
}

/* V = a·bᵀ (rank 1) with k = 3 and all-black V: the singular values past
 * the rank are zero; no NaN, components 1.. are zero (nndsvd) and W·H
 * reproduces the rank-one V; at scale 1 and at scale 100, where the Gram
 * route's noise in the zero eigenvalues is larger in absolute terms. */
static void test_degenerate(void)
{
    enum { M = 6, N = 4, K = 3 };
    float V[M * N], W[M * K], H[K * N];
    nmf_problem problem = {M, N, V, NULL, 0, NULL, NULL};
    for (int c = 0; c < 6; c++) {
        const int scale = c < 3 ? 1 : 100;
        const nmf_init_method init = (nmf_init_method)(NMF_INIT_NNDSVD + c % 3);
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                V[i * N + j] = (float)((i + 1) * (j + 2) * scale);
        CHECK(nmf_init_nndsvd(&problem, K, init, 42, W, H) == NMF_STATUS_OK);
        size_t nonfinite = 0, negative = 0, zeros = 0;
        census(W, M * K, &nonfinite, &negative, &zeros);
        census(H, K * N, &nonfinite, &negative, &zeros);
        CHECK(nonfinite == 0 && negative == 0);
        if (init == NMF_INIT_NNDSVD)
            CHECK(zeros == (size_t)(M * (K - 1) + (K - 1) * N));
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
                CHECK_CLOSE((double)W[i * K] * H[j], V[i * N + j], 0.0, 1e-5);
    }

    float black[M * N] = {0};
    problem.V = black;
    for (int init = NMF_INIT_RANDOM; init <= NMF_INIT_NNDSVDAR; init++) {
        nmf_status st = init == NMF_INIT_RANDOM
                            ? nmf_init_random(&problem, K, 42, W, H)
                            : nmf_init_nndsvd(&problem, K, (nmf_init_method)init, 42, W, H);
        CHECK(st == NMF_STATUS_OK);
        size_t nonfinite = 0, negative = 0, zeros = 0;
        census(W, M * K, &nonfinite, &negative, &zeros);
        census(H, K * N, &nonfinite, &negative, &zeros);
        CHECK(nonfinite == 0 && negative == 0);
    }
}

/* A V large enough that the Gram matrix is accumulated over several
 * blocks of V (4 Mi doubles each), wide and tall: for a rank-one V the
 * first NNDSVD component is the whole of V. */
static void test_blocks(void)
{
    const size_t short_side = 3, long_side = 1500000;
    float *V = malloc(short_side * long_side * sizeof *V);
    float *W = malloc(long_side * sizeof *W), *H = malloc(long_side * sizeof *H);
    CHECK(V && W && H);
    if (!V || !W || !H)
        goto done;
    for (int wide = 0; wide <= 1; wide++) {
        const size_t m = wide ? short_side : long_side, n = wide ? long_side : short_side;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++)
                V[i * n + j] = (float)((i % 5 + 1) * (j % 7 + 1));
        nmf_problem problem = {m, n, V, NULL, 0, NULL, NULL};
        CHECK(nmf_init_nndsvd(&problem, 1, NMF_INIT_NNDSVD, 42, W, H) == NMF_STATUS_OK);
        size_t bad = 0;
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < n; j++) {
                double v = V[i * n + j], d = (double)W[i] * H[j] - v;
                bad += !(fabs(d) <= 1e-5 * v);
            }
        if (bad)
            fprintf(stderr, "  blocks (%s): %zu entries of W·H off\n", wide ? "wide" : "tall", bad);
        CHECK(bad == 0);
    }
done:
    free(V);
    free(W);
    free(H);
}

int main(void)
{
    test_names();
    test_references();
    test_refusals();
    test_degenerate();
    test_blocks();
    return test_exit();
}
