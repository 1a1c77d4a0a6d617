#!/usr/bin/python3
"""Two dladmm_train histories of the same run in two settings (float and bf16 products, say),
side by side: the best and last test accuracy of each, the largest difference in test accuracy
at the same iteration, and the iterations (after the first) at which each one's objective
rose, with the largest rise relative to the objective.

usage: compare_histories.py A.csv B.csv
"""
import csv
import sys


def read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def rises(rows):
    out = []
    for before, after in zip(rows, rows[1:]):
        b, a = float(before["objective"]), float(after["objective"])
        if a > b:
            out.append((int(after["iteration"]), (a - b) / abs(b)))
    return out


def main(a_path, b_path):
    a, b = read(a_path), read(b_path)
    for path, rows in ((a_path, a), (b_path, b)):
        accuracy = [float(r["test_accuracy"]) for r in rows]
        best = max(range(len(rows)), key=lambda i: accuracy[i])
        up = rises(rows)
        largest = max((r for _, r in up), default=0.0)
        print(f"{path}: {len(rows)} iterations, best test accuracy {accuracy[best]:.4f} "
              f"(it. {rows[best]['iteration']}), last {accuracy[-1]:.4f}; objective rose at "
              f"{len(up)} iterations, at most {largest:.2e} of itself"
              + (f" (first at {up[0][0]})" if up else ""))
    pairs = list(zip(a, b))
    gaps = [abs(float(x["test_accuracy"]) - float(y["test_accuracy"])) for x, y in pairs]
    worst = max(range(len(gaps)), key=lambda i: gaps[i])
    print(f"largest test accuracy difference at one iteration: {gaps[worst]:.4f} "
          f"(it. {pairs[worst][0]['iteration']}); last: "
          f"{float(b[-1]['test_accuracy']) - float(a[-1]['test_accuracy']):+.4f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
