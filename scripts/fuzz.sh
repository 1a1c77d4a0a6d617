#!/usr/bin/env bash
# Runs every libFuzzer target for SECONDS each over a scratch copy of its seed corpus
# (fuzz/corpus/<name>) and fails on any finding (crash, sanitizer report, leak, timeout or
# out-of-memory). Prints executions per target. usage: scripts/fuzz.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=$1
seconds=${2:-60}
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for name in idx csv checkpoint; do
  mkdir -p "$scratch/$name" "$scratch/artifacts_$name"
  cp "$root/fuzz/corpus/$name/"* "$scratch/$name/"
  log="$scratch/$name.log"
  if "$build/fuzz/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$scratch/artifacts_$name/" "$scratch/$name" \
    >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    echo "fuzz_$name: ${runs} executions in ${seconds} s, no findings," \
      "corpus $(ls "$scratch/$name" | wc -l) inputs"
  else
    echo "fuzz_$name: FINDING" >&2
    tail -n 60 "$log" >&2
    ls "$scratch/artifacts_$name" >&2
    status=1
  fi
done
exit $status
