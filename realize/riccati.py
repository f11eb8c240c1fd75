"""Discrete-time algebraic Riccati and Lyapunov equations.

Thin, checked wrappers around SciPy's solvers (Schur/QZ methods from LAPACK): the
solution's residual is verified, and a Riccati equation without a stabilizing
solution raises :class:`~realize.errors.NotStabilizableError` instead of returning
a useless matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from realize._checks import as_matrix, as_square, check_psd
from realize.errors import NotStabilizableError, NotStableError

__all__ = ["dare", "dlyap", "kalman_gain"]


def dlyap(A, Q) -> np.ndarray:
    """Solve the discrete Lyapunov equation ``A X A' - X + Q = 0``.

    Parameters
    ----------
    A : (n, n) array
        Stable matrix (spectral radius below one).
    Q : (n, n) array
        Symmetric right-hand side.

    Returns
    -------
    X : (n, n) array
        The symmetric solution, ``X = sum_k A^k Q A'^k``.

    Raises
    ------
    NotStableError
        If A has an eigenvalue on or outside the unit circle.

    Examples
    --------
    >>> import numpy as np, realize
    >>> float(realize.dlyap([[0.5]], [[3.0]])[0, 0])
    4.0
    """
    A = as_square(A, "A")
    Q = as_square(Q, "Q", A.shape[0])
    rho = max(abs(np.linalg.eigvals(A))) if A.size else 0.0
    if rho >= 1.0:
        raise NotStableError(
            f"A: expected a stable matrix (spectral radius < 1), got spectral radius {rho:.6g}"
        )
    X = sla.solve_discrete_lyapunov(A, Q)
    return 0.5 * (X + X.T)


def dare(A, B, Q, R, S=None) -> np.ndarray:
    """Stabilizing solution of the discrete algebraic Riccati equation (control form).

    ``X = A'XA - (A'XB + S)(R + B'XB)^{-1}(B'XA + S') + Q``, with the closed loop
    ``A - B (R + B'XB)^{-1} (B'XA + S')`` stable.

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array
    Q : (n, n) array, symmetric positive semidefinite (after the S correction)
    R : (m, m) array, symmetric positive definite
    S : (n, m) array, optional cross term (default zero).

    Returns
    -------
    X : (n, n) array

    Raises
    ------
    NotStabilizableError
        If no stabilizing solution exists (e.g. (A, B) not stabilizable or a unit-circle
        mode that is unobservable through Q).

    Notes
    -----
    For the Kalman filter of x[t+1] = A x[t] + w, y = C x + v use the dual
    ``dare(A', C', Q, R, S)`` (see :func:`kalman_gain`).

    Examples
    --------
    >>> import numpy as np, realize
    >>> X = realize.dare([[1.0]], [[1.0]], [[1.0]], [[1.0]])
    >>> round(float(X[0, 0]), 6)  # golden ratio
    1.618034
    """
    A = as_square(A, "A")
    n = A.shape[0]
    B = as_matrix(B, "B", rows=n)
    m = B.shape[1]
    Q = check_psd(as_square(Q, "Q", n), "Q")
    R = as_square(R, "R", m)
    R = 0.5 * (R + R.T)
    S = np.zeros((n, m)) if S is None else as_matrix(S, "S", n, m)
    try:
        X = sla.solve_discrete_are(A, B, Q, R, s=S)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise NotStabilizableError(
            f"dare: expected a Riccati equation with a stabilizing solution, got none ({exc})"
        ) from None
    X = 0.5 * (X + X.T)
    G = R + B.T @ X @ B
    F = np.linalg.solve(G, B.T @ X @ A + S.T)
    resid = A.T @ X @ A - (A.T @ X @ B + S) @ F + Q - X
    scale = max(1.0, np.linalg.norm(X, 1), np.linalg.norm(Q, 1))
    if not np.all(np.isfinite(X)) or np.linalg.norm(resid, 1) > 1e-8 * scale:
        raise NotStabilizableError(
            "dare: expected a Riccati equation with a stabilizing solution, got a solution "
            f"with relative residual {np.linalg.norm(resid, 1) / scale:.3g}"
        )
    rho = max(abs(np.linalg.eigvals(A - B @ F))) if n else 0.0
    if rho >= 1.0:
        raise NotStabilizableError(
            f"dare: expected a stabilizing solution, got closed-loop spectral radius {rho:.6g}"
        )
    return X


def kalman_gain(A, C, Q, R, S=None):
    """Steady-state Kalman predictor: state covariance, gain and innovation covariance.

    For x[t+1] = A x[t] + w[t], y[t] = C x[t] + v[t] with cov([w; v]) = [[Q, S], [S', R]],
    the predicted-state covariance P solves
    ``P = A P A' + Q - (A P C' + S) (C P C' + R)^{-1} (A P C' + S)'``; the predictor
    gain is ``K = (A P C' + S) Lambda^{-1}`` with ``Lambda = C P C' + R``.

    Parameters
    ----------
    A : (n, n) array
    C : (p, n) array
    Q : (n, n) array
    R : (p, p) array
    S : (n, p) array, optional

    Returns
    -------
    P : (n, n) array
    K : (n, p) array
    Lambda : (p, p) array

    Raises
    ------
    NotStabilizableError
        If the filter Riccati equation has no stabilizing solution.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.riccati import kalman_gain
    >>> P, K, Lam = kalman_gain([[0.9]], [[1.0]], [[1.0]], [[1.0]])
    >>> bool(0 < K[0, 0] < 0.9)
    True
    """
    A = as_square(A, "A")
    n = A.shape[0]
    C = as_matrix(C, "C", cols=n)
    p = C.shape[0]
    S = np.zeros((n, p)) if S is None else as_matrix(S, "S", n, p)
    P = dare(A.T, C.T, Q, R, S)
    Lam = C @ P @ C.T + np.asarray(R, dtype=float)
    Lam = 0.5 * (Lam + Lam.T)
    K = np.linalg.solve(Lam, (A @ P @ C.T + S).T).T
    return P, K, Lam
