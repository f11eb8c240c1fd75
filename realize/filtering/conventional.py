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


def allocate_outputs(
    N: int, T: int, n: int, p: int, store: bool, filtered_cov: bool = True, zeros: bool = False
) -> dict:
    """Output arrays of one filter run (zero-size placeholders when not stored).

    Parameters
    ----------
    N, T, n, p : int
        Series, time steps, states, outputs.
    store : bool
        Allocate the per-step arrays (else zero-size placeholders).
    filtered_cov : bool
        With ``store``, also the filtered covariances ``Pf`` (else a placeholder).
    zeros : bool
        Zero-filled arrays (for the NumPy references, which leave missing channels
        untouched) instead of uninitialized ones (the kernels write every entry).

    Returns
    -------
    dict
        The ``outputs`` of a filter group (see :func:`conventional_filter`).

    Examples
    --------
    >>> from realize.filtering.conventional import allocate_outputs
    >>> out = allocate_outputs(2, 10, 3, 1, store=True)
    >>> out["xp"].shape, out["Pp"].shape, out["loglik"].shape
    ((2, 11, 3), (11, 3, 3), (2,))
    """
    if not store:
        return empty_outputs(N)
    new = np.zeros if zeros else np.empty
    return dict(
        loglik=np.zeros(N),
        xp=new((N, T + 1, n)),
        Pp=new((T + 1, n, n)),
        xf=new((N, T, n)),
        Pf=new((T, n, n)) if filtered_cov else _E3,
        v=new((N, T, p)),
        F=new((T, p, p)),
        Finv=new((T, p, p)),
        K=new((T, n, p)),
        llobs=new((N, T)),
        steady=new(T, dtype=np.int8),
    )


def empty_outputs(N: int) -> dict:
    """Zero-size output placeholders (only ``loglik`` has data) for ``store=False``.

    Parameters
    ----------
    N : int
        Number of series.

    Returns
    -------
    dict
        ``loglik`` zeros (N,); every other array has zero size.

    Examples
    --------
    >>> from realize.filtering.conventional import empty_outputs
    >>> out = empty_outputs(2)
    >>> out["loglik"].shape, out["xp"].size
    ((2,), 0)
    """
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
    from realize._ext._kalman_filter import conventional_loglik
    from realize.filtering._basis import modal_basis

    mats = (prep.A, prep.C, prep.Q, prep.R, prep.S)
    basis = None
    if out["Pp"].size == 0 and out["xp"].size == 0 and all(a.shape[0] == 1 for a in mats):
        basis = modal_basis(prep.A[0])
    if basis is not None:
        # likelihood only, time-invariant, a well-conditioned modal basis: the lean kernel
        # (same recursion, nothing stored) with A block diagonal; otherwise the full
        # kernel, whose dgemm products beat loops over a dense or triangular A
        V, Vi, Ab, lo, hi = basis

        def sym(M):
            return np.ascontiguousarray(0.5 * (M + M.T))

        bad = conventional_loglik(
            Ab,
            np.ascontiguousarray(prep.C[0] @ V),
            sym(Vi @ prep.Q[0] @ Vi.T),
            prep.R[0],
            np.ascontiguousarray(Vi @ prep.S[0]),
            np.ascontiguousarray(c @ Vi.T),
            d,
            y,
            np.ascontiguousarray(x0 @ Vi.T),
            sym(Vi @ prep.P0 @ Vi.T),
            tol,
            prep.steady_start,
            lo,
            hi,
            out["loglik"],
        )
    else:
        bad = _run_full(kernel, prep, y, c, d, x0, out, tol)
    if bad >= 0:
        raise InvalidValueError(
            f"sys: expected a positive definite innovation covariance C P C' + R, got a "
            f"singular one at t={bad} (R singular on observed channels the state cannot explain?)"
        )


def _run_full(kernel, prep: Prepared, y, c, d, x0, out, tol):
    return kernel(
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


def _rows(a: np.ndarray, i: int) -> np.ndarray:
    return a if a.shape[0] == 1 else a[i : i + 1]


def conventional_filter(
    prep: Prepared,
    store: bool = True,
    tol: float | None = STEADY_STATE_TOL,
    filtered_cov: bool = True,
) -> list[dict]:
    """Run the compiled filter.

    Returns a list of output groups ``(series_indices, outputs)``: one group when the
    series share their missing pattern (covariances computed once), else one per series.
    ``tol=None`` disables the steady-state switch.

    Parameters
    ----------
    prep : Prepared
        The validated problem from :func:`~realize.filtering._model.prepare`.
    store : bool
        Keep the per-step states and covariances (else only the log-likelihood).
    tol : float or None
        Relative change of the predicted covariance below which the gain is frozen at
        its steady state; None never switches.
    filtered_cov : bool
        Store the filtered covariances (the smoother does not need them).

    Returns
    -------
    groups : list of (indices, outputs)
        ``indices`` an int array of the series in the group, ``outputs`` a dict with
        ``loglik`` (Ng,), ``xp`` (Ng, T+1, n), ``Pp`` (T+1, n, n), ``xf`` (Ng, T, n),
        ``Pf`` (T, n, n), ``v`` (Ng, T, p), ``F`` and ``Finv`` (T, p, p), ``K``
        (T, n, p), ``llobs`` (Ng, T) and ``steady`` (T,) int8 (zero-size arrays
        except ``loglik`` when ``store`` is False).

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> prep = prepare(sys, sys.simulate(T=20, rng=0))
    >>> from realize.filtering.conventional import conventional_filter
    >>> [(idx, out)] = conventional_filter(prep)
    >>> idx.tolist(), out["xp"].shape, out["K"].shape
    ([0], (1, 21, 1), (20, 1, 1))
    """
    tol = -1.0 if tol is None else float(tol)
    N, T, n, p = prep.N, prep.T, prep.n, prep.p
    mask = np.isnan(prep.y)
    if N == 1 or not np.any(mask != mask[:1]):
        out = allocate_outputs(N, T, n, p, store, filtered_cov)
        _run(prep, prep.y, prep.c, prep.d, prep.x0, out, tol)
        return [(np.arange(N), out)]
    groups = []
    for i in range(N):
        out = allocate_outputs(1, T, n, p, store, filtered_cov)
        _run(
            prep, prep.y[i : i + 1], _rows(prep.c, i), _rows(prep.d, i), _rows(prep.x0, i), out, tol
        )
        groups.append((np.array([i]), out))
    return groups
