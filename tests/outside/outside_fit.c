/* outside_fit.c - a program that uses only the installed public API:
 * factorises an exactly rank-3 non-negative matrix and checks that the fit
 * finds it (relative error below 1e-3 within 2000 HALS iterations). */
#include <nmf/nmf.h>

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    enum { M = 40, N = 60, K = 3 };
    static float V[M * N], W[M * K], H[K * N];
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double v = 0.0;
            for (int t = 0; t < K; t++)
                v += (double)((i * 7 + t * 3) % 11) * (double)((j * 5 + t * 13) % 7);
            V[i * N + j] = (float)v;
        }
    nmf_problem problem = {M, N, V, NULL};
    nmf_params p;
    nmf_params_default(&p);
    p.k = K;
    p.solver = NMF_SOLVER_HALS;
    p.max_iter = 2000;
    p.tol = 0;
    p.device = NMF_DEVICE_CPU;
    nmf_result r;
    if (nmf_initialize(&problem, &p, W, H) != NMF_STATUS_OK ||
        nmf_fit(&problem, &p, W, H, &r) != NMF_STATUS_OK) {
        fprintf(stderr, "outside_fit: %s\n", nmf_last_error());
        return 1;
    }
    double relative = r.reconstruction_err / r.norm_V;
    printf("outside_fit: nmf %s, %d iterations, relative error %.3g\n", NMF_VERSION, r.iterations,
           relative);
    nmf_result_free(&r);
    return relative < 1e-3 ? 0 : 1;
}
