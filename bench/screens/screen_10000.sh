#!/usr/bin/env bash
# The screen of docs/RESULTS.md §5: each variant of ALGORITHM.md §10 on the first 10,000
# Fashion-MNIST training images, 784-1000-1000-10, the full test set, one after another (run
# nothing else meanwhile: the table compares seconds), then the summary table.
# usage: screen_10000.sh DLADMM_TRAIN OUT_DIR [ITERATIONS=60] [THREADS=2]
set -euo pipefail
program=$1 out=$2 iterations=${3:-60} threads=${4:-2}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
variants=(
  "paper|"
  "fast|--preset fast"
  "relaxation-1.6|--relaxation 1.6"
  "balanced|--rho-schedule balanced"
  "balanced-until-8|--rho-schedule balanced:2:8"
  "theta-tau-1e-3|--theta 1e-3 --tau 1e-3"
  "tau-1e-4|--preset fast --tau 1e-4"
  "nu-1e-5|--preset fast --nu 1e-5"
  "fast-standardized|--preset fast --standardize"
  "fast-rho-fixed|--preset fast --rho-schedule fixed"
)
for variant in "${variants[@]}"; do
  name=${variant%%|*} options=${variant#*|}
  # shellcheck disable=SC2086 # the options are words
  OMP_NUM_THREADS=$threads "$program" --train-limit 10000 --iterations "$iterations" \
    --threads "$threads" --quiet --history "$out/$name.csv" $options
done
/usr/bin/python3 "$here/summarize.py" "$out"/*.csv
