"""Subspace estimates from the coordinates of the block-Hankel data.

The numerics behind :func:`realize.n4sid` (whose algorithm :mod:`realize.identify.subspace`
states): the projections of one data set that do not depend on the order, the estimate of
``(A, B, C, D)`` and the noise model at a given order, the order selection, and
:func:`identify_from_accumulator`, which turns the R factor held by a
:class:`~realize.identify.hankel.SubspaceAccumulator` into a :class:`SubspaceResult`.

Nothing here reads data or imports the accumulator: an accumulator is used through its
``layout``, ``coordinates()``, ``r_factor``, ``head()``, ``u_mean`` and ``y_mean``, which
keeps the accumulator's own ``identify`` method free of an import cycle.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from realize._checks import as_bool, as_choice, as_float, as_int
from realize._linalg import symmetrize
from realize.errors import (
    DataError,
    InvalidValueError,
    NotStabilizableError,
    OrderError,
    RealizeWarning,
)
from realize.identify.criteria import auto_candidates, information_criterion, max_order
from realize.identify.output_error import output_error_bd
from realize.identify.validation import (
    blockwise_fit,
    least_squares_initial_state,
    simulation_fit,
)
from realize.model import StateSpace
from realize.riccati import kalman_gain

__all__ = ["METHODS", "SubspaceResult", "identify_from_accumulator"]

#: The weightings of the singular value decomposition (``method=`` of :func:`realize.n4sid`).
METHODS = ("n4sid", "moesp", "cva")
#: ``estimator=`` values of :func:`realize.n4sid`; "shift" is deprecated (runs "states").
ESTIMATORS = ("states", "shift")
#: relative singular-value threshold for numerical rank in the d x d projections
_RTOL = 1e-11
#: block rows of one channel that agree to this fraction of their norm come from a constant
#: signal (Householder QR is columnwise backward stable: identical Hankel rows give
#: coordinates equal up to rounding relative to their own norm)
_CONSTANT_RTOL = 1e-10


@dataclass
class SubspaceResult:
    """Result of :func:`realize.n4sid`.

    Attributes
    ----------
    model : StateSpace
        Identified model with ``A, B, C, D``, innovation form ``K, Lambda`` and, where the
        residual covariances admit a Kalman filter, the noise model ``Q, R, S``.
    order : int
        Model order n.
    singular_values : (k,) array
        Singular values of the weighted oblique projection of the chosen method (the
        order plot).
    canonical_correlations : (k,) array
        CVA singular values (canonical correlations, in [0, 1]) used by ``order="auto"``.
    x0 : (n,) array or (records, n) array
        Least-squares initial state of each record (one row per record when several);
        None when the data were only streamed.
    fit : (p,) array or None
        Simulation fit in percent on the identification data, per output (for output-only
        data, the fit of the one-step predictor); None when the data were streamed
        through a :class:`SubspaceAccumulator`.
    horizon : (int, int)
        Past and future block rows.
    method : str
    criterion : (k,) array
        Order-selection criterion for each candidate order (``orders``).
    orders : (k,) array
        Candidate orders of ``criterion``.
    n_columns : int
        Number of Hankel columns (data windows) used.
    y_mean, u_mean : arrays
        Offsets removed with ``detrend=True`` (zeros otherwise); the model maps
        ``u - u_mean`` to ``y - y_mean``.
    regularization : float
        Tikhonov weight used to make ``A`` stable (0 when none was needed).

    Examples
    --------
    >>> import numpy as np, realize
    >>> true = realize.StateSpace([[0.7]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[0.01]])
    >>> u = np.random.default_rng(0).standard_normal((400, 1))
    >>> res = realize.n4sid(true.simulate(u, rng=1), u, order=1)
    >>> res.order, res.model.has_innovation_form, res.fit.shape
    (1, True, (1,))
    >>> bool(abs(res.model.poles()[0].real - 0.7) < 0.1)
    True
    """

    model: object
    order: int
    singular_values: np.ndarray
    canonical_correlations: np.ndarray
    x0: np.ndarray | None
    fit: np.ndarray | None
    horizon: tuple
    method: str
    criterion: np.ndarray | None = None
    orders: np.ndarray | None = None
    n_columns: int = 0
    y_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    u_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    regularization: float = 0.0

    def __repr__(self) -> str:
        fit = "None" if self.fit is None else np.array2string(self.fit, precision=2)
        return (
            f"SubspaceResult(method={self.method!r}, order={self.order}, "
            f"horizon={self.horizon}, fit={fit}, n_columns={self.n_columns})"
        )


# --------------------------------------------------------------------- helpers
def svd_rank(s: np.ndarray) -> int:
    if s.size == 0 or s[0] <= 0:
        return 0
    return int(np.sum(s > _RTOL * s[0]))


def _row_basis(M: np.ndarray) -> np.ndarray:
    """Orthonormal basis (d, r) of the row space of M (k, d) (truncated SVD)."""
    if M.shape[0] == 0:
        return np.zeros((M.shape[1], 0))
    _, s, Vt = np.linalg.svd(M, full_matrices=False)
    return Vt[: svd_rank(s)].T


def _solve_rows(Y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Minimum-norm Theta with Theta X = Y in the least-squares sense (over columns)."""
    if X.shape[0] == 0:
        return np.zeros((Y.shape[0], 0))
    U, s, Vt = np.linalg.svd(X, full_matrices=False)
    r = svd_rank(s)
    return ((Y @ Vt[:r].T) / s[:r]) @ U[:, :r].T


def _power_of_two_ratio(X: np.ndarray, U: np.ndarray) -> float:
    """The power of two nearest to rms(X) / rms(U) (1 when either is empty or zero)."""
    if X.size == 0 or U.size == 0:
        return 1.0
    rx, ru = float(np.sqrt(np.mean(X * X))), float(np.sqrt(np.mean(U * U)))
    if not (rx > 0 and ru > 0):
        return 1.0
    return float(2.0 ** np.round(np.log2(rx / ru)))


def _stable_shift(G_up: np.ndarray, G_down: np.ndarray):
    """A from Gamma_up A = Gamma_down; the least Tikhonov weight that makes it stable.

    ``A(c) = (Gamma_up' Gamma_up + c I)^{-1} Gamma_up' Gamma_down`` tends to 0 as c grows;
    the smallest c with spectral radius below 1 is found by bisection on log c.
    """
    n = G_up.shape[1]
    A0 = np.linalg.lstsq(G_up, G_down, rcond=None)[0]
    radius = lambda A: float(np.max(np.abs(np.linalg.eigvals(A)))) if n else 0.0
    if radius(A0) < 1.0:
        return A0, 0.0
    GtG = G_up.T @ G_up
    GtD = G_up.T @ G_down
    target = 1.0 - 1e-9
    At = lambda c: np.linalg.solve(GtG + c * np.eye(n), GtD)
    lo, hi = 0.0, 1e-10 * max(np.trace(GtG), 1e-300)
    while radius(At(hi)) >= target:
        lo, hi = hi, hi * 4.0
    for _ in range(60):
        mid = np.sqrt(lo * hi) if lo > 0 else hi / 4.0
        if radius(At(mid)) >= target:
            lo = mid
        else:
            hi = mid
        if lo > 0 and hi / lo < 1 + 1e-6:
            break
    return At(hi), float(hi)


class _Projections:
    """The projections of one data set that do not depend on the order."""

    def __init__(self, L: np.ndarray, lay, method: str):
        i, m, s = lay.past, lay.m, lay.s
        rows = lambda idx: L[idx]
        self.lay = lay
        Up, Uf = rows(lay.u_rows(0, i)), rows(lay.u_rows(i, s))
        Yp, Yf = rows(lay.y_rows(0, i)), rows(lay.y_rows(i, s))
        Wp = np.vstack([Up, Yp])
        # persistency of excitation of order s: the input Hankel rows must have full rank
        Uall = rows(lay.u_rows(0, s))
        su = np.linalg.svd(Uall, compute_uv=False) if m else np.zeros(0)
        self.input_rank = svd_rank(su)
        self.input_condition = float(su[0] / su[-1]) if m and su[-1] > 0 else np.inf
        # 1. oblique projection O_i = Y_f /_{U_f} W_p
        Theta = _solve_rows(Yf, np.vstack([Wp, Uf]))
        O = Theta[:, : Wp.shape[0]] @ Wp
        # the same projection of the past shifted one sample ahead, W_p+ = [u, y](t+1..t+i):
        # pinv(Gamma) O and pinv(Gamma) O_shift are the state sequences X_i and its shift
        # X_i(t+1) used by estimator="states" (VODM 1996, Sec. 4.3.1; Larimore 1990)
        Wp_shift = np.vstack([rows(lay.u_rows(1, i + 1)), rows(lay.y_rows(1, i + 1))])
        self.O, self.O_shift = O, Theta[:, : Wp.shape[0]] @ Wp_shift
        # the states are fitted in the metric that normalizes every future output row by
        # its RMS value, which makes them invariant to the scaling of the outputs
        norms = np.linalg.norm(Yf, axis=1)
        self.row_weight = 1.0 / np.where(norms > 0, norms, 1.0)
        Vu = _row_basis(Uf)
        perp = lambda X: X - (X @ Vu) @ Vu.T
        O_perp = perp(O)
        # CVA weight W1 = (Y_f Pi^perp Y_f')^{-1/2} through the SVD of Y_f Pi^perp (no Gram)
        Uy, sy, _ = np.linalg.svd(perp(Yf), full_matrices=False)
        sy_floor = np.maximum(sy, max(sy[0], 1e-300) * 1e-8) if sy.size else sy
        W1 = (Uy / sy_floor) @ Uy.T
        self.canonical_correlations = np.linalg.svd(W1 @ O_perp, compute_uv=False)
        if method == "n4sid":
            M, self.W1inv = O, None
        elif method == "moesp":
            M, self.W1inv = O_perp, None
        else:
            M, self.W1inv = W1 @ O_perp, (Uy * sy_floor) @ Uy.T
        self.U, self.singular_values, _ = np.linalg.svd(M, full_matrices=False)
        if method == "cva":
            self.canonical_correlations = self.singular_values
        # the current outputs and inputs of the state regression
        self.Yi = rows(lay.y_rows(i, i + 1))
        self.Ui = rows(lay.u_rows(i, i + 1))
        self.data_rank = svd_rank(self.singular_values)

    def gamma(self, n: int) -> np.ndarray:
        G = self.U[:, :n] * np.sqrt(self.singular_values[:n])
        return G if self.W1inv is None else self.W1inv @ G

    def estimate(self, n: int, feedthrough: bool, stable: bool):
        """Least squares on the state sequence: [X(t+1); y(t)] = [A B; C D] [X(t); u(t)].

        ``X = Gamma^+ O_i`` (weighted pseudo-inverse, see ``row_weight``) and its shift
        ``X(t+1) = Gamma^+ O_i(t+1)`` are row combinations of the coordinates, so the
        regression over the Hankel columns is solved in those coordinates. With
        ``stable=True`` and an unstable least-squares A, A is the least Tikhonov-regularized
        shift of Gamma that is stable and B solves ``X(t+1) - A X(t) = B u(t)``.
        """
        lay = self.lay
        p, m = lay.p, lay.m
        G = self.gamma(n)
        w = self.row_weight
        Gi = np.linalg.pinv(w[:, None] * G) * w
        X, X1 = Gi @ self.O, Gi @ self.O_shift
        # the states have the scale of the weighting (unit for CVA), the inputs their own:
        # bring the input rows to the states' RMS by a power of two (exact, undone on B
        # and D) so that the rank decision of the regression does not drop either block
        c = _power_of_two_ratio(X, self.Ui)
        XU = np.vstack([X, c * self.Ui])
        AB = _solve_rows(X1, XU)
        A, B = AB[:, :n], c * AB[:, n:]
        if feedthrough:
            CD = _solve_rows(self.Yi, XU)
            C, D = CD[:, :n], c * CD[:, n:]
        else:
            C, D = _solve_rows(self.Yi, X), np.zeros((p, m))
        c = 0.0
        if stable and n and np.max(np.abs(np.linalg.eigvals(A))) >= 1.0:
            A, c = _stable_shift(G[:-p], G[p:])
            B = _solve_rows(X1 - A @ X, self.Ui)
        rho = np.vstack([X1 - A @ X - B @ self.Ui, self.Yi - C @ X - D @ self.Ui])
        cov = rho @ rho.T
        cov = symmetrize(cov)
        return A, B, C, D, cov[:n, :n], cov[n:, n:], cov[:n, n:], c


def _innovation_model(A, B, C, D, Q, R, S, dt):
    """StateSpace with Q, R, S and the Kalman predictor K, Lambda (Riccati).

    Where the filter Riccati equation has no stabilizing solution (noise-free data,
    singular R), K = S R^+ is kept if it gives a stable predictor, else K = 0, and the
    noise model is the one implied by the innovation form.
    """
    n, p = C.shape[1], C.shape[0]
    try:
        if n == 0:
            raise NotStabilizableError("no states")
        _, K, Lam = kalman_gain(A, C, Q, R, S)
        if np.all(np.isfinite(K)):
            return StateSpace(A, B, C, D, dt=dt, Q=Q, R=R, S=S, K=K, Lambda=Lam)
    except (NotStabilizableError, np.linalg.LinAlgError, InvalidValueError):
        pass
    K = S @ np.linalg.pinv(R) if n else np.zeros((0, p))
    if n and np.max(np.abs(np.linalg.eigvals(A - K @ C))) >= 1.0:
        K = np.zeros((n, p))
    return StateSpace(A, B, C, D, dt=dt, K=K, Lambda=symmetrize(R))


# ------------------------------------------------------------------- the core
def _select_and_estimate(proj: _Projections, n_columns, order, feedthrough, stable, criterion):
    lay = proj.lay
    p, m = lay.p, lay.m
    n_cap = max_order(p, m, lay.past, lay.future)
    supported = min(n_cap, proj.data_rank)
    order = parse_order(order)
    if isinstance(order, str):
        if supported < 1:
            raise DataError(
                "y: expected data with some dynamics, got a zero projection "
                "(no correlation between past and future)"
            )
        candidates = auto_candidates(
            proj.canonical_correlations, p, m, lay.past, lay.future, n_columns, supported
        )
        criterion = "bic"
    elif isinstance(order, int):
        _check_order(order, n_cap, proj, lay)
        return order, None, None, proj.estimate(order, feedthrough, stable)
    else:
        candidates = order
    criterion = as_choice(criterion, "criterion", ("bic", "aic"))
    for n in candidates:
        _check_order(n, n_cap, proj, lay)
    # Lambda(n) below the rounding level of the data carries no information: floor it at
    # 1e-12 of the output power, so that exact (noise-free) data do not reward extra states
    # whose only effect is to shave rounding errors off the residual.
    power = float(np.sum(proj.Yi * proj.Yi)) / p
    floor = 1e-12 * power * np.eye(p)
    best, crit, estimates = None, [], {}
    for n in candidates:
        est = proj.estimate(n, feedthrough, stable)
        R = est[5]
        sign, logdet = np.linalg.slogdet(R + floor)
        logdet = logdet if sign > 0 else -np.inf
        value = information_criterion(logdet, n, n_columns, p, m, feedthrough, criterion)
        crit.append(value)
        estimates[n] = est
        if best is None or value < crit[candidates.index(best)]:
            best = n
    return best, np.array(crit), np.array(candidates), estimates[best]


def parse_order(order):
    """``"auto"``, a positive int, or a non-empty list of positive ints (validated)."""
    if isinstance(order, str):
        if order != "auto":
            raise InvalidValueError(f"order: expected 'auto', an int or a range, got {order!r}")
        return order
    if order is None or np.ndim(order) == 0:
        return as_int(order, "order", low=1, error=OrderError)
    try:
        values = list(order)
    except TypeError:
        raise OrderError(
            f"order: expected 'auto', an int or a range, got {type(order).__name__}"
        ) from None
    if not values:
        raise InvalidValueError("order: expected a non-empty range of orders, got an empty one")
    return [as_int(k, f"order[{i}]", low=1, error=OrderError) for i, k in enumerate(values)]


def _check_order(n, n_cap, proj, lay):
    if n < 1:
        raise OrderError(f"order: expected a positive model order, got {n}")
    if n > n_cap:
        need = max(int(np.ceil(n / lay.p)) + 1, int(np.ceil(n / (lay.m + lay.p))))
        raise OrderError(
            f"order: expected at most {n_cap} states for horizon (past={lay.past}, "
            f"future={lay.future}) with p={lay.p}, m={lay.m} (order <= min((future-1) p, "
            f"past (m+p))), got {n}; use horizon >= {need}"
        )
    if n > proj.data_rank:
        raise OrderError(
            f"order: the data support at most {proj.data_rank} states (the weighted "
            f"projection has numerical rank {proj.data_rank}), got {n}"
        )


def check_focus(focus, in_memory: bool):
    focus = as_choice(focus, "focus", ("prediction", "simulation"))
    if focus == "simulation" and not in_memory:
        raise InvalidValueError(
            "focus: 'simulation' needs the data in memory (a second pass over the samples); "
            "use focus='prediction' with streamed or dask data"
        )


def check_estimator(estimator) -> None:
    """``"states"``; ``"shift"`` warns (deprecated) and the state estimator runs."""
    if as_choice(estimator, "estimator", ESTIMATORS) == "shift":
        warnings.warn(
            "estimator='shift' is deprecated and runs the state-sequence estimator "
            "(estimator='states', the default): the shift estimator was less accurate in "
            "simulation and less often stable; drop the argument",
            DeprecationWarning,
            stacklevel=3,
        )


def _constant_channels(acc) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (m,) and (p,) arrays: the input and output channels that are constant.

    A channel is constant when its ``s`` block rows of the (not detrended) Hankel matrix are
    equal, which the coordinates ``L`` of those rows show whatever the data path (in memory,
    streamed or dask): ``H = L Q'`` with orthonormal ``Q``. Zero rows are constant.
    """
    lay = acc.layout
    L = acc.r_factor.T  # rows [1 (detrend); u block rows; y block rows]
    first = lay.offset + np.concatenate([lay.u_rows(0, 1), lay.y_rows(0, 1)])
    width = np.concatenate([np.full(lay.m, lay.m), np.full(lay.p, lay.p)])
    constant = np.empty(lay.m + lay.p, dtype=bool)
    for j, (r0, w) in enumerate(zip(first, width)):
        rows = L[r0 + w * np.arange(lay.s)]
        scale = float(np.max(np.linalg.norm(rows, axis=1)))
        spread = float(np.max(np.linalg.norm(np.diff(rows, axis=0), axis=1)))
        constant[j] = spread <= _CONSTANT_RTOL * scale
    return constant[: lay.m], constant[lay.m :]


def _scale_inputs(L: np.ndarray, lay, skip: np.ndarray):
    """Hankel coordinates with each input channel scaled to the RMS of the outputs.

    The projections are invariant to the scale of each input (their row spaces are), but
    their rank decisions are relative to the largest singular value: with ``u`` and ``y``
    1e10 apart the outputs would drown in the input's rounding. Each input row block is
    multiplied by a power of two ``c_j`` (exact, and undone exactly on ``B`` and ``D``);
    channels in ``skip`` (constant after detrending: rounding only) are left alone.

    Returns
    -------
    L : (d, d) array
    c : (m,) array
        The factors: the scaled data are ``c_j u_j``.
    """
    m, s = lay.m, lay.s
    c = np.ones(m)
    if m == 0:
        return L, c
    rms = lambda rows: float(np.sqrt(np.mean(np.sum(L[rows] ** 2, axis=1))))  # noqa: E731
    y_rms = rms(lay.y_rows(0, s))
    u_rows = lay.u_rows(0, s).reshape(s, m)
    for j in range(m):
        u_rms = rms(u_rows[:, j])
        if not skip[j] and u_rms > 0 and y_rms > 0:
            c[j] = 2.0 ** np.round(np.log2(y_rms / u_rms))
    if np.all(c == 1.0):
        return L, c
    L = L.copy()
    L[u_rows.ravel()] *= np.tile(c, s)[:, None]
    return L, c


def _check_excitation(proj: _Projections):
    lay = proj.lay
    if lay.m == 0:
        return
    full = lay.s * lay.m
    if proj.input_rank == 0:
        raise DataError(
            "u: expected a nonzero input, got an input that is identically zero "
            "(after detrending); use u=None for output-only data"
        )
    if proj.input_rank < full or proj.input_condition > 1e10:
        warnings.warn(
            f"u: the input is not persistently exciting of order {lay.s} (past + future): "
            f"its block-Hankel matrix has numerical rank {proj.input_rank} of {full} "
            f"(condition number {proj.input_condition:.3g}); B and D are not uniquely "
            "determined and the minimum-norm estimate is returned",
            RealizeWarning,
            stacklevel=4,
        )


def identify_from_accumulator(
    acc,
    order="auto",
    method="n4sid",
    *,
    feedthrough=False,
    stable=False,
    criterion="bic",
    dt=1.0,
    focus="prediction",
    estimator="states",
    _records=None,
    _dask_records=None,
) -> SubspaceResult:
    """Identify a model from the R factor held by an accumulator (see :func:`n4sid`).

    With ``_records`` (in-memory data) the initial states and the fit are computed on the
    data; otherwise ``x0`` comes from the samples the accumulator kept and ``fit`` is None.

    Parameters
    ----------
    acc : SubspaceAccumulator
        Holds the R factor of the block-Hankel data matrix.
    order : "auto", int or sequence of int, default "auto"
        As in :func:`~realize.n4sid`.
    method : {"n4sid", "moesp", "cva"}, default "n4sid"
        Weighting of the singular value decomposition.
    feedthrough : bool, default False
        Estimate ``D``.
    stable : bool, default False
        Enforce a stable ``A`` (see :func:`~realize.n4sid`).
    criterion : {"bic", "aic"}, default "bic"
        Information criterion for a sequence of candidate orders.
    dt : float, default 1.0
        Sampling period of the returned model.
    focus : {"prediction", "simulation"}, default "prediction"
        As in :func:`~realize.n4sid`; "simulation" needs ``_records``.
    estimator : {"states", "shift"}, default "states"
        How ``A, B, C, D`` follow from ``Gamma_f``, as in :func:`~realize.n4sid`.
    _records, _dask_records : list of (y, u), optional
        Internal: the in-memory (or dask) records the accumulator was fed, for the
        initial states and the fit.

    Returns
    -------
    SubspaceResult

    Raises
    ------
    DataError
        An empty accumulator, or fewer Hankel columns than rows.
    InvalidValueError
        An unknown method or focus.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.identify.subspace import identify_from_accumulator
    >>> sys = realize.StateSpace([[0.7]], [[1.0]], [[1.0]], K=[[0.3]], Lambda=[[0.01]])
    >>> u = np.random.default_rng(0).standard_normal((500, 1))
    >>> acc = realize.SubspaceAccumulator(horizon=5)
    >>> _ = acc.update(sys.simulate(u, rng=1), u)
    >>> res = identify_from_accumulator(acc, order=1)
    >>> res.order, res.fit is None
    (1, True)
    """
    method = as_choice(method, "method", METHODS)
    feedthrough, stable = as_bool(feedthrough, "feedthrough"), as_bool(stable, "stable")
    check_focus(focus, _records is not None)
    check_estimator(estimator)
    lay = acc.layout
    _check_accumulator(acc)
    order = parse_order(order)
    dt = as_float(dt, "dt", low=0.0, open_low=True)
    const_u, const_y = _constant_channels(acc)
    if const_y.any():
        raise DataError(
            "y: expected outputs that vary, got constant output channel(s) "
            f"{np.flatnonzero(const_y).tolist()} (nothing to identify, and the fit of a "
            "constant is undefined)"
        )
    if lay.m and lay.detrend and const_u.all():
        raise DataError(
            "u: expected an input that varies, got a constant input (identically zero after "
            "detrending); use u=None for output-only data"
        )
    L, u_scale = _scale_inputs(acc.coordinates(), lay, const_u & lay.detrend)
    proj = _Projections(L, lay, method)
    _check_excitation(proj)
    n, crit, orders, est = _select_and_estimate(
        proj, acc.n_columns, order, feedthrough, stable, criterion
    )
    A, B, C, D, Q, R, S, reg = est
    # back to the units of the data: the projections saw the input c_j u_j
    B, D = B * u_scale, D * u_scale
    x0s = None
    if focus == "simulation" and lay.m:
        centred = [(y - acc.y_mean, u - acc.u_mean) for y, u in _records]
        B, D, x0s = output_error_bd(A, C, centred, feedthrough)
    model = _innovation_model(A, B, C, D, Q, R, S, dt)
    x0, fit = _initial_states_and_fit(model, acc, x0s, _records, _dask_records)
    u_mean, y_mean = acc.u_mean, acc.y_mean
    return SubspaceResult(
        model=model,
        order=n,
        singular_values=proj.singular_values,
        canonical_correlations=proj.canonical_correlations,
        x0=x0,
        fit=fit,
        horizon=(lay.past, lay.future),
        method=method,
        criterion=crit,
        orders=orders,
        n_columns=acc.n_columns,
        y_mean=y_mean,
        u_mean=u_mean,
        regularization=reg,
    )


def _check_accumulator(acc) -> None:
    lay = acc.layout
    if lay is None or acc.n_columns == 0:
        raise DataError("y: expected data, got an empty accumulator")
    if acc.n_columns < lay.d:
        raise DataError(
            f"y: expected at least {lay.d} Hankel columns for horizon (past={lay.past}, "
            f"future={lay.future}) (one record of at least {lay.min_samples()} samples), "
            f"got {acc.n_columns} columns from {acc.n_samples} samples"
        )


def _initial_states_and_fit(model, acc, x0s, records, dask_records):
    """``(x0, fit)`` of an identified model on the data it was identified from.

    The fit is that of the simulation; without inputs, that of the one-step predictor
    ``x(t+1) = (A - K C) x(t) + K y(t)``, ``yhat(t) = C x(t)``, the only meaningful output.
    In-memory records give the initial states (unless ``x0s`` already holds them) and
    the pooled fit; dask records the same block by block; streamed data only the initial
    state of the samples the accumulator kept, and no fit.
    """
    lay = acc.layout
    u_mean, y_mean = acc.u_mean, acc.y_mean
    center = lambda y, u: (y - y_mean, u - u_mean)
    A, B, C, D = model.A, model.B, model.C, model.D
    if lay.m == 0:
        K = np.array(model.K)
        sim = (A - K @ C, K, C, np.zeros((lay.p, lay.p)))
        as_input = lambda y, u: (y, y)
    else:
        sim = (A, B, C, D)
        as_input = lambda y, u: (y, u)
    if dask_records is not None:
        recs = [as_input(y, u) for y, u in dask_records]
        x0s, fit = blockwise_fit(*sim, recs, y_mean, y_mean if lay.m == 0 else u_mean)
    elif records is not None:
        recs = [as_input(*center(y, u)) for y, u in records]
        if x0s is None:
            x0s = [least_squares_initial_state(*sim, y, u) for y, u in recs]
        fit = simulation_fit(*sim, recs, x0s)
    else:
        head = acc.head()
        if head is None:
            return None, None
        return least_squares_initial_state(*sim, *as_input(*center(*head))), None
    return (x0s[0] if len(x0s) == 1 else np.array(x0s)), fit
