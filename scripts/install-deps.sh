#!/usr/bin/env bash
# Installs everything dladmm needs to build, test and run its main job on Debian 12 (as root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake libeigen3-dev catch2 libbenchmark-dev zlib1g-dev \
  dataset-fashion-mnist gnuplot-nox >/dev/null
