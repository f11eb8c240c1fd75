"""Exact diffuse initialization: against statsmodels' exact diffuse filter and smoother
(itself checked against KFAS and Koopman 1997), the NumPy reference, and the
approximate diffuse start as kappa grows."""

import warnings

import numpy as np
import pytest

import realize
from realize.errors import DataError, IllConditionedWarning, InvalidValueError
from realize.filtering._model import prepare
from realize.filtering.filter import run_filter
from realize.filtering.reference import reference_filter, reference_run, reference_smoother
from realize.filtering.smoother import smooth_groups

sm_tests = pytest.importorskip("statsmodels.tsa.statespace.tests.test_exact_diffuse_filtering")

RTOL = 1e-9


def nile():
    from statsmodels import datasets

    return datasets.nile.load_pandas().data["volume"].to_numpy(float).copy()


NILE = realize.StateSpace([[1.0]], C=[[1.0]], Q=[[1469.1]], R=[[15099.0]])


def from_statsmodels(ssm):
    """Our model and data (T, p) from a statsmodels time-invariant representation."""
    Rs = ssm["selection"]
    model = dict(
        A=ssm["transition"],
        C=ssm["design"],
        Q=Rs @ ssm["state_cov"] @ Rs.T,
        R=ssm["obs_cov"],
    )
    return model, np.asarray(ssm.endog, dtype=float).T.copy()


def close(a, b, rtol=RTOL, atol=1e-9):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


def check_against(res_sm, model, y, P0, Pinf, d_expected=None):
    """Our exact diffuse filter and smoother, every method, against statsmodels' results."""
    T = y.shape[0]
    for method in ("conventional", "univariate", "square_root"):
        if method == "univariate" and np.any(model["R"] - np.diag(np.diag(model["R"]))):
            continue
        kw = dict(P0=P0, P0_diffuse=Pinf, init="diffuse", method=method)
        ll = realize.loglik(model, y, **kw)
        sm = realize.kalman_smoother(model, y, **kw)
        f = sm.filter
        close(ll, res_sm.llf)
        close(f.loglik, res_sm.llf)
        close(f.predicted_state, res_sm.predicted_state[:, :T].T, atol=1e-8)
        close(f.predicted_cov, res_sm.predicted_state_cov[:, :, :T].transpose(2, 0, 1), atol=1e-8)
        close(f.filtered_state, res_sm.filtered_state.T, atol=1e-8)
        close(sm.smoothed_state, res_sm.smoothed_state.T, atol=1e-8)
        close(sm.smoothed_cov, res_sm.smoothed_state_cov.transpose(2, 0, 1), atol=1e-8)
        d = res_sm.nobs_diffuse
        assert f.n_diffuse == d
        close(
            f.predicted_diffuse_cov, res_sm.predicted_diffuse_state_cov[:, :, :d].transpose(2, 0, 1)
        )
        if d_expected is not None:
            assert d == d_expected
    # the NumPy reference
    prep = prepare(model, y, P0=P0, P0_diffuse=Pinf, init="diffuse")
    [(_, out)] = reference_filter(prep)
    close(out.loglik[0], res_sm.llf)
    xs, Ps, _ = reference_smoother(prep, out)
    close(xs, res_sm.smoothed_state.T, atol=1e-8)
    close(Ps, res_sm.smoothed_state_cov.transpose(2, 0, 1), atol=1e-8)


def test_nile_numbers_and_their_recipes():
    from statsmodels.tsa.statespace.structural import UnobservedComponents

    y = nile()
    exact = realize.loglik(NILE, y, init="diffuse")
    assert exact == pytest.approx(-633.46, abs=5e-3)
    assert realize.loglik(NILE, y) == exact  # auto: a unit root is exactly diffuse
    uc = UnobservedComponents(y, "llevel").loglike([15099.0, 1469.1])
    recipe = realize.kalman_filter(NILE, y, P0=1e6 * np.eye(1)).loglik_obs[1:].sum()
    assert recipe == pytest.approx(uc, rel=RTOL) and uc == pytest.approx(-632.54, abs=5e-3)
    assert realize.loglik(NILE, y, P0=1e6 * np.eye(1)) == pytest.approx(-640.99, abs=5e-3)


@pytest.mark.parametrize("missing", [False, True])
def test_local_level_and_trend_match_statsmodels(missing):
    y = nile()
    if missing:
        y[[0, 2, 30, 31, 70]] = np.nan
    _, ssm = sm_tests.model_local_level(endog=y, params=[15099.0, 1469.1], direct=True)
    model, yy = from_statsmodels(ssm)
    check_against(ssm.smooth(), model, yy, np.zeros((1, 1)), np.eye(1))
    _, ssm = sm_tests.model_local_linear_trend(endog=y, params=[15099.0, 1469.1, 30.0], direct=True)
    model, yy = from_statsmodels(ssm)
    check_against(ssm.smooth(), model, yy, np.zeros((2, 2)), np.eye(2), 4 if missing else 2)


def test_clark_uc_auto_start_matches_statsmodels_mixed_initialization():
    """Clark (1987): trend with drift (unit roots, diffuse) plus a stationary AR(2) cycle;
    init='auto' splits the state exactly as statsmodels' block initialization."""
    from statsmodels.tsa.statespace.initialization import Initialization
    from statsmodels.tsa.statespace.kalman_smoother import KalmanSmoother

    rng = np.random.default_rng(1987)
    T = 120
    phi1, phi2 = 1.5, -0.6
    A = np.zeros((4, 4))
    A[0, :2] = 1.0
    A[1, 1] = 1.0
    A[2, 2:] = phi1, phi2
    A[3, 2] = 1.0
    Q = np.diag([0.5, 0.01, 0.8, 0.0])
    model = dict(A=A, C=[[1.0, 0.0, 1.0, 0.0]], Q=Q, R=[[0.2]])
    y = np.cumsum(rng.standard_normal(T)) + 0.1 * np.arange(T)
    y[[5, 6, 40]] = np.nan
    ks = KalmanSmoother(k_endog=1, k_states=4, k_posdef=4)
    ks.bind(y[None].copy())
    ks["design"], ks["obs_cov"], ks["transition"] = model["C"], model["R"], A
    ks["selection"], ks["state_cov"] = np.eye(4), Q
    init = Initialization(4)
    init.set((0, 2), "diffuse")
    init.set((2, 4), "stationary")
    ks.initialize(init)
    res = ks.smooth()
    prep = prepare(model, y)  # init='auto'
    assert prep.Pinf is not None
    close(prep.P0, res.initial_state_cov, atol=1e-12)
    close(prep.Pinf, res.initial_diffuse_state_cov, atol=1e-12)
    check_against(res, model, y, prep.P0, prep.Pinf)
    close(realize.loglik(model, y), res.llf)


@pytest.mark.parametrize(
    "case",
    ["var1", "var1_measurement_error", "var1_missing", "var1_mixed", "dfm"],
)
def test_multivariate_kfas_cases_match_statsmodels(case):
    """The multivariate cases of statsmodels' exact diffuse tests (checked there
    against KFAS): VAR(1) without measurement noise, with it, with missing rows and
    single channels, with a mixed diffuse / stationary start; a dynamic factor model."""
    ssm = _kfas_case(case)
    res = ssm.smooth()
    model, y = from_statsmodels(ssm)
    check_against(res, model, y, res.initial_state_cov, res.initial_diffuse_state_cov)


def _kfas_case(case):
    if case == "dfm":
        return sm_tests.model_dfm()[1]
    if case == "var1_missing":
        endog = sm_tests.model_var1()[0].data.orig_endog.copy()
        endog.iloc[0:5, 0] = np.nan
        endog.iloc[8:12, :] = np.nan
        return sm_tests.model_var1(endog=endog)[1]
    if case == "var1_mixed":
        from statsmodels.tsa.statespace.initialization import Initialization

        init = Initialization(2)
        init.set(0, "diffuse")
        init.set(1, "stationary")
        return sm_tests.model_var1(init=init)[1]
    return sm_tests.model_var1(measurement_error=case.endswith("error"))[1]


@pytest.mark.parametrize(
    "case", ["var1", "var1_measurement_error", "var1_missing", "var1_mixed", "dfm"]
)
def test_kfas_reference_results(case):
    """KFAS 1.3.1's results shipped with statsmodels (full precision): the log-likelihood
    (KFAS leaves out the log 2 pi of the channels with F_inf > 0), the smoothed states
    and covariances, the predicted states after the diffuse period; compiled and NumPy
    reference. KFAS' smoothed states inside the diffuse period of the mixed start and
    the factor model are known to be off (statsmodels' tests skip them too)."""
    from pathlib import Path

    import statsmodels.tsa.statespace.tests as t
    from statsmodels.tsa.statespace.tests import kfas_helpers

    ssm = _kfas_case(case)
    path = Path(t.__file__).parent / "results" / f"results_exact_initial_{case}_R.csv"
    kfas = kfas_helpers.parse(path, ssm)
    res = ssm.smooth()
    d = res.nobs_diffuse
    Finf = kfas.forecasts_error_diffuse_cov.T
    observed = ~np.isnan(ssm.endog).T
    n_inf = ((np.array([np.diag(F) for F in Finf]) > 0) & observed)[:d].sum()
    ll_kfas = kfas.llf_obs - 0.5 * n_inf * np.log(2 * np.pi)
    model, y = from_statsmodels(ssm)
    kw = dict(P0=res.initial_state_cov, P0_diffuse=res.initial_diffuse_state_cov)
    sm = realize.kalman_smoother(model, y, init="diffuse", **kw)
    prep = prepare(model, y, init="diffuse", **kw)
    [(_, out)] = reference_filter(prep)
    xs_ref, Ps_ref, _ = reference_smoother(prep, out)
    first = d if case in ("var1_mixed", "dfm") else 0
    for ll, xs, Ps in (
        (sm.loglik, sm.smoothed_state, sm.smoothed_cov),
        (out.loglik[0], xs_ref, Ps_ref),
    ):
        close(ll, ll_kfas)
        close(xs[first:], kfas.smoothed_state.T[first:])
        close(Ps, kfas.smoothed_state_cov.transpose(2, 0, 1))
    close(sm.filter.predicted_state[d:], kfas.predicted_state[:, d:-1].T)


@pytest.mark.parametrize("seed", range(4))
def test_compiled_equals_reference_with_mixed_start_missing_data_and_correlated_noise(seed):
    rng = np.random.default_rng(seed)
    n, p, T = 4, 3, 40
    A = rng.standard_normal((n, n)) * 0.4
    A[0, :] = 0.0
    A[0, 0] = 1.0  # a random walk
    C = rng.standard_normal((p, n))
    G = rng.standard_normal((n + p, n + p))
    J = G @ G.T / (n + p)
    corr = seed % 2 == 1
    model = dict(A=A, C=C, Q=J[:n, :n], R=J[n:, n:], S=J[:n, n:] if corr else np.zeros((n, p)))
    y = rng.standard_normal((T, p))
    y[rng.random((T, p)) < 0.2] = np.nan
    y[0] = np.nan
    y[1, 1:] = np.nan
    Pinf = np.diag([1.0, 1.0, 0.0, 0.0])  # two diffuse, one stationary-ish, one known
    P0 = np.diag([0.0, 0.0, 2.0, 0.0])
    x0 = rng.standard_normal(n)
    prep = prepare(model, y, x0=x0, P0=P0, P0_diffuse=Pinf, init="diffuse")
    [(_, ref)] = reference_filter(prep)
    xs, Ps, lag1 = reference_smoother(prep, ref)
    for method in ("conventional", "square_root"):
        groups = run_filter(prep, method, store=True, tol=None)
        out = groups[0].out
        assert out.n_diffuse == ref.n_diffuse > 1
        close(out.loglik, ref.loglik, rtol=1e-10)
        close(out.xp, ref.xp, atol=1e-9)
        close(out.Pp, ref.Pp, atol=1e-9)
        close(out.K, ref.K, atol=1e-9)
        sm = smooth_groups(prep, groups, None, method)
        close(sm["xs"][0], xs, atol=1e-9)
        close(sm["Ps"][0], Ps, atol=1e-9)
        close(sm["Pc"][0], lag1, atol=1e-9)


def test_univariate_method_equals_reference_and_shares_series(rng):
    n, p, T = 3, 2, 30
    A = np.diag([1.0, 0.5, -0.3])
    model = dict(A=A, C=rng.standard_normal((p, n)), Q=np.eye(n), R=np.diag([0.5, 1.5]))
    y = rng.standard_normal((2, T, p))
    y[:, 3, 0] = np.nan
    ll = realize.loglik(model, y, method="univariate")
    prep = prepare(model, y)
    ref = [g.out.loglik[0] for g in reference_filter(prep)]
    close(ll, ref, rtol=1e-11)
    close(realize.loglik(model, y, method="conventional"), ref, rtol=1e-11)


def test_diffuse_lag_one_covariance_is_the_limit_of_the_approximate_start(rng):
    """cov(x_{t+1}, x_t | y) in the diffuse period: the kappa -> infinity limit."""
    model = dict(A=[[1.0, 1.0], [0.0, 1.0]], C=[[1.0, 0.0]], Q=np.diag([0.5, 0.1]), R=[[1.0]])
    y = np.cumsum(rng.standard_normal(12))
    y[1] = np.nan
    sm = realize.kalman_smoother(model, y, init="diffuse", steady_state=False)
    assert sm.filter.n_diffuse == 3
    approx = [
        realize.kalman_smoother(model, y, P0=k * np.eye(2), steady_state=False) for k in (1e3, 1e4)
    ]
    err = [np.max(np.abs(a.smoothed_lag1_cov - sm.smoothed_lag1_cov)) for a in approx]
    assert err[1] < 1e-3 and err[1] < 0.2 * err[0]  # converging, at the rate 1/kappa
    close(approx[1].smoothed_state, sm.smoothed_state, rtol=1e-4, atol=1e-4)


def test_reference_smoother_holds_for_a_companion_ar2_without_measurement_noise(rng):
    """P[t+1] is singular (rank one) at every step: the reference needs no inverse of it."""
    model = realize.StateSpace(
        [[0.5, 0.3], [1.0, 0.0]], C=[[1.0, 0.0]], Q=[[1.0, 0.0], [0.0, 0.0]], R=[[0.0]]
    )
    y = model.simulate(T=40, rng=rng)
    y[[5, 6]] = np.nan
    prep = prepare(model, y)
    [(_, out)] = reference_filter(prep)
    xs, Ps, lag1 = reference_smoother(prep, out)
    sm = realize.kalman_smoother(model, y, steady_state=False)
    close(xs, sm.smoothed_state)
    close(Ps, sm.smoothed_cov)
    close(lag1, sm.smoothed_lag1_cov)
    # observed samples are known exactly: x_t[0] = y_t
    obs = ~np.isnan(y[:, 0])
    close(xs[obs, 0], y[obs, 0])


@pytest.mark.parametrize("method", ["conventional", "univariate", "square_root"])
def test_loglik_and_filter_agree_on_an_unseen_explosive_mode(method):
    model = realize.StateSpace(np.diag([0.5, 1.5]), C=[[1.0, 0.0]], Q=np.eye(2), R=[[1.0]])
    rng = np.random.default_rng(0)
    short, long_ = rng.standard_normal(50), rng.standard_normal(1000)
    kw = dict(P0=np.eye(2), method=method)
    assert realize.loglik(model, short, **kw) == pytest.approx(
        realize.kalman_filter(model, short, **kw).loglik, rel=1e-12
    )
    errors = []
    for f in (realize.loglik, realize.kalman_filter):
        with pytest.raises(InvalidValueError, match="overflowed") as e:
            f(model, long_, **kw)
        errors.append(str(e.value))
    assert errors[0] == errors[1]
    # the default start makes the unseen unit-root part diffuse: never identified
    for f in (realize.loglik, realize.kalman_filter):
        with pytest.raises(DataError, match="never identify"):
            f(model, short, method=method)


def test_bad_inputs():
    y = nile()
    model = dict(A=np.eye(2), C=[[1.0, 0.0]], Q=np.eye(2), R=[[1.0]])
    with pytest.raises(DataError, match="init: the data never identify"):
        realize.loglik(model, y[:20], init="diffuse")
    with pytest.raises(DataError, match="never identify"):
        reference_filter(prepare(model, y[:20], init="diffuse"))
    with pytest.raises(InvalidValueError, match="P0_diffuse"):
        realize.loglik(NILE, y, init="stationary", P0_diffuse=np.eye(1))
    with pytest.raises(realize.errors.ShapeError, match="P0_diffuse"):
        realize.loglik(NILE, y, init="diffuse", P0_diffuse=np.eye(2))
    with pytest.raises(realize.errors.NotPositiveSemidefiniteError, match="P0_diffuse"):
        realize.loglik(NILE, y, init="diffuse", P0_diffuse=-np.eye(1))
    # one observation only partly identifies a local linear trend
    trend = dict(A=[[1.0, 1.0], [0.0, 1.0]], C=[[1.0, 0.0]], Q=np.eye(2), R=[[1.0]])
    with pytest.raises(DataError):
        realize.kalman_filter(trend, y[:1], init="diffuse")


def test_approximate_diffuse_scales_with_the_data_and_warns(rng):
    y = nile()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reliable here: no warning
        res = realize.kalman_filter(NILE, y, init="approximate_diffuse")
    kappa = res.predicted_cov[0, 0, 0]
    assert kappa == pytest.approx(1e6 * np.mean(y**2))
    assert (
        abs(
            res.loglik_obs[1:].sum()
            - realize.kalman_filter(NILE, y, init="diffuse").loglik_obs[1:].sum()
        )
        < 1e-3
    )
    small = realize.StateSpace([[1.0]], C=[[1.0]], Q=[[1.0]], R=[[1e-6]])
    with pytest.warns(IllConditionedWarning, match="10 of the 16 digits"):
        realize.loglik(small, rng.standard_normal(20), init="approximate_diffuse")
    big_noise = realize.StateSpace([[1.0]], C=[[1.0]], Q=[[1e3]], R=[[1.0]])
    with pytest.warns(IllConditionedWarning, match="not diffuse"):
        realize.loglik(big_noise, 1e-3 * rng.standard_normal(20), init="approximate_diffuse")


def test_reference_run_hands_the_diffuse_part_to_every_method(rng):
    """The univariate and square-root references start from P_* after the diffuse period
    and agree with the conventional one."""
    from functools import partial

    from realize._linalg import psd_factor
    from realize.filtering.square_root import square_root_step
    from realize.filtering.univariate import univariate_step

    model = dict(
        A=[[1.0, 1.0], [0.0, 1.0]], C=[[1.0, 0.0], [0.0, 1.0]], Q=np.eye(2), R=np.diag([1.0, 2.0])
    )
    y = rng.standard_normal((25, 2))
    y[0, 1] = np.nan
    prep = prepare(model, y, init="diffuse")
    [(_, conv)] = reference_filter(prep)
    [(_, uni)] = reference_run(prep, univariate_step)
    [(_, sqr)] = reference_run(
        prep,
        partial(square_root_step, factors={}),
        start=partial(psd_factor, cholesky=True),
        finish=lambda L: L @ L.T,
    )
    for out in (uni, sqr):
        close(out.loglik, conv.loglik, rtol=1e-12)
        close(out.xp, conv.xp)


@pytest.mark.parametrize("shared_pattern", [True, False])
def test_loglik_kernel_after_the_diffuse_period_equals_the_filter(rng, shared_pattern):
    """The likelihood alone runs the diffuse steps, then the modal-basis kernel from
    x[d], P_*[d]; inputs, N series, missing entries."""
    from realize.filtering.conventional import _diffuse_then_modal

    n, p, m, N, T = 3, 2, 1, 3, 60
    A = np.diag([1.0, 0.6, -0.4]) + 0.1 * np.triu(rng.standard_normal((n, n)), 1)
    model = dict(
        A=A,
        B=rng.standard_normal((n, m)),
        C=rng.standard_normal((p, n)),
        D=rng.standard_normal((p, m)),
        Q=np.eye(n),
        R=0.5 * np.eye(p),
    )
    y = rng.standard_normal((N, T, p))
    u = rng.standard_normal((N, T, m))
    y[:, 0, :] = np.nan
    y[:, 7, 1] = np.nan
    if not shared_pattern:
        y[1, 3, 0] = np.nan
    ll = realize.loglik(model, y, u, init="diffuse")
    close(ll, realize.kalman_filter(model, y, u, init="diffuse").loglik, rtol=1e-11)
    prep = prepare(model, y, u, init="diffuse")
    groups = _diffuse_then_modal(prep, realize.filtering._basis.modal_basis(A), None)
    assert all(1 < out.n_diffuse < T for _, out in groups)
    ref = [g.out.loglik[0] for g in reference_filter(prep)]
    close(np.concatenate([out.loglik for _, out in groups]), ref, rtol=1e-11)


def test_long_diffuse_period_and_series_with_their_own_missing_patterns():
    """A diffuse period longer than the room first made for P_inf (the run is redone),
    and N series whose missing patterns end their diffuse periods at different times."""
    y = nile()[:80]
    Y = np.stack([y, y, y])[..., None].copy()
    Y[0, :50] = np.nan
    Y[1, :3] = np.nan
    res = realize.kalman_filter(NILE, Y, init="diffuse")
    assert res.n_diffuse == 51
    assert res.predicted_diffuse_cov.shape == (3, 51, 1, 1)
    close(res.predicted_diffuse_cov[0, :, 0, 0], 1.0)
    close(res.predicted_diffuse_cov[1, :4, 0, 0], 1.0)
    assert not np.any(res.predicted_diffuse_cov[1, 4:]) and not np.any(
        res.predicted_diffuse_cov[2, 1:]
    )
    for i in range(3):
        one = realize.kalman_smoother(NILE, Y[i], init="diffuse")
        close(res.loglik[i], one.loglik)
        [(_, out)] = reference_filter(prepare(NILE, Y[i], init="diffuse"))
        close(out.loglik[0], one.loglik)
        close(reference_smoother(prepare(NILE, Y[i], init="diffuse"), out)[0], one.smoothed_state)
    close(realize.loglik(NILE, Y, init="diffuse"), res.loglik)


def test_em_under_an_exact_diffuse_start():
    """EM's likelihood is the diffuse one from the first iteration, and never decreases
    (the diffuse likelihood is the limit of likelihoods shifted by a constant); x0 and
    P0 are not estimable there."""
    y = nile()
    y[[10, 11]] = np.nan
    res = realize.em(NILE, y, init="diffuse", n_iter=20, tol=0.0)
    assert res.loglik[0] == pytest.approx(realize.loglik(NILE, y, init="diffuse"), rel=1e-12)
    assert np.all(np.diff(res.loglik) >= -1e-9 * abs(res.loglik[0]))
    assert res.loglik[-1] > res.loglik[0]
    assert res.loglik[-1] == pytest.approx(realize.loglik(res.model, y, init="diffuse"), rel=1e-12)
    with pytest.raises(InvalidValueError, match="estimate: x0 and P0"):
        realize.em(NILE, y, init="diffuse", estimate=("A", "Q", "R", "P0"))


def test_singular_noncorrelated_channel_in_the_diffuse_period(rng):
    """R singular (an exactly measured channel) next to a channel correlated with the
    state noise: the zero pivot of R_W needs no decorrelation; compiled = reference."""
    model = dict(
        A=[[1.0, 0.2], [0.0, 0.5]],
        C=[[1.0, 0.0], [1.0, 1.0]],
        Q=np.eye(2),
        R=np.diag([1.0, 0.0]),
        S=[[0.5, 0.0], [0.0, 0.0]],
    )
    y = rng.standard_normal((30, 2))
    y[4, 0] = np.nan
    prep = prepare(model, y, init="diffuse")
    [(_, ref)] = reference_filter(prep)
    for method in ("conventional", "square_root"):
        [(_, out)] = run_filter(prep, method, store=True, tol=None)
        assert out.n_diffuse == ref.n_diffuse == 1
        close(out.loglik, ref.loglik, rtol=1e-11)
        close(out.xp, ref.xp)
        close(out.K, ref.K)
