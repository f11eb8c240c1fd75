"""Kalman filtering: filter, smoother, exact log-likelihood and EM.

Layout (after statsmodels' ``tsa/statespace``): one algorithm per module, one compiled
driver loop (``_ext/_kalman_filter.pyx``) with a step function per method.

``conventional``  covariance filter (step ``_ext/_kalman_conventional.pxi``), and the
                  likelihood-only kernel in the modal basis (``_basis``)
``univariate``    sequential processing of the channels when R is diagonal
                  (step ``_ext/_kalman_univariate.pxi``, NumPy step beside it)
``square_root``   array (QR) square-root filter for ill-conditioned problems
                  (step ``_ext/_kalman_square_root.pxi``, NumPy step beside it)
``diffuse``       exact diffuse start (Koopman 1997): NumPy step and diffuse-period
                  smoother (compiled step ``_ext/_kalman_diffuse.pxi``, every method)
``smoother``      fixed-interval RTS smoother, compiled (``_ext/_kalman_smoother.pyx``)
``disturbance``   disturbance smoother (r, N and the smoothed disturbances, NumPy)
``simulation_smoother``  draws of the states given the data (Durbin & Koopman 2002)
``forecast``      h-step forecasts of states and outputs with intervals
``likelihood``    the log-likelihood alone
``em``            Shumway-Stoffer expectation-maximization
``reference``     plain NumPy driver, conventional step and the Durbin-Koopman smoother
                  (the definitions the compiled kernels are tested against)
``results``       FilterResult, SmootherResult, EMResult (public)
``_outputs``      FilterOutputs: what one filter run hands to the other modules
``_compiled``     the bridge to the compiled driver (groups of series, error codes)
``_model``        validation, time-varying stacks, inputs, initialization

Conventions: ``x[t+1] = A[t] x[t] + B[t] u[t] + w[t]``, ``y[t] = C[t] x[t] + D[t] u[t] + v[t]``,
``cov([w; v]) = [[Q, S], [S', R]]``; ``predicted_state[t] = E[x_t | y_0..y_{t-1}]`` with
``predicted_state[0] = x0``. statsmodels' ``predicted_state[:, :T].T`` is ours.
"""

from realize.filtering._model import DIFFUSE_KAPPA, STEADY_STATE_TOL
from realize.filtering.disturbance import DisturbanceSmootherResult
from realize.filtering.em import em
from realize.filtering.filter import kalman_filter
from realize.filtering.forecast import ForecastResult, forecast
from realize.filtering.likelihood import loglik
from realize.filtering.results import EMResult, FilterResult, SmootherResult
from realize.filtering.simulation_smoother import SimulationSmootherResult, simulation_smoother
from realize.filtering.smoother import kalman_smoother

__all__ = [
    "kalman_filter",
    "kalman_smoother",
    "forecast",
    "simulation_smoother",
    "loglik",
    "em",
    "FilterResult",
    "SmootherResult",
    "DisturbanceSmootherResult",
    "EMResult",
    "ForecastResult",
    "SimulationSmootherResult",
    "DIFFUSE_KAPPA",
    "STEADY_STATE_TOL",
]
