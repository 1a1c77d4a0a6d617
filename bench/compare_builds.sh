#!/usr/bin/env bash
# Times two builds of dladmm_bench side by side: ROUNDS rounds, each running BEFORE then AFTER
# once on the benchmarks matching FILTER (OMP_NUM_THREADS as set by the caller), so that the
# machine's drift falls on both alike. Writes OUT/{before,after}-ROUND.json and prints, per
# benchmark, the median real time of each build and their ratio (after / before).
# usage: bench/compare_builds.sh BEFORE_BENCH AFTER_BENCH FILTER ROUNDS OUT [BENCHMARK_ARGS...]
set -euo pipefail
before=$1 after=$2 filter=$3 rounds=$4 out=$5
shift 5
mkdir -p "$out"
for ((r = 1; r <= rounds; ++r)); do
  for side in before after; do
    bin=$before
    [[ $side == after ]] && bin=$after
    "$bin" --benchmark_filter="$filter" --benchmark_out_format=json \
      --benchmark_out="$out/$side-$r.json" "$@" >/dev/null
  done
done
/usr/bin/python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
times = {}
for side in ("before", "after"):
    for r in range(1, rounds + 1):
        for b in json.load(open(f"{out}/{side}-{r}.json"))["benchmarks"]:
            times.setdefault(b["name"], {}).setdefault(side, []).append(b["real_time"])
print(f"{'benchmark':70s} {'before':>10s} {'after':>10s} {'ratio':>7s}")
for name, t in times.items():
    b, a = statistics.median(t["before"]), statistics.median(t["after"])
    print(f"{name:70s} {b:10.1f} {a:10.1f} {a / b:7.3f}")
PY
