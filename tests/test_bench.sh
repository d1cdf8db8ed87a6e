#!/usr/bin/env bash
# test_bench.sh - nmf-bench --quick on the CPU runs and its JSON carries the
# documented fields with sane values, and --solvers mu,hals times both
# solvers and prints their ratio (no timing thresholds: speed targets
# live in the benchmark, not in tests).
# usage: test_bench.sh PATH/TO/nmf-bench PYTHON
set -eu
bench=$1
python=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bench" --quick --devices cpu --json "$work/bench.json" --export "$work/cases" >"$work/out.txt"
cat "$work/out.txt"
"$bench" --cases 120x90 --k 6 --solvers mu,hals --devices cpu --iters 10 --repeat 1 \
    --json "$work/solvers.json" >"$work/solvers.txt"
cat "$work/solvers.txt"
grep -q "^HALS/MU per iteration on the cpu: 120x90-k6-hals" "$work/solvers.txt" || {
    echo "FAIL: no HALS/MU ratio line"; exit 1; }
"$python" - "$work/bench.json" "$work/solvers.json" <<'PY'
import json, math, os, sys
doc = json.load(open(sys.argv[1]))
failures = []
checks = 0
def need(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
need(doc["tool"] == "nmf-bench", "tool")
m = doc["machine"]
for key in ("cpu_model", "cpu_threads", "blas", "blas_core", "gpu", "precision"):
    need(key in m, f"machine.{key}")
need(doc["ceilings"]["cpu"]["sgemm_gflops"] > 0, "ceilings.cpu.sgemm_gflops > 0")
need(doc["ceilings"]["cpu"]["fma_gflops"] > 0 and doc["ceilings"]["cpu"]["copy_gbps"] > 0,
     "ceilings.cpu: the FMA peak and copy bandwidth measured")
names = [c["name"] for c in doc["cases"]]
need(names == ["faces-k20", "1000x1000-k16"], f"quick cases {names}")
faces = doc["cases"][0]
need((faces["m"], faces["n"], faces["k"]) == (400, 10304, 20), "faces shape")
need(abs(faces["flops_per_iter"] - (4*400*10304*20 + 4*400*(400+10304) + 6*(400+10304)*20)) < 1e3,
     "faces flops_per_iter follows the documented formula")
for case in doc["cases"]:
    for f in ("V.npy", "W0.npy", "H0.npy"):
        need(os.path.exists(os.path.join(case["data_dir"], f)), f"{case['name']}: exported {f}")
    r = case["results"][0]
    need(r["impl"] == "nmf-faces" and r["device"] == "cpu" and r["skipped"] is None,
         f"{case['name']}: a CPU result")
    for key in ("ms_per_iter_median", "ms_per_iter_min", "gflops", "gbps", "pct_of_ceiling", "loss"):
        need(isinstance(r[key], (int, float)) and math.isfinite(r[key]) and r[key] > 0,
             f"{case['name']}: {key} positive")
    need(r["ms_per_iter_min"] <= r["ms_per_iter_median"], f"{case['name']}: min <= median")
    need("transfer_ms" in r and "loss_agrees" in r and "speedup_vs_cpu" in r, f"{case['name']}: keys")
solvers = json.load(open(sys.argv[2]))
names = [c["name"] for c in solvers["cases"]]
need(names == ["120x90-k6", "120x90-k6-hals"], f"--solvers mu,hals cases {names}")
need([c["solver"] for c in solvers["cases"]] == ["mu", "hals"], "solver fields")
mu, hals = solvers["cases"]
need(hals["flops_per_iter"] == 4*120*90*6 + 4*6*6*(120+90), "HALS flops_per_iter formula")
need(all(c["results"][0]["loss"] > 0 for c in solvers["cases"]), "both solvers ran")
for f in failures:
    print("FAIL:", f)
print(f"test_bench: {checks - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
PY
