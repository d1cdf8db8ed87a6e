/* comm.c - agreeing on a failure across ranks (nmf_comm_agree, nmf.h). */
#include "comm.h"

#include "error.h"

nmf_status nmf_comm_agree(const nmf_comm *comm, nmf_status st)
{
    if (!comm)
        return st;
    /* A rank told of another's failure at an earlier step is not the one
     * that failed: that one still holds its own status. */
    const int first =
        comm->first_failed(comm->user, st != NMF_STATUS_OK && st != NMF_STATUS_PEER_FAILED);
    if (first < 0 || first == comm->rank)
        return st;
    return nmf_error(NMF_STATUS_PEER_FAILED, "rank %d of %d failed", first, comm->ranks);
}
