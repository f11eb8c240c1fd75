"""Minimal, balanced and Hankel-based realizations of discrete-time MIMO models.

Conventions stated once
-----------------------
* Rank decisions (controllable and observable dimensions) are made on an
  orthogonal staircase: the blocks that the staircase reduces are compressed by an
  SVD and singular values ``<= tol`` count as zero. The default is
  ``tol = sqrt(eps) * max(||A||_F, ||B||_F, ||C||_F)`` (MATLAB's ``minreal`` uses
  sqrt(eps) too). SLICOT's TB01PD default ``n^2 eps`` (python-control's ``minreal``)
  is too tight for models of a few dozen states: after a dozen staircase steps the
  rounding of a truly zero block reaches ``1e-11`` relative, and planted uncontrollable
  modes are kept (see benchmarks/bench_canonical.py).
* Gramians solve ``P = A P A' + B B'`` and ``Q = A' Q A + C' C``; the Hankel
  singular values are ``sigma_i = sqrt(lambda_i(P Q))``, in decreasing order,
  computed as the singular values of ``Lo' Lc`` with ``P = Lc Lc'``, ``Q = Lo Lo'``.
* Reductions (``minimal``, ``balanced_truncation``) act on the input-output map.
  ``minimal`` carries the noise model or innovation form along (the noise enters as
  extra inputs); ``balanced_truncation`` drops it (the bound concerns ``u -> y``).

References
----------
.. [1] A. Varga, "Numerically stable algorithm for standard controllability form
   determination", Electronics Letters 17(2), 1981.
.. [2] M. S. Tombs and I. Postlethwaite, "Truncated balanced realization of a stable
   non-minimal state-space system", Int. J. Control 46(4), 1987 (square-root method).
.. [3] U. M. Al-Saggaf and G. F. Franklin, "An error bound for a discrete reduced order
   model of a linear multivariable system", IEEE TAC 32(9), 1987.
.. [4] Y. Liu and B. D. O. Anderson, "Singular perturbation approximation of balanced
   systems", Int. J. Control 50(4), 1989.
.. [5] B. L. Ho and R. E. Kalman, "Effective construction of linear state-variable
   models from input/output functions", Regelungstechnik 14, 1966;
   J.-N. Juang and R. S. Pappa, "An eigensystem realization algorithm for modal
   parameter identification and model reduction", J. Guidance 8(5), 1985.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg as sla

from realize._checks import (
    as_bool,
    as_choice,
    as_float,
    as_float_array,
    as_int,
    as_matrix,
    as_square,
    as_timeseries,
    describe,
)
from realize._linalg import psd_factor, symmetrize
from realize.errors import (
    DataError,
    InvalidValueError,
    NotStableError,
    OrderError,
    ShapeError,
)
from realize.model import StateSpace, build_unchecked, compact_repr

__all__ = [
    "BalancedTruncation",
    "KalmanDecomposition",
    "balanced_truncation",
    "era",
    "gramians",
    "hankel_singular_values",
    "kalman_decomposition",
    "markov_from_data",
    "minimal",
    "modred",
]

_EPS = np.finfo(float).eps


# --------------------------------------------------------------------- helpers
def as_statespace(sys, name: str = "sys") -> StateSpace:
    """Accept a realize ``StateSpace`` (or a discrete python-control one)."""
    if isinstance(sys, StateSpace):
        return sys
    if type(sys).__module__.startswith("control"):
        return StateSpace.from_control(sys)
    raise InvalidValueError(f"{name}: expected a realize.StateSpace, got {describe(sys)}")


def _default_tol(A: np.ndarray, *others: np.ndarray) -> float:
    # sqrt(eps), as MATLAB's minreal: SLICOT's n^2 eps is too tight once the staircase has
    # run a dozen steps (rounding of a truly zero block then reaches 1e-11 relative)
    scale = max([np.linalg.norm(A)] + [np.linalg.norm(X) for X in others])
    return float(np.sqrt(_EPS) * scale)


def controllability_staircase(A, B, tol: float | None = None):
    """Orthogonal controllability staircase (Varga 1981).

    Returns ``(Ah, Bh, U, sizes)`` with ``Ah = U' A U``, ``Bh = U' B`` and, for
    ``nc = sum(sizes)``, ``Ah[nc:, :nc] = 0`` and ``Bh[nc:] = 0`` exactly: the first
    ``nc`` columns of U span the controllable subspace. ``sizes[k]`` is the rank
    gained at the k-th step (the number of inputs with controllability index > k),
    so ``sizes`` is non-increasing.
    """
    A = np.array(A, dtype=float)
    B = np.array(B, dtype=float)
    n = A.shape[0]
    tol = _default_tol(A, B) if tol is None else as_float(tol, "tol", low=0.0)
    U = np.eye(n)
    sizes: list[int] = []
    row0, col0 = 0, 0
    while row0 < n:
        blk = B[row0:] if not sizes else A[row0:, col0:row0]
        if blk.shape[1] == 0:
            break
        W, s, _ = np.linalg.svd(blk, full_matrices=True)
        r = int(np.count_nonzero(s > tol))
        A[row0:, :] = W.T @ A[row0:, :]
        A[:, row0:] = A[:, row0:] @ W
        B[row0:] = W.T @ B[row0:]
        U[:, row0:] = U[:, row0:] @ W
        # what the SVD left below the rank is at most tol: it is a decision, make it exact
        if not sizes:
            B[row0 + r :] = 0.0
        else:
            A[row0 + r :, col0:row0] = 0.0
        if r == 0:
            break
        sizes.append(r)
        col0, row0 = row0, row0 + r
    return A, B, U, sizes


def _dual_rank_basis(A, C, tol):
    """Orthonormal U whose first ``no`` columns span the observable part (dual staircase)."""
    _, _, U, sizes = controllability_staircase(A.T, C.T, tol)
    return U, int(sum(sizes))


def _noise_inputs(sys: StateSpace) -> np.ndarray:
    """The matrix through which noise drives the state, (n, q), or (n, 0) without noise."""
    if sys.K is not None:
        return np.asarray(sys.K)
    if sys.Q is not None:
        return psd_factor(np.asarray(sys.Q))
    return np.zeros((sys.n, 0))


def _project(sys: StateSpace, P: np.ndarray, keep_noise: bool) -> StateSpace:
    """The model in coordinates z = P x for an orthonormal-row P whose row space is
    A-invariant (or whose complement is unobservable): A -> P A P', B -> P B, C -> C P'."""
    fields = sys._fields()
    fields.update(B=P @ sys.B, C=sys.C @ P.T, state_names=None, state_units=None)
    if keep_noise:
        if sys.Q is not None:
            fields.update(Q=P @ sys.Q @ P.T, S=P @ sys.S)
        if sys.K is not None:
            fields.update(K=P @ sys.K)
    else:
        fields.update(Q=None, R=None, S=None, K=None, Lambda=None)
    A = P @ sys.A @ P.T
    fields.pop("A")
    if fields["Q"] is not None:
        fields["Q"] = symmetrize(fields["Q"])
    return build_unchecked(A, fields)


# --------------------------------------------------------------------- minimal
def minimal(sys, tol: float | None = None, *, noise: bool = True) -> StateSpace:
    """A minimal realization, by orthogonal staircase reduction.

    First the states not controllable from the inputs are removed, then those not
    observable from the outputs; each step is an orthogonal projection, so the
    result is as accurate as the rank decisions.

    Parameters
    ----------
    sys : StateSpace
    tol : float, optional
        Rank tolerance of the staircases: singular values ``<= tol`` count as zero.
        Default ``sqrt(eps) * max(||A||_F, ||[B, G]||_F, ||C||_F)``, on the scale of the
        whole model and used for both staircases (see the module notes).
    noise : bool, default True
        When the model has an innovation form (or noise model), the noise is treated
        as extra inputs through ``K`` (or a square root ``G`` of ``Q``): the states it
        excites are kept and the reduced model carries ``K``, ``Lambda`` (``Q, R, S``)
        restricted to the kept states. With ``noise=False`` the reduction is of
        ``u -> y`` only and the noise description is dropped.

    Returns
    -------
    StateSpace
        Order ``n_min <= n``; same D, dt and input/output labels.

    Notes
    -----
    With ``U1`` the orthonormal basis of the controllable subspace from the staircase
    ``U' A U = [[A_c, *], [0, A_u]]``, the reduced model is ``(U1' A U1, U1' B, C U1)``;
    the observable part is found by the same staircase on ``(A', C')``.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace(np.diag([0.5, 0.3]), [[1.0], [0.0]], [[1.0, 1.0]])
    >>> realize.minimal(sys).n
    1
    """
    sys = as_statespace(sys)
    noise = as_bool(noise, "noise")
    A = np.asarray(sys.A)
    Bx = np.hstack([sys.B, _noise_inputs(sys)]) if noise else np.asarray(sys.B)
    if tol is None:  # one tolerance for both staircases, on the scale of the given model
        tol = _default_tol(A, Bx, np.asarray(sys.C))
    tol = as_float(tol, "tol", low=0.0)
    _, _, U, sizes = controllability_staircase(A, Bx, tol)
    red = _project(sys, U[:, : sum(sizes)].T, keep_noise=noise)
    if red.n == 0:
        return red
    U, no = _dual_rank_basis(np.asarray(red.A), np.asarray(red.C), tol)
    return _project(red, U[:, :no].T, keep_noise=noise)


class KalmanDecomposition(NamedTuple):
    """Kalman's canonical decomposition (see :func:`kalman_decomposition`).

    Attributes
    ----------
    sys : StateSpace
        The model in the new coordinates ``x_new = T x`` (noise model transformed too).
    T : (n, n) array
        The similarity.
    sizes : tuple of 4 int
        ``(n_co, n_cu, n_uo, n_uu)``.
    controllable_observable : StateSpace
        ``(A_co, B_co, C_co, D)``: a minimal realization of the transfer function.
    controllable_unobservable : StateSpace
        ``(A_cu, B_cu, 0, D)``.
    uncontrollable_observable : StateSpace
        ``(A_uo, 0, C_uo, D)``.
    uncontrollable_unobservable : StateSpace
        ``(A_uu, 0, 0, D)``.

    Examples
    --------
    >>> import realize
    >>> A = [[0.5, 0.0, 0.0], [0.0, 0.3, 0.0], [0.0, 0.0, 0.2]]
    >>> sys = realize.StateSpace(A, [[1.0], [1.0], [0.0]], [[1.0, 0.0, 1.0]])
    >>> kd = realize.kalman_decomposition(sys)
    >>> kd.sizes, kd.controllable_observable.n
    ((1, 1, 1, 0), 1)
    """

    sys: StateSpace
    T: np.ndarray
    sizes: tuple[int, int, int, int]
    controllable_observable: StateSpace
    controllable_unobservable: StateSpace
    uncontrollable_observable: StateSpace
    uncontrollable_unobservable: StateSpace

    def __repr__(self) -> str:
        return compact_repr(self)


def _orth_complement(V: np.ndarray, n: int, tol: float = 1e-10) -> np.ndarray:
    if V.shape[1] == 0:
        return np.eye(n)
    W, s, _ = np.linalg.svd(V, full_matrices=True)
    r = int(np.count_nonzero(s > tol * max(1.0, s[0])))
    return W[:, r:]


def kalman_decomposition(sys, tol: float | None = None) -> KalmanDecomposition:
    """Kalman's canonical decomposition into the four controllable/observable parts.

    With ``x_new = T x = [x_co; x_cu; x_uo; x_uu]`` (c/u: controllable or not,
    o/u: observable or not)::

        A_new = [[A_co,  0,    A_13, 0   ],      B_new = [[B_co],   C_new = [C_co, 0, C_uo, 0]
                 [A_21,  A_cu, A_23, A_24],               [B_cu],
                 [0,     0,    A_uo, 0   ],               [0   ],
                 [0,     0,    A_43, A_uu]]               [0   ]]

    and the displayed zeros are exact. The transfer function is that of
    ``(A_co, B_co, C_co, D)``.

    Parameters
    ----------
    sys : StateSpace
    tol : float, optional
        Rank tolerance of the staircases (see :func:`minimal`).

    Returns
    -------
    KalmanDecomposition
        ``sys`` (the transformed model, noise model transformed too), ``T``,
        ``sizes = (n_co, n_cu, n_uo, n_uu)`` and the four parts as deterministic
        models ``(A_ii, B_i, C_i, D)``.

    Notes
    -----
    The controllable subspace ``R`` and unobservable subspace ``N`` come from the two
    staircases; ``T^-1 = [V_co, V_cu, V_uo, V_uu]`` with ``V_cu`` an orthonormal basis of
    ``R ∩ N`` (principal vectors with cosine one), ``V_co`` and ``V_uu`` its orthogonal
    complements within ``R`` and ``N``, ``V_uo`` the orthogonal complement of ``R + N``.
    ``A R ⊂ R`` and ``A N ⊂ N`` give the zero pattern.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace(np.diag([0.5, 0.3, 0.2]), [[1.0], [1.0], [0.0]],
    ...                          [[1.0, 0.0, 1.0]])
    >>> realize.kalman_decomposition(sys).sizes
    (1, 1, 1, 0)
    """
    sys = as_statespace(sys)
    A, B, C = np.asarray(sys.A), np.asarray(sys.B), np.asarray(sys.C)
    n = sys.n
    if tol is None:
        tol = _default_tol(A, B, C)
    _, _, Uc, sizes = controllability_staircase(A, B, tol)
    nc = int(sum(sizes))
    Uo, no = _dual_rank_basis(A, C, tol)
    R, N = Uc[:, :nc], Uo[:, no:]
    # principal angles between R and N: cosines equal to one span the intersection
    if R.shape[1] and N.shape[1]:
        Y, cos, Zt = np.linalg.svd(R.T @ N)
        k = int(np.count_nonzero(cos > 1.0 - 1e-8))
        V_cu = R @ Y[:, :k]
        V_co = R @ Y[:, k:]
        V_uu = N @ Zt.T[:, k:]
    else:
        V_cu = np.zeros((n, 0))
        V_co, V_uu = R, N
    V_uo = _orth_complement(np.hstack([V_co, V_cu, V_uu]), n)
    Ti = np.hstack([V_co, V_cu, V_uo, V_uu])
    if Ti.shape[1] != n:  # rank decisions of the two staircases disagree (borderline tol)
        raise InvalidValueError(
            f"tol: the controllability and observability rank decisions are inconsistent "
            f"at tol={tol}; got subspace dimensions summing to {Ti.shape[1]} != n = {n}"
        )
    T = np.linalg.inv(Ti)
    sz = (V_co.shape[1], V_cu.shape[1], V_uo.shape[1], V_uu.shape[1])
    new = sys.similarity(T)
    Anew, Bnew, Cnew = np.array(new.A), np.array(new.B), np.array(new.C)
    o = np.cumsum((0,) + sz)
    blk = [slice(o[i], o[i + 1]) for i in range(4)]
    for i, j in ((0, 1), (0, 3), (2, 0), (2, 1), (2, 3), (3, 0), (3, 1)):
        Anew[blk[i], blk[j]] = 0.0
    Bnew[o[2] :] = 0.0
    Cnew[:, blk[1]] = 0.0
    Cnew[:, blk[3]] = 0.0
    fields = new._fields()
    fields.update(B=Bnew, C=Cnew)
    fields.pop("A")
    new = build_unchecked(Anew, fields)

    def part(i, with_b, with_c):
        Ai = Anew[blk[i], blk[i]]
        Bi = Bnew[blk[i]] if with_b else np.zeros((sz[i], sys.m))
        Ci = Cnew[:, blk[i]] if with_c else np.zeros((sys.p, sz[i]))
        return StateSpace(
            Ai, Bi, Ci, sys.D, dt=sys.dt, input_names=sys.input_names, output_names=sys.output_names
        )

    return KalmanDecomposition(
        new,
        T,
        sz,
        part(0, True, True),
        part(1, True, False),
        part(2, False, True),
        part(3, False, False),
    )


# ------------------------------------------------------------------- gramians
def _continuous(sys):
    """A continuous-time model as a validated ContinuousStateSpace, or None for a
    discrete-time one (a realize StateSpace, or a discrete python-control model)."""
    from realize.discretize import ContinuousStateSpace

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
    from realize.riccati import dlyap, lyap

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


# ------------------------------------------------------------------------ ERA
def _as_markov(markov) -> np.ndarray:
    h = as_float_array(markov, "markov")
    if h.ndim == 1:
        h = h[:, None, None]
    if h.ndim != 3:
        raise ShapeError(f"markov: expected a (k, p, m) array, got shape {h.shape}")
    if not np.all(np.isfinite(h)):
        from realize.errors import NonFiniteError

        raise NonFiniteError("markov: expected finite values, got NaN or Inf")
    return h


def era(
    markov,
    order: int | None = None,
    *,
    rows: int | None = None,
    cols: int | None = None,
    tol: float | None = None,
    dt: float = 1.0,
):
    """Ho-Kalman / eigensystem realization algorithm from MIMO Markov parameters.

    Parameters
    ----------
    markov : (k, p, m) array
        ``markov[0] = D``, ``markov[j] = C A^(j-1) B`` (as returned by
        ``StateSpace.markov(k)`` or :func:`markov_from_data`). A 1-D array means SISO.
    order : int, optional
        Model order. Default: the numerical rank of the Hankel matrix (singular
        values above ``tol * sigma_1``) when there is a clear rank drop, otherwise the
        order at the largest gap ``sigma_i / sigma_{i+1}`` (noisy data).
    rows, cols : int, optional
        Block rows and columns of the Hankel matrix, ``rows + cols <= k - 1``;
        default an as-square-as-possible split of the k - 1 available parameters.
    tol : float, optional
        Relative rank tolerance for ``order=None``; default ``max(p rows, m cols) * 1e3 * eps``.
    dt : float
        Sampling period of the returned model.

    Returns
    -------
    model : StateSpace
        ``(A, B, C, D)`` in the (finite-horizon) balanced coordinates of the Hankel SVD.
    singular_values : (min(p rows, m cols),) array
        Singular values of the Hankel matrix, used to choose the order.

    Raises
    ------
    ShapeError
        If ``markov`` is not (k, p, m).
    OrderError
        If there are too few Markov parameters for the Hankel sizes or the order.

    Notes
    -----
    With ``H0[i, j] = markov[i + j + 1]`` and ``H1[i, j] = markov[i + j + 2]``
    (block entries) and ``H0 = U S V'`` truncated to the order n::

        A = S^-1/2 U' H1 V S^-1/2,   B = (S^1/2 V')[:, :m],   C = (U S^1/2)[:p, :].

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.8, 0.1], [0.0, 0.5]], [[1.0], [1.0]], [[1.0, 0.0]])
    >>> model, sv = realize.era(sys.markov(20))
    >>> model.n, np.allclose(np.sort(model.poles().real), [0.5, 0.8])
    (2, True)
    """
    h = _as_markov(markov)
    k, p, m = h.shape
    if p == 0 or m == 0:
        raise ShapeError(f"markov: expected a (k, p, m) array with p, m >= 1, got shape {h.shape}")
    dt = as_float(dt, "dt", low=0.0, open_low=True)
    avail = k - 1
    if avail < 2:
        raise OrderError(f"markov: expected at least 3 Markov parameters for ERA, got {k}")
    if rows is None and cols is None:
        rows = (avail + 1) // 2
        cols = avail - rows
    elif rows is None:
        rows = avail - as_int(cols, "cols", error=OrderError)
    elif cols is None:
        cols = avail - as_int(rows, "rows", error=OrderError)
    rows, cols = as_int(rows, "rows", error=OrderError), as_int(cols, "cols", error=OrderError)
    if rows < 1 or cols < 1 or rows + cols > avail:
        raise OrderError(
            f"rows, cols: expected positive block sizes with rows + cols <= {avail} "
            f"(k - 1 for k = {k} Markov parameters), got rows={rows}, cols={cols}"
        )
    idx = np.arange(rows)[:, None] + np.arange(cols)[None, :]
    H0 = h[1 + idx].transpose(0, 2, 1, 3).reshape(rows * p, cols * m)
    H1 = h[2 + idx].transpose(0, 2, 1, 3).reshape(rows * p, cols * m)
    U, s, Vt = np.linalg.svd(H0, full_matrices=False)
    if order is None:
        tol = max(H0.shape) * 1e3 * _EPS if tol is None else as_float(tol, "tol", low=0.0)
        if s[0] == 0:
            order = 0
        else:
            r = int(np.count_nonzero(s > tol * s[0]))
            if r < len(s):
                order = r
            else:
                with np.errstate(divide="ignore"):
                    order = int(np.argmax(np.log(s[:-1]) - np.log(s[1:]))) + 1
    n = as_int(order, "order", error=OrderError)
    if n < 0 or n > len(s):
        raise OrderError(
            f"order: expected an integer in [0, {len(s)}] (the Hankel matrix is "
            f"{H0.shape[0]} x {H0.shape[1]}), got {order!r}"
        )
    if n and s[n - 1] <= s[0] * _EPS * max(H0.shape):
        raise OrderError(
            f"order: the Hankel matrix has numerical rank below {n} "
            f"(sigma_{n} / sigma_1 = {s[n - 1] / s[0]:.3g}); choose a smaller order"
        )
    sq = np.sqrt(s[:n])
    Ob = U[:, :n] * sq
    Cb = sq[:, None] * Vt[:n]
    A = (U[:, :n].T @ H1 @ Vt[:n].T) / np.outer(sq, sq)
    model = StateSpace(A, Cb[:, :m], Ob[:p, :], h[0], dt=dt)
    return model, s


def markov_from_data(y, u, k: int) -> np.ndarray:
    """Least-squares estimate of the first k Markov parameters from input-output data.

    Fits the finite impulse response ``y[t] = sum_{j<k} g_j u[t-j] + e[t]`` for
    ``t >= k - 1``; the truncation biases ``g`` by the tail ``sum_{j>=k} g_j u[t-j]``,
    so k should exceed the settling time.

    Parameters
    ----------
    y : (T, p) array
    u : (T, m) array
        1-D means one channel.
    k : int
        Number of Markov parameters (``g_0 = D`` included).

    Returns
    -------
    markov : (k, p, m) array
        ``markov[j] ~ C A^(j-1) B`` (``markov[0] ~ D``), ready for :func:`era`.

    Raises
    ------
    ShapeError
        If y and u have different lengths.
    DataError
        Too few samples (``T - k + 1 < k m``) or an input that is not persistently
        exciting of order k (rank-deficient regressor).

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
    >>> u = np.random.default_rng(0).standard_normal((400, 1))
    >>> g = realize.markov_from_data(sys.simulate(u), u, 60)
    >>> bool(np.allclose(g[:5, 0, 0], [0.0, 1.0, 0.5, 0.25, 0.125], atol=1e-9))
    True
    """
    y = as_timeseries(y, "y")
    u = as_timeseries(u, "u")
    if u.shape[0] != y.shape[0]:
        raise ShapeError(f"u: expected {y.shape[0]} samples (as many as y), got {u.shape[0]}")
    k = as_int(k, "k", low=1)
    T, m = u.shape
    p = y.shape[1]
    rows = T - k + 1
    if rows < k * m:
        raise DataError(
            f"y, u: expected at least {k * m + k - 1} samples to estimate {k} Markov "
            f"parameters of {m} input(s), got {T}"
        )
    # regressor row t: [u[t], u[t-1], ..., u[t-k+1]]
    Phi = np.lib.stride_tricks.sliding_window_view(u, k, axis=0)[:, :, ::-1]
    Phi = Phi.transpose(0, 2, 1).reshape(rows, k * m)
    G, _, rank, sv = sla.lstsq(Phi, y[k - 1 :], lapack_driver="gelsd")
    if rank < k * m:
        raise DataError(
            f"u: expected an input persistently exciting of order {k} (full-rank regressor "
            f"of {k * m} columns), got rank {rank}"
        )
    return G.reshape(k, m, p).transpose(0, 2, 1)
