"""Which kernel should compute a likelihood: the lean one in the modal basis, or the full
dense one with dgemm products? Both on the same data, in one process.

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_loglik_basis.py

For a diagonalizable A (random stable model) and a defective one (a Jordan block in a
random basis), n in (10, 30, 60), p = 3, T = 20,000, 10% of the entries missing, the
likelihood is computed by the lean kernel (``conventional_loglik``: the time update in
the real block-diagonal basis, O(n^2); a defective A has no such basis) and by the full
kernel (the driver ``filter_run`` with nothing stored: dgemm products). realize.loglik
takes the lean kernel whenever the modal basis exists.
"""

from __future__ import annotations

import time

import numpy as np
from realize._ext._kalman_filter import conventional_loglik, filter_run

from realize._linalg import symmetrize
from realize.filtering._basis import modal_basis
from realize.filtering._model import prepare
from realize.filtering._outputs import FilterOutputs
from realize.testing import random_statespace


def jordan(rng, n, lam=0.9, off=0.05):
    M = rng.standard_normal((n, n))
    return M @ (lam * np.eye(n) + off * np.eye(n, k=1)) @ np.linalg.inv(M)


def lean_args(prep, V, Vi):
    def sym(M):
        return np.ascontiguousarray(symmetrize(M))

    return (
        np.ascontiguousarray(Vi @ prep.A[0] @ V),
        np.ascontiguousarray(prep.C[0] @ V),
        sym(Vi @ prep.Q[0] @ Vi.T),
        prep.R[0],
        np.ascontiguousarray(Vi @ prep.S[0]),
        np.ascontiguousarray(prep.c @ Vi.T),
        prep.d,
        prep.y,
        np.ascontiguousarray(prep.x0 @ Vi.T),
        sym(Vi @ prep.P0 @ Vi.T),
        1e-13,
        prep.steady_start,
    )


def best(f, repeat=3):
    t, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        t = min(t, time.perf_counter() - t0)
    return t, out


def case(n, kind):
    rng = np.random.default_rng(n)
    sys_ = random_statespace(rng, n, 0, 3, noise=True, radius=0.95)
    if kind == "defective":
        sys_ = sys_.replace(A=jordan(rng, n))
    y = sys_.simulate(T=20_000, rng=rng)
    y[rng.uniform(size=y.shape) < 0.1] = np.nan
    prep = prepare(sys_, y)

    def full():
        out = FilterOutputs.allocate(1, prep.T, prep.n, prep.p, store=False)
        filter_run("conventional", prep, out, 1e-13)
        return out.loglik[0]

    t_full, ll = best(full)
    basis = modal_basis(prep.A[0])
    if basis is None:
        print(f"{n:>3} {kind:>10} {'n/a':>17} {t_full * 1e3:>10.1f} {'':>10}")
        return
    V, Vi, _, lo, hi = basis
    args = (*lean_args(prep, V, Vi), lo, hi)
    ll_out = np.zeros(1)
    t, _ = best(lambda: conventional_loglik(*args, ll_out))
    assert abs(ll_out[0] - ll) <= 1e-9 * abs(ll)
    print(f"{n:>3} {kind:>10} {t * 1e3:>17.1f} {t_full * 1e3:>10.1f} {t_full / t:>9.1f}x")


def main():
    print(f"{'n':>3} {'A':>10} {'lean, modal [ms]':>17} {'full [ms]':>10} {'full/lean':>10}")
    for n in (10, 30, 60):
        for kind in ("random", "defective"):
            case(n, kind)


if __name__ == "__main__":
    main()
