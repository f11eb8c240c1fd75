"""Orthogonal staircases: minimal realizations and Kalman's canonical decomposition.

The controllable subspace of ``(A, B)`` is found by Varga's orthogonal staircase
(:func:`controllability_staircase`), the observable one by the same staircase on
``(A', C')``; rank decisions follow the tolerance convention of
:mod:`realize.realization`. :func:`minimal` projects onto the controllable, then the
observable part; :func:`kalman_decomposition` splits the state space into the four
controllable/observable parts.

The references are those of :mod:`realize.realization`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from realize._checks import as_bool, as_float, describe
from realize._linalg import psd_factor, symmetrize
from realize.errors import InvalidValueError
from realize.model import StateSpace, build_unchecked, compact_repr

__all__ = ["KalmanDecomposition", "kalman_decomposition", "minimal"]

_EPS = np.finfo(float).eps


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
