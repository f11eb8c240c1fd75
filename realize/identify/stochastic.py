"""Output-only stochastic realization: covariances, Ho-Kalman, Faurre, CCA.

A zero-mean stationary process ``y`` with covariances ``Sigma_k = E[y(t+k) y(t)']`` has
a Markovian realization ``(A, C, G, Sigma_0)`` with ``Sigma_k = C A^{k-1} G`` (``k >= 1``).
Among all models ``x(t+1) = A x(t) + w, y(t) = C x(t) + v`` with these covariances, the
state covariances ``P`` are exactly the solutions of the linear matrix inequality of the
positive-real lemma, and (Faurre 1976) they form a bounded set ``P_- <= P <= P_+``:

* ``P_-`` (minimal) solves ``P = A P A' + (G - A P C') (Sigma_0 - C P C')^{-1} (G - A P C')'``
  with ``A - K C`` stable and gives the forward innovation model
  ``x(t+1) = A x(t) + K e(t), y(t) = C x(t) + e(t)``,
  ``K = (G - A P_- C') Lambda^{-1}``, ``Lambda = Sigma_0 - C P_- C'``;
* ``P_+ = Pbar_-^{-1}`` where ``Pbar_-`` is the minimal solution for the backward data
  ``(A', G', C', Sigma_0)``; it gives the backward innovation model
  ``xbar(t-1) = A' xbar(t) + Kbar ebar(t), y(t) = G' xbar(t) + ebar(t)``.

A solution exists iff the covariance data are positive real: ``A`` stable and the
spectral density ``Phi(w) = Sigma_0 + C (e^{iw} I - A)^{-1} G + [.]^H`` positive
semidefinite on the unit circle. Sample covariances need not be. The repair does not
patch ``Sigma_0``: it re-estimates the model from the regression of
``[x(t+1); y(t)]`` on the finite-past state ``x(t)``, whose residual covariance
``[[Q, S], [S', R]]`` is PSD by construction, so that ``(A, C, Q, R, S)`` is a genuine
state-space model and its covariances are positive real (Van Overschee & De Moor 1996,
Sec. 3.3).

Two ways to ``(A, C, G, Sigma_0)``:

* ``"covariance"``: biased sample covariances ``Sigma_k``, SVD of their block Hankel
  matrix (Ho & Kalman 1966; Akaike 1974; Aoki 1987).
* ``"cca"``: canonical correlation analysis of past and future (Akaike 1975; Desai & Pal
  1984). With ``R_f' R_f`` and ``R_p' R_p`` the future and past covariances, the SVD of
  ``R_f^{-T} H R_p^{-1} = U S V'`` gives the canonical correlations ``S``, and
  ``Gamma = R_f' U_n S_n^{1/2}``, ``Delta = S_n^{1/2} V_n' R_p`` are the observability
  and reachability factors of the stochastically balanced realization, in which
  ``P_- = Pbar_- = S_n`` (Desai-Pal). Computed from the streaming R factor of the
  block-Hankel data (:mod:`realize.identify.hankel`): ``R_f^{-T} H R_p^{-1}`` is the
  product of orthonormal bases of the future and past rows, so no covariance matrix is
  inverted.

References
----------
P. Faurre, "Stochastic realization algorithms", in *System Identification: Advances and
Case Studies*, Academic Press, 1976.
P. Van Overschee, B. De Moor, *Subspace Identification for Linear Systems*, Kluwer, 1996,
Sec. 3.3 (the positive-real stochastic algorithm, Fig. 3.13).
U. B. Desai, D. Pal, "A transformation approach to stochastic model reduction", IEEE TAC
29 (1984) 1097-1100; U. B. Desai, D. Pal, R. D. Kirkpatrick, "A realization approach to
stochastic model reduction", Int. J. Control 42 (1985) 821-838.
H. Akaike, "Markovian representation of stochastic processes by canonical variables",
SIAM J. Control 13 (1975) 162-173.
A. Lindquist, G. Picci, *Linear Stochastic Systems*, Springer, 2015, Ch. 6 and 13.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from realize._checks import as_int, as_timeseries
from realize._linalg import symmetrize
from realize.errors import (
    DataError,
    InvalidValueError,
    NotPositiveRealError,
    NotStabilizableError,
    OrderError,
    ShapeError,
)
from realize.identify.estimate import svd_rank
from realize.identify.hankel import HankelLayout, accumulate, parse_horizon
from realize.model import StateSpace
from realize.riccati import dare, dlyap, kalman_gain

__all__ = ["stochastic_realization", "StochasticRealization", "faurre", "spectral_minimum"]

_METHODS = ("cca", "covariance")


@dataclass
class StochasticRealization:
    """Result of :func:`realize.stochastic_realization`.

    Attributes
    ----------
    model : StateSpace
        Forward innovation model ``(A, C, K, Lambda)`` from the minimal Faurre solution
        (no inputs; ``Q, R, S`` are those of the innovation form).
    backward_model : StateSpace
        Backward innovation model ``(A', G', Kbar, Lambdabar)``: the state runs backward,
        ``xbar(t-1) = A' xbar(t) + Kbar ebar(t)``, ``y(t) = G' xbar(t) + ebar(t)``.
    A, C, G, Sigma0 : arrays
        The covariance realization: ``Sigma_k = C A^{k-1} G``, ``Sigma_0 = E[y y']``.
    P_min, P_max : (n, n) arrays
        Minimal and maximal solutions of the Faurre Riccati equation.
    singular_values : (k,) array
        Canonical correlations ("cca") or Hankel singular values ("covariance").
    order : int
    method : str
    horizon : (int, int)
        Past and future block rows.
    repaired : bool
        Whether the sample covariances were not positive real and the model comes from
        the positive-real state regression (``repair=True``).
    spectral_minimum : float
        ``min_w lambda_min(Phi(w))`` of the returned covariance data ``(A, C, G, Sigma0)``.
    y_mean : (p,) array
        Mean removed from the data.

    Examples
    --------
    >>> import numpy as np, realize
    >>> true = realize.StateSpace([[0.8]], C=[[1.0]], K=[[0.5]], Lambda=[[1.0]])
    >>> res = realize.stochastic_realization(true.simulate(T=2000, rng=0), 1)
    >>> res.order, res.model.n, res.backward_model.n, res.P_min.shape
    (1, 1, 1, (1, 1))
    >>> bool(res.P_min[0, 0] <= res.P_max[0, 0])
    True
    """

    model: object
    backward_model: object
    A: np.ndarray
    C: np.ndarray
    G: np.ndarray
    Sigma0: np.ndarray
    P_min: np.ndarray
    P_max: np.ndarray
    singular_values: np.ndarray
    order: int
    method: str
    horizon: tuple
    repaired: bool
    spectral_minimum: float
    y_mean: np.ndarray

    def __repr__(self) -> str:
        return (
            f"StochasticRealization(method={self.method!r}, order={self.order}, "
            f"horizon={self.horizon}, repaired={self.repaired})"
        )


# ------------------------------------------------------------- positive reality
def spectral_minimum(A, C, G, Sigma0, n_grid: int = 1024) -> tuple[float, float]:
    """``min_w lambda_min(Phi(e^{iw}))`` and its frequency (grid, then refined).

    ``Phi(z) = Sigma_0 + C (z I - A)^{-1} G + G' (z^{-1} I - A')^{-1} C'``.

    The covariance data are positive real exactly when this minimum is positive.

    Parameters
    ----------
    A : (n, n) array
    C : (p, n) array
    G : (n, p) array
        Covariance realization ``Sigma_k = C A^{k-1} G``, k >= 1.
    Sigma0 : (p, p) array
        ``E[y y']``.
    n_grid : int
        Grid points on ``[0, pi]`` before the local refinement.

    Returns
    -------
    value : float
        The smallest eigenvalue of the spectral density over the unit circle.
    w : float
        The frequency (rad/sample, in ``[0, pi]``) where it is attained.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.identify.stochastic import spectral_minimum
    >>> one = np.ones((1, 1))  # unit-variance AR(1) with pole 0.5: Phi = 0.75 / |1 - 0.5 z|^2
    >>> value, w = spectral_minimum(0.5 * one, one, 0.5 * one, one)
    >>> round(float(value), 8), round(float(w), 6)
    (0.33333333, 3.141593)
    """
    n = A.shape[0]
    I = np.eye(n)

    def lam(w):
        z = np.exp(1j * w)
        T = C @ np.linalg.solve(z * I - A, G)
        return float(np.linalg.eigvalsh(Sigma0 + T + T.conj().T)[0])

    grid = np.linspace(0.0, np.pi, n_grid + 1)
    vals = np.array([lam(w) for w in grid])
    k = int(np.argmin(vals))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, n_grid)]
    best_w, best = grid[k], vals[k]
    if hi > lo:
        res = minimize_scalar(lam, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
        if res.fun < best:
            best_w, best = float(res.x), float(res.fun)
    return best, best_w


def faurre(A, C, G, Sigma0):
    """Minimal solution of the Faurre Riccati equation and the forward innovation gain.

    Parameters
    ----------
    A : (n, n) array
    C : (p, n) array
    G : (n, p) array
    Sigma0 : (p, p) array

    Returns
    -------
    P : (n, n) array
        ``P = A P A' + (G - A P C') (Sigma_0 - C P C')^{-1} (G - A P C')'`` with
        ``A - K C`` stable.
    K : (n, p) array
    Lambda : (p, p) array

    Raises
    ------
    NotPositiveRealError
        If no such solution exists with ``Lambda`` positive definite.

    Notes
    -----
    ``X = -P`` is the stabilizing solution of the control-form DARE with
    ``(A', C', Q=0, R=Sigma_0, S=G)``, solved by :func:`realize.riccati.dare`.

    Examples
    --------
    >>> import numpy as np
    >>> from realize.identify.stochastic import faurre
    >>> one = np.ones((1, 1))  # unit-variance AR(1) y[t] = 0.5 y[t-1] + e[t]
    >>> P, K, Lam = faurre(0.5 * one, one, 0.5 * one, one)
    >>> np.round([P[0, 0], K[0, 0], Lam[0, 0]], 12).tolist()
    [0.25, 0.5, 0.75]
    """
    n, p = A.shape[0], C.shape[0]
    try:
        X = dare(A.T, C.T, np.zeros((n, n)), Sigma0, G)
    except (NotStabilizableError, np.linalg.LinAlgError, ValueError) as exc:
        raise NotPositiveRealError(
            "Sigma: expected positive-real covariance data (a spectral factor), got a "
            f"Riccati equation without a stabilizing solution ({exc})"
        ) from None
    P = -symmetrize(X)
    Lam = Sigma0 - C @ P @ C.T
    Lam = symmetrize(Lam)
    # relative tolerances: the data's scale is arbitrary (y -> c y scales Sigma_0 and Lambda
    # by c^2, and P by the square of the state's units)
    scale = float(np.max(np.abs(Sigma0))) if p else 0.0
    lam_min = float(np.linalg.eigvalsh(Lam)[0]) if p else 1.0
    p_min = float(np.linalg.eigvalsh(P)[0]) if n else 0.0
    p_scale = float(np.max(np.abs(P))) if n else 0.0
    if lam_min <= 1e-12 * scale or p_min < -1e-8 * p_scale:
        raise NotPositiveRealError(
            "Sigma: expected positive-real covariance data, got a Riccati solution with "
            f"innovation covariance eigenvalue {lam_min:.3g} and state covariance "
            f"eigenvalue {p_min:.3g}"
        )
    K = np.linalg.solve(Lam, (G - A @ P @ C.T).T).T
    return P, K, Lam


# ------------------------------------------------------------- realizations
def _sample_covariances(records, lags: int) -> np.ndarray:
    """Biased sample covariances Sigma_k, k < lags, pooled over records (FFT)."""
    p = records[0].shape[1]
    out = np.zeros((lags, p, p))
    total = 0
    for y in records:
        T = y.shape[0]
        nfft = 1 << int(np.ceil(np.log2(max(2 * T, lags))))
        F = np.fft.rfft(y, n=nfft, axis=0)
        # cross-spectra -> E[y(t+k) y(t)'] for every pair of channels
        S = F[:, :, None] * F[:, None, :].conj()
        r = np.fft.irfft(S, n=nfft, axis=0)[:lags]
        out += r
        total += T
    return out / total


def _block_toeplitz(Sig: np.ndarray, blocks: int) -> np.ndarray:
    """Covariance of the window ``[y(t); y(t-1); ...; y(t-blocks+1)]``.

    Block ``(a, b)`` is ``E[y(t-a) y(t-b)'] = Sigma_{b-a}`` (``Sigma_{a-b}'`` below the
    diagonal). Built from biased sample covariances it is the Gram matrix of the
    zero-padded data windows, hence positive semidefinite.
    """
    p = Sig.shape[1]
    W = np.empty((blocks * p, blocks * p))
    for a in range(blocks):
        for b in range(blocks):
            W[a * p : (a + 1) * p, b * p : (b + 1) * p] = Sig[b - a] if b >= a else Sig[a - b].T
    return W


def _whittle(Sig: np.ndarray, max_lag: int) -> list:
    """Innovation covariances ``V_0 .. V_k`` of the Yule-Walker autoregressions, k <= max_lag.

    The multivariate Levinson-Durbin recursion with forward and backward predictors
    (Whittle 1963), on ``Sig[k] = E[y(t+k) y(t)']``; it stops early if ``V_k`` becomes
    singular (a perfectly predictable process).
    """
    Vf, Vb = Sig[0].copy(), Sig[0].copy()
    fwd, bwd = [], []  # y(t) ~ sum_j fwd[j] y(t-1-j); y(t-k-1) ~ sum_j bwd[j] y(t-k+j)
    out = [Vf]
    for k in range(max_lag):
        # Delta = E[e_f(t) e_b(t-k-1)'] of the order-k forward and backward errors
        Delta = Sig[k + 1].copy()
        for j, F in enumerate(fwd):
            Delta -= F @ Sig[k - j]
        try:
            Fk = np.linalg.solve(Vb.T, Delta.T).T
            Bk = np.linalg.solve(Vf.T, Delta).T
        except np.linalg.LinAlgError:
            break
        fwd, bwd = (
            [F - Fk @ bwd[k - 1 - j] for j, F in enumerate(fwd)] + [Fk],
            [B - Bk @ fwd[k - 1 - j] for j, B in enumerate(bwd)] + [Bk],
        )
        Vf = Vf - Fk @ Delta.T
        Vb = Vb - Bk @ Delta
        Vf, Vb = symmetrize(Vf), symmetrize(Vb)
        if np.linalg.slogdet(Vf)[0] <= 0:
            break
        out.append(Vf)
    return out


def _ar_aic_lag(Sig: np.ndarray, n_samples: int, max_lag: int) -> int:
    """Lag k minimizing ``AIC(k) = N log det V_k + 2 k p^2`` (Akaike 1974) over k <= max_lag."""
    p = Sig.shape[1]
    aic = [
        n_samples * np.linalg.slogdet(V)[1] + 2 * k * p * p
        for k, V in enumerate(_whittle(Sig, max_lag))
    ]
    return int(np.argmin(aic))


def _default_horizon(records, n: int) -> int:
    """Past = future = twice the AIC lag of a long autoregression (at least ceil(n/p) + 1)."""
    p = records[0].shape[1]
    total = sum(r.shape[0] for r in records)
    longest = max(r.shape[0] for r in records)
    least = int(np.ceil(n / p)) + 1
    # R's ar() bound on the autoregression's lag, within what the records can hold
    max_lag = max(1, min(int(10 * np.log10(max(total, 10))), (longest - 1) // (2 * p + 2)))
    Sig = _sample_covariances(records, max_lag + 1)
    h = max(2 * _ar_aic_lag(Sig, total, max_lag), least)
    while h > least and 2 * h - 1 + 2 * h * p > longest:
        h -= 1
    return h


def _ho_kalman_covariance(records, order, past, future):
    Sig = _sample_covariances(records, past + future)
    p = Sig.shape[1]
    H = np.empty((future * p, past * p))
    for a in range(future):
        for b in range(past):
            H[a * p : (a + 1) * p, b * p : (b + 1) * p] = Sig[a + b + 1]
    U, s, Vt = np.linalg.svd(H, full_matrices=False)
    return U, s, Vt, None, None, Sig[0]


def _cca(records, past, future):
    p = records[0].shape[1]
    lay = HankelLayout(0, p, past, future, detrend=False)
    acc = accumulate([(y, np.zeros((y.shape[0], 0))) for y in records], lay)
    L = acc.coordinates()
    # past rows ordered y(t-1), y(t-2), ..., y(t-past); future y(t) ... y(t+future-1)
    past_rows = np.concatenate([lay.y_rows(k, k + 1) for k in range(past - 1, -1, -1)])
    Lp, Lf = L[past_rows], L[lay.y_rows(past, past + future)]
    Qp, Rp = np.linalg.qr(Lp.T)
    Qf, Rf = np.linalg.qr(Lf.T)
    for Rx, name in ((Rp, "past"), (Rf, "future")):
        d = np.abs(np.diag(Rx))
        if svd_rank(np.sort(d)[::-1]) < d.size:
            raise InvalidValueError(
                f"y: expected a full-rank {name} covariance, got a singular one (a constant "
                "or deterministic channel, or too few samples for the horizon)"
            )
    U, s, Vt = np.linalg.svd(Qf.T @ Qp)
    Sigma0 = Lf[:p] @ Lf[:p].T
    return U, s, Vt, Rf, Rp, Sigma0


def _inv_sqrt(W: np.ndarray) -> np.ndarray:
    """Symmetric ``W^{-1/2}`` of a PSD matrix, directions below ``1e-12 lambda_max`` dropped."""
    w, V = np.linalg.eigh(symmetrize(W))
    keep = w > 1e-12 * w[-1]
    return (V[:, keep] / np.sqrt(w[keep])) @ V[:, keep].T


def _canonical_state_map(Sig: np.ndarray, past: int, future: int, n: int) -> np.ndarray:
    """``M`` (n, past p) with ``x(t) = M p(t)`` the first n canonical variates of the past.

    Canonical correlation analysis of the future ``[y(t); ...; y(t+future-1)]`` and the
    past ``p(t) = [y(t-1); ...; y(t-past)]`` on the biased covariances ``Sig``:
    ``W_f^{-1/2} H W_p^{-1/2} = U S V'``, ``M = S_n^{1/2} V_n' W_p^{-1/2}`` (Akaike 1975).
    """
    p = Sig.shape[1]
    H = np.empty((future * p, past * p))
    for a in range(future):
        for b in range(past):
            H[a * p : (a + 1) * p, b * p : (b + 1) * p] = Sig[a + b + 1]
    Wp_is = _inv_sqrt(_block_toeplitz(Sig, past))
    Wf_is = _inv_sqrt(_block_toeplitz(Sig, future).T)  # of [y(t); y(t+1); ...]
    _, s, Vt = np.linalg.svd(Wf_is @ H @ Wp_is)
    return (np.sqrt(s[:n])[:, None] * Vt[:n]) @ Wp_is


def _positive_real_realization(Sig: np.ndarray, M: np.ndarray):
    """Positive-real realization from the residuals of the state regression.

    With the state ``x(t) = M p(t)``, ``p(t) = [y(t-1); ...; y(t-past)]``, the vectors
    ``x(t)``, ``x(t+1) = M p(t+1)`` and ``y(t)`` are linear functions of the window
    ``[y(t); ...; y(t-past)]``, so their joint covariance is ``Z W Z'`` with ``W`` the
    block-Toeplitz matrix of the biased sample covariances ``Sig``: positive
    semidefinite, and with equal covariances of ``x(t)`` and ``x(t+1)`` (Toeplitz
    structure). The regression of ``[x(t+1); y(t)]`` on ``x(t)`` gives ``[A; C]``; its
    residual covariance ``[[Q, S], [S', R]]`` is a Schur complement of ``Z W Z'``,
    computed as the Gram matrix of a triangular factor, so PSD by construction. Then
    ``Sigma_x = A Sigma_x A' + Q``, so ``A`` is stable, and ``(A, C, Q, R, S)`` is a
    state-space model whose covariances are positive real (Van Overschee & De Moor 1996,
    Sec. 3.3, Fig. 3.13; the zero-padded, Toeplitz moments make the stability part hold
    for finite data too).

    Returns
    -------
    A, C, Q, R, S : arrays
    """
    n, pk = M.shape
    p = Sig.shape[1]
    past = pk // p
    W = _block_toeplitz(Sig, past + 1)
    # rows: x(t), x(t+1), y(t) as functions of the window [y(t); y(t-1); ...; y(t-past)]
    Z = np.zeros((2 * n + p, (past + 1) * p))
    Z[:n, p:] = M
    Z[n : 2 * n, : past * p] = M
    Z[2 * n :, :p] = np.eye(p)
    # W = F F' (eigenvalue factor: W is PSD but may be singular to rounding)
    w, V = np.linalg.eigh(W)
    F = V * np.sqrt(np.clip(w, 0.0, None))
    R_ = np.linalg.qr((Z @ F).T, mode="r")  # Z W Z' = R_' R_
    R11, R12, R22 = R_[:n, :n], R_[:n, n:], R_[n:, n:]
    # [x(t+1); y(t)] = Theta x(t) + residual: Theta' = R11^{-1} R12, residual cov R22' R22
    Theta = np.linalg.lstsq(R11, R12, rcond=None)[0].T
    Res = R22.T @ R22
    A, C = Theta[:n], Theta[n:]
    Q, S, R = Res[:n, :n], Res[:n, n:], Res[n:, n:]
    return A, C, symmetrize(Q), symmetrize(R), S


def _prepared(y, order, horizon, detrend):
    """Validated records at unit scale: ``(records, y_mean, c, n, past, future)``.

    The records are detrended (with ``detrend``) and divided by ``c``, a power of two near
    their RMS value (so that scaling back is exact).
    """
    if isinstance(y, list) and y and all(isinstance(r, np.ndarray) for r in y):
        records = [as_timeseries(r, f"y[{k}]") for k, r in enumerate(y)]
    else:
        records = [as_timeseries(y, "y")]
    p = records[0].shape[1]
    for k, r in enumerate(records):
        if r.shape[1] != p:
            raise ShapeError(f"y[{k}]: expected {p} channel(s) like record 0, got {r.shape[1]}")
    n = as_int(order, "order", low=1, error=OrderError)
    if detrend:
        y_mean = np.concatenate(records).mean(axis=0)
        records = [r - y_mean for r in records]
    else:
        y_mean = np.zeros(p)
    # work at unit scale (a power of two, so that scaling back is exact)
    ms = float(np.mean([np.mean(r * r) for r in records]))
    if not ms > 0 or not np.isfinite(ms):
        raise DataError(
            "y: expected a non-constant output, got "
            + ("constant data" if detrend else "all zeros")
        )
    c = 2.0 ** np.round(0.5 * np.log2(ms))
    records = [r / c for r in records]
    if horizon is None:
        past = future = _default_horizon(records, n)
    else:
        past, future = parse_horizon(horizon)
    cap = min(past, future - 1) * p
    if n > cap:
        raise OrderError(
            f"order: expected at most {cap} states for horizon (past={past}, future={future}) "
            f"with p={p} (order <= min(past, future - 1) p), got {n}; use horizon >= "
            f"{int(np.ceil(n / p)) + 1}"
        )
    s_blocks = past + future
    need = s_blocks - 1 + s_blocks * p
    total = sum(max(r.shape[0] - s_blocks + 1, 0) for r in records)
    if total < s_blocks * p:
        raise DataError(
            f"y: expected at least {need} samples for horizon (past={past}, future={future}) "
            f"with p={p}, got {', '.join(str(r.shape[0]) for r in records)}"
        )

    return records, y_mean, c, n, past, future


def _forward_model(A, C, G, Sigma0, c):
    """``(problem, P, K, Lambda, phi_min)`` of the covariance realization at unit scale.

    ``problem`` is None when ``(A, C, G, Sigma0)`` is stable and positive real (then P, K,
    Lambda solve Faurre's Riccati equation), else a sentence saying why not.
    """
    P = K = Lam = None
    rho = float(np.max(np.abs(np.linalg.eigvals(A))))
    if rho >= 1.0:
        problem = (
            f"an unstable covariance realization (spectral radius of A {rho:.6g}); pass "
            "repair=True for the positive-real realization from the state regression"
        )
        return problem, P, K, Lam, None
    phi_min, w_min = spectral_minimum(A, C, G, Sigma0)
    try:
        if phi_min <= 0:
            raise NotPositiveRealError("spectral density not positive definite")
        P, K, Lam = faurre(A, C, G, Sigma0)
    except NotPositiveRealError as exc:
        problem = (
            f"a spectral density with smallest eigenvalue {phi_min * c * c:.4g} at "
            f"w = {w_min:.4g} rad/sample ({exc}); pass repair=True for the positive-real "
            "realization from the state regression"
        )
        return problem, P, K, Lam, phi_min
    return None, P, K, Lam, phi_min


def _repaired(records, past, future, n):
    """The positive-real realization from the state regression (``repair=True``):
    ``(A, C, G, Sigma0, P, K, Lambda, phi_min)`` at unit scale."""
    Sig = _sample_covariances(records, past + future)
    M = _canonical_state_map(Sig, past, future, n)
    A, C, Q, R, S = _positive_real_realization(Sig, M)
    try:
        Px = dlyap(A, Q)
        Perr, K, Lam = kalman_gain(A, C, Q, R, S)
    except (InvalidValueError, np.linalg.LinAlgError) as exc:
        # only when the regression moments are singular (order near past * p / 2 or
        # deterministic data): the residual covariance is PSD but not definite
        raise NotPositiveRealError(
            f"Sigma: expected a positive-real state regression, got a degenerate one "
            f"({exc}); use a longer horizon or a smaller order"
        ) from None
    G = A @ Px @ C.T + S
    Sigma0 = symmetrize(C @ Px @ C.T + R)
    P = symmetrize(Px - Perr)
    phi_min, _ = spectral_minimum(A, C, G, Sigma0)
    return A, C, G, Sigma0, P, K, Lam, phi_min


def stochastic_realization(
    y, order, method="cca", horizon=None, *, detrend=True, repair=False, dt=1.0
) -> StochasticRealization:
    """Output-only stochastic realization: forward and backward innovation models.

    Parameters
    ----------
    y : (T, p) array or list of (T_k, p) arrays
        Output samples (1-D means one channel); a list gives several records.
    order : int
        State dimension n.
    method : {"cca", "covariance"}, default "cca"
        Canonical correlation analysis of past and future (Akaike, Desai-Pal), or the
        Ho-Kalman SVD of the block Hankel matrix of sample covariances.
    horizon : int or (int, int), optional
        Past and future block rows. Default: chosen from the data, ``past = future =
        max(2 k_AIC, ceil(n / p) + 1)`` with ``k_AIC`` the lag of the autoregression of
        smallest AIC (lags up to ``10 log10 T``), reduced if the records are too short.
    detrend : bool, default True
        Remove the sample mean (stored in ``result.y_mean``).
    repair : bool, default False
        When the estimated covariance data are not positive real (or ``A`` is unstable),
        build the model from the residuals of the state regression instead of raising:
        a realization that is positive real by construction (see Notes).
    dt : float, default 1.0
        Sampling period of the returned models.

    Returns
    -------
    StochasticRealization
        ``.model`` (forward innovation form), ``.backward_model``, ``.P_min``, ``.P_max``,
        ``.A, .C, .G, .Sigma0``, ``.singular_values``.

    Raises
    ------
    NotPositiveRealError
        If the estimated covariances are not positive real and ``repair`` is False (the
        message gives the spectral minimum or the unstable pole).
    OrderError
        If ``order`` exceeds what the horizon (``min(past, future - 1) p``) or the data
        (numerical rank of the Hankel matrix) support.
    DataError, NonFiniteError, ShapeError
        Too few samples, constant data, NaN or Inf, wrong shapes.

    Notes
    -----
    *Scale.* The data are divided by a power of two near their RMS value before any
    computation and the results scaled back, so every tolerance is relative: the result
    for ``c y`` is that for ``y`` with ``C, G`` times ``c``, ``K`` over ``c`` and
    ``Sigma_0, Lambda`` times ``c^2``.

    *Finite horizon.* With finite past and future the canonical correlations (and the
    Hankel singular values) are those of the finite windows: the past must be long
    enough for ``(A - K C)^past`` to be negligible, or the smaller canonical correlations
    are biased towards zero. The default horizon is twice the lag chosen by AIC for a
    long autoregression (Peternell, Scherrer & Deistler 1996; Bauer 2005), which grows
    with the sample size so that this bias vanishes asymptotically; a process with a
    spectral zero close to the unit circle needs long horizons and many samples.

    *Repair.* Sample covariances need not be positive real: the Riccati equation of the
    forward model then has no solution (often for short records, over-estimated orders,
    near-unit-root data). With ``repair=True`` the model is re-estimated from the state
    regression (Van Overschee & De Moor 1996, Sec. 3.3, the positive-real algorithm of
    Fig. 3.13): with ``x(t) = M p(t)`` the first ``n`` canonical variates of the past
    (for either method; the repaired model is in that basis),
    ``[x(t+1); y(t)] = [A; C] x(t) + [w; v]`` is fitted by least squares on the
    biased (zero-padded) sample moments. The residual covariance ``[[Q, S], [S', R]]``
    is positive semidefinite and ``Sigma_x = A Sigma_x A' + Q`` holds exactly for these
    moments, so ``A`` is stable and ``(A, C, Q, R, S)`` is a genuine state-space model;
    its covariances ``G = A Sigma_x C' + S``, ``Sigma_0 = C Sigma_x C' + R`` are positive
    real, and the forward innovation model comes from its Kalman filter Riccati
    equation (stabilizing solution; ``P_min = Sigma_x - P``). ``Sigma_0`` stays the
    sample variance (nothing is inflated), and white noise gives a nearly flat
    spectrum with poles near zero, not a spurious unit root. Data that are already
    positive real are not affected (``repaired`` is False).

    References
    ----------
    P. Van Overschee, B. De Moor, *Subspace Identification for Linear Systems*, Kluwer,
    1996, Sec. 3.3.
    K. Peternell, W. Scherrer, M. Deistler, "Statistical analysis of novel subspace
    identification methods", Signal Processing 52 (1996) 161-177.
    D. Bauer, "Estimating linear dynamical systems using subspace methods", Econometric
    Theory 21 (2005) 181-211.
    P. Whittle, "On the fitting of multivariate autoregressions, and the approximate
    canonical factorization of a spectral density matrix", Biometrika 50 (1963) 129-134.

    Examples
    --------
    >>> import numpy as np, realize
    >>> true = realize.StateSpace([[0.8]], C=[[1.0]], K=[[0.5]], Lambda=[[1.0]])
    >>> y = true.simulate(T=20000, rng=0)
    >>> res = realize.stochastic_realization(y, 1)
    >>> round(float(res.model.poles()[0].real), 1)
    0.8
    >>> bool(np.all(np.linalg.eigvalsh(res.P_max - res.P_min) >= -1e-12))
    True

    A short white-noise record whose order-2 covariance realization is unstable:

    >>> w = np.random.default_rng(3).standard_normal(100)
    >>> fix = realize.stochastic_realization(w, 2, repair=True)
    >>> fix.repaired, bool(np.max(np.abs(fix.model.poles())) < 0.5)
    (True, True)
    >>> bool(np.allclose(fix.Sigma0, np.var(w)))  # the sample variance, not inflated
    True
    """
    if method not in _METHODS:
        raise InvalidValueError(f"method: expected one of {_METHODS}, got {method!r}")
    records, y_mean, c, n, past, future = _prepared(y, order, horizon, detrend)
    A, C, G, Sigma0, s = _covariance_realization(records, n, past, future, method)
    models = _innovation_models(records, past, future, n, A, C, G, Sigma0, c, repair)
    return _result(models, s, c, method, (past, future), y_mean, dt)


def _covariance_realization(records, n: int, past: int, future: int, method: str):
    """``(A, C, G, Sigma0, s)`` at unit scale from the SVD of the CCA or covariance Hankel
    matrix (``s`` its singular values); OrderError above its numerical rank."""
    p = records[0].shape[1]
    if method == "covariance":
        U, s, Vt, Rf, Rp, Sigma0 = _ho_kalman_covariance(records, n, past, future)
    else:
        U, s, Vt, Rf, Rp, Sigma0 = _cca(records, past, future)
    rank = svd_rank(s)
    if n > rank:
        raise OrderError(
            f"order: the data support at most {rank} states (numerical rank of the "
            f"{'canonical correlation' if method == 'cca' else 'covariance Hankel'} matrix), "
            f"got {n}"
        )
    sq = np.sqrt(s[:n])
    Gamma = U[:, :n] * sq
    Delta = sq[:, None] * Vt[:n]
    if Rf is not None:
        Gamma = Rf.T @ Gamma
        Delta = Delta @ Rp
    C = Gamma[:p].copy()
    G = Delta[:, :p].copy()
    A = np.linalg.lstsq(Gamma[:-p], Gamma[p:], rcond=None)[0]
    return A, C, G, symmetrize(Sigma0), s


def _innovation_models(records, past, future, n, A, C, G, Sigma0, c, repair: bool):
    """The forward and backward innovation models at unit scale, from the covariance
    realization or (``repair``) from the state regression when it is not positive real.

    Returns ``(A, C, G, Sigma0, P, K, Lambda, phi_min, P_max, Kb, Lambda_b, repaired)``.
    """
    problem, P, K, Lam, phi_min = _forward_model(A, C, G, Sigma0, c)
    repaired = problem is not None
    if repaired:
        if not repair:
            raise NotPositiveRealError(
                f"Sigma: expected positive-real covariance data, got {problem}"
            )
        A, C, G, Sigma0, P, K, Lam, phi_min = _repaired(records, past, future, n)
    Pb, Kb, Lamb = faurre(A.T, G.T, C.T, Sigma0)
    try:
        P_max = np.linalg.inv(Pb)
    except np.linalg.LinAlgError:
        raise OrderError(
            f"order: the backward realization is not minimal at order {n} (singular "
            "backward state covariance); choose a smaller order"
        ) from None
    P_max = symmetrize(P_max)
    return A, C, G, Sigma0, P, K, Lam, phi_min, P_max, Kb, Lamb, repaired


def _result(models, s, c, method, horizon, y_mean, dt) -> StochasticRealization:
    """The :class:`StochasticRealization` of the unit-scale ``models`` (as returned by
    :func:`_innovation_models`) at the data's scale ``c``."""
    A, C, G, Sigma0, P, K, Lam, phi_min, P_max, Kb, Lamb, repaired = models
    # back to the data's scale: y = c y~ gives C, G, K_bar^-1 times c and covariances c^2
    C, G, K, Kb = C * c, G * c, K / c, Kb / c
    Sigma0, Lam, Lamb = Sigma0 * c * c, Lam * c * c, Lamb * c * c
    if method == "covariance":
        s = s * c * c
    model = StateSpace(A, C=C, dt=dt, K=K, Lambda=Lam)
    backward = StateSpace(A.T, C=G.T, dt=dt, K=Kb, Lambda=Lamb)
    return StochasticRealization(
        model=model,
        backward_model=backward,
        A=A,
        C=C,
        G=G,
        Sigma0=Sigma0,
        P_min=P,
        P_max=P_max,
        singular_values=s,
        order=A.shape[0],
        method=method,
        horizon=horizon,
        repaired=repaired,
        spectral_minimum=phi_min * c * c,
        y_mean=y_mean,
    )
