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

The recursion is the univariate step of the compiled driver
(``_ext/_kalman_univariate.pxi``); the NumPy step :func:`univariate_step` beside it is its
definition and test oracle (the exact recursion: it has no steady-state switch). The
multivariate innovations, their covariance and the predictor gain are reported as well
(so that the smoother can run on its output); they are formed on the side and only when
stored, so the log-likelihood alone factors no p x p matrix.
"""

from __future__ import annotations

import numpy as np

from realize._linalg import symmetrize
from realize.errors import InvalidValueError
from realize.filtering._compiled import run_compiled
from realize.filtering._model import STEADY_STATE_TOL, Prepared
from realize.filtering._outputs import FilterGroup
from realize.filtering.reference import LOG2PI, reference_run

__all__ = ["univariate_filter", "univariate_filter_reference"]


def _check_diagonal(R: np.ndarray) -> None:
    off = R - np.einsum("tii->ti", R)[:, :, None] * np.eye(R.shape[1])
    if np.any(off != 0.0):
        raise InvalidValueError(
            "method: 'univariate' needs a diagonal R (uncorrelated measurement noise), got "
            f"off-diagonal entries up to {np.max(np.abs(off)):.3g}"
        )


def _side_outputs(A, C, R, S, W, yt, dt, x, P, out, t):
    """The multivariate quantities of step t, for the outputs and the smoother only."""
    out.xp[0, t], out.Pp[t] = x, P
    M = P @ C.T
    out.F[t] = C @ M + R
    if W.size:
        Fw = out.F[t][np.ix_(W, W)]
        try:
            Fi = np.linalg.inv(Fw)
        except np.linalg.LinAlgError:
            # reported outputs only; the sequential recursion needs no inverse
            Fi = np.linalg.pinv(Fw, hermitian=True)
        out.v[0, t, W] = yt[W] - C[W] @ x - dt[W]
        out.Finv[t][np.ix_(W, W)] = Fi
        out.K[t][:, W] = (A @ M[:, W] + S[:, W]) @ Fi


def univariate_step(prep, t, W, yt, ct, dt, x, P, out):
    """Univariate filter, step t: the channels of W one at a time, then the decorrelated
    prediction (Durbin & Koopman 2012, section 6.4)."""
    A, C, Q, R, S = prep.at(t)
    _side_outputs(A, C, R, S, W, yt, dt, x, P, out, t)
    a, Pt, ll = x.copy(), P.copy(), 0.0
    for j in W:
        cj = C[j]
        Pc = Pt @ cj
        f = cj @ Pc + R[j, j]
        e = yt[j] - cj @ a - dt[j]
        if f <= 1e-300:
            raise InvalidValueError(
                f"sys: expected a positive innovation variance, got {f:.3g} at t={t}, channel {j}"
            )
        k = Pc / f
        a = a + k * e
        Pt = Pt - np.outer(k, Pc)
        ll -= 0.5 * (LOG2PI + np.log(f) + e * e / f)
    Pt = symmetrize(Pt)
    out.llobs[0, t] = ll
    out.xf[0, t], out.Pf[t] = a, Pt
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
        x = x + G @ (yt[W] - C[W] @ a - dt[W])
        At = A - G @ C[W]
        Q = Q - (G * r) @ G.T
    return x, symmetrize(At @ Pt @ At.T + Q)


def univariate_filter_reference(prep: Prepared, store: bool = True, tol=None) -> list:
    """NumPy definition of :func:`univariate_filter`: :func:`univariate_step` in the
    reference driver (:func:`~realize.filtering.reference.reference_run`: the exact
    recursion, one series at a time; ``store`` and ``tol`` are ignored), the oracle the
    compiled filter is tested against with ``tol=None``.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9, 0.1], [0.0, 0.5]], C=np.eye(2), Q=np.eye(2), R=np.eye(2))
    >>> y = sys.simulate(T=50, rng=0)
    >>> [(series, out)] = univariate_filter_reference(prepare(sys, y))
    >>> bool(np.isclose(out.loglik[0], realize.loglik(sys, y)))
    True
    """
    _check_diagonal(prep.R)
    return reference_run(prep, univariate_step)


def univariate_filter(
    prep: Prepared, store: bool = True, tol: float | None = STEADY_STATE_TOL
) -> list[FilterGroup]:
    """Compiled univariate filter, with the interface, the steady-state switch and the
    groups of series of :func:`~realize.filtering.conventional.conventional_filter`.

    Once the predicted covariance of a time-invariant model has converged, each channel's
    ``P c_i'`` and variance ``f`` of the sequential update are kept and replayed, and P,
    P_{t|t}, F and the gain frozen, until the next missing entry (``steady`` marks the
    frozen steps). ``prep.steady_start`` (``init="steady_state"``) starts frozen from
    the Riccati solution.

    Raises
    ------
    InvalidValueError
        If R is not diagonal (the channels are not independent), for a non-positive
        innovation variance, or for a zero R_ii on a channel correlated with the state
        noise.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.univariate import univariate_filter, univariate_filter_reference
    >>> sys = realize.StateSpace(np.diag([0.9, 0.5]), C=np.eye(2), Q=np.eye(2),
    ...                          R=np.diag([0.5, 2.0]))
    >>> prep = prepare(sys, sys.simulate(T=50, rng=1))
    >>> fast = univariate_filter(prep, tol=None)[0].out
    >>> bool(np.allclose(fast.xf, univariate_filter_reference(prep)[0].out.xf))
    True
    """
    _check_diagonal(prep.R)
    return run_compiled(prep, "univariate", store, tol)
