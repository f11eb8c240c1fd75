"""Panels of many series on dask: :func:`realize.loglik`, :func:`realize.kalman_filter`,
:func:`realize.kalman_smoother` and :func:`realize.em` of an (N, T, p) dask array, chunk by
chunk of series.

The series of a panel share the model, not their data, so the filter runs on each chunk
of series on its own, on the active dask scheduler (threads, processes, or a
``dask.distributed`` cluster when a ``Client`` is active), and the per-series outputs
concatenate into the result of the in-memory call. The covariances depend on the missing
pattern alone: chunks that share it compute the same ones, and the gathered result keeps
them as one read-only broadcast view, as the in-memory call does.

EM's M-step reads sums over series and steps of smoothed moments (Shumway & Stoffer 2017,
section 6.3; :func:`~realize.filtering.em.expected_statistics`): every iteration each chunk
runs its filter and smoother where its data lie (the panel is persisted once) and returns
its sums, a few (n + m) x (n + m) matrices, which dask adds in a tree. Results equal the
in-memory ones up to the order of the summations.

Only the series axis is split: chunks along time or channels are merged first (a series
is filtered from its start). The data never pass through the caller's process.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from realize.errors import DataError, RealizeError, ShapeError
from realize.filtering._model import Prepared, prepare
from realize.filtering.results import FilterResult, SmootherResult

__all__ = [
    "is_dask",
    "Panel",
    "panel",
    "panel_loglik",
    "panel_filter",
    "panel_smoother",
    "panel_em_start",
]


def is_dask(x) -> bool:
    """Whether ``x`` is a dask collection (decided without importing dask).

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> is_dask(da.zeros(3)), is_dask(np.zeros(3))
    (True, False)
    """
    return type(x).__module__.split(".")[0] == "dask"


@dataclass
class Panel:
    """A validated panel: chunks of series and what every chunk's call needs.

    Attributes
    ----------
    model : dict
        The model as the stacks ``A, B, C, D, Q, R, S`` of :class:`Prepared` (a mapping
        that travels to the workers; a StateSpace does not pickle).
    prep : Prepared
        The problem of one zero series of length T (the validated model, P0, inputs'
        and initial state's sizes).
    blocks : list
        One dask ``Delayed`` per chunk of series: its (Nc, T, p) outputs.
    inputs : list
        Per chunk: its (Nc, T, m) inputs (Delayed or array), the shared (T, m) ones, or
        None.
    x0 : list
        Per chunk: its rows of an (N, n) x0, the shared x0, or None.
    bounds : list of (int, int)
        The series ``start:stop`` of each chunk.
    N : int
        The number of series.
    data : tuple
        The (rechunked, possibly persisted) y and u: the blocks' data live on a
        distributed cluster as long as the panel holds them.

    Examples
    --------
    >>> import dask.array as da, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> pan = panel(sys, da.zeros((5, 20, 1), chunks=(2, 20, 1)))
    >>> pan.N, pan.bounds, len(pan.blocks), pan.prep.T
    (5, [(0, 2), (2, 4), (4, 5)], 3, 20)
    """

    model: dict
    prep: Prepared
    blocks: list
    inputs: list
    x0: list
    bounds: list
    N: int
    data: tuple


def _dask_array(a, name: str):
    """``a`` as a float dask array of known shape, refusing other collections, complex
    values and text (as :func:`realize._checks.as_float_array` does for arrays)."""
    import dask.array as da

    if not isinstance(a, da.Array):
        raise ShapeError(f"{name}: expected a dask array, got a {type(a).__name__}")
    if any(np.isnan(s) for s in a.shape):
        raise ShapeError(
            f"{name}: expected a dask array of known chunk sizes, got shape {a.shape} "
            "(call compute_chunk_sizes() first)"
        )
    if a.dtype.kind not in "biuf":
        raise ShapeError(f"{name}: expected a real numeric dask array, got dtype {a.dtype}")
    return a.astype(float)


def panel(sys, y, u=None, x0=None, P0=None, init: str = "auto", persist: bool = False) -> Panel:
    """Validate a panel y (an (N, T, p) dask array) and split it into chunks of series.

    Parameters
    ----------
    sys, x0, P0, init
        As in :func:`realize.kalman_filter`; x0 (n,) or (N, n).
    y : (N, T, p) dask array
        The panel: N series of T samples, NaN where missing.
    u : (T, m) array or (N, T, m) array or dask array, optional
        Inputs, shared by the series or one per series.
    persist : bool
        Persist y and u on the scheduler first (for repeated passes, as in EM).

    Returns
    -------
    Panel

    Raises
    ------
    ShapeError
        y not (N, T, p) with p the model's outputs; u or x0 with another number of
        series or samples; unknown chunk sizes.
    As :func:`realize.kalman_filter` for the model, P0 and init; the data's values are
    checked chunk by chunk when they are used (the error names the chunk's series).

    Examples
    --------
    >>> import numpy as np, dask.array as da, realize
    >>> from realize.filtering.panel import panel
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = da.zeros((10, 50, 1), chunks=(4, 50, 1))
    >>> pan = panel(sys, y)
    >>> pan.N, pan.bounds
    (10, [(0, 4), (4, 8), (8, 10)])
    """
    import dask

    y = _dask_array(y, "y")
    shape = y.shape
    if len(shape) != 3:
        raise ShapeError(
            f"y: expected an (N, T, p) dask array (a panel of N series), got shape {shape}"
        )
    N, T, p = shape
    if N < 1 or T < 1:
        raise DataError(f"y: expected at least one series and one sample, got shape {shape}")
    y = y.rechunk({1: -1, 2: -1})
    u, u_probe = _panel_inputs(u, y, N, T)
    x0, x0_probe = _panel_initial_mean(x0, N)
    try:
        prep = prepare(sys, np.zeros((1, T, p)), u_probe, x0_probe, P0, init)
    except ShapeError as err:
        if not str(err).startswith("y:"):
            raise
        raise ShapeError(
            f"y: expected an (N, T, p) panel with p the model's number of outputs, "
            f"got shape {shape} ({err})"
        ) from None
    if persist:
        y, u = dask.persist(y, u)
    stops = np.cumsum(y.chunks[0]).tolist()
    bounds = list(zip([0, *stops[:-1]], stops))
    blocks = list(y.to_delayed().ravel())
    if is_dask(u):
        inputs = list(u.to_delayed().ravel())
    else:
        inputs = [u[a:b] if u is not None and u.ndim == 3 else u for a, b in bounds]
    x0s = [x0[a:b] if x0 is not None and x0.shape[0] == N > 1 else x0 for a, b in bounds]
    model = {k: getattr(prep, k) for k in "ABCDQRS"}
    return Panel(model, prep, blocks, inputs, x0s, bounds, N, (y, u))


def _panel_inputs(u, y, N: int, T: int):
    """(u for the chunks, u for the probe problem): an (N, T, m) dask u chunked as y, an
    (N, T, m) array sliced later, a shared one as an array."""
    if u is None:
        return None, None
    u = _dask_array(u, "u") if is_dask(u) else np.asarray(u)
    shape = u.shape
    if len(shape) == 3 and shape[0] not in (1, N):
        raise ShapeError(
            f"u: expected a (T, m) array or an (N, T, m) panel with y's N = {N} series, "
            f"got shape {shape}"
        )
    if len(shape) != 3 or shape[0] == 1:
        u = np.asarray(u.compute()) if is_dask(u) else u
        return u, u
    if is_dask(u):
        u = u.rechunk((y.chunks[0], -1, -1))
    return u, np.zeros((1, *shape[1:]))


def _panel_initial_mean(x0, N: int):
    """(x0 for the chunks, x0 for the probe problem)."""
    if x0 is None:
        return None, None
    x0 = np.asarray(x0.compute() if is_dask(x0) else x0)
    if x0.ndim == 2 and x0.shape[0] not in (1, N):
        raise ShapeError(
            f"x0: expected an (n,) array or an (N, n) one with y's N = {N} series, "
            f"got shape {x0.shape}"
        )
    return x0, (x0[:1] if x0.ndim == 2 else x0)


def _chunk(fn, bounds, model, y, u, x0, P0, init, options):
    """``fn(model, y, u, x0, P0, init=init, **options)`` on one chunk; an error names the
    chunk's series (its message counts series within the chunk)."""
    try:
        return fn(model, y, u, x0, P0, init=init, **options)
    except RealizeError as err:
        a, b = bounds
        raise type(err)(f"{err} (in the panel's series {a}..{b - 1})") from None


def _map(pan: Panel, fn, P0, init, model=None, x0=None, **options) -> list:
    """The delayed ``fn`` of every chunk (see :func:`_chunk`); ``model`` and ``x0`` (one
    per chunk) replace the panel's."""
    import dask

    model = pan.model if model is None else model
    x0 = pan.x0 if x0 is None else x0
    task = dask.delayed(_chunk, pure=False)
    return [
        task(fn, ab, model, y, u, x, P0, init, options)
        for ab, y, u, x in zip(pan.bounds, pan.blocks, pan.inputs, x0)
    ]


def _probe(pan: Panel, fn, P0, init, options) -> None:
    """Run ``fn`` on the panel's probe problem (one zero series) where the caller is, so
    that what the options or the model get wrong (a method that needs a diagonal R, a
    bad tolerance) is raised once, before any chunk runs."""
    prep = pan.prep
    fn(pan.model, prep.y, prep.u, prep.x0, P0, init=init, **options)


def panel_loglik(sys, y, u=None, x0=None, P0=None, *, init="auto", **options) -> np.ndarray:
    """:func:`realize.loglik` of a panel: the (N,) log-likelihoods, chunk by chunk.

    ``options`` are ``P0_diffuse``, ``method``, ``steady_state`` and ``tol`` of
    :func:`realize.loglik`.

    Examples
    --------
    >>> import numpy as np, dask.array as da, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = np.stack([sys.simulate(T=50, rng=seed) for seed in range(6)])  # (N, T, p)
    >>> panel_y = da.from_array(y, chunks=(2, 50, 1))
    >>> ll = panel_loglik(sys, panel_y)
    >>> ll.shape, bool(np.allclose(ll, [realize.loglik(sys, series) for series in y]))
    ((6,), True)
    """
    import dask

    from realize.filtering.likelihood import loglik

    pan = panel(sys, y, u, x0, P0, init)
    _probe(pan, loglik, P0, init, options)
    return np.concatenate(dask.compute(*_map(pan, loglik, P0, init, **options)))


def _result_fields(res, N: int) -> dict:
    """The fields of a filter or smoother result of N series, ready to travel: an array
    with a leading axis N as ``("series", a)``, or once as ``("shared", a[0])`` when its
    series share it (a covariance that depends on the missing pattern alone); a nested
    result as ``("nested", type, fields)``."""
    out = {}
    for f in fields(res):
        value = res.filtered_cov if f.name == "_filtered_cov" else getattr(res, f.name)
        if isinstance(value, (FilterResult, SmootherResult)):
            value = ("nested", type(value), _result_fields(value, N))
        elif isinstance(value, np.ndarray) and value.ndim and value.shape[0] == N:
            shared = value.shape[0] > 1 and value.strides[0] == 0
            value = ("shared", value[0].copy()) if shared else ("series", value)
        out[f.name] = value
    return out


def _recursion(smoother: bool):
    """:func:`realize.kalman_smoother` or :func:`realize.kalman_filter`."""
    if smoother:
        from realize.filtering.smoother import kalman_smoother

        return kalman_smoother
    from realize.filtering.filter import kalman_filter

    return kalman_filter


def _result_chunk(model, y, u, x0, P0, init, *, smoother: bool, **options) -> dict:
    """:func:`_result_fields` of the filter (or smoother) on one chunk."""
    res = _recursion(smoother)(model, y, u, x0, P0, init=init, **options)
    return _result_fields(res, y.shape[0])


def _gather(parts: list, sizes: list):
    """One (N, ...) field from the chunks' ``("shared" | "series", array)``: a read-only
    broadcast view when every chunk shares the same array, else the concatenation. Chunks
    whose arrays are shorter along a later axis are padded with zeros, as the in-memory call
    pads the diffuse covariances P_inf of series with shorter diffuse periods."""
    first = parts[0][1]
    if all(kind == "shared" for kind, _ in parts) and all(
        a.shape == first.shape and np.array_equal(a, first) for _, a in parts
    ):
        return np.broadcast_to(first, (sum(sizes), *first.shape))
    arrays = [
        a if kind == "series" else np.broadcast_to(a, (s, *a.shape))
        for (kind, a), s in zip(parts, sizes)
    ]
    shape = np.max([a.shape[1:] for a in arrays], axis=0)
    return np.concatenate(
        [np.pad(a, [(0, 0), *((0, k - j) for j, k in zip(a.shape[1:], shape))]) for a in arrays]
    )


def _gathered(cls, chunks: list, sizes: list):
    """The result of type ``cls`` of the whole panel from its chunks' fields."""
    res = {}
    for f in fields(cls):
        parts = [c[f.name] for c in chunks]
        if isinstance(parts[0], tuple) and parts[0][0] == "nested":
            res[f.name] = _gathered(parts[0][1], [p[2] for p in parts], sizes)
        elif isinstance(parts[0], tuple):
            res[f.name] = _gather(parts, sizes)
        elif f.name == "n_diffuse":  # the longest diffuse period of the series
            res[f.name] = max(parts)
        else:
            res[f.name] = {} if f.name == "raw" else parts[0]
    return cls(**res)


def _run_results(sys, y, u, x0, P0, init, smoother: bool, options) -> tuple[list, list]:
    """The filter (or smoother) of every chunk of the panel: the chunks' fields and their
    numbers of series."""
    import dask

    pan = panel(sys, y, u, x0, P0, init)
    _probe(pan, _recursion(smoother), P0, init, options)
    chunks = dask.compute(*_map(pan, _result_chunk, P0, init, smoother=smoother, **options))
    return list(chunks), [b - a for a, b in pan.bounds]


def panel_filter(sys, y, u=None, x0=None, P0=None, *, init="auto", **options) -> FilterResult:
    """:func:`realize.kalman_filter` of a panel, gathered into one :class:`FilterResult`
    with a leading axis N; ``options`` as in :func:`realize.kalman_filter`.

    Examples
    --------
    >>> import numpy as np, dask.array as da, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = np.stack([sys.simulate(T=50, rng=seed) for seed in range(6)])  # (N, T, p)
    >>> panel_y = da.from_array(y, chunks=(2, 50, 1))
    >>> res = panel_filter(sys, panel_y)
    >>> res.predicted_state.shape
    (6, 50, 1)
    >>> bool(np.allclose(res.loglik, [realize.loglik(sys, series) for series in y]))
    True
    """
    return _gathered(FilterResult, *_run_results(sys, y, u, x0, P0, init, False, options))


def panel_smoother(sys, y, u=None, x0=None, P0=None, *, init="auto", **options):
    """:func:`realize.kalman_smoother` of a panel, each chunk smoothed where its data lie
    and gathered into one result with a leading axis N; ``options`` as in
    :func:`realize.kalman_smoother` (``disturbances=True`` included).

    Examples
    --------
    >>> import numpy as np, dask.array as da, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = np.stack([sys.simulate(T=50, rng=seed) for seed in range(6)])  # (N, T, p)
    >>> sm = panel_smoother(sys, da.from_array(y, chunks=(2, 50, 1)))
    >>> sm.smoothed_state.shape
    (6, 50, 1)
    >>> bool(np.allclose(sm.smoothed_state[4], realize.kalman_smoother(sys, y[4]).smoothed_state))
    True
    """
    if options.get("disturbances"):
        from realize.filtering.disturbance import DisturbanceSmootherResult as cls
    else:
        cls = SmootherResult
    return _gathered(cls, *_run_results(sys, y, u, x0, P0, init, True, options))


def _statistics_chunk(theta, y, u, x0, P0, init) -> tuple:
    """(log-likelihood, sufficient statistics) of one chunk (EM's E-step)."""
    from realize.filtering.em import expected_statistics

    ll, statistics = expected_statistics(dict(theta, x0=x0), y, u)
    return ll, statistics()


def _add_statistics(a: tuple, b: tuple) -> tuple:
    """The E-step of two groups of series: log-likelihoods and sums added, smoothed
    initial states concatenated (in series order)."""
    (la, sa), (lb, sb) = a, b
    st = {k: sa[k] + sb[k] for k in sa if k not in ("T", "xs0")}
    st["T"] = sa["T"]
    st["xs0"] = np.concatenate([sa["xs0"], sb["xs0"]])
    return la + lb, st


def panel_em_start(sys, y, u=None, x0=None, P0=None, init="auto"):
    """EM's starting point and E-step on a panel (used by :func:`realize.em`).

    Returns
    -------
    theta : dict
        As :func:`~realize.filtering.em.starting_point`, with a per-series x0 kept (N, n).
    e_step : callable
        ``e_step(theta) -> (loglik, statistics)`` as
        :func:`~realize.filtering.em.expected_statistics`, one round trip to the
        workers per call; the panel is persisted once.

    Examples
    --------
    >>> import numpy as np, dask.array as da, realize
    >>> sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    >>> y = np.stack([sys.simulate(T=50, rng=seed) for seed in range(6)])  # (N, T, p)
    >>> panel_y = da.from_array(y, chunks=(2, 50, 1))
    >>> theta, e_step = panel_em_start(sys, panel_y)
    >>> loglik, statistics = e_step(theta)
    >>> bool(np.isclose(loglik, sum(realize.loglik(sys, series) for series in y)))
    True
    """
    import dask

    from realize.filtering.em import starting_point

    pan = panel(sys, y, u, x0, P0, init, persist=True)
    theta = starting_point(pan.prep)
    x0 = _panel_initial_mean(x0, pan.N)[0]
    if x0 is not None and x0.ndim == 2 and x0.shape[0] == pan.N > 1:
        theta["x0"] = x0.astype(float)  # one initial state per series, as in memory

    def e_step(theta):
        x0 = theta["x0"]
        chunk_x0 = [x0 if x0.ndim == 1 else x0[a:b] for a, b in pan.bounds]
        parts = _map(pan, _statistics_chunk, None, "auto", model=theta, x0=chunk_x0)
        while len(parts) > 1:  # a tree of pairwise sums, in series order
            pairs = [parts[k : k + 2] for k in range(0, len(parts), 2)]
            parts = [dask.delayed(_add_statistics)(*q) if len(q) == 2 else q[0] for q in pairs]
        ll, st = dask.compute(parts[0])[0]
        return ll, lambda: st

    return theta, e_step
