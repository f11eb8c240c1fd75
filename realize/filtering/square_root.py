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
constructed case). The recursion is the square-root step of the compiled driver
(``_ext/_kalman_square_root.pxi``, LAPACK's dgeqrf per step); the NumPy step
:func:`square_root_step` beside it is its definition and test oracle (the exact
recursion: it has no steady-state switch).

Steady state: for time-invariant matrices the compiled filter has the conventional
filter's switch. Once ``max|P[t+1] - P[t]| <= tol max|P[t]|`` (P = L L') at a fully
observed step, the factor L, ``F^{1/2}`` and ``K F^{1/2}`` are frozen and no pre-array is
factored until the next missing entry, where the recursion resumes.
``init="steady_state"`` starts frozen from a factor of the Riccati solution.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from scipy.linalg import solve_triangular

from realize._linalg import psd_factor
from realize.errors import InvalidValueError
from realize.filtering._compiled import run_compiled
from realize.filtering._model import STEADY_STATE_TOL, Prepared, joint_noise_cov
from realize.filtering._outputs import FilterGroup
from realize.filtering.reference import LOG2PI, reference_run

__all__ = ["square_root_filter", "square_root_filter_reference"]


def square_root_step(prep, t, W, yt, ct, dt, x, L, out, factors):
    """Square-root filter, step t: one QR of the pre-array. ``factors`` caches the factor
    of ``cov([w; v_W])`` by (time, W)."""
    A, C, Q, R, S = prep.at(t)
    k, n = W.size, prep.n
    tv_noise = any(M.shape[0] > 1 for M in (prep.Q, prep.R, prep.S))
    key = (t if tv_noise else -1, W.tobytes())
    Gam = factors.get(key)
    if Gam is None:
        Gam = psd_factor(np.block([[Q, S[:, W]], [S[:, W].T, R[np.ix_(W, W)]]]), cholesky=True)
        if not tv_noise:
            factors[key] = Gam
    CL = C[W] @ L
    pre = np.block([[CL, Gam[n:]], [A @ L, Gam[:n]]])
    post = np.linalg.qr(pre.T, mode="r").T[:, : n + k]
    F12 = post[:k, :k]
    sgn = np.where(np.diag(F12) < 0, -1.0, 1.0)
    F12 = F12 * sgn
    Kbar = post[k:, :k] * sgn
    out.xp[0, t] = x
    out.Pp[t] = L @ L.T
    out.F[t] = C @ out.Pp[t] @ C.T + R
    if k:
        dg = np.diag(F12)
        if np.any(dg <= 0):
            raise InvalidValueError(
                f"sys: expected a positive definite innovation covariance, got a singular "
                f"one at t={t}"
            )
        v = yt[W] - C[W] @ x - dt[W]
        e = solve_triangular(F12, v, lower=True)
        out.llobs[0, t] = -0.5 * (k * LOG2PI + 2.0 * np.sum(np.log(dg)) + e @ e)
        # P C_W' F^-1 v = L (C_W L)' F^{-T/2} e
        Z = solve_triangular(F12, CL @ L.T, lower=True).T
        out.xf[0, t] = x + Z @ e
        out.Pf[t] = out.Pp[t] - Z @ Z.T
        Fi12 = solve_triangular(F12, np.eye(k), lower=True)
        out.Finv[t][np.ix_(W, W)] = Fi12.T @ Fi12
        out.K[t][:, W] = Kbar @ Fi12
        out.v[0, t, W] = v
        x = A @ x + ct + Kbar @ e
    else:
        out.xf[0, t], out.Pf[t] = x, out.Pp[t]
        x = A @ x + ct
    return x, post[k:, k:]


def square_root_filter_reference(prep: Prepared, store: bool = True, tol=None) -> list:
    """NumPy definition of :func:`square_root_filter`: :func:`square_root_step` in the
    reference driver (:func:`~realize.filtering.reference.reference_run`: the exact
    recursion, one series at a time; ``store`` and ``tol`` are ignored), the oracle the
    compiled filter is tested against with ``tol=None``.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=50, rng=0)
    >>> [(series, out)] = square_root_filter_reference(prepare(sys, y))
    >>> out.Pp.shape, bool(np.isclose(out.loglik[0], realize.loglik(sys, y)))
    ((51, 1, 1), True)
    """
    return reference_run(
        prep,
        partial(square_root_step, factors={}),
        start=partial(psd_factor, cholesky=True),
        finish=lambda L: L @ L.T,
    )


def square_root_filter(
    prep: Prepared, store: bool = True, tol: float | None = STEADY_STATE_TOL
) -> list[FilterGroup]:
    """Compiled square-root filter, with the interface, the steady-state switch and the
    groups of series of :func:`~realize.filtering.conventional.conventional_filter`.

    Once the predicted covariance of a time-invariant model has converged (P = L L'),
    the factor L and the post-array blocks ``F^{1/2}``, ``K F^{1/2}`` are frozen (no QR
    per step) until the next missing entry (``steady`` marks the frozen steps).
    ``prep.steady_start`` (``init="steady_state"``) starts frozen from a factor of the
    Riccati solution.

    Raises
    ------
    InvalidValueError
        For a singular innovation covariance.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.square_root import square_root_filter, square_root_filter_reference
    >>> sys = realize.StateSpace([[0.9, 1.0], [0.0, 0.7]], C=[[1.0, 0.0]], Q=np.eye(2), R=[[1e-6]])
    >>> prep = prepare(sys, sys.simulate(T=40, rng=2))
    >>> fast = square_root_filter(prep, tol=None)[0].out
    >>> bool(np.allclose(fast.Pp, square_root_filter_reference(prep)[0].out.Pp))
    True
    """
    joint = joint_noise_cov(prep.Q, prep.R, prep.S)
    noise_factor = np.ascontiguousarray(np.stack([psd_factor(J, cholesky=True) for J in joint]))
    P0_factor = np.ascontiguousarray(psd_factor(prep.P0, cholesky=True))
    return run_compiled(
        prep, "square_root", store, tol, noise_factor=noise_factor, P0_factor=P0_factor
    )
