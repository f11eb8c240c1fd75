"""Plain NumPy reference: the filters' definitions and the classical RTS smoother.

Slow (a Python loop over time) and written for reading: the definitions the compiled
kernels are tested against. :func:`reference_run` mirrors the compiled driver (one loop,
one step function per method, the interface of
:func:`realize.filtering.conventional.conventional_filter`); this module holds the
conventional step (:func:`reference_filter`, which can back :func:`realize.kalman_filter`
as ``method="reference"``), ``univariate`` and ``square_root`` hold theirs. The
references are the exact recursion (no steady-state switch), one series at a time.

The smoother here is the textbook Rauch-Tung-Striebel form (Rauch, Tung & Striebel 1965;
Shumway & Stoffer 2017, Property 6.2 and eq. 6.55 for the lag-one covariance), a different
algorithm from the compiled Durbin-Koopman backward recursion, so the two check each
other. Correlated noise is handled by decorrelation (Anderson & Moore 1979, section 5.5):
with W the observed channels, ``x[t+1] = (A - G C_W) x[t] + B u + G (y_W - D_W u) + w~``
with ``G = S_W R_W^-1`` and ``cov(w~) = Q - G S_W'``, which needs R_W nonsingular.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from realize._linalg import is_positive_definite, symmetrize
from realize.errors import InvalidValueError
from realize.filtering._compiled import SINGULAR_F
from realize.filtering._model import Prepared, stack_at
from realize.filtering._outputs import FilterGroup, FilterOutputs

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
        x, cov = x.copy(), start(prep.P0)
        out = FilterOutputs.allocate(1, T, n, p, zeros=True)
        for t in range(T):
            W = np.flatnonzero(~np.isnan(y[t]))
            x, cov = step(prep, t, W, y[t], stack_at(c, t), stack_at(d, t), x, cov, out)
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
    """Classical RTS smoother of series ``i`` from a reference filter output.

    Parameters
    ----------
    prep : Prepared
        The validated problem from :func:`~realize.filtering._model.prepare`.
    out : FilterOutputs
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
    The textbook RTS recursion agrees with the compiled Durbin-Koopman backward pass:

    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.reference import reference_filter, reference_smoother
    >>> model = realize.StateSpace([[0.8]], C=[[1.0]], Q=[[0.5]], R=[[1.0]])
    >>> y = model.simulate(T=30, rng=3)
    >>> prep = prepare(model, y)
    >>> xs, Ps, lag1 = reference_smoother(prep, reference_filter(prep)[0].out)
    >>> bool(np.allclose(xs, realize.kalman_smoother(model, y).smoothed_state)), lag1.shape
    (True, (29, 1, 1))
    """
    T, n = prep.T, prep.n
    xf, Pf, xp, Pp = out.xf[0], out.Pf, out.xp[0], out.Pp
    xs, Ps, lag1 = xf.copy(), Pf.copy(), np.zeros((max(T - 1, 0), n, n))
    y = prep.y[i]
    for t in range(T - 2, -1, -1):
        A, C, _, R, S = prep.at(t)
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
