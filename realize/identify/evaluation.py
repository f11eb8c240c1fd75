"""Fit of an identified model on data: initial-state estimate and simulation fit.

The fit of output ``i`` is the normalized root-mean-square score used by system
identification toolboxes,

.. math:: \\mathrm{fit}_i = 100 \\Big(1 - \\frac{\\lVert y_i - \\hat y_i\\rVert}
                                       {\\lVert y_i - \\bar y_i\\rVert}\\Big),

where ``yhat`` is the simulated output (inputs only, no measured outputs fed back) from
the least-squares initial state. 100 is a perfect fit, 0 is no better than the mean.
"""

from __future__ import annotations

import numpy as np

__all__ = ["estimate_initial_state", "simulate_output", "simulation_fit"]


def simulate_output(A, B, C, D, u, x0) -> np.ndarray:
    """Deterministic output of (A, B, C, D) from ``x0`` (compiled recursion).

    ``x[t+1] = A x[t] + B u[t]``, ``y[t] = C x[t] + D u[t]``, ``x[0] = x0``; overflow
    is not reported (it gives inf/NaN, which the fit turns into ``-inf``).

    Parameters
    ----------
    A, B, C, D : (n, n), (n, m), (p, n), (p, m) arrays
        The model.
    u : (T, m) array
        Inputs.
    x0 : (n,) array
        Initial state.

    Returns
    -------
    y : (T, p) array
        Simulated output.

    Examples
    --------
    >>> import numpy as np
    >>> A, B, C, D = np.array([[0.5]]), np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1))
    >>> from realize.identify.evaluation import simulate_output
    >>> simulate_output(A, B, C, D, np.zeros((3, 1)), np.ones(1)).ravel().tolist()
    [1.0, 0.5, 0.25]
    """
    from realize.simulation import simulate_states

    with np.errstate(all="ignore"):
        y, _ = simulate_states(A, B, C, D, u, None, None, x0)
    return y


def _free_response(A, C, W):
    """(W, p, n) array of C A^t, t < W."""
    n = A.shape[0]
    out = np.empty((W, C.shape[0], n))
    M = C.copy()
    for t in range(W):
        out[t] = M
        M = M @ A
    return out


def estimate_initial_state(A, B, C, D, y, u, window: int | None = None) -> np.ndarray:
    """Least-squares initial state of the simulation error on the first ``window`` samples.

    Solves ``min_x0 sum_t ||y[t] - C A^t x0 - ysim0[t]||^2`` where ``ysim0`` is the
    response from a zero state. The default window is the whole record, capped where
    ``C A^t`` has decayed below ``1e-10`` of its start (and at 20000 samples).

    Parameters
    ----------
    A, B, C, D : (n, n), (n, m), (p, n), (p, m) arrays
        The model.
    y : (T, p) array
        Measured outputs.
    u : (T, m) array
        Inputs.
    window : int, optional
        Number of leading samples used.

    Returns
    -------
    x0 : (n,) array
        Zeros when n = 0, T = 0 or the free response overflows.

    Examples
    --------
    >>> import numpy as np
    >>> A, B, C, D = np.array([[0.5]]), np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1))
    >>> from realize.identify.evaluation import estimate_initial_state, simulate_output
    >>> u = np.random.default_rng(0).standard_normal((50, 1))
    >>> y = simulate_output(A, B, C, D, u, np.array([2.0]))
    >>> np.round(estimate_initial_state(A, B, C, D, y, u), 8).tolist()
    [2.0]
    """
    n = A.shape[0]
    T = y.shape[0]
    if n == 0 or T == 0:
        return np.zeros(n)
    rho = float(np.max(np.abs(np.linalg.eigvals(A))))
    if window is None:
        if rho < 1.0 - 1e-12:
            W = int(np.ceil(np.log(1e-10) / np.log(max(rho, 1e-3)))) + 10 * n
        else:
            W = 200 + 10 * n
        window = min(T, max(W, 4 * n), 20000)
    W = int(min(window, T))
    ysim = simulate_output(A, B, C, D, u[:W], np.zeros(n))
    Phi = _free_response(A, C, W).reshape(W * C.shape[0], n)
    resid = (y[:W] - ysim).reshape(-1)
    if not (np.all(np.isfinite(Phi)) and np.all(np.isfinite(resid))):
        return np.zeros(n)
    x0, *_ = np.linalg.lstsq(Phi, resid, rcond=None)
    return x0


def simulation_fit(A, B, C, D, records, x0s) -> np.ndarray:
    """Per-output fit of the simulation over several records (norms pooled).

    The residual norms and the output deviations from the pooled mean are summed over
    the records before the ratio of the module formula is taken.

    Parameters
    ----------
    A, B, C, D : (n, n), (n, m), (p, n), (p, m) arrays
        The model.
    records : sequence of (y, u)
        y (T_i, p) and u (T_i, m) arrays, one pair per record.
    x0s : sequence of (n,) arrays
        Initial state of each record.

    Returns
    -------
    fit : (p,) array
        Fit in percent per output (``-inf`` where it is undefined or overflowed).

    Examples
    --------
    >>> import numpy as np
    >>> A, B, C, D = np.array([[0.5]]), np.array([[1.0]]), np.array([[1.0]]), np.zeros((1, 1))
    >>> from realize.identify.evaluation import simulate_output, simulation_fit
    >>> u = np.random.default_rng(0).standard_normal((50, 1))
    >>> y = simulate_output(A, B, C, D, u, np.zeros(1))
    >>> simulation_fit(A, B, C, D, [(y, u)], [np.zeros(1)]).round(6).tolist()
    [100.0]
    """
    num = 0.0
    den_parts = []
    res_parts = []
    for (y, u), x0 in zip(records, x0s):
        yhat = simulate_output(A, B, C, D, u, x0)
        res_parts.append(np.sum((y - yhat) ** 2, axis=0))
        den_parts.append(y)
    num = np.sqrt(np.sum(res_parts, axis=0))
    yall = np.concatenate(den_parts)
    den = np.linalg.norm(yall - yall.mean(axis=0), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = 100.0 * (1.0 - num / den)
    fit[~np.isfinite(fit)] = -np.inf
    return fit


def blockwise_fit(A, B, C, D, records, y_mean, u_mean, head: int = 20000):
    """Initial states and pooled simulation fit of records read block by block (dask).

    The simulation carries its state across the blocks of a record, so the result equals
    :func:`simulation_fit` on the whole record while only one block is in memory.

    Returns
    -------
    x0s : list of (n,) arrays
    fit : (p,) array
    """
    from realize.simulation import simulate_states

    p = C.shape[0]
    x0s = []
    sse = np.zeros(p)
    count, mean, m2 = 0, np.zeros(p), np.zeros(p)
    for y, u in records:
        T = y.shape[0]
        k = min(head, T)
        yh = np.asarray(y[:k].compute(), dtype=float).reshape(k, -1) - y_mean
        uh = (
            np.zeros((k, 0))
            if u is None
            else np.asarray(u[:k].compute(), dtype=float).reshape(k, -1) - u_mean
        )
        x = estimate_initial_state(A, B, C, D, yh, uh)
        x0s.append(x)
        if u is not None:
            u = u.rechunk({0: y.chunks[0]})
        for b in range(y.numblocks[0]):
            yb = np.asarray(y.blocks[b].compute(), dtype=float).reshape(-1, p) - y_mean
            ub = (
                np.zeros((yb.shape[0], 0))
                if u is None
                else np.asarray(u.blocks[b].compute(), dtype=float).reshape(yb.shape[0], -1)
                - u_mean
            )
            with np.errstate(all="ignore"):
                yhat, X = simulate_states(A, B, C, D, ub, None, None, x)
            x = X[-1]
            sse += np.sum((yb - yhat) ** 2, axis=0)
            # Chan et al. pooled mean and sum of squared deviations
            nb = yb.shape[0]
            mb = yb.mean(axis=0)
            m2 += np.sum((yb - mb) ** 2, axis=0) + (mb - mean) ** 2 * count * nb / (count + nb)
            mean = mean + (mb - mean) * nb / (count + nb)
            count += nb
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = 100.0 * (1.0 - np.sqrt(sse) / np.sqrt(m2))
    fit[~np.isfinite(fit)] = -np.inf
    return x0s, fit
