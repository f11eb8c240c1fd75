"""Forecasts: statsmodels' get_forecast, the closed form and the joint-Gaussian oracle."""

import numpy as np
import pytest
from joint_gaussian import joint_posterior
from test_filtering import _close, random_problem

import realize
from realize.errors import InvalidValueError, ShapeError
from realize.testing import random_statespace

mlemodel = pytest.importorskip("statsmodels.tsa.statespace.mlemodel")


def random_model(rng, n=3, m=0, p=2):
    return random_statespace(rng, n, m, p, noise=True, radius=0.9)


@pytest.mark.parametrize("seed", range(3))
def test_forecast_matches_statsmodels_get_forecast(seed):
    rng = np.random.default_rng(seed)
    sys = random_model(rng)
    sys = realize.StateSpace(sys.A, C=sys.C, Q=sys.Q, R=sys.R)  # statsmodels has no S
    y = sys.simulate(T=60, rng=rng)
    y[rng.uniform(size=y.shape) < 0.1] = np.nan
    y[-1, 0] = np.nan  # missing at the end: the filter carries it into the forecast
    h = 6
    fc = realize.forecast(sys, y, steps=h)
    assert fc.output_cov.flags.writeable and fc.state_cov.flags.writeable
    mod = mlemodel.MLEModel(y, k_states=sys.n, k_posdef=sys.n)
    mod["design"], mod["obs_cov"] = sys.C, sys.R
    mod["transition"], mod["selection"], mod["state_cov"] = sys.A, np.eye(sys.n), sys.Q
    mod.initialize_known(np.zeros(sys.n), realize.dlyap(sys.A, sys.Q))
    ref = mod.filter([]).get_forecast(h)
    _close(fc.output, ref.predicted_mean)
    _close(fc.output_cov, ref.var_pred_mean)
    _close(fc.state, ref.prediction_results.predicted_state[:, :h].T)
    _close(fc.state_cov, np.moveaxis(ref.prediction_results.predicted_state_cov[..., :h], -1, 0))
    for level in (0.9, 0.5):
        lower, upper = fc.interval(level)
        ci = ref.conf_int(alpha=1 - level)
        _close(lower, ci[:, :2])
        _close(upper, ci[:, 2:])


def test_forecast_equals_the_closed_form_with_inputs():
    """a_k = A^k a_0 + sum_j A^(k-1-j) B u_j, P_k = A^k P_0 A^k' + sum_{j<k} A^j Q A^j'."""
    rng = np.random.default_rng(5)
    sys = random_model(rng, n=3, m=2, p=2)
    T, h = 40, 5
    u = rng.standard_normal((T, 2))
    y = sys.simulate(u, rng=rng)
    uf = rng.standard_normal((h, 2))
    fc = realize.forecast(sys, y, u, steps=h, u_future=uf)
    filt = realize.kalman_filter(sys, y, u)
    A, B, C, D, Q, R = sys.A, sys.B, sys.C, sys.D, sys.Q, sys.R
    for k in range(h):
        Ak = np.linalg.matrix_power(A, k)
        a = Ak @ filt.next_state + sum(
            np.linalg.matrix_power(A, k - 1 - j) @ B @ uf[j] for j in range(k)
        )
        P = Ak @ filt.next_cov @ Ak.T + sum(
            np.linalg.matrix_power(A, j) @ Q @ np.linalg.matrix_power(A, j).T for j in range(k)
        )
        _close(fc.state[k], a)
        _close(fc.state_cov[k], P)
        _close(fc.output[k], C @ a + D @ uf[k])
        _close(fc.output_cov[k], C @ P @ C.T + R)


@pytest.mark.parametrize("seed", range(3))
def test_forecast_equals_the_joint_gaussian_posterior(seed):
    """Correlated noise S, inputs and missing channels: the future outputs and states
    conditioned on the observed data, by brute force."""
    rng = np.random.default_rng(20 + seed)
    model, u, y = random_problem(rng, 3, 1, 2, 25, correlated=True)
    h = 4
    uf = rng.standard_normal((h, 1))
    fc = realize.forecast(model, y, u, steps=h, u_future=uf)
    ref = joint_posterior(model, y, u, steps=h, u_future=uf)
    T = y.shape[0]
    _close(fc.state, ref["x"][T:])
    _close(fc.state_cov, ref["Px"][T:])
    _close(fc.output, ref["y"][T:])
    _close(fc.output_cov, ref["Py"][T:])


def test_forecast_from_a_filter_result_and_batched():
    rng = np.random.default_rng(7)
    sys = random_model(rng, n=2, m=1, p=2)
    T, h = 30, 3
    u = rng.standard_normal((3, T, 1))
    y = np.stack([sys.simulate(u[i], rng=rng) for i in range(3)])
    y[1, -1, 0] = np.nan  # a different missing pattern: its own covariances
    uf = rng.standard_normal((3, h, 1))
    fc = realize.forecast(sys, y, u, steps=h, u_future=uf)
    again = realize.forecast(sys, realize.kalman_filter(sys, y, u), steps=h, u_future=uf)
    assert fc.output.shape == (3, h, 2) and fc.state_cov.shape == (3, h, 2, 2)
    for i in range(3):
        one = realize.forecast(sys, y[i], u[i], steps=h, u_future=uf[i])
        for name in ("output", "output_cov", "state", "state_cov"):
            _close(getattr(fc, name)[i], getattr(one, name), rtol=1e-12)
            _close(getattr(again, name)[i], getattr(one, name), rtol=1e-12)
    assert not np.allclose(fc.output_cov[0], fc.output_cov[1])
    # one missing pattern (shared covariances) and one u_future for every series
    shared = realize.forecast(sys, y[[0, 2]], u[[0, 2]], steps=h, u_future=uf[0])
    assert shared.output_cov.strides[0] == 0
    one = realize.forecast(sys, y[2], u[2], steps=h, u_future=uf[0])
    _close(shared.output[1], one.output, rtol=1e-12)
    _close(shared.output_cov[1], one.output_cov, rtol=1e-12)


def test_forecast_bad_input_raises_named_errors():
    sys = realize.StateSpace([[0.5]], B=[[1.0]], C=[[1.0]], Q=[[1.0]], R=[[1.0]])
    y, u = np.zeros(10), np.zeros(10)
    for steps in (0, -2, 1.5, "3"):
        with pytest.raises(InvalidValueError, match="steps: expected an integer"):
            realize.forecast(sys, y, u, steps=steps, u_future=np.zeros(1))
    with pytest.raises(ShapeError, match=r"u_future: expected a \(3, 1\) array.*got None"):
        realize.forecast(sys, y, u, steps=3)
    with pytest.raises(ShapeError, match=r"u_future: expected a \(3, 1\) array.*got shape \(2,"):
        realize.forecast(sys, y, u, steps=3, u_future=np.zeros((2, 1)))
    noin = realize.StateSpace([[0.5]], C=[[1.0]], Q=[[1.0]], R=[[1.0]])
    with pytest.raises(ShapeError, match="u_future: the model has no inputs"):
        realize.forecast(noin, y, steps=2, u_future=np.zeros((2, 1)))
    tv = dict(A=np.full((10, 1, 1), 0.5), C=[[1.0]], Q=[[1.0]], R=[[1.0]])
    with pytest.raises(InvalidValueError, match="sys: forecasts need a time-invariant model"):
        realize.forecast(tv, y, steps=2)
    fc = realize.forecast(noin, y, steps=2)
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(InvalidValueError, match="level: expected"):
            fc.interval(level)
    other = realize.kalman_filter(
        realize.StateSpace(np.eye(2) * 0.5, C=np.eye(2), Q=np.eye(2), R=np.eye(2)), np.zeros((5, 2))
    )
    with pytest.raises(
        ShapeError,
        match="y: expected the FilterResult of a model with the sizes of sys, got one with n=2",
    ):
        realize.forecast(noin, other, steps=2)


def test_forecast_repr_is_compact():
    sys = realize.StateSpace([[0.5]], C=[[1.0]], Q=[[1.0]], R=[[1.0]])
    text = repr(realize.forecast(sys, np.zeros(10), steps=4))
    assert text.startswith("ForecastResult(output=<(4, 1) float64 array>") and "steps=4" in text
