"""Kalman filter and log-likelihood: against statsmodels, the NumPy reference and theory."""

import numpy as np
import pytest
from test_filtering_oracles import statsmodels_smoother

import realize
from realize.errors import (
    DataError,
    InvalidValueError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    ShapeError,
)
from realize.filtering import DIFFUSE_KAPPA
from realize.filtering._model import prepare
from realize.filtering._outputs import merge
from realize.filtering.filter import assemble
from realize.filtering.reference import reference_filter
from realize.filtering.smoother import smooth_groups
from realize.testing import random_statespace

pytest.importorskip("statsmodels")


def _joint_cov(rng, n, p):
    F = rng.standard_normal((n + p, n + p))
    cov = F @ F.T / (n + p) + 0.1 * np.eye(n + p)
    return cov[:n, :n], cov[n:, n:], cov[:n, n:]


def random_problem(rng, n, m, p, T, *, time_varying=False, correlated=True, missing=0.1):
    """A random model (dict of matrices, possibly time stacks), inputs and data with NaN."""
    sys = random_statespace(rng, n, m, p, noise=True, radius=0.9)
    model = dict(
        A=sys.A,
        B=sys.B,
        C=sys.C,
        D=sys.D,
        Q=sys.Q,
        R=sys.R,
        S=sys.S if correlated else np.zeros((n, p)),
    )
    if time_varying:
        model["A"] = sys.A + 0.05 * rng.standard_normal((T, n, n))
        model["C"] = sys.C + 0.1 * rng.standard_normal((T, p, n))
        model["B"] = sys.B + 0.1 * rng.standard_normal((T, n, m))
        covs = [_joint_cov(rng, n, p) for _ in range(T)]
        model["Q"] = np.stack([c[0] for c in covs])
        model["R"] = np.stack([c[1] for c in covs])
        model["S"] = np.stack([c[2] for c in covs]) * (1.0 if correlated else 0.0)
    u = rng.standard_normal((T, m))
    y = sys.simulate(u, rng=rng)
    y[rng.uniform(size=y.shape) < missing] = np.nan
    y[T // 3] = np.nan  # one whole row missing
    return model, u, y


def reference_kalman_filter(model, y, u=None):
    """The plain NumPy definition (the oracle of the compiled filters), as a FilterResult."""
    prep = prepare(model, y, u, None, None, "auto")
    return assemble(prep, reference_filter(prep), "reference")


def reference_kalman_smoother(model, y, u=None):
    """The reference filter and smoother: ``(xs, Ps, Pc)`` of one series."""
    prep = prepare(model, y, u, None, None, "auto")
    sm = smooth_groups(prep, reference_filter(prep), None, "reference")
    return sm["xs"][0], sm["Ps"][0], sm["Pc"][0]


def reference_loglik(model, y, u=None):
    """The log-likelihood of the reference filter (the exact recursion)."""
    prep = prepare(model, y, u, None, None, "auto")
    return float(merge(prep.N, reference_filter(prep, store=False), "loglik")[0])


def _close(a, b, rtol=1e-8):
    scale = max(1.0, float(np.max(np.abs(b))))
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("time_varying", [False, True])
@pytest.mark.parametrize("correlated", [False, True])
def test_filter_matches_statsmodels(seed, time_varying, correlated):
    rng = np.random.default_rng([seed, time_varying, correlated])
    # odd seeds: n >= 6, where the kernels' products go to dgemm instead of loops
    n = rng.integers(1, 5) if seed % 2 == 0 else rng.integers(6, 10)
    m, p = rng.integers(1, 3), rng.integers(1, 4)
    model, u, y = random_problem(rng, n, m, p, 80, time_varying=time_varying, correlated=correlated)
    res = realize.kalman_filter(model, y, u)
    ref = statsmodels_smoother(model, y, u, x0=res.predicted_state[0], P0=res.predicted_cov[0])
    assert abs(res.loglik - ref["loglik"]) <= 1e-9 * abs(ref["loglik"])
    for key in ("predicted_state", "predicted_cov", "filtered_state", "filtered_cov"):
        _close(getattr(res, key), ref[key])
    obs = ~np.isnan(y)
    _close(res.innovations[obs], ref["innovations"][obs])
    full = obs.all(axis=1)
    _close(res.innovation_cov[full], ref["innovation_cov"][full])
    assert np.all(np.isnan(res.innovations[~obs]))
    assert realize.loglik(model, y, u) == pytest.approx(res.loglik, rel=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_compiled_matches_reference(seed):
    rng = np.random.default_rng(100 + seed)
    model, u, y = random_problem(rng, 4, 2, 3, 120, time_varying=seed == 2)
    fast = realize.kalman_filter(model, y, u)
    ref = reference_kalman_filter(model, y, u)
    for key in (
        "predicted_state",
        "predicted_cov",
        "filtered_state",
        "filtered_cov",
        "innovation_cov",
        "gain",
        "next_state",
        "next_cov",
        "loglik_obs",
    ):
        _close(getattr(fast, key), getattr(ref, key), 1e-10)
    np.testing.assert_array_equal(np.isnan(fast.innovations), np.isnan(ref.innovations))
    assert fast.loglik == pytest.approx(ref.loglik, rel=1e-12)


def test_method_reference_is_deprecated_and_runs_the_reference(rng):
    model, u, y = random_problem(rng, 3, 1, 2, 60)
    with pytest.warns(DeprecationWarning, match="method='reference'"):
        res = realize.kalman_filter(model, y, u, method="reference")
    np.testing.assert_array_equal(
        res.predicted_state, reference_kalman_filter(model, y, u).predicted_state
    )
    with pytest.warns(DeprecationWarning, match="method='reference'"):
        assert realize.loglik(model, y, u, method="reference") == reference_loglik(model, y, u)
    with pytest.warns(DeprecationWarning, match="method='reference'"):
        sm = realize.kalman_smoother(model, y, u, method="reference")
    np.testing.assert_array_equal(sm.smoothed_state, reference_kalman_smoother(model, y, u)[0])
    assert "reference" not in realize.filtering.filter.METHODS


def test_loglik_of_ar1_by_hand():
    """Stationary AR(1) observed without noise: the likelihood factorizes by hand."""
    phi, s2 = 0.7, 2.0
    sys = realize.StateSpace([[phi]], C=[[1.0]], Q=[[s2]], R=[[0.0]])
    y = np.array([0.3, -1.2, 0.5, 2.0, np.nan, 0.1])
    g0 = s2 / (1 - phi**2)
    ll = -0.5 * (np.log(2 * np.pi * g0) + y[0] ** 2 / g0)
    for t in (1, 2, 3):
        ll -= 0.5 * (np.log(2 * np.pi * s2) + (y[t] - phi * y[t - 1]) ** 2 / s2)
    # y[4] missing: y[5] | y[3] has mean phi^2 y[3] and variance s2 (1 + phi^2)
    v5 = s2 * (1 + phi**2)
    ll -= 0.5 * (np.log(2 * np.pi * v5) + (y[5] - phi**2 * y[3]) ** 2 / v5)
    assert realize.loglik(sys, y) == pytest.approx(ll, rel=1e-13)


def test_default_initialization(rng):
    sys = random_statespace(rng, 3, 0, 2, noise=True)
    y = sys.simulate(T=20, rng=rng)
    res = realize.kalman_filter(sys, y)
    np.testing.assert_allclose(res.predicted_cov[0], realize.dlyap(sys.A, sys.Q), atol=1e-12)
    np.testing.assert_array_equal(res.predicted_state[0], 0.0)
    # every mode explosive by construction (eigenvalues 1.5 + 0.2 lambda / rho, moduli >= 1.3;
    # scaling A to radius 1.5 leaves a mode below rho / 1.5 stable): the exact diffuse start,
    # P_* = 0 and P_inf = I
    unstable = sys.replace(A=1.5 * np.eye(3) + 0.2 * sys.A / sys.spectral_radius())
    res = realize.kalman_filter(unstable, y)
    np.testing.assert_allclose(res.predicted_cov[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(res.predicted_diffuse_cov[0], np.eye(3), atol=1e-12)
    res = realize.kalman_filter(unstable, y, init="approximate_diffuse")
    kappa = res.predicted_cov[0, 0, 0]
    np.testing.assert_array_equal(res.predicted_cov[0], kappa * np.eye(3))
    assert kappa >= DIFFUSE_KAPPA * np.nanmean(y**2) / np.max(np.sum(unstable.C**2, axis=1))
    with pytest.raises(realize.errors.NotStableError):
        realize.kalman_filter(unstable, y, init="stationary")
    x0, P0 = rng.standard_normal(3), np.eye(3)
    res = realize.kalman_filter(sys, y, x0=x0, P0=P0)
    np.testing.assert_array_equal(res.predicted_state[0], x0)
    np.testing.assert_array_equal(res.predicted_cov[0], P0)


def test_steady_state_switch(rng):
    sys = random_statespace(rng, 4, 1, 2, noise=True)
    u = rng.standard_normal((400, 1))
    y = sys.simulate(u, rng=rng)
    y[250, 1] = np.nan
    fast = realize.kalman_filter(sys, y, u)
    exact = realize.kalman_filter(sys, y, u, steady_state=False)
    assert fast.steady.sum() > 200 and not exact.steady.any()
    # left at the missing value, back once the recursion has converged again
    assert not fast.steady[250] and fast.steady[249] and fast.steady[-1]
    for key in ("predicted_state", "predicted_cov", "filtered_state", "filtered_cov", "gain"):
        _close(getattr(fast, key), getattr(exact, key), 1e-10)
    assert fast.loglik == pytest.approx(exact.loglik, rel=1e-12)


def test_steady_state_start_is_innovation_form(rng):
    """Starting in steady state, the filter is the innovation-form predictor."""
    sys = random_statespace(rng, 3, 2, 2, noise=True, innovation=True)
    u = rng.standard_normal((150, 2))
    y = sys.simulate(u, rng=rng)
    res = realize.kalman_filter(sys, y, u, init="steady_state")
    assert res.steady[1:].all()
    x = np.zeros(3)
    Li = np.linalg.inv(sys.Lambda)
    ll = 0.0
    for t in range(150):
        np.testing.assert_allclose(res.predicted_state[t], x, atol=1e-9)
        e = y[t] - sys.C @ x - sys.D @ u[t]
        ll -= 0.5 * (2 * np.log(2 * np.pi) + np.log(np.linalg.det(sys.Lambda)) + e @ Li @ e)
        x = sys.A @ x + sys.B @ u[t] + sys.K @ e
    np.testing.assert_allclose(res.gain, np.broadcast_to(sys.K, res.gain.shape), atol=1e-9)
    np.testing.assert_allclose(res.innovation_cov[5], sys.Lambda, atol=1e-9)
    assert res.loglik == pytest.approx(ll, rel=1e-10)
    # an innovation-form-only model (K, Lambda) gives the same
    inno = realize.StateSpace(sys.A, sys.B, sys.C, sys.D, K=sys.K, Lambda=sys.Lambda)
    assert realize.loglik(inno, y, u, init="steady_state") == pytest.approx(ll, rel=1e-10)


@pytest.mark.parametrize("missing", [0.0, 0.1])
def test_many_series(rng, missing):
    sys = random_statespace(rng, 3, 1, 2, noise=True)
    N, T = 5, 60
    u = rng.standard_normal((N, T, 1))
    y = np.stack([sys.simulate(u[i], rng=rng) for i in range(N)])
    y[rng.uniform(size=y.shape) < missing] = np.nan
    res = realize.kalman_filter(sys, y, u)
    ll = realize.loglik(sys, y, u)
    assert res.predicted_state.shape == (N, T, 3) and res.predicted_cov.shape == (N, T, 3, 3)
    for i in range(N):
        one = realize.kalman_filter(sys, y[i], u[i])
        _close(res.predicted_state[i], one.predicted_state, 1e-11)
        _close(res.filtered_cov[i], one.filtered_cov, 1e-11)
        assert res.loglik[i] == pytest.approx(one.loglik, rel=1e-12)
        assert ll[i] == pytest.approx(one.loglik, rel=1e-12)


def test_shared_inputs_for_many_series(rng):
    sys = random_statespace(rng, 2, 1, 1, noise=True)
    u = rng.standard_normal((40, 1))
    y = np.stack([sys.simulate(u, rng=rng) for _ in range(3)])
    both = realize.loglik(sys, y, u)
    assert both[1] == pytest.approx(realize.loglik(sys, y[1], u), rel=1e-12)


def test_bad_inputs(rng):
    sys = random_statespace(rng, 2, 1, 2, noise=True)
    u = rng.standard_normal((30, 1))
    y = sys.simulate(u, rng=rng)
    with pytest.raises(ShapeError, match="y"):
        realize.kalman_filter(sys, y[:, :1], u)
    with pytest.raises(ShapeError, match="u"):
        realize.kalman_filter(sys, y, u[:20])
    with pytest.raises(ShapeError, match="u"):
        realize.kalman_filter(sys, y)
    bad_u = u.copy()
    bad_u[3] = np.nan
    with pytest.raises(NonFiniteError, match="u"):
        realize.loglik(sys, y, bad_u)
    with pytest.raises(DataError, match="missing"):
        realize.loglik(sys, np.full_like(y, np.nan), u)
    with pytest.raises(InvalidValueError, match="y"):
        realize.loglik(sys, np.where(y > 0, np.inf, y), u)
    model = dict(A=sys.A, B=sys.B, C=sys.C, D=sys.D, Q=-np.eye(2), R=sys.R)
    with pytest.raises(NotPositiveSemidefiniteError, match="Q"):
        realize.loglik(model, y, u)
    model = dict(A=sys.A, B=sys.B, C=sys.C, D=sys.D, Q=sys.Q, R=np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(NotPositiveSemidefiniteError, match="R"):
        realize.loglik(model, y, u)
    with pytest.raises(NotPositiveSemidefiniteError, match="P0"):
        realize.loglik(sys, y, u, P0=-np.eye(2))
    with pytest.raises(ShapeError, match="A"):
        realize.loglik(dict(A=np.ones((5, 2, 2)), C=sys.C, Q=sys.Q, R=sys.R), y[:, :2])
    with pytest.raises(InvalidValueError, match="method"):
        realize.loglik(sys, y, u, method="magic")
    with pytest.raises(InvalidValueError, match="noise model"):
        realize.loglik(realize.StateSpace(sys.A, sys.B, sys.C, sys.D), y, u)
    # a model that cannot explain the data: singular F, an error rather than NaN
    deg = dict(A=sys.A, B=sys.B, C=sys.C, D=sys.D, Q=np.zeros((2, 2)), R=np.zeros((2, 2)))
    with pytest.raises(InvalidValueError):
        realize.loglik(deg, y, u, P0=np.zeros((2, 2)))
    # overflow of an explosive model is an error, never a NaN log-likelihood
    boom = dict(A=1e200 * np.eye(2), C=np.eye(2), Q=np.eye(2), R=np.eye(2))
    with pytest.raises(InvalidValueError):
        realize.loglik(boom, np.ones((40, 2)))
