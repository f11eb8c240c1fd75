"""The memory form: nilpotent shift chains (eidetic memory) beside a modal fading part.

``A_new = diag(S_{L_1}, ..., S_{L_q}, F)``: delay lines that keep the last L inputs
verbatim (a Transformer's window) and the real modal form of the invertible part (the
decaying modes of a diagonal SSM such as Mamba). :func:`memory_blocks` is behind
``canonical_form(sys, "memory")`` and the ``"memory"`` layer of :mod:`realize.nn.lift`.

Reference: L. Zancato et al., "B'MOJO: Hybrid state space realizations of foundation
models with eidetic and fading memory", NeurIPS 2024.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg as sla

from realize._checks import as_choice, as_float
from realize.canonical._similarity import check_cond, finish
from realize.canonical.modal import jordan_chains, modal_transform, nilpotent_staircase
from realize.realization import as_statespace

__all__ = ["MemoryBlocks", "memory_blocks"]


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
    Ah, U, sizes = nilpotent_staircase(A, tol)
    nu = int(sum(sizes))
    N, X, M = Ah[:nu, :nu], Ah[:nu, nu:], Ah[nu:, nu:]
    Z = sla.solve_sylvester(N, -M, -X) if nu and nu < n else np.zeros((nu, n - nu))
    Vn, lengths = jordan_chains(N, sizes)
    if fading == "modal":
        Vm, F, fblocks, _, _, _ = modal_transform(M, "A (fading part)")
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
    cond = check_cond(T, "memory", stacklevel=3)
    new = finish(sys, T, Anew, T @ sys.B, sys.C @ Ti)
    info = MemoryBlocks(tuple(lengths), nu, n - nu, tuple(fblocks), tuple(sizes), tol, cond)
    return new, T, info


def to_memory(sys, tol=None, fading: str = "modal"):
    """``(new_sys, T)`` of the 'memory' form (see :func:`memory_blocks`)."""
    new, T, _ = memory_blocks(sys, tol, fading=fading)
    return new, T
