#!/usr/bin/env python3
"""mpi_scaling.py - nmf-faces over MPI ranks against one process, on a
generated 4096 x 4096 set (4096 8-bit images of 64 x 64, low rank plus
noise), k = 20, from the same random start: for MU and HALS, rounds that
alternate one process with 1 thread, 2 ranks with 1 thread each and one
process with 2 threads (the same cores used by OpenMP instead), each run
100 iterations with --tol 0. The figure is the fit's ms_per_iter from
metrics.json (the load and the init left out); the limit it is read
against is linear scaling (P times faster), the speed-up's share of it the
efficiency. The losses of the runs must agree to 1e-4: the ranks sum WᵀV
in another order, and on this set (k = 20 for 12 parts: components fit
noise) HALS's loss after 100 iterations moves by up to 7e-6 between the
CPU's own vector tables (NMF_CPU_KERNELS) already. Issue 15's target:
2 ranks x 1 thread at least 1.6x as fast as 1 process x 1 thread.

usage: bench/mpi_scaling.py BUILD_DIR [--out DIR] [--rounds R] [--mpiexec PATH]
Writes DIR/mpi_scaling.json (default bench-out) and prints a table.
Needs numpy (for the set) and an nmf-faces built with MPI.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

import numpy as np

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_btl_vader_single_copy_mechanism="none")


def generated_set(folder, m=4096, side=64):
    """Twelve non-negative parts mixed per image, plus noise, 8-bit."""
    os.makedirs(folder, exist_ok=True)
    if len(os.listdir(folder)) == m:
        return
    rng = np.random.default_rng(15)
    V = rng.random((m, 12)) @ rng.random((12, side * side))
    V = np.clip(np.rint(255.0 * V / V.max() + rng.normal(0, 6, V.shape)), 0, 255).astype(np.uint8)
    for i in range(m):
        with open(os.path.join(folder, f"{i:04d}.pgm"), "wb") as f:
            f.write(b"P5\n%d %d\n255\n" % (side, side) + V[i].tobytes())


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("build")
    ap.add_argument("--out", default="bench-out")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mpiexec", default=shutil.which("mpirun") or "mpirun")
    args = ap.parse_args()
    tool = os.path.join(args.build, "nmf-faces")
    version = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout
    if "MPI: none" in version:
        sys.exit("mpi_scaling.py: this nmf-faces is built without MPI (" + tool + ")")
    images = os.path.join(args.out, "set4096x4096")
    generated_set(images)

    configs = [("1 process x 1 thread", 1, 1), ("2 ranks x 1 thread", 2, 1),
               ("1 process x 2 threads", 1, 2)]
    results = {}
    for solver in ("mu", "hals"):
        times = {name: [] for name, _, _ in configs}
        losses = {}
        for r in range(args.rounds):
            for name, ranks, threads in configs:
                out = os.path.join(args.out, f"mpi_{solver}_{ranks}x{threads}")
                cmd = ([args.mpiexec, "-q", "--oversubscribe", "-np", str(ranks)] if ranks > 1
                       else []) + [tool, images, "-o", out, "--overwrite", "-q", "-k", "20",
                                   "--solver", solver, "--init", "random", "--tol", "0",
                                   "--max-iter", "100", "--threads", str(threads)]
                subprocess.run(cmd, check=True, env=ENV)
                with open(os.path.join(out, "metrics.json")) as f:
                    m = json.load(f)
                times[name].append(m["ms_per_iter"])
                losses[name] = m["reconstruction_err"]
        base = statistics.median(times[configs[0][0]])
        ref = losses[configs[0][0]]
        rows = []
        for name, ranks, threads in configs:
            ms = statistics.median(times[name])
            speedup = base / ms
            rows.append({"config": name, "ranks": ranks, "threads": threads, "ms_per_iter": ms,
                         "all_ms": times[name], "speedup": speedup,
                         "efficiency": speedup / (ranks * threads),
                         "loss": losses[name],
                         "loss_rel_diff": abs(losses[name] - ref) / ref})
        target = rows[1]["speedup"] >= 1.6
        agree = all(r["loss_rel_diff"] <= 1e-4 for r in rows)
        results[solver] = {"rows": rows, "target_2x1_speedup_1.6": target, "losses_agree_1e-4": agree}
        print(f"{solver}: 4096 x 4096, k = 20, medians of {args.rounds} alternating rounds")
        for r in rows:
            print(f"  {r['config']:22s} {r['ms_per_iter']:8.2f} ms/iteration  {r['speedup']:.2f}x "
                  f"(efficiency {100 * r['efficiency']:.0f}% of linear)  loss {r['loss']:.9g}")
        print(f"  target 2 ranks x 1 thread >= 1.6x: {'met' if target else 'MISSED'}; "
              f"losses agree to 1e-4: {'yes' if agree else 'NO'} (largest "
              f"{max(r['loss_rel_diff'] for r in rows):.1e})")
    report = {"machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "kernel": platform.release()},
              "mpi": [l for l in version.splitlines() if l.startswith("MPI:")][0][5:],
              "case": "4096 x 4096 (4096 images of 64x64, 8-bit), k = 20, --init random, 100 iterations",
              "results": results}
    with open(os.path.join(args.out, "mpi_scaling.json"), "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
