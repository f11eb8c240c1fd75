"""Univariate (sequential) processing of the observation vector (Durbin & Koopman 2012,
section 6.4; Koopman & Durbin 2000).

When R is diagonal, the channels of y_t can be processed one at a time as scalar
observations, so no p x p matrix is factored. For channel i of the observed set W::

    f = c_i P c_i' + R_ii,   k = P c_i' / f,   e = y_i - c_i a - d_i
    a <- a + k e,   P <- P - k k' f,   log L += -1/2 (log 2 pi + log f + e^2 / f)

which leaves a = x_{t|t}, P = P_{t|t}. Correlated noise is removed before the prediction
(Anderson & Moore 1979, section 5.5): with G = S_W R_W^-1,
``x_{t+1|t} = A x_{t|t} + B u_t + G (y_W - C_W x_{t|t} - D_W u_t)`` and
``P_{t+1} = (A - G C_W) P_{t|t} (A - G C_W)' + Q - G R_W G'``.

Steady state: for time-invariant matrices the compiled filter has the conventional
filter's switch. Once ``max|P[t+1] - P[t]| <= tol max|P[t]|`` at a fully observed step,
the quantities of the sequential update are constant (the vectors ``P c_i'`` and
variances ``f`` of each channel, P_{t|t}, and the decorrelated ``A - G C``,
``Q - G R G'``): they are stored at convergence and replayed, so a step costs O(p n)
until the next missing entry, where the recursion resumes. ``init="steady_state"``
starts frozen from the Riccati solution.

The recursion is compiled (``_ext/_kalman_univariate.pyx``); the NumPy loop
:func:`univariate_filter_reference` beside it is its definition and test oracle (the
exact recursion: it has no steady-state switch). The multivariate innovations, their
covariance and the predictor gain are reported as well (so that the smoother can run on
its output); they are formed on the side and only when stored, so the log-likelihood
alone factors no p x p matrix.
"""

from __future__ import annotations

import numpy as np

from realize.errors import InvalidValueError
from realize.filtering._model import STEADY_STATE_TOL, Prepared
from realize.filtering.conventional import allocate_outputs
from realize.filtering.reference import LOG2PI, _at

__all__ = ["univariate_filter", "univariate_filter_reference"]


def _check_diagonal(R: np.ndarray) -> None:
    off = R - np.einsum("tii->ti", R)[:, :, None] * np.eye(R.shape[1])
    if np.any(off != 0.0):
        raise InvalidValueError(
            "method: 'univariate' needs a diagonal R (uncorrelated measurement noise), got "
            f"off-diagonal entries up to {np.max(np.abs(off)):.3g}"
        )


def _filter_one(prep: Prepared, i: int, store: bool) -> dict:
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
        W = np.flatnonzero(~np.isnan(y[t]))
        if store:
            out["xp"][0, t], out["Pp"][t] = x, P
            M = P @ C.T
            out["F"][t] = C @ M + R
            if W.size:
                Fw = out["F"][t][np.ix_(W, W)]
                try:
                    Fi = np.linalg.inv(Fw)
                except np.linalg.LinAlgError:
                    # reported outputs only; the sequential recursion needs no inverse
                    Fi = np.linalg.pinv(Fw, hermitian=True)
                out["v"][0, t, W] = y[t, W] - C[W] @ x - dt[W]
                out["Finv"][t][np.ix_(W, W)] = Fi
                out["K"][t][:, W] = (A @ M[:, W] + S[:, W]) @ Fi
        a, Pt, ll = x.copy(), P.copy(), 0.0
        for j in W:
            cj = C[j]
            Pc = Pt @ cj
            f = cj @ Pc + R[j, j]
            e = y[t, j] - cj @ a - dt[j]
            if f <= 1e-300:
                raise InvalidValueError(
                    f"sys: expected a positive innovation variance, got {f:.3g} at t={t}, "
                    f"channel {j}"
                )
            k = Pc / f
            a = a + k * e
            Pt = Pt - np.outer(k, Pc)
            ll -= 0.5 * (LOG2PI + np.log(f) + e * e / f)
        Pt = 0.5 * (Pt + Pt.T)
        out["llobs"][0, t] = ll
        if store:
            out["xf"][0, t], out["Pf"][t] = a, Pt
        x = A @ a + ct
        At = A
        if W.size and np.any(S[:, W]):
            r = np.diag(R)[W]
            if np.any(r <= 0):
                raise InvalidValueError(
                    "method: 'univariate' with correlated noise S needs R_ii > 0 on the "
                    f"observed channels, got a zero at t={t}"
                )
            G = S[:, W] / r
            x = x + G @ (y[t, W] - C[W] @ a - dt[W])
            At = A - G @ C[W]
            Q = Q - (G * r) @ G.T
        P = At @ Pt @ At.T + Q
        P = 0.5 * (P + P.T)
    if store:
        out["xp"][0, T], out["Pp"][T] = x, P
    out["loglik"] = out["llobs"].sum(axis=1)
    return out


def univariate_filter_reference(prep: Prepared, store: bool = True, tol=None) -> list:
    """NumPy definition of :func:`univariate_filter` (same interface), without the
    steady-state switch: the exact recursion at every step (``steady`` is all zero), the
    oracle the compiled filter is tested against with ``tol=None``.

    Parameters
    ----------
    prep : Prepared
        The validated problem from :func:`~realize.filtering._model.prepare`.
    store : bool
        Keep the per-step states and covariances (else only the log-likelihood).
    tol : float or None
        Steady-state tolerance (ignored: no steady-state switch here).

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
    >>> from realize.filtering.univariate import (univariate_filter,
    ...                                           univariate_filter_reference)
    >>> a, b = univariate_filter(prep)[0][1], univariate_filter_reference(prep)[0][1]
    >>> bool(np.allclose(a["loglik"], b["loglik"]))
    True
    """
    _check_diagonal(prep.R)
    return [(np.array([i]), _filter_one(prep, i, store)) for i in range(prep.N)]


def univariate_filter(
    prep: Prepared, store: bool = True, tol: float | None = STEADY_STATE_TOL
) -> list:
    """Compiled univariate filter, one series at a time (interface of
    ``conventional_filter``, with the same steady-state switch).

    For time-invariant matrices, once the predicted covariance has converged
    (``max|P[t+1] - P[t]| <= tol max|P[t]|`` at a fully observed step), each channel's
    ``P c_i'`` and variance ``f`` of the sequential update are kept and replayed, and P,
    P_{t|t}, F and the gain frozen, until the next missing entry of the series
    (``steady`` marks the frozen steps). ``prep.steady_start`` (``init="steady_state"``)
    starts frozen from the Riccati solution. ``tol=None`` disables the switch.

    Parameters
    ----------
    prep : Prepared
        The validated problem from :func:`~realize.filtering._model.prepare`.
    store : bool
        Keep the per-step states and covariances (else only the log-likelihood).
    tol : float or None
        Relative change of the predicted covariance below which the sequential update
        is frozen at its steady state; None never switches.

    Returns
    -------
    groups : list of (indices, outputs)
        ``indices`` an int array of the series in the group, ``outputs`` a dict with
        ``loglik`` (Ng,), ``xp`` (Ng, T+1, n), ``Pp`` (T+1, n, n), ``xf`` (Ng, T, n),
        ``Pf`` (T, n, n), ``v`` (Ng, T, p), ``F`` and ``Finv`` (T, p, p), ``K``
        (T, n, p), ``llobs`` (Ng, T) and ``steady`` (T,) int8 (zero-size arrays
        except ``loglik`` when ``store`` is False).
        Here one group per series.

    Raises
    ------
    InvalidValueError
        If R is not diagonal (the channels are not independent).

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> prep = prepare(sys, sys.simulate(T=20, rng=0))
    >>> from realize.filtering.conventional import conventional_filter
    >>> from realize.filtering.univariate import univariate_filter
    >>> uni, conv = univariate_filter(prep)[0][1], conventional_filter(prep)[0][1]
    >>> bool(np.allclose(uni["loglik"], conv["loglik"]))
    True
    """
    from realize._ext._kalman_univariate import univariate_filter as kernel

    _check_diagonal(prep.R)
    tol = -1.0 if tol is None else float(tol)
    T, n, p = prep.T, prep.n, prep.p
    groups = []
    for i in range(prep.N):
        if store:
            out = dict(
                xp=np.empty((1, T + 1, n)),
                Pp=np.empty((T + 1, n, n)),
                xf=np.empty((1, T, n)),
                Pf=np.empty((T, n, n)),
                v=np.empty((1, T, p)),
                F=np.empty((T, p, p)),
                Finv=np.empty((T, p, p)),
                K=np.empty((T, n, p)),
            )
        else:
            e2, e3 = np.empty((0, 0)), np.empty((0, 0, 0))
            out = dict(xp=e3, Pp=e3, xf=e3, Pf=e3, v=e3, F=e3, Finv=e3, K=e3)
        out["llobs"] = np.zeros((1, T))
        out["loglik"] = np.zeros(1)
        out["steady"] = np.zeros(T if store else 0, dtype=np.int8)
        code, t, j = kernel(
            prep.A,
            prep.C,
            prep.Q,
            prep.R,
            prep.S,
            _row(i, prep.c),
            _row(i, prep.d),
            prep.y[i],
            _row(i, prep.x0),
            prep.P0,
            tol,
            prep.steady_start,
            out["loglik"],
            out["xp"][0] if store else e2,
            out["Pp"],
            out["xf"][0] if store else e2,
            out["Pf"],
            out["v"][0] if store else e2,
            out["F"],
            out["Finv"],
            out["K"],
            out["llobs"][0],
            out["steady"],
        )
        if code == 1:
            raise InvalidValueError(
                f"sys: expected a positive innovation variance, got a non-positive one at "
                f"t={t}, channel {j}"
            )
        if code == 2:
            raise InvalidValueError(
                "method: 'univariate' with correlated noise S needs R_ii > 0 on the observed "
                f"channels, got a zero at t={t}, channel {j}"
            )
        groups.append((np.array([i]), out))
    return groups


def _row(i: int, a: np.ndarray) -> np.ndarray:
    """Series i of a per-series stack, or the shared one."""
    return a[i if a.shape[0] > 1 else 0]
