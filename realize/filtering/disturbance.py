r"""Disturbance smoother: the state and observation disturbances given all the data.

With the innovations ``e_t`` (the ``v`` of the filter outputs), their inverse covariances
``F_t^-1`` and the predictor gains ``K_t`` of a filter run
(:class:`~realize.filtering._outputs.FilterOutputs`), the backward recursion of Durbin &
Koopman (2012, sections 4.4 and 4.5), with ``L_t = A_t - K_t C_t`` and ``r_{T-1} = 0``,
``N_{T-1} = 0``::

    r_{t-1} = C' F^-1 e_t + L_t' r_t,        N_{t-1} = C' F^-1 C + L_t' N_t L_t
    u_t = F^-1 e_t - K_t' r_t                 (the smoothing error)

gives ``r_t`` (T, n), the weighted sum of the innovations after t, and its variance
``N_t``. The disturbances ``[w_t; v_t]`` have covariance ``[[Q, S], [S', R]]``; their
covariance with ``e_t`` is ``Psi = [S; R]`` and with the next state error ``x_{t+1} -
x_{t+1|t} = L_t (x_t - x_{t|t-1}) + w_t - K_t v_t`` it is ``Phi = [Q; S'] - Psi K_t'``;
``e_t`` and ``r_t`` are uncorrelated, so ``E[. | y] = Psi F^-1 e_t + Phi r_t`` and::

    E[v_t | y] = R u_t + S' r_t,     cov(v_t | y) = R - R F^-1 R - (S' - R K') N_t (S' - R K')'
    E[w_t | y] = Q r_t + S u_t,      cov(w_t | y) = Q - S F^-1 S' - (Q - S K') N_t (Q - S K')'

With S = 0 these are the book's ``E[eps|y] = H (F^-1 v - K' r)``, ``E[eta|y] = Q r``
(selection matrix I). Missing channels need nothing more: ``F^-1``, ``e`` and the
columns of ``K`` are zero there, so the sums run over the observed channels, and
``E[v_t | y]`` of a missing channel is its regression on the observed ones.

Exact diffuse start
-------------------
Over the diffuse period ``t < d`` (:mod:`realize.filtering.diffuse`) the same
projection is taken in the univariate form, in the limit kappa -> infinity (Durbin &
Koopman 2012, section 5.4; Koopman & Durbin 2000). With ``z = [w_t; v_t]``, the
step's transformed channels ``e_j = c_j (x_t - a_{t,j-1}) + v~_j`` and
``x_{t+1} - a_{t+1} = A~ (x_t - a_{t,k}) + w~_t`` (``w~ = w - G v~``), the covariances
``X_j = cov(z, x_t - a_{t,j})`` run forward over the channels from ``X_0 = 0``::

    g_j = X_{j-1} c_j' + cov(z, v~_j)            (= cov(z, e_j))
    X_j = X_{j-1} - g_j K_j'                     K_j = M_inf / F_inf, or M_* / F_* where F_inf = 0
    Gamma = X_k A~' + cov(z, w~)                 (= cov(z, x_{t+1} - a_{t+1}))

and, with ``r^(0)_t``, ``N^(0)_t`` of the diffuse backward pass at the level of
``x_{t+1}`` (:func:`~realize.filtering.diffuse.diffuse_smooth`)::

    E[z | y]   = sum_{F_inf,j = 0} g_j e_j / F_*,j + Gamma r^(0)_t
    cov(z | y) = [[Q, S], [S', R]] - sum_{F_inf,j = 0} g_j g_j' / F_*,j - Gamma N^(0)_t Gamma'

A channel with ``F_inf > 0`` has ``F^-1 = O(1/kappa)``: it informs z only through the
state error it leaves (``K0``). Without S and with one channel this is the book's
``E[eps_t | y] = -H K0' r^(0)_t``, ``E[eta_t | y] = Q r^(0)_t``.

References
----------
.. [1] J. Durbin and S. J. Koopman, *Time Series Analysis by State Space Methods*,
   2nd ed., Oxford University Press, 2012, section 4.5.
.. [2] P. de Jong, "Smoothing and interpolation with the state-space model", JASA
   84(408), 1989.
.. [3] S. J. Koopman and J. Durbin, "Fast filtering and smoothing for multivariate state
   space models", J. Time Series Analysis 21(3), 2000.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from realize.filtering._model import Prepared, joint_noise_cov
from realize.filtering._outputs import FilterGroup, FilterOutputs
from realize.filtering.results import SmootherResult
from realize.model import short_value

__all__ = [
    "DisturbanceSmootherResult",
    "smooth_disturbances",
    "backward_recursion",
    "with_disturbances",
    "diffuse_disturbances",
]


def _t(M: np.ndarray) -> np.ndarray:
    return np.swapaxes(M, -1, -2)


def _apply(M: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``M[t] x[g, t]`` for a stack M (1 or T, a, b) and x (Ng, T, b): (Ng, T, a)."""
    if M.shape[0] == 1:
        return x @ M[0].T
    return (M @ x[..., None])[..., 0]


def backward_recursion(prep: Prepared, out: FilterOutputs, covariances: bool = True) -> tuple:
    """``r_t`` and ``N_t`` (t = 0..T-1, ``r_{T-1} = 0``) of one group of series.

    Parameters
    ----------
    prep : Prepared
        The validated problem (:func:`~realize.filtering._model.prepare`).
    out : FilterOutputs
        The stored outputs of a filter run over Ng series.
    covariances : bool
        Also run the recursion of N (False: N is None).

    Returns
    -------
    r : (Ng, T, n) array
    N : (T, n, n) array or None
        Shared by the series of the group (it depends on the missing pattern only).
    r_start : (Ng, n) array
        ``r_{-1}``: the smoothed initial state is ``x0 + P0 r_{-1}``.

    Examples
    --------
    The smoothed states are ``a_t + P_t r_{t-1}`` (Durbin & Koopman 2012, eq. 4.44):

    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.filter import run_filter
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=20, rng=0)
    >>> prep = prepare(sys, y)
    >>> [(_, out)] = run_filter(prep, "conventional", store=True, tol=None)
    >>> r, N, r_start = backward_recursion(prep, out)
    >>> prev = np.concatenate([r_start[:, None], r[:, :-1]], axis=1)  # r_{t-1}
    >>> xs = out.xp[:, :20] + np.einsum("tij,gtj->gti", out.Pp[:20], prev)
    >>> bool(np.allclose(xs[0], realize.kalman_smoother(sys, y).smoothed_state))
    True
    """
    T, n = prep.T, prep.n
    C = prep.C
    CtFinv = _t(C) @ out.Finv[:T]  # (T, n, p)
    CtFinvC = CtFinv @ C
    L = prep.A - out.K[:T] @ C  # (T, n, n)
    Lt = _t(L)
    Ng = out.v.shape[0]
    r = np.zeros((Ng, T, n))
    N = np.zeros((T, n, n))
    rt = np.zeros((Ng, n))
    Nt = np.zeros((n, n))
    # b_t = C' F^-1 v_t for every series and step at once; the loop only carries r, N
    b = _apply(CtFinv, out.v)
    for t in range(T - 1, -1, -1):
        r[:, t] = rt
        rt = b[:, t] + rt @ L[t]
    if not covariances:
        return r, None, rt
    for t in range(T - 1, -1, -1):
        N[t] = Nt
        Nt = CtFinvC[t] + Lt[t] @ Nt @ L[t]
    return r, 0.5 * (N + _t(N)), rt


def diffuse_disturbances(prep: Prepared, out: FilterOutputs, r: np.ndarray, N: np.ndarray) -> dict:
    """The disturbance smoother over the diffuse period ``t < d`` of one group (the
    module docstring's "Exact diffuse start").

    Parameters
    ----------
    prep : Prepared
        The problem of the group's series.
    out : FilterOutputs
        Their stored filter outputs, ``d = out.n_diffuse >= 1``.
    r : (Ns, n) array, N : (n, n) array
        ``r_{d-1}`` and ``N_{d-1}`` of the ordinary backward pass.

    Returns
    -------
    dict
        ``r`` (Ns, d, n) and ``N`` (d, n, n), the kappa^0 parts ``r^(0)_t``, ``N^(0)_t``;
        ``w`` (Ns, d, n), ``Pw`` (d, n, n), ``v`` (Ns, d, p), ``Pv`` (d, p, p).

    Examples
    --------
    The Nile local level's first observation: ``E[v_0 | y] = -R K0' r^(0)_0``, ``K0 = 1``
    (Durbin & Koopman 2012, section 5.4):

    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.filter import run_filter
    >>> sys = realize.StateSpace([[1.0]], C=[[1.0]], Q=[[1.0]], R=[[2.0]])
    >>> prep = prepare(sys, sys.simulate(T=10, x0=[0.0], rng=0), init="diffuse")
    >>> [(_, out)] = run_filter(prep, "conventional", store=True, tol=None)
    >>> r, N, _ = backward_recursion(prep, out)
    >>> part = diffuse_disturbances(prep, out, r[:, 0], N[0])
    >>> bool(np.isclose(part["v"][0, 0, 0], -2.0 * part["r"][0, 0, 0]))
    True
    """
    from realize.filtering.diffuse import diffuse_smooth, step_channels

    d, n, p = out.n_diffuse, prep.n, prep.p
    Ns = out.xp.shape[0]
    r0s, N0s = np.empty((Ns, d, n)), np.empty((d, n, n))
    # the backward pass of the diffuse period (its states go to scratch arrays)
    scratch = (np.empty((Ns, d, n)), np.empty((d, n, n)), np.empty((d, n, n)))
    diffuse_smooth(prep, out, d, r, N, *scratch, trace=(r0s, N0s))
    w, v = np.empty((Ns, d, n)), np.empty((Ns, d, p))
    Pw, Pv = np.empty((d, n, n)), np.empty((d, p, p))
    for t in range(d):
        _, _, Q, R, S = prep.at(t)
        step = step_channels(prep, out, t)
        Sigma = joint_noise_cov(Q[None], R[None], S[None])[0]
        # covariances of z = [w_t; v_t] with the transformed channels' noise and with w~
        Czv = Sigma[:, n + step.W] @ step.Li.T  # (n + p, k)
        Czw = Sigma[:, :n] - Czv @ step.G.T
        X = np.zeros((n + p, n))  # cov(z, x_t - a_{t,j}) after channel j
        mean = np.zeros((Ns, n + p))
        Pz = Sigma.copy()
        for j, ch in enumerate(step.chans):
            if ch.kind == 0:
                continue
            g = X @ ch.c + Czv[:, j]  # cov(z, e_{t,j})
            if ch.kind == 1:
                mean += np.outer(step.e[:, j] / ch.f_star, g)
                Pz -= np.outer(g, g) / ch.f_star
                X -= np.outer(g, ch.m_star / ch.f_star)
            else:  # F_inf > 0: F^-1 -> 0, K -> K0
                X -= np.outer(g, ch.m_inf / ch.f_inf)
        Gamma = X @ step.At.T + Czw  # cov(z, x_{t+1} - a_{t+1})
        mean += r0s[:, t] @ Gamma.T
        Pz -= Gamma @ N0s[t] @ Gamma.T
        Pz = 0.5 * (Pz + Pz.T)
        w[:, t], v[:, t], Pw[t], Pv[t] = mean[:, :n], mean[:, n:], Pz[:n, :n], Pz[n:, n:]
    return dict(r=r0s, N=N0s, w=w, Pw=Pw, v=v, Pv=Pv)


def _group(prep: Prepared, out: FilterOutputs, covariances: bool) -> dict:
    """The disturbance smoother of one group (module docstring)."""
    T = prep.T
    Q, R, S = prep.Q, prep.R, prep.S
    Finv, K = out.Finv[:T], out.K[:T]
    r, N, _ = backward_recursion(prep, out, covariances)
    d = out.n_diffuse
    if d:
        Nd = N[d - 1] if covariances else np.zeros((prep.n, prep.n))
        diffuse = diffuse_disturbances(prep, out, r[:, d - 1], Nd)
    # u_t = F^-1 v_t - K_t' r_t (the smoothing error, Durbin & Koopman eq. 4.66)
    uu = _apply(Finv, out.v) - _apply(_t(K), r)
    St = _t(S)
    v_hat = _apply(R, uu) + _apply(St, r)
    w_hat = _apply(Q, r) + _apply(S, uu)
    if not covariances:
        parts = dict(r=r, w=w_hat, v=v_hat)
    else:
        Phi_v = St - R @ _t(K)  # (T, p, n)
        Phi_w = Q - S @ _t(K)  # (T, n, n)
        Pv = R - R @ Finv @ R - Phi_v @ N @ _t(Phi_v)
        Pw = Q - S @ Finv @ St - Phi_w @ N @ _t(Phi_w)
        parts = dict(r=r, N=N, w=w_hat, Pw=0.5 * (Pw + _t(Pw)), v=v_hat, Pv=0.5 * (Pv + _t(Pv)))
    if d:
        for k, a in parts.items():
            # the per-series means carry a leading series axis; covariances may be
            # broadcast stacks (1, ...) of a time-invariant model
            if k in ("r", "w", "v"):
                a[:, :d] = diffuse[k]
            else:
                if a.shape[0] != T:
                    a = parts[k] = np.array(np.broadcast_to(a, (T, *a.shape[1:])))
                a[:d] = diffuse[k]
    return parts


def smooth_disturbances(
    prep: Prepared, groups: list[FilterGroup], covariances: bool = True
) -> dict:
    """The disturbance smoother over every group of a stored filter run.

    Parameters
    ----------
    prep : Prepared
        The validated problem.
    groups : list of FilterGroup
        Stored filter outputs (:func:`~realize.filtering.filter.run_filter`).
    covariances : bool
        Also form N and the covariances (False: only the means ``r``, ``w``, ``v``).

    Returns
    -------
    dict
        ``r`` (N, T, n), ``N`` (N, T, n, n), ``w`` (N, T, n) and ``Pw`` (N, T, n, n) the
        smoothed state disturbances and their covariances, ``v`` (N, T, p) and ``Pv``
        (N, T, p, p) the observation ones. Covariances shared by the series of a single
        group are read-only broadcast views.

    Examples
    --------
    >>> import realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.filter import run_filter
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> prep = prepare(sys, sys.simulate(T=20, rng=0))
    >>> parts = smooth_disturbances(prep, run_filter(prep, "conventional", True, None))
    >>> parts["w"].shape, parts["Pv"].shape
    ((1, 20, 1), (1, 20, 1, 1))
    """
    parts = [(idx, _group(prep.series(idx), out, covariances)) for idx, out in groups]
    NS = prep.N
    if len(parts) == 1:
        part = parts[0][1]
        return {
            k: (a if k in ("r", "w", "v") else np.broadcast_to(a, (NS, *a.shape)))
            for k, a in part.items()
        }
    merged = {}
    for k in parts[0][1]:
        first = parts[0][1][k]
        merged[k] = np.empty((NS, *first.shape[(1 if k in ("r", "w", "v") else 0) :]))
        for idx, part in parts:
            merged[k][idx] = part[k]
    return merged


@dataclass(repr=False)
class DisturbanceSmootherResult(SmootherResult):
    """Output of :func:`realize.kalman_smoother` with ``disturbances=True``: a
    :class:`SmootherResult` with the smoothed disturbances.

    Shapes are for one series y (T, p); for N series every array gains a leading axis N.

    Attributes
    ----------
    smoothed_state_disturbance : (T, n) array
        ``E[w_t | y]``, the state disturbance of ``x_{t+1} = A x_t + B u_t + w_t``
        (statsmodels' ``smoothed_state_disturbance`` transposed; zero at t = T-1).
    smoothed_state_disturbance_cov : (T, n, n) array
        ``cov(w_t | y)``.
    smoothed_observation_disturbance : (T, p) array
        ``E[v_t | y]`` of ``y_t = C x_t + D u_t + v_t`` (statsmodels'
        ``smoothed_measurement_disturbance``); on a missing channel, its regression on
        the observed data.
    smoothed_observation_disturbance_cov : (T, p, p) array
        ``cov(v_t | y)``.
    r : (T, n) array
        ``r_t``, the weighted sum of the innovations after t (statsmodels'
        ``scaled_smoothed_estimator``): ``smoothed_state[t] = predicted_state[t] +
        predicted_cov[t] r_{t-1}``; over an exact diffuse period, its kappa^0 part
        ``r^(0)_t`` (as statsmodels reports it).
    N : (T, n, n) array
        ``N_t = var(r_t)`` (``scaled_smoothed_estimator_cov``); ``N^(0)_t`` over an
        exact diffuse period.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> sm = realize.kalman_smoother(sys, sys.simulate(T=30, rng=0), disturbances=True)
    >>> sm.smoothed_state_disturbance.shape, sm.smoothed_observation_disturbance_cov.shape
    ((30, 1), (30, 1, 1))
    >>> float(sm.smoothed_state_disturbance[-1, 0])  # nothing after T-1 informs w_{T-1}
    0.0
    """

    smoothed_state_disturbance: np.ndarray
    smoothed_state_disturbance_cov: np.ndarray
    smoothed_observation_disturbance: np.ndarray
    smoothed_observation_disturbance_cov: np.ndarray
    r: np.ndarray
    N: np.ndarray

    def __repr__(self) -> str:
        names = (
            "loglik",
            "smoothed_state",
            "smoothed_cov",
            "smoothed_state_disturbance",
            "smoothed_observation_disturbance",
        )
        body = ", ".join(f"{k}={short_value(getattr(self, k))}" for k in names)
        return f"{type(self).__name__}({body}, filter=FilterResult(method={self.filter.method!r}, ...))"


def with_disturbances(result: SmootherResult, prep: Prepared, groups) -> DisturbanceSmootherResult:
    """``result`` with the smoothed disturbances of the filter run ``groups`` added
    (what ``realize.kalman_smoother(..., disturbances=True)`` returns; see
    :class:`DisturbanceSmootherResult` for what they are).

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.filter import run_filter
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=50, rng=0)
    >>> prep = prepare(sys, y)
    >>> groups = run_filter(prep, "conventional", store=True, tol=None)
    >>> res = with_disturbances(realize.kalman_smoother(sys, y), prep, groups)
    >>> res.smoothed_state_disturbance.shape, res.smoothed_observation_disturbance.shape
    ((50, 1), (50, 1))
    """
    parts = smooth_disturbances(prep, groups)
    if not prep.batched:
        parts = {k: a[0] for k, a in parts.items()}
    return DisturbanceSmootherResult(
        **{f.name: getattr(result, f.name) for f in fields(SmootherResult)},
        smoothed_state_disturbance=parts["w"],
        smoothed_state_disturbance_cov=parts["Pw"],
        smoothed_observation_disturbance=parts["v"],
        smoothed_observation_disturbance_cov=parts["Pv"],
        r=parts["r"],
        N=parts["N"],
    )
