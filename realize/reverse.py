"""Reverse-time (backward) models of stationary Gaussian processes.

Discrete time
-------------
A stable forward model

    x[t+1] = A x[t] + w[t],   y[t] = C x[t] + v[t],   cov([w; v]) = [[Q, S], [S', R]]

with stationary state covariance ``P = A P A' + Q > 0`` generates a stationary
output process with covariances ``Lambda_0 = C P C' + R`` and
``Lambda_k = E[y[t+k] y[t]'] = C A^(k-1) G`` (k >= 1), where ``G = A P C' + S``.
The same process has a *backward* Markovian model (Lindqvist & Picci, 1979): with
``z[t] = x[t+1]``,

    z[t-1] = P A' P^-1 z[t] + wb[t],   y[t] = G' P^-1 z[t] + vb[t],

where ``[wb; vb]`` is white and orthogonal to the future ``z[s], s >= t``. In the
dual basis ``xb = P^-1 z`` the pair becomes ``(A', G')`` and the state covariance
``P^-1``. :func:`backward_model` returns it as a :class:`~realize.model.StateSpace`
whose own time index runs backwards.

Continuous time
---------------
For ``dx = A x dt + G dw`` with ``x(0) ~ N(0, P0)``, the covariance ``P(t)`` solves
``dP/dt = A P + P A' + G G'``; in reversed time ``tau = t1 - t`` the same process
solves (Anderson, 1982)

    dx = -(A + G G' P(t)^-1) x dtau + G dW,

the score being ``grad log p_t(x) = -P(t)^-1 x``: the reverse-diffusion equation of
diffusion models, in the linear-Gaussian case. :func:`reverse_time_sde` returns a
:class:`ReverseTimeSDE` with Euler-Maruyama and exact Gaussian-transition samplers.

References
----------
A. Lindquist and G. Picci, "On the stochastic realization problem", SIAM J. Control
Optim. 17(3), 365-389, 1979.
A. Lindquist and G. Picci, *Linear Stochastic Systems*, Springer, 2015, Ch. 6.
B. D. O. Anderson, "Reverse-time diffusion equation models", Stochastic Processes
and their Applications 12(3), 313-326, 1982.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from realize._checks import as_matrix, as_square, check_psd, describe
from realize._linalg import psd_factor, symmetrize
from realize.errors import (
    InvalidValueError,
    NotControllableError,
    NotPositiveSemidefiniteError,
    NotStableError,
    ShapeError,
)
from realize.model import StateSpace, build_unchecked
from realize.riccati import dlyap, kalman_gain

__all__ = ["backward_model", "backward_arrays", "reverse_time_sde", "ReverseTimeSDE"]


def backward_arrays(A, C, Q, R, S, P=None):
    """Matrices of the backward model in the forward basis ``z[t] = x[t+1]``.

    The array-level core of :func:`backward_model` (no validation beyond P > 0).

    Parameters
    ----------
    A : (n, n) array
    C : (p, n) array
    Q, R, S : (n, n), (p, p), (n, p) arrays
        Forward noise model.
    P : (n, n) array, optional
        Stationary state covariance (computed from ``P = A P A' + Q`` if omitted).

    Returns
    -------
    Ab, Cb, Qb, Rb, Sb, P : arrays
        ``Ab = P A' P^-1``, ``Cb = G' P^-1``, ``Qb = P - Ab P Ab'``,
        ``Rb = Lambda_0 - Cb P Cb'``, ``Sb = P C' - Ab G``, and P.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.reverse import backward_arrays
    >>> Ab, Cb, Qb, Rb, Sb, P = backward_arrays(
    ...     np.array([[0.5]]), np.eye(1), 0.75 * np.eye(1), np.eye(1), np.zeros((1, 1)))
    >>> P.tolist(), Ab.tolist()  # a scalar AR(1) is time reversible: Ab = A
    ([[1.0]], [[0.5]])
    """
    if P is None:
        P = dlyap(A, Q)
    P = symmetrize(P)
    cho = sla.cho_factor(P)
    G = A @ P @ C.T + S
    Lam0 = symmetrize(C @ P @ C.T + R)
    # P A' P^-1 = (P^-1 A P)' and G' P^-1 = (P^-1 G)' because P is symmetric
    Ab = sla.cho_solve(cho, A @ P).T
    Cb = sla.cho_solve(cho, G).T
    Qb = symmetrize(P - Ab @ P @ Ab.T)
    Rb = symmetrize(Lam0 - Cb @ G)
    Sb = P @ C.T - Ab @ G
    return Ab, Cb, Qb, Rb, Sb, P


def backward_model(sys, *, basis: str = "forward", innovation: bool = True):
    """Backward (reverse-time) Markovian model of a stationary output process.

    Parameters
    ----------
    sys : StateSpace
        Stable model with a noise model (Q, R, S) or an innovation form (K, Lambda),
        no deterministic inputs (m = 0), and a positive definite stationary state
        covariance P.
    basis : {"forward", "dual"}, default "forward"
        ``"forward"``: the backward state is ``z[t] = x[t+1]``, in the forward model's
        coordinates (state covariance P). ``"dual"``: the backward state is
        ``P^-1 x[t+1]``, where the pair is ``(A', G')`` and the state covariance P^-1.
    innovation : bool, default True
        Also attach the backward innovation form (the steady-state backward Kalman
        predictor, from the Riccati equation of the backward noise model).

    Returns
    -------
    StateSpace
        A model whose own time index ``s`` runs backwards: its output at ``s`` is
        ``y[-s]``. In the forward basis

        ``A_b = P A' P^-1``, ``C_b = G' P^-1``, ``Q_b = P - A_b P A_b'``,
        ``R_b = Lambda_0 - G' P^-1 G``, ``S_b = P C' - P A' P^-1 G``,

        with ``G = A P C' + S`` and ``Lambda_0 = C P C' + R``.

    Raises
    ------
    NotStableError
        If sys is unstable (no stationary covariance).
    NotControllableError
        If the stationary covariance P is singular (the noise does not reach every
        state): reduce the model first.
    InvalidValueError
        Without a noise model or innovation form, with inputs, or an unknown basis.

    Notes
    -----
    How to use it: simulate the returned model forward in its own time,
    ``yb = bsys.simulate(T=N)``, and read the result backwards, ``yb[::-1]``: that is
    a sample path of the forward process (same law). Equivalently, the output
    covariances of the backward model are the forward ones transposed,
    ``C_b A_b^(k-1) G_b = (C A^(k-1) G)' = Lambda_k'`` with ``G_b = A_b P C_b' + S_b``,
    because ``E[y[s+k] y[s]']`` in backward time is ``E[y[t-k] y[t]']``.
    The backward noise ``[wb; vb]`` is white and orthogonal to the backward past
    (the forward future), so the backward innovation form is a Kalman predictor of
    ``y[t]`` from ``y[t+1], y[t+2], ...`` (a smoother's backward pass).

    References
    ----------
    A. Lindquist and G. Picci, "On the stochastic realization problem", SIAM J.
    Control Optim. 17(3), 1979; *Linear Stochastic Systems*, Springer, 2015, Sec. 6.2.

    Examples
    --------
    >>> import numpy as np, realize
    >>> fwd = realize.StateSpace([[0.8]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> bwd = realize.backward_model(fwd)
    >>> round(float(bwd.A[0, 0]), 12)  # scalar case: P a P^-1 = a
    0.8
    >>> P = fwd.stationary_covariance()
    >>> lam1_fwd = fwd.C @ fwd.A @ P @ fwd.C.T
    >>> Gb = bwd.A @ P @ bwd.C.T + bwd.S
    >>> bool(np.allclose(bwd.C @ Gb, lam1_fwd.T))
    True
    """
    Q, R, S, P = _stationary_noise(sys, basis)
    Ab, Cb, Qb, Rb, Sb, P = backward_arrays(sys.A, sys.C, Q, R, S, P)
    if basis == "dual":
        # xb = P^-1 z: A -> P^-1 Ab P = A', C -> Cb P = G', Q -> P^-1 Qb P^-1, S -> P^-1 Sb
        Pi = np.linalg.inv(P)
        Ab, Cb = sys.A.T.copy(), (sys.A @ P @ sys.C.T + S).T
        Qb, Sb = symmetrize(Pi - sys.A.T @ Pi @ sys.A), sys.C.T - sys.A.T @ Pi @ (Cb.T)
    return _backward_statespace(sys, Ab, Cb, Qb, Rb, Sb, innovation)


def _stationary_noise(sys, basis: str):
    """``(Q, R, S, P)`` of a model that :func:`backward_model` accepts (its checks, in
    order): the noise model (implied by the innovation form if need be) and P > 0."""
    if not isinstance(sys, StateSpace):
        raise InvalidValueError(f"sys: expected a realize.StateSpace, got {describe(sys)}")
    if basis not in ("forward", "dual"):
        raise InvalidValueError(f"basis: expected 'forward' or 'dual', got {basis!r}")
    if sys.m:
        raise InvalidValueError(
            f"sys: expected a model of a stationary process without inputs (m = 0), got m = "
            f"{sys.m}; drop the deterministic part with sys.replace(B=np.zeros((n, 0)), "
            "D=np.zeros((p, 0)))"
        )
    if sys.Q is None and sys.K is None:
        raise InvalidValueError(
            "sys: expected a noise model (Q, R, S) or an innovation form (K, Lambda), got neither"
        )
    if not sys.is_stable():
        raise NotStableError(
            "sys: expected a stable model (the backward model needs the stationary "
            f"covariance), got spectral radius {sys.spectral_radius():.6g}"
        )
    Q, R, S = sys._process_noise()
    P = sys.stationary_covariance()
    lam = np.linalg.eigvalsh(P)
    if sys.n and lam[0] <= 1e-12 * max(lam[-1], np.finfo(float).tiny):
        raise NotControllableError(
            "sys: expected a positive definite stationary state covariance P, got "
            f"eigenvalues in [{lam[0]:.3g}, {lam[-1]:.3g}] (the noise does not excite "
            "every state; reduce the model first)"
        )
    return Q, R, S, P


def _backward_statespace(sys, Ab, Cb, Qb, Rb, Sb, innovation: bool) -> StateSpace:
    """The backward model of ``sys`` from its matrices: the outputs' labels kept, no
    inputs, the backward innovation form attached when asked."""
    fields = dict(
        C=Cb,
        dt=sys.dt,
        Q=Qb,
        R=Rb,
        S=Sb,
        output_names=sys.output_names,
        output_units=sys.output_units,
        name=None if sys.name is None else f"{sys.name} (backward)",
        K=None,
        Lambda=None,
    )
    if innovation:
        _, Kb, Lb = kalman_gain(Ab, Cb, Qb, Rb, Sb)
        fields.update(K=Kb, Lambda=Lb)
    # Qb, Rb, Sb are PSD by construction (conditional covariances); skip the re-check
    # that rounding could trip when P is ill conditioned.
    fields.update(B=np.zeros((sys.n, 0)), D=np.zeros((sys.p, 0)))
    for key in ("input_names", "input_units", "state_names", "state_units"):
        fields[key] = None
    return build_unchecked(Ab, fields)


# ---------------------------------------------------------------- continuous time
class ReverseTimeSDE:
    """A linear SDE and its reverse-time (score-corrected) counterpart.

    Forward, for ``0 <= t <= t1``: ``dx = A x dt + G dw``, ``x(0) ~ N(0, P0)``;
    reverse, in ``tau = t1 - t``: ``dx = -(A + G G' P(t)^-1) x dtau + G dW``.

    Build it with :func:`reverse_time_sde`.

    Attributes
    ----------
    A : (n, n) array
        Drift matrix.
    G : (n, q) array
        Diffusion matrix.
    P0 : (n, n) array
        Covariance of the initial state x(0).
    t1 : float
        Final time of the forward process.
    n : int
        State dimension.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sde = realize.reverse_time_sde([[-1.0]], [[1.0]], [[1.0]], 1.0)
    >>> round(float(sde.covariance(1.0)[0, 0]), 6)  # e^-2 + (1 - e^-2) / 2
    0.567668
    >>> sde.sample(n_samples=5, n_steps=10, rng=0).shape
    (5, 1)
    """

    def __init__(self, A, G, P0, t1):
        self.A, self.G, self.P0, self.t1 = A, G, P0, t1
        self.n = A.shape[0]
        self._GG = G @ G.T

    # ---- moments
    def transition(self, h: float):
        """Exact transition over a step h: ``x(t+h) = Phi x(t) + e``, ``e ~ N(0, Qh)``.

        Returns
        -------
        Phi : (n, n) array
            ``expm(A h)``.
        Qh : (n, n) array
            ``int_0^h expm(A s) G G' expm(A' s) ds`` (Van Loan's block exponential).
        """
        n = self.n
        M = np.zeros((2 * n, 2 * n))
        M[:n, :n] = -self.A
        M[:n, n:] = self._GG
        M[n:, n:] = self.A.T
        E = sla.expm(M * h)
        Phi = E[n:, n:].T
        return Phi, symmetrize(Phi @ E[:n, n:])

    def covariance(self, t: float) -> np.ndarray:
        """``P(t) = expm(A t) P0 expm(A' t) + int_0^t expm(A s) G G' expm(A' s) ds``.

        Parameters
        ----------
        t : float
            Time, ``t >= 0``.

        Returns
        -------
        P : (n, n) array
            Covariance of x(t).

        Raises
        ------
        InvalidValueError
            If t is negative or not finite.
        """
        t = float(t)
        if not np.isfinite(t) or t < 0:
            raise InvalidValueError(f"t: expected a finite time t >= 0, got {t}")
        Phi, Qt = self.transition(t)
        return symmetrize(Phi @ self.P0 @ Phi.T + Qt)

    def score(self, t: float, x) -> np.ndarray:
        """``grad log p_t(x) = -P(t)^-1 x``; x is (n,) or (N, n).

        Parameters
        ----------
        t : float
            Time, ``t >= 0``.
        x : (n,) or (N, n) array
            Points at which to evaluate the score.

        Returns
        -------
        score : array, same shape as x
        """
        P = self.covariance(t)
        x = np.asarray(x, dtype=float)
        return -np.linalg.solve(P, x.T).T

    def drift(self, tau: float, x) -> np.ndarray:
        """Reverse-time drift ``-(A + G G' P(t1 - tau)^-1) x``; x is (n,) or (N, n).

        Parameters
        ----------
        tau : float
            Reverse time, ``0 <= tau <= t1`` (``t = t1 - tau``).
        x : (n,) or (N, n) array
            States.

        Returns
        -------
        drift : array, same shape as x
        """
        x = np.asarray(x, dtype=float)
        return -(x @ self.A.T) + self.score(self.t1 - float(tau), x) @ self._GG.T

    def _grid(self, n_steps: int):
        """Covariances P(t_k) on the uniform grid t_k = k t1 / n_steps, with Phi, Qh."""
        n_steps = int(n_steps)
        if n_steps < 1:
            raise InvalidValueError(f"n_steps: expected a positive integer, got {n_steps}")
        h = self.t1 / n_steps
        Phi, Qh = self.transition(h)
        Ps = np.empty((n_steps + 1, self.n, self.n))
        Ps[0] = self.P0
        for k in range(n_steps):
            Ps[k + 1] = symmetrize(Phi @ Ps[k] @ Phi.T + Qh)
        return h, Phi, Qh, Ps

    def _initial(self, x, n_samples, cov, rng, name):
        if x is None:
            if n_samples is None:
                raise InvalidValueError(
                    f"n_samples: expected a count when {name} is None, got None"
                )
            n_samples = int(n_samples)
            if n_samples < 1:
                raise InvalidValueError(f"n_samples: expected a positive integer, got {n_samples}")
            L = np.linalg.cholesky(cov)
            return rng.standard_normal((n_samples, self.n)) @ L.T
        x = np.asarray(x, dtype=float)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.n:
            raise ShapeError(f"{name}: expected an (N, {self.n}) array, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise InvalidValueError(f"{name}: expected finite values, got NaN or Inf")
        return x.copy()

    # ---- samplers
    def sample_forward(
        self, x0=None, *, n_samples=None, n_steps: int = 100, rng=None, return_path: bool = False
    ):
        """Sample the forward process from t = 0 to t1 with exact Gaussian transitions.

        Parameters
        ----------
        x0 : (N, n) or (n,) array, optional
            Initial states; None draws ``n_samples`` from N(0, P0).
        n_samples : int, optional
        n_steps : int, default 100
            Uniform steps of length ``t1 / n_steps``.
        rng : numpy.random.Generator or int, optional
        return_path : bool, default False

        Returns
        -------
        x : (N, n) array
            States at t1; with ``return_path`` the whole path ``(n_steps + 1, N, n)`` and
            the times ``(n_steps + 1,)`` (increasing from 0 to t1).
        """
        rng = np.random.default_rng(rng)
        h, Phi, Qh, _ = self._grid(n_steps)
        x = self._initial(x0, n_samples, self.P0, rng, "x0")
        Lq = psd_factor(Qh)
        path = [x] if return_path else None
        for _ in range(int(n_steps)):
            x = x @ Phi.T + rng.standard_normal((x.shape[0], Lq.shape[1])) @ Lq.T
            if return_path:
                path.append(x)
        if return_path:
            return np.stack(path), np.linspace(0.0, self.t1, int(n_steps) + 1)
        return x

    def sample(
        self,
        x1=None,
        *,
        n_samples=None,
        n_steps: int = 100,
        method: str = "exact",
        rng=None,
        return_path: bool = False,
    ):
        """Sample the reverse-time process from t = t1 back to t = 0.

        Parameters
        ----------
        x1 : (N, n) or (n,) array, optional
            States at t1 (tau = 0); None draws ``n_samples`` from N(0, P(t1)).
        n_samples : int, optional
        n_steps : int, default 100
            Uniform steps of length ``h = t1 / n_steps`` in tau.
        method : {"exact", "euler"}, default "exact"
            ``"exact"``: the Gaussian backward transitions of the process,
            ``x(t-h) | x(t) ~ N(P(t-h) Phi' P(t)^-1 x(t), P(t-h) - P(t-h) Phi' P(t)^-1 Phi P(t-h))``
            with ``Phi = expm(A h)``: no discretization error. ``"euler"``:
            Euler-Maruyama on the reverse SDE,
            ``x <- x - h (A + G G' P(t)^-1) x + sqrt(h) G xi``, weak order one.
        rng : numpy.random.Generator or int, optional
        return_path : bool, default False

        Returns
        -------
        x : (N, n) array
            States at t = 0; with ``return_path`` the path ``(n_steps + 1, N, n)`` in tau
            order and the times t ``(n_steps + 1,)`` (decreasing from t1 to 0).
        """
        if method not in ("exact", "euler"):
            raise InvalidValueError(f"method: expected 'exact' or 'euler', got {method!r}")
        rng = np.random.default_rng(rng)
        h, Phi, _, Ps = self._grid(n_steps)
        K = int(n_steps)
        x = self._initial(x1, n_samples, Ps[K], rng, "x1")
        path = [x] if return_path else None
        sqh_G = np.sqrt(h) * self.G
        for k in range(K, 0, -1):
            if method == "exact":
                # E[x(t_{k-1}) x(t_k)'] = P_{k-1} Phi'
                F = np.linalg.solve(Ps[k], Phi @ Ps[k - 1]).T
                cov = symmetrize(Ps[k - 1] - F @ Phi @ Ps[k - 1])
                L = psd_factor(cov)
                x = x @ F.T + rng.standard_normal((x.shape[0], L.shape[1])) @ L.T
            else:
                # drift at tau = t1 - t_k, i.e. at forward time t_k
                M = self.A + self._GG @ np.linalg.inv(Ps[k])
                x = x - h * (x @ M.T) + rng.standard_normal((x.shape[0], self.G.shape[1])) @ sqh_G.T
            if return_path:
                path.append(x)
        if return_path:
            return np.stack(path), np.linspace(self.t1, 0.0, K + 1)
        return x

    def __repr__(self) -> str:
        return f"ReverseTimeSDE(n={self.n}, q={self.G.shape[1]}, t1={self.t1:g})"


def reverse_time_sde(A, G, P0, t1) -> ReverseTimeSDE:
    """The reverse-time model of a linear Gaussian SDE.

    Parameters
    ----------
    A : (n, n) array
        Drift matrix of ``dx = A x dt + G dw`` (need not be stable).
    G : (n, q) array
        Diffusion matrix (w a q-dimensional standard Wiener process).
    P0 : (n, n) array
        Covariance of ``x(0) ~ N(0, P0)``, symmetric positive definite.
    t1 : float
        Final time (> 0); the reverse process runs in ``tau = t1 - t``.

    Returns
    -------
    ReverseTimeSDE
        With ``covariance(t)`` (the Lyapunov differential equation's solution P(t)),
        ``score(t, x) = -P(t)^-1 x``, ``drift(tau, x)``, and the samplers
        ``sample_forward`` (exact) and ``sample(method="exact" | "euler")``.

    Raises
    ------
    ShapeError
        Mismatched sizes.
    NotPositiveSemidefiniteError
        If P0 is not symmetric positive definite.
    InvalidValueError
        A non-positive or non-finite t1.

    Notes
    -----
    ``dP/dt = A P + P A' + G G'``, ``P(0) = P0``. Because P0 > 0, P(t) > 0 for all t, so
    the score exists everywhere. The reverse drift ``-A x + G G' grad log p_t(x)``
    (Anderson, 1982) makes the reverse process, started from ``N(0, P(t1))``, have the
    forward marginals ``N(0, P(t))`` at every t, and the forward-backward pair the same
    joint law.

    References
    ----------
    B. D. O. Anderson, "Reverse-time diffusion equation models", Stoch. Proc. Appl.
    12(3), 1982. Y. Song et al., "Score-based generative modeling through stochastic
    differential equations", ICLR 2021.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sde = realize.reverse_time_sde([[-1.0]], [[np.sqrt(2.0)]], [[0.25]], 2.0)
    >>> round(float(sde.covariance(50.0)[0, 0]), 6)  # tends to the stationary value 1
    1.0
    >>> x0 = sde.sample(n_samples=20000, n_steps=20, rng=0)
    >>> bool(abs(x0.var() - 0.25) < 0.02)
    True
    """
    A = as_square(A, "A")
    n = A.shape[0]
    G = as_matrix(G, "G", rows=n)
    P0 = check_psd(as_square(P0, "P0", n), "P0")
    try:
        np.linalg.cholesky(P0)
    except np.linalg.LinAlgError:
        raise NotPositiveSemidefiniteError(
            f"P0: expected a positive definite covariance, got smallest eigenvalue "
            f"{np.linalg.eigvalsh(P0)[0]:.3g}"
        ) from None
    try:
        t1 = float(t1)
    except (TypeError, ValueError):
        raise InvalidValueError(f"t1: expected a positive number, got {describe(t1)}") from None
    if not np.isfinite(t1) or t1 <= 0:
        raise InvalidValueError(f"t1: expected a positive finite time, got {t1}")
    return ReverseTimeSDE(A, G, P0, t1)
