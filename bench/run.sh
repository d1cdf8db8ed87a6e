#!/usr/bin/env bash
# bench/run.sh - the whole benchmark in one command:
#   1. BUILD_DIR/nmf-bench times nmf-faces (CPU, and GPU where there is one),
#      writes $out/bench.json and exports each case's V, W0, H0 to $out/cases
#   2. bench/peers/run_peers.py times scikit-learn (and PyTorch on CUDA) on
#      the same cases from the same start and adds them to bench.json
#   3. bench/plot.py draws $out/ms_per_iter.png and $out/pct_of_ceiling.png
# usage: bench/run.sh [BUILD_DIR] [nmf-bench options...]
# BUILD_DIR defaults to the repository's build/; out is $BENCH_OUT or
# ./bench-out. The peers and the charts need a Python with numpy (and
# scikit-learn, torch, matplotlib where present): of `python3` and
# /usr/bin/python3 the first that has them is used; a missing one is a note,
# not a failure, since bench.json is complete without them.
# BENCH_LIBRARY_PATH, when set, goes ahead on nmf-bench's LD_LIBRARY_PATH
# alone (bench/device-check.sh: carried libraries, which must not reach the
# Python peers).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    build=$1
    shift
fi
out=${BENCH_OUT:-bench-out}

if [ ! -x "$build/nmf-bench" ]; then
    echo "run.sh: no $build/nmf-bench" >&2
    echo "hint: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build" >&2
    exit 1
fi
mkdir -p "$out"
if [ -n "${BENCH_LIBRARY_PATH:-}" ]; then
    LD_LIBRARY_PATH=$BENCH_LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
        "$build/nmf-bench" --json "$out/bench.json" --export "$out/cases" "$@"
else
    "$build/nmf-bench" --json "$out/bench.json" --export "$out/cases" "$@"
fi

# pick_python "MODULES": the first of python3, /usr/bin/python3 that can
# `import MODULES` (a comma-separated list), or nothing.
pick_python() {
    local py
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null && "$py" -c "import $1" >/dev/null 2>&1; then
            echo "$py"
            return 0
        fi
    done
}

py=
if command -v nvidia-smi >/dev/null; then
    py=$(pick_python "numpy, torch")
fi
[ -n "$py" ] || py=$(pick_python numpy)
if [ -n "$py" ]; then
    echo "run.sh: peers with $py"
    "$py" "$here/peers/run_peers.py" "$out/bench.json"
else
    echo "run.sh: note: no python3 with numpy, peers not run"
fi

charts=
plot_py=$(pick_python "numpy, matplotlib")
if [ -n "$plot_py" ]; then
    "$plot_py" "$here/plot.py" "$out/bench.json" "$out"
    charts="$out/ms_per_iter.png $out/pct_of_ceiling.png"
else
    echo "run.sh: note: no python3 with matplotlib, charts not drawn"
fi

echo "run.sh: JSON: $out/bench.json"
[ -z "$charts" ] || echo "run.sh: charts: $charts"
