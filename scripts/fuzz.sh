#!/usr/bin/env bash
# Runs the five libFuzzer targets (IDX, CSV, checkpoint, model file and Matrix Market /
# Planetoid readers) side by side for SECONDS each, over scratch copies of their seed corpora
# (fuzz/corpus/<name>), and fails on any finding: crash, sanitizer report, leak, timeout (10 s
# per input) or out-of-memory (2 GB). Prints the executions of each.
# usage: scripts/fuzz.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=$1
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
names=(idx csv checkpoint model planetoid)
pids=()
for name in "${names[@]}"; do
  mkdir -p "$scratch/$name" "$scratch/artifacts_$name"
  cp "$root/fuzz/corpus/$name/"* "$scratch/$name/"
  OMP_NUM_THREADS=1 "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$scratch/artifacts_$name/" \
    "$scratch/$name" >"$scratch/$name.log" 2>&1 &
  pids+=($!)
done
status=0
for i in "${!names[@]}"; do
  name=${names[$i]}
  if wait "${pids[$i]}"; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$name.log" | grep -o '[0-9]*$')
    echo "fuzz_$name: $runs executions in $seconds s, no findings," \
      "corpus $(ls "$scratch/$name" | wc -l) inputs"
  else
    echo "fuzz_$name: FINDING" >&2
    tail -n 60 "$scratch/$name.log" >&2
    ls "$scratch/artifacts_$name" >&2
    status=1
  fi
done
exit $status
