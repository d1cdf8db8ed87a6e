/* backend.c - the registry of compute backends. The CPU backend is always
 * there; the CUDA backend only when the build found CUDA (NMF_HAVE_CUDA),
 * and this is the only file that tests that macro. */
#include "backend.h"

#include "error.h"

#include <stdio.h>
#include <string.h>

#ifdef NMF_HAVE_CUDA
extern const nmf_backend nmf_backend_cuda;
static const nmf_backend *const gpu_backend = &nmf_backend_cuda;
#else
static const nmf_backend *const gpu_backend = NULL;
#endif

static int gpu_devices(char *why, size_t size)
{
    if (!gpu_backend) {
        snprintf(why, size, "this build has no CUDA backend (configured without CUDA)");
        return 0;
    }
    return gpu_backend->device_count(why, size);
}

nmf_status nmf_backend_select(nmf_device device, const nmf_backend **out)
{
    char why[256] = "";
    switch (device) {
    case NMF_DEVICE_CPU:
        *out = &nmf_backend_cpu;
        return NMF_STATUS_OK;
    case NMF_DEVICE_GPU:
        if (gpu_devices(why, sizeof why) == 0)
            return nmf_error(NMF_STATUS_NO_DEVICE, "--device gpu: no CUDA device (%s)", why);
        *out = gpu_backend;
        return NMF_STATUS_OK;
    case NMF_DEVICE_AUTO:
        if (gpu_devices(why, sizeof why) > 0) {
            *out = gpu_backend;
        } else {
            nmf_note("no CUDA device (%s): running on the CPU", why);
            *out = &nmf_backend_cpu;
        }
        return NMF_STATUS_OK;
    }
    return nmf_error(NMF_STATUS_BAD_ARGUMENT, "unknown device %d", (int)device);
}

void nmf_devices_describe(char *buf, size_t size)
{
    char why[256] = "";
    int len = snprintf(buf, size, "CPU backend: always\n");
    if (len < 0 || (size_t)len >= size)
        return;
    if (!gpu_backend) {
        snprintf(buf + len, size - (size_t)len, "CUDA backend: not compiled in\n");
        return;
    }
    int count = gpu_devices(why, sizeof why);
    int more = snprintf(buf + len, size - (size_t)len, "CUDA backend: compiled in; %d device%s%s%s%s\n",
                        count, count == 1 ? "" : "s", count ? "" : " (", count ? "" : why,
                        count ? "" : ")");
    if (more < 0 || (size_t)(len + more) >= size || !count)
        return;
    gpu_backend->describe(buf + len + more, size - (size_t)(len + more));
}

static const char *const device_names[] = {"auto", "cpu", "gpu"};

const char *nmf_device_name(nmf_device device)
{
    return device >= NMF_DEVICE_AUTO && device <= NMF_DEVICE_GPU ? device_names[device] : NULL;
}

int nmf_device_parse(const char *name, nmf_device *out)
{
    for (int i = 0; i < 3; i++)
        if (name && !strcmp(name, device_names[i])) {
            *out = (nmf_device)i;
            return 0;
        }
    return -1;
}

const char *nmf_precision_name(nmf_precision precision)
{
    return precision == NMF_PRECISION_FP32 ? "fp32" : precision == NMF_PRECISION_TF32 ? "tf32" : NULL;
}

int nmf_precision_parse(const char *name, nmf_precision *out)
{
    for (int i = NMF_PRECISION_FP32; i <= NMF_PRECISION_TF32; i++)
        if (name && !strcmp(name, nmf_precision_name((nmf_precision)i))) {
            *out = (nmf_precision)i;
            return 0;
        }
    return -1;
}
