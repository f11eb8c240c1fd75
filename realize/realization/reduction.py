"""Gramians, Hankel singular values, balancing and model reduction, discrete or continuous.

The Gramians and Hankel singular values follow the conventions of
:mod:`realize.realization` (square-root method: the SVD of ``Lo' Lc``).
:func:`balanced_truncation` keeps the strongest balanced states or residualizes the others
(singular perturbation), with the error bound ``2 sum_{i>r} sigma_i``; :func:`modred`
eliminates given states. A model is a realize ``StateSpace``, a
:class:`~realize.discretize.ContinuousStateSpace` or a python-control model. The
references are those of :mod:`realize.realization`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from realize._checks import as_choice, as_int, as_matrix, as_square
from realize._linalg import psd_factor
from realize.discretize import ContinuousStateSpace
from realize.errors import InvalidValueError, NotStableError, OrderError
from realize.model import StateSpace, compact_repr
from realize.realization.staircase import as_statespace
from realize.riccati import dlyap, lyap

__all__ = [
    "BalancedTruncation",
    "balanced_truncation",
    "gramians",
    "hankel_singular_values",
    "modred",
]

_EPS = np.finfo(float).eps


def _continuous(sys):
    """A continuous-time model as a validated ContinuousStateSpace, or None for a
    discrete-time one (a realize StateSpace, or a discrete python-control model)."""
    if isinstance(sys, ContinuousStateSpace):
        A = as_square(sys.A, "sys.A")
        n = A.shape[0]
        B = as_matrix(sys.B, "sys.B", rows=n)
        C = as_matrix(sys.C, "sys.C", cols=n)
        D = as_matrix(sys.D, "sys.D", rows=C.shape[0], cols=B.shape[1])
        return ContinuousStateSpace(A, B, C, D, None, None)
    if type(sys).__module__.startswith("control"):
        import control

        if not isinstance(sys, control.StateSpace):
            sys = control.ss(sys)
        if sys.isctime(strict=True):
            return _continuous(
                ContinuousStateSpace(
                    np.asarray(sys.A),
                    np.asarray(sys.B),
                    np.asarray(sys.C),
                    np.asarray(sys.D),
                    None,
                    None,
                )
            )
    return None


def _require_stable(sys, what: str):
    if isinstance(sys, StateSpace):
        if sys.n and not sys.is_stable():
            raise NotStableError(
                f"sys: expected a stable model for {what}, got spectral radius "
                f"{sys.spectral_radius():.6g} (>= 1)"
            )
        return
    alpha = float(np.max(np.linalg.eigvals(sys.A).real)) if sys.A.size else -np.inf
    if alpha >= 0.0:
        raise NotStableError(
            f"sys: expected a stable continuous-time model for {what} (poles in the open left "
            f"half-plane), got spectral abscissa {alpha:.6g} (>= 0)"
        )


def _lti(sys):
    """The model as a realize StateSpace (discrete time) or a ContinuousStateSpace."""
    ct = _continuous(sys)
    return as_statespace(sys) if ct is None else ct


def gramians(sys) -> tuple[np.ndarray, np.ndarray]:
    """Controllability and observability Gramians of a stable model.

    Parameters
    ----------
    sys : StateSpace, ContinuousStateSpace or python-control StateSpace
        Stable: spectral radius below one in discrete time, poles in the open left
        half-plane in continuous time (a :class:`~realize.discretize.ContinuousStateSpace`
        or a continuous python-control model).

    Returns
    -------
    P : (n, n) array
        ``P = A P A' + B B' = sum_k A^k B B' A'^k`` (discrete time);
        ``A P + P A' + B B' = 0`` (continuous time).
    Q : (n, n) array
        ``Q = A' Q A + C' C`` (discrete time); ``A' Q + Q A + C' C = 0`` (continuous time).

    Raises
    ------
    NotStableError
        If a pole lies on or outside the unit circle (in the closed right half-plane).

    See Also
    --------
    hankel_singular_values, balanced_truncation, realize.dlyap, realize.riccati.lyap

    Notes
    -----
    The continuous-time Gramians equal python-control's ``gram(sys, 'c')`` and
    ``gram(sys, 'o')``.

    Examples
    --------
    >>> import realize
    >>> P, Q = realize.gramians(realize.StateSpace([[0.5]], [[1.0]], [[2.0]]))
    >>> float(P[0, 0]), float(Q[0, 0])
    (1.3333333333333333, 5.333333333333333)
    >>> ct = realize.discretize.ContinuousStateSpace([[-2.0]], [[2.0]], [[1.0]], [[0.0]], None, None)
    >>> [float(X[0, 0]) for X in realize.gramians(ct)]
    [1.0, 0.25]
    """
    sys = _lti(sys)
    _require_stable(sys, "the Gramians")
    A, B, C = np.asarray(sys.A), np.asarray(sys.B), np.asarray(sys.C)
    solve = dlyap if isinstance(sys, StateSpace) else lyap
    return solve(A, B @ B.T), solve(A.T, C.T @ C)


def _square_root_factors(sys):
    """(Lc, Lo, U, sigma, Vt) with P = Lc Lc', Q = Lo Lo', Lo' Lc = U diag(sigma) Vt."""
    P, Q = gramians(sys)
    Lc, Lo = psd_factor(P), psd_factor(Q)
    U, s, Vt = np.linalg.svd(Lo.T @ Lc)
    return Lc, Lo, U, s, Vt


def hankel_singular_values(sys) -> np.ndarray:
    """Hankel singular values of a stable model, in decreasing order.

    Parameters
    ----------
    sys : StateSpace, ContinuousStateSpace or python-control StateSpace
        Stable, in discrete or continuous time (see :func:`gramians`).

    Returns
    -------
    sigma : (n,) array
        ``sigma_i = sqrt(lambda_i(P Q))``, the singular values of the Hankel operator
        mapping past inputs to future outputs; zeros for non-minimal directions.

    Raises
    ------
    NotStableError

    See Also
    --------
    balanced_truncation, gramians, realize.canonical_form : the 'balanced' form.

    Notes
    -----
    Computed as the singular values of ``Lo' Lc`` (``P = Lc Lc'``, ``Q = Lo Lo'``),
    which avoids forming the non-symmetric product ``P Q``. In continuous time they equal
    python-control's ``hsvd``. They are invariant under the bilinear (Tustin) map, so
    the discrete-time values equal ``hsvd`` of the model mapped to continuous time with
    ``d2c(..., 'tustin')``.

    Examples
    --------
    >>> import realize
    >>> s = realize.hankel_singular_values(realize.StateSpace([[0.5]], [[1.0]], [[1.0]]))
    >>> round(float(s[0]), 12)
    1.333333333333
    >>> ct = realize.discretize.ContinuousStateSpace([[-2.0]], [[1.0]], [[1.0]], [[0.0]], None, None)
    >>> float(realize.hankel_singular_values(ct)[0])  # 1 / (s + 2): python-control's 0.25
    0.25
    """
    sys = _lti(sys)
    if sys.A.shape[0] == 0:
        return np.zeros(0)
    return _square_root_factors(sys)[3]


class BalancedTruncation(NamedTuple):
    """Result of :func:`balanced_truncation`.

    Attributes
    ----------
    model : StateSpace or ContinuousStateSpace
        The reduced model of order r (no noise model), in the time domain of the input.
    error_bound : float
        ``2 sum_{i>r} sigma_i``, an upper bound on ``||G - G_r||_inf``.
    hankel_singular_values : (n,) array
        All Hankel singular values of the full model, decreasing.

    Examples
    --------
    >>> import realize
    >>> from realize.testing import random_statespace
    >>> res = realize.balanced_truncation(random_statespace(0, 4), 2)
    >>> res.model.n, res.hankel_singular_values.shape
    (2, (4,))
    """

    model: StateSpace
    error_bound: float
    hankel_singular_values: np.ndarray

    def __repr__(self) -> str:
        return compact_repr(self)


_METHODS = ("truncate", "spa")
_METHOD_ALIASES = {"singular-perturbation": "spa", "matchdc": "spa"}  # deprecated (issue 18)


def balanced_realization(sys, order: int | None = None):
    """Square-root balanced realization, truncated to ``order`` states.

    Returns ``(T, Ti, sigma)`` with ``T`` (order, n), ``Ti`` (n, order), ``T Ti = I``:
    ``(T A Ti, T B, C Ti)`` has both Gramians equal to ``diag(sigma[:order])``.
    Signs are fixed so that the entry of largest modulus in each row of ``T B`` is
    positive (the balanced realization is otherwise unique for distinct sigma).
    """
    sys = _lti(sys)
    n = sys.A.shape[0]
    return _balance(sys, n if order is None else order, _square_root_factors(sys))


def _nonzero_hsv(s: np.ndarray, n: int) -> int:
    return int(np.count_nonzero(s > s[0] * _EPS * n * 10)) if len(s) else 0


def _balance(sys, r: int, factors):
    Lc, Lo, U, s, Vt = factors
    n = sys.A.shape[0]
    if r > _nonzero_hsv(s, n):
        raise OrderError(
            f"order: expected at most {_nonzero_hsv(s, n)}, the number of nonzero Hankel "
            f"singular values (the model is not minimal; reduce it with realize.minimal), "
            f"got {r}"
        )
    d = 1.0 / np.sqrt(s[:r])
    T = d[:, None] * (U[:, :r].T @ Lo.T)
    Ti = (Lc @ Vt[:r].T) * d
    Bb = T @ sys.B
    if Bb.size:
        sign = np.sign(Bb[np.arange(r), np.argmax(np.abs(Bb), axis=1)])
        sign[sign == 0] = 1.0
        T, Ti = sign[:, None] * T, Ti * sign
    return T, Ti, s


def _residualize(A, B, C, D, r: int, continuous: bool, what: str = "A22"):
    """Keep the first r states and set the others to their steady state (matched DC gain).

    Discrete time: ``x2 = A21 x1 + A22 x2 + B2 u`` at rest, ``x2 = (I - A22)^-1 (A21 x1 +
    B2 u)``; continuous time: ``0 = A21 x1 + A22 x2 + B2 u``, ``x2 = -A22^-1 (...)``.
    """
    A11, A12, A21, A22 = A[:r, :r], A[:r, r:], A[r:, :r], A[r:, r:]
    B1, B2, C1, C2 = B[:r], B[r:], C[:, :r], C[:, r:]
    E = -A22 if continuous else np.eye(A22.shape[0]) - A22
    cond = float(np.linalg.cond(E)) if E.size else 1.0
    if not cond < 1.0 / (max(E.shape[0], 1) * _EPS):
        what_is = "A22" if continuous else "I - A22"
        raise InvalidValueError(
            f"elim: expected eliminated states with a steady state ({what_is} nonsingular: no "
            f"pole at {'s = 0' if continuous else 'z = 1'} among them), got condition number "
            f"{cond:.3g}"
        )
    X = np.linalg.solve(E, np.hstack([A21, B2]))
    XA, XB = X[:, :r], X[:, r:]
    return A11 + A12 @ XA, B1 + A12 @ XB, C1 + C2 @ XA, D + C2 @ XB


def _reduced(sys, A, B, C, D):
    """A reduced model of the same kind as sys (labels of inputs and outputs kept)."""
    if isinstance(sys, StateSpace):
        base = sys.replace(Q=None, K=None, state_names=None, state_units=None)
        return base.replace(A=A, B=B, C=C, D=D)
    return type(sys)(A, B, C, D, None, None)


def balanced_truncation(sys, order: int, *, method: str = "truncate") -> BalancedTruncation:
    """Balanced truncation or singular-perturbation approximation, discrete or continuous.

    Parameters
    ----------
    sys : StateSpace, ContinuousStateSpace or python-control StateSpace
        Stable; a continuous-time model (see :func:`gramians`) gives a continuous-time
        reduced model.
    order : int
        Order r of the reduced model, ``0 <= r <= n`` (at most the number of nonzero
        Hankel singular values).
    method : {'truncate', 'spa'}
        'truncate' keeps the r most controllable-and-observable balanced states
        (matches ``G`` at ``z = inf`` direction: same D). 'spa' sets the discarded
        states to their steady state, so the reduced model has the same DC gain (``G(1)``,
        or ``G(0)`` in continuous time); its former aliases 'singular-perturbation' and
        'matchdc' are deprecated.

    Returns
    -------
    BalancedTruncation
        ``model`` (order r, no noise model), ``error_bound`` = ``2 sum_{i>r} sigma_i``
        and ``hankel_singular_values`` (all n).

    Raises
    ------
    NotStableError
        If ``sys`` is unstable (balancing needs both Gramians).
    OrderError
        If ``order`` is outside ``[0, n]`` or exceeds the number of nonzero Hankel
        singular values.
    InvalidValueError
        For an unknown method.

    See Also
    --------
    hankel_singular_values, modred, minimal

    Notes
    -----
    With the balanced realization partitioned after r states, truncation keeps
    ``(A11, B1, C1, D)``; the singular perturbation approximation is ([2]_)::

        Ar = A11 + A12 (I - A22)^-1 A21,   Br = B1 + A12 (I - A22)^-1 B2,
        Cr = C1 + C2 (I - A22)^-1 A21,     Dr = D + C2 (I - A22)^-1 B2,

    with ``-A22`` in place of ``I - A22`` in continuous time. Both are stable and satisfy
    ``sigma_{r+1} <= ||G - G_r||_inf <= 2 sum_{i>r} sigma_i`` ([1]_, [2]_). Each sigma is
    counted separately (the bound with equal sigmas counted once is tighter, but rounding
    makes "equal" a guess). In continuous time the reduced models equal python-control's
    ``balred(sys, r, method='truncate' | 'matchdc')`` (SLICOT AB09AD / AB09ND) up to the
    signs of the balanced states.

    References
    ----------
    .. [1] U. M. Al-Saggaf and G. F. Franklin, "An error bound for a discrete reduced
       order model of a linear multivariable system", IEEE TAC 32(9), 1987.
    .. [2] Y. Liu and B. D. O. Anderson, "Singular perturbation approximation of
       balanced systems", Int. J. Control 50(4), 1989.

    Examples
    --------
    >>> import realize
    >>> from realize.testing import random_statespace
    >>> sys = random_statespace(1, 6, 2, 2)
    >>> res = realize.balanced_truncation(sys, 3)
    >>> res.model.n, bool(res.error_bound >= res.hankel_singular_values[3])
    (3, True)
    """
    sys = _lti(sys)
    continuous = not isinstance(sys, StateSpace)
    n = sys.A.shape[0]
    method = as_choice(method, "method", _METHODS, aliases=_METHOD_ALIASES)
    r = as_int(order, "order", low=0, high=n, error=OrderError)
    _require_stable(sys, "balanced truncation")
    if n == 0:
        return BalancedTruncation(_reduced(sys, sys.A, sys.B, sys.C, sys.D), 0.0, np.zeros(0))
    factors = _square_root_factors(sys)
    hsv = factors[3]
    bound = float(2.0 * np.sum(hsv[r:]))
    if method == "truncate":
        T, Ti, _ = _balance(sys, r, factors)
        red = _reduced(sys, T @ sys.A @ Ti, T @ sys.B, sys.C @ Ti, np.asarray(sys.D))
        return BalancedTruncation(red, bound, hsv)
    # SPA: balance the minimal part exactly (zero sigmas carry no dynamics), then
    # eliminate the fast (weak) states at their steady state
    k = _nonzero_hsv(hsv, n)
    T, Ti, _ = _balance(sys, max(r, k), factors)  # raises OrderError when r > k
    Ab, Bb, Cb = T @ sys.A @ Ti, T @ sys.B, sys.C @ Ti
    red = _reduced(sys, *_residualize(Ab, Bb, Cb, np.asarray(sys.D), r, continuous))
    return BalancedTruncation(red, bound, hsv)


def modred(sys, elim, method: str = "matchdc"):
    """Model reduction by eliminating given states: truncation or matched DC gain.

    Parameters
    ----------
    sys : StateSpace, ContinuousStateSpace or python-control StateSpace
        Discrete or continuous time; usually in coordinates where the eliminated states
        are weak (balanced, modal).
    elim : sequence of int
        Indices of the states to eliminate (distinct, in ``[0, n)``).
    method : {'matchdc', 'truncate'}, default 'matchdc'
        'matchdc' replaces the eliminated states by their steady state, so the DC gain is
        kept exactly; 'truncate' deletes them (``(A11, B1, C1, D)``).

    Returns
    -------
    StateSpace or ContinuousStateSpace
        The reduced model, of the same kind as ``sys``, with the kept states in their
        original order (and their names); inputs, outputs and D's size unchanged. The
        noise model and innovation form are dropped: the reduction is of ``u -> y``.

    Raises
    ------
    InvalidValueError
        Indices that are not distinct integers in ``[0, n)``, an unknown method, or with
        'matchdc' eliminated states without a steady state (``I - A22`` singular in
        discrete time, ``A22`` in continuous time).

    See Also
    --------
    balanced_truncation : chooses the states to eliminate from the Hankel singular values.
    minimal : removes only the uncontrollable and unobservable states (no error).

    Notes
    -----
    With x1 the kept and x2 the eliminated states, 'matchdc' solves the rest condition for
    x2: ``x2 = (I - A22)^-1 (A21 x1 + B2 u)`` in discrete time (python-control refuses
    discrete-time systems here) and ``x2 = -A22^-1 (A21 x1 + B2 u)`` in continuous time,
    which is python-control's ``modred(sys, elim, 'matchdc')``::

        Ar = A11 + A12 X A21,  Br = B1 + A12 X B2,  Cr = C1 + C2 X A21,  Dr = D + C2 X B2,

    with ``X = (I - A22)^-1`` (discrete) or ``-A22^-1`` (continuous). Stability of the
    reduced model is not guaranteed unless the coordinates are balanced.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace(np.diag([0.9, 0.1]), [[1.0], [1.0]], [[1.0, 1.0]])
    >>> red = realize.modred(sys, [1])
    >>> red.n, np.allclose(red.dcgain(), sys.dcgain())
    (1, True)
    >>> realize.modred(sys, [1], method="truncate").D.tolist()
    [[0.0]]
    """
    sys = _lti(sys)
    continuous = not isinstance(sys, StateSpace)
    n = sys.A.shape[0]
    method = as_choice(method, "method", ("matchdc", "truncate"))
    try:
        idx = [
            as_int(i, "elim", low=0, high=n - 1)
            for i in np.atleast_1d(np.asarray(elim, dtype=object)).ravel()
        ]
    except (TypeError, ValueError) as exc:
        raise InvalidValueError(
            f"elim: expected state indices in [0, {n}), got {elim!r} ({exc})"
        ) from None
    if len(set(idx)) != len(idx):
        raise InvalidValueError(f"elim: expected distinct state indices, got {sorted(idx)}")
    keep = [i for i in range(n) if i not in set(idx)]
    order = keep + sorted(idx)
    A = np.asarray(sys.A)[np.ix_(order, order)]
    B, C, D = np.asarray(sys.B)[order], np.asarray(sys.C)[:, order], np.asarray(sys.D)
    r = len(keep)
    if method == "truncate" or r == n:
        Ar, Br, Cr, Dr = A[:r, :r], B[:r], C[:, :r], D
    else:
        Ar, Br, Cr, Dr = _residualize(A, B, C, D, r, continuous)
    if continuous:
        return type(sys)(Ar, Br, Cr, Dr, None, None)
    names = None if sys.state_names is None else [sys.state_names[i] for i in keep]
    units = None if sys.state_units is None else [sys.state_units[i] for i in keep]
    base = sys.replace(Q=None, K=None, state_names=None, state_units=None)
    return base.replace(A=Ar, B=Br, C=Cr, D=Dr, state_names=names, state_units=units)
