"""Panels on dask (realize/filtering/panel.py): log-likelihood, filter and EM of an
(N, T, p) dask array, and n4sid of dask records, on a process cluster (dask.distributed
LocalCluster) and the threaded scheduler, equal to the in-memory call."""

import subprocess
import sys

import numpy as np
import pytest

import realize
from realize.errors import DataError, InvalidValueError, ShapeError
from realize.testing import random_statespace

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

FIELDS = (
    "predicted_state",
    "predicted_cov",
    "filtered_state",
    "filtered_cov",
    "innovations",
    "innovation_cov",
    "gain",
    "loglik",
    "loglik_obs",
    "next_state",
    "next_cov",
    "steady",
)


@pytest.fixture(scope="module")
def client():
    """Two worker processes, one thread each; the default scheduler while it lives."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=":0"
    )
    with cluster, distributed.Client(cluster) as c:
        yield c


def _panel(rng, N=23, T=60, missing=True):
    """A 3-state, 2-output, 1-input model and N series from it (5% missing entries, so
    every series has its own pattern, or none missing, so they share one)."""
    sys = random_statespace(rng, 3, 1, 2, noise=True).replace(S=np.zeros((3, 2)))
    u = rng.standard_normal((N, T, 1))
    y = np.stack([sys.simulate(u[i], rng=rng) for i in range(N)])
    if missing:
        y[rng.uniform(size=y.shape) < 0.05] = np.nan
    return sys, y, u


def _close(a, b, rtol=1e-12):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.nanmax(np.abs(b)) if b.size else 0.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale)


def _assert_same_filter(res, mem):
    for name in FIELDS:
        got, ref = getattr(res, name), getattr(mem, name)
        assert got.shape == ref.shape, name
        _close(got, ref)
    # covariances shared by the series stay one broadcast view, as in memory
    assert (res.predicted_cov.strides[0] == 0) == (mem.predicted_cov.strides[0] == 0)


def _assert_same_em(res, mem):
    _close(res.loglik, mem.loglik)
    for name in "ABCDQR":
        _close(getattr(res.model, name), getattr(mem.model, name))
    _close(res.x0, mem.x0)
    _close(res.P0, mem.P0)
    assert res.n_iter == mem.n_iter


def _dask_panel(y, u):
    # u chunked unlike y: the panel aligns it with y's chunks of series
    return da.from_array(y, chunks=(6, 20, 2)), da.from_array(u, chunks=(4, -1, 1))


EM_ESTIMATE = ("A", "B", "C", "D", "Q", "R", "x0", "P0")


# ------------------------------------------------------------ process cluster
@pytest.mark.slow
@pytest.mark.parametrize("missing", [True, False])
def test_loglik_filter_and_em_on_a_process_cluster(client, rng, missing):
    from distributed import get_task_stream

    sys, y, u = _panel(rng, missing=missing)
    dy, du = _dask_panel(y, u)
    with get_task_stream(client) as stream:
        ll = realize.loglik(sys, dy, du)
    assert any("_chunk" in str(t["key"]) for t in stream.data)  # the workers ran it
    _close(ll, realize.loglik(sys, y, u))
    _assert_same_filter(realize.kalman_filter(sys, dy, du), realize.kalman_filter(sys, y, u))
    options = dict(estimate=EM_ESTIMATE, n_iter=6, tol=0.0, progress=False)
    _assert_same_em(realize.em(sys, dy, du, **options), realize.em(sys, y, u, **options))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["n4sid", "moesp"])
def test_n4sid_of_dask_records_on_a_process_cluster(client, rng, method):
    true = random_statespace(rng, 3, 2, 2, noise=True)
    recs = []
    for T in (3000, 1700):
        u = rng.standard_normal((T, 2))
        recs.append((true.simulate(u, rng=rng), u))
    mem = realize.n4sid(recs, order=3, horizon=5, method=method)
    drecs = [
        (da.from_array(y, chunks=(613, 2)), da.from_array(u, chunks=(400, 2))) for y, u in recs
    ]
    res = realize.n4sid(drecs, order=3, horizon=5, method=method)
    np.testing.assert_allclose(res.singular_values, mem.singular_values, rtol=1e-10)
    np.testing.assert_allclose(res.model.markov(10), mem.model.markov(10), atol=1e-10)
    np.testing.assert_allclose(res.fit, mem.fit, atol=1e-8)


# ------------------------------------------------------------ local schedulers
@pytest.mark.parametrize("missing", [True, False])
def test_threaded_scheduler_equals_in_memory(rng, missing):
    sys, y, u = _panel(rng, missing=missing)
    dy, du = _dask_panel(y, u)
    x0 = rng.standard_normal((y.shape[0], 3))  # one initial state per series
    with dask.config.set(scheduler="threads"):
        _close(realize.loglik(sys, dy, du, x0=x0), realize.loglik(sys, y, u, x0=x0))
        diagonal = sys.replace(R=np.diag(np.diag(sys.R)))  # for the univariate filter
        for method in ("univariate", "square_root"):
            _close(
                realize.loglik(diagonal, dy, du, method=method),
                realize.loglik(diagonal, y, u, method=method),
            )
        _assert_same_filter(
            realize.kalman_filter(sys, dy, du, x0=x0), realize.kalman_filter(sys, y, u, x0=x0)
        )
        options = dict(estimate=("A", "C", "Q", "R"), n_iter=6, tol=0.0, progress=False)
        _assert_same_em(
            realize.em(sys, dy, du, x0=x0, **options), realize.em(sys, y, u, x0=x0, **options)
        )
        options["n_iter"] = 2
        _assert_same_em(
            realize.em(sys, dy, du, x0=x0[:1], **options),
            realize.em(sys, y, u, x0=x0[:1], **options),
        )
        # inputs shared by the series
        _close(realize.loglik(sys, dy, u[0]), realize.loglik(sys, y, u[0]))


SMOOTHED = ("smoothed_state", "smoothed_cov", "smoothed_lag1_cov", "loglik")
DISTURBANCES = (
    "smoothed_state_disturbance",
    "smoothed_state_disturbance_cov",
    "smoothed_observation_disturbance",
    "smoothed_observation_disturbance_cov",
    "r",
)


@pytest.mark.parametrize("missing", [True, False])
def test_smoother_of_a_panel_equals_in_memory(rng, missing):
    sys, y, u = _panel(rng, missing=missing)
    dy, du = _dask_panel(y, u)
    x0 = rng.standard_normal((y.shape[0], 3))
    with dask.config.set(scheduler="threads"):
        for disturbances in (False, True):
            res = realize.kalman_smoother(sys, dy, du, x0=x0, disturbances=disturbances)
            mem = realize.kalman_smoother(sys, y, u, x0=x0, disturbances=disturbances)
            assert type(res) is type(mem)
            names = SMOOTHED + (DISTURBANCES if disturbances else ())
            for name in names:
                got, ref = getattr(res, name), getattr(mem, name)
                assert got.shape == ref.shape, name
                _close(got, ref)
            _assert_same_filter(res.filter, mem.filter)
            _close(res.filter.filtered_cov, mem.filter.filtered_cov)
            shared = mem.smoothed_cov.strides[0] == 0
            assert (res.smoothed_cov.strides[0] == 0) == shared
    assert shared == (not missing)  # complete data: one covariance sequence for all series


@pytest.mark.slow
def test_process_pool_scheduler_equals_in_memory(rng):
    sys, y, u = _panel(rng, N=9, T=40)
    dy, du = _dask_panel(y, u)
    with dask.config.set(scheduler="processes", num_workers=2):
        _close(realize.loglik(sys, dy, du), realize.loglik(sys, y, u))
        sm, mem = realize.kalman_smoother(sys, dy, du), realize.kalman_smoother(sys, y, u)
        _close(sm.smoothed_state, mem.smoothed_state)
        _close(sm.smoothed_cov, mem.smoothed_cov)


def test_em_statistics_of_chunks_add_up(rng):
    """The M-step of the summed statistics of two halves is the M-step of the whole."""
    from realize.filtering._model import prepare
    from realize.filtering.em import expected_statistics, maximize, starting_point

    sys, y, u = _panel(rng, N=8)
    theta = starting_point(prepare(sys, y, u))
    ll, whole = expected_statistics(theta, y, u)
    parts = [expected_statistics(theta, y[s], u[s]) for s in (slice(0, 3), slice(3, 8))]
    assert sum(p[0] for p in parts) == pytest.approx(ll, rel=1e-13)
    a, b = (p[1]() for p in parts)
    summed = {k: a[k] + b[k] for k in a if k not in ("T", "xs0")}
    summed.update(T=a["T"], xs0=np.concatenate([a["xs0"], b["xs0"]]))
    new, ref = maximize(summed, theta, EM_ESTIMATE), maximize(whole(), theta, EM_ESTIMATE)
    for name in ref:
        _close(new[name], ref[name])


# ----------------------------------------------------------------- bad input
def test_mismatched_panels_are_named_errors(rng):
    sys, y, u = _panel(rng, N=8, T=30)
    dy, du = _dask_panel(y, u)
    with dask.config.set(scheduler="threads"):
        with pytest.raises(ShapeError, match=r"y: expected an \(N, T, p\) panel"):
            realize.loglik(sys, da.concatenate([dy, dy[..., :1]], axis=2), du)
        with pytest.raises(ShapeError, match=r"y: expected an \(N, T, p\) dask array"):
            realize.kalman_filter(sys, dy[0], du[0])
        with pytest.raises(ShapeError, match="u: expected .* y's N = 8 series"):
            realize.loglik(sys, dy, da.concatenate([du, du[:1]]))
        with pytest.raises(ShapeError, match="u: expected"):
            realize.em(sys, dy, du[:, :-1], progress=False)
        with pytest.raises(ShapeError, match="x0: expected .* y's N = 8 series"):
            realize.kalman_filter(sys, dy, du, x0=np.zeros((5, 3)))
        with pytest.raises(ShapeError, match="y: expected a real numeric dask array"):
            realize.loglik(sys, dy + 1j, du)
        with pytest.raises(ShapeError, match="u: expected a dask array, got a Delayed"):
            realize.loglik(sys, dy, dask.delayed(u))
        with pytest.raises(ShapeError, match="known chunk sizes"):
            realize.loglik(sys, dy[dy[:, 0, 0] > -np.inf], du)
        # an option the model does not allow: raised once, before any chunk runs
        with pytest.raises(InvalidValueError, match="diagonal R") as err:
            realize.loglik(sys, dy, du, method="univariate")
        assert "panel's series" not in str(err.value)
        with pytest.raises(InvalidValueError, match="tol"):
            realize.kalman_filter(sys, dy, du, tol=-1.0)
        bad = y.copy()
        bad[6] = np.nan  # a series never observed: the error names the panel's series
        with pytest.raises(DataError, match=r"series 0 entirely missing .*series 6\.\.7"):
            realize.loglik(sys, da.from_array(bad, chunks=(6, -1, -1)), du)


def test_in_memory_calls_do_not_import_dask():
    code = (
        "import sys, numpy as np, realize\n"
        "s = realize.StateSpace([[0.5]], C=[[1.0]], Q=[[1.0]], R=[[1.0]])\n"
        "y = np.ones((3, 10, 1))\n"
        "realize.loglik(s, y); realize.kalman_filter(s, y); realize.em(s, y, n_iter=1)\n"
        "print('dask' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False"


def test_mixed_diffuse_start_of_a_panel_equals_in_memory(rng):
    """A random-walk level beside a stationary AR(1) state: the level starts exactly diffuse
    (P0_diffuse), the rest from P0; the panel's likelihoods, filter and smoother are the
    in-memory ones."""
    sys = realize.StateSpace(
        np.diag([1.0, rng.uniform(0.3, 0.8)]), C=[[1.0, 1.0]], Q=np.diag([0.2, 1.0]), R=[[0.5]]
    )
    y = np.stack([sys.simulate(T=40, x0=[3.0, 0.0], rng=rng) for _ in range(7)])
    y[rng.uniform(size=y.shape) < 0.05] = np.nan
    kw = dict(P0=np.diag([0.0, 1.0 / (1 - sys.A[1, 1] ** 2)]), P0_diffuse=np.diag([1.0, 0.0]))
    dy = da.from_array(y, chunks=(3, 40, 1))
    with dask.config.set(scheduler="threads"):
        _close(
            realize.loglik(sys, dy, init="diffuse", **kw),
            realize.loglik(sys, y, init="diffuse", **kw),
        )
        res = realize.kalman_filter(sys, dy, init="diffuse", **kw)
        mem = realize.kalman_filter(sys, y, init="diffuse", **kw)
        assert mem.n_diffuse > 0 and res.n_diffuse == mem.n_diffuse
        _assert_same_filter(res, mem)
        # series with shorter diffuse periods (missing data) padded with zeros, as in memory
        _close(res.predicted_diffuse_cov, mem.predicted_diffuse_cov)
        sm = realize.kalman_smoother(sys, dy, init="diffuse", **kw)
        _close(
            sm.smoothed_state, realize.kalman_smoother(sys, y, init="diffuse", **kw).smoothed_state
        )
