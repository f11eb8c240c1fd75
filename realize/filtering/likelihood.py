"""Exact Gaussian log-likelihood through the prediction-error decomposition."""

from __future__ import annotations

from realize.filtering._model import STEADY_STATE_TOL, prepare, steady_state_tol
from realize.filtering._outputs import merge
from realize.filtering.filter import public_method, run_filter
from realize.filtering.panel import is_dask, panel_loglik

__all__ = ["loglik"]


def loglik(
    sys,
    y,
    u=None,
    x0=None,
    P0=None,
    *,
    init: str = "auto",
    P0_diffuse=None,
    method: str = "conventional",
    steady_state: bool = True,
    tol: float = STEADY_STATE_TOL,
):
    r"""Exact Gaussian log-likelihood of y, computing only what it needs.

    The compiled filter runs without storing states, covariances or gains (two state
    vectors and one covariance in memory), with the steady-state switch. For a
    time-invariant model whose A has a well-conditioned eigenvector basis, the
    ``"conventional"`` recursion runs in the real modal basis (A block diagonal, 1 x 1
    and 2 x 2 blocks), where the time update A P A' costs O(n^2) instead of O(n^3); the
    likelihood does not depend on the state basis.

    Parameters
    ----------
    sys, y, u, x0, P0, init, P0_diffuse, method, steady_state, tol
        As in :func:`realize.kalman_filter`.

    Returns
    -------
    float, or (N,) array for y of shape (N, T, p) (also a dask panel, computed chunk by
    chunk of series)
        ``-1/2 sum_t (|W_t| log 2 pi + log det F_t + v_t' F_t^-1 v_t)`` over the
        observed entries (prediction-error decomposition, Durbin & Koopman 2012, 7.2.1).
        Under an exact diffuse start (``init="diffuse"``, ``P0_diffuse``, or ``"auto"``
        on an unstable A) it is the diffuse log-likelihood (DK 2012, eq. 7.4): each
        observed channel with ``F_inf > 0`` contributes ``-1/2 (log 2 pi + log F_inf)``,
        statsmodels' convention for ``initialize_diffuse()``. On the Nile local-level
        model (level variance 1469.1, irregular 15099) that is -633.46; statsmodels'
        ``UnobservedComponents`` default, -632.54, is
        ``kalman_filter(sys, y, P0=1e6 * np.eye(n)).loglik_obs[n:].sum()``, and
        ``loglik(sys, y, P0=1e6 * np.eye(n))`` (realize's former ``"diffuse"``) -640.99
        (:mod:`realize.filtering.diffuse`).

    Raises
    ------
    As :func:`realize.kalman_filter`; never returns NaN.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5]], C=[[1.0]], Q=[[0.75]], R=[[0.0]])
    >>> y = np.array([1.0, 0.5])   # stationary AR(1) with unit variance
    >>> ll = realize.loglik(sys, y)
    >>> ref = -0.5 * (2 * np.log(2 * np.pi) + np.log(0.75) + 1.0 + 0.0 / 0.75)
    >>> bool(np.isclose(ll, ref))
    True
    """
    method = public_method(method)
    if is_dask(y):
        options = dict(P0_diffuse=P0_diffuse, method=method, steady_state=steady_state, tol=tol)
        return panel_loglik(sys, y, u, x0, P0, init=init, **options)
    tol = steady_state_tol(tol, steady_state)
    prep = prepare(sys, y, u, x0, P0, init, P0_diffuse)
    ll = merge(prep.N, run_filter(prep, method, store=False, tol=tol), "loglik")
    return ll if prep.batched else float(ll[0])
