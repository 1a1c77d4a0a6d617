#!/usr/bin/python3
"""Writes the sklearn digits (1,797 8x8 images, 10 classes) and wine (178 samples, 13 features,
3 classes) data sets that Debian's python3-sklearn ships as CSV files dladmm_train reads
(--data csv, label in the last column): a fixed, stratified 75/25 train/test split of each,
shuffled with seed 0.

usage: sklearn_csv.py OUT_DIR   -> OUT_DIR/{digits,wine}_{train,test}.csv
"""
import os
import sys

import numpy as np
from sklearn.datasets import load_digits, load_wine
from sklearn.model_selection import train_test_split


def write(path, x, y):
    with open(path, "w") as f:
        for row, label in zip(x, y):
            f.write(",".join(f"{v:g}" for v in row) + f",{int(label)}\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, load in (("digits", load_digits), ("wine", load_wine)):
        data = load()
        x_train, x_test, y_train, y_test = train_test_split(
            data.data, data.target, test_size=0.25, random_state=0, stratify=data.target)
        write(os.path.join(out, f"{name}_train.csv"), x_train, y_train)
        write(os.path.join(out, f"{name}_test.csv"), x_test, y_test)
        print(f"{name}: {len(y_train)} train, {len(y_test)} test, {x_train.shape[1]} features, "
              f"{len(np.unique(data.target))} classes")


if __name__ == "__main__":
    main()
