#!/usr/bin/env bash
# bench/run.sh - the whole benchmark in one command:
#   1. BUILD_DIR/nmf-bench times nmf-faces (CPU, and GPU where there is one),
#      writes $out/bench.json and exports each case's V, W0, H0 to $out/cases
#   2. bench/peers/run_peers.py times scikit-learn (and PyTorch on CUDA) on
#      the same cases from the same start and adds them to bench.json
#   3. bench/plot.py draws $out/ms_per_iter.png and $out/pct_of_ceiling.png
#   4. bench/peers/alternate.py times nmf-faces and the peers a user would
#      pick, alternating round by round on the faces and a 4096 x 4096
#      8-bit set at k = 20 and 64: the newest scikit-learn from PyPI
#      (float32 and float64) and a plain numpy float32 MU loop, in a
#      virtual environment this script makes ($BENCH_VENV, default
#      $out/venv), beside Debian's scikit-learn 1.2.1 (the parity
#      reference); $out/alternating.json. BENCH_ALTERNATE=0 skips it.
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

# 4. The peers a user would install today, alternating with nmf-faces.
if [ "${BENCH_ALTERNATE:-1}" != 0 ]; then
    venv=${BENCH_VENV:-$out/venv}
    if [ ! -x "$venv/bin/python" ] && ! python3 -m venv "$venv" >/dev/null 2>&1; then
        # Debian keeps venv's pip bootstrap in python3-venv.
        sudo=()
        [ "$(id -u)" -ne 0 ] && sudo=(sudo)
        "${sudo[@]}" apt-get install -y -qq python3-venv >/dev/null 2>&1 || true
        rm -rf "$venv"
        python3 -m venv "$venv" >/dev/null 2>&1 || rm -rf "$venv"
    fi
    if [ -x "$venv/bin/python" ] &&
        "$venv/bin/pip" install -q --upgrade scikit-learn numpy >"$out/pip.log" 2>&1; then
        groups=(--python "$venv/bin/python=sklearn-mu32,sklearn-mu,numpy-mu32")
        if /usr/bin/python3 -c "import sklearn" >/dev/null 2>&1; then
            groups+=(--python "/usr/bin/python3=sklearn-mu32")
        fi
        "$venv/bin/python" "$here/peers/alternate.py" "$build/nmf-bench" "$out" "${groups[@]}"
    else
        echo "run.sh: note: no virtual environment with PyPI's scikit-learn (see $out/pip.log); alternating peers not run"
    fi
fi
