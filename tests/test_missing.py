#!/usr/bin/env python3
"""test_missing.py - missing pixels (--missing alpha, --mask DIR), through
the tool, on the bundled faces with a 30x30 block of every image hidden
(alpha 0, its grey 0), the block's place drawn per image:

- from the same start (--init custom), 100 MU iterations agree with a
  float64 numpy implementation of the weighted updates (W, H and the error
  to 1e-4), for Frobenius and Kullback-Leibler; metrics.json counts the
  observed and missing values;
- the masked objective never increases (the loss history: every 10th of
  those iterations), for both losses;
- on the hidden pixels, the masked fit's RMSE against the true faces is at
  most 0.6 of a fit that takes them as zeros (the same PNGs without
  --missing);
- --write-completed writes every image, completed/NNNN.png;
- transform with --missing alpha encodes 100 unseen faces, each with a
  block hidden, from their visible pixels with a model of the other 300:
  on the hidden pixels, W·H's RMSE is at most 0.6 of taking them as zeros;
- --mask DIR with the original faces and mask images gives the alpha run's
  W and H bit for bit: a missing pixel's value is never read;
- refusals, one line each: an image with every pixel missing (naming it),
  a mask file that is not there (naming both), --solver hals.
Exits 77 (CTest's skip) without numpy.

usage: test_missing.py PATH/TO/nmf-faces PATH/TO/data/orl_faces
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

try:
    import numpy as np
except ImportError as e:
    print(f"SKIPPED: numpy is not installed for {sys.executable} ({e})")
    sys.exit(77)

tool, faces = sys.argv[1], sys.argv[2]
failures = passes = 0
BLOCK = 30
EPS = float(np.finfo(np.float32).eps)


def check(ok, what):
    global failures, passes
    passes += bool(ok)
    failures += not ok
    print("ok:  " if ok else "FAIL:", what)


def read_pgm(path):
    data = open(path, "rb").read()
    head = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    w, h = int(head.group(1)), int(head.group(2))
    return np.frombuffer(data[head.end():head.end() + w * h], dtype=np.uint8).reshape(h, w)


def write_png(path, channels):
    """An 8-bit PNG of the (h, w) arrays given: grey, or grey and alpha."""
    px = np.stack(channels, axis=-1).astype(np.uint8)
    h, w, c = px.shape
    raw = b"".join(b"\x00" + px[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    colour_type = {1: 0, 2: 4}[c]
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def run(*args):
    return subprocess.run([tool, "-q", *args], capture_output=True, text=True)


def fit(out, *args):
    r = run("-o", out, *args)
    if r.returncode != 0:
        print(r.stderr)
        raise SystemExit(f"FAIL: {' '.join(args)} exited {r.returncode}")
    m = json.load(open(os.path.join(out, "metrics.json")))
    W = np.load(os.path.join(out, "W.npy")).astype(np.float64)
    H = np.load(os.path.join(out, "H.npy")).astype(np.float64)
    return m, W, H


tmp = tempfile.mkdtemp(prefix="nmf-missing-")
alpha_dir, mask_dir = os.path.join(tmp, "alpha"), os.path.join(tmp, "masks")

# --- the data: every face with a block hidden -----------------------------------
rng = np.random.RandomState(7)
truth, hidden = {}, {}  # by relative path (s1/1): the face, and its missing pixels
for person in sorted(os.listdir(faces)):
    if not os.path.isdir(os.path.join(faces, person)):
        continue
    for d in (alpha_dir, mask_dir):
        os.makedirs(os.path.join(d, person))
    for name in sorted(os.listdir(os.path.join(faces, person))):
        face = read_pgm(os.path.join(faces, person, name))
        h, w = face.shape
        y, x = rng.randint(0, h - BLOCK + 1), rng.randint(0, w - BLOCK + 1)
        seen = np.ones(face.shape, bool)
        seen[y:y + BLOCK, x:x + BLOCK] = False
        rel = f"{person}/{os.path.splitext(name)[0]}"
        truth[rel], hidden[rel] = face.astype(np.float64), ~seen
        write_png(os.path.join(alpha_dir, rel + ".png"), [np.where(seen, face, 0), seen * 255])
        write_png(os.path.join(mask_dir, person, name), [seen * 255])

# Rows in the tool's order (its inputs.txt), from a first masked fit.
m0, _, _ = fit(os.path.join(tmp, "order"), "--missing", "alpha", "-k", "2", "--max-iter", "1",
               alpha_dir)
rels = [os.path.splitext(os.path.relpath(l, alpha_dir))[0]
        for l in open(os.path.join(tmp, "order", "inputs.txt")).read().split("\n") if l]
V = np.stack([truth[r].ravel() for r in rels])
M = np.stack([~hidden[r].ravel() for r in rels]).astype(np.float64)
check(len(rels) == 400 and m0["observed_values"] == int(M.sum()) and
      m0["missing_values"] == int(M.size - M.sum()) and m0["missing"] == "alpha",
      f"metrics.json: {m0.get('observed_values')} observed, {m0.get('missing_values')} missing "
      f"values of {M.size}")


# --- the float64 reference ------------------------------------------------------
def reference(V, M, W, H, beta, iterations):
    """scikit-learn's MU (no regularisation) with both element-wise factors
    weighted by M."""
    W, H = W.copy(), H.copy()
    for _ in range(iterations):
        for side in ("W", "H"):
            WH = W @ H
            if beta == 2:
                num, den = M * V, M * WH
            else:
                num, den = M * V / np.where(WH == 0, EPS, WH), M
            if side == "W":
                n_, d_ = num @ H.T, den @ H.T
                d_[d_ == 0] = EPS
                W *= n_ / d_
            else:
                n_, d_ = W.T @ num, W.T @ den
                d_[d_ == 0] = EPS
                H *= n_ / d_
                if beta <= 1:
                    H[H < np.finfo(np.float64).eps] = 0
    return W, H


def loss(V, M, W, H, beta):
    WH = W @ H
    if beta == 2:
        return np.sqrt(np.sum(M * (V - WH) ** 2))
    pos = M * (V > EPS)
    Vs, WHs = np.where(pos, V, 1), np.where(WH == 0, EPS, WH)
    d = np.sum(M * WH) + np.sum(pos * (Vs * np.log(Vs / WHs) - Vs))
    return np.sqrt(2 * max(d, 0))


k = 20
start = np.random.RandomState(3)
avg = np.sqrt((M * V).sum() / M.sum() / k)
W0 = (avg * np.abs(start.standard_normal((len(rels), k)))).astype(np.float32)
H0 = (avg * np.abs(start.standard_normal((k, V.shape[1])))).astype(np.float32)
np.save(os.path.join(tmp, "W0.npy"), W0)
np.save(os.path.join(tmp, "H0.npy"), H0)
same_start = ["--init-w", os.path.join(tmp, "W0.npy"), "--init-h", os.path.join(tmp, "H0.npy"),
              "-k", str(k), "--tol", "0"]
rel = lambda a, b: np.linalg.norm(a - b) / np.linalg.norm(b)
for name, beta in (("frobenius", 2), ("kullback-leibler", 1)):
    out = os.path.join(tmp, f"ref-{name}")
    m, W, H = fit(out, "--missing", "alpha", "--loss", name, "--max-iter", "100", *same_start,
                  alpha_dir)
    Wr, Hr = reference(V, M, W0.astype(np.float64), H0.astype(np.float64), beta, 100)
    er = loss(V, M, Wr, Hr, beta)
    check(m["solver"] == "mu" and rel(W, Wr) <= 1e-4 and rel(H, Hr) <= 1e-4 and
          abs(m["reconstruction_err"] - er) <= 1e-4 * er,
          f"{name}, 100 iterations against float64: W {rel(W, Wr):.2e}, H {rel(H, Hr):.2e}, "
          f"error {m['reconstruction_err']:.9g} against {er:.9g}")

    errors = [e for _, e in m["loss_history"]]
    rises = [(a, b) for a, b in zip(errors, errors[1:]) if b > a]
    check(len(errors) == 11 and not rises,
          f"{name}: the masked objective never increases over the 100 iterations "
          f"({errors[0]:.6g} -> {errors[-1]:.6g}; rises: {rises[:2]})")

# --- completion: the hidden pixels ------------------------------------------------
hid = M == 0
rmse = {}
for label, extra in (("masked", ["--missing", "alpha", "--write-completed"]), ("zeros", [])):
    _, W, H = fit(os.path.join(tmp, f"complete-{label}"), *extra, "--solver", "mu", alpha_dir)
    rmse[label] = np.sqrt(np.mean(((W @ H) - V)[hid] ** 2))
completed = sorted(os.listdir(os.path.join(tmp, "complete-masked", "completed")))
check(completed == [f"{i:04d}.png" for i in range(400)],
      f"--write-completed: {len(completed)} images in completed/, 0000.png to 0399.png")
check(rmse["masked"] <= 0.6 * rmse["zeros"],
      f"RMSE on the hidden pixels: masked {rmse['masked']:.2f}, as zeros {rmse['zeros']:.2f} "
      f"(ratio {rmse['masked'] / rmse['zeros']:.3f}, at most 0.6)")

# --- transform: occluded unseen faces encoded from their visible pixels ---------
model = os.path.join(tmp, "model")
fit(model, *[os.path.join(faces, f"s{i}") for i in range(1, 31)])
H = np.load(os.path.join(model, "H.npy")).astype(np.float64)
unseen = [os.path.join(alpha_dir, f"s{i}") for i in range(31, 41)]
rows = [r for r in rels if int(r.split("/")[0][1:]) > 30]
Vu = np.stack([truth[r].ravel() for r in rows])
hid_u = np.stack([hidden[r].ravel() for r in rows])
rmse_u, tm = {}, {}
for label, extra in (("masked", ["--missing", "alpha"]), ("zeros", [])):
    out = os.path.join(tmp, f"transform-{label}")
    r = subprocess.run([tool, "transform", "-q", "--model", model, "-o", out, *extra, *unseen],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"FAIL: transform {label} exited {r.returncode}: {r.stderr}")
    tm[label] = json.load(open(os.path.join(out, "metrics.json")))
    Wu = np.load(os.path.join(out, "W.npy")).astype(np.float64)
    rmse_u[label] = np.sqrt(np.mean(((Wu @ H) - Vu)[hid_u] ** 2))
check(tm["masked"]["solver"] == "mu" and tm["masked"]["missing_values"] == int(hid_u.sum()) and
      rmse_u["masked"] <= 0.6 * rmse_u["zeros"],
      f"transform of 100 unseen faces, each with a block hidden, by a model of the other 300: "
      f"RMSE on the hidden pixels {rmse_u['masked']:.2f} with the mask, {rmse_u['zeros']:.2f} "
      f"as zeros (ratio {rmse_u['masked'] / rmse_u['zeros']:.3f}, at most 0.6)")

# --- masks from files: the same fit, V's hidden values never read -----------------
_, Wa, Ha = fit(os.path.join(tmp, "same-alpha"), "--missing", "alpha", "--max-iter", "30",
                *same_start, alpha_dir)
_, Wm, Hm = fit(os.path.join(tmp, "same-mask"), "--mask", mask_dir, "--max-iter", "30",
                *same_start, faces)
check(np.array_equal(Wa, Wm) and np.array_equal(Ha, Hm),
      "--mask DIR on the true faces gives --missing alpha's W and H bit for bit")


# --- refusals ------------------------------------------------------------------
def refused(what, args, code, *words):
    out = os.path.join(tmp, "refused")
    r = run("-o", out, *args)
    lines = [l for l in r.stderr.strip().splitlines() if not l.startswith("hint:")]
    check(r.returncode == code and len(lines) == 1 and all(w in lines[0] for w in words)
          and not os.path.exists(out), f"{what}: exit {r.returncode}, {lines}")


blank = os.path.join(tmp, "blank")
os.makedirs(blank)
for i, face in enumerate(list(truth.values())[:3]):
    write_png(os.path.join(blank, f"{i}.png"), [face, (face * 0 + (i != 1) * 255)])
refused("an image with every pixel missing", ["--missing", "alpha", blank], 1,
        os.path.join(blank, "1.png"), "every pixel is missing")
partial = os.path.join(tmp, "partial-masks")
os.makedirs(os.path.join(partial, "s1"))
refused("a mask that is not there", ["--mask", partial, os.path.join(faces, "s1")], 1,
        os.path.join(faces, "s1", "1.pgm"), os.path.join(partial, "1.pgm"),
        "No such file")
refused("--write-completed without missing pixels", ["--write-completed", alpha_dir], 2,
        "--write-completed", "--missing alpha")
refused("--solver hals with missing pixels", ["--missing", "alpha", "--solver", "hals", alpha_dir],
        2, "--solver hals", "--solver mu")

shutil.rmtree(tmp)
print(f"{passes} passed, {failures} failed")
sys.exit(1 if failures else 0)
