#!/usr/bin/python3
"""The Anderson-acceleration screen of docs/RESULTS.md §5: type-II Anderson acceleration with
memory M of the whole dlADMM iteration map x -> G(x) over the state x = (W, b, z, a, u), with
the safeguard that takes the extrapolated point only if its augmented Lagrangian is below that
of the plain iterate G(x) (memory 0: plain dlADMM). The block steps are those of the numpy
oracle dladmm_oracle.py (imported from ORACLE_DIR), in double precision, on the first N
Fashion-MNIST training images, 784-256-256-10. rho is fixed at RHO if given, else the reference
rule runs (and the Anderson memory is cleared whenever rho changes: the map changed).
Prints one CSV row per iteration (the column `accepted` is 1 when the safeguard took the
extrapolated point) and the count of accepted steps on stderr.

usage: anderson_screen.py ORACLE_DIR N ITERATIONS M full|backward [RHO]
"""
import sys, time

import numpy as np

if len(sys.argv) < 6:
    sys.exit(__doc__)
sys.path.insert(0, sys.argv[1])
import dladmm_oracle as o  # noqa: E402

def load(limit):
    d = "/usr/share/datasets/fashion-mnist"
    Xtr = o.idx(f"{d}/train-images-idx3-ubyte.gz")[:limit].astype(np.float64) / 255; ytr = o.idx(f"{d}/train-labels-idx1-ubyte.gz")[:limit]
    Xte = o.idx(f"{d}/t10k-images-idx3-ubyte.gz").astype(np.float64) / 255; yte = o.idx(f"{d}/t10k-labels-idx1-ubyte.gz")
    return Xtr.T.copy(), ytr, Xte.T.copy(), yte

def sweep(S, X, Y, rho, theta, tau, backward_only):
    Ws, bs, zs, as_, u = [w.copy() for w in S[0]], [b.copy() for b in S[1]], [z.copy() for z in S[2]], [a.copy() if a is not None else None for a in S[3]], S[4].copy()
    L = len(Ws); nu = rho
    A = lambda l: X if l == 0 else as_[l - 1]
    l = L - 1
    zs[l] = o.fista(zs[l], Y, Ws[l] @ A(l) + bs[l] - u / rho, rho)
    bs[l] = (zs[l] - Ws[l] @ A(l) + u / rho).mean(1, keepdims=True)
    Ws[l] = o.step_W(Ws[l], A(l), zs[l] - bs[l] + u / rho, rho, theta)
    for l in range(L - 2, -1, -1):
        T = zs[l + 1] - bs[l + 1] + (u / rho if l + 1 == L - 1 else 0)
        as_[l] = o.step_a(as_[l], Ws[l + 1], T, rho, nu, o.relu(zs[l]), tau)
        zs[l] = o.step_z(Ws[l] @ A(l) + bs[l], as_[l])
        bs[l] = (zs[l] - Ws[l] @ A(l)).mean(1, keepdims=True)
        Ws[l] = o.step_W(Ws[l], A(l), zs[l] - bs[l], nu, theta)
    if not backward_only:
        for l in range(L - 1):
            Ws[l] = o.step_W(Ws[l], A(l), zs[l] - bs[l], nu, theta)
            bs[l] = (zs[l] - Ws[l] @ A(l)).mean(1, keepdims=True)
            zs[l] = o.step_z(Ws[l] @ A(l) + bs[l], as_[l])
            T = zs[l + 1] - bs[l + 1] + (u / rho if l + 1 == L - 1 else 0)
            as_[l] = o.step_a(as_[l], Ws[l + 1], T, rho, nu, o.relu(zs[l]), tau)
        l = L - 1
        Ws[l] = o.step_W(Ws[l], A(l), zs[l] - bs[l] + u / rho, rho, theta)
        bs[l] = (zs[l] - Ws[l] @ A(l) + u / rho).mean(1, keepdims=True)
        zs[l] = o.fista(zs[l], Y, Ws[l] @ A(l) + bs[l] - u / rho, rho)
    l = L - 1
    u = u + rho * (zs[l] - Ws[l] @ A(l) - bs[l])
    return (Ws, bs, zs, as_, u)

def lagrangian(S, X, Y, rho):
    Ws, bs, zs, as_, u = S; L = len(Ws); nu = rho
    A = lambda l: X if l == 0 else as_[l - 1]
    r = zs[-1] - Ws[-1] @ A(L - 1) - bs[-1]
    obj = o.ce(zs[-1], Y) + float((u * r).sum()) + rho / 2 * float((r * r).sum())
    for k in range(L - 1):
        obj += nu / 2 * (float(np.square(zs[k] - Ws[k] @ A(k) - bs[k]).sum()) + float(np.square(as_[k] - o.relu(zs[k])).sum()))
    return obj

def flat(S):
    return np.concatenate([m.ravel() for group in S[:4] for m in group if m is not None] + [S[4].ravel()])

def unflat(v, like):
    out, k = [], 0
    for group in like[:4]:
        g = []
        for m in group:
            if m is None: g.append(None); continue
            g.append(v[k:k + m.size].reshape(m.shape)); k += m.size
        out.append(g)
    out.append(v[k:].reshape(like[4].shape))
    return tuple(out)

def main():
    limit, iters, memory, backward_only = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "backward"
    X, ytr, Xt, yte = load(limit)
    C = 10; Y = np.eye(C)[ytr].T
    sizes = [784, 256, 256, 10]; L = 3
    rng = np.random.default_rng(13)
    Ws = [rng.standard_normal((sizes[l + 1], sizes[l])) * 0.1 for l in range(L)]
    bs = [rng.standard_normal((sizes[l + 1], 1)) * 0.1 for l in range(L)]
    zs, as_ = [None] * L, [None] * L
    a = X
    for l in range(L - 1):
        zs[l] = Ws[l] @ a + bs[l]; as_[l] = o.relu(zs[l]); a = as_[l]
    zs[L - 1] = 2 * Y - 1
    S = (Ws, bs, zs, as_, np.zeros_like(Y))
    fixed = len(sys.argv) > 6
    rho, theta, tau = (float(sys.argv[6]) if fixed else 1e-6), 1.0, 1.0
    costs = []; Fs, Gs = [], []; x_prev = g_prev = None; accepted = 0
    print("iteration,time_s,objective,rho,train_accuracy,test_accuracy,accepted")
    for it in range(1, iters + 1):
        t0 = time.time()
        G = sweep(S, X, Y, rho, theta, tau, backward_only)
        x, g = flat(S), flat(G)
        f = g - x
        took = 0
        if memory > 0 and x_prev is not None:
            Fs.append(f - f_prev); Gs.append(g - g_prev)
            if len(Fs) > memory: Fs.pop(0); Gs.pop(0)
            dF = np.stack(Fs, 1); dG = np.stack(Gs, 1)
            gamma, *_ = np.linalg.lstsq(dF, f, rcond=None)
            cand = unflat(g - dG @ gamma, G)
            if lagrangian(cand, X, Y, rho) < lagrangian(G, X, Y, rho):
                took = 1
        x_prev, f_prev, g_prev = x, f, g
        S = cand if took else G
        accepted += took
        dt = time.time() - t0
        ftr = o.forward(S[0], S[1], X); fte = o.forward(S[0], S[1], Xt)
        trc = o.ce(ftr, Y) / X.shape[1]
        print(f"{it},{dt:.3f},{lagrangian(S, X, Y, rho):.6g},{rho:.3g},{float((ftr.argmax(0) == ytr).mean()):.4f},{float((fte.argmax(0) == yte).mean()):.4f},{took}", flush=True)
        costs.append(trc)
        if not fixed and it - 1 > 2 and costs[-1] > costs[-2] > costs[-3] > costs[-4]:
            rho = min(10 * rho, 0.1); theta *= 10; tau *= 10
            Fs, Gs = [], []; x_prev = None  # the map changed
    print(f"# accepted {accepted} of {iters}", file=sys.stderr)

if __name__ == "__main__":
    main()
