/* ranks_one.c - ranks.h without MPI: one process, the whole V. */
#include "ranks.h"

#include <string.h>

void ranks_start(int *argc, char ***argv)
{
    (void)argc, (void)argv;
}

void ranks_finish(void) {}

int ranks_rank(void)
{
    return 0;
}

int ranks_size(void)
{
    return 1;
}

int ranks_here(void)
{
    return 1;
}

const char *ranks_library(void)
{
    return "none (built without MPI: one process)";
}

void ranks_slice(size_t rows_total, size_t *row0, size_t *rows)
{
    *row0 = 0;
    *rows = rows_total;
}

void ranks_share(void *items, size_t item_bytes, size_t total)
{
    (void)items, (void)item_bytes, (void)total;
}

const nmf_comm *ranks_comm(size_t rows_total)
{
    (void)rows_total;
    return NULL;
}

void ranks_gather(const float *mine, size_t count, float *all)
{
    if (all != mine)
        memcpy(all, mine, count * sizeof *all);
}

int ranks_same(uint64_t value)
{
    (void)value;
    return 1;
}

int ranks_max(int value)
{
    return value;
}

nmf_status ranks_agree(nmf_status st)
{
    return st;
}
