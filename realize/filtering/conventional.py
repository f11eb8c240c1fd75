"""Conventional (covariance-form) Kalman filter, compiled (Durbin & Koopman 2012, sections
4.3 and 4.10; correlated noise as in Anderson & Moore 1979, section 5.5).

The recursion is the conventional step of the compiled driver
(``_ext/_kalman_conventional.pxi``, run by :mod:`realize.filtering._compiled`); its NumPy
definition is :func:`realize.filtering.reference.reference_filter`. Several series with
the same missing pattern (in particular, none missing) share one covariance recursion.

The likelihood alone of a time-invariant model whose A has a well-conditioned eigenvector
basis runs in the real modal basis (``_basis.py``), where A is block diagonal and the
time update A P A' costs O(n^2) instead of O(n^3): the likelihood does not depend on the
state basis (``conventional_loglik`` in ``_ext/_kalman_filter.pyx``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from realize._linalg import symmetrize
from realize.filtering._compiled import raise_for, run_compiled
from realize.filtering._model import STEADY_STATE_TOL, Prepared
from realize.filtering._outputs import FilterGroup, FilterOutputs, series_groups

__all__ = ["conventional_filter"]


def _modal_loglik(prep: Prepared, basis, tol: float | None) -> list[FilterGroup]:
    """The log-likelihood in the modal basis ``x' = V^-1 x`` of A (nothing stored)."""
    from realize._ext._kalman_filter import conventional_loglik

    V, Vi, Ab, lo, hi = basis
    C = np.ascontiguousarray(prep.C[0] @ V)
    Q = np.ascontiguousarray(symmetrize(Vi @ prep.Q[0] @ Vi.T))
    S = np.ascontiguousarray(Vi @ prep.S[0])
    P0 = np.ascontiguousarray(symmetrize(Vi @ prep.P0 @ Vi.T))
    tol = -1.0 if tol is None else float(tol)
    groups = []
    for idx in series_groups(prep.y):
        part = prep.series(idx)
        out = FilterOutputs.allocate(len(idx), prep.T, prep.n, prep.p, store=False)
        code, t = conventional_loglik(
            Ab,
            C,
            Q,
            prep.R[0],
            S,
            np.ascontiguousarray(part.c @ Vi.T),
            part.d,
            part.y,
            np.ascontiguousarray(part.x0 @ Vi.T),
            P0,
            tol,
            prep.steady_start,
            lo,
            hi,
            out.loglik,
        )
        raise_for("conventional", code, t)
        groups.append(FilterGroup(idx, out))
    return groups


def _diffuse_then_modal(prep: Prepared, basis, tol: float | None) -> list[FilterGroup]:
    """The log-likelihood under an exact diffuse start: the driver's diffuse steps (they
    stop where P_inf vanishes, after d steps), then the modal kernel from x[d], P_*[d]."""
    from realize._ext._kalman_filter import filter_run

    ktol = -1.0 if tol is None else float(tol)
    groups = []
    for idx in series_groups(prep.y):
        part = prep.series(idx)
        out = FilterOutputs.allocate(len(idx), prep.T, prep.n, prep.p, store=False)
        x_end, P_end = np.empty((len(idx), prep.n)), np.empty((prep.n, prep.n))
        code, t, j, d = filter_run(
            "conventional", part, out, ktol, Pinf=prep.Pinf, x_end=x_end, P_end=P_end
        )
        raise_for("conventional", code, t, j, code == 2)
        if d < prep.T:

            def later(a, d=d):
                return a if a.shape[1] == 1 else np.ascontiguousarray(a[:, d:])

            rest = replace(
                part,
                y=later(part.y),
                c=later(part.c),
                d=later(part.d),
                x0=x_end,
                P0=P_end,
                Pinf=None,
            )
            [(_, tail)] = _modal_loglik(rest, basis, tol)
            out.loglik += tail.loglik
        out.n_diffuse = d
        groups.append(FilterGroup(idx, out))
    return groups


def conventional_filter(
    prep: Prepared,
    store: bool = True,
    tol: float | None = STEADY_STATE_TOL,
    filtered_cov: bool = True,
) -> list[FilterGroup]:
    """Run the compiled conventional filter.

    Parameters
    ----------
    prep : Prepared
        The validated problem from :func:`~realize.filtering._model.prepare`.
    store : bool
        Keep the per-step states and covariances (else only the log-likelihood).
    tol : float or None
        Relative change of the predicted covariance below which the gain is frozen at
        its steady state; None never switches.
    filtered_cov : bool
        Store the filtered covariances (the smoother does not need them).

    Returns
    -------
    list of FilterGroup
        ``(series, outputs)`` per group of series sharing a missing pattern (one group
        when all do); the outputs are described in
        :class:`~realize.filtering._outputs.FilterOutputs`.

    Examples
    --------
    Two series with the same missing pattern share one covariance recursion:

    >>> import numpy as np, realize
    >>> from realize.filtering._model import prepare
    >>> from realize.filtering.conventional import conventional_filter
    >>> model = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = np.stack([model.simulate(T=20, rng=seed) for seed in (0, 1)])
    >>> [(series, out)] = conventional_filter(prepare(model, y))
    >>> series.tolist(), out.xp.shape, out.Pp.shape, out.K.shape
    ([0, 1], (2, 21, 1), (21, 1, 1), (20, 1, 1))
    """
    if not store and prep.time_invariant:
        from realize.filtering._basis import modal_basis

        basis = modal_basis(prep.A[0])
        if basis is not None and prep.Pinf is not None:
            return _diffuse_then_modal(prep, basis, tol)
        if basis is not None:
            # likelihood only, a well-conditioned modal basis: the lean kernel (same
            # recursion, nothing stored); otherwise the driver, whose dgemm products beat
            # loops over a dense or triangular A
            return _modal_loglik(prep, basis, tol)
    return run_compiled(prep, "conventional", store, tol, filtered_cov)
