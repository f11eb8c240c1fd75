"""The public Kalman filter: validation, choice of algorithm, result assembly."""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from realize._checks import as_choice
from realize._linalg import symmetrize
from realize.errors import InvalidValueError
from realize.filtering._model import STEADY_STATE_TOL, Prepared, prepare, steady_state_tol
from realize.filtering._outputs import FilterGroup, merge
from realize.filtering.panel import is_dask
from realize.filtering.results import FilterResult

__all__ = ["kalman_filter", "METHODS", "run_filter"]

#: The filters of ``method=``. The plain NumPy definition the compiled filters are tested
#: against (:mod:`realize.filtering.reference`) is no longer one of them: ``"reference"``
#: still runs it for one release, with a DeprecationWarning (:func:`public_method`).
METHODS = ("conventional", "univariate", "square_root")


def public_method(method):
    """``method`` of a public entry point; ``"reference"`` warns that it is deprecated."""
    if isinstance(method, str) and method == "reference":
        warnings.warn(
            "method='reference' is deprecated: the NumPy reference is the tests' oracle "
            "(realize.filtering.reference), not a filter to choose; use 'conventional'",
            DeprecationWarning,
            stacklevel=3,
        )
    return method


def _runner(method: str):
    if method == "conventional":
        from realize.filtering.conventional import conventional_filter as run
    elif method == "univariate":
        from realize.filtering.univariate import univariate_filter as run
    elif method == "square_root":
        from realize.filtering.square_root import square_root_filter as run
    else:
        from realize.filtering.reference import reference_filter as run
    return run


def run_filter(
    prep: Prepared, method: str, store: bool, tol, filtered_cov: bool = True
) -> list[FilterGroup]:
    """Run one algorithm on a validated problem.

    Parameters
    ----------
    prep, store, tol
        As in :func:`~realize.filtering.conventional.conventional_filter`, which every
        method's filter (``conventional``, ``univariate``, ``square_root``, the NumPy
        ``reference``) shares.
    method : str
        One of ``METHODS``.
    filtered_cov : bool
        Store the filtered covariances; False lets the conventional filter skip them
        (:func:`assemble` then forms them on first access).

    Returns
    -------
    list of FilterGroup
        See :class:`~realize.filtering._outputs.FilterOutputs`.

    Raises
    ------
    InvalidValueError
        If a log-likelihood is not finite (an explosive model overflowed).

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=50, rng=0)
    >>> [(series, out)] = run_filter(prepare(sys, y), "conventional", store=True, tol=None)
    >>> series.tolist(), bool(np.isclose(out.loglik[0], realize.loglik(sys, y)))
    ([0], True)
    """
    method = as_choice(method, "method", (*METHODS, "reference"))
    # the filtered covariances of a diffuse period are not P - P C' F^-1 C P: stored
    lazy = not filtered_cov and method == "conventional" and prep.Pinf is None
    extra = {"filtered_cov": False} if lazy else {}
    groups = _runner(method)(prep, store=store, tol=tol, **extra)
    for idx, out in groups:
        if not np.all(np.isfinite(out.loglik)):
            raise InvalidValueError(
                f"sys: the log-likelihood of series {idx.tolist()} is not finite "
                "(overflow: is the model explosive over this horizon?)"
            )
    return groups


def assemble(prep: Prepared, groups: list[FilterGroup], method: str) -> FilterResult:
    """Build the public result (squeezing the series axis for a single series)."""
    T, N = prep.T, prep.N
    f = {name: merge(N, groups, name) for name in ("xp", "Pp", "xf", "v", "F", "K")}
    stored = groups[0].out.Pf.size > 0
    res = dict(
        predicted_state=f["xp"][:, :T],
        predicted_cov=f["Pp"][:, :T],
        filtered_state=f["xf"],
        _filtered_cov=merge(N, groups, "Pf") if stored else _filtered_cov(prep, groups),
        innovations=np.where(np.isnan(prep.y), np.nan, f["v"]),
        innovation_cov=f["F"],
        gain=f["K"],
        loglik=merge(N, groups, "loglik"),
        loglik_obs=merge(N, groups, "llobs"),
        next_state=f["xp"][:, T],
        next_cov=f["Pp"][:, T],
        steady=merge(N, groups, "steady").astype(bool),
    )
    if not prep.batched:
        res = {k: (v if callable(v) else v[0]) for k, v in res.items()}
        res["loglik"] = float(res["loglik"])
    d, Pinf = _diffuse_parts(prep, groups)
    return FilterResult(
        **res,
        method=method,
        raw=dict(prep=prep, groups=groups),
        n_diffuse=d,
        predicted_diffuse_cov=Pinf,
    )


def _diffuse_parts(prep: Prepared, groups: list[FilterGroup]):
    """(d, P_inf[:d]) of the result: d the longest diffuse period of the groups (it
    depends on the missing pattern), P_inf (d, n, n) or, for N series, (N, d, n, n)
    (zero after a series' own diffuse period)."""
    d = max(out.n_diffuse for _, out in groups)
    Pinf = np.zeros((prep.N, d, prep.n, prep.n))
    for idx, out in groups:
        if out.n_diffuse:
            Pinf[idx, : out.n_diffuse] = out.Pinf[: out.n_diffuse]
    return d, (Pinf if prep.batched else Pinf[0])


def _filtered_cov(prep: Prepared, groups: list[FilterGroup]):
    """A function forming the filtered covariances of groups run without them:
    ``P[t|t] = P - (P C') F^-1 (C P)``, with F^-1 zero on the missing channels
    (so only the observed rows of C enter), for every group and step at once."""

    def make():
        formed = []
        for idx, o in groups:
            P = o.Pp[: prep.T]
            PC = P @ np.swapaxes(prep.C, 1, 2)  # (T, n, p); C is (1 or T, p, n)
            Pf = symmetrize(P - PC @ o.Finv @ np.swapaxes(PC, 1, 2))
            formed.append(FilterGroup(idx, replace(o, Pf=Pf)))
        Pf = merge(prep.N, formed, "Pf")
        return Pf if prep.batched else Pf[0]

    return make


def kalman_filter(
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
) -> FilterResult:
    r"""Kalman filter of a linear Gaussian state-space model, with its exact log-likelihood.

    The model, with noise covariance ``cov([w; v]) = [[Q, S], [S', R]]``, is

    .. math:: x_{t+1} = A_t x_t + B_t u_t + w_t, \qquad y_t = C_t x_t + D_t u_t + v_t.

    Parameters
    ----------
    sys : StateSpace or mapping
        A :class:`~realize.StateSpace` with a noise model (Q, R, S) or an innovation form
        (K, Lambda: then Q = K Lambda K', R = Lambda, S = K Lambda); or a mapping with
        keys ``A, B, C, D, Q, R, S`` (or ``K, Lambda``) whose values may carry a leading
        time axis of length T for time-varying models (``A[t]`` maps x_t to x_{t+1}).
    y : (T, p) or (N, T, p) array
        Outputs; NaN marks a missing entry (whole rows or single channels). A 1-D array
        is one channel; a 3-D array is N series filtered with the same model. An
        (N, T, p) dask array is a panel, filtered chunk by chunk of series on the active
        dask scheduler and gathered (:mod:`realize.filtering.panel`).
    u : (T, m) or (N, T, m) array, optional
        Inputs (required when the model has inputs; finite); a dask array for a panel y.
    x0 : (n,) array, optional
        Mean of x_0 before y_0 is seen (``predicted_state[0] = x0``); default zero.
    P0 : (n, n) array, optional
        Covariance of x_0 (its finite part P_* under an exact diffuse start), else by ``init``.
    init : {"auto", "stationary", "diffuse", "approximate_diffuse", "steady_state"}
        ``"auto"``: the stationary covariance ``P0 = dlyap(A, Q)`` for a stable A; for an
        A with unit-root or explosive modes, those modes start exactly diffuse and the
        stable rest stationary. ``"diffuse"``: the exact diffuse start (Koopman 1997;
        all states, or ``P0_diffuse``), see :mod:`realize.filtering.diffuse` for the
        log-likelihood convention and how to reproduce statsmodels' numbers.
        ``"approximate_diffuse"``: ``P0 = kappa I`` with kappa 1e6 times the data's
        scale (warns when unreliable). ``"steady_state"``: start from the Riccati
        solution, i.e. with the innovation form's gain K and covariance Lambda.
    P0_diffuse : (n, n) array, optional
        The diffuse part P_inf of the initial covariance (``cov(x_0) = P0 + kappa
        P0_diffuse``, kappa -> infinity): mixed diffuse / stationary / known states,
        with ``init="diffuse"`` or ``"auto"``.
    method : {"conventional", "univariate", "square_root"}
        ``"conventional"``: the compiled covariance filter (default; the only one with
        one covariance recursion shared by N series). ``"univariate"``: compiled
        sequential processing of the channels (needs diagonal R; no p x p factorization
        in the recursion). ``"square_root"``: the compiled array (QR) square-root filter
        for ill-conditioned problems. All three have the steady-state switch. The
        deprecated ``"reference"`` (the tests' NumPy oracle) warns and still runs.
    steady_state : bool, default True
        Freeze the covariance recursion (P, F, the gain; each channel's update for the
        univariate filter, the factor of P for the square-root one) once it has converged
        on a time-invariant model, until the next missing value. ``False``: the exact
        recursion at every step.
    tol : float, default 1e-13
        Convergence test ``max|P[t+1] - P[t]| <= tol * max|P[t]|``.

    Returns
    -------
    FilterResult
        ``predicted_state`` (T, n), ``predicted_cov`` (T, n, n), ``filtered_state``,
        ``filtered_cov``, ``innovations`` (T, p), ``innovation_cov`` (T, p, p), ``gain``
        (T, n, p), ``loglik``, ``loglik_obs``, ``next_state``, ``next_cov``, ``steady``.

    Raises
    ------
    ShapeError
        Mismatched shapes of the model, y, u, x0 or P0.
    NotPositiveSemidefiniteError
        Q, R, [[Q, S], [S', R]] or P0 not symmetric PSD.
    NonFiniteError
        NaN or Inf in u or the model; Inf in y.
    DataError
        y entirely missing; a diffuse initial state that the data never identify.
    InvalidValueError
        A singular innovation covariance, a non-finite log-likelihood, or a predicted
        covariance that overflowed (an explosive mode, seen by the outputs or not).

    Notes
    -----
    With W the channels observed at time t (Durbin & Koopman 2012, sections 4.3, 4.10)::

        v_t = y_W - C_W x_{t|t-1} - D_W u_t,   F_t = C_W P_t C_W' + R_W
        K_t = (A P_t C_W' + S_W) F_t^-1
        x_{t+1|t} = A x_{t|t-1} + B u_t + K_t v_t,   P_{t+1} = A P_t A' + Q - K_t F_t K_t'
        log L = -1/2 sum_t (|W_t| log 2 pi + log det F_t + v_t' F_t^-1 v_t)

    References
    ----------
    .. [1] J. Durbin and S. J. Koopman, *Time Series Analysis by State Space Methods*,
       2nd ed., Oxford University Press, 2012.
    .. [2] B. D. O. Anderson and J. B. Moore, *Optimal Filtering*, Prentice-Hall, 1979.

    Examples
    --------
    >>> import numpy as np, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = sys.simulate(T=200, rng=0)
    >>> y[10] = np.nan
    >>> res = realize.kalman_filter(sys, y)
    >>> res.predicted_state.shape, res.innovation_cov.shape, bool(np.isfinite(res.loglik))
    ((200, 1), (200, 1, 1), True)
    """
    method = public_method(method)
    if is_dask(y):
        from realize.filtering.panel import panel_filter

        options = dict(P0_diffuse=P0_diffuse, method=method, steady_state=steady_state, tol=tol)
        return panel_filter(sys, y, u, x0, P0, init=init, **options)
    tol = steady_state_tol(tol, steady_state)
    prep = prepare(sys, y, u, x0, P0, init, P0_diffuse)
    groups = run_filter(prep, method, store=True, tol=tol)
    return assemble(prep, groups, method)
