"""Subspace identification: Hankel R factor, N4SID / MOESP / CVA, order, streaming, dask."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from identifiable import distance, modest_similarity, separated_real_poles, signed_uniform

import realize
from realize.errors import (
    DataError,
    InvalidValueError,
    NonFiniteError,
    OrderError,
    RealizeWarning,
    ShapeError,
)
from realize.identify.hankel import (
    HankelLayout,
    SubspaceAccumulator,
    hankel_columns,
    qr_update,
    qr_update_reference,
)
from realize.model import StateSpace
from realize.testing import random_statespace

METHODS = ["n4sid", "moesp", "cva"]


def clear_system(rng, n=3, m=1, p=1, noise=0.1):
    """A stable system that is identifiable by construction, in random coordinates.

    Real poles with 0.3 <= |z| <= 0.85, at least 0.3 apart; no zero of the input model
    ``(A, B, C, D)`` within 0.15 of a pole, none of the innovation model (the eigenvalues of
    ``A - K C``) within 0.1; the predictor radius below 0.95; in modal coordinates every entry
    of B and C of magnitude in [0.5, 1.5] and of K in [0.2, 0.5]; a similarity of condition
    number below 10. Draws with a residue 0.0125, or a zero 0.04 from a pole, gave pole errors
    of 0.1-0.4 at T = 40000 whatever the method (see ``identifiable``).
    """
    poles = separated_real_poles(rng, n, 0.3, 0.85)
    V, Vi = modest_similarity(rng, n)
    for _ in range(1000):
        Bm, Cm = signed_uniform(rng, 0.5, 1.5, (n, m)), signed_uniform(rng, 0.5, 1.5, (p, n))
        Km = signed_uniform(rng, 0.2, 0.5, (n, p))
        sys = StateSpace(
            V @ np.diag(poles) @ Vi,
            V @ Bm,
            Cm @ Vi,
            rng.standard_normal((p, m)),
            K=V @ Km,
            Lambda=noise**2 * np.eye(p),
        )
        predictor = np.linalg.eigvals(np.diag(poles) - Km @ Cm)
        zeros = sys.zeros() if m else np.array([])
        if (
            np.max(np.abs(predictor)) < 0.95
            and distance(predictor, poles) >= 0.1
            and distance(zeros, poles) >= 0.15
        ):
            return sys
    raise AssertionError("no draw without a near pole-zero cancellation")


def reference_hankel(records, lay):
    """Explicit block-Hankel matrix H (d, N) of several records, column by column."""
    cols = []
    for y, u in records:
        for j in range(y.shape[0] - lay.s + 1):
            col = [np.ones(1)] if lay.detrend else []
            col += [u[j + k] for k in range(lay.s)] + [y[j + k] for k in range(lay.s)]
            cols.append(np.concatenate(col))
    return np.array(cols).T


def pole_error(model, true):
    a = np.sort_complex(np.asarray(model.poles()))
    b = np.sort_complex(np.asarray(true.poles()))
    return float(np.max(np.abs(a - b)))


# ------------------------------------------------------------------ R factor
@given(st.integers(1, 40), st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_qr_update_matches_reference(k, d, seed):
    rng = np.random.default_rng(seed)
    R = np.asfortranarray(np.triu(rng.standard_normal((d, d))))
    B = rng.standard_normal((k, d))
    ref = qr_update_reference(R.copy(), B.copy())
    out = qr_update(R.copy(order="F"), np.asfortranarray(B))
    np.testing.assert_allclose(out.T @ out, ref.T @ ref, atol=1e-10 * (1 + np.abs(ref).max()))
    np.testing.assert_allclose(np.abs(np.diag(out)), np.abs(np.diag(ref)), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("detrend", [False, True])
def test_accumulator_chunks_and_records_are_exact(rng, detrend):
    lay = HankelLayout(2, 1, 3, 4, detrend)
    recs = [(rng.standard_normal((n, 1)), rng.standard_normal((n, 2))) for n in (57, 9, 120)]
    H = reference_hankel(recs, lay)
    acc = SubspaceAccumulator((3, 4), detrend=detrend)
    for y, u in recs:
        k = 0
        while k < len(y):  # chunks of random length, single samples included
            step = int(rng.integers(1, 15))
            acc.update(y[k : k + step], u[k : k + step])
            k += step
        acc.new_record()
    assert acc.n_columns == H.shape[1] and acc.n_records == 3
    R = acc.r_factor * np.sqrt(acc.n_columns)
    np.testing.assert_allclose(R.T @ R, H @ H.T, rtol=1e-10, atol=1e-9)
    assert np.all(np.diag(acc.r_factor) >= 0)


def test_hankel_columns_layout(rng):
    lay = HankelLayout(1, 2, 1, 2)
    u, y = rng.standard_normal((5, 1)), rng.standard_normal((5, 2))
    Hc = hankel_columns(u, y, lay)
    assert Hc.shape == (3, lay.d)
    np.testing.assert_array_equal(Hc[1], np.concatenate([u[1:4, 0], y[1:4].ravel()]))


def test_accumulator_merge_equals_single(rng):
    y, u = rng.standard_normal((300, 1)), rng.standard_normal((300, 1))
    a, b, whole = (SubspaceAccumulator(4) for _ in range(3))
    a.update(y[:100], u[:100])
    b.update(y[100:], u[100:])
    whole.update(y[:100], u[:100]).new_record().update(y[100:], u[100:])
    a.merge(b)
    np.testing.assert_allclose(a.r_factor, whole.r_factor, atol=1e-12)


# ------------------------------------------------------------- identification
@pytest.mark.parametrize("method", METHODS)
def test_noise_free_data_are_identified_exactly(rng, method):
    true = random_statespace(rng, 3, 2, 2, radius=0.9)
    u = rng.standard_normal((600, 2))
    y = true.simulate(u, noise=False)
    res = realize.n4sid(y, u, order="auto", horizon=5, method=method, feedthrough=True)
    assert res.order == 3
    np.testing.assert_allclose(res.model.markov(12), true.markov(12), atol=1e-7)
    assert pole_error(res.model, true) < 1e-6
    assert np.all(res.fit > 99.999)


@pytest.mark.parametrize("method", METHODS)
def test_consistency_pole_error_and_fit_improve_with_T(rng, method):
    true = clear_system(rng, n=3, m=1, p=1, noise=0.5)
    u = rng.standard_normal((40000, 1))
    y = true.simulate(u, rng=rng)
    fit_kw = dict(order=3, method=method, feedthrough=True)
    short = [
        realize.n4sid(y[k : k + 1000], u[k : k + 1000], **fit_kw) for k in range(0, 8000, 1000)
    ]
    long = realize.n4sid(y, u, **fit_kw)
    uv = rng.standard_normal((2000, 1))
    yv = true.simulate(uv, noise=False)
    errors = {
        "poles": lambda r: pole_error(r.model, true),
        "markov": lambda r: np.abs(r.model.markov(20) - true.markov(20)).max(),
        # misfit of the deterministic part on fresh noise-free data
        "misfit": lambda r: (
            100 - realize.identify.fit_percent(yv, r.model.simulate(uv, noise=False))[0]
        ),
    }
    # a consistent estimator's errors fall like 1/sqrt(T): with 40 times the data, the error
    # is held below the typical (mean) error on 1000 samples (one short draw can be lucky,
    # and the long draws have a tail: 0.018 against a typical 0.004 on one system)
    for name, err in errors.items():
        typical = np.mean([err(r) for r in short])
        assert err(long) < typical, (name, err(long), typical)
    assert errors["poles"](long) < 0.1 and errors["markov"](long) < 0.05
    assert errors["misfit"](long) < 3


@pytest.mark.parametrize("seed", range(4))
def test_auto_order_picks_true_order_on_clear_cases(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5))
    true = clear_system(rng, n=n, m=1, p=2, noise=0.3)
    u = rng.standard_normal((20000, 1))
    y = true.simulate(u, rng=rng)
    assert realize.n4sid(y, u, feedthrough=True).order == n
    assert realize.n4sid(y, u, order=range(1, 8), feedthrough=True).order == n


def test_innovation_model_matches_truth(rng):
    true = clear_system(rng, n=2, m=1, p=2, noise=1.0)
    u = rng.standard_normal((60000, 1))
    y = true.simulate(u, rng=rng)
    model = realize.n4sid(y, u, order=2, feedthrough=True).model
    assert model.has_innovation_form and model.has_noise_model
    np.testing.assert_allclose(model.Lambda, true.Lambda, rtol=0.05, atol=0.03)
    # noise Markov parameters C A^k K are similarity invariant
    for k in range(4):
        hk = model.C @ np.linalg.matrix_power(model.A, k) @ model.K
        tk = true.C @ np.linalg.matrix_power(true.A, k) @ true.K
        np.testing.assert_allclose(hk, tk, atol=0.05)


def test_several_records_do_not_cross_boundaries(rng):
    true = clear_system(rng, n=2, m=1, p=1, noise=0.0)
    recs = []
    for T in (400, 300):
        u = rng.standard_normal((T, 1))
        recs.append((true.simulate(u, noise=False, x0=rng.standard_normal(2)), u))
    res = realize.n4sid(recs, order=2, horizon=4, feedthrough=True)
    np.testing.assert_allclose(res.model.markov(8), true.markov(8), atol=1e-7)
    assert res.x0.shape == (2, 2) and np.all(res.fit > 99.99)
    # glued into one record, the seam breaks exactness
    glued = realize.n4sid(
        np.concatenate([r[0] for r in recs]),
        np.concatenate([r[1] for r in recs]),
        order=2,
        horizon=4,
        feedthrough=True,
    )
    assert np.abs(glued.model.markov(8) - true.markov(8)).max() > 1e-6


def test_detrend_removes_offsets(rng):
    true = clear_system(rng, n=2, m=1, p=1, noise=0.0)
    u = rng.standard_normal((800, 1))
    y = true.simulate(u, noise=False)
    res = realize.n4sid(y + 3.0, u - 2.0, order=2, horizon=4, feedthrough=True, detrend=True)
    np.testing.assert_allclose(res.u_mean, u.mean(0) - 2.0, atol=1e-12)
    np.testing.assert_allclose(res.model.markov(8), true.markov(8), atol=1e-6)
    # the exact model started in the steady state of the mean input misses the centred
    # output by the constant G(1) mean(u) - mean(y), an O(1/T) end effect of the finite
    # record (sum_k g_k times the sum of the last k inputs, over T); the least-squares x0
    # does at least as well
    offset = (true.dcgain() @ u.mean(0) - y.mean(0))[0]
    best = 100 * (1 - abs(offset) * np.sqrt(len(y)) / np.linalg.norm(y - y.mean(0)))
    assert 99 < best <= res.fit[0] + 1e-6


def test_initial_state_estimate(rng):
    true = clear_system(rng, n=2, m=1, p=1, noise=0.0)
    u = rng.standard_normal((500, 1))
    x0 = 3 * rng.standard_normal(2)
    y = true.simulate(u, noise=False, x0=x0)
    res = realize.n4sid(y, u, order=2, horizon=4, feedthrough=True)
    yhat = res.model.simulate(u, x0=res.x0, noise=False)
    np.testing.assert_allclose(yhat, y, atol=1e-6)


def test_stable_enforcement_leaves_a_stable_estimate_alone(rng):
    other = clear_system(rng, n=2, m=1, p=1, noise=0.1)
    u = rng.standard_normal((300, 1))
    y2 = other.simulate(u, rng=rng)
    ok = realize.n4sid(y2, u, order=2, horizon=6, stable=True)
    assert ok.regularization == 0.0
    np.testing.assert_array_equal(ok.model.A, realize.n4sid(y2, u, order=2, horizon=6).model.A)


def test_stable_enforcement_states(rng):
    # the state-sequence estimator is rarely unstable on stable systems: a slightly
    # unstable true system (pole radius 1.02) gives an unstable least-squares A
    c, s = np.cos(0.05), np.sin(0.05)
    A = 1.02 * np.array([[c, s], [-s, c]])
    true = StateSpace(A, [[1.0], [0.0]], [[1.0, 0.0]], K=[[0.3], [0.1]], Lambda=[[4.0]])
    u = rng.standard_normal((300, 1))
    y = true.simulate(u, rng=rng, x0=np.zeros(2))
    free = realize.n4sid(y, u, order=2, horizon=6, estimator="states")
    assert not free.model.is_stable()
    stab = realize.n4sid(y, u, order=2, horizon=6, stable=True, estimator="states")
    assert stab.model.is_stable() and stab.regularization > 0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("feedthrough", [False, True])
def test_states_estimator_is_consistent_and_scale_invariant(rng, method, feedthrough):
    # the state-sequence estimator is fitted in an output-normalized metric, so for CVA (a
    # scale-invariant weighting) rescaling the outputs rescales the identified Markov
    # parameters exactly
    true = clear_system(rng, n=3, m=2, p=2, noise=0.1)
    if not feedthrough:
        true = true.replace(D=np.zeros((2, 2)))
    u = rng.standard_normal((4000, 2))
    y = true.simulate(u, rng=rng)
    kw = dict(order=3, horizon=8, method=method, feedthrough=feedthrough)
    states = realize.n4sid(y, u, estimator="states", **kw).model
    ref = true.markov(20)
    scale = np.max(np.abs(ref))
    assert np.max(np.abs(states.markov(20) - ref)) < 0.1 * scale
    if method == "cva":
        g = np.array([10.0, 0.1])
        scaled = realize.n4sid(y * g, u, estimator="states", **kw).model
        np.testing.assert_allclose(
            scaled.markov(20), g[None, :, None] * states.markov(20), atol=1e-8 * scale * 10
        )


def test_shift_estimator_is_deprecated_and_runs_the_states_estimator(rng):
    true = clear_system(rng, n=2, m=1, p=1, noise=0.1)
    u = rng.standard_normal((600, 1))
    y = true.simulate(u, rng=rng)
    states = realize.n4sid(y, u, order=2, horizon=6)
    with pytest.warns(DeprecationWarning, match="estimator='shift'"):
        shift = realize.n4sid(y, u, order=2, horizon=6, estimator="shift")
    np.testing.assert_array_equal(shift.model.A, states.model.A)
    acc = realize.SubspaceAccumulator(horizon=6)
    acc.update(y, u)
    with pytest.warns(DeprecationWarning, match="estimator='shift'"):
        acc.identify(order=2, estimator="shift")


def test_bad_estimator(rng):
    u = rng.standard_normal((200, 1))
    y = rng.standard_normal((200, 1))
    with pytest.raises(InvalidValueError, match="estimator"):
        realize.n4sid(y, u, order=1, horizon=4, estimator="gamma")


@pytest.mark.parametrize("method", METHODS)
def test_output_only_identification(rng, method):
    true = clear_system(rng, n=2, m=0, p=2, noise=1.0)
    y = true.simulate(T=60000, rng=rng)
    res = realize.n4sid(y, order=2, method=method)
    assert res.model.m == 0
    assert pole_error(res.model, true) < 0.05


# ----------------------------------------------------------- streaming, dask
def test_accumulator_identify_equals_in_memory(rng):
    true = clear_system(rng, n=3, m=2, p=2, noise=0.3)
    u = rng.standard_normal((5000, 2))
    y = true.simulate(u, rng=rng)
    mem = realize.n4sid(y, u, order=3, horizon=6, feedthrough=True)
    acc = realize.SubspaceAccumulator(horizon=6)
    for k in range(0, 5000, 777):
        acc.update(y[k : k + 777], u[k : k + 777])
    st_res = acc.identify(order=3, feedthrough=True)
    np.testing.assert_allclose(st_res.singular_values, mem.singular_values, rtol=1e-10)
    np.testing.assert_allclose(st_res.model.markov(10), mem.model.markov(10), atol=1e-10)
    np.testing.assert_allclose(st_res.x0, mem.x0, rtol=1e-6, atol=1e-8)
    assert st_res.fit is None
    again = realize.n4sid(acc, order=3, feedthrough=True)
    np.testing.assert_allclose(again.model.A, st_res.model.A)


@pytest.mark.parametrize("method", METHODS)
def test_dask_input_gives_the_same_model(rng, method):
    da = pytest.importorskip("dask.array")
    true = clear_system(rng, n=3, m=2, p=2, noise=0.3)
    u = rng.standard_normal((6000, 2))
    y = true.simulate(u, rng=rng)
    mem = realize.n4sid(y, u, order=3, horizon=5, method=method, feedthrough=True)
    dy, du = da.from_array(y, chunks=(1111, 2)), da.from_array(u, chunks=(700, 2))
    res = realize.n4sid(dy, du, order=3, horizon=5, method=method, feedthrough=True)
    np.testing.assert_allclose(
        np.sort_complex(res.model.poles()), np.sort_complex(mem.model.poles()), atol=1e-10
    )
    np.testing.assert_allclose(res.singular_values, mem.singular_values, rtol=1e-10)
    np.testing.assert_allclose(res.model.markov(10), mem.model.markov(10), atol=1e-10)
    np.testing.assert_allclose(res.fit, mem.fit, atol=1e-8)


def test_dask_several_records(rng):
    da = pytest.importorskip("dask.array")
    true = clear_system(rng, n=2, m=1, p=1, noise=0.0)
    recs = []
    for T in (500, 350):
        u = rng.standard_normal((T, 1))
        recs.append((true.simulate(u, noise=False), u))
    mem = realize.n4sid(recs, order=2, horizon=4)
    drecs = [(da.from_array(y, chunks=(97, 1)), da.from_array(u, chunks=(97, 1))) for y, u in recs]
    res = realize.n4sid(drecs, order=2, horizon=4)
    np.testing.assert_allclose(res.model.markov(8), mem.model.markov(8), atol=1e-10)


# ---------------------------------------------------------------- peers
def test_moesp_singular_values_match_nfoursid(rng):
    pd = pytest.importorskip("pandas")
    NFourSID = pytest.importorskip("nfoursid.nfoursid").NFourSID
    true = clear_system(rng, n=3, m=2, p=2, noise=0.3)
    u = rng.standard_normal((1500, 2))
    y = true.simulate(u, rng=rng)
    frame = pd.DataFrame(np.hstack([u, y]), columns=["u0", "u1", "y0", "y1"])
    peer = NFourSID(
        frame, output_columns=["y0", "y1"], input_columns=["u0", "u1"], num_block_rows=6
    )
    peer.subspace_identification()
    sv_peer = np.diag(peer.R32_decomposition.eigenvalues)
    ours = realize.n4sid(y, u, order=3, horizon=6, method="moesp", feedthrough=True)
    np.testing.assert_allclose(
        ours.singular_values * np.sqrt(ours.n_columns), sv_peer, rtol=1e-8, atol=1e-10 * sv_peer[0]
    )
    model, _ = peer.system_identification(rank=3)
    peer_poles = np.sort_complex(np.linalg.eigvals(model.a))
    np.testing.assert_allclose(np.sort_complex(ours.model.poles()), peer_poles, atol=0.05)


@pytest.mark.parametrize("method", METHODS)
def test_singular_values_and_poles_match_sippy(rng, method):
    sippy = pytest.importorskip("sippy_unipi")
    true = clear_system(rng, n=2, m=1, p=1, noise=0.2)
    u = rng.standard_normal((3000, 1))
    y = true.simulate(u, rng=rng)
    from sippy_unipi import OLSims_methods

    yy, uu = y.T.copy(), u.T.copy()
    yy = (yy - 0) / yy.std()
    uu = uu / uu.std()
    _, S_peer, _, _, _ = OLSims_methods.SVD_weighted(yy, uu, 8, 1, method.upper())
    ours = realize.n4sid(y, u, order=2, horizon=8, method=method, feedthrough=True)
    # single output: SIPPY's scaling of y only rescales the singular values
    np.testing.assert_allclose(
        S_peer / S_peer[0], ours.singular_values / ours.singular_values[0], rtol=1e-7, atol=1e-12
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = sippy.system_identification(
            y.T, u.T, method.upper(), SS_fixed_order=2, SS_f=8, SS_D_required=True
        )
    peer_poles = np.sort_complex(np.linalg.eigvals(peer.A))
    np.testing.assert_allclose(np.sort_complex(ours.model.poles()), peer_poles, atol=0.05)


# ---------------------------------------------------------------- real data
def test_wiener_hammerstein_best_linear_model():
    data = realize.datasets.wiener_hammerstein()
    tr, te = data.train, data.test
    res = realize.n4sid(
        tr.y[:20000],
        tr.u[:20000],
        order=6,
        horizon=20,
        feedthrough=True,
        detrend=True,
        focus="simulation",
        stable=True,
    )
    assert res.model.is_stable() and res.fit[0] > 75
    # test part: simulation from an initial state fitted on the first 50 samples
    from realize.identify.validation import least_squares_initial_state as estimate_initial_state
    from realize.identify.validation import simulate_output

    M = res.model
    mats = [np.array(x) for x in (M.A, M.B, M.C, M.D)]
    yt, ut = te.y.reshape(-1, 1) - res.y_mean, te.u.reshape(-1, 1) - res.u_mean
    x0 = estimate_initial_state(*mats, yt[:50], ut[:50])
    rmse = np.sqrt(np.mean((yt[50:] - simulate_output(*mats, ut, x0)[50:]) ** 2))
    assert rmse < 0.06  # volts; the output's standard deviation is about 0.24 V


@pytest.mark.parametrize("method", METHODS)
def test_simulation_focus_minimizes_the_simulation_error(rng, method):
    true = clear_system(rng, n=2, m=1, p=2, noise=0.5)
    u = rng.standard_normal((3000, 1))
    y = true.simulate(u, rng=rng)
    pred = realize.n4sid(y, u, order=2, horizon=6, method=method, feedthrough=True)
    sim = realize.n4sid(
        y, u, order=2, horizon=6, method=method, feedthrough=True, focus="simulation"
    )
    np.testing.assert_array_equal(sim.model.A, pred.model.A)
    # the joint least squares on (B, D, x0) minimizes the total squared simulation error
    # (not each output's fit): ||e_j|| = (1 - fit_j / 100) ||y_j - mean y_j||
    scale = np.linalg.norm(y - y.mean(axis=0), axis=0)
    sse = lambda fit: np.sum(((1 - fit / 100) * scale) ** 2)
    assert sse(sim.fit) <= sse(pred.fit) * (1 + 1e-9)
    with pytest.raises(ValueError, match="focus"):
        realize.n4sid(y, u, order=2, focus="likelihood")


# ---------------------------------------------------------------- bad inputs
def test_too_few_samples_names_the_minimum(rng):
    lay = HankelLayout(1, 1, 10, 10)
    with pytest.raises(DataError, match=str(lay.min_samples())):
        realize.n4sid(rng.standard_normal(50), rng.standard_normal(50), order=2, horizon=10)


def test_order_above_horizon(rng):
    y, u = rng.standard_normal(2000), rng.standard_normal(2000)
    with pytest.raises(OrderError, match="horizon"):
        realize.n4sid(y, u, order=6, horizon=4)


def test_order_above_data_support(rng):
    true = clear_system(rng, n=2, m=1, p=1, noise=0.0)
    u = rng.standard_normal((600, 1))
    with pytest.raises(OrderError, match="support"):
        realize.n4sid(true.simulate(u, noise=False), u, order=4, horizon=6)


def test_input_not_persistently_exciting_warns(rng):
    t = np.arange(3000)
    u = np.sin(0.3 * t)[:, None]
    true = clear_system(rng, n=2, m=1, p=1, noise=0.1)
    y = true.simulate(u, rng=rng)
    with pytest.warns(RealizeWarning, match="persistently exciting"):
        realize.n4sid(y, u, order=2, horizon=8)
    with pytest.raises(DataError, match="identically zero"):
        realize.n4sid(y, np.zeros_like(u), order=2, horizon=8)


def test_nan_and_length_mismatch(rng):
    y, u = rng.standard_normal(500), rng.standard_normal(500)
    y[10] = np.nan
    with pytest.raises(NonFiniteError, match="y"):
        realize.n4sid(y, u, order=2, horizon=4)
    with pytest.raises(ShapeError, match="u: expected as many samples"):
        realize.n4sid(rng.standard_normal(500), rng.standard_normal(499), order=2, horizon=4)
    with pytest.raises(ValueError, match="method"):
        realize.n4sid(rng.standard_normal(500), order=1, method="pca")


def test_dask_output_only_and_predictor_fit(rng):
    da = pytest.importorskip("dask.array")
    true = clear_system(rng, n=2, m=0, p=1, noise=1.0)
    y = true.simulate(T=4000, rng=rng)
    mem = realize.n4sid(y, order=2, horizon=5)
    res = realize.n4sid(da.from_array(y, chunks=(900, 1)), order=2, horizon=5)
    np.testing.assert_allclose(res.model.K, mem.model.K, atol=1e-10)
    np.testing.assert_allclose(res.fit, mem.fit, atol=1e-8)
    # output only: the fit is that of the one-step predictor from the estimated x0
    M = mem.model
    pred = StateSpace(np.array(M.A) - np.array(M.K) @ np.array(M.C), M.K, M.C)
    yhat = pred.simulate(y, x0=mem.x0, noise=False)
    np.testing.assert_allclose(mem.fit, realize.identify.fit_percent(y, yhat), atol=1e-8)
