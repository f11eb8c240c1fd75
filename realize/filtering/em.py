"""Expectation-maximization for linear Gaussian state-space models (Shumway & Stoffer 1982;
Shumway & Stoffer 2017, section 6.3; Ghahramani & Hinton 1996 for the input terms)."""

from __future__ import annotations

from functools import partial

import numpy as np

from realize._checks import as_bool, as_float, as_int
from realize._linalg import symmetrize
from realize._progress import progress_bar
from realize.errors import DataError, InvalidValueError
from realize.filtering._model import noise_matrices, prepare
from realize.filtering.filter import run_filter
from realize.filtering.panel import is_dask
from realize.filtering.results import EMResult
from realize.filtering.smoother import smooth_groups

__all__ = ["em", "ESTIMABLE", "starting_point", "expected_statistics", "maximize"]

ESTIMABLE = ("A", "B", "C", "D", "Q", "R", "x0", "P0")


def _regress(Syz: np.ndarray, Szz: np.ndarray, name: str) -> np.ndarray:
    """Theta = Syz Szz^-1 (the normal equations of one M-step block)."""
    try:
        return np.linalg.solve(Szz.T, Syz.T).T
    except np.linalg.LinAlgError:
        raise DataError(
            f"{name}: expected data that determine it (a nonsingular moment matrix), got a "
            "singular one (constant inputs or too few samples?)"
        ) from None


def _block_update(Syz, Szz, old, nx, est_x, est_u, name_x, name_u):
    """Maximize over [M_x, M_u] (regression of a target on [x; u]) or one of the two with
    the other held at its current value. Returns (M_x, M_u)."""
    Mx, Mu = old
    m = Szz.shape[0] - nx
    if est_x and est_u and m:
        G = _regress(Syz, Szz, f"{name_x}, {name_u}")
        return G[:, :nx], G[:, nx:]
    if est_x:
        rhs = Syz[:, :nx] - (Mu @ Szz[nx:, :nx] if m else 0.0)
        Mx = _regress(rhs, Szz[:nx, :nx], name_x)
    elif est_u and m:
        rhs = Syz[:, nx:] - Mx @ Szz[:nx, nx:]
        Mu = _regress(rhs, Szz[nx:, nx:], name_u)
    return Mx, Mu


def em(
    sys,
    y,
    u=None,
    x0=None,
    P0=None,
    *,
    estimate=("A", "B", "C", "D", "Q", "R"),
    init: str = "auto",
    n_iter: int = 100,
    tol: float = 1e-8,
    progress: bool = True,
) -> EMResult:
    r"""Maximum-likelihood estimation of the model's matrices by EM (Shumway & Stoffer).

    Each iteration runs the Kalman smoother (E-step: smoothed states, covariances and
    lag-one covariances under the current model) and maximizes the expected complete-data
    log-likelihood in closed form (M-step). The likelihood never decreases.

    Parameters
    ----------
    sys : StateSpace
        Starting model with a noise model (Q, R and S = 0) or an innovation form
        (converted to Q = K Lambda K', R = Lambda only if K Lambda = S = 0 is not needed:
        give an explicit noise model).
    y : (T, p) or (N, T, p) array
        Outputs (N series share the model); NaN marks missing entries. An (N, T, p) dask
        array is a panel: each iteration runs the E-step chunk by chunk of series on the
        active dask scheduler and adds their sufficient statistics
        (:mod:`realize.filtering.panel`).
    u : (T, m) or (N, T, m) array, optional
        Inputs (a dask array for a panel y).
    x0, P0 : (n,), (n, n) arrays, optional
        Initial state mean and covariance; defaults from ``init`` evaluated once at the
        starting model and then held fixed unless estimated.
    estimate : sequence of str
        Which of ``"A", "B", "C", "D", "Q", "R", "x0", "P0"`` to estimate; the rest stay
        fixed. Default: the model's matrices, not the initial state.
    init : str
        As in :func:`realize.kalman_filter` (for the default x0, P0).
    n_iter : int
        Maximum number of iterations.
    tol : float
        Stop when the log-likelihood increases by less than ``tol * |loglik|``.
    progress : bool, default True
        A progress bar (iterations and log-likelihood) on stderr when it is a terminal
        (tqdm); nothing otherwise.

    Returns
    -------
    EMResult
        ``model`` (StateSpace with Q, R and S = 0), ``x0``, ``P0``, ``loglik``
        ((iterations + 1,) array: the starting model's and each iterate's), ``n_iter``,
        ``converged``.

    Raises
    ------
    InvalidValueError
        An unknown name in ``estimate``, correlated noise (S != 0), a time-varying model.
    DataError
        Data that leave a block of the M-step undetermined.

    Notes
    -----
    With smoothed moments ``E[x_t x_t'] = Ps_t + xs_t xs_t'`` and
    ``E[x_{t+1} x_t'] = Ps_{t+1,t} + xs_{t+1} xs_t'`` and regressors ``z_t = [x_t; u_t]``::

        [C D] = (sum_t E[y_t z_t']) (sum_t E[z_t z_t'])^-1                 t = 0..T-1
        R = 1/T sum_t E[(y_t - C x_t - D u_t)(y_t - C x_t - D u_t)']
        [A B] = (sum_t E[x_{t+1} z_t']) (sum_t E[z_t z_t'])^-1             t = 0..T-2
        Q = 1/(T-1) sum_t E[(x_{t+1} - A x_t - B u_t)(...)']
        x0 = xs_0,  P0 = Ps_0 + (xs_0 - x0)(xs_0 - x0)'

    (Shumway & Stoffer 2017, eqs. 6.70-6.73); a matrix held fixed enters its block's
    regression as known. The same updates, without inputs, are pykalman's.

    Missing entries are part of the complete data (Shumway & Stoffer 2017, section 6.4):
    with (1) the observed and (2) the missing channels of y_t, under the current model
    ``y_t = a_t + G_t x_t + eta_t`` given the data, where ``a^(1) = y^(1)``, ``G^(1) = 0``,
    ``a^(2) = D^(2) u + R21 R11^-1 (y^(1) - D^(1) u)``, ``G^(2) = C^(2) - R21 R11^-1 C^(1)``
    and ``cov(eta^(2)) = R22 - R21 R11^-1 R12``; the moments ``E[y_t z_t']`` and
    ``E[y_t y_t']`` follow, and the updates above are unchanged.

    References
    ----------
    .. [1] R. H. Shumway and D. S. Stoffer, "An approach to time series smoothing and
       forecasting using the EM algorithm", J. Time Series Analysis 3(4), 1982.
    .. [2] R. H. Shumway and D. S. Stoffer, *Time Series Analysis and Its Applications*,
       4th ed., Springer, 2017, section 6.3.

    Examples
    --------
    >>> import numpy as np, realize
    >>> true = realize.StateSpace([[0.8]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = true.simulate(T=500, rng=0)
    >>> start = realize.StateSpace([[0.3]], C=[[1.0]], Q=[[0.5]], R=[[1.0]])
    >>> res = realize.em(start, y, estimate=("A", "Q", "R"), n_iter=50)
    >>> bool(np.all(np.diff(res.loglik) >= -1e-9 * abs(res.loglik[0])))
    True
    """
    estimate = tuple(estimate)
    bad = [e for e in estimate if e not in ESTIMABLE]
    if bad:
        raise InvalidValueError(f"estimate: expected names among {ESTIMABLE}, got {bad}")
    n_iter = as_int(n_iter, "n_iter", low=0)
    tol = as_float(tol, "tol", low=0.0)
    if is_dask(y):
        from realize.filtering.panel import panel_em_start

        theta, e_step = panel_em_start(sys, y, u, x0, P0, init)
    else:
        prep = prepare(sys, y, u, x0, P0, init)
        theta = starting_point(prep)
        e_step = partial(expected_statistics, y=prep.y, u=prep.u)
    noise_matrices(sys)  # raises without a noise model
    if theta["Pinf"] is not None and {"x0", "P0"} & set(estimate):
        raise InvalidValueError(
            "estimate: x0 and P0 cannot be estimated under an exact diffuse start (init="
            f"{init!r} made part of the initial state diffuse); give a finite P0"
        )
    theta, lls, converged = _iterate(theta, e_step, estimate, n_iter, tol, progress)
    return _result(sys, theta, lls, converged)


def _iterate(theta: dict, e_step, estimate: tuple, n_iter: int, tol: float, progress):
    """The EM iterations from ``theta``: ``(theta, logliks, converged)``.

    ``e_step(theta)`` returns the log-likelihood and a callable giving the sufficient
    statistics (computed only when an M-step follows).
    """
    lls = []
    converged = False
    bar = progress_bar(as_bool(progress, "progress"), desc="em", total=int(n_iter), unit="iter")
    for it in range(int(n_iter) + 1):
        ll, statistics = e_step(theta)
        lls.append(ll)
        if bar is not None:
            bar.set_postfix(loglik=f"{ll:.6g}", refresh=False)
        if it > 0 and ll - lls[-2] < tol * abs(lls[-2]):
            converged = True
            break
        if it == int(n_iter):
            break
        theta = maximize(statistics(), theta, estimate)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return theta, lls, converged


def _result(sys, theta: dict, lls: list, converged: bool) -> EMResult:
    """The EMResult; the model keeps the names, units and dt of a StateSpace ``sys``."""
    from realize.model import StateSpace

    kwargs = {}
    if isinstance(sys, StateSpace):
        names = ("dt", "input_names", "output_names", "input_units", "output_units", "name")
        kwargs = {k: getattr(sys, k) for k in names}
    A, B, C, D, Q, R = (theta[k] for k in "ABCDQR")
    return EMResult(
        model=StateSpace(A, B, C, D, Q=Q, R=R, **kwargs),
        x0=np.asarray(theta["x0"]),
        P0=theta["P0"],
        loglik=np.asarray(lls),
        n_iter=len(lls) - 1,
        converged=converged,
    )


def starting_point(prep) -> dict:
    """The starting A, B, C, D, Q, R, x0, P0 of EM (and ``Pinf``, the diffuse part of the
    initial covariance, or None); its requirements checked.

    Examples
    --------
    >>> import realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.5]], C=[[1.0]], Q=[[2.0]], R=[[2.0]])
    >>> y = sys.simulate(T=50, rng=0)[None]  # one series: (1, T, p)
    >>> theta = starting_point(prepare(sys, y, None, None, None, "auto"))
    >>> sorted(theta), theta["A"].tolist()
    (['A', 'B', 'C', 'D', 'P0', 'Pinf', 'Q', 'R', 'x0'], [[0.5]])
    """
    if not prep.time_invariant or prep.B.shape[0] > 1 or prep.D.shape[0] > 1:
        raise InvalidValueError("sys: em expects a time-invariant model, got time-varying matrices")
    if np.any(prep.S):
        raise InvalidValueError("sys: em expects uncorrelated noise (S = 0), got a nonzero S")
    if prep.T < 2:
        raise DataError(f"y: em expects at least 2 samples, got {prep.T}")
    many = prep.x0.shape[0] > 1
    return dict(
        A=prep.A[0].copy(),
        B=prep.B[0].copy(),
        C=prep.C[0].copy(),
        D=prep.D[0].copy(),
        Q=prep.Q[0].copy(),
        R=prep.R[0].copy(),
        x0=np.broadcast_to(prep.x0, (prep.N, prep.n)).copy() if many else prep.x0[0].copy(),
        P0=prep.P0.copy(),
        Pinf=prep.Pinf,
    )


def expected_statistics(theta: dict, y: np.ndarray, u: np.ndarray | None):
    """E-step: the log-likelihood of y under ``theta`` and the sufficient statistics.

    Parameters
    ----------
    theta : dict
        The current A, B, C, D, Q, R, x0, P0 (as from :func:`starting_point`).
    y : (N, T, p) array
        Outputs, NaN where missing.
    u : (1 or N, T, m) array or None
        Inputs.

    Returns
    -------
    loglik : float
        Summed over the N series.
    statistics : callable
        Runs the smoother and returns the sums over series and steps that the M-step
        reads (:func:`maximize`); sums of several groups of series add up
        (``"xs0"``, the smoothed initial states, concatenate).

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=300, rng=0)[None]
    >>> theta = starting_point(prepare(sys, y, None, None, None, "auto"))
    >>> ll, statistics = expected_statistics(theta, y, None)
    >>> bool(np.isclose(ll, realize.loglik(sys, y[0])))
    True
    >>> sorted(statistics())
    ['N', 'Ps0', 'Sxx', 'Sxz', 'Syy', 'Syz', 'Szz', 'Szz0', 'T', 'xs0']
    """
    model = {k: theta[k] for k in "ABCDQR"}
    pr = prepare(model, y, u, theta["x0"], theta["P0"], "auto", theta.get("Pinf"))
    groups = run_filter(pr, "conventional", store=True, tol=None, filtered_cov=False)
    ll = float(sum(o.loglik.sum() for _, o in groups))
    return ll, lambda: _moments(pr, smooth_groups(pr, groups, None), theta)


def _moments(pr, sm: dict, theta: dict) -> dict:
    """The sums of :func:`em`'s Notes from the smoothed moments ``sm`` (``xs`` (N, T, n),
    ``Ps`` (N, T, n, n), ``Pc`` (N, T-1, n, n)) of the problem ``pr``."""
    Y = pr.y
    N, T = Y.shape[:2]
    m = theta["B"].shape[1]
    U = np.zeros((N, T, 0)) if pr.u is None else np.broadcast_to(pr.u, (N, T, m))
    xs, Ps, Pc = sm["xs"], sm["Ps"], sm["Pc"]
    n = xs.shape[2]
    # observation block: y_t on z_t = [x_t; u_t], t = 0..T-1
    Z = np.concatenate([xs, U], axis=2)
    Szz = np.einsum("nti,ntj->ij", Z, Z)
    Szz[:n, :n] += Ps.sum(axis=(0, 1))
    if np.any(np.isnan(Y)):
        Syz, Syy = _output_moments(Y, U, xs, Ps, theta["C"], theta["D"], theta["R"])
    else:
        Syz = np.einsum("nti,ntj->ij", Y, Z)
        Syy = np.einsum("nti,ntj->ij", Y, Y)
    # transition block: x_{t+1} on z_t, t = 0..T-2
    Z0 = Z[:, :-1]
    Szz0 = np.einsum("nti,ntj->ij", Z0, Z0)
    Szz0[:n, :n] += Ps[:, :-1].sum(axis=(0, 1))
    Sxz = np.einsum("nti,ntj->ij", xs[:, 1:], Z0)
    Sxz[:, :n] += Pc.sum(axis=(0, 1))
    Sxx = np.einsum("nti,ntj->ij", xs[:, 1:], xs[:, 1:]) + Ps[:, 1:].sum(axis=(0, 1))
    return dict(
        N=N,
        T=T,
        Szz=Szz,
        Syz=Syz,
        Syy=Syy,
        Szz0=Szz0,
        Sxz=Sxz,
        Sxx=Sxx,
        xs0=xs[:, 0],
        Ps0=Ps[:, 0].sum(axis=0),
    )


def maximize(st: dict, theta: dict, estimate) -> dict:
    """M-step (the updates in :func:`em`'s Notes) from the sufficient statistics ``st`` of
    :func:`expected_statistics`; ``theta`` holds the current A, B, C, D, Q, R, x0, P0, the
    estimates replace those named in ``estimate``.

    Examples
    --------
    One EM iteration raises the likelihood:

    >>> import realize
    >>> from realize.filtering._model import prepare
    >>> true = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = true.simulate(T=300, rng=0)[None]
    >>> start = realize.StateSpace([[0.5]], C=[[1.0]], Q=[[2.0]], R=[[2.0]])
    >>> theta = starting_point(prepare(start, y, None, None, None, "auto"))
    >>> ll, statistics = expected_statistics(theta, y, None)
    >>> new = maximize(statistics(), theta, estimate=("A", "Q", "R"))
    >>> bool(expected_statistics(new, y, None)[0] > ll), new["C"].tolist()
    (True, [[1.0]])
    """
    A, B, C, D, Q, R = (theta[k] for k in "ABCDQR")
    x0v, P0m = theta["x0"], theta["P0"]
    N, T, n = st["N"], st["T"], A.shape[0]
    Syz, Szz = st["Syz"], st["Szz"]
    C, D = _block_update(Syz, Szz, (C, D), n, "C" in estimate, "D" in estimate, "C", "D")
    if "R" in estimate:
        G = np.hstack([C, D])
        R = (st["Syy"] - G @ Syz.T - Syz @ G.T + G @ Szz @ G.T) / (N * T)
        R = symmetrize(R)
    Sxz, Szz = st["Sxz"], st["Szz0"]
    A, B = _block_update(Sxz, Szz, (A, B), n, "A" in estimate, "B" in estimate, "A", "B")
    if "Q" in estimate:
        G = np.hstack([A, B])
        Q = (st["Sxx"] - G @ Sxz.T - Sxz @ G.T + G @ Szz @ G.T) / (N * (T - 1))
        Q = symmetrize(Q)
    if "x0" in estimate:
        x0v = st["xs0"].mean(axis=0)
    if "P0" in estimate:
        dev = st["xs0"] - np.broadcast_to(x0v, (N, n))
        P0m = st["Ps0"] / N + dev.T @ dev / N
        P0m = symmetrize(P0m)
    return dict(A=A, B=B, C=C, D=D, Q=Q, R=R, x0=x0v, P0=P0m, Pinf=theta.get("Pinf"))


def _conditional_output(W, C, D, R):
    """The missing entries (2) of y_t given x_t, u_t and the observed ones (1):
    ``y2 = D2 u + Bm (y1 - D1 u) + G2 x + eta`` with ``Bm = R21 R11^-1``,
    ``G2 = C2 - Bm C1`` and ``cov(eta) = R22 - Bm R12``. Returns (Bm, G, V) with G (p, n)
    and V (p, p) zero on the observed rows."""
    p, n = C.shape
    M = ~W
    G = np.zeros((p, n))
    V = np.zeros((p, p))
    if W.any():
        Bm = np.linalg.solve(R[np.ix_(W, W)], R[np.ix_(W, M)]).T
        G[M] = C[M] - Bm @ C[W]
        V[np.ix_(M, M)] = R[np.ix_(M, M)] - Bm @ R[np.ix_(W, M)]
    else:
        Bm = np.zeros((int(M.sum()), 0))
        G[M] = C[M]
        V[np.ix_(M, M)] = R[np.ix_(M, M)]
    return Bm, G, V


def _output_moments(Y, U, xs, Ps, C, D, R):
    """Sum over t and series of E[y_t z_t'] and E[y_t y_t'] (z_t = [x_t; u_t]) with the
    missing entries of y filled in by their conditional distribution given x_t and the
    observed entries; vectorized over the steps that share a missing pattern.

    Shapes: Y (N, T, p) with NaN, U (N, T, m), xs (N, T, n), Ps (N, T, n, n) (a broadcast
    view is fine); returns Syz (p, n + m) and Syy (p, p)."""
    N, T, p = Y.shape
    n, m = xs.shape[2], U.shape[2]
    Syz = np.zeros((p, n + m))
    Syy = np.zeros((p, p))
    patterns, which = np.unique(np.isnan(Y).reshape(N * T, p), axis=0, return_inverse=True)
    which = which.ravel()
    for g, missing in enumerate(patterns):
        ii, tt = np.divmod(np.flatnonzero(which == g), T)
        W = ~missing
        x, u, y = xs[ii, tt], U[ii, tt], Y[ii, tt]
        Sxx = Ps[ii, tt].sum(axis=0) + x.T @ x  # sum of E[x x']
        a = np.where(W, y, 0.0)  # E[y | x = 0, observed entries]
        if missing.any():
            Bm, G, V = _conditional_output(W, C, D, R)
            Du = u @ D.T
            a[:, missing] = Du[:, missing] + (y[:, W] - Du[:, W]) @ Bm.T
        else:
            G, V = np.zeros((p, n)), np.zeros((p, p))
        Sax = a.T @ x
        Syz[:, :n] += Sax + G @ Sxx
        Syz[:, n:] += (a + x @ G.T).T @ u
        Syy += a.T @ a + Sax @ G.T + G @ Sax.T + G @ Sxx @ G.T + len(ii) * V
    return Syz, Syy


def _output_moments_reference(Y, U, xs, Ps, C, D, R):
    """The definition of :func:`_output_moments`, one time step at a time (its test
    oracle)."""
    N, T, p = Y.shape
    n = xs.shape[2]
    m = U.shape[2]
    Syz = np.zeros((p, n + m))
    Syy = np.zeros((p, p))
    miss = np.isnan(Y)
    for i in range(N):
        Psi = Ps[i]
        for t in range(T):
            x, u, P = xs[i, t], U[i, t], Psi[t]
            W = ~miss[i, t]
            a = np.zeros(p)
            G = np.zeros((p, n))
            V = np.zeros((p, p))
            if W.all():
                a = Y[i, t]
            else:
                M = ~W
                a[W] = Y[i, t, W]
                Du = D @ u
                if W.any():
                    B = np.linalg.solve(R[np.ix_(W, W)], R[np.ix_(W, M)]).T  # R21 R11^-1
                    a[M] = Du[M] + B @ (Y[i, t, W] - Du[W])
                    G[M] = C[M] - B @ C[W]
                    V[np.ix_(M, M)] = R[np.ix_(M, M)] - B @ R[np.ix_(W, M)]
                else:
                    a[M], G[M], V[np.ix_(M, M)] = Du, C, R
            Ey = a + G @ x
            Exx = P + np.outer(x, x)
            Syz[:, :n] += np.outer(a, x) + G @ Exx
            Syz[:, n:] += np.outer(Ey, u)
            Syy += np.outer(a, a) + np.outer(a, G @ x) + np.outer(G @ x, a) + G @ Exx @ G.T + V
    return Syz, Syy
