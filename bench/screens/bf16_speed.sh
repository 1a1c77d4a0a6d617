#!/usr/bin/env bash
# Seconds per iteration with float and with bf16 products (docs/PERFORMANCE.md, "bf16
# products"), one after the other in one run on a quiet machine: dladmm_train on the first
# 10,000 Fashion-MNIST images, 784-1000-1000-10, 20 iterations each, in float, in bf16, and in
# bf16 with oneDNN held to AVX-512 BF16 (no AMX; ONEDNN_MAX_CPU_ISA); then dladmm_bench's
# iteration against the bf16 product timed in the same process (the efficiency), and the
# kernels oneDNN picked (ONEDNN_VERBOSE=1, one iteration on 2,000 images).
# usage: bf16_speed.sh DLADMM_TRAIN DLADMM_BENCH OUT_DIR [THREADS]   (a build with oneDNN)
set -euo pipefail
train=$1 bench=$2 out=$3 threads=${4:-2}
mkdir -p "$out"
export OMP_NUM_THREADS=$threads
run() {  # NAME ARGS...: one dladmm_train run of 20 iterations on 10,000 images
  local name=$1
  shift
  "$train" --train-limit 10000 --iterations 20 --threads "$threads" --quiet \
    --history "$out/$name.csv" "$@"
}
run float
run bf16 --product-precision bf16
ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 run bf16_avx512 --product-precision bf16
/usr/bin/python3 "$(dirname "$0")/summarize.py" "$out"/float.csv "$out"/bf16.csv \
  "$out"/bf16_avx512.csv
"$bench" --benchmark_filter="^BM_(Iteration<float>/quadratic(_bf16)?|Gemm<float>|ProductBf16<float>)/width:1000/samples:10000/" \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_out_format=json --benchmark_out="$out/bench-$threads.json" | grep median
ONEDNN_VERBOSE=1 "$train" --train-limit 2000 --test-limit 500 --iterations 1 \
  --threads "$threads" --product-precision bf16 --quiet |
  awk -F, '$2 == "exec" {print $5, $(NF - 1)}' | sort | uniq -c |
  tee "$out/kernels.txt"
