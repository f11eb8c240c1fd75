"""Disturbance and simulation smoothers under an exact diffuse start: statsmodels'
exact diffuse results (``initialize_diffuse()`` and mixed initializations), the
joint-Gaussian posterior as the diffuse variance grows, and Monte Carlo moments."""

from dataclasses import fields

import numpy as np
import pytest
from joint_gaussian import joint_posterior
from test_filtering import random_problem
from test_simulation_smoother import assert_draws_equal_statsmodels, assert_smoothed_moments

import realize
from realize.filtering._model import prepare
from realize.filtering.disturbance import DisturbanceSmootherResult
from realize.filtering.results import SmootherResult
from realize.filtering.simulation_smoother import draw_disturbances, mean_correction

sm_sim = pytest.importorskip("statsmodels.tsa.statespace.simulation_smoother")
from statsmodels.tsa.statespace.initialization import Initialization  # noqa: E402

RTOL = 1e-8
#: what the disturbance smoother adds to the smoother's result
DISTURBANCE_FIELDS = sorted(
    {f.name for f in fields(DisturbanceSmootherResult)} - {f.name for f in fields(SmootherResult)}
)


def close(a, b, rtol=RTOL):
    """Relative to the array's scale (disturbances cross zero)."""
    b = np.asarray(b)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, float(np.max(np.abs(b)))))


def nile():
    from statsmodels import datasets

    return datasets.nile.load_pandas().data["volume"].to_numpy(float).copy()


def local_level():
    y = nile()
    return dict(A=[[1.0]], C=[[1.0]], Q=[[1469.1]], R=[[15099.0]]), y, None, np.eye(1)


def local_linear_trend():
    """Nile with a slope, the first observation and a stretch missing (a longer
    diffuse period)."""
    y = nile()
    y[[0, 2, 30, 31, 32, 70]] = np.nan
    model = dict(
        A=[[1.0, 1.0], [0.0, 1.0]], C=[[1.0, 0.0]], Q=np.diag([900.0, 20.0]), R=[[12000.0]]
    )
    return model, y, None, np.eye(2)


def level_plus_ar1():
    """A diffuse level beside a stationary AR(1), two outputs, channels missing apart."""
    rng = np.random.default_rng(4)
    phi, q = 0.7, 2.0
    model = dict(
        A=np.diag([1.0, phi]),
        C=[[1.0, 1.0], [0.5, -1.0]],
        Q=np.diag([0.3, q]),
        R=np.array([[1.0, 0.2], [0.2, 0.5]]),
    )
    y = realize.StateSpace(**model).simulate(T=60, x0=[3.0, 0.0], rng=rng)
    y[[0, 5, 17], 0] = np.nan
    y[[1, 9], 1] = np.nan
    y[40] = np.nan
    P0 = np.diag([0.0, q / (1.0 - phi**2)])
    return model, y, P0, np.diag([1.0, 0.0])


CASES = {"local_level": local_level, "trend_missing": local_linear_trend, "mixed": level_plus_ar1}


def statsmodels_initialization(P0, Pinf):
    n = Pinf.shape[0]
    if P0 is None:
        return Initialization(n, "diffuse")
    init = Initialization(n)
    for i in range(n):
        if Pinf[i, i]:
            init.set(i, "diffuse")
        else:
            init.set(i, "known", constant=[0.0], stationary_cov=P0[i : i + 1, i : i + 1])
    return init


def statsmodels_model(model, y, P0, Pinf):
    """statsmodels' simulation smoother (a KalmanSmoother) on the same model and start."""
    n, p = np.shape(model["A"])[0], np.shape(model["C"])[0]
    ss = sm_sim.SimulationSmoother(p, n, k_posdef=n)
    ss.bind(np.asfortranarray(np.reshape(y, (-1, p)).T))
    ss["design"], ss["obs_cov"] = model["C"], model["R"]
    ss["transition"], ss["selection"], ss["state_cov"] = model["A"], np.eye(n), model["Q"]
    ss.initialization = statsmodels_initialization(P0, Pinf)
    return ss


def ours(P0, Pinf):
    """Our keywords for the same start (P0 None: every state diffuse)."""
    return dict(init="diffuse") if P0 is None else dict(P0=P0, P0_diffuse=Pinf, init="diffuse")


def full_rows(y):
    """Rows observed on every channel or on none: statsmodels keeps the unconditioned
    disturbance (0, R) on a missing channel of a partly observed row."""
    obs = ~np.isnan(np.reshape(y, (len(y), -1)))
    return obs.all(axis=1) | ~obs.any(axis=1)


# statsmodels warns that its measurement disturbance covariance describes the
# decorrelated channels whenever it diagonalizes R; here it is the one of v (it matches)
@pytest.mark.filterwarnings("ignore:The univariate filtering approach diagonalized")
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("method", ["conventional", "univariate", "square_root"])
def test_disturbances_match_statsmodels_exact_diffuse(case, method):
    model, y, P0, Pinf = CASES[case]()
    if method == "univariate" and np.any(np.asarray(model["R"]) - np.diag(np.diag(model["R"]))):
        pytest.skip("the univariate filter needs a diagonal R")
    sm = realize.kalman_smoother(model, y, disturbances=True, method=method, **ours(P0, Pinf))
    ref = statsmodels_model(model, y, P0, Pinf).smooth()
    d = sm.filter.n_diffuse
    assert d == ref.nobs_diffuse and d >= 1
    close(sm.smoothed_state, ref.smoothed_state.T)
    close(sm.smoothed_state_disturbance, ref.smoothed_state_disturbance.T)
    close(sm.smoothed_state_disturbance_cov, np.moveaxis(ref.smoothed_state_disturbance_cov, -1, 0))
    full = full_rows(y)
    close(sm.smoothed_observation_disturbance[full], ref.smoothed_measurement_disturbance.T[full])
    Pv = np.moveaxis(ref.smoothed_measurement_disturbance_cov, -1, 0)
    close(sm.smoothed_observation_disturbance_cov[full], Pv[full])
    # r and N are statsmodels' kappa^0 parts r^(0), N^(0) in the diffuse period
    close(sm.r, ref.scaled_smoothed_estimator.T)
    close(sm.N, np.moveaxis(ref.scaled_smoothed_estimator_cov, -1, 0))
    # the diffuse period is not trivially zero
    assert np.max(np.abs(sm.smoothed_state_disturbance[:d])) > 1e-3


def test_local_level_first_disturbances_by_hand():
    """Durbin & Koopman (2012, section 5.4) on the local level: K0 = 1 at t = 0, so
    E[v_0 | y] = -R r^(0)_0, var = R - R^2 N^(0)_0, E[w_0 | y] = Q r^(0)_0."""
    model, y, _, _ = local_level()
    sm = realize.kalman_smoother(model, y, init="diffuse", disturbances=True)
    R, Q = 15099.0, 1469.1
    r0, N0 = sm.r[0, 0], sm.N[0, 0, 0]
    close(sm.smoothed_observation_disturbance[0, 0], -R * r0)
    close(sm.smoothed_observation_disturbance_cov[0, 0, 0], R - R**2 * N0)
    close(sm.smoothed_state_disturbance[0, 0], Q * r0)
    close(sm.smoothed_state_disturbance_cov[0, 0, 0], Q - Q**2 * N0)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("time_varying", [False, True])
def test_correlated_noise_and_partly_missing_rows_are_the_limit_of_a_large_variance(
    seed, time_varying
):
    """With correlated noise S and partly observed rows in the diffuse period (where
    statsmodels has no counterpart): the joint-Gaussian posterior with P0 = P_* +
    kappa P_inf, extrapolated in 1/kappa, is the exact diffuse one."""
    rng = np.random.default_rng(20 + seed)
    model, u, y = random_problem(
        rng, 3, 1, 2, 20, correlated=True, missing=0.0, time_varying=time_varying
    )
    A = np.array(model["A"], dtype=float)
    A[..., :2, :] = np.eye(3)[:2]  # random walks in states 0 and 1, state 2 stationary
    model["A"] = A
    y[0, 1] = y[1, 0] = y[3, 1] = np.nan  # one channel in each diffuse step
    Pinf = np.diag([1.0, 1.0, 0.0])
    P0 = np.diag([0.0, 0.0, 0.5])
    sm = realize.kalman_smoother(
        model, y, u, P0=P0, P0_diffuse=Pinf, init="diffuse", disturbances=True
    )
    assert sm.filter.n_diffuse >= 2
    kappa = 1e5
    lo = joint_posterior(model, y, u, P0=P0 + kappa * Pinf)
    hi = joint_posterior(model, y, u, P0=P0 + 2 * kappa * Pinf)
    for ours_, key in (
        (sm.smoothed_state_disturbance, "w"),
        (sm.smoothed_state_disturbance_cov, "Pw"),
        (sm.smoothed_observation_disturbance, "v"),
        (sm.smoothed_observation_disturbance_cov, "Pv"),
        (sm.smoothed_state, "x"),
    ):
        limit = 2 * hi[key] - lo[key]  # Richardson: the 1/kappa term cancels
        close(ours_, limit, rtol=1e-6)
        # the finite kappa is off by O(1/kappa), the exact start by O(1/kappa^2) only
        assert np.max(np.abs(lo[key] - limit)) > 100 * np.max(np.abs(ours_ - limit))


@pytest.mark.parametrize("case", sorted(CASES))
def test_simulation_smoother_equals_statsmodels_given_the_same_variates(case):
    model, y, P0, Pinf = CASES[case]()
    prep = prepare(model, y, **ours(P0, Pinf))
    x0, w, v = draw_disturbances(prep, 3, np.random.default_rng(7))
    # the diffuse directions start at zero (only P_* is drawn)
    assert np.all(x0[..., np.diag(Pinf) > 0] == 0.0)
    mine = mean_correction(prep, x0, w, v)
    sim = statsmodels_model(model, y, P0, Pinf).simulation_smoother()
    assert_draws_equal_statsmodels(mine, sim, x0, w, v, full_rows(y), RTOL)


def test_diffuse_directions_of_the_draw_cancel():
    """Any start along the diffuse directions gives the same draws (DK 2012, 4.9.3)."""
    model, y, P0, Pinf = level_plus_ar1()
    prep = prepare(model, y, **ours(P0, Pinf))
    x0, w, v = draw_disturbances(prep, 2, np.random.default_rng(3))
    a = mean_correction(prep, x0, w, v)
    shifted = x0 + np.array([123.0, 0.0])
    b = mean_correction(prep, shifted, w, v)
    for k in a:
        close(b[k], a[k], rtol=1e-9)
    # while a shift along the stationary state does change them
    c = mean_correction(prep, x0 + np.array([0.0, 1.0]), w, v)
    assert not np.allclose(c["state"], a["state"])


@pytest.mark.parametrize("seed", range(2))
def test_draws_have_the_exact_diffuse_smoothed_moments(seed):
    """Correlated noise, inputs, missing channels, a mixed diffuse / stationary start:
    the draws' mean and covariance are the exact diffuse smoothed ones (5 Monte Carlo
    standard errors), disturbances included."""
    rng = np.random.default_rng(40 + seed)
    model, u, y = random_problem(rng, 2, 1, 2, 15, correlated=True)
    A = np.array(model["A"], dtype=float)
    A[0] = [1.0, 0.0]
    model["A"] = A
    y[0, 0] = np.nan
    draws = 4000
    kw = dict(init="auto")  # the unit root exactly diffuse, the rest stationary
    sim = realize.simulation_smoother(model, y, u, draws=draws, rng=seed, **kw)
    sm = realize.kalman_smoother(model, y, u, disturbances=True, **kw)
    assert sm.filter.n_diffuse >= 1
    assert_smoothed_moments(sim, sm, draws)


def test_series_with_their_own_missing_patterns_equal_one_at_a_time():
    """Batched series (each with its own diffuse period length) equal separate calls."""
    model, y, P0, Pinf = local_linear_trend()
    ys = np.stack([y, y[::-1].copy(), np.where(np.arange(len(y)) < 4, np.nan, y)])[..., None]
    kw = ours(P0, Pinf)
    both = realize.kalman_smoother(model, ys, disturbances=True, **kw)
    lengths = set()
    for i in range(3):
        one = realize.kalman_smoother(model, ys[i], disturbances=True, **kw)
        lengths.add(one.filter.n_diffuse)
        for k in DISTURBANCE_FIELDS:
            close(getattr(both, k)[i], getattr(one, k), rtol=1e-10)
    assert len(lengths) == 3
    prep = prepare(model, ys, **kw)
    x0, w, v = draw_disturbances(prep, 2, np.random.default_rng(0))
    batch = mean_correction(prep, x0, w, v)
    for i in range(3):
        sl = slice(i, i + 1)
        one = mean_correction(prepare(model, ys[i], **kw), x0[:, sl], w[:, sl], v[:, sl])
        for k in batch:
            close(batch[k][:, i], one[k][:, 0], rtol=1e-10)


@pytest.mark.filterwarnings("ignore:The univariate filtering approach diagonalized")
@pytest.mark.parametrize(
    "case", ["var1", "var1_measurement_error", "var1_missing", "var1_mixed", "dfm"]
)
def test_multivariate_kfas_cases_match_statsmodels(case):
    """statsmodels' multivariate exact diffuse cases (VAR(1) with and without
    measurement noise, missing rows and channels, a mixed start; a dynamic factor
    model): ``w = R_sel eta``, whose smoothed moments statsmodels reports for eta."""
    from test_diffuse import _kfas_case, from_statsmodels

    ssm = _kfas_case(case)
    res = ssm.smooth()
    model, y = from_statsmodels(ssm)
    kw = dict(P0=res.initial_state_cov, P0_diffuse=res.initial_diffuse_state_cov)
    sm = realize.kalman_smoother(model, y, init="diffuse", disturbances=True, **kw)
    assert sm.filter.n_diffuse == res.nobs_diffuse
    Rs = ssm["selection"]
    close(sm.smoothed_state_disturbance, res.smoothed_state_disturbance.T @ Rs.T)
    Pw = Rs @ np.moveaxis(res.smoothed_state_disturbance_cov, -1, 0) @ Rs.T
    close(sm.smoothed_state_disturbance_cov, Pw)
    full = full_rows(y)
    close(sm.smoothed_observation_disturbance[full], res.smoothed_measurement_disturbance.T[full])
    # statsmodels' univariate treatment (the diffuse period, the factor model) reports
    # only the variances of the channels; the whole covariance is checked against the
    # joint-Gaussian posterior as the diffuse variance grows
    Pv = np.moveaxis(res.smoothed_measurement_disturbance_cov, -1, 0)
    ours_Pv = sm.smoothed_observation_disturbance_cov
    close(np.diagonal(ours_Pv, 0, 1, 2)[full], np.diagonal(Pv, 0, 1, 2)[full])
    P0, Pinf = kw["P0"], kw["P0_diffuse"]
    lo = joint_posterior(model, y, P0=P0 + 1e5 * Pinf)["Pv"]
    hi = joint_posterior(model, y, P0=P0 + 2e5 * Pinf)["Pv"]
    close(ours_Pv, 2 * hi - lo, rtol=1e-5)


def test_public_simulation_smoother_takes_the_diffuse_start():
    model, y, P0, Pinf = level_plus_ar1()
    kw = ours(P0, Pinf)
    sim = realize.simulation_smoother(model, y, draws=2, rng=3, **kw)
    prep = prepare(model, y, **kw)
    ref = mean_correction(prep, *draw_disturbances(prep, 2, np.random.default_rng(3)))
    close(sim.state, ref["state"][:, 0], rtol=1e-12)
    close(sim.observation_disturbance, ref["v"][:, 0], rtol=1e-12)
    # without P0_diffuse the same P0 is a known start: other draws
    known = realize.simulation_smoother(model, y, draws=2, rng=3, P0=P0)
    assert not np.allclose(known.state, sim.state)


@pytest.mark.parametrize("rng_seed", range(2))
def test_diffuse_level_with_two_observations_by_hand(rng_seed):
    """A diffuse level seen twice: only ``y_1 - y_0 = w_0 + v_1 - v_0`` informs the
    disturbances (variance Q + 2R); one observation leaves them at their prior."""
    rng = np.random.default_rng(rng_seed)
    q, r = rng.uniform(0.5, 3.0, size=2)
    y = rng.standard_normal(2)
    model = dict(A=[[1.0]], C=[[1.0]], Q=[[q]], R=[[r]])
    sm = realize.kalman_smoother(model, y, init="diffuse", disturbances=True)
    assert sm.filter.n_diffuse == 1
    s, dy = q + 2 * r, y[1] - y[0]
    close(sm.smoothed_state_disturbance[0, 0], q * dy / s)
    close(sm.smoothed_state_disturbance_cov[0, 0, 0], q - q**2 / s)
    close(sm.smoothed_observation_disturbance[:, 0], [-r * dy / s, r * dy / s])
    close(sm.smoothed_observation_disturbance_cov[:, 0, 0], [r - r**2 / s] * 2)
    one = realize.kalman_smoother(model, y[:1], init="diffuse", disturbances=True)
    close(one.smoothed_observation_disturbance_cov[0, 0, 0], r)
    close(one.smoothed_observation_disturbance[0, 0], 0.0)
