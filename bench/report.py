#!/usr/bin/python3
"""Summarise dladmm_bench JSON output: Markdown tables, sweep slopes and plots.

Usage:
    bench/report.py RESULT.json [RESULT.json ...] [--out DIR] [--no-plots]

RESULT.json files come from
    dladmm_bench --benchmark_format=json > RESULT.json
or  dladmm_bench --benchmark_out=RESULT.json --benchmark_out_format=json
preferably with --benchmark_repetitions=5 --benchmark_report_aggregates_only=true, in which
case the medians are used. Without aggregates, repeated runs of one benchmark are reduced to
their median here. Runs with different thread counts (e.g. one file per OMP_NUM_THREADS) are
kept apart (column "threads").

Prints to stdout, as Markdown:
  * one table of every benchmark: time per iteration, GFLOP/s, efficiency (GFLOP/s over the
    Eigen GEMM rate of the same shape, measured in the same run), backtracks per iteration;
  * the log-log slope of time against width (width sweep: samples = 500) and against samples
    (sample sweep: width = 1000), fitted by least squares over the top 3 points of each series.
With matplotlib (Debian: python3-matplotlib) it also writes, to --out (default: .),
width_sweep.png (iteration time vs width, quadratic and exact, with the GEMM yardstick) and
sample_sweep.png (iteration time vs samples). Standard library otherwise.
"""

import argparse
import json
import math
import os
import re
import statistics
import sys

NAME = re.compile(
    r"^(?P<family>BM_\w+)<(?P<scalar>\w+)>(?:/(?P<variant>[a-z_]+))?"
    r"/width:(?P<width>\d+)/samples:(?P<samples>\d+)"
)
UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
WIDTH_SWEEP_SAMPLES = 500
SAMPLE_SWEEP_WIDTH = 1000
TOP_POINTS = 3
FAMILY_ORDER = [
    "BM_Gemm",
    "BM_Iteration",
    "BM_WeightStep",
    "BM_ActivationStep",
    "BM_HiddenZStep",
    "BM_BiasStep",
    "BM_OutputStep",
    "BM_DualStep",
]


def load(paths):
    """Rows keyed by (run name, threads): seconds per iteration and the counters (medians)."""
    groups = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            doc = json.load(handle)
        for bench in doc.get("benchmarks", []):
            if bench.get("error_occurred"):
                continue
            run_type = bench.get("run_type", "iteration")
            if run_type == "aggregate" and bench.get("aggregate_name") != "median":
                continue
            run_name = bench.get("run_name", bench["name"])
            # The JSON holds "threads" twice: Google Benchmark's own (1) and then the suite's
            # counter (Eigen::nbThreads()); json keeps the last one, the counter.
            key = (run_name, int(bench.get("threads", 1)))
            entry = groups.setdefault(key, {"median": None, "runs": []})
            if run_type == "aggregate":
                entry["median"] = bench
            else:
                entry["runs"].append(bench)
    rows = []
    for (run_name, threads), entry in groups.items():
        if entry["median"] is not None:
            benches = [entry["median"]]
        else:
            benches = entry["runs"]
        seconds = statistics.median(
            b["real_time"] * UNIT_SECONDS[b.get("time_unit", "ns")] for b in benches
        )

        def counter(name, default=float("nan")):
            values = [b[name] for b in benches if name in b]
            return statistics.median(values) if values else default

        match = NAME.match(run_name)
        rows.append(
            {
                "name": run_name.replace("/manual_time", ""),
                "family": match.group("family") if match else run_name,
                "scalar": match.group("scalar") if match else "",
                "variant": (match.group("variant") or "") if match else "",
                "width": int(match.group("width")) if match else 0,
                "samples": int(match.group("samples")) if match else 0,
                "threads": int(counter("threads", threads)),
                "seconds": seconds,
                "gflops": counter("GFLOPs"),
                "efficiency": counter("efficiency"),
                "backtracks": counter("backtracks"),
            }
        )
    order = {family: i for i, family in enumerate(FAMILY_ORDER)}
    rows.sort(
        key=lambda r: (
            order.get(r["family"], len(order)),
            r["family"],
            r["scalar"],
            r["variant"],
            r["threads"],
            r["width"],
            r["samples"],
        )
    )
    return rows


def fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds * 1e6:.3g} us"


def fmt(value, digits=3):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}g}"


def print_table(rows):
    print("| benchmark | threads | time per iteration | GFLOP/s | efficiency | backtracks |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| `{r['name']}` | {r['threads']} | {fmt_time(r['seconds'])} | {fmt(r['gflops'])} "
            f"| {fmt(r['efficiency'], 2)} | {fmt(r['backtracks'])} |"
        )


def series(rows, sweep):
    """{(family, scalar, variant, threads): [(x, seconds), ...]} of a sweep, sorted by x."""
    out = {}
    for r in rows:
        if sweep == "width":
            if r["samples"] != WIDTH_SWEEP_SAMPLES:
                continue
            x = r["width"]
        else:
            if r["width"] != SAMPLE_SWEEP_WIDTH:
                continue
            x = r["samples"]
        key = (r["family"], r["scalar"], r["variant"], r["threads"])
        out.setdefault(key, []).append((x, r["seconds"]))
    return {key: sorted(points) for key, points in out.items() if len(points) >= 2}


def slope(points):
    """Least-squares slope of log(time) against log(x) over the top TOP_POINTS points."""
    top = points[-TOP_POINTS:]
    xs = [math.log(x) for x, _ in top]
    ys = [math.log(t) for _, t in top]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return float("nan")
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def label(key):
    family, scalar, variant, threads = key
    name = f"{family}<{scalar}>" + (f"/{variant}" if variant else "")
    return f"{name} ({threads} thr)"


def print_slopes(sweeps):
    for sweep, data in sweeps.items():
        if not data:
            continue
        axis = "width (samples = 500)" if sweep == "width" else "samples (width = 1000)"
        print(f"\n### Time against {axis}: log-log slope over the top {TOP_POINTS} points\n")
        print("| series | points | range | slope |")
        print("|---|---:|---|---:|")
        for key, points in sorted(data.items()):
            top = points[-TOP_POINTS:]
            print(
                f"| `{label(key)}` | {len(points)} | {top[0][0]}-{top[-1][0]} "
                f"| {fmt(slope(points), 3)} |"
            )


def plot(sweeps, out_dir):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        print("\n(matplotlib not found: no plots)", file=sys.stderr)
        return []
    written = []
    titles = {
        "width": ("width", "784-w-w-10, 500 samples: time per iteration vs width"),
        "samples": ("samples", "784-1000-1000-10: time per iteration vs samples"),
    }
    for sweep, data in sweeps.items():
        chosen = {k: v for k, v in data.items() if k[0] in ("BM_Iteration", "BM_Gemm")}
        if not chosen:
            continue
        fig, ax = plt.subplots(figsize=(7, 5))
        for key, points in sorted(chosen.items()):
            xs = [x for x, _ in points]
            ts = [t for _, t in points]
            style = "--" if key[0] == "BM_Gemm" else "-"
            ax.loglog(xs, ts, style, marker="o", label=f"{label(key)}, slope {slope(points):.2f}")
        ticks = sorted({x for points in chosen.values() for x, _ in points})
        ax.set_xticks(ticks)
        ax.set_xticks([], minor=True)
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        xlabel, title = titles[sweep]
        ax.set_xlabel(xlabel)
        ax.set_ylabel("seconds per iteration")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(out_dir, f"{'width' if sweep == 'width' else 'sample'}_sweep.png")
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    return written


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="dladmm_bench JSON outputs")
    parser.add_argument("--out", default=".", help="directory of the PNG plots (default: .)")
    parser.add_argument("--no-plots", action="store_true", help="do not write plots")
    args = parser.parse_args()

    rows = load(args.files)
    if not rows:
        sys.exit("no benchmark results in " + ", ".join(args.files))
    print_table(rows)
    sweeps = {"width": series(rows, "width"), "samples": series(rows, "samples")}
    print_slopes(sweeps)
    if not args.no_plots:
        os.makedirs(args.out, exist_ok=True)
        for path in plot(sweeps, args.out):
            print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
