#!/usr/bin/python3
"""Side-by-side table of dladmm_train's history CSV and torch_mlp.py's CSV: seconds per
iteration / epoch (median), best test accuracy, and the training time (sum of time_s, without
evaluation) until the test accuracy first reaches each threshold.

usage: compare.py DLADMM_HISTORY.csv TORCH.csv [THRESHOLD ...]   (default 0.80 0.84)
"""
import csv
import statistics
import sys


def load(path, step_column):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    steps = [int(r[step_column]) for r in rows]
    seconds = [float(r["time_s"]) for r in rows]
    accuracy = [float(r["test_accuracy"]) if r["test_accuracy"] else float("nan") for r in rows]
    return steps, seconds, accuracy


def time_to(threshold, steps, seconds, accuracy):
    total = 0.0
    for step, s, a in zip(steps, seconds, accuracy):
        total += s
        if a >= threshold:
            return f"{total:.1f} s (step {step})"
    return "not reached"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    thresholds = [float(t) for t in sys.argv[3:]] or [0.80, 0.84]
    runs = [("dlADMM (dladmm_train)", load(sys.argv[1], "iteration")),
            ("PyTorch full-batch Adam", load(sys.argv[2], "epoch"))]
    print("| method | steps | median s / step | best test accuracy | "
          + " | ".join(f"time to {t:.2f}" for t in thresholds) + " |")
    print("|---|---|---|---|" + "---|" * len(thresholds))
    for name, (steps, seconds, accuracy) in runs:
        best = max(a for a in accuracy if a == a)
        print(f"| {name} | {len(steps)} | {statistics.median(seconds):.3f} | {best:.4f} | "
              + " | ".join(time_to(t, steps, seconds, accuracy) for t in thresholds) + " |")


if __name__ == "__main__":
    main()
