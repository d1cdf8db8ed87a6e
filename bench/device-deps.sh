#!/usr/bin/env bash
# bench/device-deps.sh - run HERE, before a device check: downloads the
# Debian packages the build needs beyond the GPU machine's image (which has
# the CUDA toolkit, CMake and Python but may lack OpenBLAS, LAPACKE, stb, jansson and PLplot,
# and reaches no package registry) into .device-deps/debs, to be carried
# there (device tool: carry [".device-deps/debs"]). bench/device-check.sh
# unpacks them with dpkg -x into .device-deps/root, never into /; that
# folder (115 MiB) is removed here, so that carrying .device-deps whole
# stays under the tool's 64 MiB too.
set -euo pipefail
cd "$(dirname "$0")/.."
# The minimal set (`apt-cache depends`): the -dev packages give the headers and
# link names, then what their libraries load. libopenblas0-openmp's folder
# holds the libblas.so.3 and liblapack.so.3 that liblapacke and libtmglib3
# load, so Debian's reference libblas3/liblapack3 (which dpkg -x would put
# in folders no path names) are not carried; libstb-dev is used for its
# headers alone (no libstb0). libgomp1 is used only where the machine has
# no libgomp.so.1 (bench/device-check.sh keeps the machine's, its gcc's).
# Beyond these they need only glibc 2.34 or later and libgcc_s, which any
# image with a compiler has.
# PLplot (the survey's chart) is the library, the libraries it loads, its
# data and the cairo driver (which loads cairo and pango: the machine's, if
# it has them; the chart's test fails there if not, nothing else does).
packages=(libopenblas-openmp-dev libopenblas0-openmp libgfortran5 libquadmath0 libgomp1
          liblapacke-dev liblapacke libtmglib3 libstb-dev libjansson-dev libjansson4
          libplplot-dev libplplot17 libplplot-data plplot-driver-cairo libcsirocsa0 libcsironn0
          libqhull-r8.0 libqsastime0 libltdl7 libshp2 libhpdf-2.3.0)
rm -rf .device-deps/debs .device-deps/root
mkdir -p .device-deps/debs
cd .device-deps/debs
apt-get download "${packages[@]}" >/dev/null
du -sh . | awk '{print "device deps: " $1 " in .device-deps/debs"}'
