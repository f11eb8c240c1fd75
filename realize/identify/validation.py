"""Validation of an identified model on data: the one home of fit metrics, predictors
and whiteness tests.

The measures used by :func:`realize.n4sid`, the ``realize`` command, its report and its
figures (:mod:`realize.compare` re-exports the user-facing ones):

- simulation from an initial state estimated by least squares on a short window (as
  MATLAB's ``compare`` does), scored by the fit in percent and the RMSE after the window;
- one-step-ahead prediction through the innovation form, whose errors (the
  innovations) must be white for a model that has captured all the dynamics;
- the sample autocorrelation of the innovations with its confidence band;
- :func:`assess_fit` and :func:`assess_neural_fit`, which score a model with all of
  these on validation (and test) data.

The fit of output ``i`` is the normalized root-mean-square score used by system
identification toolboxes,

.. math:: \\mathrm{fit}_i = 100 \\Big(1 - \\frac{\\lVert y_i - \\hat y_i\\rVert}
                                       {\\lVert y_i - \\bar y_i\\rVert}\\Big),

100 a perfect fit, 0 no better than the mean, ``-inf`` for a diverging simulation; it is
written once (:func:`fit_percent` for one record, :func:`simulation_fit` pooled over
records, :func:`blockwise_fit` block by block).

Example
-------
>>> import numpy as np, realize
>>> from realize.identify.validation import simulate_from_window, fit_percent
>>> sys = realize.StateSpace([[0.8]], [[1.0]], [[1.0]])
>>> u = np.random.default_rng(0).standard_normal((200, 1))
>>> y = sys.simulate(u, x0=[2.0], noise=False)
>>> yhat, x0 = simulate_from_window(sys, y, u, window=20)
>>> float(np.round(x0[0], 6)), float(np.round(fit_percent(y, yhat)[0], 3))
(2.0, 100.0)
"""

from __future__ import annotations

import numpy as np

from realize._checks import as_float_array, as_int, as_timeseries
from realize.errors import DataError
from realize.identify.residuals import innovations, model_data, whiteness
from realize.simulation import simulate_states

__all__ = [
    "fit_percent",
    "rmse",
    "estimate_initial_state",
    "simulate_from_window",
    "assess_fit",
    "assess_neural_fit",
    "simulate_output",
    "least_squares_initial_state",
    "operating_point",
    "simulation_fit",
    "blockwise_fit",
]


# ------------------------------------------------------------------ fit metrics
def _fit(err: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """``100 (1 - err / spread)`` per output, ``-inf`` where it is not finite.

    The one definition of the fit (module notes): ``err`` the norm of the errors and
    ``spread`` that of the deviations of the measured output from its mean. A diverging
    simulation (NaN or Inf, from an unstable model) is infinitely bad.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        fit = 100.0 * (1.0 - err / spread)
    fit[~np.isfinite(fit)] = -np.inf
    return fit


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
    with np.errstate(all="ignore"):
        err = np.linalg.norm(y - yhat, axis=0)
    return _fit(err, np.linalg.norm(y - y.mean(axis=0), axis=0))


def _pair(y, yhat):
    """Validated (T, p) measured outputs and (T, p) predictions (which may diverge)."""
    y = as_timeseries(y, "y")
    yhat = as_float_array(yhat, "yhat")
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


# ------------------------------------------------------------------ simulation
def simulate_output(A, B, C, D, u, x0) -> np.ndarray:
    """Deterministic output of (A, B, C, D) from ``x0`` (compiled recursion).

    ``x[t+1] = A x[t] + B u[t]``, ``y[t] = C x[t] + D u[t]``, ``x[0] = x0``; overflow
    is not reported (it gives inf/NaN, which the fit turns into ``-inf``).

    Parameters
    ----------
    A, B, C, D : (n, n), (n, m), (p, n), (p, m) arrays
        The model.
    u : (T, m) array
        Inputs.
    x0 : (n,) array
        Initial state.

    Returns
    -------
    y : (T, p) array
        Simulated output.

    Examples
    --------
    >>> import numpy as np
    >>> A, B, C, D = np.array([[0.5]]), np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1))
    >>> from realize.identify.validation import simulate_output
    >>> simulate_output(A, B, C, D, np.zeros((3, 1)), np.ones(1)).ravel().tolist()
    [1.0, 0.5, 0.25]
    """
    with np.errstate(all="ignore"):
        y, _ = simulate_states(A, B, C, D, u, None, None, x0)
    return y


def _free_response(A, C, W):
    """(W, p, n) array of C A^t, t < W."""
    n = A.shape[0]
    out = np.empty((W, C.shape[0], n))
    M = C.copy()
    for t in range(W):
        out[t] = M
        M = M @ A
    return out


def least_squares_initial_state(A, B, C, D, y, u, window: int | None = None) -> np.ndarray:
    """Least-squares initial state of the simulation error on the first ``window`` samples.

    The matrix-level routine behind :func:`estimate_initial_state` (which validates a
    model and its data) and the initial states of :func:`realize.n4sid`.

    Solves ``min_x0 sum_t ||y[t] - C A^t x0 - ysim0[t]||^2`` where ``ysim0`` is the
    response from a zero state. The default window is the whole record, capped where
    ``C A^t`` has decayed below ``1e-10`` of its start (and at 20000 samples).

    Parameters
    ----------
    A, B, C, D : (n, n), (n, m), (p, n), (p, m) arrays
        The model.
    y : (T, p) array
        Measured outputs.
    u : (T, m) array
        Inputs.
    window : int, optional
        Number of leading samples used.

    Returns
    -------
    x0 : (n,) array
        Zeros when n = 0, T = 0 or the free response overflows.

    Examples
    --------
    >>> import numpy as np
    >>> A, B, C, D = np.array([[0.5]]), np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1))
    >>> from realize.identify.validation import least_squares_initial_state, simulate_output
    >>> u = np.random.default_rng(0).standard_normal((50, 1))
    >>> y = simulate_output(A, B, C, D, u, np.array([2.0]))
    >>> np.round(least_squares_initial_state(A, B, C, D, y, u), 8).tolist()
    [2.0]
    """
    n = A.shape[0]
    T = y.shape[0]
    if n == 0 or T == 0:
        return np.zeros(n)
    rho = float(np.max(np.abs(np.linalg.eigvals(A))))
    if window is None:
        if rho < 1.0 - 1e-12:
            W = int(np.ceil(np.log(1e-10) / np.log(max(rho, 1e-3)))) + 10 * n
        else:
            W = 200 + 10 * n
        window = min(T, max(W, 4 * n), 20000)
    W = int(min(window, T))
    ysim = simulate_output(A, B, C, D, u[:W], np.zeros(n))
    Phi = _free_response(A, C, W).reshape(W * C.shape[0], n)
    resid = (y[:W] - ysim).reshape(-1)
    if not (np.all(np.isfinite(Phi)) and np.all(np.isfinite(resid))):
        return np.zeros(n)
    x0, *_ = np.linalg.lstsq(Phi, resid, rcond=None)
    return x0


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
        Fewer samples than the window, or inputs missing.
    ShapeError
        Inputs or outputs of the wrong shape or length.

    Notes
    -----
    Validates the arguments, then solves with :func:`least_squares_initial_state`, the
    routine that :func:`realize.n4sid` uses for its own initial states.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5, 0.1], [0.0, 0.9]], C=[[1.0, 1.0]])
    >>> y = sys.simulate(T=30, x0=[1.0, -2.0], noise=False)
    >>> estimate_initial_state(sys, y).round(8)
    array([ 1., -2.])
    """
    y, u = model_data(model, y, u)
    T = y.shape[0]
    if window is None:
        window = min(T, max(50, 4 * model.n))
    window = as_int(window, "window", low=1, high=T, error=DataError)
    return least_squares_initial_state(model.A, model.B, model.C, model.D, y, u, window)


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
    y, u = model_data(model, y, u)
    x0 = estimate_initial_state(model, y, u, window)
    # an unstable model may overflow here: the score is then -inf (fit_percent), not an error
    yhat = simulate_output(model.A, model.B, model.C, model.D, u, x0)
    return yhat, x0


def simulation_fit(A, B, C, D, records, x0s) -> np.ndarray:
    """Per-output fit of the simulation over several records (norms pooled).

    The residual norms and the output deviations from the pooled mean are summed over
    the records before the ratio of the fit (the module notes) is taken.

    Parameters
    ----------
    A, B, C, D : (n, n), (n, m), (p, n), (p, m) arrays
        The model.
    records : sequence of (y, u)
        y (T_i, p) and u (T_i, m) arrays, one pair per record.
    x0s : sequence of (n,) arrays
        Initial state of each record.

    Returns
    -------
    fit : (p,) array
        Fit in percent per output (``-inf`` where it is undefined or overflowed).

    Examples
    --------
    >>> import numpy as np
    >>> A, B, C, D = np.array([[0.5]]), np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1))
    >>> from realize.identify.validation import simulate_output, simulation_fit
    >>> u = np.random.default_rng(0).standard_normal((50, 1))
    >>> y = simulate_output(A, B, C, D, u, np.zeros(1))
    >>> simulation_fit(A, B, C, D, [(y, u)], [np.zeros(1)]).round(6).tolist()
    [100.0]
    """
    den_parts = []
    res_parts = []
    for (y, u), x0 in zip(records, x0s):
        yhat = simulate_output(A, B, C, D, u, x0)
        res_parts.append(np.sum((y - yhat) ** 2, axis=0))
        den_parts.append(y)
    num = np.sqrt(np.sum(res_parts, axis=0))
    yall = np.concatenate(den_parts)
    den = np.linalg.norm(yall - yall.mean(axis=0), axis=0)
    return _fit(num, den)


def blockwise_fit(A, B, C, D, records, y_mean, u_mean, head: int = 20000):
    """Initial states and pooled simulation fit of records read block by block (dask).

    The simulation carries its state across the blocks of a record, so the result equals
    :func:`simulation_fit` on the whole record while only one block is in memory.

    Parameters
    ----------
    A, B, C, D : (n, n), (n, m), (p, n), (p, m) arrays
        The model, identified from centred data.
    records : sequence of (y, u)
        Dask arrays y (T_i, p) and u (T_i, m) (u may be None), one pair per record.
    y_mean, u_mean : (p,) and (m,) arrays
        The means taken off the data before the identification.
    head : int, default 20000
        Samples at the start of each record its initial state is estimated from.

    Returns
    -------
    x0s : list of (n,) arrays
        Least-squares initial state of each record.
    fit : (p,) array
        Fit in percent per output, pooled over the records.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> A, B, C, D = np.array([[0.5]]), np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1))
    >>> rng = np.random.default_rng(0)
    >>> u = rng.standard_normal((300, 1))
    >>> y = simulate_output(A, B, C, D, u, np.ones(1)) + 0.1 * rng.standard_normal((300, 1))
    >>> record = (da.from_array(y, chunks=100), da.from_array(u, chunks=100))
    >>> x0s, fit = blockwise_fit(A, B, C, D, [record], np.zeros(1), np.zeros(1))
    >>> bool(np.allclose(fit, simulation_fit(A, B, C, D, [(y, u)], x0s)))
    True
    """
    p = C.shape[0]
    x0s = []
    sse = np.zeros(p)
    count, mean, m2 = 0, np.zeros(p), np.zeros(p)
    for y, u in records:
        T = y.shape[0]
        k = min(head, T)
        yh = np.asarray(y[:k].compute(), dtype=float).reshape(k, -1) - y_mean
        uh = (
            np.zeros((k, 0))
            if u is None
            else np.asarray(u[:k].compute(), dtype=float).reshape(k, -1) - u_mean
        )
        x = least_squares_initial_state(A, B, C, D, yh, uh)
        x0s.append(x)
        if u is not None:
            u = u.rechunk({0: y.chunks[0]})
        for b in range(y.numblocks[0]):
            yb = np.asarray(y.blocks[b].compute(), dtype=float).reshape(-1, p) - y_mean
            ub = (
                np.zeros((yb.shape[0], 0))
                if u is None
                else np.asarray(u.blocks[b].compute(), dtype=float).reshape(yb.shape[0], -1)
                - u_mean
            )
            with np.errstate(all="ignore"):
                yhat, X = simulate_states(A, B, C, D, ub, None, None, x)
            x = X[-1]
            sse += np.sum((yb - yhat) ** 2, axis=0)
            # Chan et al. pooled mean and sum of squared deviations
            nb = yb.shape[0]
            mb = yb.mean(axis=0)
            m2 += np.sum((yb - mb) ** 2, axis=0) + (mb - mean) ** 2 * count * nb / (count + nb)
            mean = mean + (mb - mean) * nb / (count + nb)
            count += nb
    return x0s, _fit(np.sqrt(sse), np.sqrt(m2))


# ------------------------------------------------------------------ scores
def operating_point(result, model) -> tuple[np.ndarray, np.ndarray]:
    """The offsets ``(u_mean (m,), y_mean (p,))`` that a detrended identification removed.

    ``result.u_mean`` and ``result.y_mean`` when they fit the model's sizes, else zeros:
    ``model`` maps ``u - u_mean`` to ``y - y_mean``.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from types import SimpleNamespace
    >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
    >>> operating_point(SimpleNamespace(model=sys, y_mean=np.array([2.0])), sys)
    (array([0.]), array([2.]))
    """
    u_mean = np.asarray(getattr(result, "u_mean", np.zeros(0)), dtype=float).reshape(-1)
    y_mean = np.asarray(getattr(result, "y_mean", np.zeros(0)), dtype=float).reshape(-1)
    return (
        u_mean if u_mean.size == model.m else np.zeros(model.m),
        y_mean if y_mean.size == model.p else np.zeros(model.p),
    )


def assess_fit(
    result,
    y_valid,
    u_valid=None,
    *,
    window: int = 50,
    test=None,
    max_lag: int = 40,
    confidence: float = 0.99,
) -> dict:
    """Score an identified model on validation (and test) data.

    Parameters
    ----------
    result : identification result
        From :func:`realize.n4sid`: ``.model``, ``.order`` (and the offsets ``.u_mean``,
        ``.y_mean`` that a detrended identification removed).
    y_valid : (T, p) array
        Validation outputs.
    u_valid : (T, m) array, optional
        Validation inputs (required when the model has inputs).
    window : int, default 50
        Initialization window: the initial state is estimated by least squares on
        these samples, which are then excluded from the scores.
    test : tuple of (T, p) and (T, m) arrays, optional
        Test outputs and inputs, scored the same way (RMSE after the window).
    max_lag : int, default 40
        Lags of the whiteness test.
    confidence : float, default 0.99
        Probability of the whiteness band.

    Returns
    -------
    dict
        ``order``, ``fit_percent`` (p,), ``rmse`` (p,) on validation data after the
        window, ``window``, ``simulated`` (T, p), ``innovations`` (T, p) (None for a
        model without a noise model), ``whiteness`` (see :func:`whiteness`), and
        ``test_rmse`` (p,), ``test_fit_percent`` (p,) and ``test_simulated`` when
        ``test`` is given. :func:`realize.report.assess_fit` adds the explanation of the
        order and the model summary.

    Raises
    ------
    DataError
        Validation data shorter than the window plus one sample.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from types import SimpleNamespace
    >>> sys = realize.StateSpace([[0.8]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[0.01]])
    >>> u = np.random.default_rng(0).standard_normal((400, 1))
    >>> y = sys.simulate(u, rng=1)
    >>> result = SimpleNamespace(model=sys, order=1, singular_values=np.array([3.0, 0.1]))
    >>> a = assess_fit(result, y, u)
    >>> bool(a["fit_percent"][0] > 90)
    True
    >>> a["rmse"].shape, a["innovations"].shape
    ((1,), (350, 1))
    """
    model = result.model
    u_mean, y_mean = operating_point(result, model)

    def simulated(y, u):
        """(y, u - u_mean, the simulation of y from its window) of one record."""
        y = np.asarray(y, dtype=float).reshape(len(y), -1)
        if u is not None:
            u = np.asarray(u, dtype=float).reshape(len(u), -1) - u_mean
        yhat, _ = simulate_from_window(model, y - y_mean, u, window)
        return y, u, yhat + y_mean

    T = len(y_valid)
    if T <= window + 1:
        raise DataError(
            f"validation data: expected more than {window + 1} samples (the {window}-sample "
            f"initialization window plus data to score), got {T}"
        )
    y_valid, u_valid, yhat = simulated(y_valid, u_valid)
    out = {
        "order": int(result.order),
        "fit_percent": fit_percent(y_valid[window:], yhat[window:]),
        "rmse": rmse(y_valid[window:], yhat[window:]),
        "window": window,
        "simulated": yhat,
    }
    out["innovations"] = out["whiteness"] = None
    if model.K is not None or model.Q is not None:
        e = innovations(model, y_valid - y_mean, u_valid)[window:]
        out["innovations"] = e
        out["whiteness"] = whiteness(e, min(max_lag, e.shape[0] - 1), confidence)
    if test is not None:
        y_test, _, yt = simulated(*test)
        out["test_rmse"] = rmse(y_test[window:], yt[window:])
        out["test_fit_percent"] = fit_percent(y_test[window:], yt[window:])
        out["test_simulated"] = yt
    return out


def assess_neural_fit(model, y_valid, u_valid, *, window: int = 50, test=None) -> dict:
    """Score a neural state-space model the way :func:`assess_fit` scores a linear one.

    Parameters
    ----------
    model : realize.nn.NeuralStateSpace
    y_valid, u_valid : (T, p) and (T, m) arrays
        Validation data; the state at sample ``window`` is estimated by the model's encoder
        from the samples before it, then the model simulates freely.
    window : int, default 50
    test : tuple of (T, p) and (T, m) arrays, optional
        Test data, scored the same way.

    Returns
    -------
    dict
        ``fit_percent`` (p,), ``rmse`` (p,), ``simulated`` (T, p) (NaN in the window), and
        ``test_rmse``, ``test_fit_percent``, ``test_simulated`` when ``test`` is given.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.nn import NeuralStateSpace
    >>> sys = realize.StateSpace([[0.8]], [[1.0]], [[1.0]])
    >>> u = np.random.default_rng(0).standard_normal((300, 1))
    >>> y = sys.simulate(u, x0=[1.0], noise=False)
    >>> a = assess_neural_fit(NeuralStateSpace.from_realization(sys, window=20), y, u, window=20)
    >>> float(a["fit_percent"][0].round(6))
    100.0
    """

    def score(y, u):
        y = np.asarray(y, dtype=float).reshape(len(y), -1)
        yhat = model.simulate(u, y_init=y[:window])
        return fit_percent(y[window:], yhat[window:]), rmse(y[window:], yhat[window:]), yhat

    fit, err, yhat = score(y_valid, u_valid)
    out = {"fit_percent": fit, "rmse": err, "simulated": yhat, "window": window}
    if test is not None:
        out["test_fit_percent"], out["test_rmse"], out["test_simulated"] = score(*test)
    return out
