/* test_gpu.c - the CUDA backend against the CPU backend (ggml's
 * test-backend-ops idea): the same V, W0, H0 on both, on random and
 * face-like data of shapes no block size divides, k = 1 included, for every
 * solver and objective (MU Frobenius plain and regularised, KL, beta 1.5,
 * HALS plain and regularised).
 *   - after one iteration W and H agree element-wise: |g - c| <= 1e-5 + 1e-4|c|
 *   - after 100 iterations (graph replays) and 25 (graph + eager tail), and
 *     200 on the bundled faces, the losses agree to 1e-4 relative; the GPU's own loss matches a float64
 *     computation from its factors to 1e-5
 *   - host buffers past W and H keep their sentinels
 * Without a CUDA device (or without the CUDA build) it prints why and exits
 * 77, which CTest reports as SKIPPED. */
#include "backend.h"
#include "dataset.h"
#include "nmf/nmf.h"
#include "rng.h"
#include "test_util.h"

#include <string.h>

#define SENTINELS 16
static const float SENTINEL = -12345.0f;

typedef struct {
    size_t m, n, k;
    float *V, *W0, *H0;
} fixture;

static void make_random(fixture *f, size_t m, size_t n, size_t k, uint32_t seed)
{
    nmf_rng rng;
    nmf_rng_seed(&rng, seed);
    *f = (fixture){m, n, k, malloc(m * n * sizeof(float)), malloc(m * k * sizeof(float)),
                   malloc(k * n * sizeof(float))};
    for (size_t i = 0; i < m * n; i++)
        f->V[i] = (float)(255.0 * nmf_rng_double(&rng));
    for (size_t i = 0; i < m * k; i++)
        f->W0[i] = (float)nmf_rng_double(&rng);
    for (size_t i = 0; i < k * n; i++)
        f->H0[i] = (float)nmf_rng_double(&rng);
}

/* Smooth blobs on a dark background, one all-black image, nndsvda start. */
static void make_face_like(fixture *f, size_t m, size_t side, size_t k)
{
    size_t n = side * side;
    *f = (fixture){m, n, k, calloc(m * n, sizeof(float)), malloc(m * k * sizeof(float)),
                   malloc(k * n * sizeof(float))};
    for (size_t i = 1; i < m; i++)
        for (size_t y = 0; y < side; y++)
            for (size_t x = 0; x < side; x++) {
                double cx = side / 2.0 + (double)(i % 5) - 2, cy = side / 2.0 + (double)(i % 3) - 1;
                double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                f->V[i * n + y * side + x] = (float)(220.0 * exp(-d2 / (side + (double)i)));
            }
    nmf_problem problem = {m, n, f->V};
    nmf_params p;
    nmf_params_default(&p);
    p.k = (int)k;
    if (nmf_initialize(&problem, &p, f->W0, f->H0) != NMF_STATUS_OK)
        fprintf(stderr, "init failed: %s\n", nmf_last_error());
}

/* The bundled faces with the tool's default start (nndsvda). */
static int make_faces(fixture *f, size_t k)
{
    const char *inputs[1] = {NMF_BUNDLED_DATA};
    dataset_options opt;
    dataset_options_default(&opt);
    dataset d;
    if (dataset_load(inputs, 1, &opt, &d) != NMF_STATUS_OK) {
        fprintf(stderr, "cannot load the faces: %s\n", nmf_last_error());
        return -1;
    }
    *f = (fixture){d.m, d.n, k, d.V, malloc(d.m * k * sizeof(float)),
                   malloc(k * d.n * sizeof(float))};
    d.V = NULL; /* the fixture owns it now */
    dataset_free(&d);
    nmf_problem problem = {f->m, f->n, f->V};
    nmf_params p;
    nmf_params_default(&p);
    p.k = (int)k;
    return nmf_initialize(&problem, &p, f->W0, f->H0) == NMF_STATUS_OK ? 0 : -1;
}

static void free_fixture(fixture *f)
{
    free(f->V);
    free(f->W0);
    free(f->H0);
}

/* The solver and objective under test. */
typedef struct {
    const char *name;
    nmf_solver solver;
    double beta, alpha_W, l1_ratio;
} config;

static const config configs[] = {
    {"mu frobenius", NMF_SOLVER_MU, 2.0, 0.0, 0.0},
    {"mu frobenius regularised", NMF_SOLVER_MU, 2.0, 0.01, 0.5},
    {"mu kullback-leibler", NMF_SOLVER_MU, 1.0, 0.0, 0.0},
    {"mu beta 1.5", NMF_SOLVER_MU, 1.5, 0.0, 0.0},
    {"hals", NMF_SOLVER_HALS, 2.0, 0.0, 0.0},
    {"hals regularised", NMF_SOLVER_HALS, 2.0, 0.01, 0.5},
};

/* Runs `iterations` of cfg from the fixture's start on `device` into W, H
 * (which have SENTINELS extra floats); returns the final error, NAN on
 * failure. */
static double run(const fixture *f, const config *cfg, nmf_device device, int iterations,
                  float *W, float *H)
{
    memcpy(W, f->W0, f->m * f->k * sizeof(float));
    memcpy(H, f->H0, f->k * f->n * sizeof(float));
    for (int s = 0; s < SENTINELS; s++)
        W[f->m * f->k + s] = H[f->k * f->n + s] = SENTINEL;
    nmf_problem problem = {f->m, f->n, f->V};
    nmf_params p;
    nmf_params_default(&p);
    p.k = (int)f->k;
    p.max_iter = iterations;
    p.tol = 0;
    p.device = device;
    p.solver = cfg->solver;
    p.beta = cfg->beta;
    p.alpha_W = cfg->alpha_W;
    p.l1_ratio = cfg->l1_ratio;
    nmf_result r;
    if (nmf_fit(&problem, &p, W, H, &r) != NMF_STATUS_OK) {
        fprintf(stderr, "nmf_fit on %s failed: %s\n", device == NMF_DEVICE_GPU ? "gpu" : "cpu",
                nmf_last_error());
        return NAN;
    }
    double error = r.reconstruction_err;
    nmf_result_free(&r);
    int overrun = 0;
    for (int s = 0; s < SENTINELS; s++)
        overrun += W[f->m * f->k + s] != SENTINEL || H[f->k * f->n + s] != SENTINEL;
    CHECK(overrun == 0);
    return error;
}

static void compare_config(const char *name, const fixture *f, const config *cfg)
{
    size_t wl = f->m * f->k + SENTINELS, hl = f->k * f->n + SENTINELS;
    float *Wc = malloc(wl * sizeof(float)), *Hc = malloc(hl * sizeof(float));
    float *Wg = malloc(wl * sizeof(float)), *Hg = malloc(hl * sizeof(float));
    printf("%s, %s: m %zu, n %zu, k %zu\n", name, cfg->name, f->m, f->n, f->k);

    run(f, cfg, NMF_DEVICE_CPU, 1, Wc, Hc);
    run(f, cfg, NMF_DEVICE_GPU, 1, Wg, Hg);
    double *Wd = to_double(Wc, f->m * f->k), *Hd = to_double(Hc, f->k * f->n);
    check_matrix("W after 1 iteration", Wg, Wd, f->m * f->k, 1e-5, 1e-4);
    check_matrix("H after 1 iteration", Hg, Hd, f->k * f->n, 1e-5, 1e-4);
    free(Wd);
    free(Hd);

    static const int lengths[] = {100, 25, 200};
    size_t runs = strcmp(name, "bundled faces") ? 2 : 3; /* the tool's 200 on the faces */
    for (size_t i = 0; i < runs; i++) {
        double cpu = run(f, cfg, NMF_DEVICE_CPU, lengths[i], Wc, Hc);
        double gpu = run(f, cfg, NMF_DEVICE_GPU, lengths[i], Wg, Hg);
        printf("  %d iterations: cpu %.9g, gpu %.9g (relative difference %.2g)\n", lengths[i],
               cpu, gpu, fabs(gpu - cpu) / cpu);
        CHECK_CLOSE(gpu, cpu, 0.0, 1e-4);
        nmf_problem problem = {f->m, f->n, f->V};
        if (cfg->beta == 2.0)
            CHECK_CLOSE(gpu, nmf_reconstruction_error(&problem, Wg, Hg, f->k), 0.0, 1e-5);
    }
    free(Wc), free(Hc), free(Wg), free(Hg);
}

/* Every solver and objective on the fixture; the bundled faces only for
 * the tool's default, to keep the test short. */
static void compare(const char *name, const fixture *f)
{
    size_t count = strcmp(name, "bundled faces") ? sizeof configs / sizeof *configs : 1;
    for (size_t i = 0; i < count; i++)
        compare_config(name, f, &configs[i]);
}

int main(void)
{
    const nmf_backend *gpu;
    nmf_set_note_handler(NULL, NULL);
    if (nmf_backend_select(NMF_DEVICE_GPU, &gpu) != NMF_STATUS_OK) {
        printf("SKIPPED: %s\n", nmf_last_error());
        return TEST_SKIP;
    }
    fixture f;
    make_random(&f, 37, 53, 1, 1);
    compare("random, k = 1", &f);
    free_fixture(&f);
    make_random(&f, 101, 1001, 7, 2);
    compare("random, odd sizes", &f);
    free_fixture(&f);
    make_random(&f, 257, 3001, 20, 3);
    compare("random, faces' k", &f);
    free_fixture(&f);
    make_face_like(&f, 60, 37, 9);
    compare("face-like, nndsvda start", &f);
    free_fixture(&f);
    CHECK(make_faces(&f, 20) == 0);
    compare("bundled faces", &f);
    free_fixture(&f);
    return test_exit();
}
