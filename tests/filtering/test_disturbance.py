"""Disturbance smoother: statsmodels' smoothed disturbances and the joint-Gaussian oracle."""

import numpy as np
import pytest
from joint_gaussian import joint_posterior
from test_filtering import _close, random_problem

import realize
from realize.errors import InvalidValueError
from realize.filtering._model import prepare

sm_kalman = pytest.importorskip("statsmodels.tsa.statespace.kalman_smoother")


def statsmodels_smoother(model, y, u=None):
    """statsmodels' KalmanSmoother on the same (possibly time-varying) model, with the
    initial state and covariance realize uses (``init="auto"``)."""
    prep = prepare(model, y, u)
    T, n, p = prep.T, prep.n, prep.p

    def tv(M):  # realize's (1 or T, r, c) stack -> statsmodels' (r, c[, T])
        return M[0] if M.shape[0] == 1 else np.ascontiguousarray(np.moveaxis(M, 0, -1))

    ks = sm_kalman.KalmanSmoother(p, n, k_posdef=n)
    ks.bind(np.asfortranarray(prep.y[0].T))
    ks["design"], ks["obs_cov"] = tv(prep.C), tv(prep.R)
    ks["transition"], ks["state_cov"], ks["selection"] = tv(prep.A), tv(prep.Q), np.eye(n)
    if prep.u is not None:
        ks["state_intercept"] = np.ascontiguousarray(np.broadcast_to(prep.c[0], (T, n)).T)
        ks["obs_intercept"] = np.ascontiguousarray(np.broadcast_to(prep.d[0], (T, p)).T)
    ks.initialize_known(prep.x0[0], prep.P0)
    return ks.smooth()


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("time_varying", [False, True])
def test_disturbances_match_statsmodels(seed, time_varying):
    rng = np.random.default_rng(seed)
    model, u, y = random_problem(rng, 3, 2, 2, 40, time_varying=time_varying, correlated=False)
    sm = realize.kalman_smoother(model, y, u, disturbances=True)
    ref = statsmodels_smoother(model, y, u)
    _close(sm.smoothed_state, ref.smoothed_state.T)
    _close(sm.smoothed_state_disturbance, ref.smoothed_state_disturbance.T)
    _close(
        sm.smoothed_state_disturbance_cov, np.moveaxis(ref.smoothed_state_disturbance_cov, -1, 0)
    )
    _close(sm.r, ref.scaled_smoothed_estimator.T)
    _close(sm.N, np.moveaxis(ref.scaled_smoothed_estimator_cov, -1, 0))
    # statsmodels reports the unconditioned disturbance (0, and R) on a missing channel
    # of a partly observed row: compare where both channels are observed, or none is
    obs = ~np.isnan(y)
    full = obs.all(axis=1) | ~obs.any(axis=1)
    _close(sm.smoothed_observation_disturbance[full], ref.smoothed_measurement_disturbance.T[full])
    Pv = np.moveaxis(ref.smoothed_measurement_disturbance_cov, -1, 0)
    _close(sm.smoothed_observation_disturbance_cov[full], Pv[full])
    assert np.any(obs.any(axis=1) & ~obs.all(axis=1))  # partly observed rows were drawn
    assert np.any(np.abs(sm.smoothed_state_disturbance) > 1e-3)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("time_varying", [False, True])
def test_disturbances_equal_the_joint_gaussian_posterior(seed, time_varying):
    """With correlated noise S, inputs, missing channels: E[w, v | y] and their covariances
    by conditioning the whole model as one Gaussian vector."""
    rng = np.random.default_rng(10 + seed)
    model, u, y = random_problem(rng, 3, 1, 2, 25, time_varying=time_varying, correlated=True)
    assert np.any(model["S"])
    sm = realize.kalman_smoother(model, y, u, disturbances=True)
    ref = joint_posterior(model, y, u)
    _close(sm.smoothed_state, ref["x"])
    _close(sm.smoothed_state_disturbance, ref["w"])
    _close(sm.smoothed_state_disturbance_cov, ref["Pw"])
    _close(sm.smoothed_observation_disturbance, ref["v"])
    _close(sm.smoothed_observation_disturbance_cov, ref["Pv"])


def test_batched_disturbances_equal_one_series_at_a_time():
    rng = np.random.default_rng(3)
    model, u, y = random_problem(rng, 2, 1, 2, 30)
    ys = np.stack([y, y + 0.1 * rng.standard_normal(y.shape), y[::-1].copy()])
    us = np.stack([u, u, u])
    for data in (ys, ys[:2]):  # different missing patterns; the same (shared covariances)
        sm = realize.kalman_smoother(model, data, us[: len(data)], disturbances=True)
        for i in range(len(data)):
            one = realize.kalman_smoother(model, data[i], u, disturbances=True)
            for name in (
                "smoothed_state_disturbance",
                "smoothed_state_disturbance_cov",
                "smoothed_observation_disturbance",
                "smoothed_observation_disturbance_cov",
                "r",
                "N",
            ):
                _close(getattr(sm, name)[i], getattr(one, name), rtol=1e-10)


@pytest.mark.parametrize("method", ["univariate", "square_root"])
def test_disturbances_of_every_filter_agree(method):
    rng = np.random.default_rng(4)
    model, u, y = random_problem(rng, 3, 1, 2, 30, correlated=False)
    model["R"] = np.diag(np.diag(model["R"]))  # univariate needs a diagonal R
    a = realize.kalman_smoother(model, y, u, disturbances=True)
    b = realize.kalman_smoother(model, y, u, disturbances=True, method=method)
    _close(b.smoothed_state_disturbance, a.smoothed_state_disturbance)
    _close(b.smoothed_observation_disturbance_cov, a.smoothed_observation_disturbance_cov)


def test_disturbance_result_is_a_smoother_result_with_a_compact_repr():
    sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    y = sys.simulate(T=50, rng=0)
    sm = realize.kalman_smoother(sys, y, disturbances=True)
    plain = realize.kalman_smoother(sys, y)
    assert isinstance(sm, realize.filtering.SmootherResult)
    np.testing.assert_array_equal(sm.smoothed_state, plain.smoothed_state)
    text = repr(sm)
    assert text.startswith("DisturbanceSmootherResult(") and "\n" not in text
    assert "smoothed_state_disturbance=<(50, 1)" in text
    assert not hasattr(plain, "smoothed_state_disturbance")


def test_disturbances_flag_must_be_a_bool():
    sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    with pytest.raises(InvalidValueError, match="disturbances: expected True or False"):
        realize.kalman_smoother(sys, np.zeros(5), disturbances="yes")


def test_disturbances_through_steady_stretches_match_statsmodels():
    """Long stretches where the filter froze its covariance recursion (steady state),
    interrupted by a gap: the stored gains and F^-1 still give statsmodels' values."""
    rng = np.random.default_rng(6)
    model, u, y = random_problem(rng, 3, 1, 2, 400, correlated=False, missing=0.0)
    y[150:160] = np.nan
    sm = realize.kalman_smoother(model, y, u, disturbances=True)
    assert sm.filter.steady[:150].any() and sm.filter.steady[160:].any()
    ref = statsmodels_smoother(model, y, u)
    _close(sm.smoothed_state_disturbance, ref.smoothed_state_disturbance.T)
    _close(
        sm.smoothed_state_disturbance_cov, np.moveaxis(ref.smoothed_state_disturbance_cov, -1, 0)
    )
    _close(sm.smoothed_observation_disturbance, ref.smoothed_measurement_disturbance.T)
    Pv = np.moveaxis(ref.smoothed_measurement_disturbance_cov, -1, 0)
    _close(sm.smoothed_observation_disturbance_cov, Pv)
