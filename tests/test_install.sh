#!/usr/bin/env bash
# test_install.sh - the installed package is usable from outside: `cmake
# --install` into a scratch prefix puts the header, libnmf, its CMake
# package and pkg-config file, the tools (and the CUDA module when built)
# in place; tests/outside, an outside project, builds against it with
# find_package(nmf) and runs a fit, and the same program builds with
# pkg-config's flags; the installed nmf-faces runs.
# usage: test_install.sh BUILD_DIR SOURCE_DIR CUDA(ON|OFF)
set -u
build=$1
source=$2
cuda=$3
# shellcheck source=check.sh
. "$(dirname "$0")/check.sh"
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 && pass ||
    fail "cmake --install: $(tail -n 3 "$work/install.log")"
libdir=$(cd "$prefix" && ls -d lib*/cmake/nmf 2>/dev/null | head -n 1)
libdir=${libdir%/cmake/nmf}
expected=(include/nmf/nmf.h "$libdir/libnmf.a" "$libdir/cmake/nmf/nmfConfig.cmake"
          "$libdir/cmake/nmf/nmfConfigVersion.cmake" "$libdir/pkgconfig/nmf.pc" bin/nmf-faces bin/nmf-bench)
[ "$cuda" = ON ] && expected+=(lib/libnmf-cuda.so)
for f in "${expected[@]}"; do
    [ -f "$prefix/$f" ] && pass || fail "not installed: $f"
done

# find_package(nmf) from an outside project, and its fit.
if cmake -S "$source/tests/outside" -B "$work/outside" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_BUILD_TYPE=Release >"$work/outside.log" 2>&1 &&
   cmake --build "$work/outside" >>"$work/outside.log" 2>&1; then
    pass
    "$work/outside/outside_fit" && pass || fail "the outside project's fit"
else
    fail "the outside project does not build: $(grep -m 3 -i 'error' "$work/outside.log")"
fi

# The same program with pkg-config's flags.
if command -v pkg-config >/dev/null; then
    flags=$(PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig pkg-config --cflags --libs nmf) &&
        cc -std=c11 "$source/tests/outside/outside_fit.c" $flags -o "$work/pc_fit" 2>"$work/pc.log" &&
        "$work/pc_fit" && pass || fail "pkg-config build: $flags $(cat "$work/pc.log")"
else
    # scripts/deps installs it; a GPU machine's image may lack it.
    echo "note: pkg-config part SKIPPED: pkg-config is not installed"
fi

# The installed tool runs, from its own folder.
"$prefix/bin/nmf-faces" --version >"$work/version" 2>&1 && grep -q "^nmf-faces " "$work/version" &&
    "$prefix/bin/nmf-faces" -q --device cpu -k 2 --max-iter 2 -o "$work/run" "$source/data/orl_faces" &&
    [ -f "$work/run/metrics.json" ] && pass || fail "the installed nmf-faces: $(head -n 3 "$work/version")"

finish test_install
