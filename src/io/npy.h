/* npy.h - internal: NumPy .npy files (format 1.0) of 2-D float32 arrays,
 * little-endian '<f4', C order. */
#ifndef NMF_NPY_H
#define NMF_NPY_H

#include "nmf/nmf.h"

#include <stddef.h>

/* Writes data (rows, cols) to path atomically (temporary file, then rename). */
nmf_status npy_write_f32(const char *path, const float *data, size_t rows, size_t cols);

/* Reads a 2-D array from path into a new malloc'd float32 buffer (*data,
 * which the caller frees). Accepts '<f4' and '<f8' (converted), C order or
 * Fortran order (transposed into row-major). Fails with the path and the
 * reason on a malformed header, another dtype or rank, or a short file. */
nmf_status npy_read_f32(const char *path, float **data, size_t *rows, size_t *cols);

#endif
