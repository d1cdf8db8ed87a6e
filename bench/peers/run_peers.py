#!/usr/bin/env python3
"""run_peers.py - time scikit-learn and PyTorch on the cases of an nmf-bench
run, from the same start and for the same number of iterations, and add their
results to its JSON beside nmf-faces's own.

usage: /usr/bin/python3 bench/peers/run_peers.py BENCH_JSON
           [--peers sklearn-mu,sklearn-mu32,sklearn-cd,torch]
           [--max-sklearn-elements N]

BENCH_JSON is written by `nmf-bench --json BENCH_JSON --export DIR`. Every
case with a data_dir (V.npy m x n, W0.npy m x k, H0.npy k x n, float32) is run
by each peer asked for:
  sklearn-mu    scikit-learn NMF(solver='mu'), float64 V, W0, H0  (CPU)
  sklearn-mu32  the same in float32                               (CPU)
  sklearn-cd    scikit-learn NMF(solver='cd', shuffle=False), float64 (CPU)
  torch         the same six products and updates as scikit-learn's MU, in
                PyTorch fp32 on CUDA with TF32 off                  (GPU)
Each peer runs a warm-up fit of min(iters, 10) iterations, then `repeats`
timed runs, each from W0, H0 for exactly `iters` iterations, as nmf-bench
does; its loss is ||V - W H||_F after one such run, with W H formed in the
peer's precision and the difference summed in float64. (For float32 that is
not scikit-learn's reconstruction_err_, which sums float32 data in float32 and
is off by ~4e-5 relative on the faces, more than the trajectories differ; for
float64 the two are the same number.) A peer that cannot run (not installed,
no CUDA, a case too large for scikit-learn's time budget, out of GPU memory)
is recorded with "skipped" and null numbers, never an error.
Results of the peers run replace earlier results of the same name, so the
script can be rerun. The JSON is rewritten atomically, then a side-by-side
table and nmf-faces's speed-ups over the peers are printed.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
import warnings

import numpy as np

# scikit-learn's EPSILON: float32 machine epsilon, used for float64 data too.
EPSILON = float(np.finfo(np.float32).eps)

# Two float32 MU runs from the same start round differently (summation order:
# OpenBLAS vs cuBLAS vs nmf-faces's kernels), and MU carries each iteration's
# rounding into the next instead of damping it; their losses still agree to
# ~1e-7 after 20 iterations on the faces. 1e-4 leaves room for longer runs.
SAME_PRECISION_RTOL = 1e-4
# A float32 run against a float64 one drifts further, since every float32
# update rounds at ~6e-8 instead of ~1e-16 and the problem has many
# near-equivalent factorisations for the trajectories to wander between: on
# the faces scikit-learn's float32 and float64 runs part by 1.6e-5 after 200
# iterations (REFERENCE.md), and more on longer runs and other data; hence 1e-3.
CROSS_PRECISION_RTOL = 1e-3

# name -> (impl, device, precision, tolerance of the loss against nmf-faces
# fp32 on the same device; None: no agreement expected)
PEERS = {
    "sklearn-mu": ("scikit-learn mu float64", "cpu", "fp64", CROSS_PRECISION_RTOL),
    "sklearn-mu32": ("scikit-learn mu float32", "cpu", "fp32", SAME_PRECISION_RTOL),
    # Coordinate descent takes other steps, so its loss after `iters`
    # iterations differs from MU's by design: reported, not compared.
    "sklearn-cd": ("scikit-learn cd float64", "cpu", "fp64", None),
    "torch": ("pytorch mu", "gpu", "fp32", SAME_PRECISION_RTOL),
}

# The ratios printed under each case's table: (label, our device, peer name).
RATIOS = [
    ("nmf-faces CPU vs scikit-learn mu float64", "cpu", "sklearn-mu"),
    ("nmf-faces CPU vs scikit-learn mu float32", "cpu", "sklearn-mu32"),
    ("nmf-faces GPU vs PyTorch", "gpu", "torch"),
]


class Skip(Exception):
    """A peer that cannot run on this machine or case; the message says why."""


def timed_runs(run_once, iters, repeats):
    """Warm up with run_once(min(iters, 10)), then call run_once(iters)
    `repeats` times; run_once runs from W0, H0 and returns its milliseconds.
    Returns the list of ms/iter."""
    run_once(min(iters, 10))
    return [run_once(iters) / iters for _ in range(repeats)]


def frobenius_loss(V, W, H):
    """||V - W H||_F of numpy arrays: W H in the factors' dtype, the
    difference and its sum of squares in float64."""
    diff = (V.astype(np.float64) - (W @ H).astype(np.float64)).ravel()
    return math.sqrt(diff @ diff)


def sklearn_runner(V, W0, H0, solver, dtype):
    """Return (run_once(iters), last_loss(), transfer_ms) for scikit-learn's
    NMF with the given solver on V, W0, H0 cast to dtype. The time is
    fit_transform's whole call, so it includes scikit-learn's input checks
    and the two losses it computes (at the start and at the end): a few
    percent at 50 iterations."""
    try:
        from sklearn.decomposition import NMF
        from sklearn.exceptions import ConvergenceWarning
    except ImportError as e:
        raise Skip(f"scikit-learn not installed ({e})")
    X, W0, H0 = V.astype(dtype), W0.astype(dtype), H0.astype(dtype)
    options = {"shuffle": False} if solver == "cd" else {}
    last = {}

    def run_once(iters):
        model = NMF(n_components=W0.shape[1], init="custom", solver=solver,
                    max_iter=iters, tol=0, **options)
        # fit_transform updates W and H in place: give it fresh copies.
        W, H = W0.copy(), H0.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            last["W"] = model.fit_transform(X, W=W, H=H)
            seconds = time.perf_counter() - t0
        last["H"] = model.components_
        return 1e3 * seconds

    return run_once, lambda: frobenius_loss(X, last["W"], last["H"]), 0.0


def torch_mu_iterations(V, W, H, iters):
    """Run `iters` Frobenius MU iterations in place on torch tensors W, H,
    exactly as scikit-learn 1.2.1 does: W first, then H with the new W,
    exact zeros of each denominator replaced by EPSILON."""
    for _ in range(iters):
        HHt = H @ H.T
        VHt = V @ H.T
        den = W @ HHt
        den.masked_fill_(den == 0, EPSILON)
        W.mul_(VHt.div_(den))
        WtW = W.T @ W
        WtV = W.T @ V
        den = WtW @ H
        den.masked_fill_(den == 0, EPSILON)
        H.mul_(WtV.div_(den))


def torch_loss(V, W, H):
    """||V - W H||_F with the difference taken and summed in float64, as
    torch.linalg.norm(V.double() - (W @ H).double()), but a block of rows at
    a time so that the float64 copies do not need 3 * 8 * m * n bytes."""
    import torch
    rows = max(1, (1 << 26) // V.shape[1])
    total = torch.zeros((), dtype=torch.float64, device=V.device)
    for i in range(0, V.shape[0], rows):
        diff = V[i:i + rows].double() - (W[i:i + rows] @ H).double()
        total += diff.square().sum()
    return math.sqrt(total.item())


def torch_runner(V, W0, H0):
    """Return (run_once(iters), last_loss(), transfer_ms) for the PyTorch MU
    loop on CUDA in fp32 with TF32 off. V, W0 and H0 are copied to the GPU
    once (the copy's time is transfer_ms, not part of ms/iter); each run
    copies W0, H0 into the working W, H on the GPU and times the iterations
    with CUDA events."""
    try:
        import torch
    except ImportError as e:
        raise Skip(f"PyTorch not installed ({e})")
    if not torch.cuda.is_available():
        raise Skip(f"PyTorch {torch.__version__} has no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    Vd, W0d, H0d = (torch.from_numpy(a).cuda() for a in (V, W0, H0))
    torch.cuda.synchronize()
    transfer_ms = 1e3 * (time.perf_counter() - t0)
    W, H = torch.empty_like(W0d), torch.empty_like(H0d)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    def run_once(iters):
        W.copy_(W0d)
        H.copy_(H0d)
        torch.cuda.synchronize()
        start.record()
        torch_mu_iterations(Vd, W, H, iters)
        end.record()
        end.synchronize()
        return start.elapsed_time(end)

    return run_once, lambda: torch_loss(Vd, W, H), transfer_ms


def peer_version(name):
    """The peer's library version, for the record."""
    if name == "torch":
        import torch
        return f"torch {torch.__version__} (CUDA {torch.version.cuda})"
    import sklearn
    return f"scikit-learn {sklearn.__version__} (numpy {np.__version__})"


def result_entry(name, **numbers):
    """A result object with the harness's keys; numbers not given are null."""
    impl, device, precision, _ = PEERS[name]
    entry = {"impl": impl, "device": device, "precision": precision}
    for key in ("ms_per_iter_median", "ms_per_iter_min", "transfer_ms", "gflops", "gbps",
                "pct_of_ceiling", "ceiling", "loss", "loss_agrees", "speedup_vs_cpu",
                "skipped", "peer_version"):
        entry[key] = numbers.get(key)
    return entry


def our_result(case, device):
    """nmf-faces's fp32 result on this device, or None."""
    for r in case["results"]:
        if (r["impl"] == "nmf-faces" and r["device"] == device and r.get("precision") == "fp32"
                and not r.get("skipped") and r.get("loss") is not None):
            return r
    return None


def relative_diff(a, b):
    return abs(a - b) / abs(b) if b else math.inf


def run_peer(name, case, arrays, ceilings, max_sklearn_elements):
    """Run one peer on one case and return its result entry."""
    impl, device, _, rtol = PEERS[name]
    V, W0, H0 = arrays
    print(f"  {case['name']}: {impl} ...", file=sys.stderr, flush=True)
    try:
        if name == "torch":
            runner = torch_runner(V, W0, H0)
        else:
            if V.size > max_sklearn_elements:
                raise Skip("too large for the time budget")
            solver = "cd" if name == "sklearn-cd" else "mu"
            dtype = np.float32 if name == "sklearn-mu32" else np.float64
            runner = sklearn_runner(V, W0, H0, solver, dtype)
        run_once, last_loss, transfer_ms = runner
        ms = timed_runs(run_once, case["iters"], case["repeats"])
        loss = last_loss()
    except Skip as e:
        return result_entry(name, skipped=str(e))
    except RuntimeError as e:  # torch.cuda.OutOfMemoryError is one
        if "out of memory" not in str(e):
            raise
        return result_entry(name, skipped=f"out of GPU memory ({str(e).splitlines()[0]})")

    median = statistics.median(ms)
    gflops = case["flops_per_iter"] / (median * 1e-3) / 1e9
    # GB/s: the case's byte count (float32 data) over the time, so for the
    # float64 peers it is the rate of the same work, not bytes they moved.
    gbps = case["bytes_per_iter"] / (median * 1e-3) / 1e9
    # The machine's limit, as nmf-bench reads its own cases against: the
    # CPU's FMA peak (measured by nmf-bench's kernels), the GPU's SGEMM.
    limits = (ceilings or {}).get(device) or {}
    ceiling_key = "fma_gflops" if device == "cpu" else "sgemm_gflops"
    ceiling = limits.get(ceiling_key)
    pct = 100.0 * gflops / ceiling if ceiling else None
    ours = our_result(case, device)
    agrees = None
    if rtol is not None and ours is not None:
        agrees = relative_diff(loss, ours["loss"]) <= rtol
    return result_entry(name, ms_per_iter_median=median, ms_per_iter_min=min(ms),
                        transfer_ms=transfer_ms, gflops=gflops, gbps=gbps,
                        pct_of_ceiling=pct,
                        ceiling=(("cpu fma peak" if device == "cpu" else f"{device} sgemm")
                                 if ceiling else None),
                        loss=loss, loss_agrees=agrees, peer_version=peer_version(name))


def add_result(case, entry):
    """Append entry to the case's results, or replace an earlier result of
    the same impl in its place (a rerun)."""
    results = case["results"]
    for i, r in enumerate(results):
        if r["impl"] == entry["impl"]:
            results[i] = entry
            return
    results.append(entry)


def load_case(case):
    """V, W0, H0 of a case from its data_dir, as float32 C-contiguous arrays."""
    arrays = []
    for stem, shape in (("V", (case["m"], case["n"])), ("W0", (case["m"], case["k"])),
                        ("H0", (case["k"], case["n"]))):
        a = np.load(os.path.join(case["data_dir"], stem + ".npy"))
        if a.shape != shape:
            sys.exit(f"run_peers: {case['name']}: {stem}.npy is {a.shape}, expected {shape}")
        arrays.append(np.ascontiguousarray(a, dtype=np.float32))
    return arrays


def write_json_atomically(doc, path):
    """Write doc to path through a temporary file in the same folder."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def fmt(value, spec):
    return "-" if value is None else format(value, spec)


def print_table(doc):
    """The side-by-side table, case by case, then the ratios."""
    header = (f"{'case':<16} {'impl':<26} {'dev':<4} {'prec':<5} {'ms/iter':>10} "
              f"{'GFLOP/s':>9} {'loss':>16} {'rel.diff':>9}")
    print(header)
    print("-" * len(header))
    peer_of = {PEERS[name][0]: name for name in PEERS}
    for case in doc["cases"]:
        for r in case["results"]:
            head = (f"{case['name']:<16} {r['impl']:<26} {r['device']:<4} "
                    f"{r.get('precision', ''):<5}")
            if r.get("skipped"):
                print(f"{head} skipped: {r['skipped']}")
                continue
            ours = our_result(case, r["device"])
            diff = None
            if ours is not None and r is not ours and r["loss"] is not None:
                diff = relative_diff(r["loss"], ours["loss"])
            if peer_of.get(r["impl"]) == "sklearn-cd":
                diff = None  # differs by design
            print(f"{head} {fmt(r['ms_per_iter_median'], '10.3f')} {fmt(r['gflops'], '9.1f')} "
                  f"{fmt(r['loss'], '16.4f')} {fmt(diff, '9.1e')}")
        for label, device, name in RATIOS:
            ours = our_result(case, device)
            peer = next((r for r in case["results"] if r["impl"] == PEERS[name][0]), None)
            if ours is None or peer is None:
                continue
            if peer.get("skipped"):
                verdict = f"n/a ({peer['skipped']})"
            elif not peer["loss_agrees"]:
                verdict = (f"loss mismatch ({relative_diff(peer['loss'], ours['loss']):.1e} "
                           f"> {PEERS[name][3]:.0e})")
            else:
                verdict = f"{peer['ms_per_iter_median'] / ours['ms_per_iter_median']:.2f}x"
            print(f"  {case['name']}: {label}: {verdict}")
        print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bench_json")
    parser.add_argument("--peers", default=",".join(PEERS),
                        help="comma-separated subset of " + ",".join(PEERS))
    parser.add_argument("--max-sklearn-elements", type=float, default=3e7,
                        help="skip scikit-learn on cases with m*n above this (default 3e7)")
    args = parser.parse_args()
    names = [p for p in args.peers.split(",") if p]
    unknown = [p for p in names if p not in PEERS]
    if unknown:
        parser.error(f"unknown peer(s) {', '.join(unknown)}; known: {', '.join(PEERS)}")

    with open(args.bench_json) as f:
        doc = json.load(f)
    for case in doc["cases"]:
        if not case.get("data_dir"):
            print(f"  {case['name']}: no data_dir, peers not run", file=sys.stderr)
            continue
        # The peers' ratios are against our MU; a HALS case (nmf-bench
        # --solvers) has the same V, W0, H0 as its MU case, timed there.
        if case.get("solver", "mu") != "mu":
            continue
        arrays = load_case(case)
        for name in names:
            add_result(case, run_peer(name, case, arrays, doc.get("ceilings"),
                                      args.max_sklearn_elements))
    write_json_atomically(doc, args.bench_json)
    print_table(doc)


if __name__ == "__main__":
    main()
