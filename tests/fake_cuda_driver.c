/* fake_cuda_driver.c - a libcuda.so.1 that claims one device to the
 * driver-API probe (cuInit, cuDeviceGetCount) and has nothing else, for
 * test_cuda_module.sh: with it the tool goes on to load the CUDA module,
 * whose runtime then finds no usable driver and says so. */
int cuInit(unsigned flags);
int cuDeviceGetCount(int *count);

int cuInit(unsigned flags)
{
    (void)flags;
    return 0;
}

int cuDeviceGetCount(int *count)
{
    *count = 1;
    return 0;
}
