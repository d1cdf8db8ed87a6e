/* comm.h - internal: a problem's ranks (nmf_comm), for the code that sums
 * over V's rows. With no comm every helper is the one-process case: the
 * sums are the values themselves, and the whole V is this process's. */
#ifndef NMF_COMM_H
#define NMF_COMM_H

#include "nmf/nmf.h"

/* Rows of the whole V, and the first of this rank's. */
static inline size_t nmf_rows_total(const nmf_problem *p)
{
    return p->comm ? p->comm->rows_total : p->m;
}

static inline size_t nmf_row0(const nmf_problem *p)
{
    return p->comm ? p->comm->row0 : 0;
}

/* In place, over the ranks: the same bits on every rank. */
static inline void nmf_sum_floats(const nmf_problem *p, float *values, size_t count)
{
    if (p->comm)
        p->comm->sum_floats(p->comm->user, values, count);
}

static inline void nmf_sum_doubles(const nmf_problem *p, double *values, size_t count)
{
    if (p->comm)
        p->comm->sum_doubles(p->comm->user, values, count);
}

/* Whether flag is set on any rank: what every rank then decides alike. */
static inline int nmf_any(const nmf_problem *p, int flag)
{
    return p->comm ? p->comm->first_failed(p->comm->user, flag) >= 0 : flag != 0;
}

static inline double nmf_sum_double(const nmf_problem *p, double value)
{
    nmf_sum_doubles(p, &value, 1);
    return value;
}

#endif
