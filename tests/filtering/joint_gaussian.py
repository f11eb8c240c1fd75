"""Brute-force oracle: the whole state-space model as one Gaussian vector, conditioned.

``z = [x_0; w_0; v_0; ...; w_{T+h-1}; v_{T+h-1}]`` is Gaussian with a block-diagonal
covariance (P0, then ``[[Q, S], [S', R]]`` per step); every state and output is an affine
map of z. Conditioning z on the observed entries of y (dense linear algebra, O(T^3))
gives the smoothed states, disturbances and forecasts by definition, with correlated
noise, time-varying matrices, inputs and missing data. Small problems only.
"""

from __future__ import annotations

import numpy as np

from realize.filtering._model import prepare, stack_at


def joint_posterior(model, y, u=None, x0=None, P0=None, *, steps=0, u_future=None):
    """Posterior of the states, disturbances and outputs given the observed y.

    Returns a dict with means and covariances: ``x`` (T+steps, n) and ``Px``, ``w`` (T, n)
    and ``Pw``, ``v`` (T, p) and ``Pv`` (per-step blocks), ``y`` (T+steps, p) and ``Py``
    (per-step blocks), ``xcov`` the full (T+steps)n x (T+steps)n state covariance.
    """
    prep = prepare(model, y, u, x0, P0, "auto")
    T, n, p = prep.T, prep.n, prep.p
    H = T + steps
    k = n + p
    dim = n + H * k

    # A, C, Q, R, S of step t (the forecast steps reuse the last matrices)
    def mats(t):
        return prep.at(min(t, T - 1))

    Sz = np.zeros((dim, dim))
    Sz[:n, :n] = prep.P0
    for t in range(H):
        A, C, Q, R, S = mats(t)
        i = n + t * k
        Sz[i : i + n, i : i + n] = Q
        Sz[i + n : i + k, i + n : i + k] = R
        Sz[i : i + n, i + n : i + k] = S
        Sz[i + n : i + k, i : i + n] = S.T
    mz = np.zeros(dim)
    mz[:n] = prep.x0[0]
    # intercepts B u, D u over the whole horizon
    c = np.zeros((H, n))
    d = np.zeros((H, p))
    if prep.u is not None:
        c[:T] = np.broadcast_to(prep.c[0], (T, n))
        d[:T] = np.broadcast_to(prep.d[0], (T, p))
        if steps:
            uf = np.asarray(u_future, float).reshape(steps, -1)
            c[T:] = uf @ stack_at(prep.B, T - 1).T
            d[T:] = uf @ stack_at(prep.D, T - 1).T
    Mx = np.zeros((H, n, dim))  # x_t = Mx[t] z + mx[t]
    mx = np.zeros((H, n))
    My = np.zeros((H, p, dim))
    my = np.zeros((H, p))
    Mx[0, :, :n] = np.eye(n)
    for t in range(H):
        A, C, Q, R, S = mats(t)
        i = n + t * k
        My[t] = C @ Mx[t]
        My[t, :, i + n : i + k] += np.eye(p)
        my[t] = C @ mx[t] + d[t]
        if t + 1 < H:
            Mx[t + 1] = A @ Mx[t]
            Mx[t + 1, :, i : i + n] += np.eye(n)
            mx[t + 1] = A @ mx[t] + c[t]
    yo = prep.y[0]
    obs = ~np.isnan(yo)
    Mo = My[:T][obs]  # (n_obs, dim)
    mo = my[:T][obs]
    Syy = Mo @ Sz @ Mo.T
    G = np.linalg.solve(Syy, Mo @ Sz).T  # Sz Mo' Syy^-1
    z_hat = mz + G @ (yo[obs] - (Mo @ mz + mo))
    Pz = Sz - G @ Mo @ Sz
    Pz = 0.5 * (Pz + Pz.T)

    def moments(M, m):
        mean = np.einsum("hij,j->hi", M, z_hat) + m
        cov = np.einsum("hij,jk,hlk->hil", M, Pz, M)
        return mean, cov

    x, Px = moments(Mx, mx)
    yy, Py = moments(My, my)
    Ew = np.zeros((T, n, dim))
    Ev = np.zeros((T, p, dim))
    for t in range(T):
        i = n + t * k
        Ew[t, :, i : i + n] = np.eye(n)
        Ev[t, :, i + n : i + k] = np.eye(p)
    w, Pw = moments(Ew, np.zeros((T, n)))
    v, Pv = moments(Ev, np.zeros((T, p)))
    Mflat = Mx.reshape(H * n, dim)
    return dict(x=x, Px=Px, w=w, Pw=Pw, v=v, Pv=Pv, y=yy, Py=Py, xcov=Mflat @ Pz @ Mflat.T)
