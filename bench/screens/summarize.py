#!/usr/bin/python3
"""One table row per dladmm_train history CSV: iterations, median seconds per iteration, best
and last test accuracy, and the training time (sum of time_s, without evaluation) until the test
accuracy first reaches each threshold, with the iteration.

usage: summarize.py [--thresholds 0.80,0.84] HISTORY.csv ...
"""
import csv
import os
import statistics
import sys


def row(path, thresholds):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    seconds, reached = 0.0, {}
    best, best_at = float("nan"), 0
    for r in rows:
        seconds += float(r["time_s"])
        accuracy = float(r["test_accuracy"]) if r["test_accuracy"] else float("nan")
        if accuracy == accuracy and not best >= accuracy:
            best, best_at = accuracy, int(r["iteration"])
        for t in thresholds:
            if t not in reached and accuracy >= t:
                reached[t] = f"{seconds:.1f} s (it. {r['iteration']})"
    median = statistics.median(float(r["time_s"]) for r in rows)
    cells = [os.path.basename(path), str(len(rows)), f"{median:.3f}", f"{best:.4f} (it. {best_at})",
             rows[-1]["test_accuracy"]] + [reached.get(t, "not reached") for t in thresholds]
    return "| " + " | ".join(cells) + " |"


def main():
    args = sys.argv[1:]
    thresholds = [0.80, 0.84]
    if args[:1] == ["--thresholds"]:
        thresholds = [float(t) for t in args[1].split(",")]
        args = args[2:]
    if not args:
        sys.exit(__doc__)
    print("| run | iterations | median s / it. | best test accuracy | last | "
          + " | ".join(f"time to {t:.2f}" for t in thresholds) + " |")
    print("|---|---|---|---|---|" + "---|" * len(thresholds))
    for path in args:
        print(row(path, thresholds))


if __name__ == "__main__":
    main()
