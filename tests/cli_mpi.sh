#!/usr/bin/env bash
# dladmm_train under mpirun with NP processes, against the one-process run:
# - with --deterministic, the history equals the one-process history bit for bit (every column
#   but time_s); without mpirun the option is refused;
# - the history equals the one-process run's within the rounding of the reductions (float sums
#   grouped otherwise: relative 1e-3, or 1e-6 absolute for figures near zero, on 15 iterations);
# - a checkpoint saved after 5 iterations and resumed with NP processes gives the history of the
#   uninterrupted NP-process run exactly (every column but time_s), and only the parts the
#   manifest names are left;
# - resuming with another process count, or a one-process checkpoint, is refused with exit 2;
# - a NaN in the last process's slice of a CSV file, a missing file and a graph (NP > 1) end
#   every process with exit 2 and one line on stderr, never a hang (each mpirun runs under a
#   timeout); so do a missing checkpoint part and a process that cannot allocate (ulimit -v;
#   not under AddressSanitizer); a numerical failure ends every process with exit 3 and one
#   line;
# - SIGINT to mpirun stops every process after the same iteration, with a committed checkpoint
#   from which the run resumes to the uninterrupted run's history (mpirun sends the processes
#   SIGTERM odls_base_sigkill_timeout seconds after its SIGINT, and SIGKILL as long again later).
# usage: cli_mpi.sh PROGRAM MPIEXEC NP WORK_DIR
set -euo pipefail
program=$1
mpiexec=$2
np=$3
source "$(dirname "$0")/cli_common.sh"
enter_work_dir "$4"
mpi() { timeout 120 "$mpiexec" --allow-run-as-root --oversubscribe -np "$@"; }

common=(--data synthetic --train-limit 301 --test-limit 101 --hidden 16,12 --quiet --threads 1)

echo "== $np processes match one process within rounding"
"$program" "${common[@]}" --iterations 15 --history serial.csv
mpi "$np" "$program" "${common[@]}" --iterations 15 --history split.csv
[[ $(wc -l <split.csv) -eq 16 ]] || fail "split.csv should have 15 rows"
head -1 serial.csv | cmp -s - <(head -1 split.csv) || fail "the columns differ"
awk -F, 'NR == FNR { for (i = 1; i <= NF; ++i) a[FNR, i] = $i; next }
  FNR > 1 { for (i = 1; i <= NF; ++i) { if (i == 2) continue;  # time_s
    d = a[FNR, i] - $i; if (d < 0) d = -d; s = a[FNR, i]; if (s < 0) s = -s;
    if (d > 1e-3 * s && d > 1e-6) { print "row " FNR " column " i ": " a[FNR, i] " vs " $i; bad = 1 } } }
  END { exit bad }' serial.csv split.csv || fail "the split history is not the serial one"

echo "== --deterministic: $np processes give one process's history bit for bit"
det=(--data synthetic --train-limit 1000 --test-limit 600 --hidden 16,12 --quiet --threads 1
  --deterministic --iterations 8)
mpi 1 "$program" "${det[@]}" --history det_one.csv
mpi "$np" "$program" "${det[@]}" --history det_split.csv
same_history det_one.csv det_split.csv

echo "== save after 5 and resume to 12 with $np processes: the uninterrupted history exactly"
mpi "$np" "$program" "${common[@]}" --iterations 12 --history whole.csv
mpi "$np" "$program" "${common[@]}" --iterations 5 --checkpoint-every 2 --checkpoint run.ckpt \
  --history part.csv
mpi "$np" "$program" "${common[@]}" --iterations 12 --checkpoint run.ckpt --history part.csv \
  --resume run.ckpt
same_history whole.csv part.csv
if [[ $np -gt 1 ]]; then
  grep -q "^iteration 12$" run.ckpt || fail "the manifest is not at iteration 12"
  parts=$(ls run.ckpt.it* | wc -l)
  [[ $parts -eq $np ]] || fail "$parts part files left, expected $np: $(ls run.ckpt*)"
fi

expect_refusal() {  # expect_refusal PATTERN NP ARGS...: dladmm_train on NP processes exits 2
  local pattern=$1 processes=$2
  shift 2
  expect_exit 2 "$pattern" mpi "$processes" "$program" "$@"
}

other=$((np == 3 ? 2 : 3))
if [[ $np -gt 1 ]]; then
  echo "== resuming with a part missing is refused by the process that misses it"
  mv "run.ckpt.it12.part$((np - 1))of$np" aside
  expect_refusal "process $((np - 1)) of $np: .*run.ckpt.it12.part$((np - 1))of$np: cannot open" \
    "$np" "${common[@]}" --iterations 20 --resume run.ckpt
  mv aside "run.ckpt.it12.part$((np - 1))of$np"

  echo "== resuming with another process count is refused"
  expect_refusal "written by $np processes, but this run has $other" "$other" "${common[@]}" \
    --iterations 20 --checkpoint run.ckpt --resume run.ckpt
  "$program" "${common[@]}" --iterations 3 --checkpoint one.ckpt
  expect_refusal "a checkpoint of a one-process run" "$np" "${common[@]}" --iterations 20 \
    --resume one.ckpt
fi

if [[ $np -eq 1 ]]; then
  echo "== --deterministic without mpirun is refused"
  expect_exit 2 "^dladmm_train: --deterministic: run under mpirun" "$program" "${det[@]}"
fi

echo "== a bad row in the last slice, a missing file: one line, exit 2, every process ends"
for ((i = 1; i <= 60; ++i)); do echo "0.$i,0.5,$((i % 3))"; done >good.csv
sed '55s/^0\.55/nan/' good.csv >bad.csv
last=$((np - 1))
expect_refusal "$( ((np > 1)) && echo "process $last of $np: ")read_csv: bad.csv: line 55, column 1: non-finite value 'nan'" \
  "$np" --data csv --train bad.csv --iterations 2 --quiet
expect_refusal "read_csv: missing.csv: cannot open" "$np" --data csv --train missing.csv --quiet
if [[ $np -gt 1 ]]; then
  expect_refusal "graphs are not split over processes" "$np" --data cora --iterations 2
fi

if [[ $np -gt 1 && -z ${ASAN_OPTIONS:-} ]]; then  # AddressSanitizer cannot run under ulimit -v
  echo "== the last process fails to allocate: every process ends with exit 2, one message"
  expect_exit 2 "^dladmm_train: process $((np - 1)) of $np: out of memory" \
    timeout 120 "$mpiexec" --allow-run-as-root --oversubscribe -np "$np" bash -c \
    "[[ \$OMPI_COMM_WORLD_RANK -eq $((np - 1)) ]] && ulimit -v 1000000; exec $program \
     --data synthetic --train-limit 20000 --hidden 3000,3000 --iterations 2 --quiet --threads 1"
fi

echo "== a numerical failure: every process exits 3, one message"
expect_exit 3 "numerical failure .* in iteration 3" mpi "$np" "$program" --data synthetic \
  --hidden 4 --iterations 10 --rho 1e-3 --rho-schedule step:2:1e36 --quiet --threads 1

echo "== SIGINT to mpirun: every process stops after the same iteration, and the run resumes"
big=(--data synthetic --train-limit 4000 --test-limit 100 --hidden 64,64 --quiet --threads 1)
set +e
"$mpiexec" --allow-run-as-root --oversubscribe --mca odls_base_sigkill_timeout 2 -np "$np" \
  "$program" "${big[@]}" --iterations 100000 --checkpoint big.ckpt --history big_part.csv \
  2>sig.txt >/dev/null &
runner=$!
for ((i = 0; i < 600; ++i)); do  # until a few iterations are done
  [[ -f big_part.csv && $(wc -l <big_part.csv) -ge 4 ]] && break
  sleep 0.1
done
kill -INT $runner
wait $runner
set -e
grep -q "stopped by SIG.* after iteration" sig.txt || fail "no stop message: $(cat sig.txt)"
[[ $(grep -c "^dladmm_train" sig.txt) -eq 1 ]] || fail "not one message: $(cat sig.txt)"
stopped=$(sed -n 's/.*after iteration \([0-9]*\).*/\1/p' sig.txt | head -1)
[[ $(wc -l <big_part.csv) -eq $((stopped + 1)) ]] || fail "the history does not end at $stopped"
if [[ $np -gt 1 ]]; then
  grep -q "^iteration $stopped$" big.ckpt || fail "the manifest is not at iteration $stopped"
fi
target=$((stopped + 5))
mpi "$np" "$program" "${big[@]}" --iterations $target --history big_whole.csv
mpi "$np" "$program" "${big[@]}" --iterations $target --checkpoint big.ckpt \
  --history big_part.csv --resume big.ckpt
same_history big_whole.csv big_part.csv
echo "all passed"
