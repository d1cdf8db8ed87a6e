/* survey_measures.c - see survey_measures.h. */
#include "survey_measures.h"

#include <math.h>
#include <stdlib.h>

/* The mean, over the rows of A, of each row's best cosine with a row of B
 * (both (k, n), with their rows' norms). */
static double mean_best_match(const float *A, const double *norm_A, const float *B,
                              const double *norm_B, size_t k, size_t n)
{
    double total = 0.0;
    for (size_t s = 0; s < k; s++) {
        double best = 0.0;
        for (size_t t = 0; t < k && norm_A[s] > 0.0; t++) {
            if (norm_B[t] == 0.0)
                continue;
            double dot = 0.0;
            for (size_t j = 0; j < n; j++)
                dot += (double)A[s * n + j] * B[t * n + j];
            const double cosine = dot / (norm_A[s] * norm_B[t]);
            best = cosine > best ? cosine : best;
        }
        total += best;
    }
    return total / (double)k;
}

static double row_norm(const float *row, size_t n)
{
    double s = 0.0;
    for (size_t j = 0; j < n; j++)
        s += (double)row[j] * row[j];
    return sqrt(s);
}

double survey_stability(const float *const *H, size_t restarts, size_t k, size_t n)
{
    const size_t pairs = restarts * (restarts - 1) / 2;
    double *norms = malloc(restarts * k * sizeof *norms), *pair = malloc(pairs * sizeof *pair);
    if (!norms || !pair) {
        free(norms);
        free(pair);
        return NAN;
    }
    for (size_t r = 0; r < restarts; r++)
        for (size_t t = 0; t < k; t++)
            norms[r * k + t] = row_norm(H[r] + t * n, n);
    /* Each pair's value in its own slot, summed in order after: the same
     * bits whatever the threads. */
    #pragma omp parallel for collapse(2) schedule(dynamic, 1)
    for (size_t a = 0; a < restarts; a++)
        for (size_t b = 0; b < restarts; b++) {
            if (b <= a)
                continue;
            const double *norm_a = norms + a * k, *norm_b = norms + b * k;
            pair[a * restarts - a * (a + 1) / 2 + (b - a - 1)] =
                0.5 * (mean_best_match(H[a], norm_a, H[b], norm_b, k, n) +
                       mean_best_match(H[b], norm_b, H[a], norm_a, k, n));
        }
    double total = 0.0;
    for (size_t i = 0; i < pairs; i++)
        total += pair[i];
    free(norms);
    free(pair);
    return total / (double)pairs;
}

int survey_elbow(const int *k, const double *err, size_t count)
{
    if (count < 3 || !(err[0] > err[count - 1]))
        return -1;
    const double k_span = (double)(k[count - 1] - k[0]), err_span = err[0] - err[count - 1];
    int best = -1;
    double farthest = 1e-9; /* below the line by more than rounding: a straight one has none */
    for (size_t i = 1; i + 1 < count; i++) {
        const double x = (double)(k[i] - k[0]) / k_span, y = (err[i] - err[count - 1]) / err_span;
        const double below = (1.0 - x) - y; /* the line runs from (0, 1) to (1, 0) */
        if (below > farthest) {
            farthest = below;
            best = (int)i;
        }
    }
    return best;
}

int survey_null_crossing(const double *err, const double *null_err, size_t count)
{
    /* The residual sums of squares' drops: the squared relative errors',
     * as the shuffled data keeps each image's values and so ||V||. */
    for (size_t i = 0; i + 1 < count; i++)
        if (err[i] * err[i] - err[i + 1] * err[i + 1] <
            null_err[i] * null_err[i] - null_err[i + 1] * null_err[i + 1])
            return (int)i;
    return -1;
}
