#!/usr/bin/env bash
# Turns a dladmm_train history CSV into a PNG: the objective (augmented Lagrangian) and the
# primal residual on log scales, and the train, test (and validation, for graphs) accuracy, per
# iteration.
# Needs gnuplot (Debian: gnuplot-nox).
# usage: plot_history.sh HISTORY.csv OUTPUT.png [TITLE]
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 HISTORY.csv OUTPUT.png [TITLE]" >&2
  exit 2
fi
csv=$1 png=$2 title=${3:-$(basename "$1")}
title=${title//_/\\_}  # gnuplot's enhanced text would make "_x" a subscript
[ -r "$csv" ] || { echo "$0: cannot read $csv" >&2; exit 2; }
head -n1 "$csv" | grep -q '^iteration,time_s,objective,primal_residual,rho,train_loss,train_accuracy,test_loss,test_accuracy' ||
  { echo "$0: $csv is not a dladmm history CSV (unexpected header)" >&2; exit 2; }
# A graph run's history ends with val_loss,val_accuracy: plot the validation accuracy too.
val_column=$(head -n1 "$csv" | tr ',' '\n' | grep -n '^val_accuracy$' | cut -d: -f1 || true)
val_plot=${val_column:+", '' using 1:$val_column with lines lw 2 title 'validation'"}
command -v gnuplot >/dev/null || { echo "$0: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 2; }
gnuplot <<GNUPLOT
set datafile separator ','
set datafile missing ''
set terminal pngcairo size 1500,450 font ',10'
set output '$png'
set key autotitle columnhead
set multiplot layout 1,3 title '$title'
set xlabel 'iteration'
set grid
set logscale y
set format y '10^{%L}'
set title 'objective (augmented Lagrangian)'
plot '$csv' using 1:(\$3 > 0 ? \$3 : NaN) with lines lw 2 notitle
set title 'primal residual ||z_L - W_L a_{L-1} - b_L||^2'
plot '$csv' using 1:4 with lines lw 2 notitle
unset logscale y
set format y '%g'
set title 'accuracy'
set key bottom right
plot '$csv' using 1:7 with lines lw 2 title 'train', '' using 1:9 with lines lw 2 title 'test'$val_plot
unset multiplot
GNUPLOT
echo "wrote $png"
