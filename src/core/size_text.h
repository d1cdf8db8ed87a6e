/* size_text.h - internal: sizes in bytes as people write them, for
 * --max-memory, nmf-bench's --stream-block and NMF_GPU_STREAM_BLOCK. */
#ifndef NMF_SIZE_TEXT_H
#define NMF_SIZE_TEXT_H

#include <stddef.h>

/* A size in bytes, at least 1: a number with an optional K, M, G or T
 * (powers of 1024, as sort -S and docker -m take them): "48M", "1.5G".
 * 0 and *out set, or -1. */
int nmf_parse_bytes(const char *s, size_t *out);

#endif
