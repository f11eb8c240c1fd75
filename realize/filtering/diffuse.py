r"""Exact diffuse initialization (Koopman 1997 [1]_; Durbin & Koopman 2012 [3]_, chapter
5), in the univariate treatment of Koopman & Durbin (2000) [2]_: the NumPy definitions.

The initial state is ``x_0 = x0 + delta + eta`` with ``eta ~ N(0, P_*)`` and a diffuse
``delta``, ``cov(delta) = kappa P_inf``, kappa -> infinity. Every predicted covariance
splits as ``P_t = P_{*,t} + kappa P_{inf,t}`` and the filter carries both parts until
``P_inf`` is zero, after d steps (the diffuse period); from then on it is the ordinary
filter started from ``(x_d, P_{*,d})``. During the diffuse period the observed channels
are absorbed one at a time (R_W = L diag(D) L' is made diagonal first: the channels
``L^-1 y_W`` are independent). For a channel with row c and noise variance D_j::

    F_inf = c P_inf c',  F_* = c P_* c' + D_j,  M_inf = P_inf c',  M_* = P_* c'
    if F_inf > 0:  a += M_inf e / F_inf
                   P_*  += M_inf M_inf' F_* / F_inf^2 - (M_* M_inf' + M_inf M_*') / F_inf
                   P_inf -= M_inf M_inf' / F_inf
                   log-density -1/2 (log 2 pi + log F_inf)
    else:          the ordinary update with F_*, M_*       (DK 2012, eqs. 5.12-5.14, 6.4)

with ``e = c' (y - a)`` the channel's innovation at the current a; then
``a <- A a + c_t + G e``, ``P_* <- A~ P_* A~' + Q~``, ``P_inf <- A~ P_inf A~'`` with the
decorrelation ``G = S_W R_W^-1`` of correlated noise (``A~ = A - G C_W``,
``Q~ = Q - G R_W G'``).

Log-likelihood convention
-------------------------
The diffuse log-likelihood (DK 2012, section 7.2.3, eq. 7.4) is the limit of
``log L_kappa + (q / 2) log kappa`` (q the number of diffuse directions): each channel
with ``F_inf > 0`` contributes ``-1/2 (log 2 pi + log F_inf)``, every other observed
channel its ordinary Gaussian log-density. This is statsmodels' convention for
``initialize_diffuse()`` (with the ``log 2 pi`` terms; KFAS 1.3.1 leaves them out for the
diffuse channels). On the Nile local-level model (level variance 1469.1, irregular
15099) it is -633.46. Other numbers found in the wild:

* statsmodels' ``UnobservedComponents`` default (approximate start ``P0 = 1e6``, the
  first ``k_states`` log-densities dropped) gives -632.54:
  ``realize.kalman_filter(sys, y, P0=1e6 * np.eye(n)).loglik_obs[n:].sum()``;
* realize before the exact start (``P0 = 1e6 I``, every term kept) gave -640.99:
  ``realize.loglik(sys, y, P0=1e6 * np.eye(n))``.

A state whose diffuse part the data never resolve (P_inf nonzero after the last
sample: an unobserved unit root, or too few observations) has no proper likelihood:
:class:`~realize.errors.DataError`.

Smoothing (DK 2012, section 5.3, univariate form): the backward recursion of the
diffuse period carries ``r = r0 + r1 / kappa`` and ``N = N0 + N1 / kappa + N2 / kappa^2``;
with ``K0 = M_inf / F_inf``, ``K1 = M_* / F_inf - M_inf F_* / F_inf^2``,
``K2 = -(F_* / F_inf) K1`` and ``L_i = [i == 0] I - K_i c'``, a channel with F_inf > 0 maps::

    r0 <- L0' r0                 r1 <- c e / F_inf + L0' r1 + L1' r0
    N0 <- L0' N0 L0              N1 <- c c' / F_inf + L0' N1 L0 + L1' N0 L0 + L0' N0 L1
    N2 <- -c c' F_* / F_inf^2 + L0' N2 L0 + L0' N1 L1 + L1' N1 L0 + L1' N0 L1
          + L0' N0 L2 + L2' N0 L0

(the exact coefficients of the expansion; DK's N1 and N2 leave out the last terms, which
vanish where they are used), and the smoothed moments are ``xs = a + P_* r0 + P_inf r1``,
``Ps = P_* - P_* N0 P_* - P_* N1 P_inf - P_inf N1 P_* - P_inf N2 P_inf``. The lag-one
covariance is the kappa^0 coefficient of ``cov(x_t, x_{t+1} | y) = P_{t|t} A~' (I - N P_{t+1})``
(DK 4.69)::

    P_{*,t|t} A~' (I - N0 P_{*,t+1} - N1 P_{inf,t+1}) - P_{inf,t|t} A~' (N1 P_{*,t+1} + N2 P_{inf,t+1})

References
----------
.. [1] S. J. Koopman, "Exact initial Kalman filtering and smoothing for nonstationary time
   series models", JASA 92(440), 1997.
.. [2] S. J. Koopman and J. Durbin, "Fast filtering and smoothing for multivariate state
   space models", J. Time Series Analysis 21(3), 2000.
.. [3] J. Durbin and S. J. Koopman, *Time Series Analysis by State Space Methods*, 2nd
   ed., 2012, chapter 5 and section 7.2.3.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.linalg import solve_triangular

from realize._linalg import symmetrize
from realize.errors import DataError, InvalidValueError

__all__ = [
    "DIFFUSE_TOL",
    "observation_transform",
    "channel_updates",
    "diffuse_step",
    "diffuse_smooth",
    "step_channels",
    "DiffuseStepChannels",
    "not_identified",
]

LOG2PI = np.log(2.0 * np.pi)
#: relative size below which F_inf (per unit |c|^2) and P_inf count as zero
DIFFUSE_TOL = 1e-10


class Channel(NamedTuple):
    """The covariance quantities of one channel of a diffuse step."""

    kind: int  # 0 skipped (F_* = 0), 1 ordinary, 2 diffuse (F_inf > 0)
    c: np.ndarray  # (n,) row of L^-1 C_W
    f_inf: float
    f_star: float
    m_inf: np.ndarray  # P_inf c'
    m_star: np.ndarray  # P_* c'


def not_identified(t: int) -> DataError:
    """The error of a diffuse part left after the last sample (T = t)."""
    return DataError(
        f"init: the data never identify the diffuse initial state (P_inf still nonzero after "
        f"all {t} samples: a unit-root or explosive direction the outputs never see, or too "
        "few observations); give those states a finite P0, or use init='approximate_diffuse'"
    )


def observation_transform(RW: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Li, D)``: unit lower-triangular ``Li`` with ``Li R_W Li' = diag(D)``.

    An LDL' factorization without pivoting of the positive semidefinite R_W: a zero pivot
    (relative to max diag R_W) leaves its column of L at the unit vector.
    """
    k = RW.shape[0]
    L, D = np.eye(k), np.zeros(k)
    tiny = 1e-14 * float(np.max(np.diag(RW), initial=0.0))
    for j in range(k):
        D[j] = RW[j, j] - (L[j, :j] ** 2) @ D[:j]
        if D[j] <= tiny:
            D[j] = 0.0
            continue
        for i in range(j + 1, k):
            L[i, j] = (RW[i, j] - (L[i, :j] * L[j, :j]) @ D[:j]) / D[j]
    return solve_triangular(L, np.eye(k), lower=True, unit_diagonal=True), D


def channel_updates(Ct, D, Pstar, Pinf, scale=1.0):
    """The covariance part of a diffuse step: the channels of ``Ct`` (k, n) with noise
    variances D (k,) absorbed into (P_*, P_inf) one at a time.

    Returns ``(channels, P_*[t|t], P_inf[t|t])``.
    """
    Pstar, Pinf, chans = Pstar.copy(), Pinf.copy(), []
    for j in range(Ct.shape[0]):
        c = Ct[j]
        mi, ms = Pinf @ c, Pstar @ c
        fi, fs = float(c @ mi), float(c @ ms) + D[j]
        if fi > DIFFUSE_TOL * scale * max(float(c @ c), np.finfo(float).tiny):
            chans.append(Channel(2, c, fi, fs, mi, ms))
            Pstar = (
                Pstar + np.outer(mi, mi) * (fs / fi**2) - (np.outer(ms, mi) + np.outer(mi, ms)) / fi
            )
            Pinf = Pinf - np.outer(mi, mi) / fi
        elif fs > 0.0:
            chans.append(Channel(1, c, fi, fs, mi, ms))
            Pstar = Pstar - np.outer(ms, ms) / fs
        else:
            chans.append(Channel(0, c, fi, fs, mi, ms))
    return chans, symmetrize(Pstar), symmetrize(Pinf)


def channel_states(chans, yW, a):
    """The state part: the channels replayed on the states a (N, n) with the transformed
    data yW (N, k). Returns ``(a[t|t], log-densities (N,), e (N, k))``, e the channels'
    innovations at the state they updated."""
    a = a.copy()
    ll = np.zeros(a.shape[0])
    e = np.zeros_like(yW)
    for j, ch in enumerate(chans):
        e[:, j] = yW[:, j] - a @ ch.c
        if ch.kind == 2:
            a += np.outer(e[:, j], ch.m_inf / ch.f_inf)
            ll -= 0.5 * (LOG2PI + np.log(ch.f_inf))
        elif ch.kind == 1:
            a += np.outer(e[:, j], ch.m_star / ch.f_star)
            ll -= 0.5 * (LOG2PI + np.log(ch.f_star) + e[:, j] ** 2 / ch.f_star)
    return a, ll, e


def _decorrelation(A, Q, S, W, Ct, D, Li, t):
    """``(G, A~, Q~)`` in the transformed channels: ``G = S_W Li' D^-1``."""
    SW = S[:, W] @ Li.T
    if not np.any(SW):
        return np.zeros_like(SW), A, Q
    bad = np.any(SW != 0.0, axis=0) & (D <= 0.0)
    if np.any(bad):
        raise InvalidValueError(
            "sys: an exact diffuse start with correlated noise S needs a nonsingular R on "
            f"the observed channels correlated with the state noise, got a singular one at "
            f"t={t}, channel {int(W[np.flatnonzero(bad)[0]])}"
        )
    G = np.divide(SW, D, out=np.zeros_like(SW), where=SW != 0.0)
    return G, A - G @ Ct, Q - (G * D) @ G.T


def _transformed(prep, t, W):
    A, C, Q, R, S = prep.at(t)
    Li, D = observation_transform(R[np.ix_(W, W)])
    Ct = Li @ C[W]
    G, At, Qt = _decorrelation(A, Q, S, W, Ct, D, Li, t)
    return A, C, R, Li, D, Ct, G, At, Qt


def diffuse_step(prep, t, W, yt, ct, dt, x, cov, out):
    """One exact diffuse step of the reference driver (the interface of
    :func:`~realize.filtering.reference.conventional_step`); ``cov = (P_*, P_inf)``.

    Writes the step's outputs (``Pp`` the finite part P_*, ``out.Pinf`` the diffuse
    part, the gain K of ``x[t+1] = A x + c + K v``; ``Finv`` stays zero) and returns
    ``(x[t+1], (P_*[t+1], P_inf[t+1]))``, P_inf set to zero once it is negligible.
    """
    Pstar, Pinf = cov
    A, C, R, Li, D, Ct, G, At, Qt = _transformed(prep, t, W)
    out.xp[0, t], out.Pp[t], out.Pinf[t] = x, Pstar, Pinf
    out.F[t] = C @ Pstar @ C.T + R
    scale = prep.Pinf_scale
    chans, Pf, Pinf_f = channel_updates(Ct, D, Pstar, Pinf, scale)
    yW = Li @ (yt[W] - dt[W])
    a, ll, _ = channel_states(chans, yW[None], x[None])
    a = a[0]
    e = yW - Ct @ a
    xn = A @ a + ct + G @ e
    # the gain: a - x = Km Li v, by the channels replayed on the identity
    Km = np.zeros((prep.n, W.size))
    for j, ch in enumerate(chans):
        if ch.kind:
            row = np.eye(W.size)[j] - ch.c @ Km
            Km += np.outer(ch.m_inf / ch.f_inf if ch.kind == 2 else ch.m_star / ch.f_star, row)
    out.K[t][:, W] = (A @ Km + G @ (np.eye(W.size) - Ct @ Km)) @ Li
    out.v[0, t, W] = yt[W] - C[W] @ x - dt[W]
    out.xf[0, t], out.Pf[t] = a, Pf
    out.llobs[0, t] = ll[0]
    Pn = symmetrize(At @ Pf @ At.T + Qt)
    Pinf_n = symmetrize(At @ Pinf_f @ At.T)
    if np.max(np.abs(Pinf_n)) <= DIFFUSE_TOL * scale:
        Pinf_n = np.zeros_like(Pinf_n)
    return xn, (Pn, Pinf_n)


def _outer_update(chans, e, r0, r1, N0, N1, N2):
    """Backward over the channels of one step (reverse order), e (Ns, k)."""
    n = r0.shape[1]
    eye = np.eye(n)
    for j in range(len(chans) - 1, -1, -1):
        ch = chans[j]
        c = ch.c
        if ch.kind == 2:
            fi, fs = ch.f_inf, ch.f_star
            K0 = ch.m_inf / fi
            K1 = ch.m_star / fi - ch.m_inf * fs / fi**2
            L0 = eye - np.outer(K0, c)
            L1 = -np.outer(K1, c)
            L2 = (fs / fi) * np.outer(K1, c)
            cc = np.outer(c, c)
            r1 = np.outer(e[:, j] / fi, c) + r1 @ L0 + r0 @ L1
            r0 = r0 @ L0
            N2 = (
                -cc * fs / fi**2
                + L0.T @ N2 @ L0
                + L0.T @ N1 @ L1
                + L1.T @ N1 @ L0
                + L1.T @ N0 @ L1
                + L0.T @ N0 @ L2
                + L2.T @ N0 @ L0
            )
            N1 = cc / fi + L0.T @ N1 @ L0 + L1.T @ N0 @ L0 + L0.T @ N0 @ L1
            N0 = L0.T @ N0 @ L0
        elif ch.kind == 1:
            L = eye - np.outer(ch.m_star / ch.f_star, c)
            r0 = np.outer(e[:, j] / ch.f_star, c) + r0 @ L
            r1 = r1 @ L
            N0 = np.outer(c, c) / ch.f_star + L.T @ N0 @ L
            N1 = L.T @ N1 @ L
            N2 = L.T @ N2 @ L
    return r0, r1, N0, N1, N2


def _rows(M: np.ndarray, t: int) -> np.ndarray:
    """(Nm, size) rows of step t of an (Nm, Tm, size) panel (Tm is 1 or T)."""
    return M[:, t if M.shape[1] > 1 else 0]


class DiffuseStepChannels(NamedTuple):
    """Diffuse step t replayed for the backward pass (:func:`step_channels`)."""

    W: np.ndarray  # (k,) observed channels
    Li: np.ndarray  # (k, k) the decorrelating transform of the observed noise
    D: np.ndarray  # (k,) the transformed channels' noise variances
    G: np.ndarray  # (n, k) the decorrelation gain S_W Li' D^-1
    At: np.ndarray  # (n, n) A~ = A - G Li C_W
    Qt: np.ndarray  # (n, n) Q~ = Q - G D G'
    chans: list  # the Channel of each transformed channel
    e: np.ndarray  # (Ns, k) their innovations
    Pf: np.ndarray  # (n, n) P_*[t|t]
    Pinf_f: np.ndarray  # (n, n) P_inf[t|t]


def step_channels(prep, out, t) -> DiffuseStepChannels:
    """Diffuse step ``t < d`` of a stored filter run (``out``, the series of ``prep``,
    which share their missing pattern), its channels and innovations recomputed.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.filter import run_filter
    >>> prep = prepare(dict(A=[[1.0]], C=[[1.0]], Q=[[1.0]], R=[[2.0]]), np.ones(5), init="diffuse")
    >>> [(_, out)] = run_filter(prep, "conventional", store=True, tol=None)
    >>> step = step_channels(prep, out, 0)
    >>> step.chans[0].kind, step.e.tolist()  # a diffuse channel; e = y_0 - 0
    (2, [[1.0]])
    """
    W = np.flatnonzero(~np.isnan(prep.y[0, t]))
    A, C, R, Li, D, Ct, G, At, Qt = _transformed(prep, t, W)
    chans, Pf, Pinf_f = channel_updates(Ct, D, out.Pp[t], out.Pinf[t], prep.Pinf_scale)
    xp = out.xp[:, t]
    yW = (_rows(prep.y, t)[:, W] - _rows(prep.d, t)[:, W]) @ Li.T
    _, _, e = channel_states(chans, np.broadcast_to(yW, (xp.shape[0], W.size)), xp)
    return DiffuseStepChannels(W, Li, D, G, At, Qt, chans, e, Pf, Pinf_f)


def diffuse_smooth(prep, out, d, r, N, xs, Ps, Pc, trace=None):
    """The backward pass over the diffuse period ``t < d``, in place.

    Parameters
    ----------
    prep : Prepared
        The problem restricted to the group's series (they share the missing pattern).
    out : FilterOutputs
        The group's stored filter outputs (xp, Pp and Pinf of the diffuse steps are read).
    d : int
        The length of the diffuse period.
    r : (Ns, n) array
        ``r_{d-1}`` of the ordinary backward pass (``xs_d = a_d + P_d r_{d-1}``).
    N : (n, n) array
        ``N_{d-1}``.
    xs, Ps, Pc : arrays
        The group's smoothed states (Ns, T, n), covariances (T, n, n) and lag-one
        covariances (T-1, n, n): the entries ``t < d`` are written.

    trace : tuple of arrays, optional
        ``(r0, N0)`` of shapes (Ns, d, n) and (d, n, n): filled with ``r^(0)_t`` and
        ``N^(0)_t`` at the level of ``x_{t+1}`` (``r_t`` and ``N_t`` of the ordinary pass),
        t < d, which the diffuse disturbance smoother uses (DK 2012, section 5.4).

    Returns
    -------
    r0 : (Ns, n) array, N0 : (n, n) array
        The recursion at t = 0 (``r_{-1}``, ``N_{-1}``).
    """
    n = prep.n
    r0, r1 = r.copy(), np.zeros_like(r)
    N0, N1, N2 = N.copy(), np.zeros((n, n)), np.zeros((n, n))
    for t in range(d - 1, -1, -1):
        if trace is not None:
            trace[0][:, t], trace[1][t] = r0, N0
        step = step_channels(prep, out, t)
        At, Pf, Pinf_f = step.At, step.Pf, step.Pinf_f
        Pstar, Pinf = out.Pp[t], out.Pinf[t]
        if t + 1 < prep.T:
            # the lag-one covariance, with N at the level of x_{t+1} (module docstring)
            Pn = out.Pp[t + 1]
            Pinf_n = out.Pinf[t + 1] if t + 1 < d else np.zeros((n, n))
            X = Pf @ At.T @ (np.eye(n) - N0 @ Pn - N1 @ Pinf_n) - Pinf_f @ At.T @ (
                N1 @ Pn + N2 @ Pinf_n
            )
            Pc[t] = X.T
        r0, r1 = r0 @ At, r1 @ At
        N0, N1, N2 = At.T @ N0 @ At, At.T @ N1 @ At, At.T @ N2 @ At
        xp = out.xp[:, t]
        r0, r1, N0, N1, N2 = _outer_update(step.chans, step.e, r0, r1, N0, N1, N2)
        xs[:, t] = xp + r0 @ Pstar + r1 @ Pinf
        Ps[t] = symmetrize(
            Pstar - Pstar @ N0 @ Pstar - Pstar @ N1 @ Pinf - Pinf @ N1.T @ Pstar - Pinf @ N2 @ Pinf
        )
    return r0, N0
