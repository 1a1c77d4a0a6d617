#!/usr/bin/python3
"""The peer for dlADMM's GCN: the 2-layer graph convolutional network of Kipf and Welling (ICLR
2017) trained by full-batch Adam in PyTorch, on a Planetoid citation graph (Cora, Citeseer) with
its public split, threads pinned.

The model and training are those of the paper and its reference code: S = D^-1/2 (A + I) D^-1/2
as a torch sparse tensor, row-normalised features, logits = S relu(S X W1) W2 with dropout
(default 0.5) on the input features and on the hidden layer, hidden width 16, Glorot-uniform
weights and no biases (--bias adds zero-initialised ones), cross-entropy over the training nodes
plus weight decay (default 5e-4) on W1 only, Adam (lr 0.01), 200 epochs. The model reported is
the one of the epoch with the best validation accuracy (the first such epoch).

The data folder holds features.mtx, adjacency.mtx, labels.txt, train.txt, val.txt and test.txt
(the layout of the planetoid data sets; see their README), each either plain or gzip-compressed
(NAME.gz).

With --history, writes a CSV with one row per epoch in the columns of dladmm_train's history,
plus val_accuracy: iteration (the epoch), time_s (wall time of the training step alone: the
forward pass with dropout, backward and Adam step, without evaluation), objective (the loss that
step minimised: cross-entropy with dropout plus (weight_decay / 2) ||W1||^2), primal_residual and
rho (empty: Adam has none), then train_loss, train_accuracy, test_loss, test_accuracy and
val_accuracy of the model after the step, without dropout. Optional, never run in CI; needs
Debian's python3-torch, python3-numpy and python3-scipy and an optimised BLAS
(libopenblas0-pthread), run with /usr/bin/python3.

OpenBLAS picks its kernels from the CPU it detects, unless OPENBLAS_CORETYPE names them (Haswell
is safe on any AVX2 machine; see torch_mlp.py). The script prints the core OpenBLAS uses. It sets
OPENBLAS_NUM_THREADS and OMP_NUM_THREADS to --threads before numpy, scipy or torch load OpenBLAS
(it reads them once, when loaded; torch.set_num_threads does not reach its thread pool).

usage: torch_gcn.py --data-dir data/planetoid/cora --threads 2 --seed 0 --history cora.csv
"""
import argparse
import gzip
import os
import statistics
import sys
import time

from peer_files import find, openblas_core

FOLDER = "/work/shared/datasets/planetoid/cora"
PROGRAM = "torch_gcn.py"


def open_text(path):
    return gzip.open(path, "rt") if path.endswith(".gz") else open(path)


def read_market(path):
    """A Matrix Market coordinate file (real, integer or pattern; general or symmetric) as a
    scipy CSR matrix of float32; a symmetric file's stored triangle is mirrored."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    import scipy.sparse as sp  # pylint: disable=import-outside-toplevel
    with open_text(path) as f:
        banner = f.readline().split()
        if len(banner) < 5 or banner[0] != "%%MatrixMarket" or banner[2] != "coordinate":
            sys.exit(f"{PROGRAM}: {path} is not a Matrix Market coordinate file")
        field, symmetry = banner[3], banner[4]
        line = f.readline()
        while line.startswith("%") or not line.strip():
            line = f.readline()
        rows, cols, count = (int(v) for v in line.split())
        data = np.loadtxt(f, ndmin=2)
    if len(data) != count:
        sys.exit(f"{PROGRAM}: {path} announces {count} entries and holds {len(data)}")
    i = data[:, 0].astype(np.int64) - 1
    j = data[:, 1].astype(np.int64) - 1
    v = np.ones(count) if field == "pattern" else data[:, 2]
    if symmetry == "symmetric":
        off = i != j
        i, j, v = np.concatenate([i, j[off]]), np.concatenate([j, i[off]]), np.concatenate([v, v[off]])
    elif symmetry != "general":
        sys.exit(f"{PROGRAM}: {path}: symmetry '{symmetry}' not supported")
    return sp.csr_matrix((v, (i, j)), shape=(rows, cols), dtype=np.float32)


def read_ints(path):
    import numpy as np  # pylint: disable=import-outside-toplevel
    with open_text(path) as f:
        return np.array([int(line) for line in f if line.strip()], dtype=np.int64)


def load(folder):
    """Row-normalised features and S as torch sparse tensors, labels and the three splits."""
    import numpy as np  # pylint: disable=import-outside-toplevel
    import scipy.sparse as sp  # pylint: disable=import-outside-toplevel
    import torch  # pylint: disable=import-outside-toplevel
    features = read_market(find(folder, "features.mtx", PROGRAM))
    adjacency = read_market(find(folder, "adjacency.mtx", PROGRAM))
    labels = read_ints(find(folder, "labels.txt", PROGRAM))
    splits = [read_ints(find(folder, name + ".txt", PROGRAM)) for name in ("train", "val", "test")]
    nodes = features.shape[0]
    if adjacency.shape != (nodes, nodes) or len(labels) != nodes:
        sys.exit(f"{PROGRAM}: {folder}: features, adjacency and labels disagree on the node count")
    for split in splits:
        if split.min() < 0 or split.max() >= nodes or (labels[split] < 0).any():
            sys.exit(f"{PROGRAM}: {folder}: a split names a node out of range or without a label")

    row_sums = np.asarray(features.sum(axis=1)).ravel()
    row_sums[row_sums == 0] = 1  # featureless nodes (15 in Citeseer) stay zero
    x = sp.diags(1 / row_sums) @ features

    adjacency.data[:] = 1  # a pattern: duplicates count once
    a = (adjacency + sp.eye(nodes, dtype=np.float32)).tocoo()
    d = 1 / np.sqrt(np.asarray(a.sum(axis=1)).ravel())
    s = (sp.diags(d) @ a @ sp.diags(d)).tocoo()
    s_torch = torch.sparse_coo_tensor(np.vstack([s.row, s.col]), s.data.astype(np.float32),
                                      s.shape).coalesce()
    x = x.tocoo()
    x_torch = torch.sparse_coo_tensor(np.vstack([x.row, x.col]), x.data.astype(np.float32),
                                      x.shape).coalesce()
    return (x_torch, s_torch, torch.tensor(labels), [torch.tensor(v) for v in splits],
            adjacency.nnz // 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=FOLDER)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dropout", type=float, default=0.5)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--bias", action="store_true", help="zero-initialised biases on both layers")
    parser.add_argument("--history", metavar="FILE", help="CSV with one row per epoch")
    parser.add_argument("--quiet", action="store_true", help="no line per epoch")
    args = parser.parse_args()

    # Before anything loads OpenBLAS (numpy does too): it reads these once, when loaded.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch  # pylint: disable=import-outside-toplevel

    print(f"{PROGRAM}: torch {torch.__version__}, OpenBLAS core {openblas_core()}, "
          f"OPENBLAS_CORETYPE {os.environ.get('OPENBLAS_CORETYPE', 'unset')}, "
          f"{args.threads} thread(s)", file=sys.stderr)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x, s, y, (train, val, test), edges = load(args.data_dir)
    classes = int(y.max()) + 1
    print(f"{PROGRAM}: {args.data_dir}: {x.shape[0]} nodes, {x.shape[1]} features, {edges} edges, "
          f"{classes} classes, {len(train)}/{len(val)}/{len(test)} train/val/test", file=sys.stderr)

    w1 = torch.empty(x.shape[1], args.hidden)
    w2 = torch.empty(args.hidden, classes)
    torch.nn.init.xavier_uniform_(w1)
    torch.nn.init.xavier_uniform_(w2)
    w1.requires_grad_()
    w2.requires_grad_()
    groups = [{"params": [w1], "weight_decay": args.weight_decay},
              {"params": [w2], "weight_decay": 0.0}]
    b1 = b2 = None
    if args.bias:
        b1 = torch.zeros(args.hidden, requires_grad=True)
        b2 = torch.zeros(classes, requires_grad=True)
        groups[1]["params"] += [b1, b2]
    # Adam's weight_decay adds wd * W1 to the gradient: the gradient of (wd / 2) ||W1||^2, the
    # reference code's 5e-4 * l2_loss(W1).
    optimizer = torch.optim.Adam(groups, lr=args.lr)
    dropout = torch.nn.functional.dropout
    cross_entropy = torch.nn.functional.cross_entropy

    # Dropout on the input acts on the features' nonzeros (the reference code's sparse_dropout):
    # the same model as dropout on the dense matrix, whose zeros it leaves zero, at a fraction
    # of the random numbers (torch draws one per entry: 4 million for Cora, 30 ms here).
    x_indices, x_values = x.indices(), x.values()

    def forward(training):
        xd = torch.sparse_coo_tensor(x_indices, dropout(x_values, args.dropout, training), x.shape)
        h = torch.sparse.mm(s, torch.sparse.mm(xd, w1))
        h = torch.relu(h if b1 is None else h + b1)
        out = torch.sparse.mm(s, dropout(h, args.dropout, training) @ w2)
        return out if b2 is None else out + b2

    out_file = open(args.history, "w") if args.history else None  # pylint: disable=consider-using-with
    if out_file:
        out_file.write("iteration,time_s,objective,primal_residual,rho,train_loss,train_accuracy,"
                       "test_loss,test_accuracy,val_accuracy\n")
    seconds, val_accuracy, test_accuracy = [], [], []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = cross_entropy(forward(True)[train], y[train])
        loss.backward()
        optimizer.step()
        seconds.append(time.perf_counter() - start)
        with torch.no_grad():
            objective = loss.item() + args.weight_decay / 2 * w1.detach().pow(2).sum().item()
            logits = forward(False)
            predicted = logits.argmax(1)
            measures = {}
            for name, nodes in (("train", train), ("val", val), ("test", test)):
                measures[name + "_loss"] = cross_entropy(logits[nodes], y[nodes]).item()
                measures[name] = (predicted[nodes] == y[nodes]).float().mean().item()
        val_accuracy.append(measures["val"])
        test_accuracy.append(measures["test"])
        if out_file:
            out_file.write(f"{epoch},{seconds[-1]:.9g},{objective:.9g},,,"
                           f"{measures['train_loss']:.9g},{measures['train']:.4f},"
                           f"{measures['test_loss']:.9g},{measures['test']:.4f},"
                           f"{measures['val']:.4f}\n")
            out_file.flush()
        if not args.quiet:
            print(f"epoch {epoch:4d}  {seconds[-1]:.4f} s  objective {objective:.4f}  "
                  f"train loss {measures['train_loss']:.4f} acc {measures['train']:.4f}  "
                  f"val acc {measures['val']:.4f}  test acc {measures['test']:.4f}")
    if out_file:
        out_file.close()

    best = max(range(args.epochs), key=lambda e: (val_accuracy[e], -e))  # first best epoch
    print(f"{PROGRAM}: {args.epochs} epochs, seed {args.seed}, {args.threads} thread(s)")
    print(f"best validation accuracy   {val_accuracy[best]:.4f} (epoch {best + 1})")
    print(f"test accuracy at best val  {test_accuracy[best]:.4f}")
    print(f"final test accuracy        {test_accuracy[-1]:.4f}")
    print(f"median seconds per epoch   {statistics.median(seconds):.6f}")
    print(f"time to best val           {sum(seconds[:best + 1]):.6f} s (training steps only)")
    print(f"total training time        {sum(seconds):.6f} s")


if __name__ == "__main__":
    main()
