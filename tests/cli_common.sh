# Shared by the dladmm_train scripts (cli_resume.sh, cli_mpi.sh): sourced after `set -euo
# pipefail`. enter_work_dir DIR empties DIR and enters it; fail prints and exits 1; figures
# prints a history CSV without its time_s column; same_history fails unless two histories have
# the same figures; expect_exit CODE PATTERN COMMAND... fails unless COMMAND exits CODE with
# exactly one stderr line from dladmm_train, matching PATTERN (mpirun may add its own lines).
enter_work_dir() {
  rm -rf "$1"
  mkdir -p "$1"
  cd "$1"
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
figures() { cut -d, -f1,3- "$1"; }
same_history() {
  diff <(figures "$1") <(figures "$2") >/dev/null || {
    diff <(figures "$1") <(figures "$2") | head -5 >&2
    fail "$1 and $2 differ"
  }
}
expect_exit() {
  local want=$1 pattern=$2
  shift 2
  set +e
  "$@" 2>err.txt >/dev/null
  local code=$?
  set -e
  [[ $code -eq $want ]] || fail "exit $code for $*, expected $want: $(cat err.txt)"
  local lines
  lines=$(grep -c "^dladmm_train" err.txt)
  [[ $lines -eq 1 ]] || fail "$lines lines from dladmm_train, expected 1: $(cat err.txt)"
  grep -q -- "$pattern" err.txt || fail "stderr '$(cat err.txt)' lacks '$pattern'"
}
