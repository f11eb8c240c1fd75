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

This module holds the model itself (its validation, noise model and innovation form,
poles, Markov parameters, similarity, repr). The methods with a job of their own are thin
and call the module that does it, sharing its docstring: :mod:`realize.lti` (zeros,
gains, responses), :mod:`realize.simulation` and :mod:`realize.interop` (python-control,
``scipy.signal``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from realize import interop, lti, simulation
from realize._checks import (
    as_float,
    as_int,
    as_matrix,
    as_square,
    check_psd,
    describe,
)
from realize.errors import InvalidValueError, NotStableError, ShapeError

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


def _doc_of(function):
    """Give a method that calls ``function(self, ...)`` the docstring of ``function``."""

    def document(method):
        method.__doc__ = function.__doc__
        return method

    return document


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

    # ------------------------------- the LTI basics, in realize.lti (docstrings shared)
    @_doc_of(lti.freqresp)
    def freqresp(self, w, *, normalized: bool = False) -> np.ndarray:
        return lti.freqresp(self, w, normalized=normalized)

    @_doc_of(lti.dcgain)
    def dcgain(self) -> np.ndarray:
        return lti.dcgain(self)

    @_doc_of(lti.zeros)
    def zeros(self) -> np.ndarray:
        return lti.zeros(self)

    @_doc_of(lti.step)
    def step(self, T: int) -> np.ndarray:
        return lti.step(self, T)

    @_doc_of(lti.impulse)
    def impulse(self, T: int) -> np.ndarray:
        return lti.impulse(self, T)

    @_doc_of(lti.initial)
    def initial(self, x0, T: int) -> np.ndarray:
        return lti.initial(self, x0, T)

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
        return self._in_coordinates(T, T @ self.A @ Ti, T @ self.B, self.C @ Ti)

    def _in_coordinates(self, T, A, B, C) -> StateSpace:
        """The model in the coordinates ``x_new = T x`` whose ``A, B, C`` (``T A T^-1``,
        ``T B``, ``C T^-1``, or a canonical form's exactly structured version of them) the
        caller computed; the noise model and innovation form follow T."""
        fields = self._fields()
        fields.update(B=B, C=C, state_names=None, state_units=None)
        if self.Q is not None:
            fields.update(Q=T @ self.Q @ T.T, S=T @ self.S)
        if self.K is not None:
            fields.update(K=T @ self.K)
        del fields["A"]
        # a similarity keeps the pair consistent; skip the Riccati check for speed and
        # because rounding may move K by more than its tolerance on ill-conditioned T
        return build_unchecked(A, fields)

    # ------------------------------------------ simulation, in realize.simulation
    @_doc_of(simulation.simulate)
    def simulate(
        self,
        u=None,
        T: int | None = None,
        x0=None,
        noise: bool = True,
        rng=None,
        return_states: bool = False,
    ):
        return simulation.simulate(self, u, T, x0, noise, rng, return_states)

    # ------------------------- python-control and scipy.signal, in realize.interop
    @_doc_of(interop.to_control)
    def to_control(self):
        return interop.to_control(self)

    @classmethod
    @_doc_of(interop.from_control)
    def from_control(
        cls, sys, *, discretize: str | None = None, dt: float | None = None, **noise
    ) -> StateSpace:
        return interop.from_control(cls, sys, discretize=discretize, dt=dt, **noise)

    @_doc_of(interop.to_dlti)
    def to_dlti(self):
        return interop.to_dlti(self)

    @classmethod
    @_doc_of(interop.from_dlti)
    def from_dlti(
        cls, sys, *, discretize: str | None = None, dt: float | None = None, **noise
    ) -> StateSpace:
        return interop.from_dlti(cls, sys, discretize=discretize, dt=dt, **noise)

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
