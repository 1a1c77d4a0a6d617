#!/usr/bin/python3
"""The peer people would use instead of dlADMM: PyTorch, full-batch Adam (lr 1e-3), on the same
network (784-1000-1000-10, ReLU, cross-entropy) and the same Fashion-MNIST samples (the first N
training images, pixels / 255, as dladmm_train reads them), threads pinned.

Writes a CSV with one row per epoch: epoch, time_s (wall time of the forward, backward and Adam
step alone), train_loss, test_accuracy. Optional, never run in CI; needs Debian's
python3-torch, python3-numpy and an optimised BLAS (libopenblas0-pthread: without it Debian's
torch falls back to the reference BLAS, about 15x slower here), run with /usr/bin/python3.

OpenBLAS picks its kernels from the CPU it detects. OpenBLAS 0.3.21 (Debian 12) does not know
this machine's AMD Zen 5 and falls back to its generic "Prescott" kernels, 5x slower than its
AVX-512 ones: set OPENBLAS_CORETYPE=SkylakeX (or Haswell on AVX2 machines). The script prints
the core OpenBLAS uses. It sets OPENBLAS_NUM_THREADS to --threads, since torch.set_num_threads
does not reach OpenBLAS's own thread pool.

usage: torch_mlp.py --samples 10000 --epochs 150 --threads 1 --out torch.csv
"""
import argparse
import gzip
import os
import sys
import time

from peer_files import find, openblas_core

np = None  # numpy, imported by main() once OPENBLAS_NUM_THREADS is set (it loads OpenBLAS)

FOLDER = "/usr/share/datasets/fashion-mnist"


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(magic & 0xFF)]
    offset = 4 + 4 * len(dims)
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--hidden", default="1000,1000")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--data-dir", default=FOLDER)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)  # before OpenBLAS is loaded
    global np  # pylint: disable=global-statement
    import numpy  # pylint: disable=import-outside-toplevel
    np = numpy
    import torch  # pylint: disable=import-outside-toplevel

    print(f"torch_mlp.py: OpenBLAS core {openblas_core()}, "
          f"OPENBLAS_CORETYPE {os.environ.get('OPENBLAS_CORETYPE', 'unset')}", file=sys.stderr)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = read_idx(find(args.data_dir, "train-images-idx3-ubyte", "torch_mlp.py"))[: args.samples]
    y = read_idx(find(args.data_dir, "train-labels-idx1-ubyte", "torch_mlp.py"))[: args.samples]
    tx = read_idx(find(args.data_dir, "t10k-images-idx3-ubyte", "torch_mlp.py"))
    ty = read_idx(find(args.data_dir, "t10k-labels-idx1-ubyte", "torch_mlp.py"))
    x = torch.tensor(x.reshape(len(x), -1), dtype=torch.float32) / 255
    tx = torch.tensor(tx.reshape(len(tx), -1), dtype=torch.float32) / 255
    y = torch.tensor(y, dtype=torch.long)
    ty = torch.tensor(ty, dtype=torch.long)

    sizes = [x.shape[1]] + [int(w) for w in args.hidden.split(",")] + [10]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = torch.nn.CrossEntropyLoss()

    with open(args.out, "w") as out:
        out.write("epoch,time_s,train_loss,test_accuracy\n")
        for epoch in range(1, args.epochs + 1):
            start = time.perf_counter()
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            seconds = time.perf_counter() - start
            with torch.no_grad():
                accuracy = (model(tx).argmax(1) == ty).float().mean().item()
            out.write(f"{epoch},{seconds:.6f},{loss.item():.6f},{accuracy:.4f}\n")
            out.flush()
    print(f"torch_mlp.py: {args.epochs} epochs on {args.samples} samples, "
          f"{args.threads} thread(s): wrote {args.out}")


if __name__ == "__main__":
    main()
