#!/usr/bin/env python3
"""test_sklearn.py - same start, same answers: nmf-faces against scikit-learn
itself on the bundled faces. Exits 77 (CTest's skip) when numpy or
scikit-learn is missing, so it never passes silently.

usage: test_sklearn.py PATH/TO/nmf-faces PATH/TO/data/orl_faces
"""
import json
import os
import re
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import sklearn
    from sklearn.decomposition import NMF
    from sklearn.decomposition._nmf import _initialize_nmf
    from sklearn.exceptions import ConvergenceWarning
except ImportError as e:
    print(f"SKIPPED: scikit-learn is not installed for {sys.executable} ({e})")
    sys.exit(77)

import warnings

warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter ends these runs on purpose
tool, faces = sys.argv[1], sys.argv[2]
failures = 0
passes = 0


def check(ok, what):
    global failures, passes
    if ok:
        passes += 1
    else:
        failures += 1
        print("FAIL:", what)


def read_pgm(path):
    data = open(path, "rb").read()
    head = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    w, h = int(head.group(1)), int(head.group(2))
    return np.frombuffer(data[head.end():head.end() + w * h], dtype=np.uint8)


def run_tool(out, *args):
    # --sklearn: scikit-learn's semantics (its stopping rules), as every
    # comparison here needs; the solver is named where it is not its cd.
    subprocess.run([tool, "-q", "--sklearn", "-o", out, *args, faces], check=True)
    W = np.load(os.path.join(out, "W.npy"))
    H = np.load(os.path.join(out, "H.npy"))
    metrics = json.load(open(os.path.join(out, "metrics.json")))
    paths = open(os.path.join(out, "inputs.txt")).read().split("\n")[:-1]
    return W, H, metrics, paths


def cosines(A, B):
    """Cosine similarity of row i of A with row i of B."""
    return np.sum(A * B, axis=1) / (np.linalg.norm(A, axis=1) * np.linalg.norm(B, axis=1))


print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}")
with tempfile.TemporaryDirectory() as tmp:
    # 1. init='random', seed 42: the tool must draw scikit-learn's start.
    W, H, metrics, paths = run_tool(f"{tmp}/random", "--solver", "mu", "--init", "random",
                                    "--seed", "42", "--max-iter", "200", "--tol", "0")
    V = np.stack([read_pgm(p) for p in paths]).astype(np.float64)
    ref = NMF(n_components=20, init="random", random_state=42, solver="mu",
              max_iter=200, tol=0)
    W_ref = ref.fit_transform(V)
    err = metrics["reconstruction_err"]
    print(f"random init: nmf-faces {err:.4f}, scikit-learn {ref.reconstruction_err_:.4f}")
    check(abs(err - ref.reconstruction_err_) <= 1e-4 * ref.reconstruction_err_,
          "random-init error within 1e-4 of scikit-learn")
    cos_H = cosines(H, ref.components_)
    cos_W = cosines(W.T, W_ref.T)
    print(f"  components one to one: min cosine H {cos_H.min():.6f}, W {cos_W.min():.6f}")
    check(cos_H.min() > 0.999 and cos_W.min() > 0.999, "components match one to one")

    # 2. The same custom start (scikit-learn's nndsvda), the same answers.
    W0, H0 = _initialize_nmf(V, 20, init="nndsvda", random_state=42)
    np.save(f"{tmp}/W0.npy", W0.astype(np.float32))
    np.save(f"{tmp}/H0.npy", H0.astype(np.float32))
    W, H, metrics, _ = run_tool(f"{tmp}/custom", "--init", "custom", "--init-w", f"{tmp}/W0.npy",
                                "--init-h", f"{tmp}/H0.npy", "--solver", "mu", "--max-iter", "200",
                                "--tol", "0")
    ref = NMF(n_components=20, init="custom", solver="mu", max_iter=200, tol=0)
    ref.fit_transform(V, W=W0.copy(), H=H0.copy())  # it updates them in place
    err = metrics["reconstruction_err"]
    print(f"custom (nndsvda) start: nmf-faces {err:.4f}, scikit-learn {ref.reconstruction_err_:.4f}")
    check(abs(err - ref.reconstruction_err_) <= 1e-4 * ref.reconstruction_err_,
          "custom-start error within 1e-4 of scikit-learn")
    check(cosines(H, ref.components_).min() > 0.999, "custom-start components match")

    # 3. The other solvers and objectives from the same custom start: KL MU,
    # HALS (scikit-learn's cd without shuffling), regularised MU, and the
    # seed's HALS settings (tol 1e-4 stops after 2 iterations from nndsvda).
    same_start = ["--init", "custom", "--init-w", f"{tmp}/W0.npy", "--init-h", f"{tmp}/H0.npy"]
    runs = [
        ("kl mu", ["--loss", "kl", "--max-iter", "200", "--tol", "0"],
         dict(solver="mu", beta_loss="kullback-leibler", max_iter=200, tol=0)),
        ("hals", ["--solver", "hals", "--max-iter", "200", "--tol", "0"],
         dict(solver="cd", shuffle=False, max_iter=200, tol=0)),
        ("regularised mu", ["--solver", "mu", "--alpha-w", "0.0005", "--l1-ratio", "0.5",
                            "--max-iter", "100", "--tol", "0"],
         dict(solver="mu", alpha_W=0.0005, l1_ratio=0.5, max_iter=100, tol=0)),
        ("hals tol 1e-4", ["--solver", "hals"], dict(solver="cd", shuffle=False)),
    ]
    for name, args, sk in runs:
        _, H, metrics, _ = run_tool(f"{tmp}/{name.replace(' ', '-')}", *same_start, *args)
        ref = NMF(n_components=20, init="custom", **sk)
        ref.fit_transform(V, W=W0.copy(), H=H0.copy())
        err = metrics["reconstruction_err"]
        print(f"{name}: nmf-faces {err:.4f} after {metrics['iterations']} "
              f"({metrics['stop_rule']}), scikit-learn {ref.reconstruction_err_:.4f} after "
              f"{ref.n_iter_}")
        check(abs(err - ref.reconstruction_err_) <= 1e-4 * ref.reconstruction_err_,
              f"{name}: error within 1e-4 of scikit-learn")
        check(metrics["iterations"] == ref.n_iter_, f"{name}: same number of iterations")

    # 4. KL from init='random': the same draw, the same answer.
    _, _, metrics, _ = run_tool(f"{tmp}/kl-random", "--loss", "kl", "--init", "random",
                                "--seed", "42", "--max-iter", "200", "--tol", "0")
    ref = NMF(n_components=20, init="random", random_state=42, solver="mu",
              beta_loss="kullback-leibler", max_iter=200, tol=0)
    ref.fit_transform(V)
    err = metrics["reconstruction_err"]
    print(f"kl, random init: nmf-faces {err:.4f}, scikit-learn {ref.reconstruction_err_:.4f}")
    check(abs(err - ref.reconstruction_err_) <= 1e-4 * ref.reconstruction_err_,
          "kl random-init error within 1e-4 of scikit-learn")

    # 5. Our own nndsvda (exact SVD) against scikit-learn's (randomized SVD).
    _, _, metrics, _ = run_tool(f"{tmp}/nndsvda", "--solver", "mu", "--max-iter", "200",
                                "--tol", "0")
    err = metrics["reconstruction_err"]
    print(f"nndsvda init: nmf-faces {err:.4f}, scikit-learn 49829.58 (REFERENCE.md)")
    check(abs(err - 49829.58) <= 1e-3 * 49829.58, "nndsvda run within 1e-3 of scikit-learn")

    # 6. Honest numbers: a KL fit's relative_err is the Frobenius one of the
    # factors it wrote; its own objective is reported as beta_divergence.
    W, H, metrics, _ = run_tool(f"{tmp}/kl-honest", "--loss", "kl", "--max-iter", "30", "--tol", "0")
    frobenius = np.linalg.norm(V - W.astype(np.float64) @ H.astype(np.float64)) / np.linalg.norm(V)
    print(f"kl relative_err {metrics['relative_err']:.8f}, from W.npy and H.npy {frobenius:.8f}")
    check(abs(metrics["relative_err"] - frobenius) <= 1e-5 * frobenius,
          "kl: relative_err is the Frobenius relative error of W.npy, H.npy")
    check(abs(metrics["beta_divergence"] - metrics["reconstruction_err"] ** 2 / 2)
          <= 1e-9 * metrics["beta_divergence"], "kl: beta_divergence is D = err^2 / 2")

print(f"test_sklearn: {passes} passed, {failures} failed")
sys.exit(1 if failures else 0)
