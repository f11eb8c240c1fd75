"""The discrete-time state-space model with its noise model and innovation form.

A :class:`StateSpace` is

    x[t+1] = A x[t] + B u[t] + w[t]
    y[t]   = C x[t] + D u[t] + v[t]

with, optionally, a noise model ``cov([w; v]) = [[Q, S], [S', R]]`` and/or the
innovation (steady-state Kalman predictor) form

    x[t+1] = A x[t] + B u[t] + K e[t]
    y[t]   = C x[t] + D u[t] + e[t],      cov(e) = Lambda.

Both describe the same output process when they are consistent (``K``, ``Lambda``
from the Riccati equation of ``Q, R, S``); when both are given this is checked.

The LTI basics live on the model, as in python-control: :meth:`~StateSpace.poles`,
:meth:`~StateSpace.zeros`, :meth:`~StateSpace.dcgain`, :meth:`~StateSpace.freqresp` (rad per
time unit of ``dt``), :meth:`~StateSpace.step`, :meth:`~StateSpace.impulse` and
:meth:`~StateSpace.initial` (each an array with time along axis 0), and the operators
``*``, ``+``, ``-`` of :mod:`realize.connections`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from realize._checks import (
    as_bool,
    as_float,
    as_float_array,
    as_int,
    as_matrix,
    as_square,
    check_finite,
    check_psd,
    describe,
)
from realize._linalg import psd_factor
from realize.errors import InvalidValueError, NonFiniteError, NotStableError, ShapeError

__all__ = ["StateSpace"]

_MATRICES = ("A", "B", "C", "D", "Q", "R", "S", "K", "Lambda")
_LABELS = (
    "input_names",
    "output_names",
    "state_names",
    "input_units",
    "output_units",
    "state_units",
)


def _labels(x, name: str, size: int) -> tuple[str, ...] | None:
    if x is None:
        return None
    if isinstance(x, str):
        x = [x]
    try:
        labels = tuple(str(s) for s in x)
    except TypeError:
        raise ShapeError(
            f"{name}: expected a sequence of {size} strings, got {describe(x)}"
        ) from None
    if len(labels) != size:
        raise ShapeError(f"{name}: expected {size} strings, got {len(labels)}")
    return labels


def short_value(value) -> str:
    """One value of a result, short: see :func:`compact_repr`."""
    if isinstance(value, StateSpace):
        return repr(value).split("\n")[0]
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.ndarray):
        if value.ndim == 1 and np.issubdtype(value.dtype, np.number):
            shown = ", ".join(
                f"{v:.4g}" if np.isrealobj(value) else f"{complex(v):.4g}" for v in value[:6]
            )
            return f"[{shown}, ... ({value.size} values)]" if value.size > 6 else f"[{shown}]"
        return f"<{value.shape} {value.dtype} array>"
    if hasattr(value, "_fields") and hasattr(value, "A"):  # a ContinuousStateSpace
        return f"{type(value).__name__}(n={np.shape(value.A)[0]}, ...)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def compact_repr(result) -> str:
    """The repr of a result (a NamedTuple or dataclass) on one line.

    The rule, for every result type in the package: ``Type(field=value, ...)`` with models
    by their one-line head (``StateSpace(n=2, m=1, p=1, dt=1)``), numbers with 6
    significant digits, 1-D arrays by their first 6 values (4 digits, then
    ``... (N values)``), other arrays by shape and dtype (``<(200, 4) float64 array>``),
    anything else by its repr cut at 60 characters. The full arrays stay attributes.
    """
    import dataclasses

    if dataclasses.is_dataclass(result):
        names = [f.name for f in dataclasses.fields(result)]
    else:
        names = list(result._fields)
    body = ", ".join(f"{k}={short_value(getattr(result, k))}" for k in names)
    return f"{type(result).__name__}({body})"


_EPS = np.finfo(float).eps


# ------------------------------------------------------------------ zeros and gains
def _zeros_reduce(A, B, C, D, tol: float):
    """Emami-Naeini and Van Dooren's procedure REDUCE: a system with the same finite zeros
    whose D has full row rank.

    One step: rotate the outputs so that ``U'[C, D] = [[C1, D1], [C2, 0]]`` with D1 of full
    row rank, rotate the states so that ``C2 W = [0, C22]`` with C22 of full column rank
    rho. In the pencil ``[[A11 - z, A12, B1], [A21, A22 - z, B2], [C11, C12, D1], [0, C22,
    0]]`` the constant, full-column-rank C22 eliminates the columns of x2 (row operations
    that may involve z but are unimodular), leaving the system ``(A11, B1, [A21; C11],
    [B2; D1])`` with rho fewer states and the same finite zeros. Zero rows of ``[C2, 0]``
    are dropped (left null vectors of the pencil).
    """
    while True:
        n, p = A.shape[0], C.shape[0]
        if p == 0:
            return A, B, C, D
        if D.size:
            U, s, _ = np.linalg.svd(D)
            sigma = int(np.count_nonzero(s > tol))
        else:
            U, sigma = np.eye(p), 0
        if sigma == p:
            return A, B, C, D
        CD = U.T @ np.hstack([C, D])
        C1, D1, C2 = CD[:sigma, :n], CD[:sigma, n:], CD[sigma:, :n]
        if n == 0:
            return A, B, C1, D1
        _, sc, Vt = np.linalg.svd(C2)
        rho = int(np.count_nonzero(sc > tol))
        if rho == 0:
            return A, B, C1, D1
        W = np.vstack([Vt[rho:], Vt[:rho]]).T  # null space of C2 first, its row space last
        nu = n - rho
        At, Bt, C1w = W.T @ A @ W, W.T @ B, C1 @ W
        A, B = At[:nu, :nu], Bt[:nu]
        C, D = np.vstack([At[nu:, :nu], C1w[:, :nu]]), np.vstack([Bt[nu:], D1])
        if nu == 0:
            return A, B, C, D


def _invariant_zeros(A, B, C, D) -> np.ndarray:
    """Finite invariant zeros of (A, B, C, D), any shape (see :meth:`StateSpace.zeros`)."""
    import scipy.linalg as sla

    A, B, C, D = (np.asarray(X, dtype=float) for X in (A, B, C, D))
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    none = np.zeros(0, dtype=complex)
    if n == 0:
        return none
    # SLICOT AB08ND's rank tolerance, on the scale of the whole system matrix
    tol = (n + p) * (n + m) * _EPS * float(np.linalg.norm(np.block([[A, B], [C, D]])))
    A, B, C, D = _zeros_reduce(A, B, C, D, tol)
    if A.shape[0] == 0:
        return none
    # the dual system removes the right null space; D is then square and nonsingular
    At, Ct, Bt, Dt = _zeros_reduce(A.T, C.T, B.T, D.T, tol)
    A, B, C, D = At.T, Bt.T, Ct.T, Dt.T
    nf, pf = A.shape[0], C.shape[0]
    if nf == 0:
        return none
    # compress the columns of [C, D]: [C, D] V = [0, D_hat]; the first nf columns of V
    # (its null space) turn [A - z I, B] into the regular pencil A_z - z E_z
    if pf:
        _, _, Vt = np.linalg.svd(np.hstack([C, D]))
        V1 = Vt[pf:].T
    else:
        V1 = np.eye(nf + B.shape[1])[:, :nf]
    if V1.shape[1] != nf:  # inconsistent rank decisions: a borderline model
        raise InvalidValueError(
            "sys: the zeros are numerically ill-defined (the rank decisions of the reduced "
            f"pencil disagree at tolerance {tol:.3g})"
        )
    alpha, beta = sla.eigvals(np.hstack([A, B]) @ V1, V1[:nf], homogeneous_eigvals=True)
    finite = beta != 0
    return (alpha[finite] / beta[finite]).astype(complex)


def _gain_at(A, B, C, D, point: float) -> np.ndarray:
    """``G(point) = C (point I - A)^-1 B + D``, inf in the entries that see a pole at point.

    Used with point = 1 (discrete-time DC gain) and point = 0 (continuous time).
    """
    import scipy.linalg as sla

    A, B, C, D = (np.asarray(X, dtype=float) for X in (A, B, C, D))
    n = A.shape[0]
    if n == 0:
        return D.copy()
    M = point * np.eye(n) - A
    norm = float(np.linalg.norm(M, 2))
    tol = 1e3 * n * _EPS * norm
    s = np.linalg.svd(M, compute_uv=False)
    if norm > 0 and s[-1] > tol:
        return C @ np.linalg.solve(M, B) + D
    # A pole at `point`: split off its generalized eigenspace by a staircase of rank
    # decisions on M (null space, then the null space of the remaining block, ...), so
    # that U' M U = [[N, X], [0, M2]] with N nilpotent and M2 nonsingular.
    Mh, U, k0 = M.copy(), np.eye(n), 0
    while k0 < n:
        _, s, Vt = np.linalg.svd(Mh[k0:, k0:])
        r = int(np.count_nonzero(s <= tol))
        if r == 0:
            break
        Z = np.vstack([Vt[len(s) - r :], Vt[: len(s) - r]]).T
        Mh[k0:, :] = Z.T @ Mh[k0:, :]
        Mh[:, k0:] = Mh[:, k0:] @ Z
        U[:, k0:] = U[:, k0:] @ Z
        Mh[k0:, k0 : k0 + r] = 0.0
        k0 += r
    N, X, M2 = Mh[:k0, :k0], Mh[:k0, k0:], Mh[k0:, k0:]
    Bh, Ch = U.T @ B, C @ U
    # decouple: with Y solving N Y - Y M2 = -X, the pole part is (N, B1 - Y B2, C1) and
    # the rest (M2, B2, C1 Y + C2)
    Y = sla.solve_sylvester(N, -M2, -X) if 0 < k0 < n else np.zeros((k0, n - k0))
    B1, B2 = Bh[:k0] - Y @ Bh[k0:], Bh[k0:]
    C1, C2 = Ch[:, :k0], Ch[:, :k0] @ Y + Ch[:, k0:]
    G = D + (C2 @ np.linalg.solve(M2, B2) if k0 < n else 0.0)
    # the pole part is sum_k (-1)^k C1 N^k B1 / (point - z)^(k+1): infinite in an entry
    # unless every C1 N^k B1 vanishes there
    infinite = np.zeros(G.shape, dtype=bool)
    NkB = B1
    # rounding of a vanishing C1 N^k B1 is relative to the terms it was computed from
    size = lambda X: float(np.linalg.norm(X, 2)) if X.size else 0.0  # noqa: E731
    scale = size(C1) * (size(Bh[:k0]) + size(Y) * size(B2))
    for _ in range(k0):
        infinite |= np.abs(C1 @ NkB) > 1e-8 * scale
        NkB = N @ NkB
        scale *= max(float(np.linalg.norm(N, 2)), 1.0)
    G = np.array(G, dtype=float)
    G[infinite] = np.inf
    return G


class StateSpace:
    """Discrete-time linear state-space model with optional noise model and innovation form.

    Parameters
    ----------
    A : (n, n) array_like
        State transition matrix.
    B : (n, m) array_like, optional
        Input matrix; omitted means no input (m = 0).
    C : (p, n) array_like, optional
        Output matrix; omitted means the whole state is the output (C = I, p = n).
    D : (p, m) array_like, optional
        Feedthrough; omitted means zero.
    dt : float, default 1.0
        Sampling period (positive), in the time unit of the data.
    Q, R, S : arrays (n, n), (p, p), (n, p), optional
        Noise model: ``Q = E[w w']``, ``R = E[v v']``, ``S = E[w v']``. If any is
        given, the missing ones are zero; the joint covariance must be PSD.
    K, Lambda : arrays (n, p), (p, p), optional
        Innovation form: predictor gain and innovation covariance (both or neither).
    input_names, output_names, state_names : sequences of str, optional
    input_units, output_units, state_units : sequences of str, optional
        Labels kept through conversions and in saved files.
    name : str, optional

    Attributes
    ----------
    A, B, C, D : arrays
    Q, R, S : arrays or None (None when there is no noise model)
    K, Lambda : arrays or None (None when there is no innovation form)
    n, m, p : int
        Numbers of states, inputs and outputs.

    Raises
    ------
    ShapeError
        Non-square A, mismatched B/C/D, covariances of the wrong size, complex or text
        entries.
    NonFiniteError
        NaN or Inf in any matrix.
    NotPositiveSemidefiniteError
        A noise or innovation covariance that is not symmetric PSD (judged relative to
        its own scale: a variance of -9e-9 is refused as -9 would be).
    InvalidValueError
        A non-positive dt, or a noise model and innovation form that disagree (relative
        to the model's scale).

    Notes
    -----
    The matrices are private read-only copies: the caller's arrays stay writable and are
    never shared.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.9, 0.2], [0.0, 0.5]], [[0.0], [1.0]], [[1.0, 0.0]],
    ...                          Q=0.1 * np.eye(2), R=[[0.01]])
    >>> sys.n, sys.m, sys.p, sys.is_stable()
    (2, 1, 1, True)
    >>> y = sys.simulate(np.ones((50, 1)), noise=False)
    >>> y.shape
    (50, 1)
    """

    __slots__ = (*_MATRICES, "dt", *_LABELS, "name")

    def __init__(
        self,
        A,
        B=None,
        C=None,
        D=None,
        *,
        dt: float = 1.0,
        Q=None,
        R=None,
        S=None,
        K=None,
        Lambda=None,
        input_names: Sequence[str] | None = None,
        output_names: Sequence[str] | None = None,
        state_names: Sequence[str] | None = None,
        input_units: Sequence[str] | None = None,
        output_units: Sequence[str] | None = None,
        state_units: Sequence[str] | None = None,
        name: str | None = None,
    ):
        A = as_square(A, "A")
        n = A.shape[0]
        B = np.zeros((n, 0)) if B is None else as_matrix(B, "B", rows=n)
        m = B.shape[1]
        C = np.eye(n) if C is None else as_matrix(C, "C", cols=n)
        p = C.shape[0]
        D = np.zeros((p, m)) if D is None else as_matrix(D, "D", rows=p, cols=m)
        dt = as_float(dt, "dt", low=0.0, open_low=True)

        if Q is None and R is None and S is None:
            Q = R = S = None
        else:
            Q = np.zeros((n, n)) if Q is None else check_psd(as_square(Q, "Q", n), "Q")
            R = np.zeros((p, p)) if R is None else check_psd(as_square(R, "R", p), "R")
            S = np.zeros((n, p)) if S is None else as_matrix(S, "S", n, p)
            if S.size and np.any(S):
                check_psd(np.block([[Q, S], [S.T, R]]), "[[Q, S], [S', R]]")

        if (K is None) != (Lambda is None):
            missing = "Lambda" if Lambda is None else "K"
            raise InvalidValueError(
                f"{missing}: expected the innovation form as both K and Lambda, got only one"
            )
        if K is not None:
            K = as_matrix(K, "K", n, p)
            Lambda = check_psd(as_square(Lambda, "Lambda", p), "Lambda")

        for attr, value in zip(_MATRICES, (A, B, C, D, Q, R, S, K, Lambda)):
            if value is not None:
                # a private copy: freezing the caller's own array would make it read-only
                value = np.array(value, dtype=float, order="C")
                value.setflags(write=False)
            object.__setattr__(self, attr, value)
        object.__setattr__(self, "dt", dt)
        sizes = {"input": m, "output": p, "state": n}
        for attr, value in zip(
            _LABELS,
            (input_names, output_names, state_names, input_units, output_units, state_units),
        ):
            object.__setattr__(self, attr, _labels(value, attr, sizes[attr.split("_")[0]]))
        object.__setattr__(self, "name", None if name is None else str(name))

        if Q is not None and K is not None:
            self._check_consistency()

    def __setattr__(self, key, value):
        raise AttributeError("StateSpace is immutable; use replace(...) for a changed copy")

    # ------------------------------------------------------------------ basics
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
    def has_noise_model(self) -> bool:
        """Whether Q, R, S are set."""
        return self.Q is not None

    @property
    def has_innovation_form(self) -> bool:
        """Whether K, Lambda are set."""
        return self.K is not None

    def _fields(self) -> dict:
        out = {k: getattr(self, k) for k in _MATRICES}
        out["dt"] = self.dt
        out.update({k: getattr(self, k) for k in _LABELS})
        out["name"] = self.name
        return out

    def replace(self, **changes) -> StateSpace:
        """A new, validated model with some fields changed.

        Passing ``Q=None`` (or R, S) removes the noise model, ``K=None`` (or Lambda) the
        innovation form. A model that has both is checked for consistency, so when
        changing A, C, Q, R or S of such a model also pass ``K=None`` (or new K, Lambda).

        Examples
        --------
        >>> import realize
        >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
        >>> sys.replace(dt=0.1).dt
        0.1
        """
        fields = self._fields()
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"replace: unknown field(s) {sorted(unknown)}")
        fields.update(changes)
        noise_changes = [changes[k] for k in ("Q", "R", "S") if k in changes]
        if noise_changes and all(v is None for v in noise_changes):
            fields.update(Q=None, R=None, S=None)
        if ("K" in changes and changes["K"] is None) or (
            "Lambda" in changes and changes["Lambda"] is None
        ):
            fields.update(K=None, Lambda=None)
        A = fields.pop("A")
        return StateSpace(
            A,
            **{k: fields[k] for k in ("B", "C", "D")},
            **{k: v for k, v in fields.items() if k not in ("B", "C", "D")},
        )

    # --------------------------------------------------------------- analysis
    def poles(self) -> np.ndarray:
        """Eigenvalues of A (the poles of the model).

        Returns
        -------
        poles : (n,) complex array
            The eigenvalues of A, in no particular order.

        Examples
        --------
        >>> import realize
        >>> sorted(realize.StateSpace([[0.9, 0.2], [0.0, 0.5]]).poles().real.tolist())
        [0.5, 0.9]
        """
        return np.linalg.eigvals(self.A).astype(complex)

    def spectral_radius(self) -> float:
        """Largest pole modulus, ``max |eig(A)|`` (0 for a static model with n = 0).

        Returns
        -------
        rho : float

        Examples
        --------
        >>> import realize
        >>> round(realize.StateSpace([[0.0, -0.8], [0.8, 0.0]]).spectral_radius(), 12)
        0.8
        """
        return float(np.max(np.abs(self.poles()))) if self.n else 0.0

    def is_stable(self) -> bool:
        """Whether all poles lie strictly inside the unit circle.

        Returns
        -------
        stable : bool
            ``spectral_radius() < 1``.

        Examples
        --------
        >>> import realize
        >>> realize.StateSpace([[0.5]]).is_stable(), realize.StateSpace([[1.0]]).is_stable()
        (True, False)
        """
        return self.spectral_radius() < 1.0

    def markov(self, k: int) -> np.ndarray:
        """The first k Markov parameters (impulse response).

        Returns
        -------
        h : (k, p, m) array
            ``h[0] = D`` and ``h[j] = C A^(j-1) B`` for j >= 1.

        Examples
        --------
        >>> import realize
        >>> realize.StateSpace([[0.5]], [[1.0]], [[2.0]]).markov(3)[:, 0, 0].tolist()
        [0.0, 2.0, 1.0]
        """
        k = as_int(k, "k", low=0)
        h = np.empty((k, self.p, self.m))
        if k:
            h[0] = self.D
        AjB = self.B.copy()
        for j in range(1, k):
            h[j] = self.C @ AjB
            AjB = self.A @ AjB
        return h

    def freqresp(self, w, *, normalized: bool = False) -> np.ndarray:
        """Frequency response ``H(e^{i w dt}) = C (e^{i w dt} I - A)^{-1} B + D``.

        Parameters
        ----------
        w : (N,) array_like
            Angular frequencies in rad per time unit of ``dt`` (rad/s when dt is in
            seconds), as python-control's ``frequency_response``; the Nyquist frequency is
            ``pi / dt``. With ``normalized=True``, in rad/sample instead (``w dt``, as
            ``scipy.signal.dfreqresp``; Nyquist ``pi``). For the default ``dt = 1`` the two
            agree.
        normalized : bool, default False
            Read ``w`` as normalized frequency in rad/sample.

        Returns
        -------
        H : (N, p, m) complex array
            ``H[k]`` is the transfer matrix at frequency ``w[k]``.

        Raises
        ------
        ShapeError
            If ``w`` is not one-dimensional or not real.
        NonFiniteError
            NaN or Inf in ``w``.
        InvalidValueError
            A frequency at a pole on the unit circle (``e^{i w dt} I - A`` singular).

        See Also
        --------
        dcgain : the response at zero frequency, with integrators handled.
        markov : the impulse response, whose Fourier transform this is.

        Notes
        -----
        python-control's ``sys.to_control().frequency_response(w)`` returns the same
        values with shape ``(p, m, N)`` (squeezed for one input and output).

        Examples
        --------
        >>> import numpy as np, realize
        >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
        >>> H = sys.freqresp([0.0, np.pi])
        >>> H.shape, np.round(H[:, 0, 0].real, 6).tolist()
        ((2, 1, 1), [2.0, -0.666667])
        >>> fast = sys.replace(dt=0.01)  # the same model sampled at 100 Hz
        >>> bool(np.allclose(fast.freqresp([100 * np.pi]), sys.freqresp([np.pi])))
        True
        >>> bool(np.allclose(fast.freqresp([np.pi], normalized=True), sys.freqresp([np.pi])))
        True
        """
        w = np.atleast_1d(as_float_array(w, "w"))
        check_finite(w, "w")
        if w.ndim != 1:
            raise ShapeError(f"w: expected a 1-D array of frequencies, got shape {w.shape}")
        theta = w if as_bool(normalized, "normalized") else w * self.dt
        z = np.exp(1j * theta)
        M = z[:, None, None] * np.eye(self.n) - self.A
        if self.n:
            # at a pole e^{iw} I - A is singular to working precision: the response is
            # infinite there, and a solve returns rounding noise (or fails)
            sv = np.linalg.svd(M, compute_uv=False)
            at_pole = sv[:, -1] <= 8 * self.n * np.finfo(float).eps * sv[:, 0]
            if np.any(at_pole):
                k = int(np.argmax(at_pole))
                arg = "w" if normalized else "w dt"
                raise InvalidValueError(
                    f"w: expected frequencies away from the poles, got w[{k}] = {w[k]:.17g} "
                    f"where e^(i {arg}) is a pole of the model (e^(i {arg}) I - A is singular)"
                )
        X = np.linalg.solve(M, np.broadcast_to(self.B.astype(complex), (len(w), self.n, self.m)))
        return self.C @ X + self.D

    def dcgain(self) -> np.ndarray:
        """Steady-state (zero-frequency) gain ``G(1) = C (I - A)^{-1} B + D``.

        Returns
        -------
        G : (p, m) array
            The gain from each input to each output. An entry is ``inf`` where that
            input-output pair sees a pole at ``z = 1`` (an integrator: the step response
            grows without bound), and finite where the pole is uncontrollable from that
            input or unobservable from that output.

        See Also
        --------
        freqresp : the response at any frequency.
        step : ``step(T)[-1]`` tends to ``dcgain()`` for a stable model.

        Notes
        -----
        Where ``I - A`` is nonsingular (smallest singular value above
        ``1000 n eps ||I - A||``) this is one linear solve. Otherwise the generalized
        eigenspace of ``z = 1`` is split off by an orthogonal staircase of rank decisions
        on ``I - A`` (the nilpotent part N), a Sylvester equation decouples it, and an
        entry is infinite when one of ``C_1 N^k B_1`` (k < n_1) is nonzero in it; the rest
        of the model gives the finite value.

        python-control's ``dcgain`` gives the same finite values; at an integrator it
        returns ``inf`` in every entry (``nan`` where the pole cancels). A model sampled
        with zero-order hold (:func:`realize.c2d`) has the DC gain ``G_c(0) = -C A_c^-1 B
        + D`` of the continuous-time model it came from.

        Examples
        --------
        >>> import realize
        >>> realize.StateSpace([[0.5]], [[1.0]], [[1.0]]).dcgain()
        array([[2.]])
        >>> import numpy as np
        >>> integrator_and_lag = realize.StateSpace(np.diag([1.0, 0.5]), np.eye(2), np.eye(2))
        >>> integrator_and_lag.dcgain()
        array([[inf,  0.],
               [ 0.,  2.]])
        """
        return _gain_at(self.A, self.B, self.C, self.D, 1.0)

    def zeros(self) -> np.ndarray:
        """Invariant zeros: where the Rosenbrock system matrix loses rank.

        The finite complex numbers z at which ``P(z) = [[A - z I, B], [C, D]]`` has rank
        below its normal rank (its rank at almost every z). For a square model with a
        nonsingular transfer matrix these are the transmission zeros (where ``det G(z)``
        vanishes) together with the decoupling zeros; for a non-square model (m != p) the
        normal rank is ``n + rank G``, so a generic non-square model has no zeros, and one
        with dependent outputs or inputs has the zeros of its square part.

        Returns
        -------
        z : (k,) complex array
            The finite invariant zeros, in no particular order (k <= n).

        See Also
        --------
        poles : the eigenvalues of A.
        dcgain : the gain at z = 1, zero in the directions of a zero at 1.

        Notes
        -----
        The Emami-Naeini and Van Dooren reduction ([1]_): orthogonal row compressions of
        D and column compressions of C deflate the infinite zeros and the left null space
        until D has full row rank, the same on the dual system removes the right null
        space, and the finite zeros are the generalized eigenvalues
        (``scipy.linalg.eigvals``) of the square, regular pencil that remains. Rank
        decisions use ``(n + p)(n + m) eps ||P||_F``, as SLICOT's AB08ND. The result equals
        python-control's ``zeros()`` (AB08ND through slycot) for any shape, and
        ``scipy.linalg.eigvals`` of the full pencil for a square model; for an output-only
        model (m = 0) the zeros are the unobservable modes.

        References
        ----------
        .. [1] A. Emami-Naeini and P. Van Dooren, "Computation of zeros of linear
           multivariable systems", Automatica 18(4), 1982.

        Examples
        --------
        >>> import numpy as np, realize
        >>> sys = realize.StateSpace([[0.5, 0.0], [0.0, 0.2]], [[1.0], [1.0]], [[1.0, 1.0]])
        >>> np.round(sys.zeros().real, 6)
        array([0.35])
        >>> tall = realize.StateSpace(sys.A, sys.B, [[1.0, 1.0], [2.0, 2.0]])  # m = 1, p = 2
        >>> np.round(tall.zeros().real, 6)
        array([0.35])
        """
        return _invariant_zeros(self.A, self.B, self.C, self.D)

    def step(self, T: int) -> np.ndarray:
        """Step response from a zero state: each input switched to one at time 0.

        Parameters
        ----------
        T : int
            Number of samples.

        Returns
        -------
        y : (T, p, m) array
            ``y[k, :, j]`` is the output at time ``t_k = k dt`` (k = 0, ..., T-1) for
            ``u_j[t] = 1`` at every ``t >= 0``, other inputs zero and ``x[0] = 0``; so
            ``y[0] = D`` and ``y[k] = D + sum_{i<k} C A^i B``.

        Raises
        ------
        InvalidValueError
            ``T`` not a non-negative integer.
        NonFiniteError
            An unstable model whose response overflows.

        See Also
        --------
        impulse, initial, simulate, dcgain

        Notes
        -----
        The times are ``np.arange(T) * dt``. python-control's
        ``step_response(sys.to_control(), np.arange(T) * dt).outputs`` holds the same
        values with shape ``(p, m, T)`` (squeezed to ``(T,)`` for one input and output).

        Examples
        --------
        >>> import realize
        >>> realize.StateSpace([[0.5]], [[1.0]], [[1.0]]).step(4)[:, 0, 0].tolist()
        [0.0, 1.0, 1.5, 1.75]
        """
        T = as_int(T, "T", low=0)
        y = np.empty((T, self.p, self.m))
        X = np.zeros((self.n, self.m))
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(T):
                y[k] = self.C @ X + self.D
                X = self.A @ X + self.B
        self._check_response(y, "step")
        return y

    def impulse(self, T: int) -> np.ndarray:
        """Impulse response from a zero state, with python-control's unit-area impulse.

        Parameters
        ----------
        T : int
            Number of samples.

        Returns
        -------
        y : (T, p, m) array
            ``y[k, :, j]`` is the output at time ``t_k = k dt`` for the input
            ``u_j[0] = 1 / dt`` (a pulse of unit area: height ``1/dt`` for one sampling
            period), zero afterwards: ``y[0] = D / dt`` and ``y[k] = C A^(k-1) B / dt``.

        Raises
        ------
        InvalidValueError
            ``T`` not a non-negative integer.
        NonFiniteError
            An unstable model whose response overflows.

        See Also
        --------
        markov : the unit-pulse response, ``markov(T) == dt * impulse(T)``.
        step, initial

        Notes
        -----
        This is python-control's discrete-time convention: its ``impulse_response``
        applies ``1 / dt`` at the first sample so that the pulse approximates a Dirac
        impulse of unit area (the sampled continuous impulse response), and
        ``impulse_response(sys.to_control(), np.arange(T) * dt).outputs`` equals this with
        shape ``(p, m, T)``. For the default ``dt = 1`` it is the sequence of Markov
        parameters.

        Examples
        --------
        >>> import realize
        >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], dt=0.5)
        >>> sys.impulse(4)[:, 0, 0].tolist(), sys.markov(4)[:, 0, 0].tolist()
        ([0.0, 2.0, 1.0, 0.5], [0.0, 1.0, 0.5, 0.25])
        """
        y = self.markov(as_int(T, "T", low=0)) / self.dt
        self._check_response(y, "impulse")
        return y

    def initial(self, x0, T: int) -> np.ndarray:
        """Free response from the initial state ``x0`` (zero input, no noise).

        Parameters
        ----------
        x0 : (n,) array_like
            Initial state ``x[0]``.
        T : int
            Number of samples.

        Returns
        -------
        y : (T, p) array
            ``y[k] = C A^k x0``, the output at time ``t_k = k dt``.

        Raises
        ------
        ShapeError
            ``x0`` not of length n, or not real.
        NonFiniteError
            NaN or Inf in ``x0``, or an unstable model whose response overflows.
        InvalidValueError
            ``T`` not a non-negative integer.

        See Also
        --------
        step, impulse, simulate

        Notes
        -----
        Equals ``initial_response(sys.to_control(), np.arange(T) * dt, X0=x0).outputs``
        of python-control (shape ``(p, T)``, squeezed for one output).

        Examples
        --------
        >>> import realize
        >>> realize.StateSpace([[0.5]], C=[[2.0]]).initial([1.0], 4).ravel().tolist()
        [2.0, 1.0, 0.5, 0.25]
        """
        x = as_matrix(x0, "x0", rows=self.n, cols=1).ravel()
        T = as_int(T, "T", low=0)
        y = np.empty((T, self.p))
        with np.errstate(over="ignore", invalid="ignore"):
            for k in range(T):
                y[k] = self.C @ x
                x = self.A @ x
        self._check_response(y, "initial")
        return y

    def _check_response(self, y: np.ndarray, what: str):
        """NonFiniteError, naming the first sample, if a response overflowed."""
        bad = ~np.isfinite(y).all(axis=tuple(range(1, y.ndim)))
        if bad.any():
            k = int(np.argmax(bad))
            raise NonFiniteError(
                f"sys: expected a {what} response that stays finite, got an overflow at "
                f"sample {k} of {y.shape[0]} (spectral radius {self.spectral_radius():.6g}); "
                "use fewer samples"
            )

    def stationary_covariance(self) -> np.ndarray:
        """Stationary state covariance ``P = A P A' + Q`` (Q = K Lambda K' in innovation form).

        Returns
        -------
        P : (n, n) array
            The symmetric PSD solution of the Lyapunov equation, the covariance of x[t]
            in steady state.

        Raises
        ------
        InvalidValueError
            Without a noise model or innovation form.
        NotStableError
            If the model is unstable (no stationary distribution).

        Examples
        --------
        >>> import realize
        >>> realize.StateSpace([[0.5]], Q=[[0.75]], R=[[1.0]]).stationary_covariance()
        array([[1.]])
        """
        from realize.riccati import dlyap

        if not self.is_stable():
            raise NotStableError(
                "sys: expected a stable model for the stationary covariance, "
                f"got spectral radius {self.spectral_radius():.6g}"
            )
        return dlyap(self.A, self._process_noise()[0])

    def _process_noise(self):
        """(Q, R, S) of the model: the noise model, or the one implied by the innovation form."""
        if self.Q is not None:
            return self.Q, self.R, self.S
        if self.K is not None:
            KL = self.K @ self.Lambda
            return KL @ self.K.T, self.Lambda, KL
        raise InvalidValueError(
            "sys: expected a model with a noise model (Q, R, S) or an innovation form (K, Lambda)"
        )

    # ---------------------------------------------------------- conversions
    def innovation_form(self) -> StateSpace:
        """The model with its steady-state Kalman predictor gain K and innovation covariance.

        ``P = A P A' + Q - (A P C' + S) Lambda^{-1} (A P C' + S)'``,
        ``Lambda = C P C' + R``, ``K = (A P C' + S) Lambda^{-1}``.

        Returns
        -------
        sys : StateSpace
            The same model with ``K`` (n, p) and ``Lambda`` (p, p) set (``self`` when it
            already has an innovation form).

        Raises
        ------
        NotStabilizableError
            If the Riccati equation has no stabilizing solution.
        InvalidValueError
            Without a noise model.

        Examples
        --------
        >>> import numpy as np, realize
        >>> sys = realize.StateSpace([[0.9]], Q=[[1.0]], R=[[1.0]]).innovation_form()
        >>> sys.has_innovation_form, sys.K.shape, sys.Lambda.shape
        (True, (1, 1), (1, 1))
        >>> bool(sys.Lambda[0, 0] > 1.0)
        True
        """
        if self.K is not None:
            return self
        if self.Q is None:
            raise InvalidValueError(
                "sys: expected a noise model (Q, R, S) to compute the innovation form, got none"
            )
        from realize.riccati import kalman_gain

        _, K, Lam = kalman_gain(self.A, self.C, self.Q, self.R, self.S)
        return self.replace(K=K, Lambda=Lam)

    def noise_model(self) -> StateSpace:
        """The model with Q, R, S (from the innovation form if needed: Q=KΛK', R=Λ, S=KΛ).

        Returns
        -------
        sys : StateSpace
            The same model with ``Q`` (n, n), ``R`` (p, p) and ``S`` (n, p) set (``self``
            when it already has a noise model).

        Raises
        ------
        InvalidValueError
            Without a noise model or innovation form.

        Examples
        --------
        >>> import realize
        >>> sys = realize.StateSpace([[0.9]], K=[[0.5]], Lambda=[[2.0]]).noise_model()
        >>> sys.Q.tolist(), sys.R.tolist(), sys.S.tolist()
        ([[0.5]], [[2.0]], [[1.0]])
        """
        if self.Q is not None:
            return self
        Q, R, S = self._process_noise()
        return self.replace(Q=Q, R=R, S=S)

    def _check_consistency(self):
        from realize.riccati import kalman_gain

        P, K, Lam = kalman_gain(self.A, self.C, self.Q, self.R, self.S)
        # tolerances on the scale of the model itself, never absolute: a noise model of
        # size 1e-16 is judged as one of size 1. Lambda = C P C' + R sets its own scale;
        # K = (A P C' + S) Lambda^-1 the scale of its rounding errors.
        norm = lambda X: float(np.linalg.norm(X, 2)) if X.size else 0.0  # noqa: E731
        lam_scale = max(norm(Lam), norm(self.Lambda))
        k_scale = (norm(self.A) * norm(P) * norm(self.C) + norm(self.S)) * norm(np.linalg.pinv(Lam))
        k_scale = max(k_scale, norm(K), norm(self.K))
        if not (
            np.allclose(K, self.K, rtol=1e-6, atol=1e-8 * k_scale)
            and np.allclose(Lam, self.Lambda, rtol=1e-6, atol=1e-8 * lam_scale)
        ):
            raise InvalidValueError(
                "K, Lambda: expected the innovation form of the noise model (Q, R, S), got a "
                f"different one (max |K - K_riccati| = {np.max(np.abs(K - self.K)):.3g}, "
                f"max |Lambda - Lambda_riccati| = {np.max(np.abs(Lam - self.Lambda)):.3g})"
            )

    def similarity(self, T) -> StateSpace:
        """The equivalent model in the coordinates x_new = T x.

        ``A -> T A T^-1, B -> T B, C -> C T^-1, Q -> T Q T', S -> T S, K -> T K``;
        R, Lambda, D and the input/output labels are unchanged; state labels are dropped
        (they no longer name the new coordinates).

        Parameters
        ----------
        T : (n, n) array, invertible
            The change of coordinates.

        Returns
        -------
        sys : StateSpace
            The transformed model; it has the same transfer function, poles and (for a
            noise model or innovation form) the same output spectrum.

        Raises
        ------
        ShapeError
            If ``T`` is not (n, n).
        InvalidValueError
            If ``T`` is singular.

        Examples
        --------
        >>> import numpy as np, realize
        >>> sys = realize.StateSpace([[0.9, 0.2], [0.0, 0.5]], [[0.0], [1.0]], [[1.0, 0.0]])
        >>> new = sys.similarity([[2.0, 0.0], [1.0, 1.0]])
        >>> np.allclose(new.markov(5), sys.markov(5))
        True
        """
        T = as_square(T, "T", self.n)
        try:
            Ti = np.linalg.inv(T)
        except np.linalg.LinAlgError:
            raise InvalidValueError(
                "T: expected an invertible matrix, got a singular one"
            ) from None
        fields = self._fields()
        fields.update(
            A=T @ self.A @ Ti,
            B=T @ self.B,
            C=self.C @ Ti,
            state_names=None,
            state_units=None,
        )
        if self.Q is not None:
            fields.update(Q=T @ self.Q @ T.T, S=T @ self.S)
        if self.K is not None:
            fields.update(K=T @ self.K)
        A = fields.pop("A")
        # a similarity keeps the pair consistent; skip the Riccati check for speed and
        # because rounding may move K by more than its tolerance on ill-conditioned T
        return build_unchecked(A, fields)

    # ------------------------------------------------------------ simulation
    def simulate(
        self,
        u=None,
        T: int | None = None,
        x0=None,
        noise: bool = True,
        rng=None,
        return_states: bool = False,
    ):
        """Simulate the model.

        Parameters
        ----------
        u : (T, m) array, optional
            Inputs (1-D means one input). Required when m > 0.
        T : int, optional
            Number of samples; required when there is no input, else must equal len(u).
        x0 : (n,) array, optional
            Initial state. None: zero without noise, a draw from the stationary
            distribution with noise.
        noise : bool, default True
            Add process and measurement noise (only where a noise model or innovation
            form exists).
        rng : numpy.random.Generator or int, optional
            Source of the noise draws.
        return_states : bool, default False
            Also return the states x[0] .. x[T-1].

        Returns
        -------
        y : (T, p) array
        x : (T, n) array, only with ``return_states=True``

        Raises
        ------
        ShapeError
            ``u`` or ``x0`` of the wrong shape, or not real.
        InvalidValueError
            ``T`` not a non-negative integer (``2.7`` is refused, not truncated).
        NotStableError
            ``noise=True`` and ``x0=None`` for an unstable model (no stationary state).
        NonFiniteError
            NaN or Inf in ``u`` or ``x0``, or a simulation that overflows (an unstable
            model over a long horizon): the message names the first sample that did.

        Examples
        --------
        >>> import numpy as np, realize
        >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
        >>> sys.simulate(np.ones(3)).ravel().tolist()
        [0.0, 1.0, 1.5]
        """
        from realize._checks import as_timeseries
        from realize.simulation import simulate_states

        if u is None:
            if self.m:
                raise ShapeError(f"u: expected a (T, {self.m}) input array, got None")
            if T is None:
                raise InvalidValueError(
                    "T: expected the number of samples when u is None, got None"
                )
            T = as_int(T, "T", low=0)
            u = np.zeros((T, 0))
        else:
            if not self.m:
                raise ShapeError(f"u: the model has no inputs, got an array of shape {np.shape(u)}")
            u = as_timeseries(u, "u", channels=self.m)
            if T is not None and as_int(T, "T", low=0) != u.shape[0]:
                raise ShapeError(f"u: expected {as_int(T, 'T')} samples (T), got {u.shape[0]}")
            T = u.shape[0]

        add_noise = as_bool(noise, "noise") and (self.Q is not None or self.K is not None)
        return_states = as_bool(return_states, "return_states")
        rng = np.random.default_rng(rng)
        w = v = None
        if add_noise:
            if self.Q is not None:
                cov = np.block([[self.Q, self.S], [self.S.T, self.R]])
                z = rng.standard_normal((T, self.n + self.p)) @ psd_factor(cov).T
                w, v = z[:, : self.n], z[:, self.n :]
            else:
                e = rng.standard_normal((T, self.p)) @ psd_factor(self.Lambda).T
                w, v = e @ self.K.T, e
        if x0 is None:
            if add_noise:
                if not self.is_stable():
                    raise NotStableError(
                        "x0: the model is unstable and has no stationary distribution to draw "
                        "the initial state from; pass x0 explicitly"
                    )
                x0 = psd_factor(self.stationary_covariance()) @ rng.standard_normal(self.n)
            else:
                x0 = np.zeros(self.n)
        else:
            x0 = as_matrix(x0, "x0", rows=self.n, cols=1).ravel()

        y, X = simulate_states(self.A, self.B, self.C, self.D, u, w, v, x0)
        self._check_overflow(y, X[:T])
        if return_states:
            return y, X[:T]
        return y

    def _check_overflow(self, y: np.ndarray, X: np.ndarray):
        """Raise NonFiniteError, naming the first sample, if a simulation overflowed."""
        bad = ~(np.isfinite(y).all(axis=1) & np.isfinite(X).all(axis=1))
        if not bad.any():
            return
        k = int(np.argmax(bad))
        rho = self.spectral_radius()
        if rho >= 1.0:
            why = (
                f"the model is unstable (spectral radius {rho:.6g} >= 1), so its state grows "
                f"like {rho:.6g}^t past the floating-point range; simulate fewer samples or "
                "use a stable model"
            )
        else:
            why = "the inputs, the initial state or the noise exceed the floating-point range"
        raise NonFiniteError(
            f"sys: expected a simulation that stays finite, got an overflow (Inf or NaN) at "
            f"sample {k} of {y.shape[0]}: {why}"
        )

    # --------------------------------------------------------------- interop
    def to_control(self):
        """The model as a python-control ``StateSpace`` (discrete time, same dt).

        The noise model is not carried (python-control has none).

        Returns
        -------
        sys : control.StateSpace
            With the same A, B, C, D, dt and the input/output/state names and model name
            when set. python-control refuses a ``'.'`` in names, so each dot becomes
            ``'_'`` (a model named after its file, ``'data.csv'``, becomes ``'data_csv'``).

        See Also
        --------
        from_control, to_dlti

        Examples
        --------
        >>> import realize
        >>> csys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], dt=0.1).to_control()
        >>> csys.dt, csys.nstates
        (0.1, 1)
        >>> realize.StateSpace([[0.5]], [[1.0]], [[1.0]], name="data.csv").to_control().name
        'data_csv'
        """
        import control

        def safe(labels):
            return [str(s).replace(".", "_") for s in labels]

        kwargs = {}
        if self.input_names:
            kwargs["inputs"] = safe(self.input_names)
        if self.output_names:
            kwargs["outputs"] = safe(self.output_names)
        if self.state_names:
            kwargs["states"] = safe(self.state_names)
        if self.name:
            kwargs["name"] = self.name.replace(".", "_")
        return control.ss(self.A, self.B, self.C, self.D, self.dt, **kwargs)

    @classmethod
    def from_control(
        cls, sys, *, discretize: str | None = None, dt: float | None = None, **noise
    ) -> StateSpace:
        """A model from a python-control ``StateSpace`` or ``TransferFunction``.

        Parameters
        ----------
        sys : control.StateSpace or control.TransferFunction
        discretize : {'zoh', 'foh', 'tustin', 'euler', 'backward_diff'}, optional
            Required for a continuous-time ``sys``: how to sample it (with ``dt``).
        dt : float, optional
            Sampling period when discretizing.
        **noise
            Optional Q, R, S, K, Lambda for the new model.
        """
        import control

        if not isinstance(sys, control.StateSpace):
            sys = control.ss(sys)
        if sys.isctime(strict=True):
            if discretize is None or dt is None:
                raise InvalidValueError(
                    "sys: expected a discrete-time system, got a continuous-time one; pass "
                    "discretize='zoh' (or 'foh', 'tustin', ...) and dt to sample it"
                )
            sys = sys.sample(float(dt), method=discretize)
        sdt = 1.0 if sys.dt is True or sys.dt is None else float(sys.dt)

        def names(labels, prefix):
            labels = list(labels)
            default = all(s == f"{prefix}[{i}]" for i, s in enumerate(labels))
            return None if default else labels

        return cls(
            np.asarray(sys.A),
            np.asarray(sys.B),
            np.asarray(sys.C),
            np.asarray(sys.D),
            dt=sdt,
            input_names=names(sys.input_labels, "u"),
            output_names=names(sys.output_labels, "y"),
            state_names=names(sys.state_labels, "x"),
            **noise,
        )

    def to_dlti(self):
        """The model as a ``scipy.signal.StateSpace`` in discrete time (dt kept).

        The noise model is not carried.

        Returns
        -------
        sys : scipy.signal.StateSpace
            A discrete-time LTI system with the same A, B, C, D and dt.

        Examples
        --------
        >>> import realize
        >>> d = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], dt=0.1).to_dlti()
        >>> d.dt, d.A.tolist()
        (0.1, [[0.5]])
        """
        import scipy.signal

        return scipy.signal.StateSpace(self.A, self.B, self.C, self.D, dt=self.dt)

    @classmethod
    def from_dlti(
        cls, sys, *, discretize: str | None = None, dt: float | None = None, **noise
    ) -> StateSpace:
        """A model from a ``scipy.signal`` LTI system (StateSpace, TransferFunction, ZerosPolesGain).

        A continuous-time system needs ``discretize`` (a ``scipy.signal.cont2discrete``
        method such as 'zoh', 'foh', 'bilinear') and ``dt``.
        """
        import scipy.signal

        ss = sys.to_ss()
        if ss.dt is None:
            if discretize is None or dt is None:
                raise InvalidValueError(
                    "sys: expected a discrete-time system, got a continuous-time one; pass "
                    "discretize='zoh' (or 'foh', 'bilinear', ...) and dt to sample it"
                )
            A, B, C, D, sdt = scipy.signal.cont2discrete(
                (ss.A, ss.B, ss.C, ss.D), float(dt), method=discretize
            )
        else:
            A, B, C, D, sdt = ss.A, ss.B, ss.C, ss.D, ss.dt
        return cls(A, B, C, D, dt=float(sdt), **noise)

    # ------------------------------------------------------------------ repr
    def __repr__(self) -> str:
        extras = []
        if self.Q is not None:
            extras.append("noise model")
        if self.K is not None:
            extras.append("innovation form")
        head = f"StateSpace(n={self.n}, m={self.m}, p={self.p}, dt={self.dt:g}"
        head += (", " + ", ".join(extras)) if extras else ""
        head += f", name={self.name!r})" if self.name else ")"
        if self.n == 0:
            return head
        poles = self.poles()
        shown = ", ".join(
            f"{z.real:.4g}{z.imag:+.4g}j" if abs(z.imag) > 1e-12 else f"{z.real:.4g}"
            for z in poles[:8]
        )
        more = ", ..." if len(poles) > 8 else ""
        status = "stable" if self.is_stable() else "unstable"
        return f"{head}\n  poles: [{shown}{more}] ({status})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, StateSpace):
            return NotImplemented
        a, b = self._fields(), other._fields()
        for k in a:
            x, y = a[k], b[k]
            if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
                if x is None or y is None or x.shape != y.shape or not np.array_equal(x, y):
                    return False
            elif x != y:
                return False
        return True

    __hash__ = None

    # ------------------------------------------------------------ arithmetic
    # numpy arrays on the left defer to these methods instead of broadcasting
    __array_ufunc__ = None

    def __mul__(self, other) -> StateSpace:
        """``self * other`` is ``series(other, self)``: other first, as ``G_self G_other``."""
        from realize.connections import series
        from realize.connections import supported_operand as _supported

        return series(other, self) if _supported(other) else NotImplemented

    def __rmul__(self, other) -> StateSpace:
        """``other * self`` is ``series(self, other)``."""
        from realize.connections import series
        from realize.connections import supported_operand as _supported

        return series(self, other) if _supported(other) else NotImplemented

    def __add__(self, other) -> StateSpace:
        """``self + other`` is ``parallel(self, other)``."""
        from realize.connections import parallel
        from realize.connections import supported_operand as _supported

        return parallel(self, other) if _supported(other) else NotImplemented

    def __radd__(self, other) -> StateSpace:
        from realize.connections import parallel
        from realize.connections import supported_operand as _supported

        return parallel(other, self) if _supported(other) else NotImplemented

    def __neg__(self) -> StateSpace:
        """``-self``: the output negated (see :func:`realize.connections.negate`)."""
        from realize.connections import negate

        return negate(self)

    def __sub__(self, other) -> StateSpace:
        """``self - other`` is ``parallel(self, -other)``."""
        from realize.connections import minus_operand as _minus
        from realize.connections import parallel
        from realize.connections import supported_operand as _supported

        return parallel(self, _minus(other, "b")) if _supported(other) else NotImplemented

    def __rsub__(self, other) -> StateSpace:
        from realize.connections import minus_operand as _minus
        from realize.connections import parallel
        from realize.connections import supported_operand as _supported

        return parallel(other, _minus(self, "b")) if _supported(other) else NotImplemented


def build_unchecked(A, fields) -> StateSpace:
    """Construct a StateSpace skipping the noise-model / innovation-form consistency check."""
    K, Lam = fields.pop("K"), fields.pop("Lambda")
    sys = StateSpace(A, **fields)
    if K is not None:
        K = as_matrix(K, "K", sys.n, sys.p)
        Lam = check_psd(as_square(Lam, "Lambda", sys.p), "Lambda")
        for attr, value in (("K", K), ("Lambda", Lam)):
            value = np.array(value, dtype=float, order="C")
            value.setflags(write=False)
            object.__setattr__(sys, attr, value)
    return sys
