/* test_faces.c - the bundled ORL faces end to end through the library:
 * loading order, scikit-learn's reference run reproduced, the reported loss
 * against a float64 computation.
 *
 * Reference values: scikit-learn 1.2.1 with numpy 1.24.2 (Debian's
 * python3-sklearn, /usr/bin/python3), V the 400 faces in natural order as
 * float64, NMF(n_components=20, init='random', random_state=42, solver='mu',
 * max_iter=200, tol=0).fit_transform(V); the figures below are
 * reconstruction_err_, np.linalg.norm(components_, axis=1) and
 * np.linalg.norm(W, axis=0), printed with %.6g. The error history is
 * ../shared/REFERENCE.md's. */
#include "dataset.h"
#include "nmf/nmf.h"
#include "oracle.h"
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

static const double sklearn_error = 49203.842995310966;
static const double sklearn_history[][2] = {
    {0, 137608}, {10, 79980}, {50, 61290}, {100, 52556}, {200, 49204}};
static const double sklearn_H_norms[20] = {
    262.465, 269.115, 332.496, 330.816, 279.537, 346.56,  247.291, 277.464, 295.551, 285.203,
    289.703, 337.262, 290.022, 261.799, 313.617, 290.796, 287.519, 236.924, 263.983, 291.818};
static const double sklearn_W_norms[20] = {
    82.7497, 84.1469, 87.8683, 78.186,  81.3972, 76.9296, 69.474,  84.0479, 80.9587, 84.4985,
    71.5132, 91.0235, 81.598,  69.8394, 77.0467, 90.2547, 73.5171, 77.0176, 73.4935, 76.1219};

static int ends_with(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);
    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

int main(void)
{
    const char *inputs[1] = {NMF_BUNDLED_DATA};
    dataset_options opt;
    dataset_options_default(&opt);
    dataset d;
    nmf_set_note_handler(NULL, NULL); /* the README is skipped quietly */
    if (dataset_load(inputs, 1, &opt, &d) != NMF_STATUS_OK) {
        fprintf(stderr, "cannot load the bundled faces: %s\n", nmf_last_error());
        return 1;
    }
    CHECK(d.m == 400 && d.width == 92 && d.height == 112 && d.n == 10304);
    CHECK(d.skipped == 1);
    CHECK(ends_with(d.paths[0], "s1/1.pgm"));
    CHECK(ends_with(d.paths[9], "s1/10.pgm"));
    CHECK(ends_with(d.paths[10], "s2/1.pgm"));
    CHECK(ends_with(d.paths[399], "s40/10.pgm"));

    nmf_problem problem = dataset_problem(&d);
    nmf_params p;
    nmf_params_sklearn(&p);
    p.solver = NMF_SOLVER_MU; /* the reference is scikit-learn's solver='mu' */
    p.device = NMF_DEVICE_CPU; /* this tests the CPU backend */
    p.init = NMF_INIT_RANDOM;
    p.max_iter = 200;
    p.tol = 0;
    float *W = malloc(d.m * 20 * sizeof *W), *H = malloc(20 * d.n * sizeof *H);
    nmf_result r;
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_OK);
    CHECK(nmf_fit(&problem, &p, W, H, &r) == NMF_STATUS_OK);
    printf("faces, random init, 200 iterations: error %.4f (scikit-learn %.4f), %.2f ms/iter\n",
           r.reconstruction_err, sklearn_error, 1e3 * r.fit_s / r.iterations);

    /* The target: scikit-learn's float64 error within 1e-4. */
    CHECK_CLOSE(r.reconstruction_err, sklearn_error, 0.0, 1e-4);
    CHECK(r.history_len == 21);
    for (size_t i = 0; i < sizeof sklearn_history / sizeof *sklearn_history; i++)
        for (int h = 0; h < r.history_len; h++)
            if (r.history_iter[h] == (int)sklearn_history[i][0])
                CHECK_CLOSE(r.history_err[h], sklearn_history[i][1], 1.0, 1e-4);

    /* The reported (trace-form) loss against a direct float64 computation. */
    CHECK_CLOSE(r.reconstruction_err, reconstruction_error_f64(&problem, W, H, 20), 0.0, 1e-5);

    /* Components one to one: same order and the same norms (float32 vs
     * float64 trajectories drift by ~1e-4 over 200 iterations). */
    for (size_t t = 0; t < 20; t++) {
        double hn = 0.0, wn = 0.0;
        for (size_t j = 0; j < d.n; j++)
            hn += (double)H[t * d.n + j] * H[t * d.n + j];
        for (size_t i = 0; i < d.m; i++)
            wn += (double)W[i * 20 + t] * W[i * 20 + t];
        CHECK_CLOSE(sqrt(hn), sklearn_H_norms[t], 0.0, 2e-3);
        CHECK_CLOSE(sqrt(wn), sklearn_W_norms[t], 0.0, 2e-3);
    }
    nmf_result_free(&r);

    /* The defaults, as a user gets them: within 1% of the 0.1912 that 1000
     * HALS iterations reach (docs/BENCHMARKS.md, "Defaults"). */
    nmf_params_default(&p);
    p.device = NMF_DEVICE_CPU;
    CHECK(nmf_initialize(&problem, &p, W, H) == NMF_STATUS_OK);
    CHECK(nmf_fit(&problem, &p, W, H, &r) == NMF_STATUS_OK);
    const double relative = r.frobenius_err / r.norm_V;
    printf("faces, defaults (%s, %s): %d iterations (%s), relative error %.4f\n",
           nmf_solver_name(p.solver), nmf_init_name(p.init), r.iterations, r.stop_rule, relative);
    CHECK(relative <= 0.1931);
    CHECK(r.converged && r.iterations < p.max_iter);
    nmf_result_free(&r);
    free(W);
    free(H);
    dataset_free(&d);
    return test_exit();
}
