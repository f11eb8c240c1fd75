"""Fixed-interval smoother (Rauch-Tung-Striebel), compiled in the backward form of
Durbin & Koopman (2012, sections 4.4.4 and 4.7), with lag-one covariances."""

from __future__ import annotations

import numpy as np

from realize._checks import as_bool
from realize.filtering._model import STEADY_STATE_TOL, prepare, steady_state_tol
from realize.filtering.filter import assemble, public_method, run_filter
from realize.filtering.panel import is_dask
from realize.filtering.results import SmootherResult

__all__ = ["kalman_smoother", "smooth_groups"]


def smooth_groups(prep, groups, tol, method: str = "conventional") -> dict:
    """Backward pass over each output group; returns merged (N, ...) arrays.

    Parameters
    ----------
    prep : Prepared
        The validated problem from :func:`~realize.filtering._model.prepare`.
    groups : list of FilterGroup
        Stored filter output groups (see :func:`~realize.filtering.filter.run_filter`).
    tol : float or None
        The steady-state tolerance the filter ran with.
    method : str
        ``'reference'`` for the NumPy reference smoother, else the compiled one.

    Returns
    -------
    dict
        ``xs`` (N, T, n) smoothed states, ``Ps`` (N, T, n, n) smoothed covariances and
        ``Pc`` (N, T-1, n, n) lag-one cross covariances (broadcast views when shared).

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.filter import run_filter
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=50, rng=0)
    >>> prep = prepare(sys, y)
    >>> sm = smooth_groups(prep, run_filter(prep, "conventional", store=True, tol=None), None)
    >>> sm["xs"].shape, sm["Pc"].shape
    ((1, 50, 1), (1, 49, 1, 1))
    >>> bool(np.allclose(sm["xs"][0], realize.kalman_smoother(sys, y).smoothed_state))
    True
    """
    from realize._ext._kalman_smoother import dk_smoother
    from realize.filtering.diffuse import diffuse_smooth

    T, n, N = prep.T, prep.n, prep.N
    ktol = -1.0 if tol is None else float(tol)
    shared = len(groups) == 1
    xs = np.empty((N, T, n))
    Ps = np.empty((T, n, n) if shared else (N, T, n, n))
    Pc = np.empty((max(T - 1, 0), n, n) if shared else (N, max(T - 1, 0), n, n))
    for idx, out in groups:
        if method == "reference":
            from realize.filtering.reference import reference_smoother

            xs[idx], ps, pc = reference_smoother(prep, out, int(idx[0]))
        else:
            # one group: the kernel writes the smoothed states in place
            xg = xs if shared else np.empty((len(idx), T, n))
            ps = np.empty((T, n, n))
            pc = np.empty((max(T - 1, 0), n, n))
            r, N_ = np.empty((len(idx), n)), np.empty((n, n))  # r[-1], N[-1] (unused here)
            part, d = prep.series(idx), out.n_diffuse
            dk_smoother(part, out, ktol, xg, ps, pc, r, N_, d)
            if d:
                # the diffuse period in NumPy: d steps, usually a few
                diffuse_smooth(part, out, d, r, N_, xg, ps, pc)
            if not shared:
                xs[idx] = xg
        if shared:
            Ps, Pc = ps, pc
        else:
            Ps[idx], Pc[idx] = ps, pc
    if shared:
        Ps = np.broadcast_to(Ps, (N, *Ps.shape))
        Pc = np.broadcast_to(Pc, (N, *Pc.shape))
    return dict(xs=xs, Ps=Ps, Pc=Pc)


def kalman_smoother(
    sys,
    y,
    u=None,
    x0=None,
    P0=None,
    *,
    init: str = "auto",
    P0_diffuse=None,
    method: str = "conventional",
    steady_state: bool = True,
    tol: float = STEADY_STATE_TOL,
    disturbances: bool = False,
) -> SmootherResult:
    r"""Fixed-interval (Rauch-Tung-Striebel) smoother: states given all the data.

    Parameters
    ----------
    sys, y, u, x0, P0, init, P0_diffuse, method, steady_state, tol
        As in :func:`realize.kalman_filter` (``method`` chooses the forward filter; the
        deprecated ``"reference"`` also uses the NumPy reference backward pass).
    disturbances : bool, default False
        Also smooth the state and observation disturbances (Durbin & Koopman 2012,
        section 4.5): the result is then a
        :class:`~realize.filtering.disturbance.DisturbanceSmootherResult`.

    Returns
    -------
    SmootherResult
        ``smoothed_state`` (T, n), ``smoothed_cov`` (T, n, n), ``smoothed_lag1_cov``
        (T-1, n, n) with ``[t] = cov(x_{t+1}, x_t | y)``, ``filter`` (the forward
        :class:`FilterResult`) and ``loglik``. For N series every array gains a leading
        axis N.

    Raises
    ------
    As :func:`realize.kalman_filter`.

    Notes
    -----
    The backward recursion of Durbin & Koopman (2012, eqs. 4.44 and 4.69), with
    ``L_t = A_t - K_t C_t`` and ``r_{T-1} = 0``, ``N_{T-1} = 0``::

        r_{t-1} = C' F^-1 v_t + L_t' r_t,      N_{t-1} = C' F^-1 C + L_t' N_t L_t
        xs_t = a_t + P_t r_{t-1},              Ps_t = P_t - P_t N_{t-1} P_t
        cov(x_{t+1}, x_t | y) = (I - P_{t+1} N_t) L_t P_t

    equals the RTS smoother ``xs_t = x_{t|t} + J_t (xs_{t+1} - x_{t+1|t})`` without
    inverting ``P_{t+1}``, and holds with correlated noise (S enters through K_t).
    During a steady stretch of the filter, once N has converged (same ``tol``), the
    covariances are frozen and only r and xs are updated.

    References
    ----------
    .. [1] H. E. Rauch, F. Tung and C. T. Striebel, "Maximum likelihood estimates of
       linear dynamic systems", AIAA Journal 3(8), 1965.
    .. [2] J. Durbin and S. J. Koopman, *Time Series Analysis by State Space Methods*,
       2nd ed., 2012, sections 4.4 and 4.7.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=100, rng=1)
    >>> sm = realize.kalman_smoother(sys, y)
    >>> bool(np.all(sm.smoothed_cov <= sm.filter.filtered_cov + 1e-12))
    True
    """
    method = public_method(method)
    disturbances = as_bool(disturbances, "disturbances")
    if is_dask(y):
        from realize.filtering.panel import panel_smoother

        options = dict(P0_diffuse=P0_diffuse, method=method, steady_state=steady_state, tol=tol)
        return panel_smoother(sys, y, u, x0, P0, init=init, disturbances=disturbances, **options)
    tol = steady_state_tol(tol, steady_state)
    prep = prepare(sys, y, u, x0, P0, init, P0_diffuse)
    groups = run_filter(prep, method, store=True, tol=tol, filtered_cov=False)
    filt = assemble(prep, groups, method)
    sm = smooth_groups(prep, groups, tol, method)
    xs, Ps, Pc = sm["xs"], sm["Ps"], sm["Pc"]
    if not prep.batched:
        xs, Ps, Pc = xs[0], Ps[0], Pc[0]
    result = SmootherResult(
        smoothed_state=xs, smoothed_cov=Ps, smoothed_lag1_cov=Pc, filter=filt, loglik=filt.loglik
    )
    if disturbances:
        from realize.filtering.disturbance import with_disturbances

        result = with_disturbances(result, prep, groups)
    return result
