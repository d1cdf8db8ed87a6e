/* ranks.h - internal: the processes of one job. One process, or the ranks
 * of an MPI launch (mpirun, srun) when nmf-faces is built with MPI: each
 * rank holds a contiguous slice of V's rows (images) and its rows of W, H
 * is replicated, and the library's sums over rows go through the nmf_comm
 * made here. ranks_mpi.c is the only code that knows MPI; ranks_one.c is
 * the build without it. Every function is called by every rank, in the
 * same order. */
#ifndef NMF_RANKS_H
#define NMF_RANKS_H

#include "nmf/nmf.h"

#include <stddef.h>
#include <stdint.h>

/* Joins the job's ranks when an MPI launcher started this process (its
 * environment says so); otherwise, or built without MPI, the process is
 * rank 0 of 1. Exits with a message if MPI cannot start. */
void ranks_start(int *argc, char ***argv);
void ranks_finish(void);

int ranks_rank(void);
int ranks_size(void);
/* The ranks on this machine (which share its memory), this one included. */
int ranks_here(void);

/* The MPI library built in, for --version: its first line, or "none". */
const char *ranks_library(void);

/* This rank's rows of rows_total: [*row0, *row0 + *rows), the ranks' in
 * order, as even as can be. */
void ranks_slice(size_t rows_total, size_t *row0, size_t *rows);

/* items (total of them, item_bytes each, split as ranks_slice splits rows):
 * every rank's slice, filled by that rank, copied to every rank. */
void ranks_share(void *items, size_t item_bytes, size_t total);

/* The library's view of the ranks for a V of rows_total rows split as
 * ranks_slice says; NULL for one process. Valid until the next call. */
const nmf_comm *ranks_comm(size_t rows_total);

/* Every rank's `count` floats, in rank order, into `all` on rank 0 (which
 * must have room for them all; NULL elsewhere). */
void ranks_gather(const float *mine, size_t count, float *all);

/* nmf_comm_agree over the job's ranks (st itself for one process): the
 * lowest rank whose step failed keeps its error, the others get
 * NMF_STATUS_PEER_FAILED and say nothing. */
nmf_status ranks_agree(nmf_status st);

/* Whether every rank passes the same value (a listing's fingerprint). */
int ranks_same(uint64_t value);

/* The largest value any rank passes: whether any rank was asked to stop
 * (signals reach ranks at different moments, and every rank must stop at
 * the same iteration), or the job's exit code. */
int ranks_max(int value);

#endif
