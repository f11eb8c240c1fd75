r"""Forecasts: the h-step predictions of the states and outputs after the data, with
their covariances and intervals.

From the filter's one-step forecast ``a_0 = E[x_T | y_0..y_{T-1}]``, ``P_0`` (its
``next_state``, ``next_cov``), the model run forward without data (Durbin & Koopman 2012,
section 4.11; Hamilton 1994, section 13.2), for k = 0..h-1::

    E[x_{T+k}] = a_k,    a_{k+1} = A a_k + B u_{T+k},    P_{k+1} = A P_k A' + Q
    E[y_{T+k}] = C a_k + D u_{T+k},                      cov = C P_k C' + R

so ``a_k = A^k a_0 + sum_j A^(k-1-j) B u_{T+j}`` and ``P_k = A^k P_0 A^k' + sum_{j<k}
A^j Q A^j'``. S does not enter: v_{T+k} is correlated with x_{T+k+1}, not with x_{T+k}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realize._checks import as_float, as_float_array, as_int, check_finite
from realize.errors import InvalidValueError, ShapeError
from realize.filtering._model import STEADY_STATE_TOL, prepare, steady_state_tol
from realize.filtering.filter import assemble, public_method, run_filter
from realize.filtering.results import FilterResult
from realize.model import compact_repr

__all__ = ["forecast", "ForecastResult"]

_MATRICES = ("A", "B", "C", "D", "Q", "R", "S", "K", "Lambda")


@dataclass(repr=False)
class ForecastResult:
    """Output of :func:`realize.forecast`.

    Shapes are for one series; for N series every array gains a leading axis N
    (covariances shared by the series are read-only broadcast views).

    Attributes
    ----------
    output : (h, p) array
        ``E[y_{T+k} | y_0..y_{T-1}]`` for k = 0..h-1.
    output_cov : (h, p, p) array
        Its covariance ``C P_k C' + R``.
    state : (h, n) array
        ``E[x_{T+k} | y_0..y_{T-1}]``; ``state[0]`` is the filter's ``next_state``.
    state_cov : (h, n, n) array
        Its covariance ``P_k``.
    steps : int
        The horizon h.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> fc = realize.forecast(sys, sys.simulate(T=100, rng=0), steps=3)
    >>> fc.output.shape, fc.output_cov.shape
    ((3, 1), (3, 1, 1))
    >>> lower, upper = fc.interval(0.9)
    >>> bool(np.all(lower < fc.output) and np.all(fc.output < upper))
    True
    """

    output: np.ndarray
    output_cov: np.ndarray
    state: np.ndarray
    state_cov: np.ndarray
    steps: int

    def __repr__(self) -> str:
        return compact_repr(self)

    def interval(self, level: float = 0.95, *, states: bool = False) -> tuple:
        """Equal-tailed Gaussian prediction intervals, entry by entry.

        Parameters
        ----------
        level : float, default 0.95
            Coverage probability, in (0, 1) (statsmodels' ``conf_int(alpha)`` with
            ``alpha = 1 - level``).
        states : bool, default False
            Intervals of the states instead of the outputs.

        Returns
        -------
        lower, upper : (h, p) arrays (or (h, n) with ``states``)
            ``mean -+ z sqrt(diag(cov))`` with ``z`` the ``(1 + level) / 2`` normal quantile.
        """
        from scipy.special import ndtri

        level = as_float(level, "level", low=0.0, high=1.0, open_low=True, open_high=True)
        mean, cov = (self.state, self.state_cov) if states else (self.output, self.output_cov)
        half = ndtri(0.5 + level / 2) * np.sqrt(np.maximum(np.diagonal(cov, 0, -2, -1), 0.0))
        return mean - half, mean + half


def _time_invariant(sys) -> None:
    for name in _MATRICES:
        M = sys.get(name) if isinstance(sys, dict) else getattr(sys, name, None)
        if M is not None and np.ndim(M) == 3 and np.shape(M)[0] > 1:
            raise InvalidValueError(
                f"sys: forecasts need a time-invariant model (the matrices after the data "
                f"are unknown), got a time stack {name} of shape {np.shape(M)}"
            )


def _future_inputs(u_future, m: int, steps: int, N: int, batched: bool) -> np.ndarray:
    """u_future as an (1 or N, steps, m) array (zeros of width 0 without inputs)."""
    if m == 0:
        if u_future is not None and np.size(u_future) > 0:
            raise ShapeError(
                f"u_future: the model has no inputs, got an array of shape {np.shape(u_future)}"
            )
        return np.zeros((1, steps, 0))
    want = f"a ({steps}, {m}) array" + (f" (or ({N}, {steps}, {m}))" if batched else "")
    if u_future is None:
        raise ShapeError(
            f"u_future: expected {want}, the inputs over the horizon of a model with "
            f"{m} input(s), got None"
        )
    arr = as_float_array(u_future, "u_future")
    if arr.ndim == 1 and m == 1:
        arr = arr[:, None]
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] not in (1, N) or arr.shape[1:] != (steps, m):
        raise ShapeError(f"u_future: expected {want}, got shape {np.shape(u_future)}")
    return check_finite(arr, "u_future")


def forecast(
    sys,
    y,
    u=None,
    steps: int = 1,
    u_future=None,
    *,
    x0=None,
    P0=None,
    init: str = "auto",
    method: str = "conventional",
    steady_state: bool = True,
    tol: float = STEADY_STATE_TOL,
) -> ForecastResult:
    r"""Forecast the states and outputs ``steps`` samples past the end of the data.

    Parameters
    ----------
    sys : StateSpace or mapping
        A time-invariant model with a noise model or an innovation form (as in
        :func:`realize.kalman_filter`).
    y : (T, p) or (N, T, p) array, or FilterResult
        The data (NaN marks a missing entry; the filter handles it), or the result of
        :func:`realize.kalman_filter` on them (then ``u``, ``x0``, ``P0``, ``init``,
        ``method``, ``steady_state`` and ``tol`` are not used).
    u : (T, m) or (N, T, m) array, optional
        The inputs over the data (required when the model has inputs).
    steps : int, default 1
        The horizon h >= 1.
    u_future : (h, m) or (N, h, m) array, optional
        The inputs over the horizon, ``u_T .. u_{T+h-1}`` (required when the model has
        inputs).
    x0, P0, init, method, steady_state, tol
        As in :func:`realize.kalman_filter`.

    Returns
    -------
    ForecastResult
        ``output`` (h, p), ``output_cov`` (h, p, p), ``state`` (h, n), ``state_cov``
        (h, n, n) and ``interval(level)``; a leading axis N for N series.

    Raises
    ------
    InvalidValueError
        ``steps`` not an integer >= 1; a time-varying model.
    ShapeError
        ``u_future`` missing or of the wrong shape when the model has inputs, or given
        when it has none; ``y`` a FilterResult of another model's sizes.
    As :func:`realize.kalman_filter` for the rest.

    Notes
    -----
    With ``a_0, P_0`` the filter's ``next_state`` and ``next_cov``::

        a_{k+1} = A a_k + B u_{T+k},  P_{k+1} = A P_k A' + Q
        y: C a_k + D u_{T+k},  C P_k C' + R

    (the module docstring of :mod:`realize.filtering.forecast`). statsmodels'
    ``results.get_forecast(h)`` gives ``predicted_mean`` = ``output`` and
    ``var_pred_mean`` = the diagonal of ``output_cov``.

    References
    ----------
    .. [1] J. Durbin and S. J. Koopman, *Time Series Analysis by State Space Methods*,
       2nd ed., 2012, section 4.11.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5]], C=[[1.0]], Q=[[1.0]], R=[[0.0]])
    >>> fc = realize.forecast(sys, [0.0, 0.0, 4.0], steps=3)  # an AR(1) seen exactly
    >>> fc.output[:, 0].tolist(), fc.output_cov[:, 0, 0].tolist()
    ([2.0, 1.0, 0.5], [1.0, 1.25, 1.3125])
    """
    steps = as_int(steps, "steps", low=1)
    _time_invariant(sys)
    if isinstance(y, FilterResult):
        filt = y
        n, p = filt.next_state.shape[-1], filt.innovations.shape[-1]
        m = filt.raw["prep"].B.shape[2] if "prep" in filt.raw else 0
        batched = filt.next_state.ndim == 2
        mismatch = ShapeError(
            f"y: expected the FilterResult of a model with the sizes of sys, got one with "
            f"n={n} states, p={p} outputs and m={m} inputs"
        )
        try:  # sys validated on one dummy sample of the filter's sizes
            prep = prepare(sys, np.zeros((1, p)), np.zeros((1, m)) if m else None, P0=np.eye(n))
        except ShapeError as exc:
            if str(exc).startswith(("y:", "u:", "P0:")):
                raise mismatch from None
            raise
        if prep.n != n:
            raise mismatch
    else:
        method = public_method(method)
        tol = steady_state_tol(tol, steady_state)
        prep = prepare(sys, y, u, x0, P0, init)
        filt = assemble(prep, run_filter(prep, method, store=True, tol=tol), method)
        batched = prep.batched
    a = np.atleast_2d(filt.next_state)  # (N, n)
    P = filt.next_cov if batched else filt.next_cov[None]  # (N, n, n)
    N = a.shape[0]
    uf = _future_inputs(u_future, prep.B.shape[2], steps, N, batched)
    A, B, C, D, Q, R = (M[0] for M in (prep.A, prep.B, prep.C, prep.D, prep.Q, prep.R))
    # covariances shared by the series (a broadcast view) are propagated once
    shared = P.strides[0] == 0
    if shared:
        P = P[:1]
    n, p = A.shape[0], C.shape[0]
    state = np.empty((N, steps, n))
    state_cov = np.empty((P.shape[0], steps, n, n))
    for k in range(steps):
        state[:, k], state_cov[:, k] = a, P
        a = a @ A.T + uf[:, k] @ B.T
        P = A @ P @ A.T + Q
        P = 0.5 * (P + np.swapaxes(P, -1, -2))
    output = state @ C.T + uf @ D.T
    output_cov = C @ state_cov @ C.T + R
    if shared and N > 1:
        state_cov = np.broadcast_to(state_cov, (N, *state_cov.shape[1:]))
        output_cov = np.broadcast_to(output_cov, (N, *output_cov.shape[1:]))
    if not batched:
        output, output_cov, state, state_cov = output[0], output_cov[0], state[0], state_cov[0]
    return ForecastResult(output, output_cov, state, state_cov, steps)
