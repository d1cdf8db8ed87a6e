/* stream.h - internal: reading a streamed V (nmf_problem's stream_block: a
 * file mapped into memory) a block of rows at a time, so that the resident
 * part of V stays about one block. Every reader of V goes through these;
 * for V in memory they cost a test and do nothing. */
#ifndef NMF_STREAM_H
#define NMF_STREAM_H

#include "nmf/nmf.h"

#include <stddef.h>

/* For a streamed V (stream_block > 0; no-ops otherwise), the elements
 * [first, first + count) (row-major):
 * - prefetch: are read next; the system starts reading them from the file
 *   now, in the background (the block after the one being computed);
 * - map: are read now; they are mapped in one call (a block about to be
 *   computed), not a page fault at a time (MU at 4096 x 16384, k = 20:
 *   35.2 ms an iteration against 41.8; docs/BENCHMARKS.md);
 * - release: have been read; they leave the process's memory, staying in
 *   the file and the page cache (unless all of V fits in one block, which
 *   then stays). */
void nmf_problem_prefetch(const nmf_problem *p, size_t first, size_t count);
void nmf_problem_map(const nmf_problem *p, size_t first, size_t count);
void nmf_problem_release(const nmf_problem *p, size_t first, size_t count);

/* The rows of the block of V's m rows that starts at row i0, blocks of
 * `block` rows (the last one short). */
static inline size_t nmf_block_len(size_t m, size_t i0, size_t block)
{
    return m - i0 < block ? m - i0 : block;
}

/* Rows a block of a pass over V that would like `want`: no more than
 * stream_block holds for a streamed V; at least 1, at most m. */
size_t nmf_problem_block_rows(const nmf_problem *p, size_t want);

/* Around rows [i0, i0 + rows) of a pass over V in blocks of `block` rows:
 * before, map them and ask for the next block; after, release them. */
void nmf_problem_block_begin(const nmf_problem *p, size_t i0, size_t rows, size_t block);
void nmf_problem_block_end(const nmf_problem *p, size_t i0, size_t rows);

#endif
