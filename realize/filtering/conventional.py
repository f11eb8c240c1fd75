"""Conventional (covariance-form) Kalman filter, compiled (Durbin & Koopman 2012, sections
4.3 and 4.10; correlated noise as in Anderson & Moore 1979, section 5.5).

The recursion itself is :func:`realize._ext._kalman_filter.conventional_filter` (Cython,
BLAS/LAPACK, GIL released); this module allocates its outputs and groups the series.
Several series with the same missing pattern (in particular, none missing) share one
covariance recursion.
"""

from __future__ import annotations

import numpy as np

from realize.errors import InvalidValueError
from realize.filtering._model import STEADY_STATE_TOL, Prepared

__all__ = ["conventional_filter", "empty_outputs", "allocate_outputs"]

_E3 = np.empty((0, 0, 0))
_E2 = np.empty((0, 0))


def allocate_outputs(N: int, T: int, n: int, p: int, store: bool) -> dict:
    """Output arrays of one filter run (zero-size placeholders when not stored)."""
    if not store:
        return empty_outputs(N)
    return dict(
        loglik=np.zeros(N),
        xp=np.empty((N, T + 1, n)),
        Pp=np.empty((T + 1, n, n)),
        xf=np.empty((N, T, n)),
        Pf=np.empty((T, n, n)),
        v=np.empty((N, T, p)),
        F=np.empty((T, p, p)),
        Finv=np.empty((T, p, p)),
        K=np.empty((T, n, p)),
        llobs=np.empty((N, T)),
        steady=np.empty(T, dtype=np.int8),
    )


def empty_outputs(N: int) -> dict:
    return dict(
        loglik=np.zeros(N),
        xp=_E3,
        Pp=_E3,
        xf=_E3,
        Pf=_E3,
        v=_E3,
        F=_E3,
        Finv=_E3,
        K=_E3,
        llobs=_E2,
        steady=np.zeros(0, dtype=np.int8),
    )


def _run(prep: Prepared, y, c, d, x0, out, tol):
    from realize._ext._kalman_filter import conventional_filter as kernel

    bad = kernel(
        prep.A,
        prep.C,
        prep.Q,
        prep.R,
        prep.S,
        c,
        d,
        y,
        x0,
        prep.P0,
        tol,
        prep.steady_start,
        out["loglik"],
        out["xp"],
        out["Pp"],
        out["xf"],
        out["Pf"],
        out["v"],
        out["F"],
        out["Finv"],
        out["K"],
        out["llobs"],
        out["steady"],
    )
    if bad >= 0:
        raise InvalidValueError(
            f"sys: expected a positive definite innovation covariance C P C' + R, got a "
            f"singular one at t={bad} (R singular on observed channels the state cannot explain?)"
        )


def _rows(a: np.ndarray, i: int) -> np.ndarray:
    return a if a.shape[0] == 1 else a[i : i + 1]


def conventional_filter(
    prep: Prepared, store: bool = True, tol: float | None = STEADY_STATE_TOL
) -> list[dict]:
    """Run the compiled filter.

    Returns a list of output groups ``(series_indices, outputs)``: one group when the
    series share their missing pattern (covariances computed once), else one per series.
    ``tol=None`` disables the steady-state switch.
    """
    tol = -1.0 if tol is None else float(tol)
    N, T, n, p = prep.N, prep.T, prep.n, prep.p
    mask = np.isnan(prep.y)
    if N == 1 or not np.any(mask != mask[:1]):
        out = allocate_outputs(N, T, n, p, store)
        _run(prep, prep.y, prep.c, prep.d, prep.x0, out, tol)
        return [(np.arange(N), out)]
    groups = []
    for i in range(N):
        out = allocate_outputs(1, T, n, p, store)
        _run(
            prep, prep.y[i : i + 1], _rows(prep.c, i), _rows(prep.d, i), _rows(prep.x0, i), out, tol
        )
        groups.append((np.array([i]), out))
    return groups
