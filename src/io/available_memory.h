/* available_memory.h - internal: how much memory a new allocation can have,
 * for the loader's plan (dataset_memory_plan). */
#ifndef NMF_AVAILABLE_MEMORY_H
#define NMF_AVAILABLE_MEMORY_H

/* Bytes: the system's MemAvailable, or what this process's cgroups (a
 * container, a Slurm job or step: v2, or v1's memory hierarchy; the
 * process's own and every one above it) have left under their limits,
 * their page cache counted as free, when that is less. 0 when unknown; at
 * least 1 when known, even for a cgroup at its limit. */
double available_memory_bytes(void);

#endif
