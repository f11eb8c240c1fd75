"""Prediction-error (maximum-likelihood) refinement of a model in innovation form.

The one-step predictor of the innovation model ``(A, B, C, D, K)`` is

.. math::

    \\hat x(t+1) = (A - K C) \\hat x(t) + (B - K D) u(t) + K y(t), \\qquad
    e(t) = y(t) - C \\hat x(t) - D u(t),

and, with Gaussian innovations of unknown covariance, the likelihood is maximized by
minimizing ``V = log det(E'E / N)`` (the innovation covariance concentrated out;
Ljung 1999, Sec. 7.3). ``Lambda = E'E / N`` at the optimum.

Parametrization: data-driven local coordinates (DDLC; McKelvey, Helmersson & Ribarits
2004). Around the current model ``z0 = vec(A, B, C, [D], K)`` the ``n^2`` directions
``(E A - A E, E B, -C E, 0, E K)`` of the similarity orbit leave the predictor unchanged;
the parameters ``theta`` move ``z = z0 + Q_perp theta`` only along their orthogonal
complement, so the problem has exactly as many parameters as the model class has
dimensions and the Hessian is nonsingular at a minimal model. The coordinates are
re-centred at the new model after each inner run of BFGS. The initial states of the
records are parameters too (``estimate_x0``).

Gradient: the adjoint (reverse-mode) recursion of the predictor, one backward pass per
evaluation, both passes through the compiled state recursion:
``lambda(t) = (A - K C)' lambda(t+1) - C' g(t)`` with ``g(t) = dV/de(t) = 2 Lambda^{-1}
e(t) / N``; then ``dV/dF = sum lambda(t+1) x(t)'`` etc. (chain rule through
``F = A - K C`` and ``B - K D``).

The parameter covariance is the inverse Fisher information
``(sum_t psi(t)' Lambda^{-1} psi(t))^{-1}``, ``psi = de/dtheta`` from the forward
sensitivities at the final model (in DDLC coordinates centred there).

The result is never worse than the start: if the search does not lower ``V`` the
initial model is returned.

References
----------
T. McKelvey, A. Helmersson, T. Ribarits, "Data driven local coordinates for multivariable
linear systems and their application to system identification", Automatica 40 (2004)
1629-1635.
L. Ljung, *System Identification: Theory for the User*, 2nd ed., Prentice Hall, 1999.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from realize._checks import as_bool, as_float, as_int, as_matrix, as_timeseries
from realize._ext._simulate import state_recursion
from realize._linalg import symmetrize
from realize._progress import progress_bar
from realize.errors import InvalidValueError, ShapeError
from realize.identify.residuals import prediction_errors
from realize.model import StateSpace, compact_repr

__all__ = ["pem", "PEMResult", "predictor_cost", "ddlc_basis"]


@dataclass
class PEMResult:
    """Result of :func:`realize.pem`.

    Attributes
    ----------
    model : StateSpace
        Refined model with ``K`` and ``Lambda = E'E/N``.
    x0 : (n,) array or (records, n) array
        Initial predictor states.
    cost, cost_initial : float
        ``log det(E'E/N)`` at the end and at the start (``cost <= cost_initial``).
    parameter_covariance : (k, k) array
        Covariance of the DDLC parameters at ``model`` (``k = dim``, then the x0 entries).
    parameter_basis : (dim z, k_sys) array
        ``Q_perp``: the system parameters are ``vec(A, B, C, [D], K) + Q_perp theta``.
    n_parameters : int
        Free system parameters (the dimension of the model class).
    n_iter : int
        Inner optimizer iterations in total.
    success : bool
        Whether the last inner optimization reported convergence.

    Examples
    --------
    >>> import numpy as np, realize
    >>> true = realize.StateSpace([[0.7]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[0.01]])
    >>> u = np.random.default_rng(0).standard_normal((300, 1))
    >>> y = true.simulate(u, rng=1)
    >>> res = realize.pem(y, u, realize.n4sid(y, u, order=1).model)
    >>> bool(res.cost <= res.cost_initial), res.model.n
    (True, 1)
    """

    model: object
    x0: np.ndarray
    cost: float
    cost_initial: float
    parameter_covariance: np.ndarray
    parameter_basis: np.ndarray
    n_parameters: int
    n_iter: int
    success: bool

    def __repr__(self) -> str:
        return compact_repr(self)


# ------------------------------------------------------------ parametrization
def _pack(A, B, C, D, K, feedthrough):
    parts = [A.ravel(), B.ravel(), C.ravel()]
    if feedthrough:
        parts.append(D.ravel())
    parts.append(K.ravel())
    return np.concatenate(parts)


def _unpack(z, n, m, p, feedthrough, D0):
    k = 0
    A = z[k : k + n * n].reshape(n, n)
    k += n * n
    B = z[k : k + n * m].reshape(n, m)
    k += n * m
    C = z[k : k + p * n].reshape(p, n)
    k += p * n
    if feedthrough:
        D = z[k : k + p * m].reshape(p, m)
        k += p * m
    else:
        D = D0
    K = z[k : k + n * p].reshape(n, p)
    return A, B, C, D, K


def ddlc_basis(A, B, C, D, K, feedthrough: bool) -> np.ndarray:
    """Orthonormal complement ``Q_perp`` of the tangent space of the similarity orbit.

    The data-driven local coordinates (DDLC): moving the parameters
    ``z = vec(A, B, C, [D], K)`` along the columns of ``Q_perp`` changes the model, not
    only its coordinates.

    Parameters
    ----------
    A, B, C, D, K : (n, n), (n, m), (p, n), (p, m), (n, p) arrays
        The innovation model at which the tangent space is taken.
    feedthrough : bool
        Whether D is a parameter.

    Returns
    -------
    (dim z, dim z - rank) array
        Orthonormal columns; ``rank = n^2`` for a minimal model.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.identify.pem import ddlc_basis
    >>> one = np.ones((1, 1))
    >>> ddlc_basis(0.5 * one, one, one, 0 * one, 0.3 * one, feedthrough=False).shape
    (4, 3)
    """
    n = A.shape[0]
    cols = []
    for i in range(n):
        for j in range(n):
            E = np.zeros((n, n))
            E[i, j] = 1.0
            cols.append(_pack(E @ A - A @ E, E @ B, -C @ E, np.zeros_like(D), E @ K, feedthrough))
    dim = _pack(A, B, C, D, K, feedthrough).size
    if not cols:
        return np.eye(dim)
    T = np.column_stack(cols)
    U, s, _ = np.linalg.svd(T, full_matrices=True)
    r = int(np.sum(s > 1e-10 * max(s[0], 1e-300))) if s.size else 0
    return U[:, r:]


# ------------------------------------------------------------ predictor and adjoint
def _adjoint(A, C, K, Gm, X, y, u):
    """dV/d(A, B, C, D, K, x0) from the adjoint recursion; Gm = dV/dE (T, p)."""
    n = A.shape[0]
    T = y.shape[0]
    F = A - K @ C
    forcing = -(Gm[::-1] @ C)
    M = np.empty((T + 1, n))
    state_recursion(np.ascontiguousarray(F.T), np.ascontiguousarray(forcing), np.zeros(n), M)
    lam = M[::-1]  # lam[t] = dV/dx(t), t = 0 .. T
    L1 = lam[1:]
    JF = L1.T @ X[:T]
    JGu = L1.T @ u
    JKy = L1.T @ y
    JC = -Gm.T @ X[:T]
    JD = -Gm.T @ u
    return JF, JGu, JKy, JC, JD, lam[0]


def predictor_cost(A, B, C, D, K, records, x0s, *, gradient=False):
    """``V = log det(E'E/N)`` over the records and, optionally, its gradient.

    E stacks the one-step prediction errors ``e[t] = y[t] - C x[t] - D u[t]`` of the
    predictor ``x[t+1] = (A - K C) x[t] + (B - K D) u[t] + K y[t]`` over all records.

    Parameters
    ----------
    A, B, C, D, K : (n, n), (n, m), (p, n), (p, m), (n, p) arrays
        The innovation model.
    records : sequence of (y, u)
        y (T_i, p) and u (T_i, m) arrays.
    x0s : sequence of (n,) arrays
        Initial predictor state of each record.
    gradient : bool
        Also return the gradient (by the adjoint recursion).

    Returns
    -------
    V : float
        ``inf`` when ``E'E/N`` is singular or not finite.
    grads : tuple (dA, dB, dC, dD, dK, [dx0 per record]) when ``gradient``
        None with ``V = inf``.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.identify.pem import predictor_cost
    >>> sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[0.5]])
    >>> u = np.random.default_rng(0).standard_normal((2000, 1))
    >>> y = sys.simulate(u, rng=1)
    >>> V = predictor_cost(sys.A, sys.B, sys.C, sys.D, sys.K, [(y, u)], [np.zeros(1)])
    >>> bool(abs(V - np.log(0.5)) < 0.1)  # the true model's errors are the innovations
    True
    """
    Es, Xs = [], []
    for (y, u), x0 in zip(records, x0s):
        E, X = prediction_errors(A, B, C, D, K, y, u, x0)
        Es.append(E)
        Xs.append(X)
    Eall = np.concatenate(Es)
    N = Eall.shape[0]
    Lam = Eall.T @ Eall / N
    sign, logdet = np.linalg.slogdet(Lam)
    if not np.isfinite(logdet) or sign <= 0:
        return (np.inf, None) if gradient else np.inf
    if not gradient:
        return float(logdet)
    Li = np.linalg.inv(Lam)
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    dA = np.zeros((n, n))
    dB = np.zeros((n, m))
    dC = np.zeros((p, n))
    dD = np.zeros((p, m))
    dK = np.zeros((n, p))
    dx0 = []
    for (y, u), E, X in zip(records, Es, Xs):
        Gm = (2.0 / N) * E @ Li
        JF, JGu, JKy, JC, JD, g0 = _adjoint(A, C, K, Gm, X, y, u)
        dA += JF
        dB += JGu
        dK += JKy - JF @ C.T - JGu @ D.T
        dC += JC - K.T @ JF
        dD += JD - K.T @ JGu
        dx0.append(g0)
    return float(logdet), (dA, dB, dC, dD, dK, dx0)


def _sensitivities(A, B, C, D, K, records, x0s, Qp, feedthrough, estimate_x0):
    """psi (N p, k) = de/dtheta at the nominal model (forward sensitivities)."""
    n, m, p = A.shape[0], B.shape[1], C.shape[0]
    F = np.ascontiguousarray(A - K @ C)
    blocks = []
    n_rec = len(records)
    for r, ((y, u), x0) in enumerate(zip(records, x0s)):
        _, X = prediction_errors(A, B, C, D, K, y, u, x0)
        Xt = X[:-1]
        T = y.shape[0]
        cols = []
        for j in range(Qp.shape[1]):
            dA, dB, dC, dD, dK = _unpack(Qp[:, j], n, m, p, feedthrough, np.zeros((p, m)))
            forcing = Xt @ (dA - dK @ C - K @ dC).T + y @ dK.T
            if m:
                forcing += u @ (dB - dK @ D - K @ dD).T
            dX = np.empty((T + 1, n))
            state_recursion(F, np.ascontiguousarray(forcing), np.zeros(n), dX)
            de = -(dX[:-1] @ C.T + Xt @ dC.T)
            if m:
                de -= u @ dD.T
            cols.append(de.reshape(-1))
        if estimate_x0:
            for rr in range(n_rec):
                for i in range(n):
                    if rr != r:
                        cols.append(np.zeros(T * p))
                        continue
                    e0 = np.zeros(n)
                    e0[i] = 1.0
                    dX = np.empty((T + 1, n))
                    state_recursion(F, np.zeros((T, n)), e0, dX)
                    cols.append((-(dX[:-1] @ C.T)).reshape(-1))
        blocks.append(np.column_stack(cols))
    return np.concatenate(blocks)


class _LocalProblem:
    """The criterion in DDLC coordinates centred at one model (and its gradient)."""

    def __init__(self, model, x0s, V_ref, records, feedthrough, estimate_x0, D_fixed):
        self.records, self.feedthrough, self.estimate_x0 = records, feedthrough, estimate_x0
        self.D_fixed, self.x_base, self.V_ref = D_fixed, x0s, V_ref
        A, B, C = model[:3]
        self.n, self.m, self.p = A.shape[0], B.shape[1], C.shape[0]
        self.z0 = _pack(*model, feedthrough)
        self.Qp = ddlc_basis(*model, feedthrough)
        self.k_sys = self.Qp.shape[1]
        self.dim = self.k_sys + (self.n * len(records) if estimate_x0 else 0)

    def unpack(self, theta):
        z = self.z0 + self.Qp @ theta[: self.k_sys]
        Mz = _unpack(z, self.n, self.m, self.p, self.feedthrough, self.D_fixed)
        if not self.estimate_x0:
            return Mz, self.x_base
        k, n = self.k_sys, self.n
        return Mz, [x + theta[k + r * n : k + (r + 1) * n] for r, x in enumerate(self.x_base)]

    def fun(self, theta):
        (A, B, C, D, K), xs = self.unpack(theta)
        # an unstable predictor is outside the model set: a large value, rejected by the search
        penalty = self.V_ref + 1e3 * (1.0 + abs(self.V_ref))
        if self.n and np.max(np.abs(np.linalg.eigvals(A - K @ C))) >= 1.0:
            return penalty, np.zeros_like(theta)
        with np.errstate(all="ignore"):
            V, g = predictor_cost(A, B, C, D, K, self.records, xs, gradient=True)
        if not np.isfinite(V) or g is None:
            return penalty, np.zeros_like(theta)
        dA, dB, dC, dD, dK, dx0 = g
        grad = self.Qp.T @ _pack(dA, dB, dC, dD, dK, self.feedthrough)
        if self.estimate_x0:
            grad = np.concatenate([grad, *dx0])
        return V, grad


# ------------------------------------------------------------ public function
def pem(
    y,
    u=None,
    model=None,
    *,
    feedthrough=None,
    estimate_x0=True,
    x0=None,
    maxiter=200,
    tol=1e-9,
    recentre=10,
    progress=True,
) -> PEMResult:
    """Prediction-error refinement of a state-space model (maximum likelihood).

    Parameters
    ----------
    y : (T, p) array or list of (y, u) records
        Outputs (1-D means one output).
    u : (T, m) array, optional
        Inputs (None for output-only data or with a list of records).
    model : StateSpace
        Starting model (e.g. ``realize.n4sid(...).model``). Its innovation form is used
        (from the noise model if needed; ``K = 0`` if it has neither).
    feedthrough : bool, optional
        Estimate ``D``; default: whether the starting ``D`` is nonzero.
    estimate_x0 : bool, default True
        Estimate the initial predictor state of each record (else zero, or ``x0``).
    x0 : (n,) array, optional
        Starting initial state (single record).
    maxiter : int, default 200
        Iterations of each inner BFGS run.
    tol : float, default 1e-9
        Stop when a re-centred run lowers ``V`` by less than this.
    recentre : int, default 10
        Largest number of DDLC re-centrings.
    progress : bool, default True
        A progress bar (iterations and cost) on stderr when it is a terminal (tqdm);
        nothing otherwise.

    Returns
    -------
    PEMResult
        ``.model`` with ``Lambda = E'E/N``, ``.cost`` (``log det Lambda``),
        ``.parameter_covariance`` and more; ``cost <= cost_initial`` always.

    Raises
    ------
    InvalidValueError
        Without a starting model, with a model whose predictor ``A - K C`` is unstable, or
        ``maxiter``, ``recentre`` (non-negative integers) or ``tol`` (a number >= 0) invalid.
    ShapeError, NonFiniteError
        Data of the wrong shape, NaN or Inf.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.testing import random_statespace
    >>> true = random_statespace(0, 2, 1, 1, innovation=True)
    >>> u = np.random.default_rng(1).standard_normal((2000, 1))
    >>> y = true.simulate(u, rng=2)
    >>> start = realize.n4sid(y, u, order=2, feedthrough=True).model
    >>> res = realize.pem(y, u, start)
    >>> bool(res.cost <= res.cost_initial)
    True
    """
    if not isinstance(model, StateSpace):
        raise InvalidValueError(
            f"model: expected a StateSpace starting model, got {type(model).__name__}"
        )
    n, m, p = model.n, model.m, model.p
    maxiter = as_int(maxiter, "maxiter", low=0)
    recentre = as_int(recentre, "recentre", low=0)
    tol = as_float(tol, "tol", low=0.0)
    estimate_x0 = as_bool(estimate_x0, "estimate_x0")
    progress = as_bool(progress, "progress")
    if feedthrough is not None:
        feedthrough = as_bool(feedthrough, "feedthrough")
    if x0 is not None:
        x0 = as_matrix(x0, "x0", rows=n, cols=1).ravel()
    records = _records(y, u, m, p)
    A0, B0, C0, D0, K0 = _predictor(model)
    if feedthrough is None:
        feedthrough = bool(np.any(D0))
    D_fixed = D0 if feedthrough else np.zeros((p, m))
    n_rec = len(records)
    if x0 is not None:
        x0s = [x0] + [np.zeros(n)] * (n_rec - 1)
    else:
        x0s = [np.zeros(n) for _ in range(n_rec)]

    start = (A0, B0, C0, D_fixed, K0)
    best, best_x0, best_V, V0, total_iter, success = _recentred_search(
        start, x0s, records, feedthrough, estimate_x0, maxiter, tol, recentre, progress
    )
    A, B, C, D, K = best
    Lam, Qp, cov = _fisher_covariance(best, records, best_x0, feedthrough, estimate_x0)
    refined = model.replace(A=A, B=B, C=C, D=D, K=K, Lambda=Lam, Q=None, R=None, S=None)
    x0_out = best_x0[0] if n_rec == 1 else np.array(best_x0)
    return PEMResult(
        model=refined,
        x0=x0_out,
        cost=float(best_V),
        cost_initial=float(V0),
        parameter_covariance=cov,
        parameter_basis=Qp,
        n_parameters=Qp.shape[1],
        n_iter=total_iter,
        success=success,
    )


def _cost(Mz, xs, records) -> float:
    """The prediction-error cost ``log det Lambda`` of the predictor ``Mz = (A, B, C, D,
    K)``, inf where ``A - K C`` is unstable."""
    A, B, C, D, K = Mz
    if A.shape[0] and np.max(np.abs(np.linalg.eigvals(A - K @ C))) >= 1.0:
        return np.inf
    with np.errstate(all="ignore"):
        return predictor_cost(A, B, C, D, K, records, xs)


def _recentred_search(
    start, x0s, records, feedthrough, estimate_x0, maxiter, tol, recentre, progress
):
    """BFGS runs in local DDLC coordinates, each re-centred at the best model so far, until
    one fails to lower the cost by ``tol`` (at most ``recentre`` runs).

    Returns ``(best, best_x0, best_V, V0, n_iter, success)``: the best predictor and
    initial states, their cost, the starting cost, the BFGS iterations and whether the
    last run converged.
    """
    D_fixed = start[3]
    V0 = _cost(start, x0s, records)
    best_V, best, best_x0 = V0, start, list(x0s)
    total_iter, success = 0, False
    bar = progress_bar(progress, desc="pem", unit="iter")

    def report(intermediate_result):
        bar.update(1)
        bar.set_postfix(cost=f"{intermediate_result.fun:.6g}", refresh=False)

    for _ in range(max(1, recentre)):
        local = _LocalProblem(best, best_x0, best_V, records, feedthrough, estimate_x0, D_fixed)
        res = minimize(
            local.fun,
            np.zeros(local.dim),
            jac=True,
            method="BFGS",
            options={"maxiter": maxiter, "gtol": 1e-10},
            callback=report if bar is not None else None,
        )
        total_iter += int(res.nit)
        success = bool(res.success)
        Mz, xs = local.unpack(res.x)
        V = _cost(Mz, xs, records)
        if not (np.isfinite(V) and V < best_V):
            break
        improvement = best_V - V
        best_V, best, best_x0 = V, Mz, xs
        if improvement < tol:
            break
    if bar is not None:
        bar.close()
    return best, best_x0, best_V, V0, total_iter, success


def _records(y, u, m: int, p: int) -> list:
    """The validated records ``[(y (T, p), u (T, m)), ...]`` of :func:`pem`."""
    raw = y if isinstance(y, list) and y and all(isinstance(r, tuple) for r in y) else [(y, u)]
    records = []
    for k, (yk, uk) in enumerate(raw):
        sfx = f"[{k}]" if len(raw) > 1 else ""
        yk = as_timeseries(yk, "y" + sfx, channels=p)
        if uk is None:
            if m:
                raise ShapeError(f"u{sfx}: expected a (T, {m}) input array, got None")
            uk = np.zeros((yk.shape[0], 0))
        else:
            uk = as_timeseries(
                uk, "u" + sfx, channels=m, min_channels=0, length_of=("y" + sfx, yk.shape[0])
            )
        records.append((yk, uk))
    return records


def _predictor(model):
    """``(A, B, C, D, K)`` of the starting model, whose predictor A - K C must be stable."""
    n, p = model.n, model.p
    if model.K is not None:
        K0 = np.array(model.K)
    elif model.Q is not None:
        K0 = np.array(model.innovation_form().K)
    else:
        K0 = np.zeros((n, p))
    A0, B0, C0, D0 = (np.array(M) for M in (model.A, model.B, model.C, model.D))
    if n and np.max(np.abs(np.linalg.eigvals(A0 - K0 @ C0))) >= 1.0:
        raise InvalidValueError(
            "model: expected a stable predictor A - K C, got spectral radius "
            f"{np.max(np.abs(np.linalg.eigvals(A0 - K0 @ C0))):.6g}"
        )
    return A0, B0, C0, D0, K0


def _fisher_covariance(model, records, x0s, feedthrough: bool, estimate_x0: bool):
    """``(Lambda, Qp, covariance)`` at the final model: the innovation covariance, the DDLC
    basis and the inverse Fisher information ``(sum_t psi' Lambda^-1 psi)^-1``."""
    A, B, C, D, K = model
    p = C.shape[0]
    E = np.concatenate(
        [prediction_errors(A, B, C, D, K, y_, u_, x_)[0] for (y_, u_), x_ in zip(records, x0s)]
    )
    Lam = symmetrize(E.T @ E / E.shape[0])
    Qp = ddlc_basis(A, B, C, D, K, feedthrough)
    psi = _sensitivities(A, B, C, D, K, records, x0s, Qp, feedthrough, estimate_x0)
    Tn = psi.shape[0] // p
    Wh = np.linalg.cholesky(np.linalg.inv(Lam))  # Lambda^{-1} = Wh Wh'
    psi_w = (psi.reshape(Tn, p, -1).transpose(0, 2, 1) @ Wh).transpose(0, 2, 1).reshape(Tn * p, -1)
    return Lam, Qp, np.linalg.pinv(symmetrize(psi_w.T @ psi_w))
