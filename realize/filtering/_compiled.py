"""The bridge to the compiled filters (``_ext/_kalman_filter.pyx``).

One driver loop runs every method (``filter_run``); this module groups the series by
missing pattern (the series of a group share one covariance recursion), allocates each
group's :class:`~realize.filtering._outputs.FilterOutputs`, runs the driver and turns its
error codes into :class:`~realize.errors.InvalidValueError`.
"""

from __future__ import annotations

import numpy as np

from realize.errors import InvalidValueError
from realize.filtering._model import Prepared
from realize.filtering._outputs import FilterGroup, FilterOutputs, series_groups

__all__ = ["run_compiled", "raise_for"]

# the kernels' failure codes: (method, code) -> message, formatted with t and the channel j
SINGULAR_F = (
    "sys: expected a positive definite innovation covariance C P C' + R, got a singular one "
    "at t={t} (R singular on observed channels the state cannot explain?)"
)
_ERRORS = {
    ("conventional", 1): SINGULAR_F,
    ("univariate", 1): (
        "sys: expected a positive innovation variance, got a non-positive one at t={t}, channel {j}"
    ),
    ("univariate", 2): (
        "method: 'univariate' with correlated noise S needs R_ii > 0 on the observed "
        "channels, got a zero at t={t}, channel {j}"
    ),
    ("square_root", 1): (
        "sys: expected a positive definite innovation covariance, got a singular one at t={t}"
    ),
}


def raise_for(method: str, code: int, t: int, j: int = -1) -> None:
    """Raise the error of a failed run (code != 0) of ``method`` at step t, channel j."""
    if code:
        raise InvalidValueError(_ERRORS[method, code].format(t=t, j=j))


def run_compiled(
    prep: Prepared,
    method: str,
    store: bool,
    tol: float | None,
    filtered_cov: bool = True,
    **factors: np.ndarray,
) -> list[FilterGroup]:
    """Run the compiled driver for ``method`` over each group of series.

    ``prep``, ``store``, ``tol``, ``filtered_cov`` and the result are those of
    :func:`~realize.filtering.conventional.conventional_filter`; ``method`` is one of
    ``"conventional"``, ``"univariate"``, ``"square_root"``; ``factors`` are the
    square-root filter's ``noise_factor`` and ``P0_factor``.
    """
    from realize._ext._kalman_filter import filter_run

    tol = -1.0 if tol is None else float(tol)
    groups = []
    for idx in series_groups(prep.y):
        out = FilterOutputs.allocate(len(idx), prep.T, prep.n, prep.p, store, filtered_cov)
        code, t, j = filter_run(method, prep.series(idx), out, tol, **factors)
        raise_for(method, code, t, j)
        groups.append(FilterGroup(idx, out))
    return groups
