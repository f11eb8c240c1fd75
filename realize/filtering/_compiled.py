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
# the codes every method shares
OVERFLOW = (
    "sys: the predicted covariance overflowed by t={t} (a mode of A is explosive over this "
    "horizon; unobserved, it leaves the likelihood finite but its variance is not)"
)
DIFFUSE_CORRELATED = (
    "sys: an exact diffuse start with correlated noise S needs a nonsingular R on the "
    "observed channels correlated with the state noise, got a singular one at t={t}, "
    "channel {j}"
)


def raise_for(method: str, code: int, t: int, j: int = -1, diffuse: bool = False) -> None:
    """Raise the error of a failed run (code != 0) of ``method`` at step t, channel j
    (codes: :func:`realize._ext._kalman_filter.filter_run`)."""
    if code == 3:
        raise InvalidValueError(OVERFLOW.format(t=t))
    if code == 4:
        from realize.filtering.diffuse import not_identified

        raise not_identified(t)
    if code == 2 and diffuse:
        raise InvalidValueError(DIFFUSE_CORRELATED.format(t=t, j=j))
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
    Td = min(prep.T + 1, 8 + 4 * prep.n) if prep.Pinf is not None and store else 0
    for idx in series_groups(prep.y):
        while True:
            out = FilterOutputs.allocate(
                len(idx), prep.T, prep.n, prep.p, store, filtered_cov, diffuse_steps=Td
            )
            code, t, j, d = filter_run(
                method, prep.series(idx), out, tol, Pinf=prep.Pinf, **factors
            )
            if not (store and Td and d > Td):
                break
            Td = prep.T + 1  # a longer diffuse period than room was made for: again
        # a failure inside the diffuse period reports d = 0
        raise_for(method, code, t, j, prep.Pinf is not None and d == 0)
        out.n_diffuse = d
        groups.append(FilterGroup(idx, out))
    return groups
