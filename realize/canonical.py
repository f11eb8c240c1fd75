"""Canonical forms of discrete-time MIMO state-space models.

Every form is a similarity ``x_new = T x``: ``A -> T A T^-1``, ``B -> T B``,
``C -> C T^-1``, and the noise model and innovation form follow
(``Q -> T Q T'``, ``S -> T S``, ``K -> T K``; see :meth:`StateSpace.similarity`).

Conditioning
------------
All forms return T, so ``np.linalg.cond(T)`` is the accuracy to expect: the
transformed model reproduces the Markov parameters to about ``eps * cond(T)``
relative. When ``cond(T)`` exceeds :data:`COND_WARN` (``1e8``) an
:class:`~realize.errors.IllConditionedWarning` is issued. Companion (controllable,
observable and index) forms are ill-conditioned at high order by nature; the
"schur" form (orthogonal T) is the numerically safe one. The four index forms are
built in extended precision (``np.longdouble``) and rounded once, which keeps their
Markov parameters near the rounding level of the form itself (see BENCHMARKS.md);
where ``np.longdouble`` is plain double (Windows, macOS on arm64) they lose about
three more digits.

Structure is exact
------------------
Entries that a form fixes (the zeros, the ones of shift rows, selector rows of B or
C) are set exactly after the transformation: they hold to the last bit, and the
free entries carry the rounding.

Luenberger index forms
----------------------
For m inputs the controllability indices ``mu_1..mu_m`` (sum n) are chosen in
"crate" order: the columns ``b_1, .., b_m, A b_1, .., A b_m, A^2 b_1, ..`` are
scanned and each one independent of those kept before it is kept; once ``A^k b_i``
is dependent, ``A^j b_i`` for ``j > k`` are skipped. How many are kept at each power
is fixed by the orthogonal staircase of ``(A, B)`` (a rank decision with an SVD);
which ones, by the crate order, a column counting as independent when its relative
residual after projection on the kept ones exceeds ``index_tol`` (``1e-8``). The
observability indices ``nu_1..nu_p`` come from the same scan of the rows ``c_i A^k``.
Indices may also be given (``indices=``), as for MATLAB's ``ssest`` pseudo-canonical
parametrizations; then only the unconditional structure is imposed.

References
----------
.. [1] D. G. Luenberger, "Canonical forms for linear multivariable systems",
   IEEE TAC 12(3), 1967.
.. [2] T. Kailath, Linear Systems, Prentice-Hall 1980, Sec. 6.4 (controller and
   observer forms), Sec. 6.4.6 (the index forms).
.. [3] L. Ljung, System Identification, 2nd ed., 1999, Appendix 4A (the observability
   canonical form used by MATLAB's ``ssest`` with ``'Form', 'canonical'``).
.. [4] B. Kågström and A. Ruhe, "An algorithm for numerical computation of the
   Jordan normal form of a complex matrix", ACM TOMS 6(3), 1980 (the nilpotent
   staircase).
.. [5] L. Zancato et al., "B'MOJO: Hybrid state space realizations of foundation
   models with eidetic and fading memory", NeurIPS 2024.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import scipy.linalg as sla

from realize._checks import as_choice, as_float
from realize.errors import (
    IllConditionedWarning,
    InvalidValueError,
    NotControllableError,
    NotObservableError,
    NotStableError,
    OrderError,
)
from realize.model import StateSpace, _build_unchecked
from realize.realization import (
    as_statespace,
    balanced_realization,
    controllability_staircase,
)

__all__ = [
    "COND_WARN",
    "FORMS",
    "ComplexModalForm",
    "MemoryBlocks",
    "canonical_form",
    "controllability_indices",
    "memory_blocks",
    "observability_indices",
]

#: cond(T) above which canonical_form warns with IllConditionedWarning.
COND_WARN = 1e8

_EPS = np.finfo(float).eps

FORMS = {
    "controllable": "controllable",
    "controller": "controllable",
    "reachable": "controllable",
    "observable": "observable",
    "observer": "observable",
    "observability-index": "observability-index",
    "luenberger": "observability-index",
    "canonical": "observability-index",
    "controllability-index": "controllability-index",
    "modal": "modal",
    "balanced": "balanced",
    "schur": "schur",
    "memory": "memory",
    "jordan": "jordan",
}


# --------------------------------------------------------------------- helpers
def _check_cond(T: np.ndarray, form: str) -> float:
    c = float(np.linalg.cond(T)) if T.size else 1.0
    if not c < COND_WARN:
        warnings.warn(
            f"canonical_form({form!r}): the transformation is ill-conditioned "
            f"(cond(T) = {c:.3g} > {COND_WARN:.0e}); expect relative errors near eps * cond(T)",
            IllConditionedWarning,
            stacklevel=3,
        )
    return c


def _finish(sys: StateSpace, T, A, B, C) -> StateSpace:
    """sys.similarity(T) (which carries the noise model), with A, B, C replaced by the
    structured matrices of the form."""
    new = sys.similarity(T)
    fields = new._fields()
    fields.pop("A")
    fields.update(B=B, C=C)
    return _build_unchecked(A, fields)


def _apply(sys: StateSpace, T: np.ndarray, Ti: np.ndarray):
    A = T @ sys.A @ Ti
    return A, T @ sys.B, sys.C @ Ti


def _options(form: str, options: dict, allowed: tuple[str, ...]) -> dict:
    extra = set(options) - set(allowed)
    if extra:
        raise InvalidValueError(
            f"options: form {form!r} accepts {list(allowed) or 'no options'}, "
            f"got unexpected {sorted(extra)}"
        )
    if "index_tol" in options:
        options = {**options, "index_tol": as_float(options["index_tol"], "index_tol", low=0.0)}
    return options


# ------------------------------------------------------ Luenberger index forms
def _crate_indices(A, B, sizes, index_tol):
    """Controllability indices in crate order, with the count per power from the staircase."""
    n, m = B.shape
    basis = np.zeros((n, 0))
    active = list(range(m))
    mu = [0] * m
    V = B.copy()
    for need in sizes:
        accepted = []
        for pos, i in enumerate(active):
            if len(accepted) == need:
                break
            v = V[:, i]
            r = v - basis @ (basis.T @ v)
            r -= basis @ (basis.T @ r)
            nv, nr = np.linalg.norm(v), np.linalg.norm(r)
            forced = len(active) - pos == need - len(accepted)
            if nv > 0 and (nr > index_tol * nv or forced) and nr > 0:
                basis = np.hstack([basis, (r / nr)[:, None]])
                accepted.append(i)
                mu[i] += 1
        active = accepted
        V = A @ V
    return mu


_LD = np.longdouble


def _dbl(X):
    return np.ascontiguousarray(X, dtype=float)


def _solve_ld(M: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Solve M X = Y in extended precision (Gaussian elimination, partial pivoting)."""
    n = M.shape[0]
    W = np.hstack([np.array(M, dtype=_LD), np.array(Y, dtype=_LD)])
    for k in range(n):
        piv = k + int(np.argmax(np.abs(W[k:, k])))
        if W[piv, k] == 0:
            raise InvalidValueError("M: expected an invertible matrix, got a singular one")
        if piv != k:
            W[[k, piv]] = W[[piv, k]]
        W[k + 1 :] -= np.outer(W[k + 1 :, k] / W[k, k], W[k])
    X = W[:, n:]
    for k in range(n - 1, -1, -1):
        X[k] = (X[k] - W[k, k + 1 : n] @ X[k + 1 :]) / W[k, k]
    return X


def _check_indices(indices, count: int, n: int, what: str):
    try:
        mu = [int(k) for k in indices]
    except TypeError:
        raise InvalidValueError(
            f"indices: expected {count} non-negative integers, got {type(indices).__name__}"
        ) from None
    if len(mu) != count or any(k < 0 for k in mu) or sum(mu) != n:
        raise InvalidValueError(
            f"indices: expected {count} non-negative {what} indices summing to n = {n}, got {mu}"
        )
    return mu


def _index_form(A, B, C, *, kind: str, tol, index_tol, indices, error, what):
    """Controllability-index ('cif') or controller ('controller') form of (A, B, C).

    Returns (T, Ti, A_new, B_new, C_new, mu) with the structure imposed.
    """
    n, m = B.shape
    crate = indices is None
    if crate:
        mu = _indices(A, B, tol, index_tol, error, what)
    else:
        mu = _check_indices(indices, m, n, what[:-4] + "ability")
    off = np.concatenate([[0], np.cumsum(mu)]).astype(int)
    # Companion-type forms are far more sensitive than cond(T) suggests: rounding the
    # Krylov basis and the solves to double loses three orders of magnitude in the
    # Markov parameters. The whole construction runs in extended precision
    # (np.longdouble, 64-bit mantissa on x86) and is rounded to double once at the end.
    Al, Bl, Cl = (np.asarray(X, dtype=_LD) for X in (A, B, C))
    cols = []
    for i in range(m):
        v = Bl[:, i]
        for _ in range(mu[i]):
            cols.append(v)
            v = Al @ v
    M = np.column_stack(cols) if cols else np.zeros((n, 0), dtype=_LD)
    if np.linalg.matrix_rank(M.astype(float)) < n:
        raise InvalidValueError(
            f"indices: the Krylov columns for indices {mu} are linearly dependent; "
            "choose admissible indices"
        )
    lv = [(s, k) for s in range(m) for k in range(mu[s])]  # (input, power) of each state
    # the index form first: A_b = M^-1 A M and B_b = M^-1 B need solves, C_b = C M none
    X = _solve_ld(M, np.hstack([Al @ M, Bl, np.eye(n, dtype=_LD)]))
    An, Bn, Minv = X[:, :n], X[:, n : n + m], X[:, n + m :]
    Cn = Cl @ M
    for i in range(m):
        for k in range(mu[i]):
            col = off[i] + k
            if k < mu[i] - 1:
                An[:, col] = 0.0
                An[col + 1, col] = 1.0
            elif crate:
                for row, (s, l) in enumerate(lv):
                    if l > mu[i] or (l == mu[i] and s > i):
                        An[row, col] = 0.0
    for j in range(m):
        if mu[j]:
            Bn[:, j] = 0.0
            Bn[off[j], j] = 1.0
        elif crate:
            for row, (s, l) in enumerate(lv):
                if l > 0 or s > j:
                    Bn[row, j] = 0.0
    if kind == "cif":
        return _dbl(Minv), _dbl(M), _dbl(An), _dbl(Bn), _dbl(Cn), mu
    # controller form: rows q_i A_b^(mu_i-1-k), q_i the last row of block i of the index form
    rows = []
    for i in range(m):
        if not mu[i]:
            continue
        q = np.zeros(n, dtype=_LD)
        q[off[i + 1] - 1] = 1.0
        block = [q]
        for _ in range(mu[i] - 1):
            block.append(block[-1] @ An)
        rows.extend(block[::-1])
    T2 = np.array(rows, dtype=_LD).reshape(n, n)

    def right_inv(X):  # X @ T2^-1
        return _solve_ld(T2.T, X.T).T

    T = T2 @ Minv
    Ti = right_inv(M)
    An = right_inv(T2 @ An)
    Bn = T2 @ Bn
    Cn = right_inv(Cn)
    T, Ti, An, Bn, Cn = (_dbl(X) for X in (T, Ti, An, Bn, Cn))
    for i in range(m):
        for k in range(1, mu[i]):
            row = off[i] + k
            An[row, :] = 0.0
            An[row, row - 1] = 1.0
            Bn[row, :] = 0.0
        if mu[i]:
            r0 = off[i]
            for j in range(m):
                if j == i:
                    Bn[r0, j] = 1.0
                elif mu[j] >= mu[i] or (crate and j < i):
                    Bn[r0, j] = 0.0
    return T, Ti, An, Bn, Cn, mu


def _controllable_like(sys, kind, tol=None, index_tol=1e-8, indices=None):
    A, B, C = np.asarray(sys.A), np.asarray(sys.B), np.asarray(sys.C)
    T, Ti, An, Bn, Cn, _ = _index_form(
        A,
        B,
        C,
        kind=kind,
        tol=tol,
        index_tol=index_tol,
        indices=indices,
        error=NotControllableError,
        what="controllable",
    )
    return T, An, Bn, Cn


def _observable_like(sys, kind, tol=None, index_tol=1e-8, indices=None):
    # the dual pair (A', C', B'): its form transposed is the observer / observability form
    A, B, C = np.asarray(sys.A), np.asarray(sys.B), np.asarray(sys.C)
    Td, Tdi, Ad, Bd, Cd, _ = _index_form(
        A.T,
        C.T,
        B.T,
        kind=kind,
        tol=tol,
        index_tol=index_tol,
        indices=indices,
        error=NotObservableError,
        what="observable",
    )
    return Tdi.T, Ad.T, Cd.T, Bd.T


def controllability_indices(sys, tol: float | None = None, index_tol: float = 1e-8) -> list[int]:
    """Controllability indices ``mu_1..mu_m`` in crate order (see the module notes).

    They are the block sizes of the 'controllable' and 'controllability-index' forms.

    Parameters
    ----------
    sys : StateSpace
        Model with A (n, n) and B (n, m).
    tol : float, optional
        Rank tolerance of the orthogonal staircase of ``(A, B)`` (default: a multiple
        of the machine precision times the norms).
    index_tol : float
        Relative residual above which a column ``A^k b_i`` counts as independent of
        those kept before it in crate order.

    Returns
    -------
    mu : list of int
        One index per input (length m), summing to n; 0 for an input whose column
        is dependent from the start.

    Raises
    ------
    NotControllableError
        If the model is not controllable (the message gives the rank found).

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.canonical import controllability_indices
    >>> A = [[0.1, 0.0, 0.0], [0.0, 0.2, 0.0], [1.0, 0.0, 0.3]]
    >>> controllability_indices(realize.StateSpace(A, np.eye(3)[:, :2], np.eye(3)))
    [2, 1]
    """
    sys = as_statespace(sys)
    A, B = np.asarray(sys.A), np.asarray(sys.B)
    return _indices(A, B, tol, index_tol, NotControllableError, "controllable")


def observability_indices(sys, tol: float | None = None, index_tol: float = 1e-8) -> list[int]:
    """Observability indices ``nu_1..nu_p`` in crate order (rows ``c_i A^k``).

    They are the block sizes of the 'observable' and 'observability-index' forms.

    Parameters
    ----------
    sys : StateSpace
        Model with A (n, n) and C (p, n).
    tol : float, optional
        Rank tolerance of the orthogonal staircase of ``(A', C')`` (default: a
        multiple of the machine precision times the norms).
    index_tol : float
        Relative residual above which a row ``c_i A^k`` counts as independent of
        those kept before it in crate order.

    Returns
    -------
    nu : list of int
        One index per output (length p), summing to n.

    Raises
    ------
    NotObservableError
        If the model is not observable (the message gives the rank found).

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.canonical import observability_indices
    >>> A = [[0.1, 0.0, 1.0], [0.0, 0.2, 0.0], [0.0, 0.0, 0.3]]
    >>> observability_indices(realize.StateSpace(A, C=np.eye(3)[:2]))
    [2, 1]
    """
    sys = as_statespace(sys)
    A, C = np.asarray(sys.A), np.asarray(sys.C)
    return _indices(A.T, C.T, tol, index_tol, NotObservableError, "observable")


def _indices(A, B, tol, index_tol, error, what):
    n = A.shape[0]
    _, _, _, sizes = controllability_staircase(A, B, tol)
    nc = int(sum(sizes))
    if nc < n:
        raise error(_rank_message(what, nc, n, tol))
    return _crate_indices(A, B, sizes, index_tol)


def _rank_message(what: str, rank: int, n: int, tol) -> str:
    return (
        f"sys: expected a {what} model for this canonical form, got {what[:-4]}ability "
        f"rank {rank} < n = {n} (staircase tolerance {'default' if tol is None else tol})"
    )


# --------------------------------------------------------------------- modal
def _real_modal(A: np.ndarray):
    """Real modal decomposition A V = V J, J block diagonal.

    Order: decreasing |lambda|, ties by increasing |arg lambda|. A real pole gives a
    1x1 block; a pair a +- ib (b > 0) the block [[a, b], [-b, a]]. Each eigenvector is
    scaled to unit norm; for a pair v = vr + i vi the phase makes vr orthogonal to vi.
    Returns (V, J, sizes, Vc, lam) with Vc, lam the complex eigenvectors and values in
    the same order (both members of a pair, the one with b > 0 first).
    """
    n = A.shape[0]
    lam, W = sla.eig(A)
    reps = [i for i in range(n) if lam[i].imag >= 0]
    keys = np.array([[-abs(lam[i]), abs(np.angle(lam[i]))] for i in reps]).reshape(-1, 2)
    order = [reps[j] for j in np.lexsort((keys[:, 1], keys[:, 0]))]
    V = np.zeros((n, n))
    J = np.zeros((n, n))
    Vc, lc, sizes = [], [], []
    k = 0
    for i in order:
        v = W[:, i]
        z = lam[i]
        if z.imag == 0:
            v = v.real / np.linalg.norm(v.real)
            j = int(np.argmax(np.abs(v)))
            v = v * np.sign(v[j])
            V[:, k] = v
            J[k, k] = z.real
            Vc.append(v.astype(complex))
            lc.append(complex(z.real))
            sizes.append(1)
            k += 1
        else:
            v = v * np.exp(-0.5j * np.angle(v @ v))
            v = v / np.linalg.norm(v)
            V[:, k], V[:, k + 1] = v.real, v.imag
            a, b = z.real, z.imag
            J[k : k + 2, k : k + 2] = [[a, b], [-b, a]]
            Vc.extend([v, v.conj()])
            lc.extend([z, z.conjugate()])
            sizes.append(2)
            k += 2
    return V, J, sizes, np.column_stack(Vc) if Vc else np.zeros((n, 0)), np.array(lc)


def _modal_transform(A: np.ndarray, what: str = "A"):
    V, J, sizes, Vc, lam = _real_modal(A)
    c = np.linalg.cond(V) if V.size else 1.0
    if not c < 1.0 / (_EPS * max(A.shape[0], 1)):
        raise InvalidValueError(
            f"{what}: expected a diagonalizable matrix for the modal form, got a defective "
            f"(repeated, non-diagonalizable) eigenvalue (eigenvector cond {c:.3g}); "
            "use the 'schur' form"
        )
    return V, J, sizes, Vc, lam


@dataclass(frozen=True)
class ComplexModalForm:
    """A model in complex diagonal coordinates ``z = T x`` (``modal`` with ``complex=True``).

    ``z[t+1] = diag(poles) z[t] + B u[t]``, ``y[t] = Re(C z[t]) + D u[t]`` (the imaginary
    part vanishes: conjugate poles come in conjugate pairs, pole with positive imaginary
    part first). Q, S, K are transformed as ``T Q T^H``, ``T S``, ``T K``.

    Attributes
    ----------
    poles : (n,) complex array
    B : (n, m) complex array
    C : (p, n) complex array
    D : (p, m) array
    dt : float
    Q, S, K : complex arrays or None; R, Lambda : arrays or None

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5, 0.4], [-0.4, 0.5]], [[1.0], [0.0]], [[1.0, 0.0]])
    >>> cm, T = realize.canonical_form(sys, "modal", complex=True)
    >>> np.round(cm.poles, 12).tolist()
    [(0.5+0.4j), (0.5-0.4j)]
    >>> bool(np.allclose(cm.markov(6), sys.markov(6)))
    True
    """

    poles: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray
    dt: float = 1.0
    Q: np.ndarray | None = None
    R: np.ndarray | None = None
    S: np.ndarray | None = None
    K: np.ndarray | None = None
    Lambda: np.ndarray | None = None

    @property
    def A(self) -> np.ndarray:
        """The diagonal state matrix, (n, n) complex."""
        return np.diag(self.poles)

    def markov(self, k: int) -> np.ndarray:
        """``(k, p, m)`` real Markov parameters (``[D, CB, C diag(poles) B, ...]``)."""
        h = np.empty((k, self.C.shape[0], self.B.shape[1]))
        if k:
            h[0] = self.D
        X = self.B.copy()
        for j in range(1, k):
            h[j] = (self.C @ X).real
            X = self.poles[:, None] * X
        return h

    def freqresp(self, w) -> np.ndarray:
        """``(N, p, m)`` complex frequency response, w in rad/sample."""
        z = np.exp(1j * np.atleast_1d(np.asarray(w, dtype=float)))
        X = self.B[None] / (z[:, None, None] - self.poles[None, :, None])
        return self.C @ X + self.D


# -------------------------------------------------------------------- memory
class MemoryBlocks(NamedTuple):
    """Block sizes of the memory form (see :func:`memory_blocks`).

    Attributes
    ----------
    shift_sizes : tuple of int
        Lengths L_1 >= L_2 >= ... of the shift chains (Jordan blocks at zero); the
        eidetic memory keeps the last L_1 inputs verbatim.
    n_eidetic : int
        ``sum(shift_sizes)``: the nilpotent part occupies states ``[0, n_eidetic)``.
    n_fading : int
        Size of the invertible (fading) part, states ``[n_eidetic, n)``.
    fading_blocks : tuple of int
        Sizes (1 or 2) of the diagonal blocks of the fading part in order (modal), or
        ``(n_fading,)`` for ``fading='schur'``.
    staircase : tuple of int
        Nullities ``dim ker A^k - dim ker A^(k-1)``, k = 1, 2, ... (the Weyr
        characteristic at zero); ``shift_sizes`` is its conjugate partition.
    tol : float
        The rank tolerance used.
    cond : float
        ``cond(T)``; above :data:`COND_WARN` an IllConditionedWarning was issued.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.canonical import memory_blocks
    >>> A = np.diag([1.0, 0.0], -1) + np.diag([0.0, 0.0, 0.8])  # 2-tap delay line + pole
    >>> sys = realize.StateSpace(A, np.ones((3, 1)), np.ones((1, 3)))
    >>> info = memory_blocks(sys)[2]
    >>> info.shift_sizes, info.n_eidetic, info.n_fading
    ((2,), 2, 1)
    """

    shift_sizes: tuple[int, ...]
    n_eidetic: int
    n_fading: int
    fading_blocks: tuple[int, ...]
    staircase: tuple[int, ...]
    tol: float
    cond: float


def _nilpotent_staircase(A: np.ndarray, tol: float):
    """Orthogonal U with U' A U = [[N, X], [0, M]], N strictly block upper triangular
    (nilpotent) with diagonal block sizes r_1 >= r_2 >= ..., M without zero singular
    value at tol. Returns (U' A U, U, [r_1, r_2, ...]); U is unitary for a complex A."""
    A = A.copy()
    n = A.shape[0]
    U = np.eye(n, dtype=A.dtype)
    sizes: list[int] = []
    k0 = 0
    while k0 < n:
        _, s, Vt = np.linalg.svd(A[k0:, k0:])
        r = int(np.count_nonzero(s <= tol))
        if r == 0:
            break
        Z = np.vstack([Vt[len(s) - r :], Vt[: len(s) - r]]).conj().T
        A[k0:, :] = Z.conj().T @ A[k0:, :]
        A[:, k0:] = A[:, k0:] @ Z
        U[:, k0:] = U[:, k0:] @ Z
        # the new leading columns are A's (near) null vectors: the decision makes them exact
        A[k0:, k0 : k0 + r] = 0.0
        sizes.append(r)
        k0 += r
    return A, U, sizes


def _jordan_chains(N: np.ndarray, sizes: list[int]):
    """Basis V of Jordan chains of the staircase-form nilpotent N: V^-1 N V is the direct
    sum of lower shifts (ones on the subdiagonal), longest chain first."""
    nu = N.shape[0]
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    K = len(sizes)
    level_vecs: list[np.ndarray] = []  # vectors of the chains at the current level
    heads: list[tuple[int, np.ndarray]] = []  # (length, head vector)
    for j in range(K - 1, -1, -1):
        blk = slice(off[j], off[j + 1])
        existing = [N @ w for w in level_vecs]
        P = np.column_stack([w[blk] for w in existing]) if existing else np.zeros((sizes[j], 0))
        Wl, s, _ = np.linalg.svd(P, full_matrices=True)
        if P.shape[1] > sizes[j] or (P.shape[1] and s[-1] <= _EPS * max(1.0, s[0])):
            raise InvalidValueError(
                "tol: the nilpotent staircase is inconsistent at this rank tolerance "
                f"(level sizes {sizes}); try a different tol"
            )
        new = []
        for col in Wl[:, P.shape[1] :].T:
            v = np.zeros(nu, dtype=N.dtype)
            v[blk] = col
            new.append(v)
            heads.append((j + 1, v))
        level_vecs = existing + new
    heads.sort(key=lambda h: -h[0])
    cols, lengths = [], []
    for L, v in heads:
        for _ in range(L):
            cols.append(v)
            v = N @ v
        lengths.append(L)
    return np.column_stack(cols) if cols else np.zeros((nu, 0)), lengths


def _shift_blocks(lengths, n):
    S = np.zeros((n, n))
    k = 0
    for L in lengths:
        for t in range(L - 1):
            S[k + t + 1, k + t] = 1.0
        k += L
    return S


def memory_blocks(sys, tol: float | None = None, *, fading: str = "modal"):
    """The memory form: a verbatim (nilpotent shift) part and a fading (modal) part.

    Parameters
    ----------
    sys : StateSpace
    tol : float, optional
        Rank tolerance of the nilpotent staircase: a singular value ``<= tol`` counts as
        zero. Default ``1e-10 * ||A||_2`` (relative to the scale of A, a rank decision,
        not an eigenvalue threshold: a long shift under a similarity has computed
        eigenvalues near ``eps^(1/L)``, far from zero, while its singular values stay
        separated).
    fading : {'modal', 'schur'}
        Form of the invertible part: real modal (default) or real Schur (orthogonal,
        for defective fading parts).

    Returns
    -------
    new_sys : StateSpace
        The model with ``x_new = T x``.
    T : (n, n) array
    info : MemoryBlocks
        Sizes of the shift chains and of the fading blocks.

    Notes
    -----
    The block structure of ``A_new = T A T^-1`` is exactly::

        A_new = diag(S_{L_1}, ..., S_{L_q}, F),     L_1 >= ... >= L_q,

    ``S_L`` the L x L lower shift (``S[t+1, t] = 1``, zeros elsewhere), so a chain
    ``x[t+1] = S_L x[t] + B_chain u[t]`` is a delay line: its state holds the last L
    (input-weighted) samples verbatim and forgets them after L steps -- the eidetic
    memory of a sliding window of length L_1 (a Transformer's window). ``F`` (the last
    ``n_fading`` states) is the real modal form of the invertible part: 1x1 blocks
    for real poles and ``[[a, b], [-b, a]]`` for pairs ``a +- ib``, ordered by
    decreasing modulus (see ``canonical_form(sys, 'modal')``) -- the fading memory of
    a diagonal SSM (Mamba). B_new and C_new are dense.

    The nilpotent part is found by a staircase of rank decisions: the null space of
    A, then of the remaining block, ... (an orthogonal reduction to
    ``[[N, X], [0, M]]``, N nilpotent); Jordan chains of N are built level by level
    from the staircase (Kågström and Ruhe), X is removed by the Sylvester equation
    ``N Z - Z M + X = 0`` and M put in modal form.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.canonical import memory_blocks
    >>> A = np.diag([1.0, 1.0, 0.0], -1) + np.diag([0, 0, 0, 0.9])  # 3-tap delay line + pole
    >>> T0 = np.random.default_rng(0).standard_normal((4, 4))
    >>> sys = realize.StateSpace(T0 @ A @ np.linalg.inv(T0), np.ones((4, 1)), np.ones((1, 4)))
    >>> new, T, info = memory_blocks(sys)
    >>> info.shift_sizes, info.n_fading
    ((3,), 1)
    """
    sys = as_statespace(sys)
    fading = as_choice(fading, "fading", ("modal", "schur"))
    A = np.asarray(sys.A)
    n = sys.n
    if tol is None:
        tol = 1e-10 * (np.linalg.norm(A, 2) if n else 0.0)
    tol = as_float(tol, "tol", low=0.0)
    Ah, U, sizes = _nilpotent_staircase(A, tol)
    nu = int(sum(sizes))
    N, X, M = Ah[:nu, :nu], Ah[:nu, nu:], Ah[nu:, nu:]
    Z = sla.solve_sylvester(N, -M, -X) if nu and nu < n else np.zeros((nu, n - nu))
    Vn, lengths = _jordan_chains(N, sizes)
    if fading == "modal":
        Vm, F, fblocks, _, _ = _modal_transform(M, "A (fading part)")
    else:
        F, Vm = sla.schur(M, output="real")
        F = np.triu(F, -1)
        fblocks = (n - nu,) if n > nu else ()
    Vm = np.asarray(Vm, dtype=float)
    W = np.eye(n)
    W[:nu, nu:] = Z
    Ti = U @ W @ sla.block_diag(Vn, Vm)
    T = np.linalg.solve(Ti, np.eye(n))
    Anew = sla.block_diag(_shift_blocks(lengths, nu), F) if n else np.zeros((0, 0))
    cond = _check_cond(T, "memory")
    new = _finish(sys, T, Anew, T @ sys.B, sys.C @ Ti)
    info = MemoryBlocks(tuple(lengths), nu, n - nu, tuple(fblocks), tuple(sizes), tol, cond)
    return new, T, info


# ---------------------------------------------------------------- real Jordan
def _eigenvalue_clusters(A: np.ndarray):
    """Clusters of computed eigenvalues that stand for one (possibly defective) eigenvalue.

    Returns ``(lam, label, clusters)``: the eigenvalues, their cluster labels and, per
    real cluster and per conjugate pair of clusters (the one with ``Im mu > 0``), the
    tuple ``(label, mu, k)`` with the mean ``mu`` and the number of members k.

    A Jordan block of size k perturbed by rounding splits into k eigenvalues on a circle
    of radius about ``(eps ||A||)^(1/k)``, so equality cannot decide. Each computed
    eigenvalue is known to within its first-order perturbation radius
    ``10 n eps ||A|| kappa_i`` (``kappa_i`` its condition number from the left and right
    eigenvectors), capped at ``||A|| (10 n eps)^(1/n)`` (the largest split of a defective
    eigenvalue); overlapping discs form a cluster (single linkage), whose mean is well
    conditioned even when its members are not (Golub and Wilkinson 1976; Demmel 1986).
    """
    from scipy.sparse.csgraph import connected_components

    n = A.shape[0]
    lam, V = sla.eig(A)
    s = float(np.linalg.norm(A, 2))
    if s == 0.0:
        return lam, np.zeros(n, dtype=int), [(0, 0.0, n)]
    Vn = V / np.linalg.norm(V, axis=0)
    with np.errstate(all="ignore"):
        try:
            kappa = np.linalg.norm(np.linalg.inv(Vn), axis=1)
        except np.linalg.LinAlgError:
            kappa = np.full(n, np.inf)
    kappa = np.where(np.isfinite(kappa), kappa, np.inf)
    radius = np.minimum(10 * n * _EPS * s * kappa, s * (10 * n * _EPS) ** (1.0 / n))
    overlap = np.abs(lam[:, None] - lam[None, :]) <= radius[:, None] + radius[None, :]
    _, label = connected_components(overlap, directed=False)
    clusters = []
    for c in np.unique(label):
        members = lam[label == c]
        mu = complex(np.mean(members))
        # a mean at rounding level of zero is zero (a delay line's eigenvalue, exactly)
        zero = 1e3 * n * _EPS * s
        mu = complex(
            0.0 if abs(mu.real) <= zero else mu.real, 0.0 if abs(mu.imag) <= zero else mu.imag
        )
        if np.all(np.abs(members.imag) <= radius[label == c]) or abs(mu.imag) <= 1e-14 * s:
            clusters.append((int(c), mu.real, len(members)))
        elif mu.imag > 0:
            clusters.append((int(c), mu, len(members)))
    return lam, label, clusters


def _real_jordan(A: np.ndarray, tol: float):
    """``(X, J)`` with ``A X = X J``, J the real Jordan form (see ``canonical_form``)."""
    n = A.shape[0]
    lam, label, clusters = _eigenvalue_clusters(A)
    # order as the modal form: decreasing |mu|, then increasing |arg mu|
    clusters.sort(key=lambda c: (-abs(c[1]), abs(np.angle(c[1]))))
    cols, blocks = [], []
    Ac = A.astype(complex)
    for c, mu, k in clusters:
        real = isinstance(mu, float)

        def in_cluster(re, im=None, c=c):
            x = re if im is None else complex(re, im)
            return bool(label[np.argmin(np.abs(lam - x))] == c)

        # an orthonormal basis of the invariant subspace of the cluster (Schur reordering)
        if real:
            _, Z, sdim = sla.schur(A, output="real", sort=in_cluster)
        else:
            _, Z, sdim = sla.schur(Ac, output="complex", sort=in_cluster)
        if sdim != k:
            raise InvalidValueError(
                f"sys: the eigenvalue cluster at {mu:.6g} could not be separated (Schur "
                f"reordering selected {sdim} of {k}); the Jordan form is ill-determined"
            )
        Z1 = Z[:, :k]
        N = Z1.conj().T @ A @ Z1 - mu * np.eye(k)
        Nh, U, sizes = _nilpotent_staircase(N, tol)
        if sum(sizes) != k:
            raise InvalidValueError(
                f"tol: expected the eigenvalue cluster at {mu:.6g} ({k} eigenvalues) to be one "
                f"eigenvalue at rank tolerance {tol:.3g}, got a nilpotent part of size "
                f"{sum(sizes)}; pass a larger tol"
            )
        Vn, lengths = _jordan_chains(Nh, sizes)
        W = Z1 @ U @ Vn
        start = 0
        for L in lengths:
            # reversed chain: (A - mu) u_1 = 0, (A - mu) u_j = u_(j-1): ones above the diagonal
            chain = W[:, start : start + L][:, ::-1]
            start += L
            if real:
                cols.append(chain.real)
                blocks.append(mu * np.eye(L) + np.eye(L, k=1))
            else:
                # u = x + iy, A [x y] = [x y] [[a, b], [-b, a]] + [x_prev y_prev]
                cols.append(np.stack([chain.real, chain.imag], axis=2).reshape(n, 2 * L))
                a, b = mu.real, mu.imag
                rot = np.array([[a, b], [-b, a]])
                blocks.append(np.kron(np.eye(L), rot) + np.kron(np.eye(L, k=1), np.eye(2)))
    X = np.hstack(cols) if cols else np.zeros((n, 0))
    J = sla.block_diag(*blocks) if blocks else np.zeros((0, 0))
    return X, J


# ------------------------------------------------------------ the dispatcher
def canonical_form(sys, form: str, **options):
    """Transform a model to a canonical form: ``(new_sys, T)`` with ``x_new = T x``.

    Parameters
    ----------
    sys : StateSpace
        Discrete-time MIMO model; its noise model and innovation form are transformed
        along (``Q -> T Q T'``, ``S -> T S``, ``K -> T K``).
    form : str
        One of

        ``'controllable'`` (aliases ``'controller'``, ``'reachable'``)
            Luenberger controller form: for each input i a block of size mu_i (the
            controllability index) whose first row is dense and whose other rows are
            shifts (``A[r, r-1] = 1``); B is zero except the first row of each block,
            which has a 1 in column i (and free entries in the columns j > i with
            mu_j < mu_i). For one input this is python-control's reachable form:
            ``A[0] = -[a_1..a_n]``, ones on the subdiagonal, ``B = e_1``.
        ``'observable'`` (aliases ``'observer'``)
            The dual Luenberger observer form, from the observability indices: the
            first column of each block dense, ones on the block superdiagonal; C
            zero except the first column of each block. For one output this is
            python-control's observable form (``A[:, 0] = -a``, ``C = e_1'``).
        ``'observability-index'`` (aliases ``'luenberger'``, ``'canonical'``)
            The observability canonical form of MATLAB's ``ssest`` ([1]_): states
            ``c_i A^k x``, so row i of C selects the first state of block i, each block
            of A has ones on its superdiagonal and a dense last row (with zeros beyond
            the crate-order dependencies), B dense.
        ``'controllability-index'``
            Its dual: columns ``A^k b_i``, B selects, blocks with subdiagonal ones and a
            dense last column.
        ``'modal'``
            Real block diagonal: 1x1 blocks for real poles, ``[[a, b], [-b, a]]`` for
            ``a +- ib`` (b > 0), ordered by decreasing modulus then increasing angle.
            Option ``complex=True`` returns a :class:`ComplexModalForm` (diagonal A)
            and a complex T. Needs a diagonalizable A.
        ``'balanced'``
            Lyapunov balanced: both Gramians equal ``diag(sigma)`` (Hankel singular
            values, decreasing). Needs a stable, minimal model.
        ``'schur'``
            Real Schur form with orthogonal T (upper quasi-triangular A, standardized
            2x2 blocks). Option ``sort`` as in :func:`scipy.linalg.schur`.
        ``'memory'``
            Nilpotent shift chains then the invertible part in modal form; see
            :func:`memory_blocks` (options ``tol``, ``fading``).
        ``'jordan'``
            The real Jordan form, for any A (defective included): block diagonal with,
            for a real eigenvalue, Jordan blocks ``lambda I + (ones on the
            superdiagonal)`` and, for a pair ``a +- ib`` (b > 0), blocks with
            ``[[a, b], [-b, a]]`` on the diagonal and ``I_2`` on the block superdiagonal;
            eigenvalues ordered as in 'modal', the longest block first. Every zero, one
            and repeated eigenvalue entry is exact. For a diagonalizable A it is the
            'modal' form. Option ``tol``: the rank tolerance of the nilpotent staircases
            (default ``sqrt(eps) ||A||_2``).
    **options
        ``tol`` (staircase rank tolerance), ``index_tol`` (crate-order selection,
        default 1e-8) and ``indices`` (given index list) for the four index forms;
        ``complex`` for 'modal'; ``sort`` for 'schur'; ``tol``, ``fading`` for 'memory';
        ``tol`` for 'jordan'.

    Returns
    -------
    new_sys : StateSpace (or ComplexModalForm)
    T : (n, n) array
        ``x_new = T x``; ``np.linalg.cond(T)`` measures the accuracy of the form.

    Raises
    ------
    InvalidValueError
        Unknown form or option; a defective A for 'modal' (use 'jordan'); for 'jordan',
        an eigenvalue cluster that is not one eigenvalue at the rank tolerance.
    NotControllableError, NotObservableError
        For a form that needs controllability (observability) and a model without it;
        the message names the rank found.
    NotStableError
        'balanced' with an unstable model.

    Warns
    -----
    IllConditionedWarning
        When ``cond(T) > COND_WARN`` (1e8).

    Notes
    -----
    python-control's ``canonical_form`` (SISO only) gives the same matrices for
    'reachable'/'controllable' and 'observable'. Its 'modal' form differs in
    convention: the 2x2 blocks come from ``bdschur`` (not normalized to
    ``[[a, b], [-b, a]]``), the order is LAPACK's, and the T it returns maps
    ``x = T z`` although its docstring says ``z = T x``.

    The Jordan form is discontinuous in A, so 'jordan' decides the structure: eigenvalues
    are clustered by their perturbation radii (a defective eigenvalue splits into a
    circle of radius ``(eps ||A||)^(1/k)``; Golub and Wilkinson 1976, Demmel 1986), each
    cluster's invariant subspace is separated by a reordered Schur form, and its
    nilpotent part ``A - mu I`` is put in Jordan chains by a staircase of rank decisions
    (Kågström and Ruhe 1980), complex for a pair ``a +- ib`` and then split into real and
    imaginary parts. The basis of a defective eigenvalue is ill-conditioned by nature;
    ``cond(T)`` says how much (an IllConditionedWarning above 1e8).

    References
    ----------
    .. [1] L. Ljung, System Identification, 2nd ed., 1999, Appendix 4A (the
       observability canonical form used by MATLAB's ``ssest`` with
       ``'Form', 'canonical'``).

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.5, 0.1], [0.0, 0.3]], [[1.0], [1.0]], [[1.0, 0.0]])
    >>> new, T = realize.canonical_form(sys, "controllable")
    >>> np.round(new.A, 12).tolist(), new.B.ravel().tolist()
    ([[0.8, -0.15], [1.0, 0.0]], [1.0, 0.0])
    """
    sys = as_statespace(sys)
    if not isinstance(form, str) or form.lower() not in FORMS:
        raise InvalidValueError(
            f"form: expected one of {sorted(set(FORMS.values()))} (or an alias), got {form!r}"
        )
    name = FORMS[form.lower()]
    if name in ("controllable", "observable", "observability-index", "controllability-index"):
        opts = _options(name, options, ("tol", "index_tol", "indices"))
        kind = "controller" if name in ("controllable", "observable") else "cif"
        if name in ("controllable", "controllability-index"):
            T, A, B, C = _controllable_like(sys, kind, **opts)
        else:
            T, A, B, C = _observable_like(sys, kind, **opts)
        _check_cond(T, name)
        return _finish(sys, T, A, B, C), T
    if name == "modal":
        opts = _options(name, options, ("complex",))
        V, J, _, Vc, lam = _modal_transform(np.asarray(sys.A))
        if opts.get("complex", False):
            T = np.linalg.inv(Vc)
            _check_cond(T, name)
            Ti = Vc
            cm = ComplexModalForm(
                lam,
                T @ sys.B,
                sys.C @ Ti,
                np.array(sys.D),
                sys.dt,
                None if sys.Q is None else T @ sys.Q @ T.conj().T,
                None if sys.R is None else np.array(sys.R),
                None if sys.S is None else T @ sys.S,
                None if sys.K is None else T @ sys.K,
                None if sys.Lambda is None else np.array(sys.Lambda),
            )
            return cm, T
        T = np.linalg.inv(V)
        _check_cond(T, name)
        return _finish(sys, T, J, T @ sys.B, sys.C @ V), T
    if name == "balanced":
        _options(name, options, ())
        if sys.n and not sys.is_stable():
            raise NotStableError(
                "sys: expected a stable model for the balanced form, got spectral radius "
                f"{sys.spectral_radius():.6g} (>= 1)"
            )
        A, B, C = np.asarray(sys.A), np.asarray(sys.B), np.asarray(sys.C)
        nc = int(sum(controllability_staircase(A, B)[3]))
        if nc < sys.n:
            raise NotControllableError(
                f"sys: expected a controllable model for the balanced form, got "
                f"controllability rank {nc} < n = {sys.n}"
            )
        no = int(sum(controllability_staircase(A.T, C.T)[3]))
        if no < sys.n:
            raise NotObservableError(
                f"sys: expected an observable model for the balanced form, got "
                f"observability rank {no} < n = {sys.n}"
            )
        try:
            T, Ti, _ = balanced_realization(sys)
        except OrderError as err:
            raise NotControllableError(
                f"sys: the model is numerically non-minimal for balancing ({err})"
            ) from None
        _check_cond(T, name)
        A, B, C = _apply(sys, T, Ti)
        return _finish(sys, T, A, B, C), T
    if name == "schur":
        opts = _options(name, options, ("sort",))
        S, Z, *_ = sla.schur(np.asarray(sys.A), output="real", sort=opts.get("sort"))
        S = np.triu(S, -1)
        T = Z.T
        return _finish(sys, T, S, T @ sys.B, sys.C @ Z), T
    if name == "jordan":
        opts = _options(name, options, ("tol",))
        A = np.asarray(sys.A)
        tol = opts.get("tol")
        tol = np.sqrt(_EPS) * (np.linalg.norm(A, 2) if sys.n else 0.0) if tol is None else tol
        tol = as_float(tol, "tol", low=0.0)
        X, J = _real_jordan(A, tol) if sys.n else (np.zeros((0, 0)), np.zeros((0, 0)))
        T = np.linalg.solve(X, np.eye(sys.n)) if sys.n else np.zeros((0, 0))
        _check_cond(T, name)
        return _finish(sys, T, J, T @ sys.B, sys.C @ X), T
    # memory
    opts = _options(name, options, ("tol", "fading"))
    new, T, _ = memory_blocks(sys, **opts)
    return new, T
