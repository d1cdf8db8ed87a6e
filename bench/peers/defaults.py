#!/usr/bin/env python3
"""defaults.py - how the defaults were chosen, and how they compare with
scikit-learn's default, on the bundled faces and three image sets made
here from data scikit-learn ships (no download):

  digits   1797 handwritten digits, 8x8 (sklearn.datasets.load_digits)
  patches  3000 grey 24x24 patches of the two sample photos (needs pillow)
  parts    1000 synthetic 64x64 figures: a torso and four limbs, each limb
           in one of four poses, with noise (a parts-based set)

1. Candidates: every solver x init (x HALS sweeps per iteration) runs 1000
   iterations with --tol 0 once per set; the loss history (every 10 iterations, with its time) then
   gives, for each tol, where the relative rule (the error fell by less
   than tol x itself over 10 iterations) stops, its error and its time
   (init + fit). "best" is the lowest error any candidate reached.
2. Against scikit-learn: rounds alternating nmf-faces with no options and
   NMF(n_components=20).fit (float32 V, scikit-learn's own defaults), the
   medians of init + fit time and the relative errors.

usage: python3 bench/peers/defaults.py NMF_FACES FACES_DIR OUT_DIR [--rounds 3]
Writes OUT_DIR/defaults.json and prints both tables.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import time
import warnings

import numpy as np

# (solver, init, HALS sweeps of W,H per iteration; "1,1" is scikit-learn's cd)
CANDIDATES = [(s, i, w) for s, w in (("hals", "4,2"), ("hals", "1,1"))
              for i in ("nndsvd", "nndsvda", "nndsvdar", "random")] + \
             [("mu", i, None) for i in ("nndsvda", "nndsvd", "random")]
TOLS = [1e-3, 5e-4, 1e-4, 5e-5, 1e-5]


def write_pgm(path, a):
    a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n255\n" % (a.shape[1], a.shape[0]))
        f.write(a.tobytes())


def read_pgm(path):
    data = open(path, "rb").read()
    head = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    w, h = int(head.group(1)), int(head.group(2))
    return np.frombuffer(data[head.end():head.end() + w * h], dtype=np.uint8)


def make_sets(root):
    """The three sets as folders of PGM files under root (made once)."""
    from sklearn.datasets import load_digits
    rng = np.random.default_rng(7)
    sets = {}
    d = os.path.join(root, "digits")
    if not os.path.isdir(d):
        os.makedirs(d)
        for i, im in enumerate(load_digits().images):
            write_pgm(f"{d}/{i:04d}.pgm", im * 255 / 16)
    sets["digits"] = d
    d = os.path.join(root, "patches")
    try:
        if not os.path.isdir(d):
            from sklearn.datasets import load_sample_images
            photos = [im.astype(float) @ [0.299, 0.587, 0.114]
                      for im in load_sample_images().images]
            os.makedirs(d)
            for i in range(3000):
                im = photos[i % 2]
                y = rng.integers(0, im.shape[0] - 24)
                x = rng.integers(0, im.shape[1] - 24)
                write_pgm(f"{d}/{i:04d}.pgm", im[y:y + 24, x:x + 24])
        sets["patches"] = d
    except ImportError as e:
        print(f"defaults.py: note: no patches set ({e})")
    d = os.path.join(root, "parts")
    if not os.path.isdir(d):
        os.makedirs(d)
        anchors = [(24, 24, -3 * np.pi / 4), (40, 24, -np.pi / 4), (24, 40, 3 * np.pi / 4),
                   (40, 40, np.pi / 4)]
        for i in range(1000):
            im = np.zeros((64, 64))
            im[24:41, 28:37] = 1
            for ax, ay, base in anchors:
                angle = base + (rng.integers(0, 4) - 1.5) * 0.45
                for t in np.linspace(0, 22, 60):
                    x = int(round(ax + t * np.cos(angle)))
                    y = int(round(ay + t * np.sin(angle)))
                    if 0 <= x < 64 and 0 <= y < 64:
                        im[max(0, y - 1):y + 2, max(0, x - 1):x + 2] = 1
            write_pgm(f"{d}/{i:04d}.pgm", im * 200 + rng.normal(0, 12, im.shape) + 20)
    sets["parts"] = d
    return sets


def run_tool(tool, out, inputs, *args):
    subprocess.run([tool, "-q", "--overwrite", "-o", out, *args, inputs], check=True)
    return json.load(open(os.path.join(out, "metrics.json")))


def relative_stop(history, tol):
    """Index into the history where the relative rule with tol stops."""
    for i in range(1, len(history)):
        if history[i - 1][1] - history[i][1] < tol * history[i][1]:
            return i
    return len(history) - 1


def candidates(tool, name, inputs, out):
    runs = {}
    for solver, init, sweeps in CANDIDATES:
        extra = ["--sweeps", sweeps] if sweeps else []
        m = run_tool(tool, f"{out}/{name}-{solver}-{init}-{sweeps}", inputs, "--solver", solver,
                     "--init", init, "--max-iter", "1000", "--tol", "0", *extra)
        runs[(solver, init, sweeps)] = m
    norm = {key: m["frobenius_err"] / m["relative_err"] for key, m in runs.items()}
    best = min(m["loss_history"][-1][1] / norm[key] for key, m in runs.items())
    rows = []
    for (solver, init, sweeps), m in runs.items():
        h, ts, init_s = m["loss_history"], m["history_time_s"], m["timings"]["init_s"]
        for tol in TOLS:
            i = relative_stop(h, tol)
            err = h[i][1] / norm[(solver, init, sweeps)]
            rows.append(dict(set=name, solver=solver, init=init, sweeps=sweeps, tol=tol,
                             iterations=h[i][0],
                             relative_err=err, seconds=init_s + ts[i],
                             over_best_pct=100 * (err / best - 1)))
    return best, rows


def against_sklearn(tool, name, inputs, out, rounds):
    from sklearn.decomposition import NMF
    paths = None
    ours, theirs = [], []
    for r in range(rounds):
        # A pause before each timed run: the other side's idle BLAS and
        # OpenMP threads spin for a while after it returns.
        time.sleep(0.5)
        m = run_tool(tool, f"{out}/{name}-default", inputs)
        ours.append((m["timings"]["init_s"] + m["timings"]["fit_s"], m["relative_err"],
                     m["iterations"]))
        if paths is None:
            paths = open(f"{out}/{name}-default/inputs.txt").read().split("\n")[:-1]
            V = np.stack([read_pgm(p) for p in paths]).astype(np.float32)
            norm = np.linalg.norm(V.astype(np.float64))
        time.sleep(0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            model = NMF(n_components=20).fit(V)
            seconds = time.perf_counter() - t0
        theirs.append((seconds, model.reconstruction_err_ / norm, model.n_iter_))
    med = lambda xs, j: statistics.median(x[j] for x in xs)  # noqa: E731
    return dict(set=name, rounds=rounds,
                nmf_faces=dict(seconds=med(ours, 0), relative_err=med(ours, 1),
                               iterations=med(ours, 2)),
                sklearn=dict(seconds=med(theirs, 0), relative_err=med(theirs, 1),
                             iterations=med(theirs, 2)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tool")
    ap.add_argument("faces")
    ap.add_argument("out")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    import sklearn
    os.makedirs(a.out, exist_ok=True)
    sets = {"faces": a.faces, **make_sets(os.path.join(a.out, "sets"))}
    report = dict(sklearn=sklearn.__version__, numpy=np.__version__, candidates=[],
                  best={}, against_sklearn=[])
    for name, inputs in sets.items():
        best, rows = candidates(a.tool, name, inputs, os.path.join(a.out, "runs"))
        report["best"][name] = best
        report["candidates"] += rows
        report["against_sklearn"].append(
            against_sklearn(a.tool, name, inputs, os.path.join(a.out, "runs"), a.rounds))
    json.dump(report, open(os.path.join(a.out, "defaults.json"), "w"), indent=1)

    for name in sets:
        print(f"\n{name}: best relative error of any candidate after 1000 iterations "
              f"{report['best'][name]:.4f}")
        print("  candidate           " + "".join(f"| tol {t:<7g} it   error  s    +%  " for t in TOLS))
        for solver, init, sweeps in CANDIDATES:
            cells = [r for r in report["candidates"] if r["set"] == name and
                     (r["solver"], r["init"], r["sweeps"]) == (solver, init, sweeps)]
            print(f"  {solver:4s} {sweeps or '':3s} {init:9s}  " + "".join(
                f"| {c['iterations']:4d} {c['relative_err']:.4f} {c['seconds']:5.2f} "
                f"{c['over_best_pct']:+5.1f} " for c in cells))
    print(f"\nno options, against scikit-learn {sklearn.__version__}'s NMF(n_components=20).fit "
          f"(float32), medians of {a.rounds} alternating rounds")
    for row in report["against_sklearn"]:
        o, s = row["nmf_faces"], row["sklearn"]
        print(f"  {row['set']:8s} nmf-faces {o['seconds']:6.2f} s {o['relative_err']:.4f} "
              f"({o['iterations']:.0f} it)   scikit-learn {s['seconds']:6.2f} s "
              f"{s['relative_err']:.4f} ({s['iterations']:.0f} it)   best {report['best'][row['set']]:.4f}")
    print(f"defaults.py: {a.out}/defaults.json")


if __name__ == "__main__":
    main()
