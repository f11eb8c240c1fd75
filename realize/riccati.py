"""Algebraic Riccati equations (discrete and continuous time) and Lyapunov equations.

Checked wrappers around SciPy's solvers (generalized Schur / QZ method for the Riccati
equations, Bartels-Stewart after a bilinear transform or Kronecker form for Lyapunov):
every solution's residual is verified; a Riccati solution whose residual is not at
rounding level is polished by Newton's method (Hewer 1971 in discrete time, Kleinman
1968 in continuous time), and an equation without a stabilizing solution raises
:class:`~realize.errors.NotStabilizableError` instead of returning a useless matrix.

The control forms solved by :func:`dare` and :func:`care` take any symmetric weight Q
(python-control's convention); the covariance form :func:`kalman_gain` requires the
noise covariances to be positive semidefinite.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from realize._checks import as_matrix, as_square, check_psd
from realize._linalg import symmetrize
from realize.errors import InvalidValueError, NotStabilizableError, NotStableError

__all__ = ["care", "care_residual", "dare", "dare_residual", "dlyap", "kalman_gain", "lyap"]

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

    See Also
    --------
    lyap : the continuous-time equation.
    dare : the Riccati equation, whose Newton steps solve Lyapunov equations.
    realize.gramians : the Gramians of a model, two Lyapunov equations.

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
    Qs = symmetrize(Q)
    X = sla.solve_discrete_lyapunov(A, Qs)
    X = symmetrize(X)

    def resid(X):
        return A @ X @ A.T - X + Qs

    scale = max(np.linalg.norm(X, 1) + np.linalg.norm(Qs, 1), np.finfo(float).tiny)
    E = resid(X)
    if np.linalg.norm(E, 1) > _POLISH_RTOL * scale:
        dX = sla.solve_discrete_lyapunov(A, E)
        X2 = X + symmetrize(dX)
        if np.linalg.norm(resid(X2), 1) < np.linalg.norm(E, 1):
            X, E = X2, resid(X2)
    if not np.all(np.isfinite(X)) or np.linalg.norm(E, 1) > _ACCEPT_RTOL * scale:
        raise InvalidValueError(
            f"A: the Lyapunov equation is too ill-conditioned to solve (spectral radius "
            f"{rho:.15g}); relative residual {np.linalg.norm(E, 1) / scale:.3g}"
        )
    return X


def _symmetric(M: np.ndarray, name: str) -> np.ndarray:
    """M symmetrized, or InvalidValueError when it is not symmetric relative to its scale."""
    asym = _max_abs(M - M.T)
    if asym > 1e-8 * _max_abs(M):
        raise InvalidValueError(
            f"{name}: expected a symmetric matrix, got max |{name} - {name}'| = {asym:.3g}"
        )
    return symmetrize(M)


def _riccati_args(A, B, Q, R, S, E):
    """Validated float arrays (A, B, Q, R, S, E); E is None for the standard equation."""
    A = as_square(A, "A")
    n = A.shape[0]
    B = as_matrix(B, "B", rows=n)
    m = B.shape[1]
    Q = _symmetric(as_square(Q, "Q", n), "Q")
    R = _symmetric(as_square(R, "R", m), "R")
    S = np.zeros((n, m)) if S is None else as_matrix(S, "S", n, m)
    if E is not None:
        E = as_square(E, "E", n)
        cond = float(np.linalg.cond(E)) if n else 1.0
        if not cond < 1.0 / (n * np.finfo(float).eps):
            raise InvalidValueError(
                f"E: expected a nonsingular matrix, got one with condition number {cond:.3g}"
            )
    return A, B, Q, R, S, E


def lyap(A, Q) -> np.ndarray:
    """Solve the continuous Lyapunov equation ``A X + X A' + Q = 0``.

    Parameters
    ----------
    A : (n, n) array
        Hurwitz matrix (every eigenvalue in the open left half-plane).
    Q : (n, n) array
        Symmetric right-hand side.

    Returns
    -------
    X : (n, n) array
        The symmetric solution, ``X = int_0^inf e^(A t) Q e^(A' t) dt``.

    Raises
    ------
    NotStableError
        If A has an eigenvalue with a nonnegative real part.
    InvalidValueError
        If the computed solution does not satisfy the equation.

    See Also
    --------
    dlyap : the discrete-time equation.
    care : the continuous-time Riccati equation.

    Notes
    -----
    SciPy's ``solve_continuous_lyapunov`` (Bartels-Stewart), with the checks of
    :func:`dlyap`: the relative residual ``|A X + X A' + Q|_1 / (2 |A|_1 |X|_1 + |Q|_1)``
    is refined once above 1e-12 and must end below 1e-8. python-control's ``lyap(A, Q)``
    solves the same equation.

    Examples
    --------
    >>> import realize.riccati
    >>> float(realize.riccati.lyap([[-2.0]], [[4.0]])[0, 0])
    1.0
    """
    A = as_square(A, "A")
    Q = as_square(Q, "Q", A.shape[0])
    if A.size == 0:
        return np.zeros((0, 0))
    alpha = float(np.max(np.linalg.eigvals(A).real))
    if alpha >= 0.0:
        raise NotStableError(
            "A: expected a stable (Hurwitz) matrix, eigenvalues with negative real parts, got "
            f"spectral abscissa {alpha:.6g}"
        )
    Qs = symmetrize(Q)
    X = sla.solve_continuous_lyapunov(A, -Qs)
    X = symmetrize(X)

    def resid(X):
        return A @ X + X @ A.T + Qs

    scale = max(
        2.0 * np.linalg.norm(A, 1) * np.linalg.norm(X, 1) + np.linalg.norm(Qs, 1),
        np.finfo(float).tiny,
    )
    E = resid(X)
    if np.linalg.norm(E, 1) > _POLISH_RTOL * scale:
        dX = sla.solve_continuous_lyapunov(A, -E)
        X2 = X + symmetrize(dX)
        if np.linalg.norm(resid(X2), 1) < np.linalg.norm(E, 1):
            X, E = X2, resid(X2)
    if not np.all(np.isfinite(X)) or np.linalg.norm(E, 1) > _ACCEPT_RTOL * scale:
        raise InvalidValueError(
            f"A: the Lyapunov equation is too ill-conditioned to solve (spectral abscissa "
            f"{alpha:.6g}); relative residual {np.linalg.norm(E, 1) / scale:.3g}"
        )
    return X


def dare_residual(A, B, Q, R, S, X, E=None) -> np.ndarray:
    """Residual ``A'XA - E'XE - (A'XB + S)(R + B'XB)^{-1}(B'XA + S') + Q`` of the DARE.

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
    E : (n, n) array, optional
        Descriptor matrix of the generalized equation (default the identity).

    Returns
    -------
    residual : (n, n) array
        Zero (to rounding) when X solves the equation.

    See Also
    --------
    dare, care_residual

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
    EXE = X if E is None else E.T @ X @ E
    return A.T @ X @ A - (A.T @ X @ B + S) @ F + Q - EXE


def care_residual(A, B, Q, R, S, X, E=None) -> np.ndarray:
    """Residual ``A'XE + E'XA - (E'XB + S) R^{-1} (B'XE + S') + Q`` of the CARE.

    No input checks: the arguments must already be float arrays of matching shapes.

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array
    Q : (n, n) array
    R : (m, m) array, nonsingular
    S : (n, m) array
        Cross weight (zeros if there is none).
    X : (n, n) array
        Candidate solution.
    E : (n, n) array, optional
        Descriptor matrix of the generalized equation (default the identity).

    Returns
    -------
    residual : (n, n) array
        Zero (to rounding) when X solves the equation.

    See Also
    --------
    care, dare_residual

    Examples
    --------
    >>> import numpy as np
    >>> from realize.riccati import care, care_residual
    >>> A, B, Q, R, S = -np.eye(1), np.eye(1), np.eye(1), np.eye(1), np.zeros((1, 1))
    >>> X = care(A, B, Q, R)
    >>> bool(np.abs(care_residual(A, B, Q, R, S, X)).max() < 1e-12)
    True
    """
    XE = X if E is None else X @ E
    F = np.linalg.solve(R, B.T @ XE + S.T)
    return A.T @ XE + XE.T @ A - (XE.T @ B + S) @ F + Q


def _gain(kind: str, A, B, R, S, X, E):
    """The optimal feedback F (u = -F x) of the solution X."""
    if kind == "discrete":
        return np.linalg.solve(R + B.T @ X @ B, B.T @ X @ A + S.T)
    XE = X if E is None else X @ E
    return np.linalg.solve(R, B.T @ XE + S.T)


def _newton(kind: str, A, B, Q, R, S, X, E):
    """One Newton step (Hewer 1971 in discrete time, Kleinman 1968 in continuous time).

    With the gain F of X, the new X solves the Lyapunov equation of the closed loop
    ``A - B F`` with weight ``Q - S F - F'S' + F'RF``. A descriptor E is removed first:
    with ``Y = E'XE``, ``A~ = E^-1 A``, ``B~ = E^-1 B`` the generalized equation is the
    standard one in Y (both in discrete and in continuous time).
    """
    if E is not None:
        A, B = np.linalg.solve(E, A), np.linalg.solve(E, B)
        X = E.T @ X @ E
    F = _gain(kind, A, B, R, S, X, None)
    Ac = A - B @ F
    Qk = Q - S @ F - F.T @ S.T + F.T @ R @ F
    Qk = symmetrize(Qk)
    if kind == "discrete":
        Xn = sla.solve_discrete_lyapunov(Ac.T, Qk)
    else:
        Xn = sla.solve_continuous_lyapunov(Ac.T, -Qk)
    Xn = symmetrize(Xn)
    if E is not None:
        Ei = np.linalg.inv(E)
        Xn = Ei.T @ Xn @ Ei
        Xn = symmetrize(Xn)
    return Xn


def _riccati(kind: str, A, B, Q, R, S, E) -> np.ndarray:
    """The checked, polished stabilizing solution of the DARE or CARE (see :func:`dare`)."""
    name = "dare" if kind == "discrete" else "care"
    A, B, Q, R, S, E = _riccati_args(A, B, Q, R, S, E)
    n = A.shape[0]
    if kind == "continuous":
        cond = float(np.linalg.cond(R)) if R.size else 1.0
        if not cond < 1.0 / (max(R.shape[0], 1) * np.finfo(float).eps):
            raise InvalidValueError(
                f"R: expected a nonsingular matrix (the CARE needs R^-1), got one with "
                f"condition number {cond:.3g}"
            )
    # The equation is homogeneous in (X, Q, R, S); SciPy's solver judges the pencil with
    # absolute thresholds, so weights of size 1e-24 fail. Solve with the weights scaled by
    # a power of two (exact) to size ~1 and scale X back.
    weight = max(_max_abs(Q), _max_abs(R), _max_abs(S))
    alpha = 2.0 ** np.round(np.log2(weight)) if weight > 0 else 1.0
    solver = sla.solve_discrete_are if kind == "discrete" else sla.solve_continuous_are
    try:
        X = alpha * solver(A, B, Q / alpha, R / alpha, e=E, s=S / alpha)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise NotStabilizableError(
            f"{name}: expected a Riccati equation with a stabilizing solution, got none ({exc})"
        ) from None
    X = symmetrize(X)
    residual = dare_residual if kind == "discrete" else care_residual

    # residuals relative to the size of the equation's terms (never to an absolute 1)
    def relative_residual(X):
        XE = X if E is None else X @ E
        if kind == "discrete":
            big = np.linalg.norm(XE if E is None else E.T @ XE, 1)
        else:
            big = 2.0 * np.linalg.norm(A.T @ XE, 1)
        scale = max(big, np.linalg.norm(Q, 1), alpha * np.finfo(float).tiny)
        return np.linalg.norm(residual(A, B, Q, R, S, X, E), 1) / scale

    try:
        err = relative_residual(X)
        for _ in range(3):
            if not (err > _POLISH_RTOL):
                break
            Xn = _newton(kind, A, B, Q, R, S, X, E)
            errn = relative_residual(Xn)
            if not errn < err:
                break
            X, err = Xn, errn
    except (np.linalg.LinAlgError, ValueError):
        err = np.inf
    if not np.all(np.isfinite(X)) or not err <= _ACCEPT_RTOL:
        raise NotStabilizableError(
            f"{name}: expected a Riccati equation with a stabilizing solution, got a solution "
            f"with relative residual {err:.3g}"
        )
    if n:
        Acl = A - B @ _gain(kind, A, B, R, S, X, E)
        poles = sla.eigvals(Acl) if E is None else sla.eigvals(Acl, E)
        if kind == "discrete":
            rho = float(np.max(np.abs(poles)))
            if not rho < 1.0 - 1e-10:
                raise NotStabilizableError(
                    f"dare: expected a stabilizing solution, got closed-loop spectral radius "
                    f"{rho:.6g}"
                )
        else:
            # relative to the closed loop's own scale: a time rescaling changes nothing
            size = float(np.max(np.abs(poles)))
            alpha_cl = float(np.max(poles.real))
            if not alpha_cl < -1e-10 * size:
                raise NotStabilizableError(
                    f"care: expected a stabilizing solution, got closed-loop spectral abscissa "
                    f"{alpha_cl:.6g} (a pole in the closed right half-plane)"
                )
    return X


def dare(A, B, Q, R, S=None, E=None) -> np.ndarray:
    """Stabilizing solution of the discrete algebraic Riccati equation (control form).

    ``E'XE = A'XA - (A'XB + S)(R + B'XB)^{-1}(B'XA + S') + Q``, with the closed loop
    ``A - B F``, ``F = (R + B'XB)^{-1} (B'XA + S')``, stable (eigenvalues of the pencil
    ``(A - B F, E)`` inside the unit circle). Without E (the usual case) ``E = I``.

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array
    Q : (n, n) array, symmetric (indefinite allowed)
    R : (m, m) array, symmetric (R + B'XB must be nonsingular)
    S : (n, m) array, optional
        Cross term (default zero).
    E : (n, n) array, optional
        Nonsingular descriptor matrix of the generalized equation (default the identity).

    Returns
    -------
    X : (n, n) array
        Symmetric; positive semidefinite when ``[[Q, S], [S', R]]`` is, but an indefinite
        weight (as in python-control's tests) may give an indefinite X.

    Raises
    ------
    NotStabilizableError
        If no stabilizing solution exists (e.g. (A, B) not stabilizable or a unit-circle
        mode that is unobservable through Q).
    InvalidValueError
        Q or R not symmetric, E singular.
    ShapeError
        Matrices of mismatched sizes.

    See Also
    --------
    care : the continuous-time equation.
    kalman_gain : the filter (dual) form with covariance checks.
    dare_residual : the residual that is checked.

    Notes
    -----
    SciPy's ``solve_discrete_are`` (QZ on the extended symplectic pencil) gives X; the
    residual is then checked, and when it is above 1e-12 relative, up to three Newton
    steps ``X <- Lyap(A_F', Q - S F - F'S' + F'RF)`` polish it (Hewer 1971):
    quadratically convergent from a stabilizing start. A relative residual above 1e-8
    afterwards, or an unstable closed loop, raises. Q need not be positive semidefinite:
    the stabilizing solution is defined by the closed loop, not by the sign of the weight
    (python-control's ``dare`` tests solve ``Q = [[2, 1], [1, 0]]``).

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
    return _riccati("discrete", A, B, Q, R, S, E)


def care(A, B, Q, R, S=None, E=None) -> np.ndarray:
    """Stabilizing solution of the continuous algebraic Riccati equation (control form).

    ``A'XE + E'XA - (E'XB + S) R^{-1} (B'XE + S') + Q = 0``, with the closed loop
    ``A - B F``, ``F = R^{-1} (B'XE + S')``, stable (eigenvalues of the pencil
    ``(A - B F, E)`` in the open left half-plane). Without E (the usual case) ``E = I``.

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array
    Q : (n, n) array, symmetric (indefinite allowed)
    R : (m, m) array, symmetric and nonsingular
    S : (n, m) array, optional
        Cross term (default zero).
    E : (n, n) array, optional
        Nonsingular descriptor matrix of the generalized equation (default the identity).

    Returns
    -------
    X : (n, n) array
        Symmetric.

    Raises
    ------
    NotStabilizableError
        If no stabilizing solution exists ((A, B) not stabilizable, or an imaginary-axis
        mode unobservable through Q).
    InvalidValueError
        Q or R not symmetric, R or E singular.
    ShapeError
        Matrices of mismatched sizes.

    See Also
    --------
    dare : the discrete-time equation.
    care_residual : the residual that is checked.

    Notes
    -----
    A checked wrapper of SciPy's ``solve_continuous_are`` (QZ on the Hamiltonian pencil),
    with the same checks as :func:`dare`: the weights are scaled by a power of two to
    size one, the relative residual is polished by up to three Newton (Kleinman 1968)
    steps ``A_F' X + X A_F + Q - S F - F'S' + F'RF = 0`` when it is above 1e-12 and must
    end below 1e-8, and the closed loop must be stable. It equals python-control's
    ``care`` (which returns ``X, eig(A - B F), F``).

    References
    ----------
    .. [1] D. L. Kleinman, "On an iterative technique for Riccati equation computations",
       IEEE TAC 13(1), 1968.

    Examples
    --------
    >>> import numpy as np, realize
    >>> X = realize.care([[0.0]], [[1.0]], [[1.0]], [[1.0]])  # an integrator: X = sqrt(Q R)
    >>> round(float(X[0, 0]), 12)
    1.0
    >>> X = realize.care([[-2.0, -1.0], [-1.0, -1.0]], [[1.0, 0.0], [0.0, 4.0]],
    ...                  [[0.0, 0.0], [0.0, 1.0]], np.eye(2))
    >>> np.round(X, 6).tolist()  # python-control's test_care case
    [[0.012435, -0.034432], [-0.034432, 0.203275]]
    """
    return _riccati("continuous", A, B, Q, R, S, E)


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
    NotPositiveSemidefiniteError
        Q not symmetric positive semidefinite (a covariance).

    See Also
    --------
    dare : the control form it solves, ``dare(A', C', Q, R, S)``.

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
    Q = check_psd(as_square(Q, "Q", n), "Q")
    R = as_square(R, "R", p)
    S = np.zeros((n, p)) if S is None else as_matrix(S, "S", n, p)
    P = dare(A.T, C.T, Q, R, S)
    Lam = C @ P @ C.T + symmetrize(R)
    Lam = symmetrize(Lam)
    K = np.linalg.solve(Lam, (A @ P @ C.T + S).T).T
    return P, K, Lam
