#!/usr/bin/env bash
# Installs everything dladmm needs to build, test and run its main job on Debian 12 (as root),
# Open MPI included (dladmm_train then runs data-parallel under mpirun). With --tests, also
# clang and its runtime libraries, for the sanitizer build and the fuzzers, OpenBLAS, for the
# tests of products routed to it (DLADMM_USE_OPENBLAS), oneDNN, for the bf16 products
# (DLADMM_USE_ONEDNN), and pkg-config, for the test of the installed dladmm.pc.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(build-essential cmake libeigen3-dev catch2 libbenchmark-dev zlib1g-dev
  dataset-fashion-mnist gnuplot-nox libopenmpi-dev openmpi-bin)
if [[ ${1:-} == --tests ]]; then
  packages+=(clang libclang-rt-14-dev libopenblas-dev libdnnl-dev pkgconf)
elif [[ $# -gt 0 ]]; then
  echo "usage: install-deps.sh [--tests]" >&2
  exit 2
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
