/* rng.h - internal: numpy's legacy RandomState, bit for bit.
 * MT19937 seeded with init_genrand(seed), random_sample() doubles built
 * from two 32-bit draws, and the legacy polar Gaussian with its cached
 * second value, so that init='random' and 'nndsvdar' draw exactly what
 * numpy.random.RandomState(seed) draws. */
#ifndef NMF_RNG_H
#define NMF_RNG_H

#include <stdint.h>

typedef struct {
    uint32_t mt[624];
    int index;
    int has_gauss;
    double gauss;
} nmf_rng;

void nmf_rng_seed(nmf_rng *rng, uint32_t seed);
uint32_t nmf_rng_uint32(nmf_rng *rng);
/* Uniform in [0, 1) with 53 random bits (numpy random_sample). */
double nmf_rng_double(nmf_rng *rng);
/* Standard normal (numpy legacy standard_normal). */
double nmf_rng_gauss(nmf_rng *rng);

#endif
