#!/usr/bin/env python3
"""plot.py - charts of an nmf-bench run (with the peers run_peers.py added).

usage: python3 bench/plot.py BENCH_JSON OUTDIR

Writes two PNGs into OUTDIR:
  ms_per_iter.png     ms/iter (median) against the problem size m*n*k, log-log,
                      one line per (impl, device); faces cases are starred and
                      named
  pct_of_ceiling.png  % of the measured ceiling per case (CPU: FMA peak), grouped bars,
                      one bar per (impl, device)
Skipped results and null numbers are left out. Needs matplotlib (Agg backend,
no display).
"""
import json
import os
import sys

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError as e:
    sys.exit(f"plot.py: matplotlib is needed for the charts ({e}); "
             "hint: apt-get install python3-matplotlib, or pip install matplotlib")


def series(doc, key):
    """{(impl, device): [(case, result), ...]} over the results that have a
    number for key, in the order of first appearance."""
    out = {}
    for case in doc["cases"]:
        for r in case["results"]:
            if not r.get("skipped") and r.get(key) is not None:
                out.setdefault((r["impl"], r["device"]), []).append((case, r))
    return out


def machine_line(doc):
    """cpu model, threads, GPU or 'no GPU', and the date, for a title."""
    m = doc["machine"]
    gpu = m["gpu"]["name"] if m.get("gpu") else "no GPU"
    return f"{m['cpu_model']}, {m['cpu_threads']} threads; {gpu}; {doc['date']}"


def size(case):
    return case["m"] * case["n"] * case["k"]


def plot_ms_per_iter(doc, path):
    """Log-log ms/iter against m*n*k, one marker+line per (impl, device)."""
    fig, ax = plt.subplots(figsize=(10, 6.5))
    faces_top = {}  # faces case name -> (x, highest y), for its label
    for (impl, device), points in series(doc, "ms_per_iter_median").items():
        points.sort(key=lambda p: size(p[0]))
        xs = [size(c) for c, _ in points]
        ys = [r["ms_per_iter_median"] for _, r in points]
        line, = ax.plot(xs, ys, marker="o", label=f"{impl} ({device})")
        for case, r in points:
            if case["source"] == "faces":
                ax.plot(size(case), r["ms_per_iter_median"], marker="*", markersize=14,
                        color=line.get_color(), markeredgecolor="black", linestyle="none")
                x, y = faces_top.get(case["name"], (size(case), 0))
                faces_top[case["name"]] = (x, max(y, r["ms_per_iter_median"]))
    for name, (x, y) in faces_top.items():
        ax.annotate(name, (x, y), xytext=(0, 12), textcoords="offset points",
                    ha="center", fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.margins(x=0.06, y=0.12)  # room for the faces labels
    ax.set_xlabel("problem size m·n·k  (★ = faces case)")
    ax.set_ylabel("ms per iteration (median)")
    ax.set_title(f"NMF multiplicative updates, ms/iter\n{machine_line(doc)}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_pct_of_ceiling(doc, path):
    """Grouped bars: % of ceiling per case, one bar per (impl, device)."""
    groups = series(doc, "pct_of_ceiling")
    present = {case["name"] for points in groups.values() for case, _ in points}
    names = [c["name"] for c in doc["cases"] if c["name"] in present]
    fig, ax = plt.subplots(figsize=(max(8, 2 + 0.3 * len(names) * len(groups)), 6))
    width = 0.8 / max(1, len(groups))
    for i, ((impl, device), points) in enumerate(groups.items()):
        xs = [names.index(c["name"]) - 0.4 + (i + 0.5) * width for c, _ in points]
        ax.bar(xs, [r["pct_of_ceiling"] for _, r in points], width,
               label=f"{impl} ({device}) vs {points[0][1]['ceiling']}")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ceilings = [f"cpu FMA peak {c['fma_gflops']:.4g} GFLOP/s" if device == "cpu" and c.get("fma_gflops")
                else f"{device} sgemm {c['sgemm_gflops']:.4g} GFLOP/s"
                for device, c in (doc.get("ceilings") or {}).items() if c]
    ax.set_ylabel("% of measured ceiling\n(" + "; ".join(ceilings) + ")")
    ax.set_title(f"Fraction of the measured ceiling\n{machine_line(doc)}", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    outdir = sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    for name, plot in (("ms_per_iter.png", plot_ms_per_iter),
                       ("pct_of_ceiling.png", plot_pct_of_ceiling)):
        path = os.path.join(outdir, name)
        plot(doc, path)
        print(f"plot.py: wrote {path}")


if __name__ == "__main__":
    main()
