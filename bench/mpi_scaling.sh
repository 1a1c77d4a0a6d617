#!/usr/bin/env bash
# The figures of docs/PERFORMANCE.md "Data-parallel runs over MPI": dladmm_train on the first
# 20,000 Fashion-MNIST training images, 784-1000-1000-10, float, ITERATIONS iterations, run
# alternately ROUNDS times as
#   one   one process, 2 threads
#   two   mpirun -np 2, 1 thread each (with the traffic interposer bench/mpi_traffic.cpp)
# then, once each, one process on 1 thread at the slice sizes of the scaling model (the compute
# time per iteration of one process holding N samples). Prints the median time of an
# iteration's updates (the history's time_s, first iteration left out), the ratio two / one,
# the bytes and calls of MPI_Allreduce per iteration (from runs of ITERATIONS and 2 x
# ITERATIONS iterations) and the seconds in MPI_Allreduce per iteration.
# usage: bench/mpi_scaling.sh BUILD_DIR OUT_DIR [ROUNDS] [ITERATIONS] [SLICE_SIZES...]
set -euo pipefail
build=$1 out=$2
rounds=${3:-3} iterations=${4:-6}
shift $(($# < 4 ? $# : 4))
slices=("$@")
[[ ${#slices[@]} -gt 0 ]] || slices=(117 938 7500 11719 20000 60000)
program=$build/examples/dladmm_train
traffic=$build/bench/libdladmm_mpi_traffic.so
mkdir -p "$out"
common=(--train-limit 20000 --test-limit 1000 --hidden 1000,1000 --quiet --eval-every 1000)
mpi=(mpirun --allow-run-as-root --oversubscribe --bind-to core)

for ((r = 1; r <= rounds; ++r)); do
  OMP_NUM_THREADS=2 "$program" "${common[@]}" --threads 2 --iterations "$iterations" \
    --history "$out/one-$r.csv"
  rm -f "$out/traffic-$r.txt"
  "${mpi[@]}" -np 2 -x LD_PRELOAD="$traffic" -x DLADMM_MPI_TRAFFIC="$out/traffic-$r.txt" \
    "$program" "${common[@]}" --threads 1 --iterations "$iterations" --history "$out/two-$r.csv"
done
rm -f "$out/traffic-long.txt"
"${mpi[@]}" -np 2 -x LD_PRELOAD="$traffic" -x DLADMM_MPI_TRAFFIC="$out/traffic-long.txt" \
  "$program" "${common[@]}" --threads 1 --iterations $((2 * iterations)) \
  --history "$out/two-long.csv"
for n in "${slices[@]}"; do
  OMP_NUM_THREADS=1 "$program" --train-limit "$n" --test-limit 100 --hidden 1000,1000 --quiet \
    --eval-every 1000 --threads 1 --iterations "$iterations" --history "$out/slice-$n.csv"
done

/usr/bin/python3 - "$out" "$rounds" "$iterations" "${slices[@]}" <<'PY'
import csv, re, statistics, sys
out, rounds, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
slices = [int(n) for n in sys.argv[4:]]

def times(path):  # time_s of every iteration but the first
    return [float(row["time_s"]) for row in csv.DictReader(open(path))][1:]

def traffic(path):  # per process: calls, bytes, seconds
    rows = [re.match(r"rank (\d+) of \d+: (\d+) allreduce calls, (\d+) bytes, ([\d.]+) seconds", l)
            for l in open(path)]
    return [(int(m[2]), int(m[3]), float(m[4])) for m in rows if m]

one = statistics.median(t for r in range(1, rounds + 1) for t in times(f"{out}/one-{r}.csv"))
two = statistics.median(t for r in range(1, rounds + 1) for t in times(f"{out}/two-{r}.csv"))
print(f"1 process x 2 threads: {one:.3f} s per iteration (median)")
print(f"2 processes x 1 thread: {two:.3f} s per iteration (median); ratio {two / one:.3f}")
short = traffic(f"{out}/traffic-1.txt")[0]
long = traffic(f"{out}/traffic-long.txt")[0]
calls = (long[0] - short[0]) / iterations
volume = (long[1] - short[1]) / iterations
seconds = statistics.median(
    (traffic(f"{out}/traffic-{r}.txt")[0][2]) / iterations for r in range(1, rounds + 1))
print(f"MPI_Allreduce per iteration and process: {calls:.1f} calls, {volume / 1e6:.3f} MB "
      f"reduced, {seconds:.3f} s inside (all iterations, evaluation included)")
for n in slices:
    t = statistics.median(times(f"{out}/slice-{n}.csv"))
    print(f"1 process x 1 thread, N = {n}: {t:.4f} s per iteration, {t / n * 1e6:.2f} us per sample")
PY
