#!/usr/bin/env bash
# The presets on two data sets other than Fashion-MNIST (docs/RESULTS.md §5.4): the sklearn
# digits and wine sets that Debian's python3-sklearn ships, written as CSV by
# bench/datasets/sklearn_csv.py (fixed stratified 75/25 splits), each trained with
# --preset paper and --preset fast for ITERATIONS iterations, standardised, default network.
# usage: other_datasets.sh DLADMM_TRAIN OUT_DIR [ITERATIONS=200] [THREADS=2]
set -euo pipefail
program=$1 out=$2 iterations=${3:-200} threads=${4:-2}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
/usr/bin/python3 "$here/../datasets/sklearn_csv.py" "$out"
for name in digits wine; do
  for preset in paper fast; do
    OMP_NUM_THREADS=$threads "$program" --data csv --train "$out/${name}_train.csv" \
      --test "$out/${name}_test.csv" --standardize --iterations "$iterations" \
      --threads "$threads" --preset "$preset" --quiet --history "$out/${name}_${preset}.csv"
  done
done
/usr/bin/python3 "$here/summarize.py" --thresholds 0.90,0.95 "$out"/{digits,wine}_{paper,fast}.csv
