"""Validation measures of an identified model: simulation, prediction, fit, whiteness.

The user-facing names of :mod:`realize.identify.validation` and
:mod:`realize.identify.residuals`, where they are defined (with the matrix-level routines
that :func:`realize.n4sid` uses):

- :func:`simulate_from_window` and :func:`estimate_initial_state`: simulation from an
  initial state estimated on a short window (as MATLAB's ``compare`` does), scored by
  :func:`fit_percent` and :func:`rmse` after the window;
- :func:`innovations`: one-step-ahead prediction errors through the innovation form,
  which must be white for a model that has captured all the dynamics;
- :func:`autocorrelation` and :func:`whiteness`: the sample autocorrelation of the
  innovations with its confidence band.

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

from realize.identify.residuals import autocorrelation, innovations, whiteness
from realize.identify.validation import (
    estimate_initial_state,
    fit_percent,
    rmse,
    simulate_from_window,
)

__all__ = [
    "fit_percent",
    "rmse",
    "estimate_initial_state",
    "simulate_from_window",
    "innovations",
    "autocorrelation",
    "whiteness",
]
