/* survey_measures.h - internal: what the `survey` command reads off its
 * fits to suggest a number of components k: how alike its restarts'
 * components are, and the two rules that pick a k from the error curve. */
#ifndef NMF_SURVEY_MEASURES_H
#define NMF_SURVEY_MEASURES_H

#include <stddef.h>

/* The stability of `restarts` (>= 2) fits of k components each, their
 * H's (k, n) row-major: over every pair of restarts, each component's
 * best cosine similarity with the other's components, averaged both ways
 * round, then over the pairs. 1 when the restarts found the same parts (in
 * any order), lower as they disagree. Costs k² n per pair and no m×m
 * matrix, so it scales with the images as the fits do. An all-zero row
 * matches nothing (cosine 0). NAN when out of memory (restarts·k doubles). */
double survey_stability(const float *const *H, size_t restarts, size_t k, size_t n);

/* The elbow of the relative error curve err[i] at k[i] (k increasing,
 * count >= 3): the k farthest below the straight line from the first
 * point to the last, both axes scaled to 0..1 (Satopaa et al. 2011,
 * "Kneedle"). Returns its index, or -1 when count < 3, the curve does not
 * fall from its first point to its last, or no point lies below the line. */
int survey_elbow(const int *k, const double *err, size_t count);

/* Frigyesi & Hoglund (2008), as R's NMF package advises: the first k[i]
 * (k increasing) from which going on to k[i+1] lowers the residual sum of
 * squares by less than it lowers that of the same survey on shuffled data,
 * from the relative errors err and null_err (the shuffled data has V's
 * norm: the RSS drops are ||V||² times the squared errors' drops). Returns
 * its index, or -1 when the data's RSS falls faster than the null's up to
 * the last k (survey larger k) or count < 2. */
int survey_null_crossing(const double *err, const double *null_err, size_t count);

#endif
