#!/usr/bin/python3
"""Test accuracy against training seconds (cumulative time_s, without evaluation) for several
history CSVs on one plot: dladmm_train histories (column `iteration`) and torch_mlp.py's
(column `epoch`) alike.

usage: plot_time.py OUT.png TITLE LABEL=HISTORY.csv ...
"""
import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def curve(path):
    seconds, accuracy, total = [], [], 0.0
    with open(path) as f:
        for r in csv.DictReader(f):
            total += float(r["time_s"])
            if r["test_accuracy"]:
                seconds.append(total)
                accuracy.append(float(r["test_accuracy"]))
    return seconds, accuracy


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    fig, ax = plt.subplots(figsize=(8, 5))
    for spec in sys.argv[3:]:
        label, path = spec.split("=", 1)
        ax.plot(*curve(path), label=label, linewidth=1.2)
    for level in (0.80, 0.84):
        ax.axhline(level, color="grey", linewidth=0.6, linestyle=":")
    ax.set_xlabel("training seconds (updates only)")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.5, 0.9)
    ax.set_title(sys.argv[2])
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(sys.argv[1], dpi=110)


if __name__ == "__main__":
    main()
