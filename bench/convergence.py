#!/usr/bin/env python3
"""convergence.py - error against wall time on the bundled faces: nmf-faces
MU and HALS on each device against scikit-learn's mu and cd, all from the
same start (scikit-learn's nndsvda, handed to nmf-faces as --init custom).

usage: /usr/bin/python3 bench/convergence.py BUILD_DIR OUT_DIR [--k 20] [--iters 200]
Writes OUT_DIR/convergence.json and, with matplotlib, OUT_DIR/convergence.png,
and prints the HALS target: how long nmf-faces HALS takes to reach (within
1e-5 relative) the error scikit-learn's cd reaches in ITERS iterations,
against the time scikit-learn takes for those iterations.

Timing: nmf-faces reports the error every 10 iterations with the seconds
since the fit started (metrics.json: loss_history, history_time_s).
scikit-learn's mu prints the error every 10 iterations with its elapsed time
when verbose and tol > 0 (tol is set to 1e-300 so it never stops early); its
cd prints no error, so it is run to each multiple of 10 from the same start
and timed at ITERS, the error at j iterations placed at j/ITERS of that time
(every cd iteration costs the same).
"""
import argparse
import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.decomposition import NMF
from sklearn.decomposition._nmf import _initialize_nmf
from sklearn.exceptions import ConvergenceWarning

warnings.simplefilter("ignore", ConvergenceWarning)
HERE = os.path.dirname(os.path.abspath(__file__))
FACES = os.path.join(HERE, "..", "data", "orl_faces")


def read_pgm(path):
    data = open(path, "rb").read()
    head = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    w, h = int(head.group(1)), int(head.group(2))
    return np.frombuffer(data[head.end():head.end() + w * h], dtype=np.uint8)


def tool_curve(tool, out, device, solver, start, iters):
    """[(seconds, error)] of one nmf-faces run, or None if the device is absent."""
    cmd = [tool, "-q", "-o", out, "--device", device, "--solver", solver, "--tol", "0",
           "--max-iter", str(iters), "--init", "custom", "--init-w", start[0],
           "--init-h", start[1], FACES]
    if subprocess.run(cmd, stderr=subprocess.DEVNULL).returncode != 0:
        return None
    m = json.load(open(os.path.join(out, "metrics.json")))
    errors = [e for _, e in m["loss_history"]]
    return list(zip(m["history_time_s"], errors))


def sklearn_mu_curve(V, W0, H0, k, iters):
    model = NMF(n_components=k, init="custom", solver="mu", max_iter=iters, tol=1e-300,
                verbose=1)
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        model.fit_transform(V, W=W0.copy(), H=H0.copy())
    points = [(0.0, float(np.linalg.norm(V - W0 @ H0)))]
    for line in log.getvalue().splitlines():
        hit = re.match(r"Epoch (\d+) reached after ([\d.]+) seconds, error: ([\d.]+)", line)
        if hit:
            points.append((float(hit.group(2)), float(hit.group(3))))
    return points


def sklearn_cd_curve(V, W0, H0, k, iters):
    model = NMF(n_components=k, init="custom", solver="cd", shuffle=False, max_iter=iters, tol=0)
    t0 = time.perf_counter()
    model.fit_transform(V, W=W0.copy(), H=H0.copy())
    total = time.perf_counter() - t0
    points = [(0.0, float(np.linalg.norm(V - W0 @ H0)))]
    for j in range(10, iters, 10):
        partial = NMF(n_components=k, init="custom", solver="cd", shuffle=False, max_iter=j, tol=0)
        partial.fit_transform(V, W=W0.copy(), H=H0.copy())
        points.append((total * j / iters, partial.reconstruction_err_))
    points.append((total, model.reconstruction_err_))
    return points


def time_to_reach(points, target):
    """Seconds at which the curve first comes within 1e-5 relative of target
    (float32 and float64 runs of the same iterations differ by ~1e-7), linear
    between points."""
    goal = target * (1 + 1e-5)
    for (t0, e0), (t1, e1) in zip(points, points[1:]):
        if e1 <= goal:
            return t0 + (t1 - t0) * (e0 - goal) / (e0 - e1) if e0 > goal else t0
    return None


def plot(curves, target, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("convergence.py: note: no matplotlib, no chart")
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    lowest = target
    for name, points in curves.items():
        shown = [(t, e) for t, e in points or [] if t > 0]  # the start sits at t = 0
        if shown:
            t, e = zip(*shown)
            lowest = min(lowest, min(e))
            ax.plot(t, e, marker=".", label=name)
    ax.axhline(target, color="grey", linestyle="--", linewidth=0.8,
               label="scikit-learn cd after 200 iterations")
    ax.set_xscale("log")
    ax.set_ylim(0.98 * lowest, 1.5 * target)
    ax.set_xlabel("wall time (s, log)")
    ax.set_ylabel("reconstruction error ||V - WH||_F")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("out")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--iters", type=int, default=200)
    args = ap.parse_args()
    tool = os.path.join(args.build, "nmf-faces")
    os.makedirs(args.out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # The image order nmf-faces uses, then scikit-learn's nndsvda start.
        subprocess.run([tool, "-q", "-o", f"{tmp}/order", "--max-iter", "1", "--device", "cpu",
                        FACES], check=True)
        paths = open(f"{tmp}/order/inputs.txt").read().split("\n")[:-1]
        V = np.stack([read_pgm(p) for p in paths]).astype(np.float64)
        W0, H0 = _initialize_nmf(V, args.k, init="nndsvda", random_state=42)
        start = (f"{tmp}/W0.npy", f"{tmp}/H0.npy")
        np.save(start[0], W0.astype(np.float32))
        np.save(start[1], H0.astype(np.float32))
        curves = {}
        for device in ("cpu", "gpu"):
            for solver in ("mu", "hals"):
                curves[f"nmf-faces {solver} ({device})"] = tool_curve(
                    tool, f"{tmp}/{device}-{solver}", device, solver, start, args.iters)
        curves["scikit-learn mu (float64)"] = sklearn_mu_curve(V, W0, H0, args.k, args.iters)
        curves["scikit-learn cd (float64)"] = sklearn_cd_curve(V, W0, H0, args.k, args.iters)
    target = curves["scikit-learn cd (float64)"][-1][1]
    sk_time = curves["scikit-learn cd (float64)"][-1][0]
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "k": args.k,
              "iters": args.iters, "target_error": target, "sklearn_cd_seconds": sk_time,
              "curves": curves, "time_to_target": {}}
    print(f"target: scikit-learn cd reaches {target:.2f} in {args.iters} iterations, "
          f"{sk_time:.3f} s")
    for name, points in curves.items():
        if points is None:
            print(f"  {name}: skipped (device not available)")
            continue
        reach = time_to_reach(points, target)
        report["time_to_target"][name] = reach
        if reach is None:
            print(f"  {name}: does not reach it ({points[-1][1]:.2f} after "
                  f"{points[-1][0]:.3f} s)")
        else:
            print(f"  {name}: reaches it after {reach:.3f} s, {sk_time / reach:.1f}x faster "
                  f"than scikit-learn cd's {args.iters} iterations")
    with open(os.path.join(args.out, "convergence.json"), "w") as f:
        json.dump(report, f, indent=1)
    cpu = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*:\s*(.*)", cpu)
    title = (f"bundled faces, k = {args.k}, same nndsvda start; {model.group(1) if model else ''}"
             f", {os.cpu_count()} threads; {report['date'][:10]}")
    plot({k: v for k, v in curves.items() if v}, target,
         os.path.join(args.out, "convergence.png"), title)


if __name__ == "__main__":
    sys.exit(main())
