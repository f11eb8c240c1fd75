"""Least-squares ``B``, ``D`` and initial states for given ``A``, ``C`` (simulation focus).

With ``A`` and ``C`` fixed, the simulated output of every record is linear in the
remaining parameters,

.. math::

    \\hat y(t) = C A^t x_0 + \\sum_{k<t} C A^{t-1-k} B u(k) + D u(t),

so the ``(B, D, x_0)`` that minimize the simulation error ``sum ||y - yhat||^2`` solve one
linear least-squares problem (Verhaegen & Verdult 2007, Sec. 9.2.4.2; the "simulation
focus" of subspace toolboxes). Its regressors are the responses
``w_{b,i}(t+1) = A' w_{b,i}(t) + C_i' u_b(t)``, one ``n``-dimensional recursion per
input-output pair, run by the compiled state recursion; the least squares is solved by
QR of the (T p, n m + p m + n r) regressor matrix.

References
----------
M. Verhaegen, V. Verdult, *Filtering and System Identification: A Least Squares
Approach*, Cambridge University Press, 2007.
"""

from __future__ import annotations

import numpy as np

from realize._ext._simulate import state_recursion

__all__ = ["output_error_bd"]


def _state_responses(F: np.ndarray, forcing: np.ndarray, x0: np.ndarray) -> np.ndarray:
    X = np.empty((forcing.shape[0] + 1, F.shape[0]))
    with np.errstate(all="ignore"):
        state_recursion(
            np.ascontiguousarray(F),
            np.ascontiguousarray(forcing),
            np.ascontiguousarray(x0, dtype=float),
            X,
        )
    return X[:-1]


def output_error_bd(A, C, records, feedthrough: bool, estimate_x0: bool = True):
    """``(B, D, x0s)`` minimizing the simulation error over the records, given ``A``, ``C``.

    Parameters
    ----------
    A : (n, n) array
    C : (p, n) array
    records : list of ((T_k, p) array, (T_k, m) array)
        Outputs and inputs (already centred).
    feedthrough : bool
        Estimate ``D`` (else zero).
    estimate_x0 : bool
        One initial state per record (else zero).

    Returns
    -------
    B : (n, m) array
    D : (p, m) array
    x0s : list of (n,) arrays

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.identify.output_error import output_error_bd
    >>> sys = realize.StateSpace([[0.5]], [[2.0]], [[1.0]])
    >>> u = np.random.default_rng(0).standard_normal((40, 1))
    >>> y = sys.simulate(u, x0=[1.0], noise=False)
    >>> B, D, x0s = output_error_bd(sys.A, sys.C, [(y, u)], feedthrough=False)
    >>> np.round(B, 8).tolist(), np.round(x0s[0], 8).tolist()
    ([[2.0]], [1.0])
    """
    n, p = A.shape[0], C.shape[0]
    m = records[0][1].shape[1]
    n_rec = len(records)
    ncols = n * m + (p * m if feedthrough else 0) + (n * n_rec if estimate_x0 else 0)
    blocks, targets = [], []
    At = A.T
    for r, (y, u) in enumerate(records):
        T = y.shape[0]
        Phi = np.zeros((T, p, ncols))
        for b in range(m):
            for i in range(p):
                # w(t) with C_i A^{t-1-k} summed against u_b: coefficient of B[:, b] in y_i(t)
                W = _state_responses(At, np.outer(u[:, b], C[i]), np.zeros(n))
                Phi[:, i, b * n : (b + 1) * n] = W
        col = n * m
        if feedthrough:
            for i in range(p):
                Phi[:, i, col + i * m : col + (i + 1) * m] = u
            col += p * m
        if estimate_x0:
            free = np.empty((T, p, n))
            for j in range(n):
                e = np.zeros(n)
                e[j] = 1.0
                free[:, :, j] = _state_responses(A, np.zeros((T, n)), e) @ C.T
            Phi[:, :, col + r * n : col + (r + 1) * n] = free
        blocks.append(Phi.reshape(T * p, ncols))
        targets.append(y.reshape(-1))
    Phi = np.concatenate(blocks)
    target = np.concatenate(targets)
    ok = np.all(np.isfinite(Phi), axis=0)
    theta = np.zeros(ncols)
    if np.any(ok):
        theta[ok] = np.linalg.lstsq(Phi[:, ok], target, rcond=None)[0]
    B = theta[: n * m].reshape(m, n).T if m else np.zeros((n, 0))
    col = n * m
    if feedthrough:
        D = theta[col : col + p * m].reshape(p, m)
        col += p * m
    else:
        D = np.zeros((p, m))
    if estimate_x0:
        x0s = [theta[col + r * n : col + (r + 1) * n] for r in range(n_rec)]
    else:
        x0s = [np.zeros(n) for _ in range(n_rec)]
    return B, D, x0s
