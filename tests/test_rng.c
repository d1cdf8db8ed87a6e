/* test_rng.c - nmf_rng against numpy's legacy RandomState, bit for bit.
 * Every reference number below was printed once by /usr/bin/python3 with
 * numpy 1.24.2 (the expressions are given beside each table); the test does
 * not run Python. Doubles are compared with ==: the contract is exactness. */
#include "rng.h"
#include "test_util.h"

#include <stdint.h>

typedef struct {
    uint32_t seed;
    uint32_t state[3];  /* RandomState(seed).get_state()[1][:3] */
    uint32_t raw[4];    /* RandomState(seed).randint(0, 2**32, size=4, dtype=np.uint64)
                           (a full-range draw returns the raw outputs) */
    double uniform[5];  /* RandomState(seed).random_sample(5) */
    double normal[5];   /* RandomState(seed).standard_normal(5) */
} rng_case;

static const rng_case cases[] = {
    {42, {42, 3107752595U, 1895908407U},
     {1608637542U, 3421126067U, 4083286876U, 787846414U},
     {0.3745401188473625, 0.9507143064099162, 0.7319939418114051,
      0.5986584841970366, 0.15601864044243652},
     {0.4967141530112327, -0.13826430117118466, 0.6476885381006925,
      1.5230298564080254, -0.23415337472333597}},
    {0, {0, 1, 1812433255U},
     {2357136044U, 2546248239U, 3071714933U, 3626093760U},
     {0.5488135039273248, 0.7151893663724195, 0.6027633760716439,
      0.5448831829968969, 0.4236547993389047},
     {1.764052345967664, 0.4001572083672233, 0.9787379841057392,
      2.240893199201458, 1.8675579901499675}},
    {12345, {12345, 2003863422U, 2690739229U},
     {3992670690U, 3823185381U, 1358822685U, 561383553U},
     {0.9296160928171479, 0.3163755545817859, 0.18391881167709445,
      0.2045602785530397, 0.5677250290816866},
     {-0.20470765948471295, 0.47894333805754824, -0.5194387150567381,
      -0.55573030434749, 1.9657805725027142}},
    {4294967295U, {4294967295U, 1340201581U, 3941791902U},
     {419326371U, 479346978U, 3918654476U, 2416749639U},
     {0.0976320289940138, 0.9123828453026218, 0.78903530185164,
      0.7800035981134678, 0.01793967398674523},
     {0.6484086742306527, 0.6693235306338161, -1.0805437227474493,
      0.2845010447986309, 0.11388773652167104}},
};

static void check_case(const rng_case *c)
{
    nmf_rng rng;
    nmf_rng_seed(&rng, c->seed);
    for (int i = 0; i < 3; i++)
        CHECK(rng.mt[i] == c->state[i]);
    for (int i = 0; i < 4; i++)
        CHECK(nmf_rng_uint32(&rng) == c->raw[i]);

    nmf_rng_seed(&rng, c->seed);
    for (int i = 0; i < 5; i++)
        CHECK(nmf_rng_double(&rng) == c->uniform[i]);

    nmf_rng_seed(&rng, c->seed);
    for (int i = 0; i < 5; i++) {
        double g = nmf_rng_gauss(&rng);
        CHECK(g == c->normal[i]);
        if (g != c->normal[i])
            fprintf(stderr, "  seed %u normal %d: %.17g want %.17g\n",
                    (unsigned)c->seed, i, g, c->normal[i]);
    }
}

int main(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);

    nmf_rng rng;
    /* Across the state regeneration at output 624 and the next one at 1248:
     * RandomState(42).randint(0, 2**32, size=1250, dtype=np.uint64)
     *   [[623, 624, 1247, 1248, 1249]]; and RandomState(42).get_state()[1][623]. */
    nmf_rng_seed(&rng, 42);
    CHECK(rng.mt[623] == 26719530U);
    uint32_t got[1250];
    for (int i = 0; i < 1250; i++)
        got[i] = nmf_rng_uint32(&rng);
    CHECK(got[623] == 1077437785U);
    CHECK(got[624] == 108880612U);
    CHECK(got[1247] == 1014112781U);
    CHECK(got[1248] == 2655384025U);
    CHECK(got[1249] == 3263983643U);

    /* Deep into the stream (rejections and the cached value have happened
     * many times): RandomState(42).standard_normal(1001)[999], [1000]. */
    nmf_rng_seed(&rng, 42);
    double g999 = 0.0, g1000 = 0.0;
    for (int i = 0; i <= 1000; i++) {
        double g = nmf_rng_gauss(&rng);
        if (i == 999)
            g999 = g;
        if (i == 1000)
            g1000 = g;
    }
    CHECK(g999 == 0.5725827813561586);
    CHECK(g1000 == 1.3993554365860021);

    /* Re-seeding drops the cached Gaussian, as RandomState.seed() does. */
    nmf_rng_seed(&rng, 42);
    (void)nmf_rng_gauss(&rng);
    nmf_rng_seed(&rng, 42);
    CHECK(nmf_rng_gauss(&rng) == 0.4967141530112327);

    return test_exit();
}
