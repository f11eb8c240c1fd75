"""Carleman (Krener) bilinearization of polynomial input-affine systems.

A system ``dx/dt = f(x) + sum_i g_i(x) u_i`` with polynomial ``f`` and ``g_i`` is lifted
to the Kronecker powers ``z = [x; x (x) x; ...]`` of its state, whose dynamics are
bilinear once the powers above the truncation order are dropped: :func:`carleman`
returns that :class:`~realize.bilinear.BilinearStateSpace` and :func:`carleman_lift`
the lifted state.
"""

from __future__ import annotations

import numpy as np

from realize._checks import as_matrix, check_finite, describe
from realize.bilinear.model import BilinearStateSpace
from realize.errors import InvalidValueError, ShapeError

__all__ = ["carleman", "carleman_lift"]


def _poly_terms(coeffs, name: str, n: int, m: int | None, start: int):
    """Validate polynomial coefficients; returns {degree: array} and m."""
    terms = {}
    for idx, c in enumerate(coeffs):
        k = start + idx
        arr = np.asarray(c, dtype=float)
        if m is None:  # drift: (n, n^k)
            if arr.shape != (n, n**k):
                raise ShapeError(
                    f"{name}[{idx}]: expected shape ({n}, {n**k}) for the degree-"
                    f"{k} term, got {arr.shape}"
                )
        else:
            if arr.ndim == 2 and k == 0:
                arr = arr[:, :, None]
            if arr.ndim != 3 or arr.shape[1:] != (n, n**k) or (m >= 0 and arr.shape[0] != m):
                raise ShapeError(
                    f"{name}[{idx}]: expected shape (m, {n}, {n**k}) for the "
                    f"degree-{k} term, got {arr.shape}"
                )
        check_finite(arr, f"{name}[{idx}]")
        if np.any(arr):
            terms[k] = arr
    return terms


def carleman_lift(x, order: int) -> np.ndarray:
    """The Carleman state ``[x; x (x) x; ...; x^(x) order]`` of x, shape (sum_j n^j,).

    Parameters
    ----------
    x : (n,) array_like
        State (flattened if it has more dimensions).
    order : int
        Number of Kronecker powers.

    Returns
    -------
    z : (n + n^2 + ... + n^order,) array
        The Kronecker powers ``x^(x)1, ..., x^(x)order`` stacked; the state of the
        bilinear model from :func:`carleman` with the same order.

    Examples
    --------
    >>> from realize.bilinear import carleman_lift
    >>> carleman_lift([1.0, 2.0], 2).tolist()
    [1.0, 2.0, 1.0, 2.0, 2.0, 4.0]
    """
    x = np.asarray(x, dtype=float).ravel()
    parts, cur = [], np.ones(1)
    for _ in range(int(order)):
        cur = np.kron(cur, x)
        parts.append(cur)
    return np.concatenate(parts)


def carleman(
    F, G=(), order: int = 2, *, C=None, dt: float | None = None, method: str = "exponential"
) -> BilinearStateSpace:
    """Carleman (Krener) bilinearization of a polynomial input-affine system.

    For ``dx/dt = f(x) + sum_i g_i(x) u_i`` with ``f(x) = sum_{k>=1} F_k x^(x)k`` and
    ``g_i(x) = sum_{k>=0} G_k[i] x^(x)k`` (``x^(x)k`` the k-fold Kronecker power), the
    Kronecker powers ``z_j = x^(x)j`` obey

    ``dz_j/dt = sum_k sum_{l=1}^{j} (I_{n^(l-1)} (x) F_k (x) I_{n^(j-l)}) z_{j-1+k}
    + sum_i u_i sum_k sum_l (I (x) G_k[i] (x) I) z_{j-1+k}``,

    which is bilinear in ``z = [z_1; ...; z_order]`` once the terms of degree above
    ``order`` are dropped; the constant input term ``G_0[i]`` in the equation of
    ``z_1`` becomes the input matrix B.

    Parameters
    ----------
    F : sequence of arrays
        ``F[k-1]`` of shape (n, n^k) is the degree-k drift term, k = 1, 2, ...
        (f(0) = 0: move the equilibrium to the origin first).
    G : sequence of arrays, optional
        ``G[k]`` of shape (m, n, n^k) is the degree-k input term, k = 0, 1, ...;
        ``G[0]`` may be given as (m, n). Default: no input.
    order : int, default 2
        Truncation order (number of Kronecker powers kept); the state dimension is
        ``n + n^2 + ... + n^order``.
    C : (p, n) array, optional
        Output ``y = C x`` (default: the whole state x).
    dt : float, optional
        If given, return the discretization with this sampling period
        (:meth:`BilinearStateSpace.discretize`); default: the continuous-time model.
    method : {"exponential", "euler"}
        Discretization method (with ``dt``).

    Returns
    -------
    BilinearStateSpace
        In the coordinates z; start it at ``carleman_lift(x0, order)``.

    Raises
    ------
    ShapeError
        Coefficients of the wrong shape.
    InvalidValueError
        A non-positive order.

    Notes
    -----
    Over a finite horizon, for small initial states and inputs, the error of the
    order-N approximation is of the size of the neglected terms, ``O(|x|^(N+1))``;
    it falls as the order rises (Rugh, 1981; Krener, 1974).

    References
    ----------
    A. J. Krener, "Linearization and bilinearization of control systems", Proc.
    Allerton Conf., 1974. W. J. Rugh, *Nonlinear System Theory: The Volterra/Wiener
    Approach*, Johns Hopkins, 1981, Sec. 3.3.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.bilinear import carleman, carleman_lift
    >>> # dx/dt = -x + x^2 + u
    >>> sys = carleman([[[-1.0]], [[1.0]]], [np.ones((1, 1, 1))], order=3)
    >>> sys.n, sys.A.diagonal().tolist()
    (3, [-1.0, -2.0, -3.0])
    >>> carleman_lift([0.5], 3).tolist()
    [0.5, 0.25, 0.125]
    """
    try:
        order_i = int(order)
    except (TypeError, ValueError):
        raise InvalidValueError(
            f"order: expected a positive integer, got {describe(order)}"
        ) from None
    if order_i < 1 or order_i != order:
        raise InvalidValueError(f"order: expected a positive integer, got {order}")
    F = list(F)
    if not F:
        raise ShapeError("F: expected at least the linear term F[0] of shape (n, n), got none")
    F1 = np.asarray(F[0], dtype=float)
    if F1.ndim != 2 or F1.shape[0] != F1.shape[1]:
        raise ShapeError(f"F[0]: expected a square (n, n) linear term, got shape {F1.shape}")
    n = F1.shape[0]
    fterms = _poly_terms(F, "F", n, None, 1)
    G = list(G)
    m = 0
    if G:
        g0 = np.asarray(G[0], dtype=float)
        m = g0.shape[0] if g0.ndim >= 2 else 0
    gterms = _poly_terms(G, "G", n, m, 0) if G else {}
    A, N, B = _carleman_matrices(fterms, gterms, n, m, order_i)
    Cx = np.eye(n) if C is None else as_matrix(C, "C", cols=n)
    Cz = np.zeros((Cx.shape[0], A.shape[0]))
    Cz[:, :n] = Cx
    sys = BilinearStateSpace(A, N, B, Cz, dt=None)
    return sys if dt is None else sys.discretize(dt, method)


def _kron_sum(M: np.ndarray, n: int, j: int) -> np.ndarray:
    """``sum_{l=1}^{j} I_{n^(l-1)} (x) M (x) I_{n^(j-l)}``: M acting on each factor of
    the j-th Kronecker power of an n-vector."""
    out = 0.0
    for l in range(1, j + 1):
        out = out + np.kron(np.kron(np.eye(n ** (l - 1)), M), np.eye(n ** (j - l)))
    return out


def _carleman_matrices(fterms: dict, gterms: dict, n: int, m: int, order: int):
    """``(A, N, B)`` of the truncated Carleman system in ``z = [z_1; ...; z_order]``."""
    offs = np.concatenate([[0], np.cumsum([n**j for j in range(1, order + 1)])])
    dim = int(offs[-1])

    def blk(j):  # slice of z_j, j = 1..order
        return slice(int(offs[j - 1]), int(offs[j]))

    A = np.zeros((dim, dim))
    N = np.zeros((m, dim, dim))
    B = np.zeros((dim, m))
    for j in range(1, order + 1):
        for k, Fk in fterms.items():
            if j - 1 + k <= order:
                A[blk(j), blk(j - 1 + k)] += _kron_sum(Fk, n, j)
        for k, Gk in gterms.items():
            for i in range(m):
                if k == 0 and j == 1:
                    B[blk(1), i] = Gk[i][:, 0]
                elif j - 1 + k <= order:
                    N[i][blk(j), blk(j - 1 + k)] += _kron_sum(Gk[i], n, j)
    return A, N, B
