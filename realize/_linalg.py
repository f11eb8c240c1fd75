"""Shared numerics of symmetric positive semidefinite matrices, each written once.

Covariances enter the package from users (Q, R, S, P0, Lambda), from solvers (Lyapunov
and Riccati solutions, Gramians) and from estimators (sample moments); rounding leaves
them asymmetric or with tiny negative eigenvalues. The functions here are the one place
where such a matrix is symmetrized, factored (``L L' = M``) or judged PSD; they accept a
single (n, n) matrix or a stack (..., n, n). Validation with named errors stays in
:func:`realize._checks.check_psd`, which is written with these.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "symmetrize",
    "psd_factor",
    "asymmetry",
    "smallest_eigenvalue",
    "is_positive_definite",
]


def symmetrize(M: np.ndarray) -> np.ndarray:
    """The symmetric part ``(M + M') / 2`` of a matrix or of each matrix of a stack.

    Parameters
    ----------
    M : (..., n, n) array

    Returns
    -------
    (..., n, n) array
        Exactly symmetric; equal to M (bit for bit) when M is.

    Examples
    --------
    >>> import numpy as np
    >>> from realize._linalg import symmetrize
    >>> symmetrize(np.array([[1.0, 2.0], [0.0, 1.0]]))
    array([[1., 1.],
           [1., 1.]])
    """
    return 0.5 * (M + np.swapaxes(M, -1, -2))


def psd_factor(M: np.ndarray, *, cholesky: bool = False) -> np.ndarray:
    """A factor L with ``L L' = M`` of a symmetric positive semidefinite M.

    From the eigendecomposition of the symmetric part, ``L = V diag(sqrt(max(lam, 0)))``
    (tiny negative eigenvalues from rounding are clipped), which holds for singular M;
    with ``cholesky=True``, the lower-triangular Cholesky factor when M is positive
    definite (the eigendecomposition otherwise).

    Parameters
    ----------
    M : (n, n) array
        Symmetric PSD (to rounding).
    cholesky : bool
        Prefer the triangular factor (square-root filters propagate triangular factors).

    Returns
    -------
    L : (n, n) array

    Examples
    --------
    >>> import numpy as np
    >>> from realize._linalg import psd_factor
    >>> M = np.array([[1.0, 1.0], [1.0, 1.0]])  # singular: no Cholesky factor
    >>> L = psd_factor(M, cholesky=True)
    >>> bool(np.allclose(L @ L.T, M))
    True
    >>> bool(np.allclose(np.triu(psd_factor(np.eye(2) + M, cholesky=True), 1), 0.0))
    True
    """
    if cholesky:
        try:
            return np.linalg.cholesky(M)
        except np.linalg.LinAlgError:
            pass
    lam, V = np.linalg.eigh(symmetrize(M))
    return V * np.sqrt(np.clip(lam, 0.0, None))


def asymmetry(M: np.ndarray) -> np.ndarray:
    """``max |M - M'|`` of a matrix (a float) or of each matrix of a stack ((k,) array).

    Examples
    --------
    >>> import numpy as np
    >>> from realize._linalg import asymmetry
    >>> float(asymmetry(np.array([[1.0, 2.0], [0.5, 1.0]])))
    1.5
    """
    return np.abs(M - np.swapaxes(M, -1, -2)).max(axis=(-2, -1))


def smallest_eigenvalue(M: np.ndarray) -> np.ndarray:
    """The smallest eigenvalue of the symmetric part of a matrix or of each of a stack.

    Examples
    --------
    >>> import numpy as np
    >>> from realize._linalg import smallest_eigenvalue
    >>> float(smallest_eigenvalue(np.array([[2.0, 0.0], [0.0, -1.0]])))
    -1.0
    """
    return np.linalg.eigvalsh(symmetrize(M))[..., 0]


def is_positive_definite(M: np.ndarray) -> bool:
    """Whether the symmetric M is (numerically) positive definite: Cholesky succeeds.

    Examples
    --------
    >>> import numpy as np
    >>> from realize._linalg import is_positive_definite
    >>> is_positive_definite(np.eye(2)), is_positive_definite(np.zeros((2, 2)))
    (True, False)
    """
    try:
        np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        return False
    return True
