#!/usr/bin/env python3
"""test_mpi.py - nmf-faces as the ranks of an MPI job (issue 15, step 3):

- on the bundled faces, mpirun -np 2, 3 and 4 give the one-process loss to
  1e-5 for MU, HALS (the default NNDSVD init, whose wide Gram matrix
  gathers V's columns from the ranks) and KL (random init), and the same W
  up to rounding, in the one-process order of the images;
- a tall V (--resize 8x8: 400 images of 64 pixels, NNDSVD's Gram matrix
  summed over the ranks) gives the one-process loss too, and so does one
  whose rows split unevenly (1100 images of 32x32 over 3 ranks), its Gram
  matrix summed in several runs;
- the same number of ranks twice gives identical W.npy and H.npy;
- rank 0 writes what one process writes: the same files, inputs.txt, the
  whole W, and "ranks" in metrics.json;
- a corrupt image in rank 1's rows ends the job with exit 1 within 10 s,
  one error line naming the file, and no output folder;
- SIGTERM to the ranks (as Slurm sends it) checkpoints and exits 143, and
  --resume under another number of ranks ends within 1e-5 of an
  uninterrupted run;
- more ranks than images, transform under mpirun and missing pixels over
  ranks are one error line each, and so is --device gpu without a GPU;
- V streamed from disk on every rank (--max-memory) gives the in-memory
  run's bits.
With `gpu` after FACES_DIR, the GPU over ranks instead (each rank its own
GPU, local rank modulo those it sees; the sums through host memory): np 2
and 3 give the one-process GPU loss to 1e-5 for MU, HALS and KL, the same
number of ranks twice gives identical W.npy and H.npy, a V streamed to
the GPUs from host memory (NMF_GPU_STREAM_BLOCK: from V pinned in place,
and with --max-memory from the disk cache through pinned buffers) the
resident run's loss to 1e-5, and HALS's stopping rule stops near the one
GPU process's iteration; SKIPPED without a CUDA device. The other checks
name --device cpu (a GPU machine's auto would take the GPUs).
SKIPPED (exit 77) when nmf-faces is built without MPI, or without numpy.
The launcher runs as CI does: as root, on 2 cores, so with
--allow-run-as-root's two variables and --oversubscribe.

usage: test_mpi.py PATH/TO/nmf-faces MPIEXEC|none FACES_DIR [gpu]
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

tool, mpiexec, faces = sys.argv[1], sys.argv[2], sys.argv[3]
on_gpu = sys.argv[4:] == ["gpu"]
if mpiexec == "none" or not shutil.which(mpiexec):
    print(f"SKIPPED: nmf-faces is built without MPI (NMF_MPI, mpiexec {mpiexec!r}): "
          "install libopenmpi-dev and openmpi-bin (scripts/deps does) and reconfigure")
    sys.exit(77)
try:
    import numpy as np
except ImportError as e:
    print(f"SKIPPED: numpy is not installed for {sys.executable} ({e})")
    sys.exit(77)

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           # containers often forbid the cross-memory attach of Open MPI's
           # shared-memory transport, which then warns on every run
           OMPI_MCA_btl_vader_single_copy_mechanism="none",
           # in a sanitizer build: Open MPI keeps what it allocates until
           # exit; LeakSanitizer is told so (lsan-mpi.supp), from whole
           # stacks through components that stay loaded
           OMPI_MCA_mca_base_component_disable_dlclose="1",
           ASAN_OPTIONS=":".join(filter(None, [os.environ.get("ASAN_OPTIONS"),
                                               "fast_unwind_on_malloc=0"])),
           LSAN_OPTIONS="suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "lsan-mpi.supp") + ":print_suppressions=0")
failures = passes = 0


def check(ok, what):
    global failures, passes
    passes += bool(ok)
    failures += not ok
    print(("ok:   " if ok else "FAIL: ") + what)


def command(ranks, args):
    launch = [mpiexec, "-q", "--oversubscribe", "-np", str(ranks)] if ranks > 1 else []
    return launch + [tool, *args]


def run(ranks, args, timeout=300, env=None):
    return subprocess.run(command(ranks, args), capture_output=True, text=True,
                          env=dict(ENV, **(env or {})), timeout=timeout)


def metrics(out):
    with open(os.path.join(out, "metrics.json")) as f:
        return json.load(f)


def fit(ranks, out, *args, images=faces, env=None):
    # The CPU unless a device is named: on a GPU machine auto would take the GPUs.
    device = [] if "--device" in args else ["--device", "cpu"]
    r = run(ranks, [images, "-o", out, "--overwrite", "-q", "--threads", "1", *device, *args],
            env=env)
    check(r.returncode == 0, f"np {ranks} {' '.join(args)}: exit {r.returncode} {r.stderr.strip()[-300:]}")
    return metrics(out) if r.returncode == 0 else None


def error_lines(stderr):
    return [l for l in stderr.splitlines() if l.startswith("nmf-faces: error")]


def alive(pid):
    """Whether pid runs: not gone, nor a zombie left to an init that does not reap."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def rel(a, b):
    return abs(a - b) / abs(b)


CASES = {"mu": ["--solver", "mu"], "hals": ["--solver", "hals"],
         "kl": ["--solver", "mu", "--loss", "kl", "--init", "random"]}


def same_bits(a, b):
    return all(np.array_equal(np.load(f"{a}/{f}"), np.load(f"{b}/{f}")) for f in ("W.npy", "H.npy"))


def gpu_over_ranks(tmp):
    probe = run(1, [faces, "--device", "gpu", "-k", "2", "--max-iter", "1", "-q", "-o",
                    f"{tmp}/probe"])
    if probe.returncode != 0 and "no CUDA device" in probe.stderr:
        print(f"SKIPPED: {probe.stderr.strip().splitlines()[-1]}")
        sys.exit(77)
    gpu = ["--device", "gpu", "-k", "10", "--tol", "0", "--max-iter", "50"]
    for name, extra in CASES.items():
        one = fit(1, f"{tmp}/{name}1", *gpu, *extra)
        for ranks in (2, 3):
            m = fit(ranks, f"{tmp}/{name}{ranks}", *gpu, *extra)
            if one and m:
                check(m["device"] == "cuda" and m["ranks"] == ranks and
                      rel(m["reconstruction_err"], one["reconstruction_err"]) <= 1e-5,
                      f"gpu {name}, np {ranks}: on {m['device']}, loss "
                      f"{m['reconstruction_err']:.9g} against one GPU process's "
                      f"{one['reconstruction_err']:.9g} (<= 1e-5 relative)")
    again = fit(2, f"{tmp}/mu2_again", *gpu, *CASES["mu"])
    if again:
        check(same_bits(f"{tmp}/mu2", f"{tmp}/mu2_again"), "gpu mu, np 2 twice: identical W.npy, H.npy")
    # Streamed from V in memory (pinned in place), and from V streamed from
    # disk on the host (--max-memory: through the pinned buffers).
    stream = {"NMF_GPU_STREAM_BLOCK": "64K"}
    for name, host in (("mu", []), ("hals", []), ("mu", ["--max-memory", "21M"])):
        label = f"{name}2s{'d' if host else ''}"
        streamed = fit(2, f"{tmp}/{label}", *gpu, *CASES[name], *host, env=stream)
        resident = metrics(f"{tmp}/{name}2") if os.path.exists(f"{tmp}/{name}2") else None
        if streamed and resident:
            check(rel(streamed["reconstruction_err"], resident["reconstruction_err"]) <= 1e-5 and
                  streamed["streamed"] == bool(host),
                  f"gpu {name}, np 2, V streamed to the GPU in 64 KiB slots"
                  f"{' from the disk cache' if host else ''}: loss "
                  f"{streamed['reconstruction_err']:.9g} against resident "
                  f"{resident['reconstruction_err']:.9g}")
    # HALS's stopping rule: W's violation summed over the ranks.
    rule = ["--device", "gpu", "-k", "10", "--solver", "hals", "--stopping", "sklearn",
            "--tol", "1e-3", "--max-iter", "300"]
    one, two = fit(1, f"{tmp}/rule1", *rule), fit(2, f"{tmp}/rule2", *rule)
    if one and two:
        # Another order of the sums can move the threshold's iteration a little.
        check(two["converged"] and one["converged"] and
              abs(two["iterations"] - one["iterations"]) <= 10 and
              rel(two["reconstruction_err"], one["reconstruction_err"]) <= 1e-4,
              f"gpu hals --stopping sklearn, np 2: stopped at {two['iterations']} iterations "
              f"against one process's {one['iterations']} (within 10), loss within "
              f"{rel(two['reconstruction_err'], one['reconstruction_err']):.1e} (<= 1e-4)")


with tempfile.TemporaryDirectory() as tmp:
    if on_gpu:
        gpu_over_ranks(tmp)
        print(f"{passes} passed, {failures} failed")
        sys.exit(1 if failures else 0)
    # --- the one-process loss from every number of ranks -----------------
    cases = CASES
    for name, extra in cases.items():
        args = ["-k", "10", "--tol", "0", "--max-iter", "50", *extra]
        one = fit(1, f"{tmp}/{name}1", *args)
        W1 = np.load(f"{tmp}/{name}1/W.npy")
        for ranks in (2, 3, 4):
            m = fit(ranks, f"{tmp}/{name}{ranks}", *args)
            if not (one and m):
                continue
            check(rel(m["reconstruction_err"], one["reconstruction_err"]) <= 1e-5 and
                  m["iterations"] == 50,
                  f"{name}, np {ranks}: loss {m['reconstruction_err']:.9g} against one process's "
                  f"{one['reconstruction_err']:.9g} (relative {rel(m['reconstruction_err'], one['reconstruction_err']):.1e} <= 1e-5)")
            W = np.load(f"{tmp}/{name}{ranks}/W.npy")
            diff = float(np.abs(W - W1).max() / np.abs(W1).max())
            check(W.shape == W1.shape and diff < 1e-3,
                  f"{name}, np {ranks}: W {W.shape}, every row where one process has it "
                  f"(largest difference {diff:.1e} of W's largest entry)")

    def same_start_and_end(what, name, args, images=faces):
        """One process and 3 ranks: the same init error to 1e-6, final to 1e-5."""
        one = fit(1, f"{tmp}/{name}1", *args, images=images)
        three = fit(3, f"{tmp}/{name}3", *args, images=images)
        if one and three:
            check(rel(three["error_at_init"], one["error_at_init"]) <= 1e-6 and
                  rel(three["reconstruction_err"], one["reconstruction_err"]) <= 1e-5,
                  f"{what} over 3 ranks: init error {three['error_at_init']:.9g} vs "
                  f"{one['error_at_init']:.9g}, final {three['reconstruction_err']:.9g} vs "
                  f"{one['reconstruction_err']:.9g}")

    same_start_and_end("tall V (400 x 64), NNDSVD", "tall",
                       ["-k", "10", "--tol", "0", "--max-iter", "30", "--resize", "8x8"])
    # a tall V whose rows do not split evenly (1100 over 3 ranks), with a Gram
    # matrix summed in several runs: every rank must cut the same runs
    tall_set = f"{tmp}/tall_set"
    os.makedirs(tall_set)
    rng = np.random.default_rng(3)
    V = rng.random((1100, 6)) @ rng.random((6, 32 * 32))
    V = np.clip(np.rint(255 * V / V.max() + rng.normal(0, 6, V.shape)), 0, 255).astype(np.uint8)
    for i in range(len(V)):
        with open(f"{tall_set}/{i:04d}.pgm", "wb") as f:
            f.write(b"P5\n32 32\n255\n" + V[i].tobytes())
    same_start_and_end("tall V (1100 x 1024), uneven rows, nndsvda", "uneven",
                       ["-k", "8", "--tol", "0", "--max-iter", "30", "--init", "nndsvda"],
                       images=tall_set)

    # --- the same ranks, the same bits ---------------------------------------
    again = ["-k", "10", "--tol", "0", "--max-iter", "50", "--solver", "hals"]
    if fit(3, f"{tmp}/same_a", *again) and fit(3, f"{tmp}/same_b", *again):
        check(same_bits(f"{tmp}/same_a", f"{tmp}/same_b"), "np 3 twice: identical W.npy, H.npy")

    # --- rank 0 writes what one process writes -------------------------------
    listing = lambda d: sorted(os.listdir(d))
    check(listing(f"{tmp}/mu1") == listing(f"{tmp}/mu3"),
          f"np 3 writes the files one process writes: {listing(f'{tmp}/mu3')}")
    with open(f"{tmp}/mu1/inputs.txt") as a, open(f"{tmp}/mu3/inputs.txt") as b:
        check(a.read() == b.read(), "np 3: inputs.txt lists every image, in order")
    m3 = metrics(f"{tmp}/mu3")
    check(m3["ranks"] == 3 and m3["images"] == 400 and metrics(f"{tmp}/mu1")["ranks"] == 1,
          f"metrics.json: ranks {m3['ranks']}, images {m3['images']}")

    # --- a corrupt image on rank 1 -------------------------------------------
    bad = f"{tmp}/bad"
    shutil.copytree(faces, bad)
    victim = os.path.join(bad, "s35", "1.pgm")  # rows 200-399 are rank 1's of 2
    with open(victim, "r+b") as f:
        f.truncate(100)
    t0 = time.monotonic()
    r = run(2, [bad, "-k", "10", "-o", f"{tmp}/bad_out"], timeout=60)
    took = time.monotonic() - t0
    lines = error_lines(r.stderr)
    check(r.returncode == 1 and took < 10 and len(lines) == 1 and victim in lines[0]
          and not os.path.exists(f"{tmp}/bad_out"),
          f"a corrupt image on rank 1: exit {r.returncode} in {took:.1f} s, {len(lines)} error "
          f"line(s): {lines}")

    # --- SIGTERM to the ranks, then --resume under another number -------------
    long_fit = ["-k", "10", "--solver", "mu", "--init", "random", "--tol", "0", "--max-iter",
                "1000", "--threads", "1"]
    out = f"{tmp}/term"
    p = subprocess.Popen(command(2, [faces, "-o", out, *long_fit]), stderr=subprocess.PIPE,
                         text=True, env=ENV)
    seen = ""  # the fit has begun: its first report, at iteration 0
    while "iteration 0/" not in seen and p.poll() is None:
        seen += p.stderr.readline()
    children = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                              text=True).stdout.split()
    for pid in children:
        os.kill(int(pid), signal.SIGTERM)
    rest = p.communicate(timeout=60)[1]
    with open(os.path.join(out, "checkpoint.nmf"), "rb") as f:
        saved = [l for l in f.read().split(b"\n") if l.startswith(b"iteration ")]
    stopped = int(saved[0].split()[1]) if saved else -1
    check(p.returncode == 143 and len(children) == 2 and 0 < stopped < 1000,
          f"SIGTERM to both ranks: exit {p.returncode}, checkpoint at iteration {stopped} "
          f"({rest.strip().splitlines()[-1:]})")
    r = run(3, ["--resume", out, "-q"])
    uninterrupted = fit(1, f"{tmp}/term_ref", *long_fit)
    if r.returncode == 0 and uninterrupted:
        m = metrics(out)
        check(m["iterations"] == 1000 and m["ranks"] == 3 and
              rel(m["reconstruction_err"], uninterrupted["reconstruction_err"]) <= 1e-5,
              f"--resume under 3 ranks: {m['iterations']} iterations, loss "
              f"{m['reconstruction_err']:.9g} against the uninterrupted "
              f"{uninterrupted['reconstruction_err']:.9g}")
    else:
        check(False, f"--resume under 3 ranks: exit {r.returncode} {r.stderr.strip()}")

    # --- a rank that dies ends the job ------------------------------------------
    out = f"{tmp}/killed"
    p = subprocess.Popen(command(3, [faces, "-o", out, "-k", "10", "--solver", "mu", "--init",
                                     "random", "--tol", "0", "--max-iter", "100000"]),
                         stderr=subprocess.PIPE, text=True, env=ENV)
    seen = ""
    while "iteration 0/" not in seen and p.poll() is None:
        seen += p.stderr.readline()
    children = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                              text=True).stdout.split()
    t0 = time.monotonic()
    if len(children) == 3:
        os.kill(int(children[1]), signal.SIGKILL)
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
    # mpirun may return while a rank still exits (a sanitizer build's
    # leak check at exit): the ranks have until the 10 s to be gone.
    while any(alive(c) for c in children) and time.monotonic() - t0 < 10:
        time.sleep(0.1)
    took = time.monotonic() - t0
    left = [c for c in children if alive(c)]
    check(len(children) == 3 and p.returncode not in (0, None) and took < 10 and not left
          and not os.path.exists(out),
          f"SIGKILL to rank 1 of 3: the job ended in {took:.1f} s, exit {p.returncode}, "
          f"{len(left)} rank(s) left, no outputs")

    # --- refusals, one line each ----------------------------------------------
    few = f"{tmp}/few"
    os.makedirs(few)
    for i in range(3):
        shutil.copy(os.path.join(faces, "s1", f"{i + 1}.pgm"), few)
    no_gpu = "no CUDA device" in run(1, [faces, "--device", "gpu", "-k", "2", "--max-iter", "1",
                                         "-q", "-o", f"{tmp}/probe"]).stderr
    for what, ranks, args, code, says in [
            ("3 images on 4 ranks", 4, [few, "-k", "2", "-o", f"{tmp}/few_out"], 2,
             "fewer than the ranks"),
            ("transform under mpirun", 2, ["transform", "--model", f"{tmp}/mu1", faces, "-o",
                                           f"{tmp}/tr"], 2, "one process"),
            ("missing pixels over ranks", 2, [faces, "--missing", "alpha", "-o", f"{tmp}/miss"],
             2, "--missing/--mask"),
            # rank 0 alone checks the folder: the ranks agree before auto's
            # device, a collective, is agreed on
            ("a folder holding a run, --device auto", 2,
             [faces, "-k", "2", "--max-iter", "1", "-o", f"{tmp}/mu1"], 2, "holds another run")] + ([
            ("--device gpu over ranks without a GPU", 2,
             [faces, "--device", "gpu", "-o", f"{tmp}/gpu"], 1, "no CUDA device")] if no_gpu else []):
        r = run(ranks, args, timeout=60)
        lines = error_lines(r.stderr)
        check(r.returncode == code and len(lines) == 1 and says in lines[0],
              f"{what}: exit {r.returncode}, {lines}")

    # --- every rank streaming its rows from disk ------------------------------
    streamed = ["-k", "10", "--init", "random", "--tol", "0", "--max-iter", "30"]
    mem = fit(2, f"{tmp}/mem", *streamed)
    disk = fit(2, f"{tmp}/disk", *streamed, "--max-memory", "21M")
    if mem and disk:
        check(disk["streamed"] and not mem["streamed"] and
              disk["reconstruction_err"] == mem["reconstruction_err"],
              f"np 2, --max-memory 21M: streamed {disk['streamed']}, loss "
              f"{disk['reconstruction_err']!r} against in memory {mem['reconstruction_err']!r}")

print(f"{passes} passed, {failures} failed")
sys.exit(1 if failures else 0)
