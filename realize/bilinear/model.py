"""Bilinear (input-dependent) state-space models: the model and its simulation.

The model (see :mod:`realize.bilinear`) has the input-dependent transition matrix
``A + sum_i u_i[t] N_i``. This module holds :class:`BilinearStateSpace`: simulation with
a compiled recursion (:func:`bilinear_recursion`) beside a plain NumPy loop
(:func:`bilinear_recursion_reference`), mean-square stability for white inputs, a state
bound for bounded inputs (:class:`BoundedInputBound`) and discretization.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from realize._checks import (
    as_float,
    as_matrix,
    as_square,
    as_timeseries,
    check_finite,
    check_psd,
    describe,
)
from realize._ext._bilinear import bilinear_recursion as _kernel
from realize._linalg import psd_factor, symmetrize
from realize.errors import InvalidValueError, NotStableError, ShapeError
from realize.model import StateSpace
from realize.riccati import dlyap

__all__ = [
    "BilinearStateSpace",
    "BoundedInputBound",
    "bilinear_recursion",
    "bilinear_recursion_reference",
]


# ------------------------------------------------------------------ recursions
def bilinear_recursion_reference(A, N, u, forcing, x0):
    """Plain NumPy loop with the signature and result of :func:`bilinear_recursion`.

    ``X[0] = x0``, ``X[t+1] = (A + sum_i u[t, i] N[i]) X[t] + forcing[t]``: the
    definition that the compiled kernel is tested against.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.bilinear import bilinear_recursion_reference
    >>> X = bilinear_recursion_reference(np.array([[0.5]]), np.array([[[0.1]]]),
    ...                                  np.ones((2, 1)), np.ones((2, 1)), np.ones(1))
    >>> np.round(X[:, 0], 12).tolist()  # x[t+1] = (0.5 + 0.1) x[t] + 1
    [1.0, 1.6, 1.96]
    """
    T, n = forcing.shape
    X = np.empty((T + 1, n))
    X[0] = x0
    for t in range(T):
        At = A + np.tensordot(u[t], N, axes=(0, 0))
        X[t + 1] = At @ X[t] + forcing[t]
    return X


def bilinear_recursion(A, N, u, forcing, x0):
    """Compiled twin of :func:`bilinear_recursion_reference` (``_ext/_bilinear.pyx``).

    ``X[0] = x0``, ``X[t+1] = (A + sum_i u[t, i] N[i]) X[t] + forcing[t]``. No input
    checks: the arrays must have the shapes below.

    Parameters
    ----------
    A : (n, n) array
    N : (m, n, n) array
    u : (T, m) array
    forcing : (T, n) array
    x0 : (n,) array

    Returns
    -------
    X : (T + 1, n) array

    Examples
    --------
    >>> import numpy as np
    >>> from realize.bilinear import bilinear_recursion, bilinear_recursion_reference
    >>> rng = np.random.default_rng(0)
    >>> args = (0.5 * np.eye(2), 0.1 * rng.standard_normal((1, 2, 2)),
    ...         rng.standard_normal((20, 1)), rng.standard_normal((20, 2)), np.zeros(2))
    >>> bool(np.allclose(bilinear_recursion(*args), bilinear_recursion_reference(*args)))
    True
    """
    T, n = forcing.shape
    X = np.empty((T + 1, n))
    _kernel(
        np.ascontiguousarray(A, dtype=float),
        np.ascontiguousarray(N, dtype=float),
        np.ascontiguousarray(u, dtype=float),
        np.ascontiguousarray(forcing, dtype=float),
        np.ascontiguousarray(x0, dtype=float),
        X,
    )
    return X


def _as_N(N, n: int, m: int | None = None) -> np.ndarray:
    arr = np.asarray(N, dtype=float) if N is not None else np.zeros((0, n, n))
    if arr.ndim == 2 and arr.shape == (n, n) and m in (None, 1):
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (n, n) or (m is not None and arr.shape[0] != m):
        want = f"({'m' if m is None else m}, {n}, {n})"
        raise ShapeError(
            f"N: expected a {want} array (one (n, n) matrix per input), got shape {arr.shape}"
        )
    check_finite(arr, "N")
    return np.ascontiguousarray(arr)


def _input_cov(input_cov, m: int) -> np.ndarray:
    if input_cov is None:
        return np.eye(m)
    S = np.asarray(input_cov, dtype=float)
    if S.ndim == 0:
        S = float(S) * np.eye(m)
    elif S.ndim == 1:
        if S.shape[0] != m:
            raise ShapeError(f"input_cov: expected {m} variances, got shape {S.shape}")
        S = np.diag(S)
    S = as_square(S, "input_cov", m)
    return check_psd(S, "input_cov")


# ------------------------------------------------------------------ the model
@dataclass(frozen=True)
class BoundedInputBound:
    """Guarantees for inputs with ``|u_i[t]| <= u_max_i`` (noise-free model).

    In the weighted norm ``||x||_X = sqrt(x' X x)``, X from ``A' X A - X = -I``:
    ``||x[t+1]||_X <= rate ||x[t]||_X + forcing``, hence, when ``rate < 1``,
    ``limsup ||x[t]||_X <= forcing / (1 - rate)``.

    Attributes
    ----------
    rate : float
        Contraction factor ``max_{|u_i| <= u_max_i} ||A + sum_i u_i N_i||_X``.
    forcing : float
        ``max_{|u_i| <= u_max_i} ||B u||_X``.
    state_bound : float
        Bound on ``limsup ||x[t]||_2`` (inf when ``rate >= 1``).
    output_bound : float
        Bound on ``limsup ||y[t]||_2`` (inf when ``rate >= 1``).
    admissible_scale : float
        The largest c such that inputs bounded by ``c * u_max`` still give ``rate < 1``
        in this norm (a sufficient condition: larger inputs may still be stable).
    X : (n, n) array
        The weight of the norm.

    Examples
    --------
    >>> import realize
    >>> sys = realize.BilinearStateSpace([[0.5]], [[[0.1]]], [[1.0]], [[1.0]])
    >>> bound = sys.bounded_input_bound(1.0)
    >>> round(bound.rate, 12), round(bound.state_bound, 12)  # |x| <= 1 / (1 - 0.6)
    (0.6, 2.5)
    """

    rate: float
    forcing: float
    state_bound: float
    output_bound: float
    admissible_scale: float
    X: np.ndarray = field(repr=False)


class BilinearStateSpace:
    """Bilinear state-space model, discrete time (or continuous time with ``dt=None``).

    ``x[t+1] = A x[t] + sum_i u_i[t] N_i x[t] + B u[t] + w[t]``,
    ``y[t] = C x[t] + D u[t] + v[t]``, ``cov([w; v]) = [[Q, S], [S', R]]``.
    In continuous time (``dt=None``): ``dx/dt = A x + sum_i u_i N_i x + B u``,
    ``y = C x + D u``.

    Parameters
    ----------
    A : (n, n) array_like
    N : (m, n, n) array_like
        One matrix per input; a (n, n) matrix is accepted when m = 1.
    B : (n, m) array_like, optional
        Default zeros.
    C : (p, n) array_like, optional
        Default identity (the state is the output).
    D : (p, m) array_like, optional
        Default zeros.
    dt : float or None, default 1.0
        Sampling period; None for continuous time.
    Q, R, S : arrays (n, n), (p, p), (n, p), optional
        Noise model (discrete time only); if any is given, the missing ones are zero.
    name : str, optional

    Raises
    ------
    ShapeError
        Wrong sizes, in particular N not of shape (m, n, n).
    NonFiniteError, NotPositiveSemidefiniteError, InvalidValueError

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.BilinearStateSpace([[0.5]], [[[0.3]]], [[1.0]], [[1.0]])
    >>> sys.simulate(np.array([[1.0], [1.0], [0.0]]), noise=False).ravel().tolist()
    [0.0, 1.0, 1.8]
    >>> sys.is_mean_square_stable(input_cov=1.0)  # rho(0.25 + 0.09) < 1
    True
    """

    def __init__(
        self,
        A,
        N,
        B=None,
        C=None,
        D=None,
        *,
        dt: float | None = 1.0,
        Q=None,
        R=None,
        S=None,
        name: str | None = None,
    ):
        A = as_square(A, "A")
        n = A.shape[0]
        if B is not None:
            B = as_matrix(B, "B", rows=n)
            m = B.shape[1]
            N = _as_N(N, n, m)
        else:
            N = _as_N(N, n)
            m = N.shape[0]
            B = np.zeros((n, m))
        C = np.eye(n) if C is None else as_matrix(C, "C", cols=n)
        p = C.shape[0]
        D = np.zeros((p, m)) if D is None else as_matrix(D, "D", rows=p, cols=m)
        if dt is not None:
            dt = as_float(dt, "dt", low=0.0, open_low=True)
        if Q is None and R is None and S is None:
            Q = R = S = None
        else:
            if dt is None:
                raise InvalidValueError("Q, R, S: a noise model needs a discrete-time model (dt)")
            Q = np.zeros((n, n)) if Q is None else check_psd(as_square(Q, "Q", n), "Q")
            R = np.zeros((p, p)) if R is None else check_psd(as_square(R, "R", p), "R")
            S = np.zeros((n, p)) if S is None else as_matrix(S, "S", n, p)
            if np.any(S):
                check_psd(np.block([[Q, S], [S.T, R]]), "[[Q, S], [S', R]]")
        self.A, self.N, self.B, self.C, self.D = A, N, B, C, D
        self.Q, self.R, self.S = Q, R, S
        self.dt = dt
        self.name = None if name is None else str(name)
        for arr in (A, N, B, C, D, Q, R, S):
            if arr is not None:
                arr.setflags(write=False)

    # ---- sizes and conversions
    n = property(lambda self: self.A.shape[0], doc="Number of states.")
    m = property(lambda self: self.B.shape[1], doc="Number of inputs.")
    p = property(lambda self: self.C.shape[0], doc="Number of outputs.")

    @property
    def is_continuous(self) -> bool:
        """Whether the model is in continuous time (dt is None)."""
        return self.dt is None

    @property
    def has_noise_model(self) -> bool:
        """Whether Q, R, S are set."""
        return self.Q is not None

    @classmethod
    def from_linear(cls, sys) -> BilinearStateSpace:
        """The bilinear model with N = 0 equal to a linear StateSpace (noise model kept)."""
        if not isinstance(sys, StateSpace):
            raise InvalidValueError(f"sys: expected a realize.StateSpace, got {describe(sys)}")
        noise = {}
        if sys.Q is not None or sys.K is not None:
            Q, R, S = sys._process_noise()
            noise = dict(Q=Q, R=R, S=S)
        return cls(
            sys.A,
            np.zeros((sys.m, sys.n, sys.n)),
            sys.B,
            sys.C,
            sys.D,
            dt=sys.dt,
            name=sys.name,
            **noise,
        )

    def linear_part(self):
        """The StateSpace (A, B, C, D) with the noise model, dropping N (discrete time)."""
        self._require_discrete("linear_part")
        return StateSpace(
            self.A, self.B, self.C, self.D, dt=self.dt, Q=self.Q, R=self.R, S=self.S, name=self.name
        )

    def replace(self, **changes) -> BilinearStateSpace:
        """A new, validated model with some fields changed."""
        fields = dict(
            A=self.A,
            N=self.N,
            B=self.B,
            C=self.C,
            D=self.D,
            dt=self.dt,
            Q=self.Q,
            R=self.R,
            S=self.S,
            name=self.name,
        )
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"replace: unknown field(s) {sorted(unknown)}")
        fields.update(changes)
        A, N = fields.pop("A"), fields.pop("N")
        return BilinearStateSpace(A, N, fields.pop("B"), fields.pop("C"), fields.pop("D"), **fields)

    def similarity(self, T) -> BilinearStateSpace:
        """The equivalent model in the coordinates x_new = T x.

        ``A -> T A T^-1``, ``N_i -> T N_i T^-1``, ``B -> T B``, ``C -> C T^-1``,
        ``Q -> T Q T'``, ``S -> T S``.
        """
        T = as_square(T, "T", self.n)
        try:
            Ti = np.linalg.inv(T)
        except np.linalg.LinAlgError:
            raise InvalidValueError(
                "T: expected an invertible matrix, got a singular one"
            ) from None
        noise = {}
        if self.Q is not None:
            noise = dict(Q=T @ self.Q @ T.T, S=T @ self.S)
        return self.replace(
            A=T @ self.A @ Ti,
            N=np.einsum("ij,kjl,lm->kim", T, self.N, Ti),
            B=T @ self.B,
            C=self.C @ Ti,
            **noise,
        )

    def _require_discrete(self, what: str):
        if self.dt is None:
            raise InvalidValueError(
                f"sys: {what} needs a discrete-time model, got a continuous-time one "
                "(dt=None); discretize it first with .discretize(dt)"
            )

    # ---- simulation
    def simulate(
        self,
        u,
        x0=None,
        noise=True,
        rng=None,
        return_states: bool = False,
        method: str = "compiled",
    ):
        """Simulate the model.

        Parameters
        ----------
        u : (T, m) array
            Inputs (1-D means one input).
        x0 : (n,) array, optional
            Initial state (default zero).
        noise : bool or tuple of arrays, default True
            True: draw w, v from the noise model (if any); False: no noise; a pair
            ``(w, v)`` of arrays (T, n) and (T, p): use these noise sequences.
        rng : numpy.random.Generator or int, optional
        return_states : bool, default False
            Also return the states x[0] .. x[T-1].
        method : {"compiled", "reference"}, default "compiled"
            The Cython recursion or the plain NumPy loop (same result to rounding).

        Returns
        -------
        y : (T, p) array
        x : (T, n) array, only with ``return_states=True``
        """
        self._require_discrete("simulate")
        u = (
            as_timeseries(u, "u", channels=self.m, min_length=0)
            if self.m
            else np.zeros((np.asarray(u).shape[0], 0))
        )
        T = u.shape[0]
        x0 = np.zeros(self.n) if x0 is None else as_matrix(x0, "x0", rows=self.n, cols=1).ravel()
        w = v = None
        if isinstance(noise, tuple):
            if len(noise) != 2:
                raise ShapeError(f"noise: expected a pair (w, v), got {len(noise)} items")
            w = as_matrix(noise[0], "noise[0] (w)", T, self.n)
            v = as_matrix(noise[1], "noise[1] (v)", T, self.p)
        elif noise and self.Q is not None:
            rng = np.random.default_rng(rng)
            cov = np.block([[self.Q, self.S], [self.S.T, self.R]])
            z = rng.standard_normal((T, self.n + self.p)) @ psd_factor(cov).T
            w, v = z[:, : self.n], z[:, self.n :]
        forcing = u @ self.B.T
        if w is not None:
            forcing = forcing + w
        if method == "compiled":
            X = bilinear_recursion(self.A, self.N, u, forcing, x0)
        elif method == "reference":
            X = bilinear_recursion_reference(self.A, self.N, u, forcing, x0)
        else:
            raise InvalidValueError(f"method: expected 'compiled' or 'reference', got {method!r}")
        if not np.all(np.isfinite(X)):
            raise NotStableError(
                "u: the simulated state overflowed (the input drives the bilinear model "
                "unstable); check is_mean_square_stable() or bounded_input_bound()"
            )
        y = X[:T] @ self.C.T + u @ self.D.T
        if v is not None:
            y = y + v
        return (y, X[:T]) if return_states else y

    # ---- stability
    def _second_moment_operator(self, input_cov=None, input_mean=None) -> np.ndarray:
        m = self.m
        Su = _input_cov(input_cov, m)
        mu = (
            np.zeros(m) if input_mean is None else as_matrix(input_mean, "input_mean", m, 1).ravel()
        )
        Abar = self.A + np.tensordot(mu, self.N, axes=(0, 0))
        if self.dt is None:
            # Ito: d vec(P)/dt = (A (+) A + sum_ij Su_ij N_i (x) N_j) vec(P)
            I = np.eye(self.n)
            op = np.kron(Abar, I) + np.kron(I, Abar)
        else:
            op = np.kron(Abar, Abar)
        for i in range(m):
            for j in range(m):
                if Su[i, j] != 0.0:
                    op = op + Su[i, j] * np.kron(self.N[i], self.N[j])
        return op

    def mean_square_radius(self, input_cov=None, input_mean=None) -> float:
        """Spectral radius (discrete) or abscissa (continuous) of the second-moment map.

        For white inputs with mean ``mu`` and covariance ``Sigma`` (independent of the
        state), ``E[x[t+1] x[t+1]']`` evolves by ``vec P -> M vec P`` with
        ``M = Ab (x) Ab + sum_ij Sigma_ij N_i (x) N_j``, ``Ab = A + sum_i mu_i N_i``.

        Parameters
        ----------
        input_cov : float, (m,) or (m, m) array, optional
            Input covariance (a scalar or variances mean a diagonal); default identity.
        input_mean : (m,) array, optional
            Input mean; default zero.

        Returns
        -------
        float
            ``max |eig(M)|`` in discrete time; in continuous time (Ito inputs) the largest
            real part of ``eig(Ab (+) Ab + sum_ij Sigma_ij N_i (x) N_j)``.
        """
        ev = np.linalg.eigvals(self._second_moment_operator(input_cov, input_mean))
        if self.dt is None:
            return float(np.max(ev.real)) if ev.size else -np.inf
        return float(np.max(np.abs(ev))) if ev.size else 0.0

    def is_mean_square_stable(self, input_cov=None, input_mean=None) -> bool:
        """Mean-square stability for white inputs (see :meth:`mean_square_radius`).

        Discrete time: radius below one. Continuous time: abscissa below zero.
        """
        r = self.mean_square_radius(input_cov, input_mean)
        return r < 0.0 if self.dt is None else r < 1.0

    def stationary_covariance(self, input_cov=None) -> np.ndarray:
        """Stationary state covariance for zero-mean white inputs (discrete time).

        ``P = A P A' + sum_ij Sigma_ij N_i P N_j' + B Sigma B' + Q``.

        Raises
        ------
        NotStableError
            If the model is not mean-square stable for these inputs.
        """
        self._require_discrete("stationary_covariance")
        Su = _input_cov(input_cov, self.m)
        op = self._second_moment_operator(Su)
        rho = float(np.max(np.abs(np.linalg.eigvals(op)))) if op.size else 0.0
        if rho >= 1.0:
            raise NotStableError(
                "sys: expected a mean-square stable model for these inputs, got second-moment "
                f"spectral radius {rho:.6g}"
            )
        rhs = self.B @ Su @ self.B.T + (self.Q if self.Q is not None else 0.0)
        n = self.n
        # row-major vec: vec(M P M') = (M (x) M) vec(P)
        P = np.linalg.solve(np.eye(n * n) - op, np.ravel(rhs)).reshape(n, n)
        return symmetrize(P)

    def bounded_input_bound(self, u_max) -> BoundedInputBound:
        """A state and output bound for bounded inputs ``|u_i[t]| <= u_max_i`` (no noise).

        Parameters
        ----------
        u_max : float or (m,) array
            Bound on each input's magnitude.

        Returns
        -------
        BoundedInputBound

        Raises
        ------
        NotStableError
            If A itself is unstable (no quadratic norm in which it contracts).

        Notes
        -----
        With X solving ``A' X A - X = -I`` (A is contractive in ``||.||_X``), the norm
        ``||A + sum_i u_i N_i||_X`` is convex in u, so its maximum over the box is
        attained at one of the 2^m vertices (for m > 12 the triangle inequality
        ``||A||_X + sum_i u_max_i ||N_i||_X`` is used). Then
        ``||x[t+1]||_X <= rate ||x[t]||_X + max_u ||B u||_X``.
        """
        self._require_discrete("bounded_input_bound")
        u_max = np.broadcast_to(np.asarray(u_max, dtype=float), (self.m,)).copy()
        check_finite(u_max, "u_max")
        if np.any(u_max < 0):
            raise InvalidValueError(f"u_max: expected non-negative bounds, got {u_max}")
        rho = max(abs(np.linalg.eigvals(self.A))) if self.n else 0.0
        if rho >= 1.0:
            raise NotStableError(
                f"sys: expected A stable (spectral radius < 1) for a bounded-input bound, got "
                f"{rho:.6g}"
            )
        X = dlyap(self.A.T, np.eye(self.n))
        L = np.linalg.cholesky(X)  # ||x||_X = ||L' x||

        def xnorm_op(M):
            return float(np.linalg.norm(sla.solve_triangular(L, (L.T @ M).T, lower=True).T, 2))

        def rate_at(scale):
            um = scale * u_max
            if self.m <= 12:
                best = 0.0
                for signs in itertools.product((-1.0, 1.0), repeat=self.m):
                    M = self.A + np.tensordot(np.asarray(signs) * um, self.N, axes=(0, 0))
                    best = max(best, xnorm_op(M))
                return best
            return xnorm_op(self.A) + float(sum(um[i] * xnorm_op(self.N[i]) for i in range(self.m)))

        rate = rate_at(1.0)
        if self.m <= 12 and self.m:
            forcing = max(
                float(np.linalg.norm(L.T @ (self.B @ (np.asarray(s) * u_max))))
                for s in itertools.product((-1.0, 1.0), repeat=self.m)
            )
        else:
            forcing = float(
                sum(u_max[i] * np.linalg.norm(L.T @ self.B[:, i]) for i in range(self.m))
            )
        lam_min = float(np.linalg.eigvalsh(X)[0])
        if rate < 1.0:
            xb = forcing / (1.0 - rate)
            state_bound = xb / np.sqrt(lam_min)
            CL = sla.solve_triangular(L, self.C.T, lower=True).T  # C L'^-1
            output_bound = float(np.linalg.norm(CL, 2)) * xb + float(
                np.linalg.norm(self.D, 2) * np.linalg.norm(u_max)
            )
        else:
            state_bound = output_bound = np.inf
        # bisection on the scale c with rate(c) < 1 (rate is non-decreasing in c)
        if not np.any(u_max > 0) or not np.any(self.N):
            adm = np.inf
        else:
            lo, hi = 0.0, 1.0
            while rate_at(hi) < 1.0 and hi < 1e12:
                lo, hi = hi, 2.0 * hi
            for _ in range(60):
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if rate_at(mid) < 1.0 else (lo, mid)
            adm = lo
        return BoundedInputBound(rate, forcing, float(state_bound), float(output_bound), adm, X)

    # ---- discretization
    def discretize(self, dt: float, method: str = "exponential") -> BilinearStateSpace:
        """Discretize a continuous-time model with sampling period dt (inputs held).

        Parameters
        ----------
        dt : float
        method : {"exponential", "euler"}
            ``"euler"``: ``A_d = I + dt A``, ``N_d = dt N``, ``B_d = dt B``.
            ``"exponential"``: ``A_d = expm(A dt)``,
            ``N_d,i = int_0^dt expm(A (dt - s)) N_i expm(A s) ds``,
            ``B_d = int_0^dt expm(A s) ds B``: exact to first order in u (the exact
            held-input map ``expm((A + sum u_i N_i) dt)`` is not bilinear in u), computed
            with Van Loan's block exponentials.
        """
        if self.dt is not None:
            raise InvalidValueError("sys: expected a continuous-time model (dt=None) to discretize")
        dt = as_float(dt, "dt", low=0.0, open_low=True)
        n, m = self.n, self.m
        if method == "euler":
            Ad, Nd, Bd = np.eye(n) + dt * self.A, dt * self.N, dt * self.B
        elif method == "exponential":
            M = np.zeros((n + m, n + m))
            M[:n, :n], M[:n, n:] = self.A, self.B
            E = sla.expm(M * dt)
            Ad, Bd = E[:n, :n], E[:n, n:]
            Nd = np.empty_like(self.N)
            for i in range(m):
                # expm([[A, N], [0, A]] dt) has the Frechet-type integral as its top-right block
                Z = np.zeros((2 * n, 2 * n))
                Z[:n, :n], Z[:n, n:], Z[n:, n:] = self.A, self.N[i], self.A
                Nd[i] = sla.expm(Z * dt)[:n, n:]
        else:
            raise InvalidValueError(f"method: expected 'exponential' or 'euler', got {method!r}")
        return BilinearStateSpace(Ad, Nd, Bd, self.C, self.D, dt=dt, name=self.name)

    # ---- files
    def _to_arrays(self):
        arrays = dict(A=self.A, N=self.N, B=self.B, C=self.C, D=self.D)
        if self.Q is not None:
            arrays.update(Q=self.Q, R=self.R, S=self.S)
        fields = {"dt": self.dt}
        if self.name is not None:
            fields["name"] = self.name
        return arrays, fields

    @classmethod
    def _from_arrays(cls, arrays, fields):
        return cls(
            arrays["A"],
            arrays["N"],
            arrays["B"],
            arrays["C"],
            arrays["D"],
            dt=fields.get("dt", 1.0),
            Q=arrays.get("Q"),
            R=arrays.get("R"),
            S=arrays.get("S"),
            name=fields.get("name"),
        )

    def __eq__(self, other) -> bool:
        if not isinstance(other, BilinearStateSpace):
            return NotImplemented
        same = [
            np.array_equal(getattr(self, k), getattr(other, k))
            if getattr(self, k) is not None and getattr(other, k) is not None
            else getattr(self, k) is getattr(other, k)
            for k in ("A", "N", "B", "C", "D", "Q", "R", "S")
        ]
        return all(same) and self.dt == other.dt and self.name == other.name

    __hash__ = None

    def __repr__(self) -> str:
        time = "continuous" if self.dt is None else f"dt={self.dt:g}"
        extra = ", noise model" if self.Q is not None else ""
        return f"BilinearStateSpace(n={self.n}, m={self.m}, p={self.p}, {time}{extra})"
