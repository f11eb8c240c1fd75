"""Result containers of the filter, the smoother and EM.

Their reprs follow the package's rule for results (:func:`realize.model.compact_repr`):
one line, the class name, key scalars, models by their head and arrays by their shape
(1-D ones by their first values), never the arrays themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from realize.model import short_value

__all__ = ["FilterResult", "SmootherResult", "EMResult"]


def _repr(result, names) -> str:
    """``Type(name=value, ...)`` over ``names``, each value short (the package's rule)."""
    body = ", ".join(f"{k}={short_value(getattr(result, k))}" for k in names)
    return f"{type(result).__name__}({body})"


@dataclass
class FilterResult:
    """Output of :func:`realize.kalman_filter`.

    Shapes are for one series y (T, p); for N series y (N, T, p) every array gains a
    leading axis N (covariances shared by the series are read-only broadcast views).

    Attributes
    ----------
    predicted_state : (T, n) array
        ``E[x_t | y_0..y_{t-1}]``; ``predicted_state[0] = x0``.
    predicted_cov : (T, n, n) array
        Its covariance P[t]; ``predicted_cov[0] = P0``.
    filtered_state : (T, n) array
        ``E[x_t | y_0..y_t]``.
    filtered_cov : (T, n, n) array
        ``cov(x_t | y_0..y_t)``. When the filter ran inside :func:`realize.kalman_smoother`
        or :func:`realize.em`, it is formed on first access from ``predicted_cov``, C and
        the inverse innovation covariances (``P - P C' F^-1 C P``, missing channels
        excluded), which saves the smoother storing T n x n matrices it does not need.
    innovations : (T, p) array
        ``y_t - C x_{t|t-1} - D u_t``; NaN where y is missing.
    innovation_cov : (T, p, p) array
        ``C P[t] C' + R`` on all channels (the observed block is the one used).
    gain : (T, n, p) array
        Predictor gain ``K_t = (A P C' + S) F^-1`` (columns of missing channels are zero):
        ``x_{t+1|t} = A x_{t|t-1} + B u_t + K_t innovations_t``.
    loglik : float (or (N,) array)
        Exact Gaussian log-likelihood of the observed entries.
    loglik_obs : (T,) array
        Per-sample contributions (zero where all channels are missing).
    next_state, next_cov : (n,), (n, n) arrays
        ``E[x_T | y_0..y_{T-1}]`` and its covariance (the one-step forecast).
    steady : (T,) bool array
        True where the steady-state gain was reused instead of the covariance recursion.
    n_diffuse : int
        The length d of the diffuse period under an exact diffuse start (0 without one):
        for t < d, ``predicted_cov[t]`` and ``filtered_cov[t]`` are the finite parts P_*
        of the covariances and ``loglik_obs[t]`` follows the diffuse convention
        (:mod:`realize.filtering.diffuse`).
    predicted_diffuse_cov : (d, n, n) array
        The diffuse parts P_inf[t] of the predicted covariances, t < d.
    method : str
        The filter that ran: ``'conventional'``, ``'univariate'`` or ``'square_root'``.
    raw : dict
        Extra arrays of the implementation (not part of the stable interface).

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> res = realize.kalman_filter(sys, sys.simulate(T=30, rng=0))
    >>> res.predicted_state.shape, res.gain.shape, res.next_cov.shape
    ((30, 1), (30, 1, 1), (1, 1))
    >>> bool(np.all(res.filtered_cov <= res.predicted_cov))
    True
    """

    predicted_state: np.ndarray
    predicted_cov: np.ndarray
    filtered_state: np.ndarray
    _filtered_cov: object = field(repr=False)  # an array, or a callable that makes it
    innovations: np.ndarray
    innovation_cov: np.ndarray
    gain: np.ndarray
    loglik: float | np.ndarray
    loglik_obs: np.ndarray
    next_state: np.ndarray
    next_cov: np.ndarray
    steady: np.ndarray
    method: str
    raw: dict = field(repr=False, default_factory=dict)
    n_diffuse: int = 0
    predicted_diffuse_cov: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))

    @property
    def filtered_cov(self) -> np.ndarray:
        if callable(self._filtered_cov):
            self._filtered_cov = self._filtered_cov()
        return self._filtered_cov

    def __repr__(self) -> str:
        # filtered_cov is left out: it may not be formed yet, and forming it to print it
        # would cost T n x n matrices
        return _repr(
            self,
            (
                "method",
                "loglik",
                "predicted_state",
                "predicted_cov",
                "filtered_state",
                "innovations",
                "innovation_cov",
                "gain",
                "next_state",
                "next_cov",
            ),
        )


@dataclass
class SmootherResult:
    """Output of :func:`realize.kalman_smoother`.

    Attributes
    ----------
    smoothed_state : (T, n) array
        ``E[x_t | y_0..y_{T-1}]``.
    smoothed_cov : (T, n, n) array
    smoothed_lag1_cov : (T-1, n, n) array
        ``cov(x_{t+1}, x_t | y_0..y_{T-1})`` for t = 0..T-2 (for EM).
    filter : FilterResult
        The forward pass.
    loglik : float (or (N,) array)
        Exact Gaussian log-likelihood of the observed entries (as in ``filter``).

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> sm = realize.kalman_smoother(sys, sys.simulate(T=30, rng=0))
    >>> sm.smoothed_state.shape, sm.smoothed_lag1_cov.shape
    ((30, 1), (29, 1, 1))
    >>> bool(sm.loglik == sm.filter.loglik)
    True
    """

    smoothed_state: np.ndarray
    smoothed_cov: np.ndarray
    smoothed_lag1_cov: np.ndarray
    filter: FilterResult
    loglik: float | np.ndarray

    def __repr__(self) -> str:
        head = _repr(self, ("loglik", "smoothed_state", "smoothed_cov", "smoothed_lag1_cov"))
        return f"{head[:-1]}, filter=FilterResult(method={self.filter.method!r}, ...))"


@dataclass
class EMResult:
    """Output of :func:`realize.em`.

    Attributes
    ----------
    model : StateSpace
        The estimated model (with Q, R, S = 0).
    x0, P0 : (n,), (n, n) arrays
        Initial state mean and covariance (estimated when requested, else as given).
    loglik : (iterations + 1,) array
        Log-likelihood of the starting model and after each iteration (never decreasing).
    n_iter : int
        Number of iterations run.
    converged : bool
        Whether the relative log-likelihood change fell below the tolerance.

    Examples
    --------
    >>> import realize
    >>> true = realize.StateSpace([[0.8]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> start = realize.StateSpace([[0.3]], C=[[1.0]], Q=[[0.5]], R=[[1.0]])
    >>> res = realize.em(start, true.simulate(T=100, rng=0), estimate=("A",), n_iter=5)
    >>> res.loglik.shape == (res.n_iter + 1,), res.model.n
    (True, 1)
    """

    model: object
    x0: np.ndarray
    P0: np.ndarray
    loglik: np.ndarray
    n_iter: int
    converged: bool

    def __repr__(self) -> str:
        return _repr(self, ("model", "n_iter", "converged", "loglik", "x0", "P0"))
