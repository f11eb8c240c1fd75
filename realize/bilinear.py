"""Bilinear (input-dependent) state-space models.

A discrete-time bilinear state-space model is

    x[t+1] = A x[t] + sum_i u_i[t] N_i x[t] + B u[t] + w[t]
    y[t]   = C x[t] + D u[t] + v[t]

so the input modulates the dynamics: the transition matrix at time t is
``A + sum_i u_i[t] N_i``. It is the simplest input-dependent ("selective") state-space
model, and the linear model is the case N = 0.

This module holds the model (:class:`BilinearStateSpace`: simulation with a compiled
recursion beside a plain NumPy loop, mean-square stability for white inputs, a
state bound for bounded inputs), identification from input-output data
(:func:`identify_bilinear`: a white-input subspace step with past products of inputs
and states, followed by prediction-error refinement), and the Carleman bilinearization
of polynomial input-affine systems (:func:`carleman`).
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from realize._checks import as_matrix, as_square, as_timeseries, check_finite, check_psd, describe
from realize.errors import (
    DataError,
    InvalidValueError,
    NotStableError,
    OrderError,
    RealizeWarning,
    ShapeError,
)

__all__ = [
    "BilinearStateSpace",
    "BoundedInputBound",
    "BilinearIdentificationResult",
    "identify_bilinear",
    "carleman",
    "carleman_lift",
    "bilinear_recursion",
    "bilinear_recursion_reference",
]


# ------------------------------------------------------------------ recursions
def bilinear_recursion_reference(A, N, u, forcing, x0):
    """Plain NumPy loop: X[0] = x0, X[t+1] = (A + sum_i u[t,i] N[i]) X[t] + forcing[t].

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
    from realize._ext._bilinear import bilinear_recursion as _kernel

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


def _psd_factor(M: np.ndarray) -> np.ndarray:
    w, V = np.linalg.eigh(0.5 * (M + M.T))
    return V * np.sqrt(np.clip(w, 0.0, None))


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
            try:
                dt = float(dt)
            except (TypeError, ValueError):
                raise InvalidValueError(
                    f"dt: expected a positive number or None, got {describe(dt)}"
                ) from None
            if not np.isfinite(dt) or dt <= 0:
                raise InvalidValueError(
                    f"dt: expected a positive sampling period or None, got {dt}"
                )
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
    @property
    def n(self) -> int:
        """Number of states."""
        return self.A.shape[0]

    @property
    def m(self) -> int:
        """Number of inputs."""
        return self.B.shape[1]

    @property
    def p(self) -> int:
        """Number of outputs."""
        return self.C.shape[0]

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
        from realize.model import StateSpace

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
        from realize.model import StateSpace

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
            z = rng.standard_normal((T, self.n + self.p)) @ _psd_factor(cov).T
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
        return 0.5 * (P + P.T)

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
        from realize.riccati import dlyap

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
        try:
            dt = float(dt)
        except (TypeError, ValueError):
            raise InvalidValueError(f"dt: expected a positive number, got {describe(dt)}") from None
        if not np.isfinite(dt) or dt <= 0:
            raise InvalidValueError(f"dt: expected a positive sampling period, got {dt}")
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


# ------------------------------------------------------------------ identification
@dataclass
class BilinearIdentificationResult:
    """Result of :func:`identify_bilinear`.

    Attributes
    ----------
    model : BilinearStateSpace
        The identified model; its noise model is that of the bilinear innovation form
        (``Q = K Lambda K'``, ``R = Lambda``, ``S = K Lambda``).
    K : (n, p) array
        Predictor gain of ``x[t+1] = (A + sum u_i N_i) x + B u + K e``.
    Lambda : (p, p) array
        Covariance of the prediction errors e.
    x0 : (n,) array
        Estimated initial state of the predictor.
    initial_model : BilinearStateSpace
        The subspace estimate before refinement.
    linear_model : StateSpace
        The linear model (A, B, C, D, K, Lambda) from the same subspace step.
    order : int
    singular_values : array
        Of the oblique projection (order selection).
    cost : float
        Mean squared one-step prediction error after refinement.
    initial_cost : float
        The same for the subspace estimate.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.bilinear import identify_bilinear
    >>> true = realize.BilinearStateSpace([[0.5]], [[[0.2]]], [[1.0]], [[1.0]], R=[[1e-4]])
    >>> rng = np.random.default_rng(0)
    >>> u = rng.standard_normal((500, 1))
    >>> fit = identify_bilinear(u, true.simulate(u, rng=rng), 1, refine=False)
    >>> fit.order, fit.model.n, fit.K.shape
    (1, 1, (1, 1))
    """

    model: BilinearStateSpace
    K: np.ndarray
    Lambda: np.ndarray
    x0: np.ndarray
    initial_model: BilinearStateSpace
    linear_model: object
    order: int
    singular_values: np.ndarray
    cost: float
    initial_cost: float


def _block_hankel(z: np.ndarray, start: int, rows: int, cols: int) -> np.ndarray:
    """Rows ``z[start + r]`` for r < rows stacked; columns are time (``cols`` of them)."""
    d = z.shape[1]
    H = np.empty((rows * d, cols))
    for r in range(rows):
        H[r * d : (r + 1) * d] = z[start + r : start + r + cols].T
    return H


def _oblique(Yf, Uf, Wp):
    """Oblique projection of Yf along Uf onto Wp: Yf /_{Uf} Wp = L_w Wp."""
    Z = np.vstack([Wp, Uf])
    coef, *_ = np.linalg.lstsq(Z.T, Yf.T, rcond=None)
    return coef[: Wp.shape[0]].T @ Wp


def _predict_bilinear(A, N, B, C, D, K, x0, u, y):
    """One-step predictions ``y_hat[t] = C x[t] + D u[t]`` of the bilinear innovation form."""
    forcing = u @ (B - K @ D).T + y @ K.T
    X = bilinear_recursion(A - K @ C, N, u, forcing, x0)
    return X[:-1] @ C.T + u @ D.T


def _oblique_coef(Yf, Uf, Wp):
    """``L_w`` of the oblique projection ``Yf /_{Uf} Wp = L_w Wp``."""
    Z = np.vstack([Wp, Uf])
    coef, *_ = np.linalg.lstsq(Z.T, Yf.T, rcond=None)
    return coef[: Wp.shape[0]].T


def _bilinear_state_regression(u, y, i, Gam, X, s0):
    """``(A, N, B, C, D)``, residuals and new states from states that carry the bilinear term.

    ``X[:, c]`` is a state estimate ``x(s0 + c)``, ``c = 0 .. T - s0``, the projection of
    the state onto a past of the data. The past of time t is extended by the products
    ``u(t-l) (x) x(t-l)``, ``l = 1..i``; the oblique projection of the future onto it
    gives ``x2(t)``, and with one more past sample (the products up to ``u(t) (x) x(t)``)
    ``x2(t+1)``. For zero-mean white inputs the projection of ``N u(t) x_true(t)`` onto
    that past is ``N (u(t) (x) x(t))`` (``u(t)`` is independent of the state error, which
    is orthogonal to ``x(t)``), so ``x2(t+1) = A x2(t) + N (u(t) (x) x(t)) + B u(t) +
    (innovation)`` and the regression of ``x2(t+1)`` on ``[x2(t); u(t) (x) x(t); u(t)]``
    estimates N (in the basis of ``Gam``) as well as A and B.
    """
    T, m = u.shape
    p = y.shape[1]
    n = Gam.shape[1]
    PX = (u[s0:].T[:, None, :] * X[None, :, : T - s0]).reshape(m * n, T - s0).T  # row s-s0
    t0 = s0 + i  # first time with i lags of products
    cols = T - i - t0 + 1  # times with i future samples

    def past(start, rows, count):  # rows of the past of t = start .. start + count - 1
        return np.vstack(
            [
                _block_hankel(u, start - i, rows, count),
                _block_hankel(y, start - i, rows, count),
                _block_hankel(PX, start - i - s0, rows, count),
            ]
        )

    hank = lambda z, start, rows: _block_hankel(z, start, rows, cols)
    X2 = np.linalg.pinv(Gam) @ _oblique(hank(y, t0, i), hank(u, t0, i), past(t0, i, cols))
    X2s = np.linalg.pinv(Gam[: (i - 1) * p]) @ _oblique(
        hank(y, t0 + 1, i - 1), hank(u, t0 + 1, i - 1), past(t0, i + 1, cols)
    )
    ut, yt = u[t0 : t0 + cols].T, y[t0 : t0 + cols].T
    xt = X[:, t0 - s0 : t0 - s0 + cols]
    UX = (ut[:, None, :] * xt[None, :, :]).reshape(m * n, cols)
    Phi = np.vstack([X2, UX, ut])
    theta_x, *_ = np.linalg.lstsq(Phi.T, X2s.T, rcond=None)
    Psi = np.vstack([X2, ut])
    theta_y, *_ = np.linalg.lstsq(Psi.T, yt.T, rcond=None)
    A = theta_x[:n].T
    N = theta_x[n : n + m * n].T.reshape(n, m, n).transpose(1, 0, 2)
    B = theta_x[n + m * n :].T
    C, D = theta_y[:n].T, theta_y[n:].T
    res_x = X2s - (Phi.T @ theta_x).T
    res_y = yt - (Psi.T @ theta_y).T
    return A, N, B, C, D, res_x, res_y


def identify_bilinear(
    u,
    y,
    order: int,
    *,
    horizon: int | None = None,
    refine: bool = True,
    gain: bool = True,
    max_nfev: int | None = None,
):
    """Identify a bilinear state-space model from input-output data (white inputs).

    Parameters
    ----------
    u : (T, m) array
        Inputs: zero-mean and white (independent over time) for the subspace step to be
        consistent; the refinement step does not need it.
    y : (T, p) array
        Outputs.
    order : int
        State dimension n.
    horizon : int, optional
        Block rows of the past and future Hankel matrices (default ``max(order + 1, 5)``
        within the data's limits).
    refine : bool, default True
        Refine the subspace estimate by minimizing the one-step prediction error.
    gain : bool, default True
        Estimate the predictor gain K (bilinear innovation form); False fits the
        output-error (simulation) criterion with K = 0.
    max_nfev : int, optional
        Limit on the prediction-error iterations (function evaluations).

    Returns
    -------
    BilinearIdentificationResult

    Raises
    ------
    ShapeError, NonFiniteError
        Malformed data.
    OrderError
        An order the horizon or the data cannot support.
    DataError
        Too few samples.
    NotStableError
        The refined model is not mean-square stable for the inputs' sample mean and
        covariance: data from a system whose outputs have no stationary variance. (With
        ``refine=False`` an unstable subspace estimate only warns: on short or
        heavy-tailed records it can be unstable for a stable system.)

    Notes
    -----
    Subspace step (white inputs), in two stages.

    *Stage 1 (linear).* For zero-mean white inputs the bilinear term
    ``sum_i u_i[t] N_i x[t]`` is a martingale difference: uncorrelated with the past
    inputs and outputs, with the current state and with the future inputs. The data
    equation ``Y_f = Gamma X_f + H U_f + (bilinear terms and noise)`` therefore has the
    second-order structure of a linear system with extra process noise, and the N4SID
    oblique projection ``Y_f /_{U_f} [U_p; Y_p] = Gamma X_1`` gives the extended
    observability matrix and ``x1(t)``, the linear projection of the state onto the
    past (Favoreel, De Moor & Van Overschee 1999). A linear projection cannot carry
    ``N``: the projection of ``N u(t) x(t)`` onto the linear past is zero, so a state
    regression on these states returns ``N = 0`` (the linear model ``linear_model``).

    *Stage 2 (past products).* The past of time t is extended by the products of the
    past inputs and the stage-1 states, ``u(t-l) (x) x1(t-l)``, ``l = 1..i`` (the
    Khatri-Rao products of Favoreel et al. and Verdult & Verhaegen, with the state
    estimate in place of the whole past to keep the dimension at ``i m n``). The
    projection of ``N u(t) x(t)`` onto the past extended by ``u(t) (x) x1(t)`` is
    ``N (u(t) (x) x1(t))`` (u(t) is independent of the state error, which is orthogonal
    to ``x1(t)``), so the new states obey ``x2(t+1) = A x2(t) + N (u(t) (x) x1(t)) +
    B u(t) + (innovation)``, and ``[A, N_1..N_m, B; C, 0, D]`` follows by least squares
    from ``x2(t+1)`` on ``[x2(t); u(t) (x) x1(t); u(t)]`` and ``y(t)`` on ``[x2(t);
    u(t)]`` (the states at two consecutive times from nested pasts, Van Overschee & De
    Moor 1996, Algorithm 2). The residual covariances give the initial Kalman gain.
    The subspace estimate therefore already carries ``N`` (its second-order kernels
    ``C A^j N_i A^l B`` within a few per cent of the true ones for a few thousand
    samples), and the refinement starts from a bilinear model, not from the linear one.
    With heavy-tailed data (near the mean-square stability limit) the subspace
    estimate is noisy; the refinement does not rely on the white-input argument.

    Refinement. The parameters ``(A, N, B, C, D, K, x0)`` of the bilinear predictor
    ``x[t+1] = (A - K C + sum_i u_i[t] N_i) x[t] + (B - K D) u[t] + K y[t]``,
    ``y_hat = C x + D u`` minimize ``sum_t ||y[t] - y_hat[t]||^2`` (Levenberg-Marquardt,
    scipy.optimize.least_squares with forward-difference Jacobians), in the full
    parametrization: the n^2 similarity directions leave the cost unchanged, which the
    damped Gauss-Newton steps tolerate.

    References
    ----------
    W. Favoreel, B. De Moor and P. Van Overschee, "Subspace identification of bilinear
    systems subject to white inputs", IEEE Trans. Autom. Control 44(6), 1157-1165, 1999.
    V. Verdult and M. Verhaegen, "Identification of multivariable bilinear state space
    systems based on subspace techniques and separable least squares optimization",
    Int. J. Control 74(18), 1824-1836, 2001; "Subspace identification of multivariable
    linear parameter-varying systems", Automatica 38(5), 805-814, 2002.
    P. Van Overschee and B. De Moor, *Subspace Identification for Linear Systems*,
    Kluwer, 1996, Sec. 4.3.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.bilinear import identify_bilinear
    >>> true = realize.BilinearStateSpace([[0.6, 0.2], [-0.1, 0.5]], [[[0.3, 0], [0, -0.2]]],
    ...                                   [[1.0], [0.5]], [[1.0, 0.3]], [[0.2]], R=[[1e-4]])
    >>> rng = np.random.default_rng(0)
    >>> u = rng.standard_normal((2000, 1))
    >>> fit = identify_bilinear(u, true.simulate(u, rng=rng), 2)
    >>> bool(fit.cost < 2e-4)
    True
    """
    from scipy.optimize import least_squares

    from realize.model import StateSpace

    u = as_timeseries(u, "u")
    y = as_timeseries(y, "y")
    if u.shape[0] != y.shape[0]:
        raise ShapeError(f"u: expected as many samples as y ({y.shape[0]}), got {u.shape[0]}")
    T, m = u.shape
    p = y.shape[1]
    try:
        n = int(order)
    except (TypeError, ValueError):
        raise OrderError(f"order: expected a positive integer, got {describe(order)}") from None
    if n < 1 or n != order:
        raise OrderError(f"order: expected a positive integer, got {order}")
    i = int(horizon) if horizon is not None else max(n + 1, 5)
    if i * p < n + 1 or i < 2:
        raise OrderError(
            f"order: the horizon {i} with {p} output(s) supports orders up to {i * p - 1}, got "
            f"{n}; pass a larger horizon"
        )
    j = T - 2 * i
    # columns of the two projections: T - 2i (linear past) and T - 3i + 1 (with products)
    need = max(
        2 * i * (m + p) + m * (n + 1) + n + 10 + 2 * i, i * (2 * m + p + m * n) + n + 9 + 3 * i
    )
    if T < need:
        raise DataError(
            f"y: expected at least {need} samples for order {n} and horizon {i}, got {T}"
        )
    if np.any(np.abs(u.mean(axis=0)) > 0.2 * u.std(axis=0) + 1e-300):
        warnings.warn(
            "u: the subspace step assumes zero-mean white inputs; the input mean is "
            f"{u.mean(axis=0)} (the refinement corrects the initial bias)",
            RealizeWarning,
            stacklevel=2,
        )
    yscale = y.std(axis=0)
    yscale[yscale == 0] = 1.0

    # N4SID data matrices (Van Overschee & De Moor 1996, Sec. 4.3, Algorithm 2)
    Up, Uf = _block_hankel(u, 0, i, j + 1), _block_hankel(u, i, i, j + 1)
    Yp, Yf = _block_hankel(y, 0, i, j + 1), _block_hankel(y, i, i, j + 1)
    Lw = _oblique_coef(Yf, Uf, np.vstack([Up, Yp]))
    Oi = Lw @ np.vstack([Up, Yp])
    # shifted partition: past of length i + 1, future of length i - 1
    Up1, Uf1 = _block_hankel(u, 0, i + 1, j + 1), _block_hankel(u, i + 1, i - 1, j + 1)
    Yp1, Yf1 = _block_hankel(y, 0, i + 1, j + 1), _block_hankel(y, i + 1, i - 1, j + 1)
    Oi1 = _oblique(Yf1, Uf1, np.vstack([Up1, Yp1]))
    Usv, sv, _ = np.linalg.svd(Oi, full_matrices=False)
    if sv[n - 1] <= 1e-12 * sv[0]:
        raise OrderError(
            f"order: the data support an order of at most {int(np.sum(sv > 1e-12 * sv[0]))}, "
            f"got {n}"
        )
    Gam = Usv[:, :n] * np.sqrt(sv[:n])
    Xi = np.linalg.pinv(Gam) @ Oi
    Xi1 = np.linalg.pinv(Gam[: (i - 1) * p]) @ Oi1
    ui, yi = u[i : i + j + 1].T, y[i : i + j + 1].T
    # stage 1 states x1(t) for every t >= i (the linear projection onto i past samples)
    W_all = np.vstack([_block_hankel(u, 0, i, T - i + 1), _block_hankel(y, 0, i, T - i + 1)])
    X1 = np.linalg.pinv(Gam) @ (Lw @ W_all)
    # stage 2: past products u(t-l) (x) x1(t-l) (Favoreel et al. 1999; Verdult & Verhaegen)
    A0, N0, B0, C0, D0, res_x, res_y = _bilinear_state_regression(u, y, i, Gam, X1, i)
    cov = np.cov(np.vstack([res_x, res_y]))
    Qw, Rv, Swv = cov[:n, :n], cov[n:, n:], cov[:n, n:]

    # linear model from the same projection: a separate regression without u (x) x
    theta_lin, *_ = np.linalg.lstsq(np.vstack([Xi, ui]).T, Xi1.T, rcond=None)
    Al, Bl = theta_lin[:n].T, theta_lin[n:].T
    res_l = Xi1 - np.vstack([Xi, ui]).T.dot(theta_lin).T
    theta_yl, *_ = np.linalg.lstsq(np.vstack([Xi, ui]).T, yi.T, rcond=None)
    res_yl = yi - np.vstack([Xi, ui]).T.dot(theta_yl).T
    cov_l = np.cov(np.vstack([res_l, res_yl]))
    Cl, Dl = theta_yl[:n].T, theta_yl[n:].T
    linear = StateSpace(Al, Bl, Cl, Dl)
    try:
        from realize.riccati import kalman_gain

        _, Kl, Ll = kalman_gain(Al, Cl, cov_l[:n, :n], cov_l[n:, n:], cov_l[:n, n:])
        linear = StateSpace(Al, Bl, Cl, Dl, K=Kl, Lambda=Ll)
    except (ValueError, np.linalg.LinAlgError):
        pass

    if gain:
        try:
            from realize.riccati import kalman_gain

            _, K0, _ = kalman_gain(A0, C0, Qw, Rv, Swv)
        except (ValueError, np.linalg.LinAlgError):
            K0 = np.zeros((n, p))
    else:
        K0 = np.zeros((n, p))

    def unpack(th):
        k = 0
        out = []
        for shape in shapes:
            size = int(np.prod(shape))
            out.append(th[k : k + size].reshape(shape))
            k += size
        return out

    shapes = [(n, n), (m, n, n), (n, m), (p, n), (p, m), (n, p), (n,)]
    if not gain:
        shapes = shapes[:5] + [(n,)]

    def residuals(th):
        parts = unpack(th)
        if gain:
            A, N, B, C, D, K, x0 = parts
        else:
            (A, N, B, C, D, x0), K = parts, np.zeros((n, p))
        with np.errstate(all="ignore"):
            e = (y - _predict_bilinear(A, N, B, C, D, K, x0, u, y)) / yscale
        if not np.all(np.isfinite(e)) or np.max(np.abs(e)) > 1e6:
            return np.full(T * p, 1e3)
        return e.ravel()

    def pack(A, N, B, C, D, K, x0):
        parts = [A, N, B, C, D] + ([K] if gain else []) + [x0]
        return np.concatenate([np.ravel(a) for a in parts])

    # initial predictor state: least squares fit of x0 is folded into the refinement
    th0 = pack(A0, N0, B0, C0, D0, K0, np.zeros(n))
    r0 = residuals(th0)
    initial_cost = float(np.mean((r0.reshape(T, p) * yscale) ** 2))
    th = th0
    if refine:
        sol = least_squares(
            residuals,
            th0,
            method="lm",
            x_scale="jac",
            max_nfev=max_nfev if max_nfev is not None else 100 * len(th0),
        )
        if np.sum(sol.fun**2) <= np.sum(r0**2):
            th = sol.x
    parts = unpack(th)
    if gain:
        A, N, B, C, D, K, x0 = parts
    else:
        (A, N, B, C, D, x0), K = parts, np.zeros((n, p))
    with np.errstate(all="ignore"):
        e = y - _predict_bilinear(A, N, B, C, D, K, x0, u, y)
    if not np.all(np.isfinite(e)):
        raise NotStableError(
            "y: expected data from a mean-square stable bilinear system, got data on which "
            "the identified bilinear predictor diverges (a system that is not mean-square "
            "stable, or a prediction-error fit that failed)"
        )
    Lam = np.atleast_2d(np.cov(e.T))
    cost = float(np.mean(e**2))
    KL = K @ Lam
    model = BilinearStateSpace(A, N, B, C, D, Q=KL @ K.T, R=Lam, S=KL)
    initial = BilinearStateSpace(A0, N0, B0, C0, D0)
    radius = model.mean_square_radius(input_cov=np.cov(u.T), input_mean=u.mean(axis=0))
    if not radius < 1.0:
        what = (
            f"model whose second-moment map has spectral radius {radius:.4g} for the inputs' "
            "sample mean and covariance"
        )
        if refine:
            rel = float(np.mean(e**2) / max(np.mean((y - y.mean(axis=0)) ** 2), 1e-300))
            raise NotStableError(
                "y: expected data from a mean-square stable bilinear system, got an identified "
                f"{what}: the data come from a system whose outputs have no stationary "
                "variance (which the subspace step and the prediction-error fit assume), or "
                f"the fit stopped in a poor local minimum (one-step error {rel:.2g} of the "
                "output variance)"
            )
        # the subspace estimate alone is too noisy to decide (heavy-tailed data): say so
        warnings.warn(
            f"y: the subspace estimate is a {what} (not mean-square stable): the data come "
            "from a system that is not mean-square stable, or the estimate is too noisy; "
            "refine=True decides",
            RealizeWarning,
            stacklevel=2,
        )
    return BilinearIdentificationResult(
        model, K, Lam, x0, initial, linear, n, sv, cost, initial_cost
    )


# ------------------------------------------------------------------ Carleman
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
    sizes = [n**j for j in range(1, order_i + 1)]
    offs = np.concatenate([[0], np.cumsum(sizes)])
    dim = int(offs[-1])

    def blk(j):  # slice of z_j, j = 1..order
        return slice(int(offs[j - 1]), int(offs[j]))

    def kron_sum(M, j):
        # sum_{l=1}^{j} I_{n^(l-1)} (x) M (x) I_{n^(j-l)}
        out = 0.0
        for l in range(1, j + 1):
            out = out + np.kron(np.kron(np.eye(n ** (l - 1)), M), np.eye(n ** (j - l)))
        return out

    A = np.zeros((dim, dim))
    N = np.zeros((m, dim, dim))
    B = np.zeros((dim, m))
    for j in range(1, order_i + 1):
        for k, Fk in fterms.items():
            if j - 1 + k <= order_i:
                A[blk(j), blk(j - 1 + k)] += kron_sum(Fk, j)
        for k, Gk in gterms.items():
            for i in range(m):
                if k == 0 and j == 1:
                    B[blk(1), i] = Gk[i][:, 0]
                elif j - 1 + k <= order_i:
                    N[i][blk(j), blk(j - 1 + k)] += kron_sum(Gk[i], j)
    Cx = np.eye(n) if C is None else as_matrix(C, "C", cols=n)
    Cz = np.zeros((Cx.shape[0], dim))
    Cz[:, :n] = Cx
    sys = BilinearStateSpace(A, N, B, Cz, dt=None)
    return sys if dt is None else sys.discretize(dt, method)
