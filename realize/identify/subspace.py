"""Combined deterministic-stochastic subspace identification: N4SID, MOESP and CVA.

Model (innovation form)::

    x[t+1] = A x[t] + B u[t] + K e[t]
    y[t]   = C x[t] + D u[t] + e[t],        E[e e'] = Lambda

All computations run on the coordinates ``L`` of the rows of the block-Hankel data
matrix (``H = L Q'``, see :mod:`realize.identify.hankel`), so that the cost after the
single pass over the data is independent of its length. With ``i`` past and ``f``
future block rows, ``W_p = [U_p; Y_p]`` the past, the algorithm is the combined
algorithm of Van Overschee & De Moor (1996, Sec. 4.3), with the weightings of their
unifying theorem (Sec. 4.3.3):

1. Oblique projection ``O_i = Y_f /_{U_f} W_p`` (least squares of ``Y_f`` on
   ``[W_p; U_f]``, keeping the ``W_p`` part).
2. Weighted SVD ``W_1 O_i W_2 = U S V'``:

   ============  ======================================  =====================
   method        W_1                                     W_2
   ============  ======================================  =====================
   ``"n4sid"``   I                                       I
   ``"moesp"``   I                                       Pi_{U_f}^perp (PO-MOESP, Verhaegen 1994)
   ``"cva"``     (Y_f Pi^perp Y_f' / N)^{-1/2}           Pi_{U_f}^perp (Larimore 1990)
   ============  ======================================  =====================

   The CVA singular values are the canonical correlations between future outputs and
   the past, conditional on the future inputs; they drive ``order="auto"``.
3. Extended observability ``Gamma_f = W_1^{-1} U_n S_n^{1/2}``.
4. The state sequence ``X_i = Gamma_f^+ O_i`` and its one-sample shift
   ``X_i^+ = Gamma_f^+ O_i^+`` (``O_i^+`` the same projection applied to the past shifted
   one sample ahead, ``[U; Y]`` rows ``1 .. i``), with ``Gamma_f^+`` the pseudo-inverse in
   the metric that normalizes each future output row by its RMS value (invariant to the
   scaling of the outputs), give by least squares over the Hankel columns (VODM 1996,
   Sec. 4.3; Larimore 1990)

   .. math::

      \\begin{bmatrix} X_i^+ \\\\ Y_{i|i} \\end{bmatrix}
      = \\begin{bmatrix} A & B \\\\ C & D \\end{bmatrix}
        \\begin{bmatrix} X_i \\\\ U_{i|i} \\end{bmatrix} + \\rho,

   and ``rho rho' / N = [[Q, S], [S', R]]`` the noise model, the Riccati equation the
   Kalman gain ``K`` and innovation covariance ``Lambda``. With ``stable=True`` and an
   unstable least-squares ``A``, ``A`` comes from the shift invariance of ``Gamma_f``,
   ``Gamma_up A = Gamma_down``, with the smallest Tikhonov regularization of that
   least-squares problem that makes it stable (Van Gestel et al. 2001).

The estimate does not depend on the units of the data: every input channel is scaled
internally by a power of two to the RMS of the outputs (the projections are invariant to
it, their rank decisions are not) and ``B``, ``D`` are scaled back exactly, so ``u`` and
``y`` may differ in scale by many orders of magnitude.

The numerics are in :mod:`realize.identify.estimate`, the Hankel data and their streaming
R factor in :mod:`realize.identify.hankel`; this module holds :func:`n4sid`, which reads
the data (arrays, records, dask arrays or an accumulator) and calls them.

References
----------
P. Van Overschee, B. De Moor, *Subspace Identification for Linear Systems: Theory,
Implementation, Applications*, Kluwer, 1996.
M. Verhaegen, "Identification of the deterministic part of MIMO state space models
given in innovations form from input-output data", Automatica 30 (1994) 61-74.
W. E. Larimore, "Canonical variate analysis in identification, filtering, and adaptive
control", Proc. 29th IEEE CDC (1990).
T. Van Gestel, J. A. K. Suykens, P. Van Dooren, B. De Moor, "Identification of stable
models in subspace identification by using regularization", IEEE TAC 46 (2001) 1416-1420.
"""

from __future__ import annotations

import numpy as np

from realize._checks import as_bool, as_choice, as_float, as_timeseries, check_same_length
from realize.errors import DataError, InvalidValueError, ShapeError
from realize.filtering.panel import is_dask
from realize.identify.estimate import (
    METHODS,
    SubspaceResult,
    check_estimator,
    check_focus,
    identify_from_accumulator,
    parse_order,
)
from realize.identify.hankel import (
    HankelLayout,
    SubspaceAccumulator,
    accumulate,
    accumulate_dask,
    parse_horizon,
)

__all__ = ["n4sid", "SubspaceResult", "identify_from_accumulator"]


# ------------------------------------------------------------------ public API
def _records(y, u):
    """Normalize the data arguments to a list of (y, u) pairs (u may be None).

    Several records are a list of ``(y, u)`` tuples (``u`` None for output-only data).
    """
    if isinstance(y, list) and y and all(isinstance(rec, tuple) for rec in y):
        if u is not None:
            raise InvalidValueError(
                "u: expected None when y is a list of (y, u) records, got an array"
            )
        recs = []
        for k, rec in enumerate(y):
            if len(rec) != 2:
                raise InvalidValueError(f"y[{k}]: expected a (y, u) pair, got {len(rec)} items")
            recs.append((rec[0], rec[1]))
        return recs
    return [(y, u)]


def _largest_order(order) -> int:
    """The largest order requested by a parsed ``order`` (0 for "auto")."""
    if isinstance(order, str):
        return 0
    return order if isinstance(order, int) else max(order)


def _default_horizon(order, p: int) -> int:
    n = _largest_order(order)
    return max(10, 2 * int(np.ceil(n / p)) + 1)


def n4sid(
    y,
    u=None,
    order="auto",
    horizon=None,
    method="n4sid",
    *,
    feedthrough=False,
    stable=False,
    detrend=False,
    focus="prediction",
    criterion="bic",
    dt=1.0,
    estimator="states",
) -> SubspaceResult:
    """Subspace identification of a combined deterministic-stochastic state-space model.

    Identifies ``x[t+1] = A x[t] + B u[t] + K e[t], y[t] = C x[t] + D u[t] + e[t]`` from
    input-output data by the robust combined algorithm of Van Overschee & De Moor with the
    N4SID, MOESP or CVA weighting (see :mod:`realize.identify.subspace`). The data pass is
    a streaming tall-skinny QR of the block-Hankel matrix (:mod:`realize.identify.hankel`):
    linear in the number of samples, with memory independent of it.

    Parameters
    ----------
    y : (T, p) array, list of records, dask array or SubspaceAccumulator
        Outputs (1-D means one output). A list ``[(y1, u1), (y2, u2), ...]`` gives several
        experiments (no Hankel column crosses a record boundary). Dask arrays (or records of
        dask arrays) are reduced block by block in parallel on the active dask scheduler.
    u : (T, m) array, optional
        Inputs, as many samples as ``y``. None: output-only (stochastic) identification.
    order : "auto", int or sequence of int, default "auto"
        "auto": BIC over ``1 .. n_floor + 1``, ``n_floor`` the canonical correlations above
        the noise floor; a sequence: ``criterion`` over those orders
        (:mod:`realize.identify.order`).
    horizon : int or (int, int), optional
        Past and future block rows ``(i, f)``; an int sets both. Default ``max(10, 2
        ceil(n_max / p) + 1)`` (``n_max`` the largest order), less for short data.
    method : {"n4sid", "moesp", "cva"}, default "n4sid"
        Weighting of the singular value decomposition.
    feedthrough : bool, default False
        Estimate ``D`` (otherwise ``D = 0``).
    stable : bool, default False
        Enforce a stable ``A`` by the smallest regularization that achieves it (Van Gestel
        et al. 2001; the weight is ``result.regularization``).
    detrend : bool, default False
        Remove the offsets of ``u`` and ``y`` (``result.u_mean``, ``result.y_mean``).
    focus : {"prediction", "simulation"}, default "prediction"
        Where ``B``, ``D`` come from: the subspace regression (consistent for the innovation
        model, one pass) or least squares on the simulation error given ``A``, ``C``
        (:mod:`realize.identify.output_error`: best for simulation use; in-memory data).
    estimator : "states"
        ``[A B; C D]`` and ``Q, R, S`` by least squares on the estimated states (module
        notes, step 4). The deprecated ``"shift"`` warns and runs ``"states"``.
    criterion : {"bic", "aic"}, default "bic"
        Information criterion for a sequence of candidate orders.
    dt : float, default 1.0
        Sampling period of the returned model.

    Returns
    -------
    SubspaceResult
        ``.model`` (with K, Lambda and, where a Kalman filter exists, Q, R, S), ``.order``,
        ``.singular_values``, ``.x0``, ``.fit`` (per output, percent) and more.

    Raises
    ------
    ShapeError
        ``u`` and ``y`` of different lengths, wrong dimensions, complex data, or ``y``
        without channels (a ``u`` with zero columns means no input).
    NonFiniteError
        NaN or Inf in the data.
    DataError
        Fewer samples than the horizon needs (the minimum is named), a constant output
        channel, an identically zero input, or (``detrend``) a constant input.
    OrderError
        An order that is not a positive integer (never truncated), above
        ``min((future - 1) p, past (m + p))`` or above what the data support.
    InvalidValueError
        An unknown ``method``, ``focus``, ``estimator`` or ``criterion``; a ``horizon``
        that is not positive integers; a non-positive ``dt``; flags that are not booleans.

    Warns
    -----
    RealizeWarning
        When the input is not persistently exciting of order ``past + future``.

    Notes
    -----
    The horizon trades bias for variance: the past ``i`` must be long enough for the
    Kalman state to be a function of ``i`` past samples (``(A - K C)^i`` small), the
    future ``f > n / p``. The minimal number of samples of a record is
    ``s - 1 + s (m + p)`` (``s = i + f``; one more with ``detrend``), so that the
    Hankel matrix has at least as many columns as rows; far more are needed for accuracy.
    The units of ``u`` and ``y`` do not matter (module notes).

    References
    ----------
    P. Van Overschee, B. De Moor, *Subspace Identification for Linear Systems*, 1996.
    M. Verhaegen, Automatica 30 (1994) 61-74.

    Examples
    --------
    >>> import numpy as np, realize
    >>> from realize.testing import random_statespace
    >>> true = random_statespace(0, 3, 1, 1, noise=True)
    >>> u = np.random.default_rng(1).standard_normal((4000, 1))
    >>> y = true.simulate(u, rng=2)
    >>> res = realize.n4sid(y, u, order=3, feedthrough=True)
    >>> res.order, res.model.n
    (3, 3)
    >>> res.model.is_stable(), res.fit.shape
    (True, (1,))
    """
    check_estimator(estimator)
    options = dict(feedthrough=feedthrough, stable=stable, criterion=criterion, dt=dt)
    if isinstance(y, SubspaceAccumulator):
        if u is not None:
            raise InvalidValueError("u: expected None with an accumulator, got an array")
        return identify_from_accumulator(y, order, method, focus=focus, **options)
    return _identify_records(y, u, order, horizon, method, focus, detrend, options)


def _identify_records(y, u, order, horizon, method, focus, detrend, options):
    """:func:`n4sid` on data (arrays, records or dask arrays): the arguments checked, the
    Hankel data accumulated (in memory or block by block on dask), the model identified."""
    method = as_choice(method, "method", METHODS)
    order = parse_order(order)
    options["dt"] = as_float(options["dt"], "dt", low=0.0, open_low=True)
    detrend = as_bool(detrend, "detrend")
    raw = _records(y, u)
    dask_input = any(is_dask(r[0]) for r in raw)
    check_focus(focus, not dask_input)
    records = _checked_records(raw, dask_input)
    lay = _layout(records, order, horizon, detrend)
    if dask_input:
        acc = accumulate_dask(records, lay)
        return identify_from_accumulator(acc, order, method, **options, _dask_records=records)
    records = [(yk, np.zeros((yk.shape[0], 0)) if uk is None else uk) for yk, uk in records]
    acc = accumulate(records, lay)
    return identify_from_accumulator(acc, order, method, focus=focus, **options, _records=records)


def _checked_records(raw, dask_input: bool):
    """The records ``[(y, u), ...]`` validated: (T, p) outputs, (T, m) inputs or None,
    the same channels in every record (dask arrays are checked without computing)."""
    multi = len(raw) > 1
    records = []
    for k, (yk, uk) in enumerate(raw):
        ny = f"y[{k}]" if multi else "y"
        nu = f"u[{k}]" if multi else "u"
        if dask_input:
            if yk.ndim == 1:
                yk = yk[:, None]
            if uk is not None and uk.ndim == 1:
                uk = uk[:, None]
            if yk.ndim != 2 or yk.shape[1] == 0:
                raise ShapeError(f"{ny}: expected a (T, p) array, p >= 1, got shape {yk.shape}")
            for name, arr in ((ny, yk), (nu, uk)):
                if arr is not None and arr.dtype.kind not in "biuf":
                    raise ShapeError(f"{name}: expected a real array, got dtype {arr.dtype}")
            if uk is not None:
                check_same_length(nu, uk.shape[0], ny, yk.shape[0])
        else:
            yk = as_timeseries(yk, ny)
            if uk is not None:
                uk = as_timeseries(uk, nu, min_channels=0, length_of=(ny, yk.shape[0]))
        records.append((yk, uk))
    p = records[0][0].shape[1]
    m = 0 if records[0][1] is None else records[0][1].shape[1]
    for k, (yk, uk) in enumerate(records):
        if yk.shape[1] != p or (0 if uk is None else uk.shape[1]) != m:
            raise ShapeError(
                f"y[{k}]: expected {p} output(s) and {m} input(s) like record 0, "
                f"got {yk.shape[1]} and {0 if uk is None else uk.shape[1]}"
            )
    return records


def _layout(records, order, horizon, detrend: bool) -> HankelLayout:
    """The Hankel layout of the records: the given horizon, or the default one shortened
    (not below what the order needs) until the longest record is long enough."""
    p = records[0][0].shape[1]
    m = 0 if records[0][1] is None else records[0][1].shape[1]
    if horizon is None:
        h = _default_horizon(order, p)
        longest = max(r[0].shape[0] for r in records)
        lo = 1
        if not isinstance(order, str):
            lo = int(np.ceil(_largest_order(order) / p)) + 1
        while h > max(lo, 2) and HankelLayout(m, p, h, h, detrend).min_samples() > longest:
            h -= 1
        past, future = h, h
    else:
        past, future = parse_horizon(horizon)
    lay = HankelLayout(m, p, past, future, detrend)
    total = sum(max(r[0].shape[0] - lay.s + 1, 0) for r in records)
    if total < lay.d:
        raise DataError(
            f"y: expected at least {lay.min_samples()} samples for horizon (past={past}, "
            f"future={future}) with m={m} input(s) and p={p} output(s) (a Hankel matrix "
            f"with at least as many columns as its {lay.d} rows), got "
            f"{', '.join(str(r[0].shape[0]) for r in records)}"
        )
    return lay
