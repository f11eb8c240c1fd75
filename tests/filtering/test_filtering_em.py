"""EM (Shumway & Stoffer): monotone likelihood, agreement with pykalman, recovery."""

import numpy as np
import pytest

import realize
from realize.errors import DataError, InvalidValueError
from realize.testing import random_statespace


def _no_decrease(ll):
    assert np.all(np.diff(ll) >= -1e-10 * np.abs(ll[:-1]))


@pytest.mark.parametrize(
    "estimate",
    [
        ("A", "B", "C", "D", "Q", "R"),
        ("A", "C", "Q", "R", "x0", "P0"),
        ("B", "D", "R"),
        ("C", "Q"),
    ],
)
def test_em_likelihood_never_decreases(rng, estimate):
    true = random_statespace(rng, 3, 2, 2, noise=True).replace(S=np.zeros((3, 2)))
    u = rng.standard_normal((150, 2))
    y = true.simulate(u, rng=rng)
    start = random_statespace(rng, 3, 2, 2, noise=True).replace(S=np.zeros((3, 2)))
    res = realize.em(start, y, u, estimate=estimate, n_iter=25, tol=0.0)
    _no_decrease(res.loglik)
    assert res.loglik[-1] > res.loglik[0]
    fixed = set("ABCDQR") - set(estimate)
    for name in fixed:
        np.testing.assert_array_equal(getattr(res.model, name), getattr(start, name))
    # the reported likelihood is the model's
    ll = realize.loglik(res.model, y, u, x0=res.x0, P0=res.P0)
    assert ll == pytest.approx(res.loglik[-1], rel=1e-10)


def test_em_matches_pykalman(rng):
    pk = pytest.importorskip("pykalman")
    start = random_statespace(rng, 2, 0, 3, noise=True).replace(S=np.zeros((2, 3)))
    y = random_statespace(rng, 2, 0, 3, noise=True).simulate(T=120, rng=rng)
    x0, P0 = rng.standard_normal(2), 2.0 * np.eye(2)
    names = [
        "transition_matrices",
        "observation_matrices",
        "transition_covariance",
        "observation_covariance",
        "initial_state_mean",
        "initial_state_covariance",
    ]
    kf = pk.KalmanFilter(
        transition_matrices=start.A,
        observation_matrices=start.C,
        transition_covariance=start.Q,
        observation_covariance=start.R,
        initial_state_mean=x0,
        initial_state_covariance=P0,
        em_vars=names,
    ).em(y, n_iter=6)
    res = realize.em(
        start, y, x0=x0, P0=P0, estimate=("A", "C", "Q", "R", "x0", "P0"), n_iter=6, tol=0.0
    )
    assert res.n_iter == 6
    for ours, theirs in [
        (res.model.A, kf.transition_matrices),
        (res.model.C, kf.observation_matrices),
        (res.model.Q, kf.transition_covariance),
        (res.model.R, kf.observation_covariance),
        (res.x0, kf.initial_state_mean),
        (res.P0, kf.initial_state_covariance),
    ]:
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-10)


def test_em_recovers_noise_variances(rng):
    """Known dynamics, unknown Q and R: EM on a long record gets close to the truth."""
    true = realize.StateSpace([[0.8]], C=[[1.0]], Q=[[1.0]], R=[[0.5]])
    y = np.stack([true.simulate(T=400, rng=rng) for _ in range(5)])
    start = true.replace(Q=[[0.2]], R=[[2.0]])
    res = realize.em(start, y, estimate=("Q", "R"), n_iter=200, tol=1e-10)
    _no_decrease(res.loglik)
    assert res.model.Q[0, 0] == pytest.approx(1.0, rel=0.15)
    assert res.model.R[0, 0] == pytest.approx(0.5, rel=0.2)


def test_em_bad_inputs(rng):
    sys = random_statespace(rng, 2, 0, 1, noise=True)
    y = sys.simulate(T=30, rng=rng)
    with pytest.raises(InvalidValueError, match="S"):
        realize.em(sys, y)
    sys0 = sys.replace(S=np.zeros((2, 1)))
    with pytest.raises(InvalidValueError, match="estimate"):
        realize.em(sys0, y, estimate=("A", "K"))
    with pytest.raises(DataError, match="2 samples"):
        realize.em(sys0, y[:1])


@pytest.mark.parametrize("estimate", [("A", "B", "C", "D", "Q", "R"), ("C", "R")])
def test_em_with_missing_entries(rng, estimate):
    """Missing entries (single channels and whole rows): the likelihood still never
    decreases, and with nothing to fill in the moments equal the complete-data ones."""
    true = random_statespace(rng, 2, 1, 3, noise=True).replace(S=np.zeros((2, 3)))
    u = rng.standard_normal((120, 1))
    y = true.simulate(u, rng=rng)
    y[rng.uniform(size=y.shape) < 0.15] = np.nan
    y[[10, 11]] = np.nan
    start = random_statespace(rng, 2, 1, 3, noise=True).replace(S=np.zeros((2, 3)))
    res = realize.em(start, y, u, estimate=estimate, n_iter=20, tol=0.0)
    _no_decrease(res.loglik)
    assert res.loglik[-1] > res.loglik[0]
    assert realize.loglik(res.model, y, u, x0=res.x0, P0=res.P0) == pytest.approx(
        res.loglik[-1], rel=1e-10
    )


@pytest.mark.parametrize("shared", [True, False])
def test_missing_output_moments_match_the_step_by_step_definition(rng, shared):
    """The vectorized E-step moments (grouped by missing pattern) equal the plain loop
    over time steps, with correlated R, inputs, several series and whole missing rows."""
    from realize.filtering.em import _output_moments, _output_moments_reference

    N, T, n, m, p = 3, 40, 3, 2, 4
    C, D = rng.standard_normal((p, n)), rng.standard_normal((p, m))
    G = rng.standard_normal((p, p))
    R = G @ G.T + 0.1 * np.eye(p)
    Y = rng.standard_normal((N, T, p))
    Y[rng.uniform(size=Y.shape) < 0.3] = np.nan
    Y[0, 5] = np.nan
    U = rng.standard_normal((N, T, m))
    xs = rng.standard_normal((N, T, n))
    H = rng.standard_normal((T, n, n))
    Ps = H @ H.transpose(0, 2, 1)
    Ps = np.broadcast_to(Ps, (N, T, n, n)) if shared else Ps + rng.uniform(size=(N, 1, 1, 1))
    fast = _output_moments(Y, U, xs, Ps, C, D, R)
    ref = _output_moments_reference(Y, U, xs, Ps, C, D, R)
    for a, b in zip(fast, ref):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11 * np.abs(b).max())
