"""Validation measures (realize.compare) against references."""

import numpy as np
import pytest

import realize
from realize.compare import (
    autocorrelation,
    estimate_initial_state,
    fit_percent,
    innovations,
    rmse,
    simulate_from_window,
    whiteness,
)
from realize.errors import DataError, InvalidValueError
from realize.testing import random_statespace


@pytest.mark.parametrize("seed", range(4))
def test_initial_state_is_recovered_exactly(seed):
    rng = np.random.default_rng(seed)
    sys = random_statespace(rng, n=4, m=2, p=2)
    u = rng.standard_normal((120, 2))
    x0 = rng.standard_normal(4)
    y = sys.simulate(u, x0=x0, noise=False)
    np.testing.assert_allclose(estimate_initial_state(sys, y, u, window=40), x0, atol=1e-8)
    yhat, x0_hat = simulate_from_window(sys, y, u, window=40)
    np.testing.assert_allclose(yhat, y, atol=1e-8)
    assert np.all(fit_percent(y, yhat) > 99.999999)


def test_fit_and_rmse_against_formula(rng):
    y = rng.standard_normal((200, 3))
    yhat = y + 0.1 * rng.standard_normal((200, 3))
    ref = 100 * (1 - np.linalg.norm(y - yhat, axis=0) / np.linalg.norm(y - y.mean(0), axis=0))
    np.testing.assert_allclose(fit_percent(y, yhat), ref, rtol=1e-13)
    np.testing.assert_allclose(rmse(y, yhat), np.sqrt(np.mean((y - yhat) ** 2, axis=0)), rtol=1e-13)
    # a constant output has no spread to be relative to: the fit is undefined
    for yhat_const in (np.ones(5), np.zeros(5)):
        with pytest.raises(DataError, match="y: expected outputs that vary"):
            fit_percent(np.ones(5), yhat_const)
    with pytest.raises(DataError):
        fit_percent(y, yhat[:-1])
    # a diverging simulation scores -inf (fit) and inf (RMSE), never NaN
    yhat[5, 1] = np.inf
    assert fit_percent(y, yhat)[1] == -np.inf and rmse(y, yhat)[1] == np.inf
    assert np.isfinite(fit_percent(y, yhat)[0])


@pytest.mark.parametrize("seed", range(3))
def test_innovations_match_the_steady_state_kalman_filter(seed):
    # oracle: the textbook predictor recursion written out in a plain loop
    rng = np.random.default_rng(seed)
    sys = random_statespace(rng, n=3, m=1, p=2, innovation=True)
    u = rng.standard_normal((300, 1))
    y = sys.simulate(u, rng=rng)
    e = innovations(sys, y, u)
    x = np.zeros(3)
    ref = np.empty_like(y)
    for t in range(300):
        ref[t] = y[t] - sys.C @ x - sys.D @ u[t]
        x = sys.A @ x + sys.B @ u[t] + sys.K @ ref[t]
    np.testing.assert_allclose(e, ref, rtol=1e-10, atol=1e-12)


def test_innovations_from_a_noise_model(rng):
    sys = realize.StateSpace([[0.8]], C=[[1.0]], Q=[[0.5]], R=[[0.2]])
    y = sys.simulate(T=20_000, rng=rng)
    e = innovations(sys, y)
    # white, with the innovation covariance Lambda of the Riccati solution
    lam = sys.innovation_form().Lambda[0, 0]
    assert abs(e[100:].var() / lam - 1) < 0.05
    assert np.all(np.abs(autocorrelation(e[100:], 10)[1:]) < 4 / np.sqrt(len(e)))
    with pytest.raises(InvalidValueError, match="noise model"):
        innovations(realize.StateSpace([[0.5]], [[1.0]], [[1.0]]), y, y)


def test_autocorrelation_against_statsmodels(rng):
    from statsmodels.tsa.stattools import acf

    e = np.cumsum(rng.standard_normal((500, 2)), axis=0) * 0.1 + rng.standard_normal((500, 2))
    r = autocorrelation(e, max_lag=25)
    for i in range(2):
        np.testing.assert_allclose(r[:, i], acf(e[:, i], nlags=25, fft=False), atol=1e-12)


def test_whiteness_band_and_counts(rng):
    from scipy.stats import norm

    e = rng.standard_normal((4000, 1))
    w = whiteness(e, max_lag=30, confidence=0.95)
    assert w["band"] == pytest.approx(norm.ppf(0.975) / np.sqrt(4000))
    assert w["outside"][0] <= 6
    assert w["white"].tolist() == [True]
    ar = np.empty(4000)
    ar[0] = 0
    for t in range(1, 4000):
        ar[t] = 0.7 * ar[t - 1] + e[t, 0]
    assert whiteness(ar, 30)["outside"][0] >= 5
    assert whiteness(np.column_stack([e[:, 0], ar]), 30)["white"].tolist() == [True, False]
    with pytest.raises(InvalidValueError):
        whiteness(e, confidence=1.5)
    with pytest.raises(DataError):
        autocorrelation(e[:5], max_lag=10)


def test_input_checks():
    sys = realize.StateSpace([[0.5]], [[1.0]], [[1.0]])
    with pytest.raises(DataError, match="input"):
        estimate_initial_state(sys, np.zeros(10))
    with pytest.raises(realize.errors.ShapeError, match="u: expected as many samples as y"):
        estimate_initial_state(sys, np.zeros(10), np.zeros(9))
    with pytest.raises(DataError, match="window"):
        simulate_from_window(sys, np.zeros(10), np.zeros(10), window=11)
