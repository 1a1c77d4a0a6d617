#!/usr/bin/env bash
# dladmm_train checkpoints across processes: a run saved after K iterations and resumed in a
# new process writes the same history (all columns but time_s) and the same final checkpoint
# as one uninterrupted run; SIGINT and SIGTERM stop after the current iteration, save the
# checkpoint and model, print how to resume and exit 128 + signal; bad resumes exit 2 with one line and change nothing.
# usage: cli_resume.sh PROGRAM WORK_DIR
set -euo pipefail
program=$1
source "$(dirname "$0")/cli_common.sh"
enter_work_dir "$2"

common=(--data synthetic --train-limit 300 --test-limit 100 --hidden 16,12 --quiet)

echo "== save after 5, resume to 12 in a new process"
"$program" "${common[@]}" --iterations 12 --history whole.csv
"$program" "${common[@]}" --iterations 5 --checkpoint run.ckpt --history part.csv
[[ $(wc -l <part.csv) -eq 6 ]] || fail "part.csv should have 5 rows"
"$program" "${common[@]}" --iterations 12 --checkpoint run.ckpt --history part.csv \
  --resume run.ckpt
same_history whole.csv part.csv
[[ $(wc -l <part.csv) -eq 13 ]] || fail "resumed history should have 12 rows"

echo "== --preset fast: the same seed gives the same run; saved and resumed, it goes on alike"
"$program" "${common[@]}" --preset fast --iterations 8 --history fast-a.csv
"$program" "${common[@]}" --preset fast --iterations 8 --history fast-b.csv
same_history fast-a.csv fast-b.csv
"$program" "${common[@]}" --preset fast --iterations 8 --seed 14 --history fast-c.csv
differ() { ! diff -q <(figures "$1") <(figures "$2") >/dev/null; }
differ fast-a.csv fast-c.csv || fail "another seed gave the same run"
# resumes_alike WHOLE NAME ARGS...: a run of ARGS saved after 4 iterations and resumed to 8 in a
# new process writes the history WHOLE of the uninterrupted run (NAME.ckpt, NAME-part.csv).
resumes_alike() {
  local whole=$1 name=$2
  shift 2
  "$program" "$@" --iterations 4 --checkpoint "$name.ckpt" --history "$name-part.csv"
  "$program" "$@" --iterations 8 --checkpoint "$name.ckpt" --history "$name-part.csv" \
    --resume "$name.ckpt"
  same_history "$whole" "$name-part.csv"
}
resumes_alike fast-a.csv fast "${common[@]}" --preset fast
"$program" "${common[@]}" --iterations 8 --history paper.csv
differ fast-a.csv paper.csv || fail "--preset fast ran the paper's sweep"
expect_exit 2 "saved with another sweep" "$program" "${common[@]}" --iterations 8 \
  --checkpoint fast.ckpt --resume fast.ckpt

echo "== --product-precision bf16: saved and resumed, it goes on alike (where bf16 can run)"
wide=(--data synthetic --train-limit 300 --test-limit 100 --hidden 96,64 --quiet)
# Skipped only where the program refuses bf16 for this build or processor; any other failure
# of the trial run fails the test.
if ! refusal=$("$program" "${wide[@]}" --iterations 1 --product-precision bf16 2>&1 >/dev/null) &&
  [[ $refusal == *"--product-precision bf16: this "* ]]; then
  echo "(skipped: $refusal)"
else
  [[ -z $refusal ]] || fail "the bf16 trial run failed: $refusal"
  "$program" "${wide[@]}" --product-precision bf16 --iterations 8 --history bf16-a.csv
  resumes_alike bf16-a.csv bf16 "${wide[@]}" --product-precision bf16
  "$program" "${wide[@]}" --iterations 8 --history scalar.csv
  differ bf16-a.csv scalar.csv || fail "--product-precision bf16 gave the float run"
  expect_exit 2 "saved with another product_precision" "$program" "${wide[@]}" --iterations 8 \
    --checkpoint bf16.ckpt --resume bf16.ckpt
fi

echo "== --checkpoint-every saves while running"
"$program" "${common[@]}" --iterations 7 --checkpoint-every 3 --checkpoint every.ckpt \
  --history every.csv
[[ -s every.ckpt ]] || fail "no checkpoint written"

echo "== bad resumes exit 2 with one line and leave the checkpoint as it was"
cp run.ckpt before.ckpt
expect_refusal() {
  local pattern=$1
  shift
  expect_exit 2 "$pattern" "$program" "$@"
  [[ $(wc -l <err.txt) -eq 1 ]] || fail "stderr is not one line: $(cat err.txt)"
  cmp -s run.ckpt before.ckpt || fail "run.ckpt changed"
}
expect_refusal "network 20-16-12-5" "${common[@]}" --hidden 16,10 --iterations 20 \
  --checkpoint run.ckpt --resume run.ckpt
expect_refusal "saved with another rho" "${common[@]}" --rho 1e-5 --iterations 20 \
  --checkpoint run.ckpt --resume run.ckpt
expect_refusal "different training data" "${common[@]}" --seed 99 --iterations 20 \
  --checkpoint run.ckpt --resume run.ckpt
expect_refusal "already at iteration 12" "${common[@]}" --iterations 12 --resume run.ckpt
expect_refusal "holds float values" "${common[@]}" --scalar double --iterations 20 \
  --resume run.ckpt
expect_refusal "none.ckpt: cannot open" "${common[@]}" --iterations 20 --resume none.ckpt
head -c 1000 run.ckpt >cut.ckpt
expect_refusal "cut.ckpt: truncated" "${common[@]}" --iterations 20 --resume cut.ckpt
expect_refusal "needs --checkpoint" "${common[@]}" --checkpoint-every 2

for signal in INT TERM; do
  echo "== SIG$signal stops after the current iteration, saves and says how to resume"
  long=(--data synthetic --train-limit 4000 --test-limit 100 --hidden 64,64 --quiet)
  rm -f sig.ckpt sig.csv sig.model
  "$program" "${long[@]}" --iterations 100000 --checkpoint sig.ckpt --history sig.csv \
    --save-model sig.model 2>sig_err.txt &
  pid=$!
  for _ in $(seq 600); do
    [[ -s sig.csv ]] && break
    sleep 0.1
  done
  [[ -s sig.csv ]] || fail "no history after 60 s"
  kill -"$signal" "$pid"
  set +e
  wait "$pid"
  code=$?
  set -e
  [[ $signal == INT ]] && expected=130 || expected=143
  [[ $code -eq $expected ]] || fail "exit $code after SIG$signal, expected $expected"
  grep -q "stopped by SIG$signal after iteration [0-9]*, model saved in sig.model; resume with: dladmm_train .* --resume sig.ckpt" \
    sig_err.txt || fail "message: $(cat sig_err.txt)"
  [[ $(head -c 8 sig.model) == DLADMMMD ]] || fail "sig.model is not a model file"
  done_iterations=$(($(wc -l <sig.csv) - 1))
  [[ $done_iterations -ge 1 ]] || fail "no iteration recorded"
  target=$((done_iterations + 2))
  "$program" "${long[@]}" --iterations "$target" --checkpoint sig.ckpt --history sig.csv \
    --resume sig.ckpt
  "$program" "${long[@]}" --iterations "$target" --history sig_whole.csv
  same_history sig_whole.csv sig.csv
done
echo "all checkpoint command-line checks passed"
