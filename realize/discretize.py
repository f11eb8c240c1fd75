"""Sampling continuous-time models and back, carrying the noise covariances.

For dx = (A x + B u) dt + dw with E[dw dw'] = Qc dt, sampled every dt with the
input held constant (zero-order hold), the exact discrete model is

    Ad = e^{A dt},  Bd = int_0^dt e^{A s} ds B,  Qd = int_0^dt e^{A s} Qc e^{A' s} ds,

computed with one matrix exponential each (Van Loan, 1978, "Computing integrals
involving the matrix exponential", IEEE TAC 23(3)). Measurement noise is taken as
sampled at the sampling instants, so R (and C, D) are unchanged.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg as sla

from realize._checks import as_matrix, as_square, check_psd
from realize._linalg import symmetrize
from realize.errors import InvalidValueError
from realize.model import StateSpace

__all__ = ["c2d", "d2c", "ContinuousStateSpace"]


class ContinuousStateSpace(NamedTuple):
    """Matrices of a continuous-time model dx = (A x + B u) dt + dw, y = C x + D u + v.

    Returned by :func:`d2c`; a named tuple, so ``A, B, C, D, Qc, R = d2c(sys)`` works.

    Attributes
    ----------
    A : (n, n) array
        State matrix.
    B : (n, m) array
        Input matrix.
    C : (p, n) array
        Output matrix.
    D : (p, m) array
        Feedthrough.
    Qc : (n, n) array or None
        Intensity of the process-noise Wiener process w (``E[dw dw'] = Qc dt``); None
        without a noise model.
    R : (p, p) array or None
        Covariance of the sampled measurement noise v; None without a noise model.

    Examples
    --------
    >>> import realize
    >>> ct = realize.d2c(realize.c2d([[-1.0]], [[1.0]], [[1.0]], dt=0.1))
    >>> round(float(ct.A[0, 0]), 12), ct.Qc is None
    (-1.0, True)
    """

    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    D: np.ndarray
    Qc: np.ndarray | None
    R: np.ndarray | None


def _van_loan_q(A, Qc, dt):
    n = A.shape[0]
    M = np.zeros((2 * n, 2 * n))
    M[:n, :n] = -A
    M[:n, n:] = Qc
    M[n:, n:] = A.T
    F = sla.expm(M * dt)
    Ad = F[n:, n:].T
    Qd = Ad @ F[:n, n:]
    return Ad, symmetrize(Qd)


def c2d(
    A, B=None, C=None, D=None, dt: float = 1.0, *, Qc=None, R=None, method: str = "zoh", **labels
):
    """Sample a continuous-time model, with its process-noise intensity.

    Parameters
    ----------
    A : (n, n) array
    B : (n, m) array, optional
    C : (p, n) array, optional (default identity)
    D : (p, m) array, optional
    dt : float
        Sampling period.
    Qc : (n, n) array, optional
        Intensity of the continuous process noise (E[dw dw'] = Qc dt); sampled exactly
        by Van Loan's method whatever ``method`` is.
    R : (p, p) array, optional
        Covariance of the measurement noise at the sampling instants.
    method : {'zoh', 'foh', 'bilinear', 'euler', 'backward_diff'}
        How the deterministic part is sampled ('zoh' is exact for piecewise-constant
        inputs; the others go through ``scipy.signal.cont2discrete``).
    **labels
        Names and units passed to the StateSpace.

    Returns
    -------
    StateSpace

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.c2d([[-1.0]], [[1.0]], [[1.0]], dt=0.1, Qc=[[2.0]])
    >>> bool(np.isclose(sys.A[0, 0], np.exp(-0.1)))
    True
    >>> bool(np.isclose(sys.Q[0, 0], 1 - np.exp(-0.2)))  # 2 * (1 - e^{-2 dt}) / 2
    True
    """
    A = as_square(A, "A")
    n = A.shape[0]
    B = np.zeros((n, 0)) if B is None else as_matrix(B, "B", rows=n)
    C = np.eye(n) if C is None else as_matrix(C, "C", cols=n)
    D = (
        np.zeros((C.shape[0], B.shape[1]))
        if D is None
        else as_matrix(D, "D", C.shape[0], B.shape[1])
    )
    dt = float(dt)
    if not np.isfinite(dt) or dt <= 0:
        raise InvalidValueError(f"dt: expected a positive sampling period, got {dt}")
    if method == "zoh":
        m = B.shape[1]
        M = np.zeros((n + m, n + m))
        M[:n, :n], M[:n, n:] = A, B
        F = sla.expm(M * dt)
        Ad, Bd, Cd, Dd = F[:n, :n], F[:n, n:], C, D
    elif method in ("foh", "bilinear", "tustin", "euler", "backward_diff"):
        import scipy.signal

        Ad, Bd, Cd, Dd, _ = scipy.signal.cont2discrete(
            (A, B, C, D), dt, method="bilinear" if method == "tustin" else method
        )
    else:
        raise InvalidValueError(
            f"method: expected 'zoh', 'foh', 'bilinear', 'euler' or 'backward_diff', got {method!r}"
        )
    noise = {}
    if Qc is not None or R is not None:
        Qc = np.zeros((n, n)) if Qc is None else check_psd(as_square(Qc, "Qc", n), "Qc")
        noise["Q"] = _van_loan_q(A, Qc, dt)[1]
        noise["R"] = None if R is None else as_square(R, "R", C.shape[0])
    return StateSpace(Ad, Bd, Cd, Dd, dt=dt, **noise, **labels)


def d2c(sys, method: str = "zoh") -> ContinuousStateSpace:
    """The continuous-time model whose zero-order-hold sampling is ``sys``.

    Inverts :func:`c2d` (method 'zoh'): A = log(Ad)/dt by the principal matrix
    logarithm, B from the logarithm of [[Ad, Bd], [0, I]], and Qc from the linear
    equation Qd = int_0^dt e^{A s} Qc e^{A' s} ds (solved in vectorized form).

    Parameters
    ----------
    sys : StateSpace
        Discrete-time model with sampling period ``sys.dt``; its Q and R (if any) are
        carried over, and S must be zero.
    method : {'zoh'}
        Sampling method to invert (only zero-order hold).

    Returns
    -------
    ContinuousStateSpace
        ``(A, B, C, D, Qc, R)``: A (n, n), B (n, m), C (p, n), D (p, m), Qc (n, n) or
        None, R (p, p) or None.

    Raises
    ------
    InvalidValueError
        If A has eigenvalues on the closed negative real axis (no real logarithm), or
        the model has a cross covariance S (not representable here), or an unknown
        ``method``.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.c2d([[-1.0]], [[1.0]], [[1.0]], dt=0.1, Qc=[[2.0]])
    >>> bool(np.allclose(realize.d2c(sys).Qc, 2.0))
    True
    """
    if method != "zoh":
        raise InvalidValueError(f"method: expected 'zoh', got {method!r}")
    n, m, dt = sys.n, sys.m, sys.dt
    ev = np.linalg.eigvals(sys.A)
    if np.any((np.abs(ev.imag) < 1e-12) & (ev.real <= 0)):
        raise InvalidValueError(
            "sys: expected A without eigenvalues on the closed negative real axis (a real "
            "matrix logarithm must exist), got "
            + str(np.round(ev[(np.abs(ev.imag) < 1e-12) & (ev.real <= 0)].real, 6))
        )
    M = np.zeros((n + m, n + m))
    M[:n, :n], M[:n, n:], M[n:, n:] = sys.A, sys.B, np.eye(m)
    L = np.real(sla.logm(M)) / dt
    Ac, Bc = L[:n, :n], L[:n, n:]
    Qc = R = None
    if sys.Q is not None:
        if sys.S is not None and np.any(sys.S):
            raise InvalidValueError("sys: expected no cross covariance S for d2c, got a nonzero S")
        # vec(Qd) = G vec(Qc), G = int_0^dt e^{(A (+) A) s} ds, A (+) A the Kronecker sum
        Ks = np.kron(np.eye(n), Ac) + np.kron(Ac, np.eye(n))
        N = np.zeros((2 * n * n, 2 * n * n))
        N[: n * n, : n * n] = Ks
        N[: n * n, n * n :] = np.eye(n * n)
        G = sla.expm(N * dt)[: n * n, n * n :]
        Qc = np.linalg.solve(G, sys.Q.reshape(-1, order="F")).reshape(n, n, order="F")
        Qc = symmetrize(Qc)
        R = sys.R.copy()
    return ContinuousStateSpace(Ac, Bc, sys.C.copy(), sys.D.copy(), Qc, R)
