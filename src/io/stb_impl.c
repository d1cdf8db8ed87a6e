/* stb_impl.c - the one translation unit that compiles the stb image
 * libraries from Debian's libstb-dev headers (/usr/include/stb), with our
 * limits. Nothing of stb is copied into the project. */

#include "stb_guard.h"

/* Largest width or height we accept (stb_guard.h); stb then refuses bigger
 * headers before allocating. */
#define STBI_MAX_DIMENSIONS STB_GUARD_MAX_SIDE
/* Readable failure reasons for our error lines (stbi_failure_reason() is
 * thread-local under C11, so parallel decoding keeps them apart). */
#define STBI_FAILURE_USERMSG
/* stb_image_resize asserts that each output sample's triangle-filter
 * weights add up to within 10% of 1, which fails for some small ratios
 * (7 rows to 5, found by fuzzing) and would abort a debug build; it then
 * divides by the sum anyway, so the result is right. Release builds
 * (NDEBUG) never had the check; every build now behaves like them. */
#define STBIR_ASSERT(x) ((void)0)
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include <stb_image.h>
#include <stb_image_write.h>
#include <stb_image_resize.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
