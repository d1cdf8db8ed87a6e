/* clock.h - internal: the one clock every timing in the project reads. */
#ifndef NMF_CLOCK_H
#define NMF_CLOCK_H

/* Seconds on CLOCK_MONOTONIC (an arbitrary origin: subtract two readings). */
double nmf_clock_s(void);

#endif
