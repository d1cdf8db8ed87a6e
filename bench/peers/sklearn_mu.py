#!/usr/bin/env python3
"""sklearn_mu.py - scikit-learn's NMF(solver='mu') on the same data and from
the same start as an nmf-faces run, timed, for a side-by-side figure.

usage: /usr/bin/python3 bench/peers/sklearn_mu.py RUN_DIR [ITERATIONS]
RUN_DIR is the output directory of an nmf-faces run on binary PGM images
(the bundled faces) with `--init random`: its inputs.txt gives the images in
row order (PGM is parsed here, so no imaging library is needed) and
scikit-learn redraws the same W0, H0 from metrics.json's seed. Prints ms/iter
(fit_transform's time, init included, over ITERATIONS) and the final error,
for float64 and float32 input.
"""
import json
import os
import re
import sys
import time

import numpy as np
import sklearn
from sklearn.decomposition import NMF


def read_pgm(path):
    data = open(path, "rb").read()
    head = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    w, h = int(head.group(1)), int(head.group(2))
    return np.frombuffer(data[head.end():head.end() + w * h], dtype=np.uint8)


run_dir = sys.argv[1]
iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 200
metrics = json.load(open(os.path.join(run_dir, "metrics.json")))
paths = open(os.path.join(run_dir, "inputs.txt")).read().split("\n")[:-1]
V = np.stack([read_pgm(p) for p in paths]).astype(np.float64)
print(f"scikit-learn {sklearn.__version__}, V {V.shape}, k {metrics['k']}, "
      f"{iterations} iterations, init random seed {metrics['seed']}")
for dtype in (np.float64, np.float32):
    model = NMF(n_components=metrics["k"], init="random", random_state=metrics["seed"],
                solver="mu", max_iter=iterations, tol=0)
    X = V.astype(dtype)
    t0 = time.perf_counter()
    model.fit_transform(X)
    seconds = time.perf_counter() - t0
    print(f"  {np.dtype(dtype).name}: {1e3 * seconds / iterations:.2f} ms/iter "
          f"(fit incl. init {seconds:.3f} s), reconstruction_err_ {model.reconstruction_err_:.4f}")
