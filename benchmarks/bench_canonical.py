"""Canonical forms and model reduction: realize against python-control, same models, one process.

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_canonical.py

Four comparisons, each printed as a markdown table:

1. Companion forms (SISO, the only case python-control supports) as n grows: time and
   the relative error of the Markov parameters ``||h - h_new||_F / ||h||_F`` (3n + 2 of
   them), median and worst over seeds, with cond(T). Companion forms are ill-conditioned at
   high order; this shows how fast accuracy falls for each library.
2. Modal form: time and Markov error.
3. Hankel singular values and balanced truncation. python-control's hsvd and balred are
   continuous-time only, so they run on the bilinear image of the discrete model
   (z = (1 + s) / (1 - s), which preserves Hankel singular values); its balred result is
   mapped back to discrete time for the error.
4. Minimal realization (python-control minreal = SLICOT TB01PD) on models with planted
   uncontrollable and unobservable parts: time and the order found.
"""

from __future__ import annotations

import time
import warnings

import control
import numpy as np
import scipy.linalg as sla

import realize
from realize.testing import random_statespace


def timeit(fn, *args, repeat=5, **kwargs):
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return best, out


def markov_err(sys, A, B, C, D):
    k = 3 * sys.n + 2
    h = sys.markov(k)
    g = realize.StateSpace(A, B, C, D).markov(k)
    return float(np.linalg.norm(h - g) / np.linalg.norm(h))


def bilinear_c(sys):
    n = sys.n
    E = np.linalg.inv(sys.A + np.eye(n))
    return control.ss(
        E @ (sys.A - np.eye(n)),
        np.sqrt(2) * E @ sys.B,
        np.sqrt(2) * sys.C @ E,
        sys.D - sys.C @ E @ sys.B,
    )


def bilinear_d(cs):
    r = cs.nstates
    F = np.linalg.inv(np.eye(r) - cs.A)
    return realize.StateSpace(
        F @ (np.eye(r) + cs.A), np.sqrt(2) * F @ cs.B, np.sqrt(2) * cs.C @ F, cs.D + cs.C @ F @ cs.B
    )


def companion(seeds=8):
    print("\n### 1. Companion forms (SISO), accuracy against n\n")
    print(
        "| form | n | median cond(T) | realize time (ms) | python-control time (ms) "
        "| realize err median / max | python-control err median / max |"
    )
    print("|---|---|---|---|---|---|---|")
    for ours, theirs in (("controllable", "reachable"), ("observable", "observable")):
        for n in (4, 8, 12, 16, 20, 25, 30):
            conds, t_o, t_t, e_o, e_t = [], [], [], [], []
            for seed in range(seeds):
                sys = random_statespace(seed, n)
                cs = sys.to_control()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    to, (new, T) = timeit(realize.canonical_form, sys, ours, repeat=3)
                    tt, (ref, _) = timeit(control.canonical_form, cs, theirs, repeat=3)
                conds.append(np.linalg.cond(T))
                t_o.append(to)
                t_t.append(tt)
                e_o.append(markov_err(sys, new.A, new.B, new.C, new.D))
                e_t.append(markov_err(sys, ref.A, ref.B, ref.C, ref.D))
            print(
                f"| {ours} | {n} | {np.median(conds):.1e} | {1e3 * np.median(t_o):.2f} "
                f"| {1e3 * np.median(t_t):.2f} | {np.median(e_o):.1e} / {np.max(e_o):.1e} "
                f"| {np.median(e_t):.1e} / {np.max(e_t):.1e} |"
            )


def modal(seeds=8):
    print("\n### 2. Modal form\n")
    print(
        "| n | m, p | realize time (ms) | python-control time (ms) | realize err max "
        "| python-control err max |"
    )
    print("|---|---|---|---|---|---|")
    for n, m, p in ((4, 1, 1), (12, 3, 3), (40, 2, 2)):
        t_o, t_t, e_o, e_t = [], [], [], []
        for seed in range(seeds):
            sys = random_statespace(seed, n, m, p)
            cs = sys.to_control()
            to, (new, _) = timeit(realize.canonical_form, sys, "modal")
            tt, (ref, _) = timeit(control.canonical_form, cs, "modal")
            t_o.append(to)
            t_t.append(tt)
            e_o.append(markov_err(sys, new.A, new.B, new.C, new.D))
            e_t.append(markov_err(sys, ref.A, ref.B, ref.C, ref.D))
        print(
            f"| {n} | {m}, {p} | {1e3 * np.median(t_o):.2f} | {1e3 * np.median(t_t):.2f} "
            f"| {np.max(e_o):.1e} | {np.max(e_t):.1e} |"
        )


def reduction(seeds=5):
    print("\n### 3. Hankel singular values and balanced truncation (r = n / 2)\n")
    print(
        "| n | m, p | hsv: realize (ms) | hsv: python-control (ms) | max rel. hsv diff "
        "| balred: realize (ms) | balred: python-control (ms) | sampled err realize "
        "| sampled err python-control | bound 2 sum sigma |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    w = np.linspace(0, np.pi, 2001)
    for n, m, p in ((8, 2, 2), (20, 3, 3), (60, 3, 3)):
        rows = []
        for seed in range(seeds):
            sys = random_statespace(seed, n, m, p)
            cs = bilinear_c(sys)
            r = n // 2
            th_o, h_o = timeit(realize.hankel_singular_values, sys)
            th_t, h_t = timeit(control.hsvd, cs)
            tb_o, res = timeit(realize.balanced_truncation, sys, r)
            tb_t, red_c = timeit(control.balred, cs, r, method="truncate")
            G = sys.freqresp(w)
            e_o = np.max(np.linalg.norm(G - res.model.freqresp(w), ord=2, axis=(1, 2)))
            e_t = np.max(np.linalg.norm(G - bilinear_d(red_c).freqresp(w), ord=2, axis=(1, 2)))
            rows.append(
                (
                    th_o,
                    th_t,
                    np.max(np.abs(h_o - h_t) / h_o[0]),
                    tb_o,
                    tb_t,
                    e_o,
                    e_t,
                    res.error_bound,
                )
            )
        a = np.array(rows)
        med = np.median(a, axis=0)
        print(
            f"| {n} | {m}, {p} | {1e3 * med[0]:.2f} | {1e3 * med[1]:.2f} | {a[:, 2].max():.1e} "
            f"| {1e3 * med[3]:.2f} | {1e3 * med[4]:.2f} | {med[5]:.3g} | {med[6]:.3g} "
            f"| {med[7]:.3g} |"
        )


def planted(rng, sz, m=2, p=2):
    n = sum(sz)
    o = np.cumsum((0,) + sz)
    blk = [slice(o[i], o[i + 1]) for i in range(4)]
    A = np.zeros((n, n))
    for i in range(4):
        if sz[i]:
            A[blk[i], blk[i]] = random_statespace(rng, sz[i], radius=0.9).A
    for i, j in ((0, 2), (1, 0), (1, 2), (1, 3), (3, 2)):
        A[blk[i], blk[j]] = 0.3 * rng.standard_normal((sz[i], sz[j]))
    B = np.zeros((n, m))
    B[: o[2]] = rng.standard_normal((o[2], m))
    C = np.zeros((p, n))
    C[:, blk[0]] = rng.standard_normal((p, sz[0]))
    C[:, blk[2]] = rng.standard_normal((p, sz[2]))
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    T = U @ np.diag(rng.uniform(0.5, 2.0, n)) @ V
    return realize.StateSpace(A, B, C, np.zeros((p, m))).similarity(T)


def minimal(seeds=10):
    print("\n### 4. Minimal realization on planted non-minimal models\n")
    print(
        "| parts (co, cu, uo, uu) | realize time (ms) | python-control minreal time (ms) "
        "| realize right order | python-control right order | realize Markov err max |"
    )
    print("|---|---|---|---|---|---|")
    for sz in ((4, 2, 2, 0), (8, 4, 4, 4), (20, 10, 10, 5)):
        rng = np.random.default_rng(sum(sz))
        t_o, t_t, ok_o, ok_t, err = [], [], 0, 0, []
        for _ in range(seeds):
            sys = planted(rng, sz)
            to, red = timeit(realize.minimal, sys, repeat=3)
            tt, redc = timeit(control.minreal, sys.to_control(), verbose=False, repeat=3)
            t_o.append(to)
            t_t.append(tt)
            ok_o += red.n == sz[0]
            ok_t += redc.nstates == sz[0]
            if red.n == sz[0]:
                k = 3 * sys.n
                err.append(
                    np.linalg.norm(red.markov(k) - sys.markov(k)) / np.linalg.norm(sys.markov(k))
                )
        print(
            f"| {sz} | {1e3 * np.median(t_o):.2f} | {1e3 * np.median(t_t):.2f} "
            f"| {ok_o}/{seeds} | {ok_t}/{seeds} | {max(err) if err else float('nan'):.1e} |"
        )


if __name__ == "__main__":
    print(
        f"realize {realize.__version__}, python-control {control.__version__}, "
        f"numpy {np.__version__}, scipy {sla.__name__ and __import__('scipy').__version__}"
    )
    companion()
    modal()
    reduction()
    minimal()
