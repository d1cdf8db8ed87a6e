#!/usr/bin/env python3
"""test_storage.py - V held at its source precision, through the tool:

- 4096 generated 8-bit images of 128x128 (float32 V would be 268 MB) are
  held as bytes: metrics.json says "storage": "uint8" and V_bytes 67108864,
  and a k = 20 fit peaks below 130 MB resident (the child's ru_maxrss);
- the same fit with --storage float32 holds 268435456 bytes and ends at the
  same relative error to 1e-5, with the bytes run's W and H bit for bit;
- a 16-bit PGM among 8-bit ones makes V float32 (its values: test_dataset);
- with --max-memory 48M, V (67 MB) is streamed from its cache file: HALS,
  MU and KL fits peak below the 48 MB budget (80 MB is issue 15's target)
  and end where the in-memory fits end (the same bits, as the block
  schedule promises; the BLAS table refuses to stream), a checkpointed
  streamed run resumes to the uninterrupted one's bits, no cache file is
  left behind, and a budget too small to stream in is one error line.
The fits use --init random: NNDSVD's Gram matrix is min(m, n)^2 doubles
(134 MB here) whatever V's storage (README, "Memory").
Exits 77 (CTest's skip) without numpy.

usage: test_storage.py PATH/TO/nmf-faces plain|sanitized
(sanitized: a sanitizer build, whose shadow memory the peak would count: the
memory check is skipped, saying so.)
"""
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError as e:
    print(f"SKIPPED: numpy is not installed for {sys.executable} ({e})")
    sys.exit(77)

tool, build = sys.argv[1], sys.argv[2]
failures = passes = 0
M, SIDE, K = 4096, 128, 20


def check(ok, what):
    global failures, passes
    passes += bool(ok)
    failures += not ok
    print(("ok:   " if ok else "FAIL: ") + what)


def write_pgm(path, pixels, maxval=255):
    h, w = pixels.shape
    body = pixels.astype(">u2" if maxval > 255 else np.uint8).tobytes()
    with open(path, "wb") as f:
        f.write(b"P5\n%d %d\n%d\n" % (w, h, maxval) + body)


def generated_set(folder):
    """Low-rank images plus noise, rounded to 8 bits: parts that add up."""
    rng = np.random.default_rng(15)
    A = rng.random((M, 12))
    B = rng.random((12, SIDE * SIDE))
    V = A @ B
    V = np.clip(np.rint(255.0 * V / V.max() + rng.normal(0, 6, V.shape)), 0, 255)
    for i in range(M):
        write_pgm(os.path.join(folder, f"{i:04d}.pgm"), V[i].reshape(SIDE, SIDE))


# Runs argv[1:] and prints its peak resident KB last: a small parent of its
# own, so that the peak is the tool's, not this process's (a child counts
# the pages it shares with its parent until it execs).
PEAK = ("import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:])\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.exit(r.returncode)\n")


def fit(images, out, *extra):
    """Runs a fit; its metrics and its peak resident MB."""
    cmd = [tool, images, "-o", out, "-k", str(K), "--init", "random", "--tol", "0",
           "--max-iter", "30", "--threads", "2", "-q", *extra]
    run = subprocess.run([sys.executable, "-c", PEAK, *cmd], capture_output=True, text=True)
    check(run.returncode == 0, f"{' '.join(cmd[1:])}: exit {run.returncode} {run.stderr.strip()}")
    metrics = json.load(open(os.path.join(out, "metrics.json"))) if run.returncode == 0 else {}
    lines = run.stdout.split()
    return metrics, (int(lines[-1]) / 1024.0 if lines else None)


def load_npy(path):
    return np.load(path).astype(np.float64)


BLAS = os.environ.get("NMF_CPU_KERNELS") == "blas"


def same_factors(dir_a, dir_b, what):
    """W and H of two runs: bit for bit (within 1e-5 through the BLAS table)."""
    for name in ("W.npy", "H.npy"):
        x = load_npy(os.path.join(dir_a, name))
        y = load_npy(os.path.join(dir_b, name))
        diff = np.abs(x - y).max() / np.abs(y).max()
        check(diff <= 1e-5 if BLAS else diff == 0.0,
              f"{what}: {name} {diff:.2g} of its largest entry apart "
              f"({'<= 1e-5' if BLAS else 'bit for bit'})")


def streamed_fits(tmp, images, in_memory_hals, in_memory_floats):
    """--max-memory 48M: V on disk, read a block at a time."""
    budget = ["--max-memory", "48M"]
    if BLAS:
        run = subprocess.run([tool, images, "-o", os.path.join(tmp, "s-blas"), "-k", str(K),
                              "--init", "random", *budget], capture_output=True, text=True)
        check(run.returncode == 2 and "cannot stream" in run.stderr,
              f"the BLAS table refuses to stream: exit {run.returncode} {run.stderr.strip()}")
        return
    # float32 storage streams floats read in place (the float kernels, the
    # float checks and norm), against the in-memory byte copy of them.
    cases = [("hals", [], in_memory_hals), ("mu", ["--solver", "mu"], None),
             ("kl", ["--solver", "mu", "--loss", "kl", "--max-iter", "10"], None),
             ("float32", ["--storage", "float32"], in_memory_floats)]
    for name, extra, memory_dir in cases:
        if memory_dir is None:
            memory_dir = os.path.join(tmp, f"m-{name}")
            fit(images, memory_dir, *extra)
        out = os.path.join(tmp, f"s-{name}")
        s, peak = fit(images, out, *extra, *budget)
        print(f"streamed {name}: peak {peak} MB resident, block {s.get('stream_block_bytes')} "
              f"bytes, relative error {s.get('relative_err')}")
        check(s.get("streamed") is True and 0 < s.get("stream_block_bytes", 0) < 48 << 20,
              f"{name}: metrics.json streamed {s.get('streamed')}, block "
              f"{s.get('stream_block_bytes')}")
        if build == "sanitized":
            print(f"SKIPPED: {name}'s peak resident memory check, in a sanitizer build")
        else:
            check(peak is not None and peak < 48.0,
                  f"{name}: peak resident {peak} MB < 48 MB, the budget")
        same_factors(out, memory_dir, f"{name} streamed vs in memory")
        left = [f for f in os.listdir(out) if f.startswith(".nmf-faces-V")]
        check(not left, f"{name}: no cache file left in the output folder ({left})")

    # Checkpointed every 10 iterations of 20, resumed to 30: the uninterrupted
    # run's bits.
    part = os.path.join(tmp, "s-part")
    fit(images, part, "--solver", "mu", "--max-iter", "20", "--checkpoint-every", "10", *budget)
    run = subprocess.run([tool, "--resume", part, "--max-iter", "30", "-q", *budget],
                         capture_output=True, text=True)
    check(run.returncode == 0, f"--resume a streamed run: exit {run.returncode} "
                               f"{run.stderr.strip()}")
    if run.returncode == 0:
        same_factors(part, os.path.join(tmp, "s-mu"), "streamed, checkpointed and resumed")

    # Too small to stream in: one line naming the option and what it needs.
    run = subprocess.run([tool, images, "-o", os.path.join(tmp, "s-small"), "-k", str(K),
                          "--init", "random", "--max-memory", "20M"],
                         capture_output=True, text=True)
    errors = [line for line in run.stderr.splitlines() if "error" in line]
    check(run.returncode == 1 and len(errors) == 1 and "--max-memory" in errors[0] and
          "too little" in errors[0], f"--max-memory 20M: exit {run.returncode}, {errors}")
    check(not os.path.exists(os.path.join(tmp, "s-small", "metrics.json")),
          "--max-memory 20M: no outputs")


with tempfile.TemporaryDirectory() as tmp:
    images = os.path.join(tmp, "images")
    os.mkdir(images)
    generated_set(images)

    b, peak_b = fit(images, os.path.join(tmp, "bytes"))
    print(f"bytes: peak {peak_b} MB resident, relative error {b.get('relative_err')}")
    check(b.get("storage") == "uint8" and b.get("V_bytes") == M * SIDE * SIDE,
          f"metrics.json: storage {b.get('storage')}, V_bytes {b.get('V_bytes')}")
    if build == "sanitized":
        print("SKIPPED: the peak resident memory check, in a sanitizer build")
    else:
        check(peak_b is not None and peak_b < 130.0, f"peak resident {peak_b} MB < 130 MB")

    f, _ = fit(images, os.path.join(tmp, "floats"), "--storage", "float32")
    check(f.get("storage") == "float32" and f.get("V_bytes") == 4 * M * SIDE * SIDE,
          f"--storage float32: storage {f.get('storage')}, V_bytes {f.get('V_bytes')}")
    if b and f:
        rel = abs(b["relative_err"] - f["relative_err"]) / f["relative_err"]
        check(rel <= 1e-5, f"relative error {b['relative_err']} vs float32's "
                           f"{f['relative_err']}: {rel:.2g} apart (<= 1e-5)")
        # The byte kernels sum the same values in the same order: the same
        # bits, but through the BLAS table (float copies either way).
        same_factors(os.path.join(tmp, "bytes"), os.path.join(tmp, "floats"),
                     "bytes vs float32")

    streamed_fits(tmp, images, os.path.join(tmp, "bytes"), os.path.join(tmp, "floats"))

    # One 16-bit file makes the whole V float32, its value not rounded.
    mixed = os.path.join(tmp, "mixed")
    os.mkdir(mixed)
    flat = np.full((8, 8), 100, dtype=np.int64)
    write_pgm(os.path.join(mixed, "a.pgm"), flat)
    write_pgm(os.path.join(mixed, "b.pgm"), flat + 1)
    write_pgm(os.path.join(mixed, "c.pgm"), flat * 257 + 128, maxval=65535)  # 100.498...
    run = subprocess.run([tool, mixed, "-o", os.path.join(tmp, "mixed-out"), "-k", "1",
                          "--init", "random", "--max-iter", "10"], capture_output=True, text=True)
    loaded = [line for line in run.stderr.splitlines() if line.startswith("loaded")]
    check(run.returncode == 0 and loaded and "held as float32" in loaded[0],
          f"a 16-bit file among 8-bit ones: {loaded}")
    if run.returncode == 0:
        m = json.load(open(os.path.join(tmp, "mixed-out", "metrics.json")))
        check(m.get("storage") == "float32", f"mixed storage {m.get('storage')}")

print(f"{passes} checks, {failures} failed")
sys.exit(1 if failures else 0)
