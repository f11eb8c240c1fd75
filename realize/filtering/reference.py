"""Plain NumPy reference: the conventional filter and the classical RTS smoother.

Slow (a Python loop over time) and written for reading: the definitions the compiled
kernels are tested against. :func:`reference_filter` has the interface of
:func:`realize.filtering.conventional.conventional_filter`, so either can back
:func:`realize.kalman_filter` (``method="reference"``).

The smoother here is the textbook Rauch-Tung-Striebel form (Rauch, Tung & Striebel 1965;
Shumway & Stoffer 2017, Property 6.2 and eq. 6.55 for the lag-one covariance), a different
algorithm from the compiled Durbin-Koopman backward recursion, so the two check each
other. Correlated noise is handled by decorrelation (Anderson & Moore 1979, section 5.5):
with W the observed channels, ``x[t+1] = (A - G C_W) x[t] + B u + G (y_W - D_W u) + w~``
with ``G = S_W R_W^-1`` and ``cov(w~) = Q - G S_W'``, which needs R_W nonsingular.
"""

from __future__ import annotations

import numpy as np

from realize.errors import InvalidValueError
from realize.filtering._model import Prepared
from realize.filtering.conventional import allocate_outputs

__all__ = ["reference_filter", "reference_smoother"]

LOG2PI = np.log(2.0 * np.pi)


def _at(M: np.ndarray, t: int) -> np.ndarray:
    return M[t] if M.shape[0] > 1 else M[0]


def _require_positive_definite(F: np.ndarray, t: int):
    """The compiled filters' error for a singular innovation covariance, not a LinAlgError."""
    try:
        np.linalg.cholesky(F)
    except np.linalg.LinAlgError:
        raise InvalidValueError(
            f"sys: expected a positive definite innovation covariance C P C' + R, got a "
            f"singular one at t={t} (R singular on observed channels the state cannot explain?)"
        ) from None


def _filter_one(prep: Prepared, i: int) -> dict:
    T, n, p = prep.T, prep.n, prep.p
    y = prep.y[i]
    c = prep.c[i if prep.c.shape[0] > 1 else 0]
    d = prep.d[i if prep.d.shape[0] > 1 else 0]
    x = prep.x0[i if prep.x0.shape[0] > 1 else 0].copy()
    P = prep.P0.copy()
    out = allocate_outputs(1, T, n, p, store=True, zeros=True)
    for t in range(T):
        A, C, Q, R, S = (_at(M, t) for M in (prep.A, prep.C, prep.Q, prep.R, prep.S))
        ct, dt = _at(c, t), _at(d, t)
        out["xp"][0, t], out["Pp"][t] = x, P
        W = ~np.isnan(y[t])
        M = P @ C.T
        out["F"][t] = C @ M + R
        if W.any():
            F = out["F"][t][np.ix_(W, W)]
            v = y[t, W] - C[W] @ x - dt[W]
            G = A @ M[:, W] + S[:, W]
            _require_positive_definite(F, t)
            Fi = np.linalg.inv(F)
            K = G @ Fi
            out["xf"][0, t] = x + M[:, W] @ Fi @ v
            out["Pf"][t] = P - M[:, W] @ Fi @ M[:, W].T
            out["llobs"][0, t] = -0.5 * (W.sum() * LOG2PI + np.linalg.slogdet(F)[1] + v @ Fi @ v)
            out["v"][0, t, W] = v
            out["Finv"][t][np.ix_(W, W)] = Fi
            out["K"][t][:, W] = K
            x = A @ x + ct + K @ v
            P = A @ P @ A.T + Q - K @ G.T
        else:
            out["xf"][0, t], out["Pf"][t] = x, P
            x = A @ x + ct
            P = A @ P @ A.T + Q
        P = 0.5 * (P + P.T)
    out["xp"][0, T], out["Pp"][T] = x, P
    out["loglik"] = out["llobs"].sum(axis=1)
    return out


def reference_filter(prep: Prepared, store: bool = True, tol=None) -> list:
    """Conventional filter, one series at a time (``store`` and ``tol`` are ignored: the
    reference always stores everything and never switches to steady state).

    Parameters
    ----------
    prep : Prepared
        The validated problem from :func:`~realize.filtering._model.prepare`.
    store : bool
        Keep the per-step states and covariances (else only the log-likelihood).
    tol : float or None
        Steady-state tolerance (ignored by this filter).

    Returns
    -------
    groups : list of (indices, outputs)
        ``indices`` an int array of the series in the group, ``outputs`` a dict with
        ``loglik`` (Ng,), ``xp`` (Ng, T+1, n), ``Pp`` (T+1, n, n), ``xf`` (Ng, T, n),
        ``Pf`` (T, n, n), ``v`` (Ng, T, p), ``F`` and ``Finv`` (T, p, p), ``K``
        (T, n, p), ``llobs`` (Ng, T) and ``steady`` (T,) int8 (zero-size arrays
        except ``loglik`` when ``store`` is False).
        Here one group per series.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> prep = prepare(sys, sys.simulate(T=20, rng=0))
    >>> from realize.filtering.conventional import conventional_filter
    >>> from realize.filtering.reference import reference_filter
    >>> ref, fast = reference_filter(prep)[0][1], conventional_filter(prep)[0][1]
    >>> bool(np.allclose(ref["loglik"], fast["loglik"]))
    True
    """
    return [(np.array([i]), _filter_one(prep, i)) for i in range(prep.N)]


def reference_smoother(prep: Prepared, out: dict, i: int = 0) -> tuple:
    """Classical RTS smoother of series ``i`` from a reference filter output.

    Parameters
    ----------
    prep : Prepared
        The validated problem from :func:`~realize.filtering._model.prepare`.
    out : dict
        The outputs of :func:`reference_filter` for series ``i``.
    i : int
        The series.

    Returns
    -------
    smoothed_state : (T, n) array
    smoothed_cov : (T, n, n) array
    lag1 : (T-1, n, n) array
        ``lag1[t] = cov(x[t+1], x[t] | y)``.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> prep = prepare(sys, sys.simulate(T=20, rng=0))
    >>> from realize.filtering.reference import reference_filter, reference_smoother
    >>> xs, Ps, lag1 = reference_smoother(prep, reference_filter(prep)[0][1])
    >>> xs.shape, Ps.shape, lag1.shape
    ((20, 1), (20, 1, 1), (19, 1, 1))
    """
    T, n = prep.T, prep.n
    xf, Pf, xp, Pp = out["xf"][0], out["Pf"], out["xp"][0], out["Pp"]
    xs, Ps, lag1 = xf.copy(), Pf.copy(), np.zeros((max(T - 1, 0), n, n))
    y = prep.y[i]
    for t in range(T - 2, -1, -1):
        A, C, R, S = (_at(M, t) for M in (prep.A, prep.C, prep.R, prep.S))
        W = ~np.isnan(y[t])
        At = A
        try:
            if W.any() and np.any(S[:, W]):
                G = np.linalg.solve(R[np.ix_(W, W)], S[:, W].T).T
                At = A - G @ C[W]
            J = np.linalg.solve(Pp[t + 1], At @ Pf[t]).T
        except np.linalg.LinAlgError:
            raise InvalidValueError(
                "sys: expected a nonsingular predicted covariance P[t+1] (and R on the observed "
                f"channels when S != 0) for the reference RTS smoother, got a singular one at "
                f"t={t}; use method='conventional' (no inverse of P)"
            ) from None
        xs[t] = xf[t] + J @ (xs[t + 1] - xp[t + 1])
        Ps[t] = Pf[t] + J @ (Ps[t + 1] - Pp[t + 1]) @ J.T
        lag1[t] = Ps[t + 1] @ J.T
    return xs, Ps, lag1
