"""Simulation: compiled kernel vs NumPy reference vs scipy.signal.dlsim vs python-control."""

import control
import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

from realize.simulation import simulate_reference, simulate_states
from realize.testing import random_statespace


def _rel(a, b):
    return np.max(np.abs(a - b)) / max(1e-300, np.max(np.abs(b)))


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 10),
    m=st.integers(1, 3),
    p=st.integers(1, 3),
    T=st.integers(2, 200),
)
def test_matches_dlsim_and_control(seed, n, m, p, T):
    rng = np.random.default_rng(seed)
    sys = random_statespace(rng, n, m, p, radius=0.99)
    u = rng.standard_normal((T, m))
    x0 = rng.standard_normal(n)
    y, x = sys.simulate(u, x0=x0, return_states=True)

    _, y_sp, x_sp = scipy.signal.dlsim(sys.to_dlti(), u, x0=x0)
    assert _rel(y, y_sp.reshape(T, p)) < 1e-12
    assert _rel(x, x_sp.reshape(T, n)) < 1e-12

    resp = control.forced_response(sys.to_control(), U=u.T, X0=x0)
    assert _rel(y, np.asarray(resp.outputs).reshape(p, T).T) < 1e-12


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 8),
    m=st.integers(0, 3),
    p=st.integers(1, 3),
    T=st.integers(0, 50),
)
def test_kernel_matches_reference(seed, n, m, p, T):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / max(1, n)
    B, C, D = (rng.standard_normal(s) for s in ((n, m), (p, n), (p, m)))
    u, w, v = (rng.standard_normal(s) for s in ((T, m), (T, n), (T, p)))
    x0 = rng.standard_normal(n)
    y1, X1 = simulate_states(A, B, C, D, u, w, v, x0)
    y2, X2 = simulate_reference(A, B, C, D, u, w, v, x0)
    np.testing.assert_allclose(y1, y2, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(X1, X2, rtol=1e-12, atol=1e-12)


def test_noise_statistics_match_model(rng):
    """With noise, the sample output covariance approaches C P C' + R (stationary start)."""
    sys = random_statespace(rng, 3, 1, 2, noise=True, radius=0.8)
    T = 200_000
    y = sys.simulate(np.zeros((T, 1)), rng=rng)
    P = sys.stationary_covariance()
    expected = sys.C @ P @ sys.C.T + sys.R
    sample = np.cov(y.T)
    # standard error of a covariance entry ~ sqrt((s_ii s_jj + s_ij^2) / T_eff); T_eff ~ T/20
    se = np.sqrt((np.outer(np.diag(expected), np.diag(expected)) + expected**2) / (T / 20))
    assert np.all(np.abs(sample - expected) < 5 * se)


def test_innovation_form_noise_is_same_process(rng):
    """Innovation-form simulation has the same output covariance as the noise model."""
    sys = random_statespace(rng, 2, 1, 1, noise=True, innovation=True, radius=0.7)
    inn = sys.replace(Q=None)
    assert inn.has_innovation_form and not inn.has_noise_model
    T = 200_000
    y1 = sys.simulate(np.zeros((T, 1)), rng=1)
    y2 = inn.simulate(np.zeros((T, 1)), rng=2)
    v1, v2 = np.var(y1), np.var(y2)
    assert abs(v1 - v2) / v1 < 0.05


def test_seeded_noise_is_reproducible(rng):
    sys = random_statespace(rng, 3, 2, 2, noise=True)
    u = rng.standard_normal((20, 2))
    np.testing.assert_array_equal(sys.simulate(u, rng=5), sys.simulate(u, rng=5))
    assert not np.array_equal(sys.simulate(u, rng=5), sys.simulate(u, rng=6))
    np.testing.assert_array_equal(sys.simulate(u, noise=False), sys.simulate(u, noise=False, rng=9))


def test_no_input_model_needs_T():
    from realize import StateSpace
    from realize.errors import InvalidValueError

    sys = StateSpace([[0.5]], C=[[1.0]], Q=[[1.0]], R=[[0.1]])
    assert sys.simulate(T=7, rng=0).shape == (7, 1)
    with pytest.raises(InvalidValueError, match="T"):
        sys.simulate()
