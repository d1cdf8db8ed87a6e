/* stream.c - V streamed from a file mapped into memory (nmf_problem's
 * stream_block): its pages asked for ahead of a block and handed back
 * after it. madvise is Linux's (and the BSDs'): glibc's posix_madvise
 * ignores POSIX_MADV_DONTNEED, which is the one that matters here. */
#define _DEFAULT_SOURCE
#include "stream.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* The whole pages around elements [first, first + count): rounding out is
 * safe, a shared file mapping's page handed back is read again on use. */
static int page_span(const nmf_problem *p, size_t first, size_t count, void **start,
                     size_t *len)
{
    if (!p->stream_block || count == 0)
        return 0;
    const size_t elem = nmf_problem_element_size(p), page = (size_t)sysconf(_SC_PAGESIZE);
    const uintptr_t base = p->V ? (uintptr_t)p->V : (uintptr_t)p->V8;
    const uintptr_t lo = (base + first * elem) / page * page;
    const uintptr_t hi = (base + (first + count) * elem + page - 1) / page * page;
    *start = (void *)lo;
    *len = hi - lo;
    return 1;
}

void nmf_problem_prefetch(const nmf_problem *p, size_t first, size_t count)
{
    void *start;
    size_t len;
    if (page_span(p, first, count, &start, &len))
        (void)madvise(start, len, MADV_WILLNEED); /* advice: a failure only costs time */
}

void nmf_problem_map(const nmf_problem *p, size_t first, size_t count)
{
    void *start;
    size_t len;
#ifdef MADV_POPULATE_READ
    if (page_span(p, first, count, &start, &len))
        (void)madvise(start, len, MADV_POPULATE_READ);
#endif
}

void nmf_problem_release(const nmf_problem *p, size_t first, size_t count)
{
    void *start;
    size_t len;
    /* A V no larger than one block may stay whole: mapping it again every
     * pass would cost without saving anything the budget needs. */
    if (p->m * p->n * nmf_problem_element_size(p) <= p->stream_block)
        return;
    if (page_span(p, first, count, &start, &len))
        (void)madvise(start, len, MADV_DONTNEED);
}

size_t nmf_problem_block_rows(const nmf_problem *p, size_t want)
{
    if (p->stream_block) {
        const size_t fit = p->stream_block / (p->n * nmf_problem_element_size(p));
        want = fit < want ? fit : want;
    }
    want = want < p->m ? want : p->m;
    return want ? want : 1;
}

void nmf_problem_block_begin(const nmf_problem *p, size_t i0, size_t rows, size_t block)
{
    nmf_problem_map(p, i0 * p->n, rows * p->n);
    const size_t next = i0 + rows;
    if (next < p->m)
        nmf_problem_prefetch(p, next * p->n, (p->m - next < block ? p->m - next : block) * p->n);
}

void nmf_problem_block_end(const nmf_problem *p, size_t i0, size_t rows)
{
    nmf_problem_release(p, i0 * p->n, rows * p->n);
}
