#!/usr/bin/env python3
"""test_survey.py - `nmf-faces survey`, on two data sets generated here whose
number of parts is known, and its refusals:

- the swimmer set (Donoho & Stodden 2003): 256 images of 32x32, a torso and
  four limbs, each limb in four positions, every combination once. The
  torso is in every image, so no factorisation can tell it apart: each
  image is exactly the sum of four parts, each a limb position carrying a
  quarter of the torso, and 16 parts are the fewest (the 16 limb positions
  have pixels of their own and occur independently). Its suggested k is
  16, by the elbow and against shuffled data (--null), over -k 10:24 and
  over the default 4:40:4; at k = 16 the best restart fits exactly (linear
  rank 13: a fit below 16 is not exact);
- a bars set: 300 images of 12x12, each the sum of a random half of 6
  horizontal and 6 vertical bars (Foldiak's bars, added rather than
  overlaid, so that V = WH holds with 12 parts; linear rank 11, as the
  rows add up to the columns). Its suggested k is 12, both rules;
- the outputs: survey.json (a result per k, restarts_relative_err of
  --restarts values, stability in 0..1, suggested_k and rule), survey.csv
  (a row per k, the JSON's values), survey.png (a PNG of 1000x600);
- refusals, one line each and exit 2, before anything is written: a bad
  -k range, --restarts 2 with --init nndsvd, --init custom, --resume and
  --recon (a fit's), --null for a fit, an output folder of another survey.
Exits 77 (CTest's skip) without numpy.

usage: test_survey.py PATH/TO/nmf-faces
"""
import csv
import itertools
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError as e:
    print(f"SKIPPED: numpy is not installed for {sys.executable} ({e})")
    sys.exit(77)

tool = sys.argv[1]
failures = passes = 0


def check(ok, what):
    global failures, passes
    passes += bool(ok)
    failures += not ok
    print("ok:  " if ok else "FAIL:", what)


def write_pgms(folder, images):
    os.makedirs(folder)
    for i, img in enumerate(images):
        h, w = img.shape
        with open(os.path.join(folder, f"{i:03d}.pgm"), "wb") as f:
            f.write(b"P5\n%d %d\n255\n" % (w, h) + img.astype(np.uint8).tobytes())


def limb(joint, degrees, r0=2.0, r1=8.0):
    """A one-pixel line from r0 to r1 pixels away from the joint."""
    m = np.zeros((32, 32), bool)
    a = math.radians(degrees)
    for t in np.linspace(r0, r1, 60):
        m[int(round(joint[0] - t * math.sin(a))), int(round(joint[1] + t * math.cos(a)))] = True
    return m


def swimmer():
    torso = np.zeros((32, 32), bool)
    torso[9:23, 15:17] = True
    limbs = [[limb((10, 14), a) for a in (100, 140, 180, 220)],   # left arm
             [limb((10, 17), a) for a in (80, 40, 0, -40)],      # right arm
             [limb((22, 14), a) for a in (190, 225, 250, 270)],  # left leg
             [limb((22, 17), a) for a in (-10, -45, -70, -90)]]  # right leg
    parts = [torso] + [p for positions in limbs for p in positions]
    for a, b in itertools.combinations(parts, 2):
        assert not (a & b).any(), "the swimmer's parts must not overlap"
    images = []
    for pose in itertools.product(range(4), repeat=4):
        img = torso.copy()
        for which, position in enumerate(pose):
            img |= limbs[which][position]
        images.append(img.astype(np.uint8) * 255)
    return images


def bars(rng):
    images = []
    for _ in range(300):
        img = np.zeros((12, 12), np.int32)
        on = rng.random(12) < 0.5
        for b in np.flatnonzero(on):
            if b < 6:
                img[2 * b:2 * b + 2, :] += 100
            else:
                img[:, 2 * (b - 6):2 * (b - 6) + 2] += 100
        images.append(img)
    return images


def survey(args, data, out):
    r = subprocess.run([tool, "survey", "-o", out, "--overwrite", *args, data],
                       capture_output=True, text=True)
    return r


def png_size(path):
    data = open(path, "rb").read(24)
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    return struct.unpack(">II", data[16:24])


def check_outputs(out, ks, restarts, null):
    js = json.load(open(os.path.join(out, "survey.json")))
    got_ks = [p["k"] for p in js["results"]]
    check(got_ks == ks, f"survey.json has a result for each k ({got_ks[:3]}...)")
    check(all(len(p["restarts_relative_err"]) == restarts for p in js["results"]),
          f"each result lists its {restarts} restarts' errors")
    check(all(min(p["restarts_relative_err"]) == p["relative_err"] for p in js["results"]),
          "relative_err is the best restart's")
    check(all(abs(p["explained_variance"] - (1 - p["relative_err"] ** 2)) < 1e-12
              for p in js["results"]), "explained_variance is 1 - relative_err^2")
    stab = [p["stability"] for p in js["results"]]
    check(all(s is not None and 0 <= s <= 1 + 1e-9 for s in stab) if restarts > 1
          else all(s is None for s in stab), f"stability in 0..1 with restarts ({stab[0]})")
    nulls = [p["null_relative_err"] for p in js["results"]]
    check(all(v is not None and 0 < v < 1 for v in nulls) if null
          else all(v is None for v in nulls), "null_relative_err with --null only")
    rows = list(csv.DictReader(open(os.path.join(out, "survey.csv"))))
    check([int(r["k"]) for r in rows] == ks and
          all(abs(float(r["relative_err"]) - p["relative_err"]) <= 1e-8 * max(1, p["relative_err"])
              for r, p in zip(rows, js["results"])), "survey.csv has the JSON's rows")
    check(png_size(os.path.join(out, "survey.png")) == (1000, 600), "survey.png is a 1000x600 PNG")
    return js


def check_suggestion(name, data, args, ks, want, tmp, restarts=4, null=False):
    out = os.path.join(tmp, "out")
    r = survey(args, data, out)
    check(r.returncode == 0, f"{name} {' '.join(args)}: runs" +
          (f" ({r.stderr.strip()[-300:]})" if r.returncode else ""))
    if r.returncode != 0:
        return None
    js = check_outputs(out, ks, restarts, null)
    last = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    check(js["suggested_k"] == want and last.startswith(f"suggested k: {want} ("),
          f"{name} {' '.join(args)}: suggested k {js['suggested_k']} (want {want}), "
          f"rule {js['rule'][:40]}...; stdout ends: {last[:40]}")
    return js


tmp = tempfile.mkdtemp(prefix="nmf-survey-")
try:
    swim = os.path.join(tmp, "swimmer")
    write_pgms(swim, swimmer())
    V = np.array([img.ravel() for img in swimmer()], float)
    print(f"swimmer: {V.shape}, linear rank {np.linalg.matrix_rank(V)}")
    js = check_suggestion("swimmer", swim, ["-k", "10:24"], list(range(10, 25)), 16, tmp)
    if js:
        by_k = {p["k"]: p["relative_err"] for p in js["results"]}
        check(by_k[16] < 1e-3 and by_k[15] > 0.05,
              f"swimmer: k 16 fits exactly ({by_k[16]:.2g}), k 15 does not ({by_k[15]:.3f})")
    check_suggestion("swimmer", swim, ["-k", "10:24", "--null"], list(range(10, 25)), 16, tmp,
                     null=True)
    check_suggestion("swimmer", swim, [], list(range(4, 41, 4)), 16, tmp)

    bar = os.path.join(tmp, "bars")
    write_pgms(bar, bars(np.random.default_rng(7)))
    check_suggestion("bars", bar, ["-k", "6:18"], list(range(6, 19)), 12, tmp)
    check_suggestion("bars", bar, ["-k", "6:18", "--null"], list(range(6, 19)), 12, tmp,
                     null=True)

    # One restart: a fit's default start, no stability.
    out = os.path.join(tmp, "one")
    r = survey(["-k", "8:16:4", "--restarts", "1"], bar, out)
    check(r.returncode == 0, "--restarts 1 runs" +
          (f" ({r.stderr.strip()[-300:]})" if r.returncode else ""))
    if r.returncode == 0:
        js = check_outputs(out, [8, 12, 16], 1, False)
        check(js["init"] == "nndsvd", f"--restarts 1 starts from nndsvd ({js['init']})")

    # --sklearn's defaults name an init, but the restarts' random one is taken.
    out = os.path.join(tmp, "sklearn")
    r = survey(["-k", "8:16:4", "--sklearn"], bar, out)
    check(r.returncode == 0 and json.load(open(os.path.join(out, "survey.json")))["init"] == "random",
          "--sklearn with restarts starts from random" +
          (f" ({r.stderr.strip()[-300:]})" if r.returncode else ""))

    # Refusals: one line, exit 2, nothing written.
    fresh = os.path.join(tmp, "refused")
    for args, words in [
            (["survey", "-k", "10:5"], "-k/--components 10:5"),
            (["survey", "-k", "0:5"], "-k/--components 0:5"),
            (["survey", "-k", "1:2:3:4"], "-k/--components 1:2:3:4"),
            (["survey", "-k", "1:5000"], "at most 1000"),
            (["survey", "--restarts", "2", "--init", "nndsvd"], "--init nndsvd"),
            (["survey", "--init", "custom"], "--init custom"),
            (["survey", "--resume", tmp], "--resume"),
            (["survey", "--recon", "4"], "--recon"),
            (["survey", "--checkpoint-every", "10"], "--checkpoint-every"),
            (["survey", "--write-completed"], "--write-completed"),
            (["survey", "--max-memory", "1G"], "--max-memory"),
            (["--null"], "only for survey")]:
        r = subprocess.run([tool, *args, "-o", fresh, bar], capture_output=True, text=True)
        lines = r.stderr.strip().splitlines()
        check(r.returncode == 2 and lines and words in lines[0] and not os.path.exists(fresh),
              f"{' '.join(args)}: refused, exit {r.returncode}: {lines[0] if lines else ''}")
    r = subprocess.run([tool, "survey", "-k", "4:8:4", "-o", os.path.join(tmp, "one"), bar],
                       capture_output=True, text=True)
    check(r.returncode == 2 and "another run's results" in r.stderr,
          f"an output folder of another survey is refused without --overwrite: "
          f"{r.stderr.strip()[:90]}")
finally:
    shutil.rmtree(tmp)

print(f"{passes} passed, {failures} failed")
sys.exit(1 if failures else 0)
