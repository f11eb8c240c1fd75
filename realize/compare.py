"""Validation of an identified model on data: simulation, prediction, fit, whiteness.

The measures used by the ``realize`` command, its report and its figures:

- simulation from an initial state estimated on a short window (as MATLAB's
  ``compare`` does), scored by the fit in percent and the RMSE after the window;
- one-step-ahead prediction through the innovation form, whose errors (the
  innovations) must be white for a model that has captured all the dynamics;
- the sample autocorrelation of the innovations with its confidence band.

Example
-------
>>> import numpy as np, realize
>>> from realize.compare import simulate_from_window, fit_percent
>>> sys = realize.StateSpace([[0.8]], [[1.0]], [[1.0]])
>>> u = np.random.default_rng(0).standard_normal((200, 1))
>>> y = sys.simulate(u, x0=[2.0], noise=False)
>>> yhat, x0 = simulate_from_window(sys, y, u, window=20)
>>> float(np.round(x0[0], 6)), float(np.round(fit_percent(y, yhat)[0], 3))
(2.0, 100.0)
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from realize._checks import _as_float_array, as_float, as_int, as_timeseries, describe
from realize.errors import DataError, InvalidValueError

__all__ = [
    "fit_percent",
    "rmse",
    "estimate_initial_state",
    "simulate_from_window",
    "innovations",
    "autocorrelation",
    "whiteness",
]


def _inputs(model, y, u, name_y="y", name_u="u"):
    from realize.model import StateSpace

    if not isinstance(model, StateSpace):
        raise InvalidValueError(f"model: expected a realize.StateSpace, got {describe(model)}")
    y = as_timeseries(y, name_y, channels=model.p)
    if model.m == 0:
        if u is not None and np.size(u):
            raise DataError(
                f"{name_u}: expected no input (the model has none), got an array of shape "
                f"{np.shape(u)}"
            )
        return y, np.zeros((y.shape[0], 0))
    if u is None:
        raise DataError(
            f"{name_u}: expected a (T, {model.m}) input array for a model with {model.m} "
            "input(s), got None"
        )
    u = as_timeseries(u, name_u, channels=model.m)
    if u.shape[0] != y.shape[0]:
        raise DataError(
            f"{name_u}: expected as many samples as {name_y} ({y.shape[0]}), got {u.shape[0]}"
        )
    return y, u


def fit_percent(y, yhat) -> np.ndarray:
    """Normalized fit of each output, in percent.

    Parameters
    ----------
    y : (T, p) array
        Measured outputs (1-D means one output).
    yhat : (T, p) array
        Simulated or predicted outputs.

    Returns
    -------
    (p,) array
        ``100 (1 - ||y - yhat|| / ||y - mean(y)||)`` per output: 100 is a perfect
        fit, 0 is no better than the mean, and it is negative when worse; ``-inf`` where
        ``yhat`` holds NaN or Inf (a diverging simulation).

    Raises
    ------
    DataError
        A constant output channel (``||y - mean(y)|| = 0``: the fit is undefined), or
        ``yhat`` of another shape.
    ShapeError, NonFiniteError
        ``y`` not a real finite (T, p) array, ``yhat`` complex.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> fit_percent(y, y + np.array([0.1, -0.1, 0.1, -0.1])).round(2)
    array([91.06])
    """
    y, yhat = _pair(y, yhat)
    constant = np.flatnonzero(np.ptp(y, axis=0) == 0)
    if constant.size:
        raise DataError(
            f"y: expected outputs that vary (the fit is relative to the spread of y about "
            f"its mean), got constant channel(s) {constant.tolist()}"
        )
    spread = np.linalg.norm(y - y.mean(axis=0), axis=0)
    with np.errstate(all="ignore"):
        err = np.linalg.norm(y - yhat, axis=0)
        fit = 100.0 * (1.0 - err / spread)
    # a diverging simulation (NaN or Inf, from an unstable model) is infinitely bad
    return np.where(np.isfinite(err), fit, -np.inf)


def _pair(y, yhat):
    """Validated (T, p) measured outputs and (T, p) predictions (which may diverge)."""
    y = as_timeseries(y, "y")
    yhat = _as_float_array(yhat, "yhat")
    yhat = yhat.reshape(-1, 1) if yhat.ndim == 1 else yhat
    if yhat.shape != y.shape:
        raise DataError(f"yhat: expected shape {y.shape} like y, got {yhat.shape}")
    return y, yhat


def rmse(y, yhat) -> np.ndarray:
    """Root-mean-square error of each output, in the outputs' units.

    Parameters
    ----------
    y, yhat : (T, p) arrays
        Measured and simulated outputs.

    Returns
    -------
    (p,) array
        ``inf`` where ``yhat`` holds NaN or Inf.

    Examples
    --------
    >>> import numpy as np
    >>> rmse(np.zeros(4), np.array([1.0, -1.0, 1.0, -1.0]))
    array([1.])
    """
    y, yhat = _pair(y, yhat)
    with np.errstate(all="ignore"):
        err = np.sqrt(np.mean((y - yhat) ** 2, axis=0))
    return np.where(np.isfinite(err), err, np.inf)


def estimate_initial_state(model, y, u=None, window: int | None = None) -> np.ndarray:
    """Least-squares initial state from the first samples of the data.

    Solves ``min ||y[t] - C A^t x0 - y_zs[t]||`` over ``t < window``, where ``y_zs`` is
    the noise-free response to the inputs from a zero state.

    Parameters
    ----------
    model : StateSpace
        The model, with n states, m inputs and p outputs.
    y : (T, p) array
        Measured outputs.
    u : (T, m) array, optional
        Inputs; required when m > 0.
    window : int, optional
        Number of samples used. Default ``min(T, max(50, 4 n))``.

    Returns
    -------
    x0 : (n,) array

    Raises
    ------
    DataError
        Fewer samples than the window, or inputs missing or of the wrong length.

    Notes
    -----
    Validates the arguments, then solves with the least-squares routine that
    :func:`realize.n4sid` uses for its own initial states
    (``realize.identify.evaluation.estimate_initial_state``).

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5, 0.1], [0.0, 0.9]], C=[[1.0, 1.0]])
    >>> y = sys.simulate(T=30, x0=[1.0, -2.0], noise=False)
    >>> estimate_initial_state(sys, y).round(8)
    array([ 1., -2.])
    """
    y, u = _inputs(model, y, u)
    T = y.shape[0]
    if window is None:
        window = min(T, max(50, 4 * model.n))
    window = as_int(window, "window", low=1, high=T, error=DataError)
    from realize.identify.evaluation import estimate_initial_state as _least_squares_x0

    return _least_squares_x0(model.A, model.B, model.C, model.D, y, u, window)


def simulate_from_window(model, y, u=None, window: int = 50):
    """Noise-free simulation from an initial state estimated on the first samples.

    This is the benchmark's way of scoring a model: estimate the state on a short
    initialization window, then simulate over the whole record without looking at
    the outputs again; score the samples after the window.

    Parameters
    ----------
    model : StateSpace
        The model.
    y : (T, p) array
        Measured outputs (used only for the window).
    u : (T, m) array, optional
        Inputs; required when the model has inputs.
    window : int, default 50
        Length of the initialization window.

    Returns
    -------
    yhat : (T, p) array
        Simulated outputs (Inf where an unstable model overflowed, which
        :func:`fit_percent` scores as ``-inf``).
    x0 : (n,) array
        The estimated initial state.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.9]], [[0.5]], [[2.0]])
    >>> u = np.ones((100, 1))
    >>> yhat, x0 = simulate_from_window(sys, sys.simulate(u, noise=False), u, window=10)
    >>> yhat.shape
    (100, 1)
    """
    from realize.identify.evaluation import simulate_output

    y, u = _inputs(model, y, u)
    x0 = estimate_initial_state(model, y, u, window)
    # an unstable model may overflow here: the score is then -inf (fit_percent), not an error
    yhat = simulate_output(model.A, model.B, model.C, model.D, u, x0)
    return yhat, x0


def _predictor_gain(model):
    if model.K is not None:
        return model.K, model.Lambda
    if model.Q is not None:
        inno = model.innovation_form()
        return inno.K, inno.Lambda
    raise InvalidValueError(
        "model: expected a noise model or an innovation form for one-step prediction, got neither"
    )


def innovations(model, y, u=None, x0=None) -> np.ndarray:
    """One-step-ahead prediction errors of the steady-state predictor.

    Runs the innovation-form predictor ``x[t+1] = (A - K C) x[t] + (B - K D) u[t] + K y[t]``,
    ``e[t] = y[t] - C x[t] - D u[t]``.

    Parameters
    ----------
    model : StateSpace
        A model with an innovation form (K, Lambda) or a noise model (from which
        the innovation form is computed).
    y : (T, p) array
        Measured outputs.
    u : (T, m) array, optional
        Inputs; required when the model has inputs.
    x0 : (n,) array, optional
        Initial predicted state; default zero.

    Returns
    -------
    e : (T, p) array
        The innovations; white with covariance Lambda when the model is right.

    Raises
    ------
    InvalidValueError
        The model has neither an innovation form nor a noise model.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.7]], C=[[1.0]], K=[[0.5]], Lambda=[[1.0]])
    >>> y = sys.simulate(T=2000, rng=1)
    >>> e = innovations(sys, y)
    >>> bool(abs(e[1:].std() - 1.0) < 0.05)
    True
    """
    from realize.model import StateSpace

    y, u = _inputs(model, y, u)
    K, _ = _predictor_gain(model)
    A, B, C, D = model.A, model.B, model.C, model.D
    predictor = StateSpace(
        A - K @ C,
        np.hstack([B - K @ D, K]),
        -C,
        np.hstack([-D, np.eye(model.p)]),
        dt=model.dt,
    )
    return predictor.simulate(np.hstack([u, y]), x0=x0, noise=False)


def autocorrelation(e, max_lag: int = 40) -> np.ndarray:
    """Sample autocorrelation of each channel, lags 0 to max_lag.

    Parameters
    ----------
    e : (T, p) array
        A time series (1-D means one channel), e.g. innovations.
    max_lag : int, default 40
        Largest lag, below T.

    Returns
    -------
    r : (max_lag + 1, p) array
        ``r[k, i] = sum_t e_i[t+k] e_i[t] / sum_t e_i[t]^2`` after removing the mean;
        ``r[0] = 1``.

    Examples
    --------
    >>> import numpy as np
    >>> r = autocorrelation(np.random.default_rng(0).standard_normal(10_000), max_lag=3)
    >>> r.shape, bool(np.all(np.abs(r[1:]) < 0.05))
    ((4, 1), True)
    """
    e = as_timeseries(e, "e", min_length=2)
    T = e.shape[0]
    max_lag = as_int(max_lag, "max_lag", low=0, high=T - 1, error=DataError)
    x = e - e.mean(axis=0)
    # FFT of the zero-padded series gives all lags at once, O(T log T)
    nfft = 1 << int(np.ceil(np.log2(2 * T - 1)))
    spec = np.fft.rfft(x, n=nfft, axis=0)
    acov = np.fft.irfft(spec * np.conj(spec), n=nfft, axis=0)[: max_lag + 1]
    denom = acov[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(denom > 0, acov / denom, 0.0)
    r[0] = 1.0
    return r


def whiteness(e, max_lag: int = 40, confidence: float = 0.99) -> dict:
    """Autocorrelation test of whiteness for each channel.

    Under whiteness the sample autocorrelations at lags 1..max_lag are
    asymptotically independent N(0, 1/T), so each lies inside ``±z/sqrt(T)`` with the
    given probability (Ljung, *System Identification*, 2nd ed., 1999, Sec. 16.6).

    Parameters
    ----------
    e : (T, p) array
        Innovations or residuals.
    max_lag : int, default 40
        Lags tested.
    confidence : float, default 0.99
        Probability of the band, in (0, 1).

    Returns
    -------
    dict
        ``autocorrelation`` (max_lag + 1, p), ``band`` (float, the half-width),
        ``outside`` (p,) number of lags outside the band, ``expected_outside`` (the
        number expected by chance), ``confidence``.

    Examples
    --------
    >>> import numpy as np
    >>> w = whiteness(np.random.default_rng(2).standard_normal((5000, 2)), max_lag=20)
    >>> w["autocorrelation"].shape, round(w["band"], 4)
    ((21, 2), 0.0364)
    """
    confidence = as_float(
        confidence, "confidence", low=0.0, high=1.0, open_low=True, open_high=True
    )
    r = autocorrelation(e, max_lag)
    T = np.shape(e)[0]
    band = float(ndtri(0.5 + confidence / 2) / np.sqrt(T))
    outside = np.sum(np.abs(r[1:]) > band, axis=0)
    return {
        "autocorrelation": r,
        "band": band,
        "outside": outside,
        "expected_outside": (1 - confidence) * max_lag,
        "confidence": confidence,
    }
