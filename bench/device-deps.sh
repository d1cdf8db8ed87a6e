#!/usr/bin/env bash
# bench/device-deps.sh - run HERE, before a device check: downloads the
# Debian packages the build needs beyond the GPU machine's image (which has
# the CUDA toolkit, CMake and Python but may lack OpenBLAS, LAPACKE and stb,
# and reaches no package registry) into .device-deps/debs, to be carried
# there (device tool: carry [".device-deps"]). bench/device-check.sh unpacks
# them with dpkg -x into .device-deps/root, never into /.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libopenblas-openmp-dev libopenblas0-openmp liblapacke-dev liblapacke libtmglib3
          liblapack3 libblas3 libstb-dev libgfortran5 libquadmath0)
rm -rf .device-deps/debs
mkdir -p .device-deps/debs
cd .device-deps/debs
apt-get download "${packages[@]}" >/dev/null
du -sh . | awk '{print "device deps: " $1 " in .device-deps/debs"}'
