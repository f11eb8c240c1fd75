"""Residual analysis: one-step prediction errors (the innovations) and their whiteness.

A model that has captured all the dynamics predicts its outputs one step ahead with errors
that are white (Ljung, *System Identification*, 2nd ed., 1999, Sec. 16.6):

- :func:`prediction_errors`, the innovation-form predictor at the matrix level (also the
  predictor of :func:`realize.pem`), and :func:`innovations`, which runs it for a model on
  data;
- :func:`autocorrelation` and :func:`whiteness`: the sample autocorrelation of each channel
  with its confidence band, and the verdict.

:mod:`realize.identify.validation` scores models with these; :mod:`realize.compare`
gathers the user-facing names.

Example
-------
>>> import numpy as np, realize
>>> from realize.identify.residuals import innovations, whiteness
>>> sys = realize.StateSpace([[0.7]], C=[[1.0]], K=[[0.5]], Lambda=[[1.0]])
>>> e = innovations(sys, sys.simulate(T=4000, rng=0))
>>> whiteness(e, max_lag=20)["white"].tolist()
[True]
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from realize._checks import as_float, as_int, as_matrix, as_timeseries, describe
from realize._ext._simulate import state_recursion
from realize.errors import DataError, InvalidValueError, NonFiniteError
from realize.model import StateSpace

__all__ = ["autocorrelation", "innovations", "prediction_errors", "whiteness", "model_data"]


def model_data(model, y, u, name_y="y", name_u="u"):
    """Validated ``(y (T, p), u (T, m))`` for a StateSpace ``model`` (``u`` zero columns for a
    model without inputs); the check every function that runs a model on data shares."""
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
    return y, as_timeseries(u, name_u, channels=model.m, length_of=(name_y, y.shape[0]))


# ------------------------------------------------------------------ prediction
def prediction_errors(A, B, C, D, K, y, u, x0):
    """One-step prediction errors and states of the innovation-form predictor.

    ``x[t+1] = (A - K C) x[t] + (B - K D) u[t] + K y[t]``, ``x[0] = x0``,
    ``e[t] = y[t] - C x[t] - D u[t]``, through the compiled state recursion. No checks:
    the arrays must have the shapes below (the predictor of :func:`innovations` and of
    the prediction-error method, :func:`realize.pem`).

    Parameters
    ----------
    A, B, C, D, K : (n, n), (n, m), (p, n), (p, m), (n, p) arrays
        The innovation model.
    y : (T, p) array
    u : (T, m) array
        ``m = 0`` for output-only data.
    x0 : (n,) array

    Returns
    -------
    e : (T, p) array
        The prediction errors.
    X : (T + 1, n) array
        The predicted states ``x[0] .. x[T]``.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.identify.residuals import prediction_errors
    >>> A, C, K = np.array([[0.5]]), np.array([[1.0]]), np.array([[0.5]])
    >>> e, X = prediction_errors(A, np.zeros((1, 0)), C, np.zeros((1, 0)), K,
    ...                          np.ones((3, 1)), np.zeros((3, 0)), np.zeros(1))
    >>> e.ravel().tolist()  # x[t+1] = 0 x[t] + 0.5 y[t]
    [1.0, 0.5, 0.5]
    """
    F = np.ascontiguousarray(A - K @ C)
    forcing = y @ K.T
    if u.shape[1]:
        forcing += u @ (B - K @ D).T
    X = np.empty((y.shape[0] + 1, A.shape[0]))
    state_recursion(F, np.ascontiguousarray(forcing), np.ascontiguousarray(x0, dtype=float), X)
    E = y - X[:-1] @ C.T
    if u.shape[1]:
        E -= u @ D.T
    return E, X


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
    ``e[t] = y[t] - C x[t] - D u[t]`` (:func:`prediction_errors`).

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
    NonFiniteError
        The predictor overflows.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.7]], C=[[1.0]], K=[[0.5]], Lambda=[[1.0]])
    >>> y = sys.simulate(T=2000, rng=1)
    >>> e = innovations(sys, y)
    >>> bool(abs(e[1:].std() - 1.0) < 0.05)
    True
    """
    y, u = model_data(model, y, u)
    K, _ = _predictor_gain(model)
    x0 = np.zeros(model.n) if x0 is None else as_matrix(x0, "x0", rows=model.n, cols=1).ravel()
    with np.errstate(all="ignore"):
        e, X = prediction_errors(model.A, model.B, model.C, model.D, K, y, u, x0)
    bad = ~(np.isfinite(e).all(axis=1) & np.isfinite(X[:-1]).all(axis=1))
    if bad.any():
        raise NonFiniteError(
            "y: expected a one-step predictor that stays finite, got an overflow (Inf or "
            f"NaN) at sample {int(np.argmax(bad))} of {y.shape[0]}: the data or the initial "
            "state exceed the floating-point range, or A - K C is unstable"
        )
    return e


# ------------------------------------------------------------------ whiteness
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
        number expected by chance), ``confidence``, and ``white`` (p,) bool, the verdict
        per channel: at most ``max(2, 3 expected_outside)`` lags outside (a margin over
        the chance count, so that a white series fails rarely at any number of lags).

    Examples
    --------
    >>> import numpy as np
    >>> w = whiteness(np.random.default_rng(2).standard_normal((5000, 2)), max_lag=20)
    >>> w["autocorrelation"].shape, round(w["band"], 4), w["white"].tolist()
    ((21, 2), 0.0364, [True, True])
    """
    confidence = as_float(
        confidence, "confidence", low=0.0, high=1.0, open_low=True, open_high=True
    )
    r = autocorrelation(e, max_lag)
    T = np.shape(e)[0]
    band = float(ndtri(0.5 + confidence / 2) / np.sqrt(T))
    outside = np.sum(np.abs(r[1:]) > band, axis=0)
    expected = (1 - confidence) * max_lag
    return {
        "autocorrelation": r,
        "band": band,
        "outside": outside,
        "expected_outside": expected,
        "confidence": confidence,
        "white": outside <= max(2.0, 3 * expected),
    }
