"""Oracles for the filtering tests (helpers, no tests): statsmodels on an equivalent model."""

from __future__ import annotations

import numpy as np


def _tv(M, T):
    """(T, r, c) stack from a matrix or a stack."""
    M = np.asarray(M, dtype=float)
    return np.broadcast_to(M, (T, *M.shape[-2:])) if M.ndim == 2 else M


def statsmodels_smoother(model: dict, y, u=None, x0=None, P0=None):
    """Run statsmodels' KalmanSmoother on ``model`` (keys A, B, C, D, Q, R, S, possibly
    time-varying), returning our conventions: dict of loglik, predicted/filtered/smoothed
    states (T, n) and covariances (T, n, n), innovations, innovation_cov, lag1.

    Correlated noise goes through the augmented state xi_t = [x_t; w_t; v_t]:
    xi_{t+1} = [[A, I, 0], [0, 0, 0], [0, 0, 0]] xi_t + [c_t; eta_{t+1}], y_t = [C, 0, I] xi_t
    (no observation noise), with eta_t = [w_t; v_t] ~ N(0, [[Q, S], [S', R]]).
    statsmodels' tolerance is set to 0: no steady-state switch (the exact recursion).
    """
    from statsmodels.tsa.statespace.kalman_smoother import KalmanSmoother

    y = np.asarray(y, dtype=float)
    T, p = y.shape
    A, C, Q, R = (_tv(model[k], T) for k in ("A", "C", "Q", "R"))
    n = A.shape[1]
    S = _tv(model.get("S", np.zeros((n, p))), T)
    c = np.zeros((T, n))
    d = np.zeros((T, p))
    if u is not None:
        B, D = _tv(model["B"], T), _tv(model["D"], T)
        c = np.einsum("tnm,tm->tn", B, u)
        d = np.einsum("tpm,tm->tp", D, u)
    x0 = np.zeros(n) if x0 is None else x0
    corr = bool(np.any(S))
    if corr:
        k = n + p
        na = n + k
        Ta = np.zeros((T, na, na))
        Ta[:, :n, :n] = A
        Ta[:, :n, n : 2 * n] = np.eye(n)
        Z = np.zeros((T, p, na))
        Z[:, :, :n] = C
        Z[:, :, 2 * n :] = np.eye(p)
        Sig = np.zeros((T, k, k))
        Sig[:, :n, :n], Sig[:, n:, n:], Sig[:, :n, n:] = Q, R, S
        Sig[:, n:, :n] = S.transpose(0, 2, 1)
        sel = np.zeros((na, k))
        sel[n:] = np.eye(k)
        ks = KalmanSmoother(k_endog=p, k_states=na, k_posdef=k)
        ks.bind(np.ascontiguousarray(y))
        ks["design"] = Z.transpose(1, 2, 0)
        ks["obs_cov"] = np.zeros((p, p))
        ks["transition"] = Ta.transpose(1, 2, 0)
        ks["selection"] = sel
        # eta_{t+1} enters the transition from t to t+1
        ks["state_cov"] = np.concatenate([Sig[1:], Sig[-1:]]).transpose(1, 2, 0)
        ks["state_intercept"] = np.vstack([c.T, np.zeros((k, T))])
        ks["obs_intercept"] = d.T
        a0 = np.concatenate([x0, np.zeros(k)])
        Pa0 = np.zeros((na, na))
        Pa0[:n, :n], Pa0[n:, n:] = P0, Sig[0]
        ks.initialize_known(a0, Pa0)
    else:
        ks = KalmanSmoother(k_endog=p, k_states=n, k_posdef=n)
        ks.bind(np.ascontiguousarray(y))
        ks["design"] = C.transpose(1, 2, 0)
        ks["obs_cov"] = R.transpose(1, 2, 0)
        ks["transition"] = A.transpose(1, 2, 0)
        ks["selection"] = np.eye(n)
        ks["state_cov"] = Q.transpose(1, 2, 0)
        ks["state_intercept"] = c.T
        ks["obs_intercept"] = d.T
        ks.initialize_known(x0, P0)
    ks.tolerance = 0.0
    res = ks.smooth()
    s = slice(0, n)
    return dict(
        loglik=float(res.llf),
        predicted_state=res.predicted_state[s, :T].T,
        predicted_cov=res.predicted_state_cov[s, s, :T].transpose(2, 0, 1),
        filtered_state=res.filtered_state[s].T,
        filtered_cov=res.filtered_state_cov[s, s].transpose(2, 0, 1),
        innovations=res.forecasts_error.T,
        innovation_cov=res.forecasts_error_cov.transpose(2, 0, 1),
        smoothed_state=res.smoothed_state[s].T,
        smoothed_cov=res.smoothed_state_cov[s, s].transpose(2, 0, 1),
        autocov=res.smoothed_state_autocov[s, s].transpose(2, 0, 1),
    )
