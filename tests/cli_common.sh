# Shared by the dladmm_train scripts (cli_resume.sh, cli_mpi.sh): sourced after `set -euo
# pipefail`. enter_work_dir DIR empties DIR and enters it; fail prints and exits 1; figures
# prints a history CSV without its time_s column; same_history fails unless two histories have
# the same figures.
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
