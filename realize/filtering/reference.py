"""Plain NumPy reference: the filters' definitions and the fixed-interval smoother.

Slow (a Python loop over time) and written for reading: the definitions the compiled
kernels are tested against. :func:`reference_run` mirrors the compiled driver (one loop,
one step function per method, the interface of
:func:`realize.filtering.conventional.conventional_filter`); this module holds the
conventional step (:func:`reference_filter`, which can back :func:`realize.kalman_filter`
as ``method="reference"``), ``univariate`` and ``square_root`` hold theirs, and
:mod:`realize.filtering.diffuse` the exact diffuse step that every method runs first
under a diffuse start. The references are the exact recursion (no steady-state switch),
one series at a time.

The smoother is the backward recursion of Durbin & Koopman (2012, sections 4.4.4, 4.7
and, for the diffuse period, 5.3), step by step from the filter's definitions: it
inverts only the innovation covariances F, never the predicted covariance P[t+1] of
the Rauch-Tung-Striebel form, so it holds where P[t+1] is singular (an AR(p) in
companion form without measurement noise, exactly known states).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from realize._linalg import is_positive_definite, symmetrize
from realize.errors import InvalidValueError
from realize.filtering._compiled import SINGULAR_F
from realize.filtering._model import Prepared, stack_at
from realize.filtering._outputs import FilterGroup, FilterOutputs
from realize.filtering.diffuse import diffuse_smooth, diffuse_step, not_identified

__all__ = ["reference_filter", "reference_smoother", "reference_run"]

LOG2PI = np.log(2.0 * np.pi)


def reference_run(
    prep: Prepared,
    step: Callable,
    start: Callable = lambda P0: P0.copy(),
    finish: Callable = lambda P: P,
) -> list[FilterGroup]:
    """The reference driver: one series at a time, ``step`` at every time step.

    ``step(prep, t, W, y_t, c_t, d_t, x, cov, out)`` is one step of a method at time t
    with observed channels W (an index array): it writes the step's entries of ``out``
    (a :class:`~realize.filtering._outputs.FilterOutputs` of one series, zero-filled) and
    returns ``(x[t+1], cov[t+1])``. ``cov`` is what the method carries (P, or a factor
    of it): ``start(P0)`` is the first, ``finish(cov)`` the predicted covariance.

    Under an exact diffuse start (``prep.Pinf``) every method first runs
    :func:`~realize.filtering.diffuse.diffuse_step` until P_inf is zero, then its own step
    from ``start(P_*)``.

    Raises
    ------
    DataError
        If P_inf is still nonzero after the last sample.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=50, rng=0)
    >>> [(series, out)] = reference_run(prepare(sys, y), conventional_step)
    >>> out.xp.shape, bool(np.isclose(out.loglik[0], realize.loglik(sys, y)))
    ((1, 51, 1), True)
    """
    T, n, p = prep.T, prep.n, prep.p
    groups = []
    for i in range(prep.N):
        y, c, d, x = prep.data(i)
        diffuse = prep.Pinf is not None
        x = x.copy()
        cov = (prep.P0.copy(), prep.Pinf.copy()) if diffuse else start(prep.P0)
        out = FilterOutputs.allocate(1, T, n, p, zeros=True, diffuse_steps=T + 1 if diffuse else 0)
        for t in range(T):
            W = np.flatnonzero(~np.isnan(y[t]))
            if diffuse:
                x, cov = diffuse_step(prep, t, W, y[t], stack_at(c, t), stack_at(d, t), x, cov, out)
                if not np.any(cov[1]):
                    diffuse, out.n_diffuse, cov = False, t + 1, start(cov[0])
                continue
            x, cov = step(prep, t, W, y[t], stack_at(c, t), stack_at(d, t), x, cov, out)
        if diffuse:
            raise not_identified(T)
        out.xp[0, T], out.Pp[T] = x, finish(cov)
        out.loglik = out.llobs.sum(axis=1)
        groups.append(FilterGroup(np.array([i]), out))
    return groups


def conventional_step(prep, t, W, yt, ct, dt, x, P, out):
    """Conventional filter, step t (Durbin & Koopman 2012, sections 4.3 and 4.10)."""
    A, C, Q, R, S = prep.at(t)
    out.xp[0, t], out.Pp[t] = x, P
    M = P @ C.T
    out.F[t] = C @ M + R
    if W.size:
        F = out.F[t][np.ix_(W, W)]
        v = yt[W] - C[W] @ x - dt[W]
        G = A @ M[:, W] + S[:, W]
        if not is_positive_definite(F):
            # the compiled filters' error for a singular innovation covariance
            raise InvalidValueError(SINGULAR_F.format(t=t))
        Fi = np.linalg.inv(F)
        K = G @ Fi
        out.xf[0, t] = x + M[:, W] @ Fi @ v
        out.Pf[t] = P - M[:, W] @ Fi @ M[:, W].T
        out.llobs[0, t] = -0.5 * (W.size * LOG2PI + np.linalg.slogdet(F)[1] + v @ Fi @ v)
        out.v[0, t, W] = v
        out.Finv[t][np.ix_(W, W)] = Fi
        out.K[t][:, W] = K
        x = A @ x + ct + K @ v
        P = A @ P @ A.T + Q - K @ G.T
    else:
        out.xf[0, t], out.Pf[t] = x, P
        x = A @ x + ct
        P = A @ P @ A.T + Q
    return x, symmetrize(P)


def reference_filter(prep: Prepared, store: bool = True, tol=None) -> list[FilterGroup]:
    """NumPy definition of the conventional filter: :func:`conventional_step` in
    :func:`reference_run` (the exact recursion, one series at a time; ``store`` and
    ``tol`` are ignored), with the interface of
    :func:`~realize.filtering.conventional.conventional_filter`.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.reference import reference_filter
    >>> sys = realize.StateSpace([[0.5]], C=[[1.0]], Q=[[0.75]], R=[[0.0]])
    >>> [(_, out)] = reference_filter(prepare(sys, [1.0, np.nan, 0.5]))
    >>> out.v[0, :, 0].tolist(), out.Pp[:, 0, 0].tolist()  # nothing observed at t = 1
    ([1.0, 0.0, 0.25], [1.0, 0.75, 0.9375, 0.75])
    """
    return reference_run(prep, conventional_step)


def reference_smoother(prep: Prepared, out: FilterOutputs, i: int = 0) -> tuple:
    """Fixed-interval smoother of series ``i`` from a reference filter output: the
    backward recursion of Durbin & Koopman (2012, eqs. 4.44, 4.69; 5.3 for the diffuse
    period, :func:`~realize.filtering.diffuse.diffuse_smooth`), no inverse of P[t+1].

    Parameters
    ----------
    prep : Prepared
        The validated problem from :func:`~realize.filtering._model.prepare`.
    out : FilterOutputs
        The outputs of :func:`reference_filter` (or a reference filter of another
        method) for series ``i``.
    i : int
        The series.

    Returns
    -------
    smoothed_state : (T, n) array
    smoothed_cov : (T, n, n) array
    lag1 : (T-1, n, n) array
        ``lag1[t] = cov(x[t+1], x[t] | y)``.

    Notes
    -----
    With ``L_t = A_t - K_t C_t`` (K_t zero at the missing channels) and
    ``r_{T-1} = 0``, ``N_{T-1} = 0``::

        r_{t-1} = C' F^-1 v_t + L_t' r_t,   N_{t-1} = C' F^-1 C + L_t' N_t L_t
        xs_t = a_t + P_t r_{t-1},           Ps_t = P_t - P_t N_{t-1} P_t
        cov(x_{t+1}, x_t | y) = (I - P_{t+1} N_t) L_t P_t

    Examples
    --------
    The reference agrees with the compiled backward pass, and holds for an AR(2) in
    companion form without measurement noise (singular P[t+1]):

    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.reference import reference_filter, reference_smoother
    >>> model = realize.StateSpace([[0.5, 0.3], [1.0, 0.0]], C=[[1.0, 0.0]],
    ...                            Q=[[1.0, 0.0], [0.0, 0.0]], R=[[0.0]])
    >>> y = model.simulate(T=30, rng=3)
    >>> prep = prepare(model, y)
    >>> xs, Ps, lag1 = reference_smoother(prep, reference_filter(prep)[0].out)
    >>> bool(np.allclose(xs, realize.kalman_smoother(model, y).smoothed_state)), lag1.shape
    (True, (29, 2, 2))
    """
    T, n = prep.T, prep.n
    d = out.n_diffuse
    xp, Pp, v, Finv, K = out.xp[0], out.Pp, out.v[0], out.Finv, out.K
    xs, Ps, lag1 = np.zeros((T, n)), np.zeros((T, n, n)), np.zeros((max(T - 1, 0), n, n))
    r, N = np.zeros(n), np.zeros((n, n))
    for t in range(T - 1, d - 1, -1):
        A, C = prep.at(t)[:2]
        L = A - K[t] @ C
        if t + 1 < T:
            lag1[t] = (np.eye(n) - Pp[t + 1] @ N) @ L @ Pp[t]
        r = C.T @ Finv[t] @ v[t] + L.T @ r
        N = symmetrize(C.T @ Finv[t] @ C + L.T @ N @ L)
        xs[t] = xp[t] + Pp[t] @ r
        Ps[t] = symmetrize(Pp[t] - Pp[t] @ N @ Pp[t])
    if d:
        one = prep.series(np.array([i]))
        diffuse_smooth(one, out, d, r[None], N, xs[None], Ps, lag1)
    return xs, Ps, lag1
