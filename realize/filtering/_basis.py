"""A state basis in which the transition matrix is sparse, for the likelihood kernel.

The Gaussian log-likelihood is invariant under a change of state basis ``x' = V^-1 x``
(A -> V^-1 A V, C -> C V, Q -> V^-1 Q V^-T, S -> V^-1 S, x0 -> V^-1 x0,
P0 -> V^-1 P0 V^-T), so the likelihood-only recursion may run where A is cheap to
multiply:

* the real block-diagonal (real Jordan) form, 1 x 1 blocks for real eigenvalues and
  ``[[a, b], [-b, a]]`` for a pair ``a +- ib``, when the eigenvector basis is well
  conditioned: the time update ``A P A'`` costs O(n^2) instead of O(n^3);
* otherwise the real Schur form ``A = U T U'`` (U orthogonal, no loss of accuracy), T
  upper quasi-triangular: about a third of the dense flops.

The rows of the new A are described by the column range of their nonzeros, which the
compiled kernel loops over (Golub & Van Loan 2013, sections 7.4.1 and 7.6).
"""

from __future__ import annotations

import numpy as np

__all__ = ["sparse_basis", "MAX_EIGVEC_COND"]

MAX_EIGVEC_COND = 1e3  # above this the eigenvector basis may cost accuracy: use Schur


def _block_diagonal(A: np.ndarray):
    n = A.shape[0]
    w, W = np.linalg.eig(A)
    if not np.all(np.isfinite(w)):
        return None
    cols, blocks, j = [], [], 0
    while j < n:
        if w[j].imag == 0.0:
            cols.append(W[:, j].real)
            blocks.append(1)
            j += 1
        elif j + 1 < n and w[j + 1] == np.conj(w[j]):
            cols += [W[:, j].real, W[:, j].imag]
            blocks.append(2)
            j += 2
        else:
            return None
    V = np.column_stack(cols)
    V /= np.linalg.norm(V, axis=0)
    if not np.linalg.cond(V) <= MAX_EIGVEC_COND:
        return None
    Vinv = np.linalg.inv(V)
    Ab = Vinv @ A @ V
    lo, hi = np.empty(n, np.intc), np.empty(n, np.intc)
    mask = np.zeros((n, n), dtype=bool)
    i = 0
    for b in blocks:
        lo[i : i + b], hi[i : i + b] = i, i + b
        mask[i : i + b, i : i + b] = True
        i += b
    scale = np.abs(A).max() + np.finfo(float).tiny
    if np.abs(Ab[~mask]).max(initial=0.0) > 1e-11 * scale:
        return None
    Ab[~mask] = 0.0
    return V, Vinv, Ab, lo, hi


def sparse_basis(A: np.ndarray):
    """A basis ``V`` in which ``V^-1 A V`` is block diagonal or quasi-triangular.

    Parameters
    ----------
    A : (n, n) array
        Transition matrix (time-invariant).

    Returns
    -------
    V, Vinv : (n, n) arrays
        The basis and its inverse (orthogonal, ``Vinv = V'``, for the Schur form).
    Ab : (n, n) array
        ``V^-1 A V`` with its structural zeros exactly zero.
    lo, hi : (n,) intc arrays
        Row i of ``Ab`` is zero outside the columns ``lo[i] <= l < hi[i]``.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.filtering._basis import sparse_basis
    >>> A = np.array([[0.5, 1.0], [0.0, 0.3]])
    >>> V, Vinv, Ab, lo, hi = sparse_basis(A)
    >>> bool(np.allclose(V @ Ab @ Vinv, A)), lo.tolist(), hi.tolist()
    (True, [0, 1], [1, 2])
    """
    A = np.asarray(A, dtype=float)
    out = _block_diagonal(A)
    if out is not None:
        return out
    from scipy.linalg import schur

    Tm, U = schur(A, output="real")
    n = A.shape[0]
    lo = np.array([i - 1 if i > 0 and Tm[i, i - 1] != 0.0 else i for i in range(n)], np.intc)
    hi = np.full(n, n, np.intc)
    Tm = np.triu(Tm, -1)
    return U, U.T, np.ascontiguousarray(Tm), lo, hi
