"""Discrete-time algebraic Riccati and Lyapunov equations.

Checked wrappers around SciPy's solvers (generalized Schur / QZ method for the Riccati
equation, Bartels-Stewart after a bilinear transform or Kronecker form for Lyapunov):
every solution's residual is verified; a Riccati solution whose residual is not at
rounding level is polished by Newton's method (Hewer 1971), and an equation without a
stabilizing solution raises :class:`~realize.errors.NotStabilizableError` instead of
returning a useless matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from realize._checks import as_matrix, as_square, check_psd
from realize.errors import InvalidValueError, NotStabilizableError, NotStableError

__all__ = ["dare", "dlyap", "kalman_gain", "dare_residual"]

#: residuals above this (relative) trigger Newton refinement
_POLISH_RTOL = 1e-12
#: residuals above this (relative) after refinement are an error
_ACCEPT_RTOL = 1e-8


def _max_abs(M: np.ndarray) -> float:
    return float(np.max(np.abs(M))) if M.size else 0.0


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
    InvalidValueError
        If the computed solution does not satisfy the equation (A too close to the unit
        circle for double precision).

    Notes
    -----
    The relative residual ``|A X A' - X + Q|_1 / (|X|_1 + |Q|_1)`` is checked against
    1e-8; one step of iterative refinement (solving for the correction with the residual
    as right-hand side) is taken when it exceeds 1e-12.

    Examples
    --------
    >>> import numpy as np, realize
    >>> float(realize.dlyap([[0.5]], [[3.0]])[0, 0])
    4.0
    """
    A = as_square(A, "A")
    Q = as_square(Q, "Q", A.shape[0])
    if A.size == 0:
        return np.zeros((0, 0))
    rho = float(max(abs(np.linalg.eigvals(A))))
    if rho >= 1.0:
        raise NotStableError(
            f"A: expected a stable matrix (spectral radius < 1), got spectral radius {rho:.6g}"
        )
    Qs = 0.5 * (Q + Q.T)
    X = sla.solve_discrete_lyapunov(A, Qs)
    X = 0.5 * (X + X.T)

    def resid(X):
        return A @ X @ A.T - X + Qs

    scale = max(np.linalg.norm(X, 1) + np.linalg.norm(Qs, 1), np.finfo(float).tiny)
    E = resid(X)
    if np.linalg.norm(E, 1) > _POLISH_RTOL * scale:
        dX = sla.solve_discrete_lyapunov(A, E)
        X2 = X + 0.5 * (dX + dX.T)
        if np.linalg.norm(resid(X2), 1) < np.linalg.norm(E, 1):
            X, E = X2, resid(X2)
    if not np.all(np.isfinite(X)) or np.linalg.norm(E, 1) > _ACCEPT_RTOL * scale:
        raise InvalidValueError(
            f"A: the Lyapunov equation is too ill-conditioned to solve (spectral radius "
            f"{rho:.15g}); relative residual {np.linalg.norm(E, 1) / scale:.3g}"
        )
    return X


def dare_residual(A, B, Q, R, S, X) -> np.ndarray:
    """Residual ``A'XA - (A'XB + S)(R + B'XB)^{-1}(B'XA + S') + Q - X`` of the control DARE.

    No input checks: the arguments must already be float arrays of matching shapes.

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array
    Q : (n, n) array
    R : (m, m) array
    S : (n, m) array
        Cross weight (zeros if there is none).
    X : (n, n) array
        Candidate solution.

    Returns
    -------
    residual : (n, n) array
        Zero (to rounding) when X solves the equation.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.riccati import dare, dare_residual
    >>> A, B, Q, R, S = np.array([[0.9]]), np.eye(1), np.eye(1), np.eye(1), np.zeros((1, 1))
    >>> X = dare(A, B, Q, R)
    >>> bool(np.abs(dare_residual(A, B, Q, R, S, X)).max() < 1e-12)
    True
    """
    G = R + B.T @ X @ B
    F = np.linalg.solve(G, B.T @ X @ A + S.T)
    return A.T @ X @ A - (A.T @ X @ B + S) @ F + Q - X


def _newton(A, B, Q, R, S, X):
    """One Newton (Hewer) step: the Lyapunov equation of the closed loop of X's gain."""
    Kc = np.linalg.solve(R + B.T @ X @ B, B.T @ X @ A + S.T)
    Ac = A - B @ Kc
    Qk = Q - S @ Kc - Kc.T @ S.T + Kc.T @ R @ Kc
    Xn = sla.solve_discrete_lyapunov(Ac.T, 0.5 * (Qk + Qk.T))
    return 0.5 * (Xn + Xn.T)


def dare(A, B, Q, R, S=None) -> np.ndarray:
    """Stabilizing solution of the discrete algebraic Riccati equation (control form).

    ``X = A'XA - (A'XB + S)(R + B'XB)^{-1}(B'XA + S') + Q``, with the closed loop
    ``A - B (R + B'XB)^{-1} (B'XA + S')`` stable.

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array
    Q : (n, n) array, symmetric positive semidefinite
    R : (m, m) array, symmetric (R + B'XB must be nonsingular)
    S : (n, m) array, optional cross term (default zero).

    Returns
    -------
    X : (n, n) array

    Raises
    ------
    NotStabilizableError
        If no stabilizing solution exists (e.g. (A, B) not stabilizable or a unit-circle
        mode that is unobservable through Q).
    NotPositiveSemidefiniteError
        Q or R not symmetric (Q not PSD).

    Notes
    -----
    SciPy's ``solve_discrete_are`` (QZ on the extended symplectic pencil) gives X; the
    residual is then checked, and when it is above 1e-12 relative, up to three Newton
    steps ``X <- Lyap(A_K', Q - S K - K'S' + K'RK)`` with ``K = (R + B'XB)^{-1}(B'XA + S')``
    polish it (Hewer 1971): quadratically convergent from a stabilizing start. A relative
    residual above 1e-8 afterwards, or an unstable closed loop, raises.

    For the Kalman filter of x[t+1] = A x[t] + w, y = C x + v use the dual
    ``dare(A', C', Q, R, S)`` (see :func:`kalman_gain`).

    References
    ----------
    .. [1] G. A. Hewer, "An iterative technique for the computation of the steady state
       gains for the discrete optimal regulator", IEEE TAC 16(4), 1971.

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
    asym = float(np.max(np.abs(R - R.T))) if R.size else 0.0
    if asym > 1e-8 * _max_abs(R):
        raise InvalidValueError(f"R: expected a symmetric matrix, got max |R - R'| = {asym:.3g}")
    R = 0.5 * (R + R.T)
    S = np.zeros((n, m)) if S is None else as_matrix(S, "S", n, m)
    # The equation is homogeneous in (X, Q, R, S); SciPy's solver judges the pencil with
    # absolute thresholds, so weights of size 1e-24 fail. Solve with the weights scaled by
    # a power of two (exact) to size ~1 and scale X back.
    weight = max(_max_abs(Q), _max_abs(R), _max_abs(S))
    alpha = 2.0 ** np.round(np.log2(weight)) if weight > 0 else 1.0
    try:
        X = alpha * sla.solve_discrete_are(A, B, Q / alpha, R / alpha, s=S / alpha)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise NotStabilizableError(
            f"dare: expected a Riccati equation with a stabilizing solution, got none ({exc})"
        ) from None
    X = 0.5 * (X + X.T)
    # residuals relative to the equation's own scale (never to an absolute 1)
    scale = max(np.linalg.norm(X, 1), np.linalg.norm(Q, 1), alpha * np.finfo(float).tiny)
    try:
        err = np.linalg.norm(dare_residual(A, B, Q, R, S, X), 1) / scale
        for _ in range(3):
            if not (err > _POLISH_RTOL):
                break
            Xn = _newton(A, B, Q, R, S, X)
            errn = np.linalg.norm(dare_residual(A, B, Q, R, S, Xn), 1) / scale
            if not errn < err:
                break
            X, err = Xn, errn
    except np.linalg.LinAlgError:
        err = np.inf
    if not np.all(np.isfinite(X)) or not err <= _ACCEPT_RTOL:
        raise NotStabilizableError(
            "dare: expected a Riccati equation with a stabilizing solution, got a solution "
            f"with relative residual {err:.3g}"
        )
    F = np.linalg.solve(R + B.T @ X @ B, B.T @ X @ A + S.T)
    rho = float(max(abs(np.linalg.eigvals(A - B @ F)))) if n else 0.0
    if rho >= 1.0 - 1e-10:
        raise NotStabilizableError(
            f"dare: expected a stabilizing solution, got closed-loop spectral radius {rho:.6g}"
        )
    return X


def kalman_gain(A, C, Q, R, S=None):
    """Steady-state Kalman predictor: state covariance, gain and innovation covariance.

    For x[t+1] = A x[t] + w[t], y[t] = C x[t] + v[t] with cov([w; v]) = [[Q, S], [S', R]],
    the predicted-state covariance P solves
    ``P = A P A' + Q - (A P C' + S) (C P C' + R)^{-1} (A P C' + S)'``; the predictor
    gain is ``K = (A P C' + S) Lambda^{-1}`` with ``Lambda = C P C' + R``, and
    ``A - K C`` is stable.

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
        If the filter Riccati equation has no stabilizing solution ((A, C) not
        detectable, or a unit-circle mode not excited by the noise).

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
    R = as_square(R, "R", p)
    S = np.zeros((n, p)) if S is None else as_matrix(S, "S", n, p)
    P = dare(A.T, C.T, Q, R, S)
    Lam = C @ P @ C.T + 0.5 * (R + R.T)
    Lam = 0.5 * (Lam + Lam.T)
    K = np.linalg.solve(Lam, (A @ P @ C.T + S).T).T
    return P, K, Lam
