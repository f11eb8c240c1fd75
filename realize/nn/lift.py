"""Lift a classical realization into the coordinates of a trainable layer, and back.

Each parametrization of :class:`realize.nn.SSMLayer` covers the realizations that are
similar to one of a structured family; lifting finds the similarity ``x_new = T x`` that
brings ``sys`` into that family and reads off the parameters, exactly (up to rounding):

``dense``
    ``A`` as it is; with ``stable=True`` the layer keeps ``||A||_2 < 1`` (a contraction),
    so ``sys`` is first brought to contractive coordinates ``T = P^(1/2)`` with ``P`` the
    solution of ``A' P A - P + I = 0`` (then ``T A T^-1`` has norm ``< 1``;
    Kailath, *Linear Systems*, 1980, Section 2.6).
``diagonal``
    modal form: real eigenvalues as 1x1 blocks, each complex-conjugate pair
    ``sigma +- i omega`` as one complex mode (``modes="complex"``, output ``2 Re(c x)``) or
    as the real 2x2 block ``[[sigma, -omega], [omega, sigma]]`` (``modes="blocks"``).
    Needs a diagonalizable ``A``: a defective one (a Jordan block, e.g. the nilpotent
    shift of a delay chain) is refused, since its computed eigenvalues are spurious, and
    the eigenvector matrix's condition number is checked.
``companion``
    ``T^-1 = [v, A v, ..., A^(n-1) v]`` (a Krylov basis of a cyclic vector ``v``) gives the
    companion matrix of the characteristic polynomial ``z^n + a_1 z^(n-1) + ... + a_n``
    (ones on the subdiagonal, ``-a_n ... -a_1`` in the last column). With ``stable=True`` the
    polynomial is parametrized by its reflection (Schur-Cohn, PARCOR) coefficients
    ``k_i = tanh(kappa_i)``: the monic polynomials with all roots in the open unit disk
    are exactly those with all ``|k_i| < 1`` (Levinson step-up recursion).
``memory``
    ``A = diag(S, Lambda)``: a nilpotent shift block ``S`` (the zero eigenvalues: a finite
    window of past inputs, like a Transformer's context) beside a diagonal block
    (the decaying modes, like a Mamba layer): ``canonical_form(sys, "memory")``.

All functions here work on float64 NumPy arrays; :mod:`realize.nn.ssm` turns the results
into torch parameters. The modal and memory forms are those of :mod:`realize.canonical`
(:func:`realize.canonical.modal.real_modal`, :func:`realize.canonical.memory_blocks`),
brought to the layer's order (real modes first) and 2x2 block sign by a signed
permutation.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import solve_discrete_lyapunov

from realize._linalg import symmetrize
from realize.canonical import COND_WARN
from realize.canonical.memory import memory_blocks
from realize.canonical.modal import defective_eigenvalue, real_modal
from realize.errors import IllConditionedWarning, InvalidValueError, NotStableError

__all__ = [
    "contractive_transform",
    "defective_eigenvalue",
    "modal_form",
    "companion_form",
    "poly_to_reflection",
    "reflection_to_poly",
    "memory_form",
]

#: cond(T) above which a lift is refused (it warns above canonical's COND_WARN, 1e8).
_COND_FAIL = 1e13


def _check_cond(T: np.ndarray, what: str) -> None:
    cond = np.linalg.cond(T)
    if not np.isfinite(cond) or cond > _COND_FAIL:
        raise InvalidValueError(
            f"sys: expected {what}, got a similarity transform with condition number {cond:.2e}"
        )
    if cond > COND_WARN:
        warnings.warn(
            f"sys: the similarity transform to {what} has condition number {cond:.2e}; "
            "the lifted layer may lose accuracy",
            IllConditionedWarning,
            stacklevel=3,
        )


def _require_stable(A: np.ndarray) -> None:
    rho = max(np.abs(np.linalg.eigvals(A))) if A.size else 0.0
    if rho >= 1.0:
        raise NotStableError(
            f"sys: expected a stable realization (spectral radius < 1) for stable=True, got {rho:.6g}"
        )


def contractive_transform(A: np.ndarray) -> np.ndarray:
    """A similarity T with ``||T A T^-1||_2 < 1`` for a stable A (identity if already so).

    Parameters
    ----------
    A : (n, n) array, spectral radius < 1

    Returns
    -------
    T : (n, n) array, ``x_new = T x``

    Raises
    ------
    NotStableError
        If A is not stable.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.5, 4.0], [0.0, 0.5]])  # stable, yet ||A||_2 = 4.06
    >>> T = contractive_transform(A)
    >>> bool(np.linalg.norm(T @ A @ np.linalg.inv(T), 2) < 1)
    True
    """
    n = A.shape[0]
    _require_stable(A)
    if n == 0 or np.linalg.norm(A, 2) < 1.0 - 1e-12:
        return np.eye(n)
    P = symmetrize(solve_discrete_lyapunov(A.T, np.eye(n)))  # A' P A - P + I = 0
    lam, V = np.linalg.eigh(P)
    T = (V * np.sqrt(lam)) @ V.T  # P^(1/2)
    _check_cond(T, "contractive coordinates")
    return T


def modal_form(A: np.ndarray, imag_tol: float = 1e-12):
    """Real modal form of a diagonalizable A.

    Parameters
    ----------
    A : (n, n) array

    Returns
    -------
    lam_real : (n_r,) array
        Real eigenvalues.
    lam_cplx : (n_c,) complex array
        One eigenvalue ``sigma + i omega`` (omega > 0) of each conjugate pair.
    T : (n, n) array
        ``x_new = T x``: the first n_r coordinates are the real modes, then for each pair
        two coordinates ``(a, b)`` with the mode ``a + i b`` obeying
        ``(a + i b)' = lambda (a + i b) + ...``, i.e. the block
        ``[[sigma, -omega], [omega, sigma]]``.

    Raises
    ------
    InvalidValueError
        A defective A (a Jordan block, found by :func:`defective_eigenvalue`), or one not
        diagonalizable to working accuracy. A nilpotent block (a shift register, a
        delay chain, an FIR filter) is the common case: its eigenvalues split at
        rounding level into spurious poles around zero (``~1e-5`` for three delays,
        lifted output errors of ``1e-5`` instead of ``1e-15``), so it is refused and
        ``parametrization="memory"`` (a shift block beside a diagonal block) named.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.5, -0.4, 0.0], [0.4, 0.5, 0.0], [0.0, 0.0, 0.9]])
    >>> lam_real, lam_cplx, T = modal_form(A)
    >>> lam_real, lam_cplx
    (array([0.9]), array([0.5+0.4j]))
    >>> (T @ A @ np.linalg.inv(T)).round(6) + 0.0
    array([[ 0.9,  0. ,  0. ],
           [ 0. ,  0.5, -0.4],
           [ 0. ,  0.4,  0.5]])
    """
    n = A.shape[0]
    if n == 0:
        return np.zeros(0), np.zeros(0, complex), np.eye(0)
    lam, W = np.linalg.eig(A)
    defect = defective_eigenvalue(A, lam, W)
    if defect is not None:
        mu, alg, geo = defect
        if abs(mu) <= np.sqrt(np.finfo(float).eps) * max(float(np.linalg.norm(A, 2)), 1e-300):
            hint = (
                "a nilpotent (shift, delay-chain) block at eigenvalue 0; shift dynamics are "
                'not diagonalizable: use parametrization="memory" (a shift block beside a '
                "diagonal block)"
            )
        else:
            hint = (
                f'a Jordan block at eigenvalue {mu:.6g}; use parametrization="dense" or "companion"'
            )
        raise InvalidValueError(
            "sys: expected a diagonalizable A for the diagonal (modal) form, got a defective "
            f"A with {alg} eigenvalues but {geo} eigenvector(s) at {mu:.3g}: {hint}"
        )
    V, J, sizes, _, _ = real_modal(A, lam, W, imag_tol)
    P, lr, lc = _layer_modes(J, sizes)
    Tinv = V @ P.T
    _check_cond(Tinv, "a diagonalizable A (modal form)")
    return lr, lc, np.linalg.inv(Tinv)


def _layer_modes(J: np.ndarray, sizes) -> tuple:
    """The layer's order and sign of the modes of a real modal form J (blocks ``sizes``).

    Returns ``(P, lam_real, lam_cplx)``: the signed permutation ``w = P z`` that puts the
    real modes first and, for each pair ``a +- ib`` (block ``[[a, b], [-b, a]]`` of
    :func:`realize.canonical.modal.real_modal`), the coordinates ``(z1, -z2)``, in which
    the block is the layer's ``[[a, -b], [b, a]]``; and the eigenvalues.
    """
    n = J.shape[0]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int)
    real = [k for k, size in zip(starts, sizes) if size == 1]
    pairs = [k for k, size in zip(starts, sizes) if size == 2]
    P = np.zeros((n, n))
    for row, k in enumerate(real):
        P[row, k] = 1.0
    for j, k in enumerate(pairs):
        row = len(real) + 2 * j
        P[row, k], P[row + 1, k + 1] = 1.0, -1.0
    lr = np.array([J[k, k] for k in real], dtype=float)
    lc = np.array([complex(J[k, k], J[k, k + 1]) for k in pairs], dtype=complex)
    return P, lr, lc


def companion_form(A: np.ndarray, B: np.ndarray | None = None, tries: int = 16):
    """Companion form of a cyclic (non-derogatory) A through a Krylov basis.

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array, optional
        Its columns are tried first as the cyclic vector.

    Returns
    -------
    a : (n,) array
        Characteristic polynomial ``z^n + a[0] z^(n-1) + ... + a[n-1]``.
    T : (n, n) array
        ``x_new = T x`` with ``T A T^-1`` the companion matrix
        (ones on the subdiagonal, last column ``-a[::-1]``).

    Raises
    ------
    InvalidValueError
        A derogatory A (no cyclic vector; e.g. a repeated eigenvalue with several blocks).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[0.5, 0.2], [0.0, 0.3]])  # z^2 - 0.8 z + 0.15
    >>> a, T = companion_form(A)
    >>> a.round(6).tolist()
    [-0.8, 0.15]
    >>> (T @ A @ np.linalg.inv(T)).round(6).tolist()
    [[0.0, -0.15], [1.0, 0.8]]
    """
    n = A.shape[0]
    if n == 0:
        return np.zeros(0), np.eye(0)
    rng = np.random.default_rng(0)
    cands = [] if B is None else [B[:, j] for j in range(B.shape[1])]
    cands += [rng.standard_normal(n) for _ in range(tries)]
    best = None
    for v in cands:
        if not np.any(v):
            continue
        K = np.empty((n, n))
        K[:, 0] = v / np.linalg.norm(v)
        for j in range(1, n):
            K[:, j] = A @ K[:, j - 1]
        cond = np.linalg.cond(K)
        if best is None or cond < best[0]:
            best = (cond, K)
    cond, K = best
    _check_cond(K, "a cyclic A (companion form)")
    last = np.linalg.solve(K, A @ K[:, -1])  # A^n v in the Krylov basis
    a = -last[::-1]
    return a, np.linalg.inv(K)


def companion_matrix(a: np.ndarray) -> np.ndarray:
    """Companion matrix of ``z^n + a[0] z^(n-1) + ... + a[n-1]`` (subdiagonal ones)."""
    n = len(a)
    M = np.zeros((n, n))
    if n:
        M[1:, :-1] = np.eye(n - 1)
        M[:, -1] = -np.asarray(a)[::-1]
    return M


def poly_to_reflection(a: np.ndarray) -> np.ndarray:
    """Reflection coefficients of a monic polynomial (Levinson step-down / Schur-Cohn).

    Parameters
    ----------
    a : (n,) array
        ``z^n + a[0] z^(n-1) + ... + a[n-1]``.

    Returns
    -------
    k : (n,) array
        ``k[i]`` of the order-(i+1) polynomial; all ``|k| < 1`` iff the roots lie in the
        open unit disk.

    Raises
    ------
    NotStableError
        If some ``|k| >= 1`` (a root on or outside the unit circle).

    Examples
    --------
    >>> import numpy as np
    >>> poly_to_reflection(np.array([-0.8, 0.15])).round(6).tolist()  # roots 0.5, 0.3
    [-0.695652, 0.15]
    >>> poly_to_reflection(np.array([-2.0]))  # the root 2
    Traceback (most recent call last):
    ...
    realize.errors.NotStableError: sys: expected a stable characteristic polynomial ...
    """
    poly = np.asarray(a, dtype=float).copy()
    n = len(poly)
    k = np.zeros(n)
    for i in range(n, 0, -1):
        ki = poly[i - 1]
        if abs(ki) >= 1.0:
            raise NotStableError(
                f"sys: expected a stable characteristic polynomial for stable=True, got reflection coefficient {ki:.6g}"
            )
        k[i - 1] = ki
        poly = (poly[: i - 1] - ki * poly[: i - 1][::-1]) / (1.0 - ki * ki)
    return k


def reflection_to_poly(k):
    """Monic polynomial coefficients from reflection coefficients (Levinson step-up).

    Works on NumPy arrays and on torch tensors (differentiably).

    Parameters
    ----------
    k : (n,) array or tensor

    Returns
    -------
    a : (n,) array or tensor, ``z^n + a[0] z^(n-1) + ... + a[n-1]``

    Examples
    --------
    >>> import numpy as np
    >>> from realize.nn.lift import poly_to_reflection, reflection_to_poly
    >>> a = np.poly([0.5, -0.3, 0.2])[1:]
    >>> bool(np.allclose(reflection_to_poly(poly_to_reflection(a)), a))
    True
    """
    poly = k[:0]
    for i in range(len(k)):
        ki = k[i : i + 1]
        if len(poly):
            head = poly + ki * poly.flip(0) if hasattr(poly, "flip") else poly + ki * poly[::-1]
        else:
            head = poly
        if hasattr(k, "flip"):
            import torch

            poly = torch.cat([head, ki])
        else:
            poly = np.concatenate([head, ki])
    return poly


def memory_form(sys, zero_tol=None):
    """``canonical_form(sys, "memory")``: a nilpotent shift block beside a diagonal block.

    Parameters
    ----------
    sys : StateSpace
    zero_tol : None
        Deprecated and ignored: the shift block is found by the rank decisions of
        :func:`realize.canonical.memory_blocks` (its default tolerance).

    Returns
    -------
    n_shift : int
        Size of the nilpotent block (eigenvalues at zero).
    shift : (n_shift, n_shift) array
        The nilpotent block in Jordan form (ones on the subdiagonal where two coordinates
        are chained, zero where a new chain starts).
    lam_real, lam_cplx, T : as :func:`modal_form` for the remaining block, with T acting on
        the whole state: ``x_new = T x``, the first n_shift coordinates the shift register.

    Examples
    --------
    A delay of two samples beside a pole at 0.7:

    >>> import realize
    >>> A = [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.7]]
    >>> sys = realize.StateSpace(A, [[1.0], [0.0], [1.0]], [[0.0, 1.0, 1.0]])
    >>> n_shift, shift, lam_real, lam_cplx, T = memory_form(sys)
    >>> n_shift, shift.tolist(), lam_real.tolist(), lam_cplx.size
    (2, [[0.0, 0.0], [1.0, 0.0]], [0.7], 0)
    """
    if zero_tol is not None:
        warnings.warn(
            "zero_tol is deprecated and ignored: the shift block comes from the rank "
            "decisions of realize.canonical.memory_blocks",
            DeprecationWarning,
            stacklevel=2,
        )
    new, T, info = memory_blocks(sys)
    ns, n = info.n_eidetic, new.n
    # the fading part is already in real modal form: only the layer's order and signs
    P, lr, lc = _layer_modes(new.A[ns:, ns:], info.fading_blocks)
    Tfull = np.eye(n)
    Tfull[ns:, ns:] = P
    return ns, new.A[:ns, :ns].copy(), lr, lc, Tfull @ T
