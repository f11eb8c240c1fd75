"""The Luenberger index forms: controller, observer and the two index forms.

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

Companion-type forms are ill-conditioned at high order by nature. The four forms are
built in extended precision (``np.longdouble``) and rounded once, which keeps their
Markov parameters near the rounding level of the form itself (see BENCHMARKS.md);
where ``np.longdouble`` is plain double (Windows, macOS on arm64) they lose about three
more digits.

References
----------
D. G. Luenberger, "Canonical forms for linear multivariable systems", IEEE TAC 12(3),
1967. T. Kailath, Linear Systems, Prentice-Hall 1980, Sec. 6.4 (controller and observer
forms), Sec. 6.4.6 (the index forms). L. Ljung, System Identification, 2nd ed., 1999,
Appendix 4A (the observability canonical form of MATLAB's ``ssest``).
"""

from __future__ import annotations

import numpy as np

from realize.canonical._similarity import check_cond, finish
from realize.errors import InvalidValueError, NotControllableError, NotObservableError
from realize.realization import as_statespace, controllability_staircase

__all__ = ["INDEX_FORMS", "controllability_indices", "observability_indices", "index_form"]

#: The four forms of this module, names as in :func:`realize.canonical_form`.
INDEX_FORMS = ("controllable", "observable", "observability-index", "controllability-index")


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
    tol, index_tol : float
        As in :func:`controllability_indices`, for the dual pair ``(A', C')`` (rows
        ``c_i A^k`` in place of columns ``A^k b_i``).

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


def index_form(sys, form: str, tol=None, index_tol: float = 1e-8, indices=None):
    """``(new_sys, T)`` of one of :data:`INDEX_FORMS` (see :func:`realize.canonical_form`).

    Examples
    --------
    The controllable form carries the characteristic polynomial z^2 - 0.8 z + 0.15 in its
    first row:

    >>> import realize
    >>> sys = realize.StateSpace([[0.5, 0.2], [0.0, 0.3]], [[0.0], [1.0]], [[1.0, 0.0]])
    >>> new, T = index_form(sys, "controllable")
    >>> new.A.round(6).tolist(), new.B.ravel().tolist()
    ([[0.8, -0.15], [1.0, 0.0]], [1.0, 0.0])
    """
    kind = "controller" if form in ("controllable", "observable") else "cif"
    A, B, C = np.asarray(sys.A), np.asarray(sys.B), np.asarray(sys.C)
    options = dict(kind=kind, tol=tol, index_tol=index_tol, indices=indices)
    if form in ("controllable", "controllability-index"):
        T, _, A, B, C, _ = _index_form(
            A, B, C, error=NotControllableError, what="controllable", **options
        )
    else:
        # the dual pair (A', C', B'): its form transposed is the observer / observability form
        Td, Tdi, Ad, Bd, Cd, _ = _index_form(
            A.T, C.T, B.T, error=NotObservableError, what="observable", **options
        )
        T, A, B, C = Tdi.T, Ad.T, Cd.T, Bd.T
    check_cond(T, form)
    return finish(sys, T, A, B, C), T
