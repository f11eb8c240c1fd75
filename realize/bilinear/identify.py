"""Identification of bilinear state-space models from input-output data.

:func:`identify_bilinear` estimates a :class:`~realize.bilinear.BilinearStateSpace` in
two steps: a white-input subspace step whose past is extended by products of past
inputs and states (so that the estimate already carries N), then a prediction-error
refinement of the bilinear innovation form.

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
Int. J. Control 74(18), 1824-1836, 2001; "Subspace identification of multivariable linear
parameter-varying systems", Automatica 38(5), 805-814, 2002.
P. Van Overschee and B. De Moor, *Subspace Identification for Linear Systems*,
Kluwer, 1996, Sec. 4.3.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from realize._checks import as_timeseries, describe
from realize.bilinear.model import BilinearStateSpace, bilinear_recursion
from realize.errors import DataError, NotStableError, OrderError, RealizeWarning
from realize.model import StateSpace
from realize.riccati import kalman_gain

__all__ = ["BilinearIdentificationResult", "identify_bilinear"]


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


def _oblique(Yf, Uf, Wp):
    """Oblique projection of Yf along Uf onto Wp: Yf /_{Uf} Wp = L_w Wp."""
    return _oblique_coef(Yf, Uf, Wp) @ Wp


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
    The subspace step, its two stages and the refinement are explained, with their
    references (Favoreel, De Moor & Van Overschee 1999; Verdult & Verhaegen 2001; Van
    Overschee & De Moor 1996), in :mod:`realize.bilinear.identify`.

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
    u, y, n, i = _check_data(u, y, order, horizon)
    start, linear, sv = _subspace_step(u, y, n, i)
    A0, N0, B0, C0, D0, Qw, Rv, Swv = start
    p = y.shape[1]
    K0 = np.zeros((n, p))
    if gain:
        try:
            _, K0, _ = kalman_gain(A0, C0, Qw, Rv, Swv)
        except (ValueError, np.linalg.LinAlgError):
            K0 = np.zeros((n, p))
    fit = _PredictionError(u, y, n, gain)
    th0 = fit.pack(A0, N0, B0, C0, D0, K0, np.zeros(n))
    r0 = fit.residuals(th0)
    initial_cost = float(np.mean((r0.reshape(y.shape) * fit.yscale) ** 2))
    th = th0
    if refine:
        sol = least_squares(
            fit.residuals,
            th0,
            method="lm",
            x_scale="jac",
            max_nfev=max_nfev if max_nfev is not None else 100 * len(th0),
        )
        if np.sum(sol.fun**2) <= np.sum(r0**2):
            th = sol.x
    A, N, B, C, D, K, x0 = fit.unpack(th)
    with np.errstate(all="ignore"):
        e = y - _predict_bilinear(A, N, B, C, D, K, x0, u, y)
    if not np.all(np.isfinite(e)):
        raise NotStableError(
            "y: expected data from a mean-square stable bilinear system, got data on which "
            "the identified bilinear predictor diverges (a system that is not mean-square "
            "stable, or a prediction-error fit that failed)"
        )
    Lam = np.atleast_2d(np.cov(e.T))
    KL = K @ Lam
    model = BilinearStateSpace(A, N, B, C, D, Q=KL @ K.T, R=Lam, S=KL)
    _check_mean_square_stable(model, u, y, e, refine)
    initial = BilinearStateSpace(A0, N0, B0, C0, D0)
    cost = float(np.mean(e**2))
    return BilinearIdentificationResult(
        model, K, Lam, x0, initial, linear, n, sv, cost, initial_cost
    )


def _check_data(u, y, order, horizon):
    """Validated ``(u, y, n, i)``: data, order and horizon (block rows)."""
    y = as_timeseries(y, "y")
    u = as_timeseries(u, "u", length_of=("y", y.shape[0]))
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
            stacklevel=3,
        )
    return u, y, n, i


def _subspace_step(u, y, n: int, i: int):
    """The two-stage subspace estimate (see :func:`identify_bilinear`, Notes).

    Returns ``((A, N, B, C, D, Q, R, S), linear, sv)``: the bilinear estimate with the
    covariances of its residuals, the linear model of the same projection, and the
    singular values of the oblique projection.
    """
    T = u.shape[0]
    p = y.shape[1]
    j = T - 2 * i
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
    start = (A0, N0, B0, C0, D0, cov[:n, :n], cov[n:, n:], cov[:n, n:])
    return start, _linear_model(Xi, Xi1, ui, yi, n), sv


def _linear_model(Xi, Xi1, ui, yi, n: int) -> StateSpace:
    """The linear model from the same projection: a state regression without u (x) x."""
    theta_lin, *_ = np.linalg.lstsq(np.vstack([Xi, ui]).T, Xi1.T, rcond=None)
    Al, Bl = theta_lin[:n].T, theta_lin[n:].T
    res_l = Xi1 - np.vstack([Xi, ui]).T.dot(theta_lin).T
    theta_yl, *_ = np.linalg.lstsq(np.vstack([Xi, ui]).T, yi.T, rcond=None)
    res_yl = yi - np.vstack([Xi, ui]).T.dot(theta_yl).T
    cov_l = np.cov(np.vstack([res_l, res_yl]))
    Cl, Dl = theta_yl[:n].T, theta_yl[n:].T
    try:
        _, Kl, Ll = kalman_gain(Al, Cl, cov_l[:n, :n], cov_l[n:, n:], cov_l[:n, n:])
        return StateSpace(Al, Bl, Cl, Dl, K=Kl, Lambda=Ll)
    except (ValueError, np.linalg.LinAlgError):
        return StateSpace(Al, Bl, Cl, Dl)


class _PredictionError:
    """The scaled one-step prediction errors as a function of the packed parameters.

    ``theta`` stacks ``(A, N, B, C, D, K, x0)`` (without K when ``gain`` is False: the
    output-error criterion, K = 0); the errors of each output are divided by its
    standard deviation.
    """

    def __init__(self, u, y, n: int, gain: bool):
        m, p = u.shape[1], y.shape[1]
        self.u, self.y, self.n, self.p, self.gain = u, y, n, p, gain
        shapes = [(n, n), (m, n, n), (n, m), (p, n), (p, m), (n, p), (n,)]
        self.shapes = shapes if gain else shapes[:5] + [(n,)]
        self.yscale = y.std(axis=0)
        self.yscale[self.yscale == 0] = 1.0

    def pack(self, A, N, B, C, D, K, x0) -> np.ndarray:
        parts = [A, N, B, C, D] + ([K] if self.gain else []) + [x0]
        return np.concatenate([np.ravel(a) for a in parts])

    def unpack(self, th):
        """``(A, N, B, C, D, K, x0)``; K is zero without ``gain``."""
        k = 0
        out = []
        for shape in self.shapes:
            size = int(np.prod(shape))
            out.append(th[k : k + size].reshape(shape))
            k += size
        if not self.gain:
            out.insert(5, np.zeros((self.n, self.p)))
        return out

    def residuals(self, th) -> np.ndarray:
        A, N, B, C, D, K, x0 = self.unpack(th)
        u, y = self.u, self.y
        with np.errstate(all="ignore"):
            e = (y - _predict_bilinear(A, N, B, C, D, K, x0, u, y)) / self.yscale
        if not np.all(np.isfinite(e)) or np.max(np.abs(e)) > 1e6:
            return np.full(y.size, 1e3)
        return e.ravel()


def _check_mean_square_stable(model, u, y, e, refine: bool) -> None:
    """Refuse (refined) or warn about (subspace only) a model that is not mean-square
    stable for the inputs' sample mean and covariance."""
    radius = model.mean_square_radius(input_cov=np.cov(u.T), input_mean=u.mean(axis=0))
    if radius < 1.0:
        return
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
        stacklevel=3,
    )
