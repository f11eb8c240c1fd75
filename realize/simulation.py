"""Simulation of linear state-space models: the compiled kernel and its reference.

Both functions compute, for t = 0 .. T-1,

    x[t+1] = A x[t] + B u[t] + w[t]
    y[t]   = C x[t] + D u[t] + v[t]

:func:`simulate_states` folds inputs and process noise into one forcing term with a
single matrix product and runs only the sequential state recursion in Cython
(``realize/_ext/_simulate.pyx``, BLAS ``dgemv`` with the GIL released); the outputs are
one more matrix product. :func:`simulate_reference` is the plain NumPy loop that
defines the result; the tests compare the two.
"""

from __future__ import annotations

import numpy as np

from realize._ext._simulate import state_recursion

__all__ = ["simulate_states", "simulate_reference"]


def simulate_states(A, B, C, D, u, w, v, x0):
    """Outputs and states of a linear model (compiled recursion).

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array
    C : (p, n) array
    D : (p, m) array
    u : (T, m) array
    w : (T, n) array or None
        Process noise (None: zero).
    v : (T, p) array or None
        Measurement noise (None: zero).
    x0 : (n,) array

    Returns
    -------
    y : (T, p) array
    x : (T + 1, n) array
        States x[0] .. x[T].
    """
    T = u.shape[0]
    forcing = u @ B.T if B.shape[1] else np.zeros((T, A.shape[0]))
    if w is not None:
        forcing += w
    forcing = np.ascontiguousarray(forcing, dtype=float)
    X = np.empty((T + 1, A.shape[0]))
    state_recursion(
        np.ascontiguousarray(A, dtype=float), forcing, np.ascontiguousarray(x0, dtype=float), X
    )
    y = X[:T] @ C.T
    if D.shape[1]:
        y += u @ D.T
    if v is not None:
        y += v
    return y, X


def simulate_reference(A, B, C, D, u, w, v, x0):
    """Plain NumPy loop with the same signature and result as :func:`simulate_states`."""
    T = u.shape[0]
    n = A.shape[0]
    X = np.empty((T + 1, n))
    y = np.empty((T, C.shape[0]))
    X[0] = x0
    for t in range(T):
        y[t] = C @ X[t] + D @ u[t]
        X[t + 1] = A @ X[t] + B @ u[t]
        if w is not None:
            X[t + 1] += w[t]
        if v is not None:
            y[t] += v[t]
    return y, X
