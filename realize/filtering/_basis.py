"""The real modal basis, in which the likelihood kernel's time update is O(n^2).

The Gaussian log-likelihood is invariant under a change of state basis ``x' = V^-1 x``
(A -> V^-1 A V, C -> C V, Q -> V^-1 Q V^-T, S -> V^-1 S, x0 -> V^-1 x0,
P0 -> V^-1 P0 V^-T), so the likelihood-only recursion may run where A is cheap to
multiply: the real block-diagonal (real Jordan) form, 1 x 1 blocks for real eigenvalues
and ``[[a, b], [-b, a]]`` for a pair ``a +- ib`` (Golub & Van Loan 2013, section 7.4.1).
Every row of A then has at most two nonzeros, and ``A P A'`` costs O(n^2) instead of
O(n^3). The basis is used only when the eigenvectors are well conditioned; a defective or
nearly defective A (and its real Schur form, whose dense rows gain nothing over dgemm,
measured in BENCHMARKS.md) stays with the dense kernel.
"""

from __future__ import annotations

import numpy as np

__all__ = ["modal_basis", "MAX_EIGVEC_COND"]

MAX_EIGVEC_COND = 1e3  # above this the eigenvector basis may cost accuracy


def modal_basis(A: np.ndarray):
    """A real basis ``V`` in which ``V^-1 A V`` is block diagonal (1 x 1 and 2 x 2 blocks).

    Parameters
    ----------
    A : (n, n) array
        Transition matrix (time-invariant).

    Returns
    -------
    (V, Vinv, Ab, lo, hi) or None
        The basis, its inverse, ``Ab = V^-1 A V`` with its off-block entries exactly zero,
        and (n,) intc arrays such that row i of ``Ab`` is zero outside the columns
        ``lo[i] <= l < hi[i]`` (its block, of size ``hi[i] - lo[i]`` <= 2). None when A
        has non-finite eigenvalues, unpaired complex ones, or an eigenvector basis with
        condition number above ``MAX_EIGVEC_COND``.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.filtering._basis import modal_basis
    >>> A = np.array([[0.5, 1.0], [0.0, 0.3]])
    >>> V, Vinv, Ab, lo, hi = modal_basis(A)
    >>> bool(np.allclose(V @ Ab @ Vinv, A)), (hi - lo).tolist()
    (True, [1, 1])
    >>> modal_basis(np.array([[0.5, 1.0], [0.0, 0.5]])) is None  # a Jordan block
    True
    """
    A = np.asarray(A, dtype=float)
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
