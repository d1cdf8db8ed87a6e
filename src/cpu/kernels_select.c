/* kernels_select.c - which kernels table a fit uses (see kernels.h): the
 * CPU's features decide, not its model name, so a CPU newer than the BLAS
 * still gets the widest vectors it has. */
#include "kernels.h"

#include "error.h"

#include <stdlib.h>
#include <string.h>

/* Best first. */
static const nmf_cpu_kernels *const tables[] = {
#if defined(__x86_64__)
    &nmf_cpu_kernels_avx512,
    &nmf_cpu_kernels_avx2,
#endif
    &nmf_cpu_kernels_generic,
    &nmf_cpu_kernels_blas,
};

int nmf_cpu_kernels_runs(const nmf_cpu_kernels *t)
{
#if defined(__x86_64__)
    /* __builtin_cpu_supports also asks the OS (XGETBV) whether it saves
     * the wide registers. */
    if (t == &nmf_cpu_kernels_avx512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    if (t == &nmf_cpu_kernels_avx2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    (void)t;
    return 1;
}

const nmf_cpu_kernels *nmf_cpu_kernels_best(void)
{
    size_t i = 0;
    while (!nmf_cpu_kernels_runs(tables[i]))
        i++; /* generic always runs */
    return tables[i];
}

nmf_status nmf_cpu_kernels_select(const nmf_cpu_kernels **out)
{
    const char *want = getenv("NMF_CPU_KERNELS");
    const size_t count = sizeof tables / sizeof *tables;
    for (size_t i = 0; i < count; i++) {
        if (want && *want && strcmp(want, tables[i]->name) != 0)
            continue;
        if (nmf_cpu_kernels_runs(tables[i])) {
            *out = tables[i];
            return NMF_STATUS_OK;
        }
        if (want && *want)
            return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                             "NMF_CPU_KERNELS=%s: this CPU lacks %s", want, tables[i]->needs);
    }
    return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                     "NMF_CPU_KERNELS=%s: unknown (avx512, avx2, generic or blas)", want);
}
