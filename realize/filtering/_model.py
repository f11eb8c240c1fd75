"""Validation and normalization shared by the filters, the smoother, the likelihood and EM.

Every entry point turns its ``sys``, ``y``, ``u``, ``x0``, ``P0`` into a :class:`Prepared`
problem: the matrices as stacks with a leading time axis of length 1 (time-invariant) or
T (time-varying), the inputs folded into the intercepts ``c[t] = B[t] u[t]`` and
``d[t] = D[t] u[t]`` (one matrix product, outside the recursion), the data as a
(N, T, p) stack, and the initial mean and covariance resolved from ``init``.

Initialization (the ``init`` argument)
--------------------------------------
The initial state is ``x_0 = x0 + delta + eta`` with ``eta ~ N(0, P_*)`` and ``delta``
diffuse: ``cov(delta) = kappa P_inf`` with ``kappa -> infinity`` (Durbin & Koopman 2012,
section 5.1). ``P0`` is the finite part P_*, ``P0_diffuse`` the diffuse part P_inf; a
state with zero rows in both is known, one with P_* only stationary (or known-variance),
one in the range of P_inf diffuse. A nonzero P_inf starts the exact diffuse filter
(:mod:`realize.filtering.diffuse`).

``"auto"`` (default)
    The stationary distribution, ``x0 = 0`` and ``P0 = dlyap(A, Q)``, when A (its first
    value, if time-varying) is stable. Otherwise the real Schur form of A splits the
    state: the invariant subspace of the eigenvalues on or outside the unit circle
    (unit roots, explosive modes) is exactly diffuse, and the stable remainder, an
    autonomous stationary process in the Schur basis, starts from its stationary
    covariance.
``"stationary"``
    As above, and :class:`~realize.errors.NotStableError` for an unstable A.
``"diffuse"``
    The exact diffuse start (Koopman 1997): ``P_inf = I`` (or ``P0_diffuse``),
    ``P_* = 0`` (or ``P0``).
``"approximate_diffuse"``
    The large-variance start ``P0 = kappa I``, with ``kappa = 1e6 s`` and s the data's
    scale: the largest mean square of an observed channel divided by the squared norm
    of its row of C (statsmodels' ``approximate_diffuse`` uses ``kappa = 1e6``, whatever
    the scale). It warns (:class:`~realize.errors.IllConditionedWarning`) when kappa is
    so large against the noise that the first updates lose more than 10 of the 16
    digits, or so small that the start is not diffuse against the state noise.
``"steady_state"``
    Start in steady state: ``P0`` is the stabilizing solution of the filter Riccati
    equation, so the gain and innovation covariance are those of the innovation form
    (K, Lambda) from the first sample on; the covariance recursion is skipped until a
    missing value. For a model given in innovation form this is the innovation form
    itself. Needs time-invariant matrices.

An explicit ``x0`` or ``P0`` overrides the corresponding part.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from realize._checks import (
    as_choice,
    as_float,
    as_float_array,
    check_finite,
    check_psd,
    describe,
)
from realize.errors import (
    DataError,
    InvalidValueError,
    NotStableError,
    ShapeError,
)

__all__ = [
    "Prepared",
    "prepare",
    "steady_state_tol",
    "joint_noise_cov",
    "DIFFUSE_KAPPA",
    "STEADY_STATE_TOL",
    "INITS",
    "stack_at",
]

#: variance of the approximate diffuse initialization, P0 = kappa I
DIFFUSE_KAPPA = 1e6
#: default steady-state tolerance: freeze once max|P[t+1] - P[t]| <= tol * max|P[t]|
STEADY_STATE_TOL = 1e-13
INITS = ("auto", "stationary", "diffuse", "approximate_diffuse", "steady_state")


@dataclass
class Prepared:
    """A validated filtering problem (arrays C-contiguous float64).

    Built by :func:`prepare`. Each time-varying matrix is a stack whose first axis is
    1 (constant) or T (one per step); the data axis N is 1 or the number of series.

    Attributes
    ----------
    A, C, Q, R, S, B, D : arrays
        (TA, n, n), (TC, p, n), (TQ, n, n), (TR, p, p), (TS, n, p), (TB, n, m),
        (TD, p, m).
    c : (Nc, Tc, n) array
        State intercept ``B u``.
    d : (Nd, Td, p) array
        Observation intercept ``D u``.
    y : (N, T, p) array
        The data, NaN where missing.
    u : (Nu, T, m) array or None
        The inputs.
    x0 : (N0, n) array
        Initial state mean.
    P0 : (n, n) array
        Initial state covariance (its finite part P_* under a diffuse start).
    Pinf : (n, n) array or None
        The diffuse part P_inf of the initial covariance (None: no diffuse state).
    batched : bool
        Whether y was given as (N, T, p).
    steady_start : bool
        Whether P0 is the steady-state covariance (the gain is constant from t = 0).
    init : str
        The initialization used.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> prep = prepare(sys, sys.simulate(T=20, rng=0))
    >>> prep.y.shape, prep.P0.shape, prep.batched
    ((1, 20, 1), (1, 1), False)
    """

    A: np.ndarray  # (TA, n, n)
    C: np.ndarray  # (TC, p, n)
    Q: np.ndarray  # (TQ, n, n)
    R: np.ndarray  # (TR, p, p)
    S: np.ndarray  # (TS, n, p)
    B: np.ndarray  # (TB, n, m)
    D: np.ndarray  # (TD, p, m)
    c: np.ndarray  # (Nc, Tc, n) state intercept B u
    d: np.ndarray  # (Nd, Td, p) observation intercept D u
    y: np.ndarray  # (N, T, p), NaN = missing
    u: np.ndarray | None  # (Nu, T, m)
    x0: np.ndarray  # (N0, n)
    P0: np.ndarray  # (n, n)
    Pinf: np.ndarray | None  # (n, n) diffuse part, or None
    batched: bool  # y was given as (N, T, p)
    steady_start: bool
    init: str

    # the sizes: states, outputs, series, time steps
    n = property(lambda self: self.A.shape[1])
    p = property(lambda self: self.C.shape[1])
    N = property(lambda self: self.y.shape[0])
    T = property(lambda self: self.y.shape[1])

    @property
    def Pinf_scale(self) -> float:
        """The size ``max |P_inf|`` of the diffuse part (1 without one): the tolerances of
        the exact diffuse filter are relative to it."""
        return 1.0 if self.Pinf is None else float(np.max(np.abs(self.Pinf)))

    @property
    def time_invariant(self) -> bool:
        return all(M.shape[0] == 1 for M in (self.A, self.C, self.Q, self.R, self.S))

    def at(self, t: int) -> tuple[np.ndarray, ...]:
        """(A, C, Q, R, S) of step t (the NumPy references' ``model_at``)."""
        return tuple(stack_at(M, t) for M in (self.A, self.C, self.Q, self.R, self.S))

    def data(self, i: int) -> tuple[np.ndarray, ...]:
        """(y (T, p), c (Tc, n), d (Td, p), x0 (n,)) of series i."""
        return (self.y[i], stack_at(self.c, i), stack_at(self.d, i), stack_at(self.x0, i))

    def series(self, idx: np.ndarray) -> Prepared:
        """The problem restricted to the series ``idx`` (itself when that is all of them)."""
        if len(idx) == self.N:
            return self

        def rows(a):
            return a if a is None or a.shape[0] == 1 else np.ascontiguousarray(a[idx])

        return replace(
            self, y=self.y[idx], c=rows(self.c), d=rows(self.d), u=rows(self.u), x0=rows(self.x0)
        )


def stack_at(M: np.ndarray, t: int) -> np.ndarray:
    """Entry t of a stack whose first axis is 1 (shared) or full."""
    return M[t] if M.shape[0] > 1 else M[0]


def steady_state_tol(tol, steady_state: bool):
    """The validated steady-state tolerance, or None for the exact recursion.

    ``tol`` is a number >= 0; None, like ``steady_state=False``, means the exact recursion.
    """
    if tol is None:
        return None
    tol = as_float(tol, "tol", low=0.0)
    return tol if steady_state else None


def _get(sys, name):
    if isinstance(sys, dict):
        return sys.get(name)
    return getattr(sys, name, None)


def _stack(x, name: str, rows: int | None, cols: int | None, T: int) -> np.ndarray:
    """A (1, rows, cols) or (T, rows, cols) float64 stack from a matrix or a time stack."""
    arr = as_float_array(x, name)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ShapeError(
            f"{name}: expected a ({rows}, {cols}) matrix or a ({T}, {rows}, {cols}) time stack, "
            f"got shape {arr.shape}"
        )
    if (
        arr.shape[0] not in (1, T)
        or (rows is not None and arr.shape[1] != rows)
        or (cols is not None and arr.shape[2] != cols)
    ):
        raise ShapeError(
            f"{name}: expected a ({rows}, {cols}) matrix or a ({T}, {rows}, {cols}) time stack, "
            f"got shape {arr.shape}"
        )
    check_finite(arr, name)
    return np.ascontiguousarray(arr)


def _check_psd_stack(M: np.ndarray, name: str) -> np.ndarray:
    """Symmetrize a stack of covariances, raising if any is not symmetric PSD.

    The tolerances are relative to each matrix's own scale (:func:`realize._checks.check_psd`).
    """
    if M.shape[1] == 0:
        return M
    return np.ascontiguousarray(check_psd(M, name))


def joint_noise_cov(Q: np.ndarray, R: np.ndarray, S: np.ndarray) -> np.ndarray:
    """The stack of ``cov([w; v]) = [[Q, S], [S', R]]`` (T*, n+p, n+p) from the stacks of
    Q (TQ, n, n), R (TR, p, p), S (TS, n, p), each T* in {1, T}."""
    n, p = S.shape[1], S.shape[2]
    joint = np.empty((max(Q.shape[0], R.shape[0], S.shape[0]), n + p, n + p))
    joint[:, :n, :n] = Q
    joint[:, n:, n:] = R
    joint[:, :n, n:] = S
    joint[:, n:, :n] = S.transpose(0, 2, 1)
    return joint


def _data(y, p: int) -> tuple[np.ndarray, bool]:
    arr = as_float_array(y, "y")
    batched = arr.ndim == 3
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[2] != p:
        raise ShapeError(
            f"y: expected a (T, {p}) or (N, T, {p}) array for a model with {p} output(s), "
            f"got shape {np.shape(y)}"
        )
    if arr.shape[1] < 1 or arr.shape[0] < 1:
        raise DataError(f"y: expected at least one sample, got shape {np.shape(y)}")
    if np.any(np.isinf(arr)):
        raise InvalidValueError("y: expected finite values or NaN (missing), got Inf")
    if np.all(np.isnan(arr)):
        raise DataError("y: expected at least one observed value, got every entry missing (NaN)")
    if batched:
        allnan = np.all(np.isnan(arr), axis=(1, 2))
        if np.any(allnan):
            raise DataError(
                f"y: expected at least one observed value per series, got series "
                f"{int(np.nonzero(allnan)[0][0])} entirely missing (NaN)"
            )
    return np.ascontiguousarray(arr), batched


def _inputs(u, m: int, N: int, T: int) -> np.ndarray | None:
    if m == 0:
        if u is not None and np.size(u) > 0:
            raise ShapeError(f"u: the model has no inputs, got an array of shape {np.shape(u)}")
        return None
    if u is None:
        raise ShapeError(
            f"u: expected a (T, {m}) input array for a model with {m} input(s), got None"
        )
    arr = as_float_array(u, "u")
    if arr.ndim == 1 and m == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] not in (1, N) or arr.shape[1] != T or arr.shape[2] != m:
        raise ShapeError(
            f"u: expected a ({T}, {m}) array (or ({N}, {T}, {m}) for N series), "
            f"got shape {np.shape(u)}"
        )
    check_finite(arr, "u")
    return np.ascontiguousarray(arr)


def _intercept(M: np.ndarray, u: np.ndarray | None, rows: int) -> np.ndarray:
    """(Nu, T, rows) intercepts M[t] u[t], or a (1, 1, rows) zero when there is no input."""
    if u is None:
        return np.zeros((1, 1, rows))
    if M.shape[0] == 1:
        out = u @ M[0].T
    else:
        out = np.einsum("trm,ntm->ntr", M, u)
    return np.ascontiguousarray(out)


def noise_matrices(sys):
    """(Q, R, S) of ``sys``: the noise model, or the one implied by its innovation form."""
    Q, R, S = _get(sys, "Q"), _get(sys, "R"), _get(sys, "S")
    if Q is not None or R is not None or S is not None:
        return Q, R, S
    K, Lam = _get(sys, "K"), _get(sys, "Lambda")
    if K is not None and Lam is not None:
        K = np.asarray(K, dtype=float)
        Lam = np.asarray(Lam, dtype=float)
        if K.ndim == 3 or Lam.ndim == 3:
            KL = np.einsum("...ij,...jk->...ik", K, Lam)
            return np.einsum("...ij,...kj->...ik", KL, K), Lam, KL
        KL = K @ Lam
        return KL @ K.T, Lam, KL
    raise InvalidValueError(
        "sys: expected a model with a noise model (Q, R, S) or an innovation form (K, Lambda)"
    )


def _initial_cov(init: str, P0, P0_diffuse, A, C, Q, R, S, y) -> tuple:
    """(P0, Pinf, steady_start) from explicit P0 / P0_diffuse or the ``init`` rule
    (module docstring); Pinf is None when no state is diffuse."""
    n = A.shape[1]
    steady_start = False
    P0_res = Pinf = None
    if P0_diffuse is not None:
        if init not in ("auto", "diffuse"):
            raise InvalidValueError(
                f"P0_diffuse: an exact diffuse part needs init='diffuse' or 'auto', got {init!r}"
            )
        Pinf = _check_psd_stack(_stack(P0_diffuse, "P0_diffuse", n, n, 1), "P0_diffuse")[0]
        P0_res = np.zeros((n, n))
    elif init == "steady_state":
        if not all(M.shape[0] == 1 for M in (A, C, Q, R, S)):
            raise InvalidValueError(
                "init: 'steady_state' needs time-invariant A, C, Q, R, S, got a time-varying model"
            )
        from realize.riccati import kalman_gain

        P0_res = kalman_gain(A[0], C[0], Q[0], R[0], S[0])[0]
        steady_start = P0 is None
    elif init == "diffuse":
        P0_res, Pinf = np.zeros((n, n)), np.eye(n)
    elif init == "approximate_diffuse":
        if P0 is None:
            P0_res = approximate_diffuse_kappa(y, C[0], Q[0], R[0]) * np.eye(n)
    elif P0 is None:
        rho = float(np.max(np.abs(np.linalg.eigvals(A[0]))))
        if init == "stationary" and rho >= 1.0:
            raise NotStableError(
                "init: 'stationary' needs a stable A (spectral radius < 1), "
                f"got spectral radius {rho:.6g}"
            )
        if rho < 1.0:
            from realize.riccati import dlyap

            P0_res = dlyap(A[0], Q[0])
        else:
            P0_res, Pinf = _stationary_and_diffuse(A[0], Q[0])
    if P0 is not None:
        P0_res = _check_psd_stack(_stack(P0, "P0", n, n, 1), "P0")[0]
        if init == "auto" and P0_diffuse is None:
            Pinf = None
    if Pinf is not None and not np.any(Pinf):
        Pinf = None
    return (
        np.ascontiguousarray(P0_res),
        None if Pinf is None else np.ascontiguousarray(Pinf),
        steady_start,
    )


def _stationary_and_diffuse(A: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(P_*, P_inf) of ``init="auto"`` for an A with eigenvalues on or outside the unit
    circle. In the real Schur basis ``A = U [[T11, T12], [0, T22]] U'`` with the
    eigenvalues of modulus >= 1 in T11, the coordinates of T22 evolve on their own and
    are stable: they start from their stationary covariance, the others are diffuse
    (a finite covariance added to a diffuse one does not change the limit)."""
    from scipy.linalg import schur

    from realize.riccati import dlyap

    # 1e-9: a unit root computed as 1 - 1e-15 is still a unit root
    Tm, U, k = schur(A, output="real", sort=lambda re, im: np.hypot(re, im) >= 1.0 - 1e-9)
    U1, U2 = U[:, :k], U[:, k:]
    Pinf = U1 @ U1.T
    Pstar = np.zeros_like(A)
    if k < A.shape[0]:
        Q2 = U2.T @ Q @ U2
        Pstar = U2 @ dlyap(Tm[k:, k:], 0.5 * (Q2 + Q2.T)) @ U2.T
    return 0.5 * (Pstar + Pstar.T), 0.5 * (Pinf + Pinf.T)


def approximate_diffuse_kappa(y: np.ndarray, C: np.ndarray, Q: np.ndarray, R: np.ndarray):
    """The variance kappa of the approximate diffuse start ``P0 = kappa I``, scaled with
    the data (module docstring), warning when the start is not reliable.

    ``kappa = DIFFUSE_KAPPA s`` with ``s = max_j mean(y_j^2) / |C_j|^2`` over the observed
    channels j with a nonzero row of C. Two warnings: kappa |C|^2 / sigma^2 > 1e10 (sigma^2
    the smallest positive noise variance seen by an output: the first update subtracts
    numbers 1e10 times larger than its result, so 10 of the 16 digits are gone), and
    kappa < 1e4 max diag(Q) (the start is not diffuse against the state noise).
    """
    import warnings

    from realize.errors import IllConditionedWarning

    rows = np.einsum("ij,ij->i", C, C)
    ms = np.nanmean(y * y, axis=(0, 1))
    ok = (rows > 0) & np.isfinite(ms)
    s = float(np.max(ms[ok] / rows[ok])) if np.any(ok) else 1.0
    kappa = DIFFUSE_KAPPA * max(s, np.finfo(float).tiny)
    noise = np.concatenate([np.diag(R), np.einsum("ij,jk,ik->i", C, Q, C)])
    noise = noise[noise > 0]
    cmax = float(np.max(rows)) if rows.size else 0.0
    if noise.size and kappa * cmax / noise.min() > 1e10:
        warnings.warn(
            f"init: the approximate diffuse start (kappa = {kappa:.3g}) is {kappa * cmax / noise.min():.2g} "
            "times the smallest noise variance: its first updates lose more than 10 of the 16 "
            "digits; prefer init='diffuse' (exact)",
            IllConditionedWarning,
            stacklevel=4,
        )
    elif kappa < 1e4 * float(np.max(np.diag(Q), initial=0.0)):
        warnings.warn(
            f"init: the approximate diffuse start (kappa = {kappa:.3g}) is small against the "
            "state noise: it is not diffuse; prefer init='diffuse' (exact)",
            IllConditionedWarning,
            stacklevel=4,
        )
    return kappa


def _initial_mean(x0, n: int, N: int) -> np.ndarray:
    """x0 as an (1 or N, n) array (zero when not given)."""
    if x0 is None:
        return np.zeros((1, n))
    x0_res = as_float_array(x0, "x0")
    if x0_res.ndim == 0:
        x0_res = x0_res.reshape(1)
    if x0_res.ndim == 1:
        x0_res = x0_res[None]
    if x0_res.ndim != 2 or x0_res.shape[1] != n or x0_res.shape[0] not in (1, N):
        raise ShapeError(
            f"x0: expected an ({n},) array (or ({N}, {n}) for N series), got shape {np.shape(x0)}"
        )
    check_finite(x0_res, "x0")
    return np.ascontiguousarray(x0_res)


def prepare(sys, y, u=None, x0=None, P0=None, init: str = "auto", P0_diffuse=None) -> Prepared:
    """Validate and normalize a filtering problem (see the module docstring).

    Parameters
    ----------
    sys : StateSpace or mapping
        The model; a mapping with keys A, C and optionally B, D, Q, R, S, each a
        matrix or a (T, ...) stack of time-varying matrices.
    y : (T, p) or (N, T, p) array
        Data (1-D means one channel); NaN marks a missing value.
    u : (T, m) or (N, T, m) array, optional
        Inputs.
    x0 : (n,) or (N, n) array, optional
        Initial state mean (default from ``init``).
    P0 : (n, n) array, optional
        Initial state covariance (default from ``init``); its finite part under a
        diffuse start.
    init : str
        One of ``INITS``: how to initialize x0, P0 when they are not given.
    P0_diffuse : (n, n) array, optional
        The diffuse part P_inf of the initial covariance (exact diffuse start).

    Returns
    -------
    Prepared
        The validated problem.

    Raises
    ------
    ShapeError
        Inconsistent shapes.
    InvalidValueError
        An unknown ``init``, non-finite matrices or non-PSD covariances.

    Examples
    --------
    A time-varying A (a stack) with a constant C; inputs folded into the intercepts:

    >>> import numpy as np
    >>> from realize.filtering._model import prepare
    >>> model = dict(A=np.full((5, 1, 1), 0.5), B=[[1.0]], C=[[1.0]], Q=[[1.0]], R=[[1.0]])
    >>> prep = prepare(model, np.zeros(5), u=np.ones(5))
    >>> prep.A.shape, prep.C.shape, prep.c.shape, prep.time_invariant
    ((5, 1, 1), (1, 1, 1), (1, 5, 1), False)
    """
    init = as_choice(init, "init", INITS)
    A0 = _get(sys, "A")
    if A0 is None:
        raise ShapeError(
            f"sys: expected a StateSpace or a mapping with at least A and C, got {describe(sys)}"
        )
    A_arr = as_float_array(A0, "A")
    n = A_arr.shape[-1] if A_arr.ndim >= 2 else 1
    C0 = _get(sys, "C")
    C_arr = np.eye(n) if C0 is None else as_float_array(C0, "C")
    p = C_arr.shape[-2] if C_arr.ndim >= 2 else 1
    if n < 1 or p < 1:
        raise ShapeError(f"sys: expected at least one state and one output, got n={n}, p={p}")
    yy, batched = _data(y, p)
    N, T = yy.shape[0], yy.shape[1]
    A = _stack(A_arr, "A", n, n, T)
    C = _stack(C_arr, "C", p, n, T)
    B0 = _get(sys, "B")
    B = np.zeros((1, n, 0)) if B0 is None else _stack(B0, "B", n, None, T)
    m = B.shape[2]
    D0 = _get(sys, "D")
    D = np.zeros((1, p, m)) if D0 is None else _stack(D0, "D", p, m, T)
    Qm, Rm, Sm = noise_matrices(sys)
    Q = np.zeros((1, n, n)) if Qm is None else _check_psd_stack(_stack(Qm, "Q", n, n, T), "Q")
    R = np.zeros((1, p, p)) if Rm is None else _check_psd_stack(_stack(Rm, "R", p, p, T), "R")
    S = np.zeros((1, n, p)) if Sm is None else _stack(Sm, "S", n, p, T)
    if np.any(S):
        _check_psd_stack(joint_noise_cov(Q, R, S), "[[Q, S], [S', R]]")
    uu = _inputs(u, m, N, T)
    c = _intercept(B, uu, n)
    d = _intercept(D, uu, p)

    P0_res, Pinf, steady_start = _initial_cov(init, P0, P0_diffuse, A, C, Q, R, S, yy)
    x0_res = _initial_mean(x0, n, N)
    return Prepared(
        A=A,
        C=C,
        Q=Q,
        R=R,
        S=S,
        B=B,
        D=D,
        c=c,
        d=d,
        y=yy,
        u=uu,
        x0=x0_res,
        P0=P0_res,
        Pinf=Pinf,
        batched=batched,
        steady_start=steady_start,
        init=init,
    )
