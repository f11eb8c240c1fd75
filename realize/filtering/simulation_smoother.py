r"""Simulation smoother: draws of the states and disturbances from their distribution
given the data (Durbin & Koopman 2002, the mean-correction method).

Draw ``x0+ ~ N(0, P0)`` (P0 the finite part P_* under an exact diffuse start: the
diffuse directions start at zero, DK 2012 section 4.9.3) and ``[w+_t; v+_t] ~ N(0, [[Q, S], [S', R]])``, run the model
from them without inputs, ``x+_{t+1} = A x+_t + w+_t``, ``y+_t = C x+_t + v+_t``. Then
``x+ - E[x+ | y+]`` has the distribution of ``x - E[x | y]`` (Gaussian, with the smoothed
covariance, which does not depend on the data), so ::

    x~ = E[x | y] + x+ - E[x+ | y+] = x+ + E[x | y - y+]

is a draw from ``p(x | y)``: the smoother, being affine in the data, is run once on
``y - y+`` (NaN where y is missing), for all draws and series at once (they share the
covariance recursion when they share the missing pattern). The disturbances likewise,
with the disturbance smoother (:mod:`realize.filtering.disturbance`).

References
----------
.. [1] J. Durbin and S. J. Koopman, "A simple and efficient simulation smoother for
   state space time series analysis", Biometrika 89(3), 2002.
.. [2] J. Durbin and S. J. Koopman, *Time Series Analysis by State Space Methods*,
   2nd ed., 2012, section 4.9.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from realize._checks import as_int
from realize._linalg import psd_factor
from realize.filtering._model import (
    STEADY_STATE_TOL,
    Prepared,
    joint_noise_cov,
    prepare,
    stack_at,
    steady_state_tol,
)
from realize.filtering._outputs import series_groups
from realize.filtering.disturbance import smooth_disturbances
from realize.filtering.filter import public_method, run_filter
from realize.filtering.smoother import smooth_groups
from realize.model import compact_repr

__all__ = [
    "simulation_smoother",
    "SimulationSmootherResult",
    "draw_disturbances",
    "mean_correction",
]


@dataclass(repr=False)
class SimulationSmootherResult:
    """Output of :func:`realize.simulation_smoother`.

    Each array has a leading axis of the draws; for N series (y of shape (N, T, p)) the
    series axis follows it.

    Attributes
    ----------
    state : (draws, T, n) array
        Draws of ``x_0..x_{T-1}`` given y (each shaped like ``smoothed_state``).
    state_disturbance : (draws, T, n) array
        Draws of ``w_t`` given y (``x_{t+1} = A x_t + B u_t + w_t``).
    observation_disturbance : (draws, T, p) array
        Draws of ``v_t`` given y (``y_t = C x_t + D u_t + v_t``); on observed channels
        ``y = C x + D u + v`` holds exactly.
    draws : int

    Examples
    --------
    >>> import realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> sim = realize.simulation_smoother(sys, sys.simulate(T=40, rng=0), draws=5, rng=1)
    >>> sim.state.shape, sim.observation_disturbance.shape
    ((5, 40, 1), (5, 40, 1))
    """

    state: np.ndarray
    state_disturbance: np.ndarray
    observation_disturbance: np.ndarray
    draws: int

    def __repr__(self) -> str:
        return compact_repr(self)


def draw_disturbances(prep: Prepared, draws: int, rng: np.random.Generator) -> tuple:
    """Draw the initial state deviation and the disturbances of ``draws`` x N series.

    Standard normal variates ``z0`` (draws, N, n) then ``z`` (draws, N, T, n + p), in
    that order from ``rng``, are mapped by factors ``L L' = P0`` and ``L_t L_t' = [[Q_t,
    S_t], [S_t', R_t]]`` (Cholesky when positive definite, else
    :func:`realize._linalg.psd_factor`).

    Returns
    -------
    x0 : (draws, N, n) array
        ``x0+ - E[x_0]``.
    w : (draws, N, T, n) array
    v : (draws, N, T, p) array

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> prep = prepare(sys, sys.simulate(T=20, rng=0))
    >>> x0, w, v = draw_disturbances(prep, 3, np.random.default_rng(0))
    >>> x0.shape, w.shape, v.shape
    ((3, 1, 1), (3, 1, 20, 1), (3, 1, 20, 1))
    """
    N, T, n, p = prep.N, prep.T, prep.n, prep.p
    z0 = rng.standard_normal((draws, N, n))
    z = rng.standard_normal((draws, N, T, n + p))
    G = joint_noise_cov(prep.Q, prep.R, prep.S)
    L = np.stack([psd_factor(g, cholesky=True) for g in G])  # (1 or T, n+p, n+p)
    e = np.einsum("tij,dntj->dnti", L, z) if len(L) > 1 else z @ L[0].T
    x0 = z0 @ psd_factor(prep.P0, cholesky=True).T
    return x0, np.ascontiguousarray(e[..., :n]), np.ascontiguousarray(e[..., n:])


def _simulate(prep: Prepared, x0: np.ndarray, w: np.ndarray, v: np.ndarray) -> tuple:
    """States and outputs of the model without inputs or initial mean, from given draws:
    ``x+`` (..., T, n), ``y+`` (..., T, p)."""
    T = prep.T
    x = np.empty(w.shape)
    xt = x0
    for t in range(T):
        x[..., t, :] = xt
        xt = xt @ stack_at(prep.A, t).T + w[..., t, :]
    if prep.C.shape[0] == 1:
        y = x @ prep.C[0].T + v
    else:
        y = np.einsum("tpn,...tn->...tp", prep.C, x) + v
    return x, y


def _repeat(prep: Prepared, idx: np.ndarray, y: np.ndarray) -> Prepared:
    """The problem of the series ``idx`` repeated for each draw, with the data y
    (draws, len(idx), T, p)."""
    sub = prep.series(idx)
    draws = y.shape[0]

    def rows(a):
        return (
            a
            if a is None or a.shape[0] == 1
            else np.ascontiguousarray(np.tile(a, (draws, 1, 1)[: a.ndim]))
        )

    return replace(
        sub,
        y=np.ascontiguousarray(y.reshape(-1, *y.shape[2:])),
        c=rows(sub.c),
        d=rows(sub.d),
        u=rows(sub.u),
        x0=rows(sub.x0),
        batched=True,
    )


def mean_correction(prep: Prepared, x0, w, v, method: str = "conventional", tol=None) -> dict:
    """Durbin & Koopman's (2002) draws from given disturbance draws (module docstring).

    Parameters
    ----------
    prep : Prepared
        The validated problem (N series).
    x0, w, v : arrays
        As returned by :func:`draw_disturbances`.
    method : str
        The filter (as in :func:`realize.kalman_filter`).
    tol : float or None
        The steady-state tolerance.

    Returns
    -------
    dict
        ``state`` (draws, N, T, n), ``w`` (draws, N, T, n), ``v`` (draws, N, T, p).

    Examples
    --------
    Zero disturbance draws give the smoothed states themselves:

    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=20, rng=0)
    >>> out = mean_correction(prepare(sys, y), np.zeros((1, 1, 1)), *np.zeros((2, 1, 1, 20, 1)))
    >>> bool(np.allclose(out["state"][0, 0], realize.kalman_smoother(sys, y).smoothed_state))
    True
    """
    xp, yp = _simulate(prep, x0, w, v)
    ystar = prep.y[None] - yp  # NaN where y is missing
    draws = ystar.shape[0]
    state, w_out, v_out = xp.copy(), w.copy(), v.copy()
    for idx in series_groups(prep.y):
        sub = _repeat(prep, idx, ystar[:, idx])
        groups = run_filter(sub, method, store=True, tol=tol, filtered_cov=False)
        xs = smooth_groups(sub, groups, tol, method)["xs"]
        dist = smooth_disturbances(sub, groups, covariances=False)
        shape = (draws, len(idx))
        state[:, idx] += xs.reshape(*shape, *xs.shape[1:])
        w_out[:, idx] += dist["w"].reshape(*shape, *dist["w"].shape[1:])
        v_out[:, idx] += dist["v"].reshape(*shape, *dist["v"].shape[1:])
    return dict(state=state, w=w_out, v=v_out)


def simulation_smoother(
    sys,
    y,
    u=None,
    draws: int = 1,
    rng=None,
    *,
    x0=None,
    P0=None,
    init: str = "auto",
    P0_diffuse=None,
    method: str = "conventional",
    steady_state: bool = True,
    tol: float = STEADY_STATE_TOL,
) -> SimulationSmootherResult:
    r"""Draw the states and disturbances from their distribution given the data.

    Parameters
    ----------
    sys, y, u, x0, P0, init, P0_diffuse, method, steady_state, tol
        As in :func:`realize.kalman_smoother` (y may contain NaN; (N, T, p) for N series;
        an exact diffuse start is allowed).
    draws : int, default 1
        Number of draws, >= 1.
    rng : None, int or numpy.random.Generator
        The random generator or its seed (``numpy.random.default_rng(rng)``).

    Returns
    -------
    SimulationSmootherResult
        ``state`` (draws, T, n), ``state_disturbance`` (draws, T, n),
        ``observation_disturbance`` (draws, T, p); (draws, N, T, ...) for N series.

    Raises
    ------
    InvalidValueError
        ``draws`` not an integer >= 1.
    As :func:`realize.kalman_smoother` for the rest.

    Notes
    -----
    The mean-correction method of Durbin & Koopman (2002): with ``(x+, y+)`` simulated
    from the model (zero initial mean, no inputs), ``x~ = x+ + E[x | y - y+]`` (the
    module docstring of :mod:`realize.filtering.simulation_smoother`). One smoother run
    over all the draws; the mean of the draws is ``smoothed_state`` and their covariance
    ``smoothed_cov``. The variates are drawn by :func:`draw_disturbances` (pass them,
    transformed, to statsmodels' ``simulate(..., pretransformed_...=True)`` to get the
    same draws).

    Under an exact diffuse start (Durbin & Koopman 2012, section 4.9.3) ``x0+`` is drawn
    from the finite part ``N(0, P_*)`` only, the diffuse directions set to zero (any value
    would do: ``x+`` and ``E[x+ | y+]`` move together along them), and the smoother on
    ``y - y+`` is the exact diffuse one, so the draws' moments are the exact diffuse
    smoothed ones. statsmodels' simulation smoother does the same
    (``alpha_1+ = a_1 + chol(P_*) z``).

    References
    ----------
    .. [1] J. Durbin and S. J. Koopman, "A simple and efficient simulation smoother for
       state space time series analysis", Biometrika 89(3), 2002.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=50, rng=0)
    >>> sim = realize.simulation_smoother(sys, y, draws=2000, rng=1)
    >>> sm = realize.kalman_smoother(sys, y)
    >>> bool(np.allclose(sim.state.mean(axis=0), sm.smoothed_state, atol=0.1))
    True
    """
    draws = as_int(draws, "draws", low=1)
    method = public_method(method)
    tol = steady_state_tol(tol, steady_state)
    prep = prepare(sys, y, u, x0, P0, init, P0_diffuse)
    rng = np.random.default_rng(rng)
    out = mean_correction(prep, *draw_disturbances(prep, draws, rng), method=method, tol=tol)
    if not prep.batched:
        out = {k: a[:, 0] for k, a in out.items()}
    return SimulationSmootherResult(
        state=out["state"],
        state_disturbance=out["w"],
        observation_disturbance=out["v"],
        draws=draws,
    )
