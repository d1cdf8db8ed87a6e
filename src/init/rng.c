/* rng.c - numpy's legacy RandomState (numpy/random/src/legacy and mt19937),
 * bit for bit: MT19937 seeded with init_genrand, 53-bit doubles from two
 * draws, and the polar Gaussian that caches its second value. */
#include "rng.h"

#include <math.h>

enum { MT_N = 624, MT_M = 397 };

#define MT_MATRIX_A 0x9908b0dfU
#define MT_UPPER 0x80000000U
#define MT_LOWER 0x7fffffffU

/* Seeds like RandomState(seed) for an integer seed (numpy's mt19937_seed,
 * which is Matsumoto-Nishimura init_genrand) and drops any cached Gaussian. */
void nmf_rng_seed(nmf_rng *rng, uint32_t seed)
{
    rng->mt[0] = seed;
    for (uint32_t i = 1; i < MT_N; i++) {
        uint32_t prev = rng->mt[i - 1];
        rng->mt[i] = 1812433253U * (prev ^ (prev >> 30)) + i;
    }
    rng->index = MT_N;
    rng->has_gauss = 0;
    rng->gauss = 0.0;
}

/* Regenerates the whole 624-word state (the reference genrand_int32 block). */
static void mt_generate(nmf_rng *rng)
{
    uint32_t *mt = rng->mt;
    int i;
    for (i = 0; i < MT_N; i++) {
        uint32_t y = (mt[i] & MT_UPPER) | (mt[(i + 1) % MT_N] & MT_LOWER);
        mt[i] = mt[(i + MT_M) % MT_N] ^ (y >> 1) ^ ((y & 1U) ? MT_MATRIX_A : 0U);
    }
    rng->index = 0;
}

/* The next tempered 32-bit output of MT19937. */
uint32_t nmf_rng_uint32(nmf_rng *rng)
{
    if (rng->index >= MT_N)
        mt_generate(rng);
    uint32_t y = rng->mt[rng->index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= y >> 18;
    return y;
}

/* numpy random_sample: 27 high bits of one draw and 26 of the next make a
 * 53-bit integer, scaled to [0, 1). Every step is exact in double. */
double nmf_rng_double(nmf_rng *rng)
{
    uint32_t a = nmf_rng_uint32(rng) >> 5;
    uint32_t b = nmf_rng_uint32(rng) >> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
}

/* numpy legacy_gauss: Marsaglia's polar method. Each accepted pair gives
 * two normals: f*x2 is returned now, f*x1 on the next call.
 * The squares go through volatile so that a compiler allowed to contract
 * (-std=gnu11 with -mfma) cannot fuse x1*x1 + x2*x2 into an FMA, whose
 * different rounding of r2 would change the bits numpy produces. */
double nmf_rng_gauss(nmf_rng *rng)
{
    if (rng->has_gauss) {
        rng->has_gauss = 0;
        return rng->gauss;
    }
    double x1, x2, r2;
    do {
        x1 = 2.0 * nmf_rng_double(rng) - 1.0;
        x2 = 2.0 * nmf_rng_double(rng) - 1.0;
        volatile double s1 = x1 * x1, s2 = x2 * x2;
        r2 = s1 + s2;
    } while (r2 >= 1.0 || r2 == 0.0);
    double f = sqrt(-2.0 * log(r2) / r2);
    rng->gauss = f * x1;
    rng->has_gauss = 1;
    return f * x2;
}
