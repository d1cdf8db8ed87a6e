#!/usr/bin/env bash
# bench/device-check.sh - the whole GPU check, on a machine with an NVIDIA
# GPU (the device tool), from the repository root, with OUT set to an empty
# folder whose files come back:
#   0. no GPU (no nvidia-smi, or it fails or lists none): says why on its
#      last line and exits 2, within 30 s
#   1. the machine: GPU, driver, CUDA, nvcc, cuBLAS, compiler, cmake,
#      Python, torch, and where each library comes from (printed first)
#   2. configures and builds for sm_90 (H100/H200): Release, NMF_CUDA=ON,
#      -lineinfo (so compute-sanitizer names source lines)
#   3. ctest, all but test_gpu (step 4), test_valgrind and
#      test_gpu_tolerances (CPU-only, minutes of CPU time: CI runs both); a
#      skipped GPU test fails the step
#   4. test_gpu, once: SKIPPED (exit 77) fails it
#   5. compute-sanitizer memcheck on a 30-iteration GPU run of nmf-faces
#   6. the faces on the GPU (fp32, tf32) and the CPU, 200 iterations, tol 0;
#      the GPU's error within 1e-4 relative of the CPU's
#   7. the benchmark (bench/run.sh: nmf-bench, the scikit-learn and PyTorch
#      peers) on the speed targets' cases: faces on CPU and GPU, 65536x4096
#      on the GPU only
#   8. HALS against MU per iteration (nmf-bench --solvers mu,hals): faces on
#      CPU and GPU, 65536x4096 on the GPU ("target:" lines); then the same
#      large case with V streamed from host memory (NMF_GPU_STREAM_BLOCK)
#   9. the summary table, overall PASS/FAIL, exit 0 (all passed) or 1
# Exit status: 0 all passed, 1 a step failed, 2 no GPU.
#
# Every step runs under `timeout` with its own budget (they add up to 580 s;
# the expected run on an H100/H200 is 3-5 minutes), cut short where it
# would pass the deadline, 350 s after the start (under 6 minutes), so that
# the summary is written inside a device call of timeout_s 420, which
# leaves room in the session's 15 device minutes for one rerun. The steps
# run most important first: a deadline cuts the benchmarks, not the tests.
# Each step's PASS/FAIL/TIMEOUT line is printed and appended to $OUT/summary.txt
# as it ends, so a run that is killed still returns its summary so far.
#
# Work happens in a scratch folder ($TMPDIR or /tmp, never in $OUT); into
# $OUT go at most these 8 files (the device tool returns 8, 16 MiB each):
#   summary.txt          the step lines, then the final table
#   machine.txt          the machine facts (also printed first)
#   device-check.log.gz  every step's full output, gzip (refreshed after each
#                        step; the log's last 15 MiB)
#   ctest.txt            ctest's output
#   test_gpu.txt         test_gpu's output
#   sanitizer.txt        compute-sanitizer's output
#   faces.json           the faces runs' metrics.json, one object
#   bench.json           the bench/run.sh and HALS-vs-MU JSONs, one object
# (text files are cut to their last 4 MiB).
#
# Missing OpenBLAS/LAPACKE/stb/jansson/PLplot come from .device-deps/debs (bench/device-deps.sh,
# run beforehand where packages can be downloaded; device tool: carry
# [".device-deps/debs"], 14 MiB), unpacked with dpkg -x into .device-deps/root
# and put on LD_LIBRARY_PATH for the project's own programs only (its cmake
# build, ctest, nmf-faces, nmf-bench), never for python3 (bench/run.sh's
# peers, the machine facts), whose numpy and torch bring their own.
#
# For trying it elsewhere: DEVICE_CHECK_BUILD (build folder, default
# build-device), DEVICE_CHECK_SKIP_BUILD=1 (use that folder as it is),
# DEVICE_CHECK_DEPS=carried (the carried packages even where the machine has
# its own), DEVICE_CHECK_LARGE (the large case, default 65536x4096),
# DEVICE_CHECK_BUDGET_SCALE (an integer that multiplies every budget) and
# DEVICE_CHECK_DEADLINE (seconds, default 350).
set -u
cd "$(dirname "$0")/.." || exit 2
repo=$PWD

out=${OUT:-$repo/device-out}
if ! mkdir -p "$out" || ! out=$(cd "$out" && pwd); then
    echo "device-check: cannot use OUT=$out"
    exit 2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/device-check.XXXXXX") || { echo "device-check: no scratch folder"; exit 2; }
build=${DEVICE_CHECK_BUILD:-$repo/build-device}
large=${DEVICE_CHECK_LARGE:-65536x4096}
scale=${DEVICE_CHECK_BUDGET_SCALE:-1}
deadline=${DEVICE_CHECK_DEADLINE:-350}
log=$work/device-check.log
summary=$out/summary.txt
: >"$log"
: >"$summary"
status=0
gpu_line=
lines=()
started=$SECONDS
# Output line by line, so that a step killed at its budget leaves what it printed.
export PYTHONUNBUFFERED=1
line_buffered=(env)
! command -v stdbuf >/dev/null || line_buffered=(stdbuf -oL -eL)

# --- what goes into $OUT ------------------------------------------------------
out_files=" summary.txt machine.txt device-check.log.gz ctest.txt test_gpu.txt sanitizer.txt faces.json bench.json "
# keep SRC NAME: copies SRC to $OUT/NAME, one of the 8 names above (never a
# ninth file), text cut to its last 4 MiB.
keep() {
    case $out_files in *" $2 "*) ;; *) echo "device-check: bug: $2 is not an \$OUT file" >&2; return 1 ;; esac
    [ -f "$1" ] || return 0
    if [ "$(stat -c %s "$1")" -gt 4194304 ]; then
        { echo "[device-check: cut to the last 4 MiB]"; tail -c 4194304 "$1"; } >"$out/$2"
    else
        cp "$1" "$out/$2"
    fi
}
save_log() { # the log so far, gzip, into $OUT: at most 15 MiB of it, so under 16 MiB
    tail -c 15728640 "$log" | gzip -c >"$work/log.gz" && cp "$work/log.gz" "$out/device-check.log.gz"
}

# record NAME VERDICT SECONDS [NOTE]: one step line, printed, logged and
# appended to $OUT/summary.txt at once (the log refreshed in $OUT with it);
# anything but PASS or SKIP fails the run.
record() {
    local line
    line=$(printf '%-40s %-7s %4ss  %s' "$1" "$2" "$3" "${4:-}")
    lines+=("$line")
    echo "$line"
    echo "$line" >>"$summary"
    echo "--- $line" >>"$log"
    save_log
    case $2 in PASS | SKIP) ;; *) status=1 ;; esac
}

# step ID NAME BUDGET COMMAND...: runs COMMAND (an external command) under
# `timeout BUDGET*scale` (less where the deadline is nearer), its output into
# $work/ID.txt and the log, and records PASS, FAIL (exit N) or TIMEOUT. A
# function check_ID, where defined, reads the output (also of a command
# killed): it prints the step's note and returns non-zero to fail a step
# whose command exited 0.
step() {
    local id=$1 name=$2 budget=$(($3 * scale)) t0=$SECONDS rc note='' left
    shift 3
    left=$((deadline - (SECONDS - started)))
    [ "$budget" -le "$left" ] || budget=$left
    if [ "$budget" -lt 5 ]; then
        record "$name" TIMEOUT 0 "not run: the ${deadline}s deadline is reached"
        return 124
    fi
    echo "=== $name [budget ${budget}s]: $*" >>"$log"
    # In the background and waited for, so that a signal to this script
    # reaches on_signal at once; timeout runs COMMAND in a process group of
    # its own, and kills that whole group when the budget is spent.
    timeout -k 10 "$budget" "${line_buffered[@]}" "$@" >"$work/$id.txt" 2>&1 </dev/null &
    step_pid=$! step_id=$id step_name=$name step_t0=$t0
    wait "$step_pid"
    rc=$?
    step_pid=
    cat "$work/$id.txt" >>"$log"
    if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
        ! declare -F "check_$id" >/dev/null || note=$("check_$id" "$work/$id.txt")
        record "$name" TIMEOUT $((SECONDS - t0)) "killed after its ${budget}s budget${note:+; $note}"
    elif declare -F "check_$id" >/dev/null && ! note=$("check_$id" "$work/$id.txt") && [ $rc -eq 0 ]; then
        record "$name" FAIL $((SECONDS - t0)) "$note"
        rc=1
    elif [ $rc -ne 0 ]; then
        [ -n "$note" ] || note=$(tail -n 1 "$work/$id.txt" | cut -c1-100)
        record "$name" FAIL $((SECONDS - t0)) "exit $rc$([ $rc -ne 77 ] || echo ' (SKIPPED)'); $note"
    else
        record "$name" PASS $((SECONDS - t0)) "$note"
    fi
    return $rc
}

# A signal to this script (Ctrl-C, a stop from the device tool) ends the
# running step's process group too, and still writes the summary.
step_pid=
# shellcheck disable=SC2317
on_signal() {
    trap - INT TERM HUP
    if [ -n "$step_pid" ]; then
        kill -TERM -- "-$step_pid" 2>/dev/null
        cat "$work/$step_id.txt" >>"$log"
        case $out_files in *" $step_id.txt "*) keep "$work/$step_id.txt" "$step_id.txt" ;; esac
        record "$step_name" KILLED $((SECONDS - step_t0)) "this script was stopped by a signal during this step"
    else
        record "device check" KILLED 0 "this script was stopped by a signal"
    fi
    finish
}
trap on_signal INT TERM HUP

# json_object DEST NAME=FILE...: the JSON files as one object, null for a missing one.
json_object() {
    local dest=$1 sep='{' pair
    shift
    {
        for pair in "$@"; do
            printf '%s\n"%s": ' "$sep" "${pair%%=*}"
            if [ -s "${pair#*=}" ]; then cat "${pair#*=}"; else printf 'null'; fi
            sep=,
        done
        printf '\n}\n'
    } >"$dest"
}

# field RUN KEY: a number from $work/RUN/metrics.json.
field() { sed -n "s/.*\"$2\": \\([^,}]*\\).*/\\1/p" "$work/$1/metrics.json" 2>/dev/null | head -1; }

# bench_lines FILE: the tables and verdicts in an nmf-bench (or bench/run.sh)
# output: nmf-bench's table, the peers' table and ratios, targets, failures.
bench_lines() {
    awk '/^case  +device/ || /^case  +impl/ { t = 1 } /^results:/ || /^run\.sh:/ { t = 0 } /^-+$/ || /^$/ { next }
         t || /^ceiling / || /^target:/ || /^FAIL/ { print }' "$1" 2>/dev/null
}

# finish: the final table into $OUT/summary.txt (rewritten whole) and stdout; exits.
finish() {
    local cpu run
    {
        echo "device check: $(head -n 1 "$work/machine.txt" 2>/dev/null)"
        echo "GPU: $gpu_line"
        echo
        printf '%s\n' "${lines[@]}"
        if [ -f "$work/faces-cpu/metrics.json" ] || [ -f "$work/faces-gpu/metrics.json" ]; then
            echo
            printf '%-16s %6s %14s %10s %9s %9s\n' "faces, k 20" device error "vs CPU" fit_s ms/iter
            cpu=$(field faces-cpu reconstruction_err)
            for run in faces-gpu faces-gpu-tf32 faces-cpu; do
                awk -v r="$run" -v d="$(field "$run" device | tr -d '"')" -v e="$(field "$run" reconstruction_err)" \
                    -v c="$(rel_diff "$(field "$run" reconstruction_err)" "$cpu")" -v f="$(field "$run" fit_s)" \
                    -v m="$(field "$run" ms_per_iter)" 'BEGIN { if (e == "") { printf "%-16s no metrics.json\n", r; exit }
                        printf "%-16s %6s %14.4f %10s %9.3f %9.3f\n", r, d, e, c, f, m }'
            done
        fi
        for run in bench-faces bench-large hals-faces hals-large; do
            [ -s "$work/$run.txt" ] || continue
            echo
            echo "$run:"
            bench_lines "$work/$run.txt"
        done
        echo
        echo "elapsed: $((SECONDS - started)) s"
        echo "overall: $([ $status -eq 0 ] && echo PASS || echo FAIL) (exit $status)"
    } >"$work/summary.txt"
    cp "$work/summary.txt" "$summary"
    echo
    cat "$work/summary.txt" >>"$log"
    save_log
    sed '$d' "$work/summary.txt"
    echo "device-check: overall $([ $status -eq 0 ] && echo PASS || echo FAIL), exit $status ($((SECONDS - started)) s; files in $out, scratch $work)"
    exit $status
}

# rel_diff A B: |A - B| / |B|, or nothing.
rel_diff() {
    [ -n "$1" ] && [ -n "$2" ] || return 0
    awk -v a="$1" -v b="$2" 'BEGIN { d = (a - b) / b; if (d < 0) d = -d; printf "%.2e", d }'
}

# --- 0. a GPU, or exit 2 at once ----------------------------------------------
no_gpu() {
    {
        echo "no GPU: $1"
        echo "uname: $(uname -srm); cores: $(nproc)"
    } | tee "$work/machine.txt" >"$summary"
    cp "$work/machine.txt" "$out/machine.txt"
    rm -rf "$work"
    echo "device-check: no GPU on this machine: $1; nothing run (exit 2)"
    exit 2
}
smi=$(command -v nvidia-smi)
[ -n "$smi" ] || [ ! -x /usr/local/nvidia/bin/nvidia-smi ] || smi=/usr/local/nvidia/bin/nvidia-smi
[ -n "$smi" ] || no_gpu "nvidia-smi is not on PATH nor in /usr/local/nvidia/bin"
gpu_list=$(timeout -k 5 15 "$smi" -L 2>&1)
rc=$?
[ $rc -ne 124 ] || no_gpu "'nvidia-smi -L' did not answer within 15 s"
[ $rc -eq 0 ] || no_gpu "'nvidia-smi -L' failed (exit $rc): $(echo "$gpu_list" | head -n 1 | cut -c1-160)"
grep -q '^GPU [0-9]' <<<"$gpu_list" || no_gpu "'nvidia-smi -L' lists no GPU: $(echo "$gpu_list" | head -n 1 | cut -c1-160)"
gpu_line=$(echo "$gpu_list" | head -n 1)

# --- the toolkit's programs, on PATH or in /usr/local/cuda --------------------
# (and cmake/ctest from the Python environment, where PATH lacks them)
for dir in /usr/local/cuda/bin /opt/torch/.venv/bin; do
    case ":$PATH:" in *":$dir:"*) ;; *) [ ! -d "$dir" ] || PATH=$PATH:$dir ;; esac
done
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
[ -x "$sanitizer" ] || sanitizer=

# --- dependencies: the machine's own, else the carried Debian 12 packages ----
deps_root=$repo/.device-deps/root
carried_ld=
cmake_args=(-S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release -DNMF_CUDA=ON
            -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CUDA_FLAGS=-lineinfo)
if [ "${DEVICE_CHECK_DEPS:-}" != carried ] && [ -e /usr/include/stb/stb_image.h ] &&
   [ -e /usr/include/lapacke.h ] && [ -e /usr/include/jansson.h ] &&
   [ -e /usr/include/plplot/plplot.h ] &&
   ls /usr/lib/*/liblapacke.so /usr/lib/*/openblas-openmp/libopenblas.so >/dev/null 2>&1; then
    deps="the machine's own (/usr)"
elif ls .device-deps/debs/*.deb >/dev/null 2>&1; then
    rm -rf "$deps_root"
    mkdir -p "$deps_root"
    for deb in .device-deps/debs/*.deb; do dpkg -x "$deb" "$deps_root" || record "unpack $deb" FAIL 0; done
    arch_dir=$deps_root/usr/lib/x86_64-linux-gnu
    # The machine's libgomp belongs to the gcc that compiles our -fopenmp code
    # and may be newer than Debian 12's: keep the carried one only without it.
    if ldconfig -p 2>/dev/null | grep -q 'libgomp\.so\.1 ' ||
       ls /usr/lib/x86_64-linux-gnu/libgomp.so.1 /lib/x86_64-linux-gnu/libgomp.so.1 >/dev/null 2>&1; then
        rm -f "$arch_dir"/libgomp.so.1*
    fi
    # Debian's alternatives links (liblapack.so.3, libblas.so.3) do not come
    # with dpkg -x; the OpenMP OpenBLAS folder holds both.
    carried_ld=$arch_dir/openblas-openmp:$arch_dir
    cmake_args+=(-DCMAKE_PREFIX_PATH="$deps_root/usr" -DCMAKE_LIBRARY_PATH="$arch_dir/openblas-openmp")
    deps="carried Debian 12 .debs, in $deps_root:"
    for deb in .device-deps/debs/*.deb; do deps+=" $(basename "$deb" _amd64.deb)"; done
else
    record "dependencies" FAIL 0 "no OpenBLAS/LAPACKE/stb/jansson/PLplot here and no .device-deps/debs: run bench/device-deps.sh and carry .device-deps"
    finish
fi
# with_libs COMMAND...: a project program, with the carried libraries ahead
# on its LD_LIBRARY_PATH (env, so that `timeout` can run it).
with_libs=(env)
# PLplot finds its data and drivers where Debian puts them unless told.
[ -z "$carried_ld" ] || with_libs=(env "LD_LIBRARY_PATH=$carried_ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
                                   "PLPLOT_LIB=$deps_root/usr/share/plplot5.15.0"
                                   "PLPLOT_DRV_DIR=$arch_dir/plplot5.15.0/drivers")

# --- 1. the machine, first --------------------------------------------------
# lib_origin PATH: carried, or the system package that holds it.
lib_origin() {
    local real pkg
    real=$(readlink -f "$1")
    case $real in "$deps_root"/*) echo "carried .deb"; return ;; esac
    pkg=$(dpkg -S "$real" 2>/dev/null | head -n 1 | cut -d: -f1)
    [ -z "$pkg" ] && pkg=$(dpkg -S "$1" 2>/dev/null | head -n 1 | cut -d: -f1)
    if [ -n "$pkg" ]; then
        echo "system, $pkg $(dpkg-query -W -f '${Version}' "$pkg" 2>/dev/null)"
    else
        echo "system, no package"
    fi
}
facts() {
    local cublas='' lib
    echo "$(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null)$(
        [ -z "$(git -C "$repo" status --porcelain --untracked-files=no 2>/dev/null)" ] || echo ' (with uncommitted changes)')"
    echo "GPUs ($smi; index, name, memory, compute capability, driver):"
    timeout 10 "$smi" --query-gpu=index,name,memory.total,compute_cap,driver_version --format=csv,noheader 2>/dev/null ||
        timeout 10 "$smi" --query-gpu=index,name,memory.total,driver_version --format=csv,noheader 2>&1
    echo "driver's CUDA: $(timeout 10 "$smi" 2>/dev/null | grep -o 'CUDA Version: *[0-9.]*' | head -n 1)"
    echo "nvcc: $nvcc: $(timeout 10 "$nvcc" --version 2>&1 | grep -i 'release' || echo missing)"
    for lib in /usr/local/cuda/lib64/libcublas.so /usr/local/cuda/targets/*/lib/libcublas.so \
               /usr/local/cuda/dist-info/nvidia_cublas*; do
        [ ! -e "$lib" ] || cublas+=" $(readlink -f "$lib")"
    done
    echo "toolkit's cuBLAS:${cublas:- not found under /usr/local/cuda}"
    echo "compute-sanitizer: ${sanitizer:-missing}${sanitizer:+: $(timeout 10 "$sanitizer" --version 2>&1 | tail -n 1)}"
    echo "C compiler: $(command -v cc): $(cc --version 2>&1 | head -n 1)"
    echo "cmake: $(command -v cmake): $(cmake --version 2>&1 | head -n 1)"
    echo "bash $BASH_VERSION; OS: $(sed -n 's/^PRETTY_NAME=//p' /etc/os-release 2>/dev/null | tr -d '"'); kernel $(uname -r)"
    echo "CPU: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); memory $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "python3: $(command -v python3)"
    timeout 30 python3 - <<'PY' 2>&1 | sed 's/^/  /'
import importlib, sys
print("Python", sys.version.split()[0], sys.executable)
for name in ("numpy", "sklearn", "matplotlib", "torch"):
    try:
        print(name, importlib.import_module(name).__version__)
    except Exception as e:
        print(name, "missing:", e)
try:
    import torch
    print("torch CUDA", torch.version.cuda, "cuDNN", torch.backends.cudnn.version(),
          "GPU usable:", torch.cuda.is_available())
    from importlib.metadata import version
    print("torch's cuBLAS wheel: nvidia-cublas", version("nvidia-cublas"))
except Exception as e:
    print("torch details:", e)
PY
    echo "/usr/bin/python3 (test_sklearn's, test_bench's): $(timeout 15 /usr/bin/python3 -c '
import sys
try:
    import sklearn
    print(sys.version.split()[0], "with scikit-learn", sklearn.__version__)
except ImportError:
    print(sys.version.split()[0], "without scikit-learn (test_sklearn skips)")' 2>&1 | tail -n 1)"
    echo "OpenBLAS/LAPACKE/stb: $deps"
}
facts 2>&1 | tee "$work/machine.txt"
keep "$work/machine.txt" machine.txt
echo
cat "$work/machine.txt" >>"$log"
save_log

# --- 2. configure and build -------------------------------------------------
if [ "${DEVICE_CHECK_SKIP_BUILD:-0}" = 1 ]; then
    record "configure + build" SKIP 0 "DEVICE_CHECK_SKIP_BUILD=1: $build as it is"
else
    step configure "configure (cmake, sm_90)" 30 "${with_libs[@]}" cmake "${cmake_args[@]}" &&
        step build "build" 60 "${with_libs[@]}" cmake --build "$build" -j "$(nproc)"
fi
if [ ! -x "$build/nmf-faces" ] || [ ! -x "$build/nmf-bench" ]; then
    record "the remaining steps" SKIP 0 "no $build/nmf-faces or nmf-bench"
    status=1
    finish
fi

# The build's own facts: the CUDA runtime and devices it sees, and where
# each library it loads comes from.
{
    echo
    echo "nmf-faces --version:"
    timeout 15 "${with_libs[@]}" "$build/nmf-faces" --version 2>&1 | sed 's/^/  /'
    # nmf-faces, and the CUDA module it loads when a GPU is used (cuBLAS's user).
    for binary in "$build/nmf-faces" "$build/libnmf-cuda.so"; do
        echo "libraries of $(basename "$binary"):"
        timeout 10 "${with_libs[@]}" ldd "$binary" |
            awk '/=>/ && $1 ~ /openblas|lapack|blas|tmglib|gfortran|quadmath|gomp|cublas|cudart|stdc/ { print $1, $3 }' |
            while read -r name path; do
                echo "  $name => $path$([ "$(readlink -f "$path")" = "$path" ] || echo " -> $(readlink -f "$path")") ($(lib_origin "$path"))"
            done
    done
    echo "stb: $(sed -n 's/^STB_INCLUDE_DIR:PATH=//p' "$build/CMakeCache.txt")"
} 2>&1 | tee -a "$work/machine.txt"
keep "$work/machine.txt" machine.txt
echo
cat "$work/machine.txt" >>"$log"
save_log

# --- 3. ctest, 4. test_gpu ----------------------------------------------------
# A skipped GPU test fails the step (but test_mpi_gpu in a build without
# MPI); other
# skips (test_sklearn without scikit-learn for /usr/bin/python3) are listed. (step calls check_ID.)
# shellcheck disable=SC2317
check_ctest() {
    local verdicts skipped failed running note
    # "12/19 Test #10: name ....***Timeout 90.04 sec", as each test ends
    verdicts=$(sed -n 's/^.*Test *#[0-9]*: \([^ ]*\) [. ]*\*\*\*\([A-Za-z]*\).*/\1 (\2)/p' "$1")
    skipped=$(awk '/ \(Skipped\)$/ { printf " %s", $1 }' <<<"$verdicts")
    failed=$(awk 'NF && !/ \(Skipped\)$/ { printf " %s", $0 }' <<<"$verdicts")
    # Started but not finished: what a step killed at its budget was running.
    running=$(sed -n 's/^ *Start *[0-9]*: //p' "$1" | grep -vxF -f <(sed -n 's/^.*Test *#[0-9]*: \([^ ]*\) .*/\1/p' "$1") |
              awk '{ printf " %s", $1 }')
    note="$(grep -o '[0-9]*% tests passed.*' "$1" | head -n 1)${failed:+; failed:$failed}${skipped:+; skipped:$skipped}"
    note+=${running:+; still running:$running}
    echo "${note#; }"
    # test_mpi_gpu needs MPI too, which the GPU machine may lack: a build
    # without MPI lists its skip, not failing it.
    if timeout 15 "${with_libs[@]}" "$build/nmf-faces" --version 2>/dev/null | grep -q 'MPI: none'; then
        skipped=${skipped// test_mpi_gpu/}
    fi
    ! grep -q gpu <<<"$skipped"
}
# shellcheck disable=SC2317
check_test_gpu() {
    ! grep -q SKIPPED "$1" || { echo "printed SKIPPED: $(grep -m 1 SKIPPED "$1" | cut -c1-100)"; return 1; }
}
# test_gpu runs once, in step 4; test_valgrind and test_gpu_tolerances are
# left to CI (valgrind's memcheck of the tool costs ~30 s of one core, the
# tolerances' stand-in SGEMMs minutes of CPU; neither touches the GPU, so a
# run here would only repeat CI's).
step ctest "ctest (but test_gpu, valgrind, tolerances)" 100 "${with_libs[@]}" \
    ctest --test-dir "$build" --output-on-failure -j "$(nproc)" --timeout $((90 * scale)) \
    -E '^(test_gpu|test_valgrind|test_gpu_tolerances_.*)$'
keep "$work/ctest.txt" ctest.txt
step test_gpu "test_gpu (not skipped)" 90 "${with_libs[@]}" "$build/tests/test_gpu"
keep "$work/test_gpu.txt" test_gpu.txt

# --- 5. compute-sanitizer ---------------------------------------------------
# shellcheck disable=SC2317
check_sanitizer() { grep -m 1 'ERROR SUMMARY' "$1"; return 0; }
if [ -n "$sanitizer" ]; then
    step sanitizer "compute-sanitizer memcheck (30 it)" 45 "${with_libs[@]}" "$sanitizer" --tool memcheck \
        --error-exitcode 1 --leak-check full "$build/nmf-faces" -q --device gpu --max-iter 30 -o "$work/sanitizer-run"
    keep "$work/sanitizer.txt" sanitizer.txt
else
    record "compute-sanitizer memcheck (30 it)" SKIP 0 "no compute-sanitizer on PATH nor /usr/local/cuda/bin"
fi

# --- 6. the faces on each device, and the GPU's error against the CPU's --------
step faces-gpu "faces on the GPU (200 it)" 15 "${with_libs[@]}" \
    "$build/nmf-faces" -q --device gpu --max-iter 200 --tol 0 -o "$work/faces-gpu"
step faces-gpu-tf32 "faces on the GPU, tf32 (200 it)" 15 "${with_libs[@]}" \
    "$build/nmf-faces" -q --device gpu --precision tf32 --max-iter 200 --tol 0 -o "$work/faces-gpu-tf32"
step faces-cpu "faces on the CPU (200 it)" 15 "${with_libs[@]}" \
    "$build/nmf-faces" -q --device cpu --max-iter 200 --tol 0 -o "$work/faces-cpu"
json_object "$work/faces.json" faces-gpu="$work/faces-gpu/metrics.json" \
    faces-gpu-tf32="$work/faces-gpu-tf32/metrics.json" faces-cpu="$work/faces-cpu/metrics.json"
keep "$work/faces.json" faces.json
gpu_err=$(field faces-gpu reconstruction_err)
cpu_err=$(field faces-cpu reconstruction_err)
if [ -z "$gpu_err" ] || [ -z "$cpu_err" ]; then
    record "GPU vs CPU error (faces, fp32)" FAIL 0 "no error to compare (GPU '$gpu_err', CPU '$cpu_err')"
elif awk -v d="$(rel_diff "$gpu_err" "$cpu_err")" 'BEGIN { exit !(d <= 1e-4) }'; then
    record "GPU vs CPU error (faces, fp32)" PASS 0 "relative difference $(rel_diff "$gpu_err" "$cpu_err") <= 1e-4"
else
    record "GPU vs CPU error (faces, fp32)" FAIL 0 "relative difference $(rel_diff "$gpu_err" "$cpu_err") > 1e-4"
fi

# --- 7. the benchmark, 8. HALS against MU ---------------------------------------
# The speed targets' cases: faces k=20 and 65536x4096 k=64 (with k=64 on the
# faces and k=20 on the large case). 65536x4096 runs on the GPU only: the
# CPU would take minutes. bench/run.sh puts BENCH_LIBRARY_PATH on nmf-bench's
# LD_LIBRARY_PATH alone, not the Python peers'. The exported cases (1 GiB per
# V of the large one) stay in the scratch folder and are removed after each run.
step bench-faces "benchmark faces, cpu+gpu (run.sh)" 90 env BENCH_OUT="$work/bench-faces" \
    BENCH_LIBRARY_PATH="$carried_ld" bench/run.sh "$build" --devices cpu,gpu --cases faces --k 20,64 --iters 50 --repeat 5
rm -rf "$work/bench-faces/cases"
step bench-large "benchmark $large, gpu (run.sh)" 60 env BENCH_OUT="$work/bench-large" \
    BENCH_LIBRARY_PATH="$carried_ld" bench/run.sh "$build" --devices gpu --cases "$large" --k 20,64 --iters 50 --repeat 5
rm -rf "$work/bench-large/cases"
# Issue 5's target: a HALS iteration at most 1.5x an MU iteration on the GPU,
# at the faces' size (losses checked against the CPU) and at 65536x4096 (GPU
# only; test_gpu checks HALS parity). nmf-bench prints "target:" lines.
step hals-faces "HALS vs MU faces, cpu+gpu (nmf-bench)" 20 "${with_libs[@]}" "$build/nmf-bench" --devices cpu,gpu \
    --solvers mu,hals --cases faces --k 20,64 --iters 50 --repeat 5 --json "$work/hals-faces.json"
step hals-large "HALS vs MU $large, gpu (nmf-bench)" 20 "${with_libs[@]}" "$build/nmf-bench" --devices gpu \
    --solvers mu,hals --cases "$large" --k 20,64 --iters 50 --repeat 5 --json "$work/hals-large.json"
# Issue 15: V streamed from host memory (16 MiB slots of the 8-bit V, the
# default's size, asked for by NMF_GPU_STREAM_BLOCK) against the resident
# run above, on the large case; the time per iteration is read against the
# bus (not a target). Its correctness is test_gpu's (the streamed cases).
step stream-large "V streamed from the host, $large, gpu (nmf-bench)" 20 "${with_libs[@]}" \
    NMF_GPU_STREAM_BLOCK=16M "$build/nmf-bench" --devices gpu --solvers mu,hals --cases "$large" \
    --k 20 --iters 20 --repeat 3 --json "$work/stream-large.json"
json_object "$work/bench.json" bench-faces="$work/bench-faces/bench.json" bench-large="$work/bench-large/bench.json" \
    hals-vs-mu-faces="$work/hals-faces.json" hals-vs-mu-large="$work/hals-large.json" \
    streamed-large="$work/stream-large.json"
keep "$work/bench.json" bench.json

finish
