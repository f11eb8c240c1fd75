"""Model-order selection for subspace identification.

Three documented rules:

* ``order=range(...)`` (or any sequence): an information criterion over the candidates,
  computed from the innovation covariance ``Lambda(n)`` that the subspace regression
  leaves for each order (the residual covariance of ``y[t]`` given the ``n``-dimensional
  state estimate and ``u[t]``, VODM 1996 Sec. 4.3):

  .. math::  \\mathrm{IC}(n) = N \\log\\det \\Lambda(n) + c_N \\, k(n),

  with ``N`` the number of Hankel columns, ``k(n) = n (2p + m) + p m`` free parameters
  of an innovation model (``p m`` only with a feedthrough), ``c_N = log N`` for
  ``"bic"`` (Schwarz) and ``2`` for ``"aic"`` (Akaike).

* ``order="auto"``: the same BIC over the orders ``1 .. n_floor + 1``, where ``n_floor``
  counts the canonical correlations ``sigma_k`` between future outputs and the past
  (conditional on the future inputs; the CVA singular values, computed whatever the
  weighting) that rise above the largest one expected without any dynamics:

  .. math::  \\sigma_k^2 > \\frac{(\\sqrt{f p} + \\sqrt{i (m + p)})^2}{N},

  the asymptotic edge of the largest squared sample canonical correlation of independent
  ``f p`` and ``i (m + p)`` dimensional data (Johnstone 2008). Canonical correlations are
  scale free, so the bound serves every data set; the BIC then decides between the
  states that the correlations support.

* :func:`select_order_by_validation` (``realize fit --order validate``): with validation
  data, the smallest order whose validation error is within noise of the best one's. The
  best validation fit alone overfits: spurious pole pairs win by chance. Let ``e_n[t]``
  be the validation errors of order ``n`` at its best horizon (simulation from a state
  estimated on an initial window, or one-step prediction for output-only data), ``t``
  the ``T'`` scored samples, ``l_n[t] = (1/p) sum_i e_{n,i}[t]^2 / var(y_valid_i)`` the
  normalized squared error and ``b`` the order of the best mean fit. As in the
  Diebold-Mariano test of equal predictive accuracy, the loss differences
  ``d_n[t] = l_n[t] - l_b[t]`` decide: order ``n`` is within noise when

  .. math::  \\bar d_n \\le t_{B-1}(\\mathrm{confidence}) \\, \\widehat{\\mathrm{se}}(\\bar d_n),

  with a standard error taken from the data themselves: the scored samples are cut into
  ``B = min(16, T' // 4)`` consecutive blocks and ``se`` is the standard deviation of the
  blocks' mean differences over ``sqrt(B)`` (batch means; for weakly dependent errors the
  t statistic then has ``B - 1`` degrees of freedom, Ibragimov and Mueller 2010). A
  simulation's errors are strongly autocorrelated, so a per-sample standard error would
  be far too small. The best order is always within noise.

References
----------
D. Bauer, "Order estimation for subspace methods", Automatica 37 (2001) 1561-1573.
I. M. Johnstone, "Multivariate analysis and Jacobi ensembles: largest eigenvalue,
Tracy-Widom limits and rates of convergence", Ann. Statist. 36 (2008) 2638-2716.
H. Akaike, "A new look at the statistical model identification", IEEE TAC 19 (1974).
G. Schwarz, "Estimating the dimension of a model", Ann. Statist. 6 (1978).
F. X. Diebold and R. S. Mariano, "Comparing predictive accuracy", J. Business and
Economic Statistics 13 (1995) 253-263.
R. Ibragimov and U. K. Mueller, "t-statistic based correlation and heterogeneity robust
inference", J. Business and Economic Statistics 28 (2010) 453-468.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from realize._checks import as_float, as_int, as_timeseries
from realize.errors import OrderError, ShapeError
from realize.identify.criteria import (
    auto_candidates,
    correlation_floor,
    information_criterion,
    max_order,
)
from realize.identify.hankel import SubspaceAccumulator
from realize.identify.residuals import innovations
from realize.identify.validation import fit_percent, simulate_from_window

__all__ = [
    "VALIDATION_HORIZONS",
    "VALIDATION_MAX_ORDER",
    "ValidationOrderSelection",
    "auto_candidates",
    "correlation_floor",
    "information_criterion",
    "max_order",
    "select_order_by_validation",
]


# ---------------------------------------------------------------- validation-based rule
#: Largest order tried by :func:`select_order_by_validation` (default ``max_order``).
VALIDATION_MAX_ORDER = 10
#: Horizons tried by :func:`select_order_by_validation` (default ``horizons``).
VALIDATION_HORIZONS = (10, 15, 20, 30)
#: Consecutive blocks of the scored validation samples behind the standard error.
_BLOCKS = 16


@dataclass(repr=False)
class ValidationOrderSelection:
    """Result of :func:`select_order_by_validation`.

    Attributes
    ----------
    result : SubspaceResult
        The identification at the chosen order and horizon.
    order, horizon : int
        The chosen order and the horizon of its best validation fit.
    best_order, best_horizon : int
        The order and horizon of the best validation fit (the chosen ones when no smaller
        order is within noise of it).
    orders : (k,) int array
        The orders tried, ``1 .. k``.
    horizons : tuple of int
        The horizons tried.
    fits : (k, len(horizons)) array
        Mean validation fit in percent over the outputs (NaN where a horizon supports
        no such order; ``-inf`` for a diverging simulation).
    excess : (k,) array
        Mean normalized squared validation error of each order (at its best horizon)
        minus that of the best order.
    standard_error : (k,) array
        Standard error of ``excess`` (batch means over consecutive blocks).
    threshold : float
        ``excess`` within noise is at most ``threshold`` standard errors.
    within_noise : (k,) bool array
        Orders whose excess is within noise; ``order`` is the smallest of them.
    kind : str
        ``"simulation"`` (with inputs) or ``"one-step prediction"`` (output-only).

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.identify.order import select_order_by_validation
    >>> true = realize.StateSpace([[0.8]], [[1.0]], [[1.0]], K=[[0.5]], Lambda=[[0.01]])
    >>> u = np.random.default_rng(0).standard_normal((1200, 1))
    >>> y = true.simulate(u, rng=1)
    >>> sel = select_order_by_validation(y[:800], u[:800], validation=(y[800:], u[800:]),
    ...                                  max_order=3, horizons=(10,))
    >>> sel
    ValidationOrderSelection(order=1, horizon=10, best_order=1, best_horizon=10, kind='simulation')
    """

    result: object
    order: int
    horizon: int
    best_order: int
    best_horizon: int
    orders: np.ndarray
    horizons: tuple
    fits: np.ndarray
    excess: np.ndarray
    standard_error: np.ndarray
    threshold: float
    within_noise: np.ndarray
    kind: str

    def __repr__(self) -> str:
        return (
            f"ValidationOrderSelection(order={self.order}, horizon={self.horizon}, "
            f"best_order={self.best_order}, best_horizon={self.best_horizon}, "
            f"kind={self.kind!r})"
        )


def _validation_errors(result, y_valid, u_valid, window: int) -> np.ndarray:
    """Validation errors after the window: simulation (with inputs) or one-step prediction."""
    model = result.model
    # the model maps u - u_mean to y - y_mean (zeros unless detrended)
    y_mean = np.asarray(result.y_mean, dtype=float).reshape(-1)
    yv = y_valid - (y_mean if y_mean.size == model.p else 0.0)
    if u_valid is None:
        yhat = yv - innovations(model, yv)
    else:
        u_mean = np.asarray(result.u_mean, dtype=float).reshape(-1)
        uv = u_valid - (u_mean if u_mean.size == model.m else 0.0)
        yhat, _ = simulate_from_window(model, yv, uv, window)
    with np.errstate(invalid="ignore", over="ignore"):
        return yv[window:] - yhat[window:]


def _block_standard_error(d: np.ndarray, blocks: int) -> float:
    """Standard error of ``mean(d)`` from the means of consecutive blocks."""
    means = np.array([b.mean() for b in np.array_split(d, blocks)])
    return float(means.std(ddof=1) / np.sqrt(blocks))


def select_order_by_validation(
    y,
    u=None,
    *,
    validation,
    max_order: int = VALIDATION_MAX_ORDER,
    horizons=VALIDATION_HORIZONS,
    window: int = 50,
    method: str = "n4sid",
    detrend: bool = False,
    confidence: float = 0.95,
    **options,
) -> ValidationOrderSelection:
    """The smallest subspace model whose validation fit is within noise of the best.

    For each horizon one block-Hankel R factor of ``(y, u)`` serves every order from 1 to
    ``max_order`` (or the largest the horizon supports); each model is scored on the
    validation data by its simulation from a state estimated on the first ``window``
    samples (with inputs) or by its one-step predictions (output-only). The best score
    overfits (on 4-state data an order 6 with a spurious pole pair often wins by a few
    hundredths of a percent), so the smallest order within noise of it is chosen.

    Parameters
    ----------
    y : (T, p) array
        Estimation outputs; 1-D means one channel.
    u : (T, m) array, optional
        Estimation inputs (None: output-only data).
    validation : (y_valid, u_valid) pair
        Validation data, ``u_valid`` None exactly when ``u`` is None.
    max_order : int, default 10
        Largest order tried.
    horizons : sequence of int, default (10, 15, 20, 30)
        Block rows of the Hankel matrices tried; each order is scored at its best horizon.
    window : int, default 50
        First validation samples, not scored: they estimate the initial state.
    method : {"n4sid", "moesp", "cva"}, default "n4sid"
        Subspace weighting.
    detrend : bool, default False
        Remove the means (as in :func:`realize.n4sid`).
    confidence : float, default 0.95
        Level of the one-sided test of "worse than the best" (see Notes).
    **options
        Passed to the identification (``feedthrough``, ``stable``; see :func:`realize.n4sid`).

    Returns
    -------
    ValidationOrderSelection
        The chosen identification (``.result``), the fit table and the test.

    Raises
    ------
    OrderError
        When no horizon supports order 1.
    ShapeError, DataError, InvalidValueError
        Bad data or options, as in :func:`realize.n4sid`.

    See Also
    --------
    realize.n4sid : ``order="auto"``, the rule without validation data.

    Notes
    -----
    Order ``n`` is within noise when its mean normalized squared validation error exceeds
    the best order's by at most ``t_{B-1}(confidence)`` standard errors, the standard
    error from the means of ``B = min(16, T' // 4)`` consecutive blocks of the scored
    samples (a Diebold-Mariano comparison with a batch-means variance; the module
    docstring gives the formulas and the references).

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.identify.order import select_order_by_validation
    >>> true = realize.StateSpace([[0.9, 0.3], [-0.3, 0.9]], [[1.0], [0.5]], [[1.0, 0.0]],
    ...                           K=[[0.3], [0.1]], Lambda=[[0.01]])
    >>> u = np.random.default_rng(0).standard_normal((1500, 1))
    >>> y = true.simulate(u, rng=1)
    >>> sel = select_order_by_validation(y[:1100], u[:1100], validation=(y[1100:], u[1100:]),
    ...                                  max_order=4, horizons=(10, 20))
    >>> sel.order, sel.result.order, sel.horizon
    (2, 2, 10)
    >>> np.round(sel.fits, 1)  # orders 1..4 by horizons 10 and 20
    array([[15.6, 15.6],
           [95.1, 95.1],
           [95.1, 95.1],
           [95.1, 95.1]])
    """
    max_order = as_int(max_order, "max_order", low=1)
    horizons = tuple(as_int(h, "horizons", low=2) for h in np.atleast_1d(horizons).tolist())
    window = as_int(window, "window", low=0)
    confidence = as_float(confidence, "confidence", low=0.5, high=1.0, open_high=True)
    y_valid, u_valid = _validation_data(validation, u, window)
    fits, candidates = _score_orders(
        y, u, y_valid, u_valid, max_order, horizons, window, method, detrend, options
    )
    best = max(candidates, key=lambda n: candidates[n][0])
    excess, se, threshold = _excess_over_best(candidates, best, y_valid, window, confidence)
    within = np.isfinite(excess) & (excess <= threshold * se)
    within[best - 1] = True
    chosen = int(np.flatnonzero(within)[0]) + 1
    return ValidationOrderSelection(
        result=candidates[chosen][2],
        order=chosen,
        horizon=candidates[chosen][1],
        best_order=best,
        best_horizon=candidates[best][1],
        orders=np.arange(1, len(excess) + 1),
        horizons=horizons,
        fits=fits[: len(excess)],
        excess=excess,
        standard_error=se,
        threshold=threshold,
        within_noise=within,
        kind="simulation" if u is not None else "one-step prediction",
    )


def _validation_data(validation, u, window: int):
    """The checked (y_valid, u_valid) pair."""
    if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
        raise ShapeError("validation: expected a (y_valid, u_valid) pair")
    y_valid = as_timeseries(validation[0], "validation[0]", min_length=window + 2)
    u_valid = validation[1]
    if (u is None) != (u_valid is None):
        raise ShapeError("validation: expected u_valid exactly when u is given")
    if u_valid is not None:
        u_valid = as_timeseries(u_valid, "validation[1]", min_length=y_valid.shape[0])
    return y_valid, u_valid


def _score_orders(y, u, y_valid, u_valid, max_order, horizons, window, method, detrend, options):
    """The fit table (max_order, horizons) and, per order, its best horizon's
    ``(fit, horizon, result, validation errors)``."""
    fits = np.full((max_order, len(horizons)), np.nan)
    candidates = {}
    for j, horizon in enumerate(horizons):
        # one R factor per horizon serves every order
        acc = SubspaceAccumulator(horizon=horizon, detrend=detrend)
        acc.update(y, u)
        for n in range(1, max_order + 1):
            try:
                result = acc.identify(order=n, method=method, **options)
            except OrderError:
                break  # the horizon supports no higher order
            e = _validation_errors(result, y_valid, u_valid, window)
            fits[n - 1, j] = float(np.mean(fit_percent(y_valid[window:], y_valid[window:] - e)))
            if n not in candidates or fits[n - 1, j] > candidates[n][0]:
                candidates[n] = (fits[n - 1, j], horizon, result, e)
    if not candidates:
        raise OrderError(
            f"horizons: expected a horizon that supports order 1, got {list(horizons)}"
        )
    return fits, candidates


def _excess_over_best(candidates, best: int, y_valid, window: int, confidence: float):
    """Each order's mean normalized squared error over the best's, its batch-means
    standard error, and the t quantile that bounds "within noise" (see
    :func:`select_order_by_validation`)."""
    scale = np.var(y_valid[window:], axis=0)
    scale = np.where(scale > 0, scale, 1.0)

    def loss(n):
        with np.errstate(invalid="ignore", over="ignore"):
            return np.mean(candidates[n][3] ** 2 / scale, axis=1)

    blocks = max(2, min(_BLOCKS, (y_valid.shape[0] - window) // 4))
    k = max(candidates)
    excess, se = np.full(k, np.nan), np.full(k, np.nan)
    best_loss = loss(best)
    for n in candidates:
        d = loss(n) - best_loss
        if np.all(np.isfinite(d)):
            excess[n - 1], se[n - 1] = float(d.mean()), _block_standard_error(d, blocks)
        else:
            excess[n - 1] = se[n - 1] = np.inf  # a diverging simulation is never equivalent
    return excess, se, float(student_t.ppf(confidence, blocks - 1))
