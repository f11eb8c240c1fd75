"""The order-selection formulas of subspace identification (the rules that use them are
stated in :mod:`realize.identify.order`, which re-exports these functions).

* :func:`max_order`: the largest order a horizon supports;
* :func:`correlation_floor` and :func:`auto_candidates`: the noise floor of the squared
  canonical correlations and the orders ``order="auto"`` examines (Johnstone 2008);
* :func:`information_criterion`: BIC (Schwarz) or AIC (Akaike) of an innovation model.

They depend on nothing else in :mod:`realize.identify`, so that the subspace estimator
(:mod:`realize.identify.estimate`) and the validation-based rule of
:mod:`realize.identify.order` can both use them.
"""

from __future__ import annotations

import numpy as np

__all__ = ["auto_candidates", "correlation_floor", "information_criterion", "max_order"]


def max_order(p: int, m: int, past: int, future: int) -> int:
    """Largest order a horizon supports: ``min((future - 1) p, past (m + p))``.

    ``A`` is estimated from the shift of the extended observability matrix, whose
    ``future - 1`` upper block rows must have rank ``n``; the oblique projection has rank
    at most the number of past rows ``past (m + p)``.

    Parameters
    ----------
    p, m : int
        Outputs and inputs.
    past, future : int
        Past and future block rows of the Hankel matrices.

    Returns
    -------
    int

    Examples
    --------
    >>> from realize.identify.criteria import max_order
    >>> max_order(1, 1, 5, 5)
    4
    """
    return int(min((future - 1) * p, past * (m + p)))


def correlation_floor(p: int, m: int, past: int, future: int, n_columns: int) -> float:
    """Squared canonical correlation expected from noise alone (see :mod:`realize.identify.order`).

    Parameters
    ----------
    p, m : int
        Outputs and inputs.
    past, future : int
        Past and future block rows.
    n_columns : int
        Number of Hankel columns N.

    Returns
    -------
    float
        ``(sqrt(future p) + sqrt(past (m + p)))^2 / N``.

    Examples
    --------
    >>> from realize.identify.criteria import correlation_floor
    >>> float(correlation_floor(1, 0, 1, 1, 100))
    0.04
    """
    return (np.sqrt(future * p) + np.sqrt(past * (m + p))) ** 2 / float(n_columns)


def auto_candidates(
    canonical_correlations, p: int, m: int, past: int, future: int, n_columns: int, n_max: int
) -> list[int]:
    """Orders ``1 .. min(n_floor + 1, n_max)`` examined by ``order="auto"``.

    Parameters
    ----------
    canonical_correlations : (k,) array_like
        CVA singular values, decreasing.
    p, m, past, future, n_columns : int
        As in :func:`correlation_floor`.
    n_max : int
        Largest order allowed (e.g. :func:`max_order`).

    Returns
    -------
    list of int
        At least ``[1]``.

    Examples
    --------
    >>> from realize.identify.criteria import auto_candidates
    >>> auto_candidates([0.9, 0.5, 0.01], 1, 1, 5, 5, 10000, 4)
    [1, 2, 3]
    """
    sv = np.asarray(canonical_correlations, dtype=float)
    floor = correlation_floor(p, m, past, future, n_columns)
    n_floor = int(np.sum(sv**2 > floor))
    return list(range(1, max(1, min(n_floor + 1, n_max)) + 1))


def information_criterion(
    logdet: float, n: int, n_columns: int, p: int, m: int, feedthrough: bool, kind: str = "bic"
) -> float:
    """``N log det Lambda(n) + c_N k(n)`` (see :mod:`realize.identify.order`).

    Parameters
    ----------
    logdet : float
        ``log det Lambda(n)``.
    n : int
        Candidate order.
    n_columns : int
        Number of Hankel columns N.
    p, m : int
        Outputs and inputs.
    feedthrough : bool
        Whether D is estimated (adds ``p m`` parameters).
    kind : {'bic', 'aic'}
        ``c_N = log N`` (BIC) or 2 (AIC).

    Returns
    -------
    float
        The criterion; smaller is better.

    Examples
    --------
    >>> from realize.identify.criteria import information_criterion
    >>> round(float(information_criterion(0.0, 1, 100, 1, 0, False)), 6)  # 2 log(100)
    9.21034
    >>> float(information_criterion(0.0, 1, 100, 1, 0, False, kind="aic"))
    4.0
    """
    N = float(n_columns)
    k = n * (2 * p + m) + (p * m if feedthrough else 0)
    c = np.log(N) if kind == "bic" else 2.0
    return N * logdet + c * k
