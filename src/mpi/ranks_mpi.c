/* ranks_mpi.c - ranks.h over MPI (Open MPI from Debian; any MPI-3 works).
 *
 * The sums over ranks are in a fixed order, so that a run with the same
 * number of ranks gives the same bits: MPI_Allreduce may pick its
 * algorithm, and with it the order of the additions, by message size and
 * the library's tuning. Here each rank owns a 1/P piece of the vector: the
 * ranks' pieces go to their owner (MPI_Alltoallv), which adds them in rank
 * order 0, 1, ..., P-1, and every rank gathers the sums (MPI_Allgatherv).
 * Each rank sends and receives twice the vector, as a ring allreduce does.
 * This is the one function an NCCL path would replace.
 *
 * Failures: MPI's default handler (MPI_ERRORS_ARE_FATAL) ends the whole
 * job when a peer dies, and the launcher ends the ranks left, so no rank
 * waits for a dead one. */
#define _POSIX_C_SOURCE 200809L
#include "ranks.h"

#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size = 1, here = 1, local, started;
static nmf_comm comm;

/* The environment of a process an MPI launcher started: Open MPI's mpirun,
 * PMIx (srun --mpi=pmix, prterun), PMI-1/2 (srun --mpi=pmi2, MPICH's
 * hydra). A process started by hand stays one process, without MPI. */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

static _Noreturn void fail(const char *what)
{
    fprintf(stderr, "nmf-faces: error: rank %d of %d: %s\n", rank, size, what);
    if (started)
        MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

void ranks_start(int *argc, char ***argv)
{
    if (!launched())
        return;
    /* MPI is called from the main thread only, between OpenMP regions. */
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        fail("MPI_Init failed");
    started = 1;
    if (provided < MPI_THREAD_FUNNELED)
        fail("this MPI runs single-threaded programs only (MPI_THREAD_FUNNELED is needed)");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &here);
    MPI_Comm_rank(node, &local);
    MPI_Comm_free(&node);
    ranks_comm(0); /* the ranks, for ranks_agree before V's rows are known */
}

void ranks_finish(void)
{
    if (started)
        MPI_Finalize();
    started = 0;
}

int ranks_rank(void)
{
    return rank;
}

int ranks_size(void)
{
    return size;
}

int ranks_here(void)
{
    return here;
}

const char *ranks_library(void)
{
    static char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    version[strcspn(version, "\n,")] = '\0';
    return version;
}

/* Rank r's first row of `total`: the first total % size ranks take one more. */
static size_t first_row(size_t total, int r)
{
    const size_t q = total / (size_t)size, extra = total % (size_t)size, ru = (size_t)r;
    return ru * q + (ru < extra ? ru : extra);
}

void ranks_slice(size_t rows_total, size_t *row0, size_t *rows)
{
    *row0 = first_row(rows_total, rank);
    *rows = first_row(rows_total, rank + 1) - *row0;
}

/* MPI counts are ints: a message beyond them ends the job, plainly. */
static int count_of(size_t n)
{
    if (n > INT_MAX)
        fail("a message of more than INT_MAX values between ranks");
    return (int)n;
}

/* The piece of a count-long vector that rank r sums: [lo, hi). */
static size_t piece(size_t count, int r)
{
    return count / (size_t)size * (size_t)r + count % (size_t)size * (size_t)r / (size_t)size;
}

/* values (count of them, each elem bytes of MPI type `type`) summed over the
 * ranks in rank order, in place, the same bits everywhere. add(acc, x, n)
 * adds n values of x into acc. Pieces of at most 2^28 values at a time keep
 * the counts within int. */
static void sum_fixed_order(void *values, size_t count, MPI_Datatype type, size_t elem,
                            void (*add)(void *acc, const void *x, size_t n))
{
    const size_t step = (size_t)1 << 28;
    for (size_t at = 0; at < count && size > 1; at += step) {
        char *v = (char *)values + at * elem;
        const size_t len = count - at < step ? count - at : step;
        int *sc = malloc(4 * (size_t)size * sizeof *sc);
        const size_t lo = piece(len, rank), mine = piece(len, rank + 1) - lo;
        char *got = malloc((mine ? mine : 1) * (size_t)size * elem);
        if (!sc || !got)
            fail("out of memory for a sum over ranks");
        int *sd = sc + size, *rc = sd + size, *rd = rc + size;
        for (int r = 0; r < size; r++) {
            sd[r] = count_of(piece(len, r));
            sc[r] = count_of(piece(len, r + 1) - piece(len, r));
            rc[r] = count_of(mine);
            rd[r] = count_of(mine * (size_t)r);
        }
        MPI_Alltoallv(v, sc, sd, type, got, rc, rd, type, MPI_COMM_WORLD);
        for (int r = 1; r < size; r++) /* rank 0's piece, then 1's, ... */
            add(got, got + mine * (size_t)r * elem, mine);
        memcpy(v + lo * elem, got, mine * elem);
        MPI_Allgatherv(MPI_IN_PLACE, 0, type, v, sc, sd, type, MPI_COMM_WORLD);
        free(got);
        free(sc);
    }
}

static void add_floats(void *acc, const void *x, size_t n)
{
    float *a = acc;
    const float *b = x;
    for (size_t i = 0; i < n; i++)
        a[i] += b[i];
}

static void add_doubles(void *acc, const void *x, size_t n)
{
    double *a = acc;
    const double *b = x;
    for (size_t i = 0; i < n; i++)
        a[i] += b[i];
}

static void sum_floats(void *user, float *values, size_t count)
{
    (void)user;
    sum_fixed_order(values, count, MPI_FLOAT, sizeof *values, add_floats);
}

static void sum_doubles(void *user, double *values, size_t count)
{
    (void)user;
    sum_fixed_order(values, count, MPI_DOUBLE, sizeof *values, add_doubles);
}

/* all (total items, each `width` values of `type`) = every rank's slice
 * (ranks_slice) of them, mine (NULL: in place, already where it goes). */
static void allgather_slices(const void *mine, void *all, size_t width, MPI_Datatype type,
                             size_t total)
{
    int *counts = malloc(2 * (size_t)size * sizeof *counts);
    if (!counts)
        fail("out of memory for a gather over ranks");
    int *displs = counts + size;
    for (int r = 0; r < size; r++) {
        displs[r] = count_of(first_row(total, r) * width);
        counts[r] = count_of((first_row(total, r + 1) - first_row(total, r)) * width);
    }
    MPI_Allgatherv(mine ? mine : MPI_IN_PLACE, mine ? counts[rank] : 0, type, all, counts,
                   displs, type, MPI_COMM_WORLD);
    free(counts);
}

void ranks_share(void *items, size_t item_bytes, size_t total)
{
    if (size > 1)
        allgather_slices(NULL, items, item_bytes, MPI_BYTE, total);
}

static void gather_rows(void *user, const double *mine, size_t width, double *all)
{
    allgather_slices(mine, all, width, MPI_DOUBLE, ((const nmf_comm *)user)->rows_total);
}

static int first_failed(void *user, int failed)
{
    (void)user;
    int mine = failed ? rank : size, first = size;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return first < size ? first : -1;
}

const nmf_comm *ranks_comm(size_t rows_total)
{
    if (size == 1)
        return NULL;
    size_t row0, rows;
    ranks_slice(rows_total, &row0, &rows);
    comm = (nmf_comm){.rank = rank,
                      .ranks = size,
                      .local_rank = local,
                      .row0 = row0,
                      .rows_total = rows_total,
                      .sum_floats = sum_floats,
                      .sum_doubles = sum_doubles,
                      .gather_rows = gather_rows,
                      .first_failed = first_failed,
                      .user = &comm};
    return &comm;
}

void ranks_gather(const float *mine, size_t count, float *all)
{
    if (size == 1) {
        if (all != mine)
            memcpy(all, mine, count * sizeof *all);
        return;
    }
    unsigned long long n = count, *each = rank == 0 ? malloc((size_t)size * sizeof *each) : NULL;
    int *counts = rank == 0 ? malloc(2 * (size_t)size * sizeof *counts) : NULL;
    if (rank == 0 && (!each || !counts))
        fail("out of memory for a gather over ranks");
    MPI_Gather(&n, 1, MPI_UNSIGNED_LONG_LONG, each, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    int *displs = counts ? counts + size : NULL;
    size_t at = 0;
    for (int r = 0; r < size && rank == 0; r++) {
        counts[r] = count_of(each[r]);
        displs[r] = count_of(at);
        at += each[r];
    }
    MPI_Gatherv(mine, count_of(count), MPI_FLOAT, all, counts, displs, MPI_FLOAT, 0,
                MPI_COMM_WORLD);
    free(each);
    free(counts);
}

int ranks_same(uint64_t value)
{
    uint64_t mine[2] = {value, ~value}, least[2] = {value, ~value};
    if (size > 1)
        MPI_Allreduce(mine, least, 2, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD);
    return least[0] == ~least[1]; /* the least value is the greatest */
}

int ranks_max(int value)
{
    int max = value;
    if (size > 1)
        MPI_Allreduce(&value, &max, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return max;
}

nmf_status ranks_agree(nmf_status st)
{
    return nmf_comm_agree(size > 1 ? &comm : NULL, st);
}
