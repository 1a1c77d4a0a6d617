#!/usr/bin/env python3
"""The scaling model of docs/PERFORMANCE.md "Data-parallel runs over MPI".

Time per iteration on P processes (one core each) holding N / P samples each:

    T(P, N) = compute(N / P) + sum over the large reductions of ring(m, P)
              + calls_small * tree(P)

- compute(n): the measured time of one iteration's updates of one process on one thread holding
  n samples (bench/mpi_scaling.sh, slice-N.csv), interpolated linearly between the measured
  sizes and extrapolated by the per-sample time of the largest one.
- The large reductions: the W gradient of every layer twice per iteration (the backward and the
  forward update of W_l, ALGORITHM.md §2), n_l x n_{l-1} floats each, and the b sums, n_l
  doubles, twice per layer. A ring allreduce of m bytes: ring(m, P) = 2 (P - 1) / P * m / B
  + 2 (P - 1) * alpha.
- The small reductions (backtracking norms, FISTA's stopping sums, the figures, the stop flag):
  calls_small per iteration (measured by bench/mpi_traffic.cpp, less the large ones), each a
  recursive-doubling allreduce of a few doubles: tree(P) = ceil(log2 P) * alpha.
- Networks: 10 Gbit/s Ethernet (B = 1.25 GB/s, alpha = 25 us with TCP) and 100 Gbit/s
  InfiniBand (B = 12.5 GB/s, alpha = 2 us). Both are assumptions, stated as such.

usage: bench/mpi_model.py OUT_DIR CALLS_PER_ITERATION [SIZES [N P MEASURED INSIDE]]
  OUT_DIR holds bench/mpi_scaling.sh's slice-N.csv files; SIZES is the network (784,1000,1000,10).
  With N P MEASURED INSIDE (a run measured here: N samples on P processes of one thread took
  MEASURED s per iteration, INSIDE of them in MPI_Allreduce), prints the model's compute time
  for it plus the measured communication, against the measured time.
"""
import csv
import glob
import math
import os
import statistics
import sys

out = sys.argv[1]
calls = float(sys.argv[2])
sizes = [int(s) for s in (sys.argv[3] if len(sys.argv) > 3 else "784,1000,1000,10").split(",")]
check = [float(v) for v in sys.argv[4:8]] if len(sys.argv) >= 8 else None

measured = {}
for path in glob.glob(os.path.join(out, "slice-*.csv")):
    n = int(os.path.basename(path)[6:-4])
    rows = [float(r["time_s"]) for r in csv.DictReader(open(path))][1:]
    measured[n] = statistics.median(rows)
points = sorted(measured.items())


def compute(n):
    """Seconds of one iteration's updates for one process holding n samples, one thread."""
    if n <= points[0][0]:
        return points[0][1] * n / points[0][0] if n < points[0][0] else points[0][1]
    for (n0, t0), (n1, t1) in zip(points, points[1:]):
        if n <= n1:
            return t0 + (t1 - t0) * (n - n0) / (n1 - n0)
    n1, t1 = points[-1]
    return t1 * n / n1


large = []  # bytes of each large reduction per iteration
for fan_in, fan_out in zip(sizes, sizes[1:]):
    large += [4 * fan_in * fan_out] * 2 + [8 * fan_out] * 2
small = max(0.0, calls - len(large))
networks = {"10 Gbit/s": (1.25e9, 25e-6), "100 Gbit/s": (12.5e9, 2e-6)}


def communication(p, bandwidth, alpha):
    if p == 1:
        return 0.0
    ring = sum(2 * (p - 1) / p * m / bandwidth + 2 * (p - 1) * alpha for m in large)
    return ring + small * math.ceil(math.log2(p)) * alpha


print(f"network {'-'.join(map(str, sizes))}: {sum(large) / 1e6:.2f} MB in {len(large)} large "
      f"reductions and {small:.0f} small ones per iteration")
print("measured compute per iteration (1 thread): " +
      ", ".join(f"N={n}: {t:.4f} s" for n, t in points))
print()
print(f"{'samples':>9} {'P':>4} {'N/P':>8} {'compute s':>10} "
      + " ".join(f"{name + ' comm s':>16} {name + ' total s':>17}" for name in networks)
      + "  speed-up vs P=1 (10G, 100G)")
for total in (60000, 6000000):
    for p in (1, 8, 64, 512):
        c = compute(total / p)
        row = f"{total:>9} {p:>4} {total / p:>8.0f} {c:>10.4f} "
        speedups = []
        for bandwidth, alpha in networks.values():
            comm = communication(p, bandwidth, alpha)
            row += f"{comm:>16.4f} {c + comm:>17.4f} "
            speedups.append(compute(total) / (c + comm))
        print(row + " (" + ", ".join(f"{s:.1f}" for s in speedups) + ")" +
              ("  comm > compute" if communication(p, *networks["10 Gbit/s"]) > c else ""))

print()
for total in (60000, 6000000):
    for name, (bandwidth, alpha) in networks.items():
        p = 1
        while p <= 1 << 20 and communication(p, bandwidth, alpha) <= compute(total / p):
            p *= 2
        print(f"{total} samples, {name}: communication exceeds compute from P = {p} "
              f"({total / p:.0f} samples per process)")
if check:
    n, p, measured, inside = check
    predicted = compute(n / p) + inside
    print(f"\ncheck: N = {n:.0f} on P = {p:.0f}: compute({n / p:.0f}) = {compute(n / p):.3f} s + "
          f"{inside:.3f} s in MPI_Allreduce = {predicted:.3f} s predicted, {measured:.3f} s "
          f"measured ({(predicted / measured - 1) * 100:+.1f} %)")

