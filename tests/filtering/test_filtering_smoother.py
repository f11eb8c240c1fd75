"""Fixed-interval smoother: against statsmodels, pykalman, the NumPy reference and the
classical RTS form."""

import numpy as np
import pytest
from test_filtering import _close, random_problem, reference_kalman_smoother
from test_filtering_oracles import statsmodels_smoother

import realize
from realize.testing import random_statespace


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("time_varying", [False, True])
def test_smoother_matches_statsmodels(seed, time_varying):
    rng = np.random.default_rng([7, seed, time_varying])
    # odd seeds: n >= 6, where the kernels' products go to dgemm instead of loops
    n = rng.integers(1, 5) if seed % 2 == 0 else rng.integers(6, 10)
    m, p = rng.integers(1, 3), rng.integers(1, 4)
    model, u, y = random_problem(rng, n, m, p, 70, time_varying=time_varying)
    res = realize.kalman_smoother(model, y, u)
    f = res.filter
    ref = statsmodels_smoother(model, y, u, x0=f.predicted_state[0], P0=f.predicted_cov[0])
    assert abs(res.loglik - ref["loglik"]) <= 1e-9 * abs(ref["loglik"])
    _close(res.smoothed_state, ref["smoothed_state"])
    _close(res.smoothed_cov, ref["smoothed_cov"])
    # statsmodels' smoothed_state_autocov[t] = cov(x[t+1], x[t] | y)
    _close(res.smoothed_lag1_cov, ref["autocov"][:-1])


def rts_smoother(prep, out):
    """The classical Rauch-Tung-Striebel smoother of one series (Shumway & Stoffer 2017,
    Property 6.2 and eq. 6.55 for the lag-one covariance), correlated noise removed by
    decorrelation (Anderson & Moore 1979, 5.5): a different algorithm from the
    Durbin-Koopman recursion of the kernels and the reference. It inverts P[t+1]."""
    T, n = prep.T, prep.n
    xf, Pf, xp, Pp = out.xf[0], out.Pf, out.xp[0], out.Pp
    xs, Ps, lag1 = xf.copy(), Pf.copy(), np.zeros((max(T - 1, 0), n, n))
    for t in range(T - 2, -1, -1):
        A, C, _, R, S = prep.at(t)
        W = ~np.isnan(prep.y[0, t])
        if W.any() and np.any(S[:, W]):
            A = A - np.linalg.solve(R[np.ix_(W, W)], S[:, W].T).T @ C[W]
        J = np.linalg.solve(Pp[t + 1], A @ Pf[t]).T
        xs[t] = xf[t] + J @ (xs[t + 1] - xp[t + 1])
        Ps[t] = Pf[t] + J @ (Ps[t + 1] - Pp[t + 1]) @ J.T
        lag1[t] = Ps[t + 1] @ J.T
    return xs, Ps, lag1


@pytest.mark.parametrize("seed", range(3))
def test_smoother_matches_rts_reference(seed):
    """The compiled Durbin-Koopman recursion and the NumPy reference against the
    classical RTS form (decorrelated for S != 0): different algorithms for the same
    quantities."""
    from realize.filtering._model import prepare
    from realize.filtering.reference import reference_filter

    rng = np.random.default_rng(200 + seed)
    model, u, y = random_problem(rng, 4, 1, 3, 90, time_varying=seed == 1, missing=0.2)
    fast = realize.kalman_smoother(model, y, u)
    ref = reference_kalman_smoother(model, y, u)
    prep = prepare(model, y, u)
    rts = rts_smoother(prep, reference_filter(prep)[0].out)
    for key, r, o in zip(("smoothed_state", "smoothed_cov", "smoothed_lag1_cov"), ref, rts):
        _close(getattr(fast, key), r, 1e-9)
        _close(getattr(fast, key), o, 1e-9)


def test_smoother_matches_pykalman(rng):
    pk = pytest.importorskip("pykalman")
    n, m, p, T = 3, 2, 2, 60
    sys = random_statespace(rng, n, m, p, noise=True).replace(S=np.zeros((n, p)))
    u = rng.standard_normal((T, m))
    y = sys.simulate(u, rng=rng)
    y[[5, 17, 40]] = np.nan  # pykalman masks whole observations
    A_t = sys.A + 0.05 * rng.standard_normal((T, n, n))
    x0, P0 = rng.standard_normal(n), np.eye(n)
    kf = pk.KalmanFilter(
        transition_matrices=A_t[:-1],
        observation_matrices=sys.C,
        transition_covariance=sys.Q,
        observation_covariance=sys.R,
        transition_offsets=(u @ sys.B.T)[:-1],
        observation_offsets=u @ sys.D.T,
        initial_state_mean=x0,
        initial_state_covariance=P0,
    )
    xs, Ps = kf.smooth(np.ma.masked_invalid(y))
    model = dict(A=A_t, B=sys.B, C=sys.C, D=sys.D, Q=sys.Q, R=sys.R)
    res = realize.kalman_smoother(model, y, u, x0=x0, P0=P0)
    _close(res.smoothed_state, xs)
    _close(res.smoothed_cov, Ps)
    ll = kf.loglikelihood(np.ma.masked_invalid(y))
    assert res.loglik == pytest.approx(ll, rel=1e-9)


def test_steady_state_smoother(rng):
    sys = random_statespace(rng, 4, 1, 2, noise=True)
    u = rng.standard_normal((500, 1))
    y = sys.simulate(u, rng=rng)
    y[300, 0] = np.nan
    fast = realize.kalman_smoother(sys, y, u)
    exact = realize.kalman_smoother(sys, y, u, steady_state=False)
    for key in ("smoothed_state", "smoothed_cov", "smoothed_lag1_cov"):
        _close(getattr(fast, key), getattr(exact, key), 1e-10)


def test_many_series_smoother(rng):
    sys = random_statespace(rng, 3, 0, 2, noise=True)
    y = np.stack([sys.simulate(T=50, rng=rng) for _ in range(4)])
    for yy in (y, np.where(rng.uniform(size=y.shape) < 0.1, np.nan, y)):
        res = realize.kalman_smoother(sys, yy)
        assert res.smoothed_cov.shape == (4, 50, 3, 3)
        for i in range(4):
            one = realize.kalman_smoother(sys, yy[i])
            _close(res.smoothed_state[i], one.smoothed_state, 1e-11)
            _close(res.smoothed_cov[i], one.smoothed_cov, 1e-11)
            _close(res.smoothed_lag1_cov[i], one.smoothed_lag1_cov, 1e-11)


def test_smoother_with_singular_predicted_covariance(rng):
    """Innovation form from a known state: P = 0 throughout (the RTS gain P_f A' P^-1 does
    not exist); the backward recursion still gives smoothed = predicted, covariance 0."""
    sys = random_statespace(rng, 3, 0, 2, innovation=True)
    y = sys.simulate(T=40, rng=rng)
    res = realize.kalman_smoother(sys, y, x0=np.zeros(3), P0=np.zeros((3, 3)))
    np.testing.assert_allclose(res.smoothed_state, res.filter.predicted_state, atol=1e-12)
    np.testing.assert_allclose(res.smoothed_cov, 0.0, atol=1e-12)


def test_smoothed_covariance_is_smaller(rng):
    sys = random_statespace(rng, 3, 0, 1, noise=True)
    y = sys.simulate(T=80, rng=rng)
    res = realize.kalman_smoother(sys, y)
    gap = res.filter.filtered_cov - res.smoothed_cov
    assert np.all(np.linalg.eigvalsh(gap) > -1e-10)


@pytest.mark.parametrize("seed", range(4))
def test_smoother_filter_result_equals_the_filter(seed):
    """The smoother's forward pass skips storing P[t|t] and forms it on access from
    P[t], C and F^-1: it must equal the filter's own, with missing entries, time-varying
    matrices (odd seeds) and several series with different missing patterns."""
    rng = np.random.default_rng([seed, 5])
    n, m, p = int(rng.integers(1, 8)), 1, int(rng.integers(1, 4))
    model, u, y = random_problem(rng, n, m, p, 60, time_varying=bool(seed % 2))
    sm = realize.kalman_smoother(model, y, u)
    f = realize.kalman_filter(model, y, u)
    assert callable(sm.filter._filtered_cov)  # not stored by the smoother's pass
    _close(sm.filter.filtered_cov, f.filtered_cov, 1e-10)
    assert sm.filter.filtered_cov is sm.filter.filtered_cov  # formed once
    Y = np.stack([y, y.copy()])
    Y[1, 3] = np.nan  # series 1 has its own pattern: one group per series
    U = np.stack([u, u])
    smN = realize.kalman_smoother(model, Y, U)
    for i in range(2):
        _close(
            smN.filter.filtered_cov[i], realize.kalman_filter(model, Y[i], u).filtered_cov, 1e-10
        )
