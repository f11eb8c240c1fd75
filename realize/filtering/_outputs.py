"""What one filter run hands to the rest of the package: :class:`FilterOutputs`.

Every filter (the compiled driver of ``_ext/_kalman_filter.pyx`` for each method, and the
NumPy references) fills one :class:`FilterOutputs` per group of series that shared its
covariance recursion; a run returns a list of :class:`FilterGroup`. The smoother, the
likelihood, EM and :func:`realize.kalman_filter` read them; the public
:class:`~realize.filtering.FilterResult` is assembled from them (:func:`merge`).
The field names are the kernels' (Durbin & Koopman's a, P, v, F, K), documented here once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from realize.model import compact_repr

__all__ = ["FilterOutputs", "FilterGroup", "merge", "series_groups"]

_E3 = np.empty((0, 0, 0))
_E2 = np.empty((0, 0))
_NO_STEADY = np.empty(0, dtype=np.int8)


@dataclass
class FilterOutputs:
    """The arrays of one filter run over Ng series that share a missing pattern.

    A field of zero size was not stored (``loglik`` always is). Covariances, gains and
    ``steady`` depend on the missing pattern only, so the Ng series share them.

    Attributes
    ----------
    loglik : (Ng,) array
        Log-likelihood of each series.
    xp : (Ng, T+1, n) array
        Predicted states ``E[x_t | y_0..y_{t-1}]``; ``xp[:, T]`` the one-step forecast.
    Pp : (T+1, n, n) array
        Predicted covariances P[t].
    xf : (Ng, T, n) array
        Filtered states ``E[x_t | y_0..y_t]``.
    Pf : (T, n, n) array
        Filtered covariances (may be left out when only smoothing: see
        :func:`~realize.filtering.filter.run_filter`).
    v : (Ng, T, p) array
        Innovations, zero at missing channels.
    F : (T, p, p) array
        Innovation covariances ``C P C' + R`` on all channels.
    Finv : (T, p, p) array
        ``F_W^-1`` on the observed channels W, zero elsewhere.
    K : (T, n, p) array
        Predictor gains ``(A P C_W' + S_W) F_W^-1``, zero columns at missing channels.
    llobs : (Ng, T) array
        Log-density of each step.
    steady : (T,) int8 array
        1 where the steady-state switch froze the covariance recursion.
    Pinf : (Td, n, n) array
        The diffuse parts P_inf[t] of the predicted covariances, t < Td, under an exact
        diffuse start (``Pp`` holds the finite parts P_* there); empty otherwise.
    n_diffuse : int
        The length d of the diffuse period (P_inf[d] = 0; d < Td when stored).

    Examples
    --------
    >>> from realize.filtering._outputs import FilterOutputs
    >>> out = FilterOutputs.allocate(2, 10, 3, 1)
    >>> out.xp.shape, out.Pp.shape, out.loglik.shape
    ((2, 11, 3), (11, 3, 3), (2,))
    >>> FilterOutputs.allocate(2, 10, 3, 1, store=False).xp.size
    0
    """

    loglik: np.ndarray
    xp: np.ndarray
    Pp: np.ndarray
    xf: np.ndarray
    Pf: np.ndarray
    v: np.ndarray
    F: np.ndarray
    Finv: np.ndarray
    K: np.ndarray
    llobs: np.ndarray
    steady: np.ndarray
    Pinf: np.ndarray = field(default_factory=lambda: _E3)
    n_diffuse: int = 0

    def __repr__(self) -> str:
        return compact_repr(self)

    @classmethod
    def allocate(
        cls,
        N: int,
        T: int,
        n: int,
        p: int,
        store: bool = True,
        filtered_cov: bool = True,
        zeros: bool = False,
        diffuse_steps: int = 0,
    ) -> FilterOutputs:
        """Outputs of one run: every array when ``store``, else ``loglik`` alone.

        ``filtered_cov=False`` leaves out ``Pf``; ``zeros`` fills with zeros (for the
        NumPy references, which leave missing channels untouched) instead of leaving the
        arrays uninitialized (the kernels write every entry); ``diffuse_steps`` is the
        room Td for the diffuse parts P_inf (stored only with ``store``).
        """
        if not store:
            e3 = _E3
            return cls(np.zeros(N), e3, e3, e3, e3, e3, e3, e3, e3, _E2, _NO_STEADY)
        new = np.zeros if zeros else np.empty
        return cls(
            loglik=np.zeros(N),
            xp=new((N, T + 1, n)),
            Pp=new((T + 1, n, n)),
            xf=new((N, T, n)),
            Pf=new((T, n, n)) if filtered_cov else _E3,
            v=new((N, T, p)),
            F=new((T, p, p)),
            Finv=new((T, p, p)),
            K=new((T, n, p)),
            llobs=new((N, T)),
            steady=new(T, dtype=np.int8),
            Pinf=np.zeros((diffuse_steps, n, n)) if diffuse_steps else _E3,
        )


class FilterGroup(NamedTuple):
    """The series (indices into the problem's N) that one run covered, and its outputs."""

    series: np.ndarray
    out: FilterOutputs


def series_groups(y: np.ndarray) -> list[np.ndarray]:
    """The series of y (N, T, p) that can share one covariance recursion: all of them
    when they share the missing pattern (NaN positions) of the first, else each alone."""
    N = y.shape[0]
    mask = np.isnan(y)
    if N == 1 or not np.any(mask != mask[:1]):
        return [np.arange(N)]
    return [np.array([i]) for i in range(N)]


def merge(N: int, groups: list[FilterGroup], name: str) -> np.ndarray:
    """One output over the groups as an (N, ...) array; a field shared by the series of
    a single group is a read-only broadcast view."""
    per_series = name in ("loglik", "xp", "xf", "v", "llobs")
    if len(groups) == 1:
        a = getattr(groups[0].out, name)
        return a if per_series else np.broadcast_to(a, (N, *a.shape))
    first = getattr(groups[0].out, name)
    merged = np.empty((N, *(first.shape[1:] if per_series else first.shape)), first.dtype)
    for idx, out in groups:
        merged[idx] = getattr(out, name)
    return merged
