#!/usr/bin/env bash
# test_cuda_module.sh - the CUDA backend is a module loaded only when used:
#   - a CPU run never loads it, nor the CUDA runtime or cuBLAS (LD_DEBUG);
#   - with a driver that claims a device (fake_cuda_driver.c) the module is
#     loaded for --version, --device gpu and --device auto, and a runtime
#     that finds no usable GPU is an ordinary error (exit 1) or note, with
#     its reason, never a crash;
#   - a module that is missing or not a library is the same kind of error.
# usage: test_cuda_module.sh nmf-faces data/orl_faces MODULE FAKE_DRIVER_DIR
# (MODULE "none": a build without CUDA, SKIPPED).
set -u
tool=$1
faces=$2
module=$3
fake=$4
if [ "$module" = none ]; then
    echo "SKIPPED: this build has no CUDA module"
    exit 77
fi
# shellcheck source=check.sh
. "$(dirname "$0")/check.sh"
run=(-q -k 2 --max-iter 2 "$faces")
[ -f "$module" ] && pass || fail "the build made no module at $module"

# loaded LOG: whether the dynamic loader's log shows the module or cuBLAS.
loaded() { grep -q -E 'libnmf-cuda|libcublas' "$1"; }

# A CPU run loads none of it, on any machine.
LD_DEBUG=libs "$tool" --device cpu -o "$work/cpu" "${run[@]}" >/dev/null 2>"$work/cpu.log" &&
    ! loaded "$work/cpu.log" && pass || fail "--device cpu loaded the CUDA module or cuBLAS"

# A driver that claims a device: the module is loaded and its runtime's
# reason reported.
export LD_LIBRARY_PATH=$fake${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
LD_DEBUG=libs "$tool" --version >"$work/version" 2>"$work/version.log" && loaded "$work/version.log" &&
    grep -q "CUDA backend: compiled in; 0 devices (.\+)" "$work/version" && pass ||
    fail "--version with a driver: $(grep CUDA "$work/version")"
"$tool" --device gpu -o "$work/gpu" "${run[@]}" 2>"$work/gpu.err"
[ $? -eq 1 ] && grep -q "^nmf-faces: error: --device gpu: no CUDA device (.\+)$" "$work/gpu.err" &&
    [ ! -e "$work/gpu" ] && pass || fail "--device gpu without a usable GPU: $(cat "$work/gpu.err")"
"$tool" --device auto -o "$work/auto" -k 2 --max-iter 2 "$faces" 2>"$work/auto.err" &&
    grep -q "no GPU found; running on the CPU" "$work/auto.err" &&
    grep -q '"device": "cpu"' "$work/auto/metrics.json" && pass ||
    fail "--device auto did not fall back: $(cat "$work/auto.err")"

# A module that is not there, or not a library.
echo "not a library" >"$work/bad.so"
for bad in "$work/missing.so" "$work/bad.so"; do
    NMF_CUDA_MODULE=$bad "$tool" --device gpu -o "$work/bad" "${run[@]}" 2>"$work/bad.err"
    [ $? -eq 1 ] && grep -q "no CUDA device (cannot load the CUDA backend: .\+)" "$work/bad.err" &&
        [ "$(wc -l <"$work/bad.err")" -eq 1 ] && pass || fail "NMF_CUDA_MODULE=$bad: $(cat "$work/bad.err")"
done

finish test_cuda_module
