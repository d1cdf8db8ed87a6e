/* backend.c - the registry of compute backends. The CPU backend is always
 * there. The CUDA backend is a module of its own, libnmf-cuda.so (built
 * when CMake finds CUDA, next to the executables), opened with dlopen only
 * when a GPU is asked for or probed, and only after the CUDA driver says
 * it sees a device: a CPU run, and any run on a machine without a GPU,
 * never maps the CUDA runtime or cuBLAS (hundreds of MB). */
#define _POSIX_C_SOURCE 200809L /* readlink, access */
#include "backend.h"

#include "error.h"
#include "names.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CUDA_MODULE_NAME "libnmf-cuda.so"

/* The module's path: $NMF_CUDA_MODULE, else beside the executable (the
 * build tree), in ../lib from it (an installed tool), else where the build
 * put it (a test, in a folder of the build tree). Returns the first that
 * exists, or NULL with the places tried in why. */
static const char *cuda_module_path(char *buf, size_t size, char *why, size_t why_size)
{
    const char *env = getenv("NMF_CUDA_MODULE");
    if (env && *env) {
        snprintf(buf, size, "%s", env);
        return buf;
    }
    char exe[3584]; /* shorter than buf, so that the module's name fits after it */
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(buf, size, "%s/" CUDA_MODULE_NAME, exe);
            if (access(buf, R_OK) == 0)
                return buf;
            snprintf(buf, size, "%s/../lib/" CUDA_MODULE_NAME, exe);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
#ifdef NMF_CUDA_MODULE_BUILD_PATH
    if (access(NMF_CUDA_MODULE_BUILD_PATH, R_OK) == 0) {
        snprintf(buf, size, "%s", NMF_CUDA_MODULE_BUILD_PATH);
        return buf;
    }
#endif
    snprintf(why, why_size, "no %s beside the executable, in ../lib from it, nor where the "
             "build put it", CUDA_MODULE_NAME);
    return NULL;
}

/* How many devices the CUDA driver sees, asked through libcuda.so.1 itself
 * (the driver API's cuInit and cuDeviceGetCount, stable since CUDA 2), so
 * that a machine without a GPU or driver loads nothing more. 0 with the
 * reason in why. */
static int driver_device_count(char *why, size_t size)
{
    typedef int cu_init_fn(unsigned flags);
    typedef int cu_count_fn(int *count);
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!driver) {
        snprintf(why, size, "no CUDA driver: %s", dlerror());
        return 0;
    }
    void *init_sym = dlsym(driver, "cuInit"), *count_sym = dlsym(driver, "cuDeviceGetCount");
    cu_init_fn *cu_init;
    cu_count_fn *cu_count;
    /* Through memcpy: ISO C has no cast from void * to a function pointer. */
    memcpy(&cu_init, &init_sym, sizeof cu_init);
    memcpy(&cu_count, &count_sym, sizeof cu_count);
    int count = 0, err;
    if (!init_sym || !count_sym)
        snprintf(why, size, "libcuda.so.1 lacks cuInit or cuDeviceGetCount");
    else if ((err = cu_init(0)) == 100) /* CUDA_ERROR_NO_DEVICE */
        snprintf(why, size, "the CUDA driver sees no devices");
    else if (err != 0)
        snprintf(why, size, "the CUDA driver does not start (cuInit error %d)", err);
    else if ((err = cu_count(&count)) != 0 || count == 0)
        snprintf(why, size, "the CUDA driver sees no devices");
    /* Left open: the CUDA runtime in the module opens the same driver. */
    return count;
}

/* The CUDA backend, loaded the first time it is asked for; NULL with the
 * reason in why (kept for later calls). */
static const nmf_backend *gpu_backend(char *why, size_t size)
{
    static int tried;
    static const nmf_backend *loaded;
    static char reason[512];
    if (!tried) {
        tried = 1;
        char path[4096];
        void *module = NULL;
        if (!cuda_module_path(path, sizeof path, reason, sizeof reason))
            ;
        else if (!(module = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
            snprintf(reason, sizeof reason, "cannot load the CUDA backend: %.450s", dlerror());
        else if (!(loaded = dlsym(module, "nmf_backend_cuda")))
            snprintf(reason, sizeof reason, "%.400s has no nmf_backend_cuda", path);
    }
    if (!loaded)
        snprintf(why, size, "%s", reason);
    return loaded;
}

/* Whether this build made the module (or one is named by $NMF_CUDA_MODULE). */
static int cuda_built(void)
{
#ifdef NMF_CUDA_MODULE_BUILD_PATH
    return 1;
#else
    const char *env = getenv("NMF_CUDA_MODULE");
    return env && *env;
#endif
}

/* Usable GPUs: 0 with the reason in why when the build has no CUDA, the
 * driver sees no device, the module cannot be loaded or its runtime sees
 * none. Probing never aborts. */
static int gpu_devices(char *why, size_t size, const nmf_backend **out)
{
    *out = NULL;
    if (!cuda_built()) {
        snprintf(why, size, "this build has no CUDA backend (configured without CUDA)");
        return 0;
    }
    if (driver_device_count(why, size) == 0 || !(*out = gpu_backend(why, size)))
        return 0;
    return (*out)->device_count(why, size);
}

/* The first of `missing` (NMF_NEEDS_*) in words, and what to do instead. */
static const char *needs_words(unsigned missing)
{
    return missing & NMF_NEEDS_RANKS
               ? "over the ranks of an MPI job; use --device cpu, or one process"
               : "with missing pixels; use --device cpu";
}

nmf_status nmf_backend_select(nmf_device device, unsigned needs, const nmf_backend **out)
{
    char why[256] = "";
    unsigned missing;
    switch (device) {
    case NMF_DEVICE_CPU:
        *out = &nmf_backend_cpu;
        return NMF_STATUS_OK;
    case NMF_DEVICE_GPU:
        if (gpu_devices(why, sizeof why, out) == 0)
            return nmf_error(NMF_STATUS_NO_DEVICE, "device gpu: no CUDA device (%s)", why);
        if ((missing = needs & ~(*out)->meets) != 0)
            return nmf_error(NMF_STATUS_BAD_ARGUMENT, "device gpu: the %s backend does not fit %s",
                             (*out)->name, needs_words(missing));
        return NMF_STATUS_OK;
    case NMF_DEVICE_AUTO:
        /* Over ranks the CPU without probing: each rank would probe alone
         * and could choose another backend, whose sums would not match the
         * others'; a job agrees on the GPU and asks for it (src/job). */
        if (needs & NMF_NEEDS_RANKS) {
            *out = &nmf_backend_cpu;
            return NMF_STATUS_OK;
        }
        if (gpu_devices(why, sizeof why, out) == 0) {
            /* The driver's own words only when a GPU was asked for. */
            nmf_note("no GPU found; running on the CPU (--device gpu says why)");
            *out = &nmf_backend_cpu;
        } else if ((missing = needs & ~(*out)->meets) != 0) {
            nmf_note("the %s backend does not fit %s; running on the CPU", (*out)->name,
                     needs_words(missing));
            *out = &nmf_backend_cpu;
        }
        return NMF_STATUS_OK;
    }
    return nmf_error(NMF_STATUS_BAD_ARGUMENT, "unknown device %d", (int)device);
}

nmf_status nmf_backend_check_precision(const nmf_backend *b, nmf_precision precision)
{
    if (b->precisions & 1u << precision)
        return NMF_STATUS_OK;
    return nmf_error(NMF_STATUS_BAD_ARGUMENT,
                     "precision %s: the %s backend, which this run uses, does not have it",
                     nmf_precision_name(precision), b->name);
}

void nmf_devices_describe(char *buf, size_t size)
{
    char why[512] = "";
    char cpu[256] = "";
    nmf_backend_cpu.describe(cpu, sizeof cpu);
    int len = snprintf(buf, size, "CPU backend: always; %s", cpu);
    if (len < 0 || (size_t)len >= size)
        return;
    if (!cuda_built()) {
        snprintf(buf + len, size - (size_t)len, "CUDA backend: not compiled in\n");
        return;
    }
    const nmf_backend *gpu;
    int count = gpu_devices(why, sizeof why, &gpu);
    int more = snprintf(buf + len, size - (size_t)len, "CUDA backend: compiled in; %d device%s%s%s%s\n",
                        count, count == 1 ? "" : "s", count ? "" : " (", count ? "" : why,
                        count ? "" : ")");
    if (more < 0 || (size_t)(len + more) >= size || !count)
        return;
    gpu->describe(buf + len + more, size - (size_t)(len + more));
}

static const char *const device_names[] = {
    [NMF_DEVICE_AUTO] = "auto", [NMF_DEVICE_CPU] = "cpu", [NMF_DEVICE_GPU] = "gpu"};
NMF_NAMES(nmf_device, nmf_device_name, nmf_device_parse, device_names)

static const char *const precision_names[] = {[NMF_PRECISION_FP32] = "fp32",
                                              [NMF_PRECISION_TF32] = "tf32"};
NMF_NAMES(nmf_precision, nmf_precision_name, nmf_precision_parse, precision_names)
