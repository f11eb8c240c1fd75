"""Subspace identification: realize.n4sid against SIPPY and nfoursid, in one process.

Parts (``--part``):

* ``speed``: n = 8, m = 2, p = 2, horizon 20, T = 1e4 and 1e5 samples of a random stable
  innovation model; N4SID, MOESP and CVA of realize and SIPPY, PO-MOESP of nfoursid.
  Time (best of ``--repeat``) and the validation fit (simulation against the noise-free
  response to 1e4 fresh input samples,
  initial state by least squares on the first 200, fit = 100 (1 - ||y - yhat|| /
  ||y - mean y||), averaged over outputs); the ratio is the fastest peer's time over
  ours.
* ``stream``: T = 1e7 samples generated chunk by chunk and fed to a
  ``SubspaceAccumulator``; peak traced memory (tracemalloc) and peak RSS.
* ``wh``: the Wiener-Hammerstein benchmark's best linear model: every method at the
  same order and horizon, test simulation RMSE after a 50-sample initialization window.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_subspace.py --part speed``.
nfoursid builds a full (T x T) SVD factor in ``system_identification`` (``np.linalg.svd``
with ``full_matrices=True``), so it is run only where that fits in memory.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import time
import tracemalloc
import warnings

import numpy as np

import realize
from realize.identify.validation import fit_percent, simulate_output
from realize.identify.validation import least_squares_initial_state as estimate_initial_state
from realize.testing import random_statespace

N, M, P, H = 8, 2, 2, 20


def make_system(seed=0):
    return random_statespace(seed, N, M, P, radius=0.95, noise=True, innovation=True)


def validation_fit(A, B, C, D, yv, uv):
    x0 = estimate_initial_state(A, B, C, D, yv[:200], uv[:200])
    yhat = simulate_output(A, B, C, D, uv, x0)
    return float(np.mean(fit_percent(yv, yhat)))


def timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def run_ours(y, u, method, focus="prediction"):
    res = realize.n4sid(
        y,
        u,
        order=N,
        horizon=H,
        method=method,
        feedthrough=True,
        focus=focus,
    )
    M_ = res.model
    return M_.A, M_.B, M_.C, M_.D


def run_sippy(y, u, method):
    from sippy_unipi import system_identification

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        mod = system_identification(
            y.T, u.T, method.upper(), SS_fixed_order=N, SS_f=H, SS_D_required=True
        )
    return mod.A, mod.B, mod.C, mod.D


def run_nfoursid(y, u):
    import pandas as pd
    from nfoursid.nfoursid import NFourSID

    cols_u = [f"u{k}" for k in range(u.shape[1])]
    cols_y = [f"y{k}" for k in range(y.shape[1])]
    frame = pd.DataFrame(np.hstack([u, y]), columns=cols_u + cols_y)
    peer = NFourSID(frame, output_columns=cols_y, input_columns=cols_u, num_block_rows=H)
    peer.subspace_identification()
    model, _ = peer.system_identification(rank=N)
    return model.a, model.b, model.c, model.d


def part_speed(repeat, sizes):
    true = make_system()
    rng = np.random.default_rng(1)
    uv = rng.standard_normal((10000, M))
    yv = true.simulate(uv, noise=False)
    print(
        f"system: n={N}, m={M}, p={P}, horizon {H}, poles |max| "
        f"{np.max(np.abs(true.poles())):.3f}; validation: noise-free response to 1e4 "
        "fresh input samples"
    )
    rows = []
    for T in sizes:
        u = rng.standard_normal((T, M))
        y = true.simulate(u, rng=rng)
        line = {}
        for method in ("n4sid", "moesp", "cva"):
            t, mats = timed(lambda m_=method, y=y, u=u: run_ours(y, u, m_), repeat)
            line[("realize", method)] = (t, validation_fit(*mats, yv, uv))
        for method in ("n4sid", "moesp", "cva"):
            t, mats = timed(lambda m_=method, y=y, u=u: run_ours(y, u, m_, "simulation"), repeat)
            line[("realize", method + ", focus=simulation")] = (t, validation_fit(*mats, yv, uv))
        for method in ("n4sid", "moesp", "cva"):
            t, mats = timed(
                lambda m_=method, y=y, u=u: run_sippy(y, u, m_), 1 if T > 20000 else repeat
            )
            line[("SIPPY", method)] = (t, validation_fit(*mats, yv, uv))
        if T * T * 8 < 2e9:
            t, mats = timed(lambda y=y, u=u: run_nfoursid(y, u), 1)
            line[("nfoursid", "po-moesp")] = (t, validation_fit(*mats, yv, uv))
        else:
            line[("nfoursid", "po-moesp")] = (np.nan, np.nan)
        peers = [v[0] for k, v in line.items() if k[0] != "realize" and np.isfinite(v[0])]
        ours = min(v[0] for k, v in line.items() if k[0] == "realize")
        best_peer_fit = max(
            v[1] for k, v in line.items() if k[0] != "realize" and np.isfinite(v[1])
        )
        best_our_fit = max(v[1] for k, v in line.items() if k[0] == "realize")
        print(f"\nT = {T:.0e}")
        print("| library | method | time [s] | validation fit [%] |")
        print("|---|---|---:|---:|")
        for (lib, method), (t, fit) in line.items():
            ts = "n/a (T x T SVD)" if not np.isfinite(t) else f"{t:.3f}"
            fs = "n/a" if not np.isfinite(fit) else f"{fit:.2f}"
            print(f"| {lib} | {method} | {ts} | {fs} |")
        print(
            f"fastest peer {min(peers):.3f} s / fastest realize {ours:.3f} s = "
            f"{min(peers) / ours:.1f}x; best fit realize {best_our_fit:.2f} vs peers "
            f"{best_peer_fit:.2f}"
        )
        rows.append((T, min(peers) / ours))
    return rows


def part_stream(T, chunk=100_000):
    from realize.simulation import simulate_states

    true = make_system()
    A, B, C, D = (np.array(x) for x in (true.A, true.B, true.C, true.D))
    Kg, Lam = np.array(true.K), np.array(true.Lambda)
    Lc = np.linalg.cholesky(Lam)
    rng = np.random.default_rng(2)
    tracemalloc.start()
    t0 = time.perf_counter()
    acc = realize.SubspaceAccumulator(horizon=H)
    x = np.zeros(N)
    for k in range(0, T, chunk):
        u = rng.standard_normal((min(chunk, T - k), M))
        e = rng.standard_normal(u.shape[:1] + (P,)) @ Lc.T
        y, X = simulate_states(A, B, C, D, u, e @ Kg.T, e, x)
        x = X[-1]
        acc.update(y, u)
    t_feed = time.perf_counter() - t0
    res = acc.identify(order=N, feedthrough=True)
    t_total = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # the true system has a cluster of fast poles near 0 (ill-conditioned individually), so
    # the accuracy is reported on the similarity-invariant Markov parameters
    err = np.max(np.abs(res.model.markov(30) - true.markov(30)))
    print(
        f"streaming T = {T:.0e} in chunks of {chunk}: data generation + accumulation "
        f"{t_feed:.1f} s, total {t_total:.1f} s, peak traced memory "
        f"{peak / 2**20:.1f} MiB, peak RSS {rss:.0f} MiB, max Markov-parameter error "
        f"(30 lags) {err:.2e}"
    )


def part_wh(order, horizon):
    data = realize.datasets.wiener_hammerstein()
    tr, te = data.train, data.test
    yt, ut = te.y.reshape(-1, 1), te.u.reshape(-1, 1)
    ytr, utr = tr.y.reshape(-1, 1), tr.u.reshape(-1, 1)

    def rmse(A, B, C, D, ym=0.0, um=0.0):
        x0 = estimate_initial_state(A, B, C, D, yt[:50] - ym, ut[:50] - um)
        yh = simulate_output(A, B, C, D, ut - um, x0) + ym
        return float(np.sqrt(np.mean((yt[50:] - yh[50:]) ** 2)))

    print(
        f"Wiener-Hammerstein: order {order}, horizon {horizon}; test RMSE [V] after 50 "
        "samples (initial state by least squares on them)"
    )
    print("| library | method | options | time [s] | stable | test RMSE [V] |")
    print("|---|---|---|---:|---|---:|")
    for method in ("n4sid", "moesp", "cva"):
        for opts in ({}, {"focus": "simulation", "stable": True}):
            t0 = time.perf_counter()
            res = realize.n4sid(
                ytr,
                utr,
                order=order,
                horizon=horizon,
                method=method,
                feedthrough=True,
                detrend=True,
                **opts,
            )
            t = time.perf_counter() - t0
            M_ = res.model
            r = rmse(M_.A, M_.B, M_.C, M_.D, res.y_mean, res.u_mean)
            desc = ", ".join(f"{k}={v}" for k, v in opts.items()) or "defaults"
            print(f"| realize | {method} | {desc} | {t:.2f} | {M_.is_stable()} | {r:.4f} |")
    for method in ("n4sid", "moesp", "cva"):
        t0 = time.perf_counter()
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            from sippy_unipi import system_identification

            mod = system_identification(
                ytr.T,
                utr.T,
                method.upper(),
                SS_fixed_order=order,
                SS_f=horizon,
                SS_D_required=True,
                centering="MeanVal",
            )
        t = time.perf_counter() - t0
        ym, um = float(ytr.mean()), float(utr.mean())
        stable = bool(np.max(np.abs(np.linalg.eigvals(mod.A))) < 1)
        with np.errstate(all="ignore"):
            r = rmse(mod.A, mod.B, mod.C, mod.D, ym, um)
        print(f"| SIPPY | {method} | centering=MeanVal | {t:.2f} | {stable} | {r:.4f} |")
    # nfoursid's full (T x T) SVD limits it to about 10^4 samples
    Tn = 10000
    t0 = time.perf_counter()
    ym, um = float(ytr[:Tn].mean()), float(utr[:Tn].mean())
    A, B, C, D = run_nfoursid_h(ytr[:Tn] - ym, utr[:Tn] - um, order, horizon)
    t = time.perf_counter() - t0
    stable = bool(np.max(np.abs(np.linalg.eigvals(A))) < 1)
    with np.errstate(all="ignore"):
        r = rmse(A, B, C, D, ym, um)
    print(f"| nfoursid | po-moesp | first {Tn} samples | {t:.2f} | {stable} | {r:.4f} |")
    for opts in ({}, {"focus": "simulation", "stable": True}):
        res = realize.n4sid(
            ytr[:Tn],
            utr[:Tn],
            order=order,
            horizon=horizon,
            method="moesp",
            feedthrough=True,
            detrend=True,
            **opts,
        )
        M_ = res.model
        desc = ", ".join(f"{k}={v}" for k, v in opts.items()) or "defaults"
        with np.errstate(all="ignore"):
            r = rmse(M_.A, M_.B, M_.C, M_.D, res.y_mean, res.u_mean)
        print(f"| realize | moesp | first {Tn} samples, {desc} | - | {M_.is_stable()} | {r:.4f} |")


def run_nfoursid_h(y, u, order, horizon):
    import pandas as pd
    from nfoursid.nfoursid import NFourSID

    frame = pd.DataFrame(np.hstack([u, y]), columns=["u0", "y0"])
    peer = NFourSID(frame, output_columns=["y0"], input_columns=["u0"], num_block_rows=horizon)
    peer.subspace_identification()
    model, _ = peer.system_identification(rank=order)
    return model.a, model.b, model.c, model.d


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=("speed", "stream", "wh"), default="speed")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e4, 1e5])
    ap.add_argument("--stream-T", type=float, default=1e7)
    ap.add_argument("--order", type=int, default=6)
    ap.add_argument("--horizon", type=int, default=20)
    args = ap.parse_args()
    if args.part == "speed":
        part_speed(args.repeat, [int(s) for s in args.sizes])
    elif args.part == "stream":
        part_stream(int(args.stream_T))
    else:
        part_wh(args.order, args.horizon)


if __name__ == "__main__":
    main()
