#!/usr/bin/env bash
# Records the golden histories of tests/data/golden: seeded dladmm_train runs (float and double,
# quadratic and exact, both losses, both activations, three rho schedules, one run large enough
# for the parallel loops) with the time_s column cut out, and the platform they hold for.
# usage: scripts/record_goldens.sh BUILD_DIR   (a Release build with dladmm_train and
# tests/dladmm_platform). Record only from a build whose results are trusted: the test then
# holds every later change to these exact figures.
set -euo pipefail
build=$1
root=$(cd "$(dirname "$0")/.." && pwd)
golden=$root/tests/data/golden
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$golden"
while IFS='|' read -r name args; do
  [[ -z $name || $name == \#* ]] && continue
  # shellcheck disable=SC2086
  OMP_NUM_THREADS=1 "$build/examples/dladmm_train" $args --quiet --history "$scratch/h.csv"
  cut -d, -f2 --complement "$scratch/h.csv" >"$golden/$name.csv"
  echo "recorded $name"
done <"$golden/RUNS"
"$build/tests/dladmm_platform" >"$golden/PLATFORM"
