#!/usr/bin/env python3
"""alternate.py - nmf-faces against its peers in one run, alternating: each
round times nmf-faces once (nmf-bench, one timed run after its warm-up) and
then every peer once, from the same start for the same iterations, so that
a machine that speeds up or slows down in the middle moves every column
alike; the medians over the rounds are reported with nmf-faces's ratio over
each peer.

usage: python3 bench/peers/alternate.py NMF_BENCH OUT_DIR
           [--cases faces:20,faces:64,4096x4096:20,4096x4096:64] [--solver mu]
           [--rounds 5] [--iters 50]
           [--python PY=PEERS ...]    (default: this Python = sklearn-mu32,sklearn-mu,numpy-mu32)

Each --python runs its peers in a worker process of that interpreter (so
the newest scikit-learn from a virtual environment and Debian's 1.2.1 can
be timed side by side), which loads the case once, warms each peer up and
then times one fit per round when asked. Peers: sklearn-mu32, sklearn-mu
(float32 and float64 V, W0, H0, solver 'mu'), sklearn-cd32, sklearn-cd
(solver 'cd', shuffle off), numpy-mu32 (scikit-learn's MU written as a
plain numpy float32 loop). Writes OUT_DIR/alternating.json and prints the
table.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_peers  # noqa: E402  (beside this file)

DEFAULT_PEERS = "sklearn-mu32,sklearn-mu,numpy-mu32"
EPSILON = float(np.finfo(np.float32).eps)


def numpy_mu(V, W, H, iters):
    """scikit-learn's Frobenius MU (W first, zero denominators -> EPSILON) in
    numpy, in the arrays' dtype."""
    for _ in range(iters):
        den = W @ (H @ H.T)
        den[den == 0] = EPSILON
        W *= (V @ H.T) / den
        den = (W.T @ W) @ H
        den[den == 0] = EPSILON
        H *= (W.T @ V) / den


def runner(name, V, W0, H0):
    """run_once(iters) -> milliseconds of one fit from W0, H0: scikit-learn's
    through run_peers.py's runner, the numpy loop here."""
    dtype = np.float64 if name in ("sklearn-mu", "sklearn-cd") else np.float32
    if name != "numpy-mu32":
        solver = "cd" if name.startswith("sklearn-cd") else "mu"
        return run_peers.sklearn_runner(V, W0, H0, solver, dtype)[0]
    X, W0, H0 = V.astype(dtype), W0.astype(dtype), H0.astype(dtype)

    def run_once(iters):
        W, H = W0.copy(), H0.copy()
        t0 = time.perf_counter()
        numpy_mu(X, W, H, iters)
        return 1e3 * (time.perf_counter() - t0)
    return run_once


def worker():
    """Reads JSON commands on stdin, one per line: {"load": dir, "peers": [..]}
    then {"run": name, "iters": n}; answers one JSON line each."""
    runners = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        if "load" in cmd:
            d = cmd["load"]
            V, W0, H0 = (np.load(os.path.join(d, f)) for f in ("V.npy", "W0.npy", "H0.npy"))
            runners = {}
            for name in cmd["peers"]:
                runners[name] = runner(name, V, W0, H0)
                runners[name](min(cmd["iters"], 10))  # warm-up
            import sklearn
            answer = {"version": f"scikit-learn {sklearn.__version__}, numpy {np.__version__}",
                      "python": sys.executable}
        else:
            answer = {"ms": runners[cmd["run"]](cmd["iters"])}
        print(json.dumps(answer), flush=True)


def ours(bench, case, k, solver, iters, out, export=False):
    """One nmf-bench run (a warm-up and one timed run): its ms/iter."""
    path = os.path.join(out, "round.json")
    args = [bench, "--cases", case, "--k", str(k), "--solvers", solver, "--devices", "cpu",
            "--iters", str(iters), "--repeat", "1", "--no-ceilings", "--json", path]
    if export:
        args += ["--export", os.path.join(out, "cases")]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    doc = json.load(open(path))
    r = [r for r in doc["cases"][0]["results"] if r["impl"] == "nmf-faces"][0]
    return r["ms_per_iter_median"], doc


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        return worker()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bench")
    ap.add_argument("out")
    ap.add_argument("--cases", default="faces:20,faces:64,4096x4096:20,4096x4096:64")
    ap.add_argument("--solver", default="mu")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--python", action="append", default=[],
                    help="PY=PEERS: run PEERS (comma-separated) with interpreter PY")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    groups = [p.split("=", 1) for p in a.python] or [[sys.executable, DEFAULT_PEERS]]
    workers = []
    for py, peers in groups:
        proc = subprocess.Popen([py, os.path.abspath(__file__), "--worker"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        workers.append((proc, peers.split(",")))

    def ask(proc, cmd):
        proc.stdin.write(json.dumps(cmd) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    results = []
    for spec in a.cases.split(","):
        case, k = spec.split(":")
        _, doc = ours(a.bench, case, int(k), a.solver, a.iters, a.out, export=True)
        c = doc["cases"][0]
        data = os.path.join(a.out, "cases", c["name"])
        times = {"nmf-faces": []}
        labels = {"nmf-faces": f"nmf-faces ({doc['machine'].get('kernels', 'cpu')} kernels)"}
        for proc, peers in workers:
            info = ask(proc, {"load": data, "peers": peers, "iters": a.iters})
            for p in peers:
                times[(proc.pid, p)] = []
                labels[(proc.pid, p)] = f"{p} ({info['version']})"
        for r in range(a.rounds):
            times["nmf-faces"].append(ours(a.bench, case, int(k), a.solver, a.iters, a.out)[0])
            for proc, peers in workers:
                for p in peers:
                    times[(proc.pid, p)].append(ask(proc, {"run": p, "iters": a.iters})["ms"] / a.iters)
        med = {key: statistics.median(v) for key, v in times.items()}
        print(f"\n{c['name']} ({a.solver}, {a.iters} iterations, {a.rounds} alternating rounds, medians)")
        for key, m in med.items():
            ratio = "" if key == "nmf-faces" else f"   nmf-faces {m / med['nmf-faces']:.2f}x faster"
            print(f"  {labels[key]:60s} {m:9.3f} ms/iter{ratio}")
        results.append({"case": c["name"], "solver": a.solver, "iters": a.iters, "rounds": a.rounds,
                        "ms_per_iter": {labels[key]: times[key] for key in times},
                        "median_ms_per_iter": {labels[key]: med[key] for key in med},
                        "machine": doc["machine"]})
    for proc, _ in workers:
        proc.stdin.close()
        proc.wait()
    with open(os.path.join(a.out, "alternating.json"), "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nalternate.py: {os.path.join(a.out, 'alternating.json')}")


if __name__ == "__main__":
    main()
