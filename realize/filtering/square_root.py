"""Array square-root Kalman filter (Kailath, Sayed & Hassibi 2000, section 12.3;
Verhaegen & Van Dooren 1986).

The predicted covariance is carried as a factor L (P = L L') and never formed. With
W the observed channels and Gamma a factor of the joint noise covariance
``cov([w; v_W]) = Gamma Gamma'``, one orthogonal transformation (a QR factorization)
triangularizes the pre-array::

    [ C_W L   Gamma_v ]          [ F^{1/2}      0      ]
    [ A L     Gamma_w ]  Theta = [ K F^{1/2}  L_{t+1}  ]

so that ``F = F^{1/2} F^{1/2}'`` is the innovation covariance, ``K`` the predictor gain
(with S) and ``L_{t+1}`` the factor of P_{t+1}. Only well-conditioned factors enter the
arithmetic, so P stays symmetric positive semidefinite and the likelihood accurate where
``C P C' + R`` is too ill-conditioned for the conventional update (see the tests for a
constructed case). The recursion is compiled (``_ext/_kalman_square_root.pyx``, LAPACK's
dgeqrf per step); the NumPy loop :func:`square_root_filter_reference` beside it is its
definition and test oracle (the exact recursion: it has no steady-state switch).

Steady state: for time-invariant matrices the compiled filter has the conventional
filter's switch. Once ``max|P[t+1] - P[t]| <= tol max|P[t]|`` (P = L L') at a fully
observed step, the factor L, ``F^{1/2}`` and ``K F^{1/2}`` are frozen and no pre-array is
factored until the next missing entry, where the recursion resumes.
``init="steady_state"`` starts frozen from a factor of the Riccati solution.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular

from realize.errors import InvalidValueError
from realize.filtering._model import STEADY_STATE_TOL, Prepared
from realize.filtering.conventional import allocate_outputs
from realize.filtering.reference import LOG2PI, _at

__all__ = ["square_root_filter", "square_root_filter_reference", "psd_factor"]


def psd_factor(M: np.ndarray) -> np.ndarray:
    """A factor L with L L' = M: Cholesky when M is positive definite, else from eigh.

    Parameters
    ----------
    M : (k, k) array
        Symmetric PSD.

    Returns
    -------
    L : (k, k) array
        Lower triangular when M is positive definite.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.filtering.square_root import psd_factor
    >>> M = np.array([[1.0, 1.0], [1.0, 1.0]])  # singular: factor from eigh
    >>> L = psd_factor(M)
    >>> bool(np.allclose(L @ L.T, M))
    True
    """
    try:
        return np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        lam, V = np.linalg.eigh(0.5 * (M + M.T))
        return V * np.sqrt(np.clip(lam, 0.0, None))


def _filter_one(prep: Prepared, i: int, store: bool) -> dict:
    T, n, p = prep.T, prep.n, prep.p
    y = prep.y[i]
    c = prep.c[i if prep.c.shape[0] > 1 else 0]
    d = prep.d[i if prep.d.shape[0] > 1 else 0]
    x = prep.x0[i if prep.x0.shape[0] > 1 else 0].copy()
    L = psd_factor(prep.P0)
    out = allocate_outputs(1, T, n, p, store=True, zeros=True)
    cache: dict = {}
    tv_noise = any(M.shape[0] > 1 for M in (prep.Q, prep.R, prep.S))
    for t in range(T):
        A, C, Q, R, S = (_at(M, t) for M in (prep.A, prep.C, prep.Q, prep.R, prep.S))
        ct, dt = _at(c, t), _at(d, t)
        W = np.flatnonzero(~np.isnan(y[t]))
        k = W.size
        key = (t if tv_noise else -1, W.tobytes())
        Gam = cache.get(key)
        if Gam is None:
            Sig = np.block([[Q, S[:, W]], [S[:, W].T, R[np.ix_(W, W)]]])
            Gam = psd_factor(Sig)
            if not tv_noise:
                cache[key] = Gam
        CL = C[W] @ L
        pre = np.block([[CL, Gam[n:]], [A @ L, Gam[:n]]])
        post = np.linalg.qr(pre.T, mode="r").T[:, : n + k]
        F12 = post[:k, :k]
        sgn = np.where(np.diag(F12) < 0, -1.0, 1.0)
        F12 = F12 * sgn
        Kbar = post[k:, :k] * sgn
        Lnext = post[k:, k:]
        if store:
            out["xp"][0, t] = x
            out["Pp"][t] = L @ L.T
            out["F"][t] = C @ out["Pp"][t] @ C.T + R
        if k:
            dg = np.diag(F12)
            if np.any(dg <= 0):
                raise InvalidValueError(
                    f"sys: expected a positive definite innovation covariance, got a singular "
                    f"one at t={t}"
                )
            v = y[t, W] - C[W] @ x - dt[W]
            e = solve_triangular(F12, v, lower=True)
            out["llobs"][0, t] = -0.5 * (k * LOG2PI + 2.0 * np.sum(np.log(dg)) + e @ e)
            if store:
                # P C_W' F^-1 v = L (C_W L)' F^{-T/2} e
                Z = solve_triangular(F12, CL @ L.T, lower=True).T
                out["xf"][0, t] = x + Z @ e
                out["Pf"][t] = out["Pp"][t] - Z @ Z.T
                Fi12 = solve_triangular(F12, np.eye(k), lower=True)
                out["Finv"][t][np.ix_(W, W)] = Fi12.T @ Fi12
                out["K"][t][:, W] = Kbar @ Fi12
                out["v"][0, t, W] = v
            x = A @ x + ct + Kbar @ e
        else:
            if store:
                out["xf"][0, t], out["Pf"][t] = x, out["Pp"][t]
            x = A @ x + ct
        L = Lnext
    if store:
        out["xp"][0, T], out["Pp"][T] = x, L @ L.T
    out["loglik"] = out["llobs"].sum(axis=1)
    return out


def square_root_filter_reference(prep: Prepared, store: bool = True, tol=None) -> list:
    """NumPy definition of :func:`square_root_filter` (same interface), without the
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
    >>> from realize.filtering.square_root import (square_root_filter,
    ...                                            square_root_filter_reference)
    >>> a, b = square_root_filter(prep)[0][1], square_root_filter_reference(prep)[0][1]
    >>> bool(np.allclose(a["xf"], b["xf"]))
    True
    """
    return [(np.array([i]), _filter_one(prep, i, store)) for i in range(prep.N)]


def square_root_filter(
    prep: Prepared, store: bool = True, tol: float | None = STEADY_STATE_TOL
) -> list:
    """Compiled square-root filter, one series at a time (interface of
    ``conventional_filter``, with the same steady-state switch).

    For time-invariant matrices, once the predicted covariance has converged
    (``max|P[t+1] - P[t]| <= tol max|P[t]|`` with P = L L', at a fully observed step),
    the factor L and the post-array blocks ``F^{1/2}``, ``K F^{1/2}`` are frozen (no QR
    per step) until the next missing entry of the series (``steady`` marks the frozen
    steps). ``prep.steady_start`` (``init="steady_state"``) starts frozen from a factor
    of the Riccati solution. ``tol=None`` disables the switch.

    Parameters
    ----------
    prep : Prepared
        The validated problem from :func:`~realize.filtering._model.prepare`.
    store : bool
        Keep the per-step states and covariances (else only the log-likelihood).
    tol : float or None
        Relative change of the predicted covariance below which the factor and gain are
        frozen at their steady state; None never switches.

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
    >>> from realize.filtering.square_root import square_root_filter
    >>> sr, conv = square_root_filter(prep)[0][1], conventional_filter(prep)[0][1]
    >>> bool(np.allclose(sr["loglik"], conv["loglik"]))
    True
    """
    from realize._ext._kalman_square_root import square_root_filter as kernel

    tol = -1.0 if tol is None else float(tol)
    T, n, p = prep.T, prep.n, prep.p
    Tg = max(prep.Q.shape[0], prep.R.shape[0], prep.S.shape[0])
    joint = np.empty((Tg, n + p, n + p))
    joint[:, :n, :n] = prep.Q
    joint[:, n:, n:] = prep.R
    joint[:, :n, n:] = prep.S
    joint[:, n:, :n] = np.swapaxes(prep.S, 1, 2)
    Gam = np.ascontiguousarray(np.stack([psd_factor(J) for J in joint]))
    L0 = np.ascontiguousarray(psd_factor(prep.P0))
    groups = []
    e2, e3 = np.empty((0, 0)), np.empty((0, 0, 0))
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
            out = dict(xp=e3, Pp=e3, xf=e3, Pf=e3, v=e3, F=e3, Finv=e3, K=e3)
        out["llobs"] = np.zeros((1, T))
        out["loglik"] = np.zeros(1)
        out["steady"] = np.zeros(T if store else 0, dtype=np.int8)
        bad = kernel(
            prep.A,
            prep.C,
            Gam,
            prep.R,
            _row(i, prep.c),
            _row(i, prep.d),
            prep.y[i],
            _row(i, prep.x0),
            L0,
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
        if bad >= 0:
            raise InvalidValueError(
                f"sys: expected a positive definite innovation covariance, got a singular one "
                f"at t={bad}"
            )
        groups.append((np.array([i]), out))
    return groups


def _row(i: int, a: np.ndarray) -> np.ndarray:
    """Series i of a per-series stack, or the shared one."""
    return a[i if a.shape[0] > 1 else 0]
