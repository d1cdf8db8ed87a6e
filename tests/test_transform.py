#!/usr/bin/env python3
"""test_transform.py - the model a fit writes, `transform` and `reconstruct`,
and colour runs, through the tool:

- fit persons s1-s30 of the bundled faces, transform s31-s40: every image's
  relative error within 0.5% of the exact non-negative least-squares optimum
  for that image with the model's H (scipy.optimize.nnls); the training
  images transformed reconstruct at least as well as the fit's own W;
- reconstruct of transform's codes gives transform's reconstructions (the
  PNGs decode to W·H, and to each image's reported error);
- refusals, one line naming the file: a folder without model.json, images
  of another size, grey images for a colour model;
- a colour run from --init random --seed 42 --tol 0 reaches the error
  scikit-learn's mu reaches on the same pixel-interleaved matrix (1e-4), and
  writes colour PNGs.
Exits 77 (CTest's skip) without numpy, scipy or scikit-learn.

usage: test_transform.py PATH/TO/nmf-faces PATH/TO/data/orl_faces
"""
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

try:
    import numpy as np
    from scipy.optimize import nnls
    from sklearn.decomposition import NMF
except ImportError as e:
    print(f"SKIPPED: numpy, scipy or scikit-learn is not installed for {sys.executable} ({e})")
    sys.exit(77)

tool, faces = sys.argv[1], sys.argv[2]
failures = passes = 0


def check(ok, what):
    global failures, passes
    passes += bool(ok)
    failures += not ok
    if not ok:
        print("FAIL:", what)


def read_pgm(path):
    data = open(path, "rb").read()
    head = re.match(rb"P5\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
    w, h = int(head.group(1)), int(head.group(2))
    return np.frombuffer(data[head.end():head.end() + w * h], dtype=np.uint8).astype(np.float64)


def read_png(path):
    """(pixels as uint8 (h, w, channels), colour type) of an 8-bit,
    non-interlaced PNG, as stb_image_write writes them."""
    data = open(path, "rb").read()
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    channels = {0: 1, 2: 3}[ctype]
    raw, stride = zlib.decompress(idat), width * channels
    out = np.zeros((height, stride), dtype=np.int32)
    for y in range(height):
        line = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], np.uint8).astype(np.int32)
        f, prev = raw[y * (stride + 1)], out[y - 1] if y else np.zeros(stride, np.int32)
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - channels] if x >= channels else 0
            c = prev[x - channels] if x >= channels else 0
            b = prev[x]
            if f == 0: pred = 0
            elif f == 1: pred = a
            elif f == 2: pred = b
            elif f == 3: pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            cur[x] = (line[x] + pred) & 255
        out[y] = cur
    return out.astype(np.uint8).reshape(height, width, channels), ctype


def run(*args, ok=True):
    r = subprocess.run([tool, *args], capture_output=True, text=True)
    if ok and r.returncode != 0:
        print(r.stderr)
        raise SystemExit(f"FAIL: {' '.join(args)} exited {r.returncode}")
    return r


tmp = tempfile.mkdtemp(prefix="nmf-transform-")
persons = lambda lo, hi: [os.path.join(faces, f"s{i}") for i in range(lo, hi + 1)]

# --- fit on 300 faces, transform the 100 others -------------------------------
fit = os.path.join(tmp, "fit")
run("-q", "-o", fit, *persons(1, 30))
model = json.load(open(os.path.join(fit, "model.json")))
check(model["k"] == 20 and model["image"] == {"width": 92, "height": 112, "channels": 1}
      and model["training_images"] == 300, f"model.json: {model}")
H = np.load(os.path.join(fit, "H.npy")).astype(np.float64)

new = os.path.join(tmp, "new")
run("transform", "-q", "--model", fit, "-o", new, *persons(31, 40))
W = np.load(os.path.join(new, "W.npy")).astype(np.float64)
metrics = json.load(open(os.path.join(new, "metrics.json")))
paths = open(os.path.join(new, "inputs.txt")).read().split("\n")[:-1]
check(W.shape == (100, 20) and len(paths) == 100 and (W >= 0).all(), f"codes {W.shape}")
worst, V_new = 0.0, []
for i, path in enumerate(paths):
    v = read_pgm(path)
    V_new.append(v)
    optimum = nnls(H.T, v)[1] / np.linalg.norm(v)
    ours = np.linalg.norm(v - W[i] @ H) / np.linalg.norm(v)
    worst = max(worst, ours / optimum - 1.0)
    check(abs(ours - metrics["image_relative_err"][i]) < 1e-6,
          f"{path}: metrics says {metrics['image_relative_err'][i]}, the codes give {ours}")
check(worst <= 0.005, f"transform: an image {worst:.2%} above its NNLS optimum (at most 0.5%)")
print(f"transform of s31-s40: at most {worst:.2e} above the NNLS optimum per image, "
      f"relative error {metrics['relative_err']:.4f}, {metrics['iterations']} iterations")

again = os.path.join(tmp, "again")
run("transform", "-q", "--model", fit, "-o", again, *persons(1, 30))
fit_err = json.load(open(os.path.join(fit, "metrics.json")))["relative_err"]
again_err = json.load(open(os.path.join(again, "metrics.json")))["relative_err"]
check(again_err <= fit_err * (1 + 1e-6),
      f"transform of the training images: {again_err} worse than the fit's {fit_err}")
print(f"training images: fit {fit_err:.6f}, transform {again_err:.6f}")

# --- reconstruct the codes ---------------------------------------------------
rec = os.path.join(tmp, "rec")
run("reconstruct", "-q", "--model", fit, "--codes", os.path.join(new, "W.npy"), "-o", rec)
images = sorted(os.listdir(os.path.join(rec, "images")))
check(len(images) == 100 and images[0] == "0000.png", f"reconstruct wrote {images[:3]}...")
worst_pixel = worst_err = 0.0
for i in (0, 37, 99):
    png, ctype = read_png(os.path.join(rec, "images", images[i]))
    wh = np.clip(np.rint(W[i] @ H), 0, 255).reshape(112, 92)
    worst_pixel = max(worst_pixel, np.abs(png[:, :, 0] - wh).max())
    err = np.linalg.norm(V_new[i] - png.ravel()) / np.linalg.norm(V_new[i])
    worst_err = max(worst_err, abs(err - metrics["image_relative_err"][i]))
check(worst_pixel <= 1, f"reconstruct: a pixel {worst_pixel} levels off W·H")
check(worst_err < 2e-3, f"reconstruct: images {worst_err} off transform's errors")

# --- refusals ------------------------------------------------------------------
def refused(args, *words):
    r = run(*args, ok=False)
    line = r.stderr.strip().split("\n")[-1]
    check(r.returncode == 1 and all(w in line for w in words),
          f"{' '.join(args)}: exit {r.returncode}, {line!r} (wanted {words})")


empty = os.path.join(tmp, "empty")
os.mkdir(empty)
refused(["transform", "--model", empty, "-o", os.path.join(tmp, "x1"), persons(31, 31)[0]],
        empty, "model.json")
small = os.path.join(tmp, "small")
os.mkdir(small)
with open(os.path.join(small, "tiny.pgm"), "wb") as f:
    f.write(b"P5 10 12 255\n" + bytes(range(120)))
refused(["transform", "--model", fit, "-o", os.path.join(tmp, "x2"), small],
        "tiny.pgm", "10x12", "92x112")


# --- the command line ---------------------------------------------------------
def usage_error(args, *words):
    r = run(*args, ok=False)
    line = r.stderr.strip().split("\n")[0]
    check(r.returncode == 2 and all(w in line for w in words),
          f"{' '.join(args)}: exit {r.returncode}, {line!r} (wanted {words})")


for words in (["help", "transform"], ["transform", "--help"]):
    r = run(*words)
    check(r.stdout.startswith("usage: nmf-faces transform --model DIR"), f"{words}: {r.stdout[:60]!r}")
check(run("help", "reconstruct").stdout.startswith("usage: nmf-faces reconstruct"), "help reconstruct")
usage_error(["transform", "-k", "4", "--model", fit, persons(31, 31)[0]], "-k", "not an option")
usage_error(["transform", persons(31, 31)[0]], "transform", "--model")
usage_error(["reconstruct", "--model", fit], "reconstruct", "--codes")
usage_error(["--model", fit, persons(31, 31)[0]], "--model", "only for transform")
usage_error(["--colour", "--grey", "first", persons(31, 31)[0]], "--grey", "--colour")
usage_error(["help", "nonsense"], "help nonsense", "no such command")


# --- colour -------------------------------------------------------------------
def write_ppm(path, pixels):
    h, w, _ = pixels.shape
    with open(path, "wb") as f:
        f.write(b"P6 %d %d 255\n" % (w, h) + pixels.astype(np.uint8).tobytes())


rng = np.random.RandomState(0)
colour_dir = os.path.join(tmp, "colour")
os.mkdir(colour_dir)
parts = rng.rand(3, 6, 8, 3)  # three colour patterns of 8x6
for i in range(12):
    mix = rng.rand(3)
    write_ppm(os.path.join(colour_dir, f"img{i:02d}.ppm"),
              np.clip(np.einsum("p,phwc->hwc", mix, parts) * 200 + 20, 0, 255))
cfit = os.path.join(tmp, "cfit")
run("-q", "--colour", "-k", "3", "--solver", "mu", "--init", "random", "--seed", "42",
    "--tol", "0", "--max-iter", "200", "-o", cfit, colour_dir)
cm = json.load(open(os.path.join(cfit, "metrics.json")))
V = np.stack([np.frombuffer(open(os.path.join(colour_dir, f"img{i:02d}.ppm"), "rb").read()[-144:],
                            np.uint8) for i in range(12)]).astype(np.float32)
sk = NMF(n_components=3, init="random", random_state=42, solver="mu", tol=0, max_iter=200).fit(V)
check(abs(cm["reconstruction_err"] - sk.reconstruction_err_) <= 1e-4 * sk.reconstruction_err_,
      f"colour: {cm['reconstruction_err']} against scikit-learn's {sk.reconstruction_err_}")
print(f"colour: error {cm['reconstruction_err']:.6f}, scikit-learn {sk.reconstruction_err_:.6f}")
check(np.load(os.path.join(cfit, "H.npy")).shape == (3, 144), "colour H is (k, 3 * pixels)")
for name in ("components.png", "reconstructions.png", os.path.join("components", "00.png")):
    check(read_png(os.path.join(cfit, name))[1] == 2, f"colour {name} is not an RGB PNG")
check(json.load(open(os.path.join(cfit, "model.json")))["image"]["channels"] == 3,
      "colour model.json has 3 channels")
# A colour run checkpointed and resumed ends at the bits of an uninterrupted one.
whole, halves = os.path.join(tmp, "whole"), os.path.join(tmp, "halves")
run("-q", "--colour", "-k", "3", "--tol", "0", "--max-iter", "40", "-o", whole, colour_dir)
run("-q", "--colour", "-k", "3", "--tol", "0", "--max-iter", "20", "--checkpoint-every", "10",
    "-o", halves, colour_dir)
run("-q", "--resume", halves, "--max-iter", "40")
check(open(os.path.join(whole, "W.npy"), "rb").read() == open(os.path.join(halves, "W.npy"), "rb").read(),
      "a resumed colour run differs from an uninterrupted one")
grey_one = os.path.join(tmp, "grey_one")
os.mkdir(grey_one)
with open(os.path.join(grey_one, "grey.pgm"), "wb") as f:
    f.write(b"P5 8 6 255\n" + bytes(range(48)))
refused(["transform", "--model", cfit, "-o", os.path.join(tmp, "x3"), grey_one], "grey.pgm", "grey")
ctf = os.path.join(tmp, "ctf")
run("transform", "-q", "--model", cfit, "-o", ctf, colour_dir)
check(json.load(open(os.path.join(ctf, "metrics.json")))["relative_err"] <= cm["relative_err"] * (1 + 1e-6),
      "colour transform of the training images is worse than the fit")

print(f"test_transform: {passes} checks, {failures} failed")
sys.exit(1 if failures else 0)
