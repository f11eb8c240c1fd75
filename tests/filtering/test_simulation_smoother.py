"""Simulation smoother: statsmodels' draws from the same variates, and the moments."""

import numpy as np
import pytest
from test_filtering import _close, random_problem

import realize
from realize.errors import InvalidValueError
from realize.filtering._model import prepare
from realize.filtering.simulation_smoother import draw_disturbances, mean_correction

sm_sim = pytest.importorskip("statsmodels.tsa.statespace.simulation_smoother")


@pytest.mark.parametrize("seed", range(3))
def test_draws_equal_statsmodels_given_the_same_variates(seed):
    rng = np.random.default_rng(seed)
    model, _, y = random_problem(rng, 3, 1, 2, 40, correlated=False)
    model = {k: model[k] for k in ("A", "C", "Q", "R")}  # statsmodels: no S; no inputs
    prep = prepare(model, y)
    x0, w, v = draw_disturbances(prep, 3, np.random.default_rng(100 + seed))
    ours = mean_correction(prep, x0, w, v)
    n, p = prep.n, prep.p
    ss = sm_sim.SimulationSmoother(p, n, k_posdef=n)
    ss.bind(np.asfortranarray(y.T))
    ss["design"], ss["obs_cov"] = model["C"], model["R"]
    ss["transition"], ss["selection"], ss["state_cov"] = model["A"], np.eye(n), model["Q"]
    ss.initialize_known(np.zeros(n), prep.P0)
    sim = ss.simulation_smoother()
    obs = ~np.isnan(y)
    full = obs.all(axis=1) | ~obs.any(axis=1)
    assert not full.all()
    assert_draws_equal_statsmodels(ours, sim, x0, w, v, full)


def assert_draws_equal_statsmodels(ours, sim, x0, w, v, full, rtol=1e-8):
    """Our draws (``mean_correction`` of series 0) equal statsmodels' simulation smoother
    ``sim`` given the same variates; v compared on the rows ``full``."""
    for d in range(x0.shape[0]):
        sim.simulate(
            measurement_disturbance_variates=v[d, 0],
            state_disturbance_variates=w[d, 0],
            initial_state_variates=x0[d, 0],
            pretransformed_measurement_disturbance_variates=True,
            pretransformed_state_disturbance_variates=True,
            pretransformed_initial_state_variates=True,
        )
        _close(ours["state"][d, 0], sim.simulated_state.T, rtol)
        _close(ours["w"][d, 0], sim.simulated_state_disturbance.T, rtol)
        # on a missing channel of a partly observed row statsmodels keeps the unconditioned
        # draw v+ (its smoothed disturbance there is 0); ours conditions it on the other
        # channels (checked through the moments below)
        _close(ours["v"][d, 0][full], sim.simulated_measurement_disturbance.T[full], rtol)


@pytest.mark.parametrize("seed", range(3))
def test_draws_have_the_smoothed_moments(seed):
    """Correlated noise, inputs, missing channels: the draws' mean and covariance are the
    smoothed ones (within 5 Monte Carlo standard errors), disturbances included."""
    rng = np.random.default_rng(30 + seed)
    model, u, y = random_problem(rng, 2, 1, 2, 15, correlated=True)
    draws = 4000
    sim = realize.simulation_smoother(model, y, u, draws=draws, rng=seed)
    sm = realize.kalman_smoother(model, y, u, disturbances=True)
    assert_smoothed_moments(sim, sm, draws)


def assert_smoothed_moments(sim, sm, draws):
    """The draws' means and covariances within 5 Monte Carlo standard errors of the
    smoothed ones (states and both disturbances)."""
    pairs = (
        (sim.state, sm.smoothed_state, sm.smoothed_cov),
        (sim.state_disturbance, sm.smoothed_state_disturbance, sm.smoothed_state_disturbance_cov),
        (
            sim.observation_disturbance,
            sm.smoothed_observation_disturbance,
            sm.smoothed_observation_disturbance_cov,
        ),
    )
    for x, mean, cov in pairs:
        var = np.diagonal(cov, 0, 1, 2)
        assert np.all(np.abs(x.mean(axis=0) - mean) <= 5 * np.sqrt(var / draws) + 1e-12)
        dev = x - x.mean(axis=0)
        emp = np.einsum("dti,dtj->tij", dev, dev) / (draws - 1)
        se = np.sqrt((var[:, :, None] * var[:, None, :] + cov**2) / draws)
        assert np.all(np.abs(emp - cov) <= 5 * se + 1e-12)


def test_draws_reproduce_the_observed_data():
    """On an observed channel y = C x + D u + v holds for every draw."""
    rng = np.random.default_rng(8)
    model, u, y = random_problem(rng, 3, 1, 2, 30, time_varying=True, correlated=True)
    sim = realize.simulation_smoother(model, y, u, draws=4, rng=1)
    C, D = model["C"], model["D"]
    fitted = np.einsum("tpn,dtn->dtp", C, sim.state) + u @ D.T + sim.observation_disturbance
    obs = ~np.isnan(y)
    _close(fitted[:, obs], np.broadcast_to(y[obs], fitted[:, obs].shape), rtol=1e-10)
    # and the states follow the model through the drawn state disturbances
    A, B = model["A"], model["B"]
    step = np.einsum("tij,dtj->dti", A[:-1], sim.state[:, :-1]) + np.einsum(
        "tij,tj->ti", B[:-1], u[:-1]
    )
    _close(sim.state[:, 1:], step + sim.state_disturbance[:, :-1], rtol=1e-10)


def test_batched_draws_equal_one_series_at_a_time():
    rng = np.random.default_rng(9)
    model, u, y = random_problem(rng, 2, 1, 2, 25)
    ys = np.stack([y, y[::-1].copy(), y + 1.0])  # two missing patterns
    prep = prepare(model, ys, u)
    x0, w, v = draw_disturbances(prep, 3, np.random.default_rng(0))
    both = mean_correction(prep, x0, w, v)
    for i in range(3):
        one = mean_correction(
            prepare(model, ys[i], u), x0[:, i : i + 1], w[:, i : i + 1], v[:, i : i + 1]
        )
        for k in ("state", "w", "v"):
            _close(both[k][:, i], one[k][:, 0], rtol=1e-10)
    sim = realize.simulation_smoother(model, ys, u, draws=2, rng=0)
    assert sim.state.shape == (2, 3, 25, 2) and sim.observation_disturbance.shape == (2, 3, 25, 2)


def test_seeded_and_checked():
    sys = realize.StateSpace([[0.9]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    y = sys.simulate(T=20, rng=0)
    a = realize.simulation_smoother(sys, y, draws=3, rng=5)
    b = realize.simulation_smoother(sys, y, draws=3, rng=np.random.default_rng(5))
    c = realize.simulation_smoother(sys, y, draws=3, rng=6)
    np.testing.assert_array_equal(a.state, b.state)
    assert not np.allclose(a.state, c.state)
    assert repr(a).startswith("SimulationSmootherResult(state=<(3, 20, 1) float64 array>")
    for draws in (0, -1, 2.5):
        with pytest.raises(InvalidValueError, match="draws: expected an integer"):
            realize.simulation_smoother(sys, y, draws=draws)
