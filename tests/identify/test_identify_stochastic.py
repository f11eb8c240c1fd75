"""Output-only stochastic realization: covariance (Ho-Kalman + Faurre) and CCA."""

import numpy as np
import pytest
from identifiable import distance, modest_similarity, separated_real_poles, signed_uniform

import realize
from realize.errors import DataError, NonFiniteError, NotPositiveRealError, OrderError
from realize.identify.stochastic import faurre, spectral_minimum
from realize.model import StateSpace


def innovation_system(rng, n=2, p=2):
    """A stable innovation model that is identifiable by construction, in random coordinates.

    Real poles with 0.4 <= |z| <= 0.75, at least 0.3 apart, in coordinates of condition number
    below 10 (see ``identifiable``); in modal coordinates every entry of C of magnitude in
    [0.5, 1.5] and of K in [0.2, 0.6]; the zeros of the spectral factor (the eigenvalues of
    ``A - K C``) at least 0.15 from every pole, else the pole nearly cancels; the predictor
    radius below 0.7: a horizon i sees the state through a Kalman filter started i steps back,
    whose covariance (CCA's P_min) and backward twin (P_max) converge to the steady state like
    rho(A - K C)^(2 i) (Van Overschee and De Moor 1996, sec. 3.2), 0.7^12 = 0.014 at i = 6;
    the first canonical correlation of past and future at most 0.95: as it nears 1,
    P_max - P_min turns singular and the Riccati solutions and the CCA basis lose their
    conditioning (a draw at 0.99 missed the balanced P_max by 0.035 at T = 800000).
    """
    poles = separated_real_poles(rng, n, 0.4, 0.75)
    V, Vi = modest_similarity(rng, n)
    for _ in range(1000):
        Cm, Km = signed_uniform(rng, 0.5, 1.5, (p, n)), signed_uniform(rng, 0.2, 0.6, (n, p))
        F = rng.standard_normal((p, p))
        zeros = np.linalg.eigvals(np.diag(poles) - Km @ Cm)
        if np.max(np.abs(zeros)) >= 0.7 or distance(zeros, poles) < 0.15:
            continue
        sys = StateSpace(V @ np.diag(poles) @ Vi, C=Cm @ Vi, K=V @ Km, Lambda=F @ F.T + np.eye(p))
        if canonical_correlations(sys)[0] <= 0.95:
            return sys
    raise AssertionError("no draw with a clear spectral factor")


def canonical_correlations(sys):
    """Canonical correlations of the infinite past and future: sqrt(eig(P_min P_max^-1))."""
    A, C, G, S0, P = covariance_data(sys)
    Pb, _, _ = faurre(A.T, G.T, C.T, S0)  # the backward P_min is P_max^-1
    return np.sort(np.sqrt(np.abs(np.linalg.eigvals(P @ Pb))))[::-1]


def covariance_data(sys):
    """Exact (A, C, G, Sigma0) of the output of an innovation model."""
    A, C, K, Lam = (np.array(x) for x in (sys.A, sys.C, sys.K, sys.Lambda))
    P = realize.dlyap(A, K @ Lam @ K.T)
    return A, C, A @ P @ C.T + K @ Lam, C @ P @ C.T + Lam, P


def invariants(model):
    """Similarity invariants of an output-only innovation model: C A^k K, Lambda."""
    A, C, K = (np.array(x) for x in (model.A, model.C, model.K))
    return np.array([C @ np.linalg.matrix_power(A, k) @ K for k in range(5)])


def test_faurre_recovers_the_innovation_model_from_exact_covariances(rng):
    true = innovation_system(rng, 3, 2)
    A, C, G, S0, _ = covariance_data(true)
    P, K, Lam = faurre(A, C, G, S0)
    np.testing.assert_allclose(K, true.K, atol=1e-8)
    np.testing.assert_allclose(Lam, true.Lambda, atol=1e-8)
    # P solves the Faurre Riccati equation and is the smallest solution: P_max - P >= 0
    Lk = S0 - C @ P @ C.T
    resid = A @ P @ A.T + (G - A @ P @ C.T) @ np.linalg.solve(Lk, (G - A @ P @ C.T).T) - P
    assert np.abs(resid).max() < 1e-9
    Pb, _, _ = faurre(A.T, G.T, C.T, S0)
    assert np.linalg.eigvalsh(np.linalg.inv(Pb) - P)[0] > -1e-9


@pytest.mark.parametrize("method", ["cca", "covariance"])
def test_realization_is_consistent(rng, method):
    true = innovation_system(rng, 2, 2)
    y = true.simulate(T=60000, rng=rng)
    res = realize.stochastic_realization(y, 2, method=method, horizon=6)
    np.testing.assert_allclose(
        np.sort_complex(res.model.poles()), np.sort_complex(true.poles()), atol=0.05
    )
    np.testing.assert_allclose(res.model.Lambda, true.Lambda, rtol=0.05, atol=0.05)
    np.testing.assert_allclose(invariants(res.model), invariants(true), atol=0.08)
    assert res.P_min.shape == res.P_max.shape == (2, 2)
    assert np.linalg.eigvalsh(res.P_max - res.P_min)[0] > -1e-10
    assert np.linalg.eigvalsh(res.P_min)[0] > 0


def test_short_data_estimates_improve_with_T(rng):
    true = innovation_system(rng, 2, 1)
    y = true.simulate(T=40000, rng=rng)
    err = lambda r: np.abs(invariants(r.model) - invariants(true)).max()
    short = realize.stochastic_realization(y[:2000], 2, horizon=5)
    long = realize.stochastic_realization(y, 2, horizon=5)
    assert err(long) < err(short)


def test_cca_is_stochastically_balanced(rng):
    # Desai-Pal: in the CCA basis P_min = P_max^{-1} = diag(canonical correlations)
    true = innovation_system(rng, 2, 2)
    y = true.simulate(T=200000, rng=rng)
    res = realize.stochastic_realization(y, 2, method="cca", horizon=8)
    s = res.singular_values[:2]
    np.testing.assert_allclose(res.P_min, np.diag(s), atol=0.03)
    np.testing.assert_allclose(np.linalg.inv(res.P_max), np.diag(s), atol=0.03)


def test_backward_model_generates_the_same_covariances(rng):
    true = innovation_system(rng, 2, 2)
    y = true.simulate(T=50000, rng=rng)
    res = realize.stochastic_realization(y, 2)
    A, C, S0 = res.A, res.C, res.Sigma0
    bw = res.backward_model
    # backward model: x(t-1) = A' x(t) + Kb e, y = G' x + e; its covariances are Sigma_k'
    Pb = realize.dlyap(np.array(bw.A), np.array(bw.K) @ np.array(bw.Lambda) @ np.array(bw.K).T)
    np.testing.assert_allclose(np.array(bw.C) @ Pb @ np.array(bw.C).T + bw.Lambda, S0, atol=1e-8)
    Gb = np.array(bw.A) @ Pb @ np.array(bw.C).T + np.array(bw.K) @ np.array(bw.Lambda)
    np.testing.assert_allclose(Gb, C.T, atol=1e-8)
    np.testing.assert_allclose(Pb, np.linalg.inv(res.P_max), atol=1e-8)
    assert np.all(np.abs(np.linalg.eigvals(A)) < 1)


def test_not_positive_real_raises_and_repair_is_minimal():
    A, C, G, S0 = np.array([[0.5]]), np.array([[1.0]]), np.array([[1.0]]), np.array([[0.1]])
    phi, w = spectral_minimum(A, C, G, S0)
    # Phi(w) = 0.1 + 2 Re 1/(e^{iw} - 0.5): its minimum is at w = pi
    assert phi == pytest.approx(0.1 - 2 / 1.5, abs=1e-9) and w == pytest.approx(np.pi, abs=1e-6)
    with pytest.raises(NotPositiveRealError):
        faurre(A, C, G, S0)
    delta = -phi + 1e-6
    P, K, Lam = faurre(A, C, G, S0 + delta)
    assert Lam[0, 0] > 0 and abs(np.linalg.eigvals(A - K @ C)[0]) < 1


@pytest.mark.parametrize("order", [1, 3])
def test_public_repair_path(rng, order):
    # a sinusoid in little noise (order 1) and an MA(1) with a zero near the unit circle
    # (order 3): sample covariances whose realization is not positive real
    t = np.arange(3000)
    if order == 1:
        y = np.sin(0.5 * t) + 0.05 * rng.standard_normal(3000)
    else:
        for _ in range(50):
            e = rng.standard_normal(3001)
            y = e[1:] + 0.9 * e[:-1]
            try:
                realize.stochastic_realization(y, order, method="covariance", horizon=6)
            except NotPositiveRealError:
                break
    with pytest.raises(NotPositiveRealError, match="repair=True"):
        realize.stochastic_realization(y, order, method="covariance", horizon=6)
    res = realize.stochastic_realization(y, order, method="covariance", horizon=6, repair=True)
    assert res.repaired and res.model.is_stable() and res.spectral_minimum > 0
    # the repair keeps the sample variance (it used to inflate Sigma_0)
    np.testing.assert_allclose(res.Sigma0, [[np.var(y)]], rtol=1e-9)


# ------------------------------------------------------------- positive-real repair
def ar_series(rng, coefs, T, burn=500):
    e = rng.standard_normal(T + burn)
    y = np.zeros(T + burn)
    for t in range(len(coefs), T + burn):
        y[t] = np.dot(coefs, y[t - len(coefs) : t][::-1]) + e[t]
    return y[burn:]


# (name, data generator, order, method, horizon): short white records, near-unit-root AR
# data, over-estimated orders and small samples, whose sample covariances are often not
# positive real. Before the state-regression repair, 5 of these 12 raised even with
# repair=True and the others could return a unit-root pole or an inflated Sigma_0.
NOT_POSITIVE_REAL = [
    ("white T=120 n=1", lambda r: r.standard_normal(120), 1, "cca", None),
    ("white T=200 n=2", lambda r: r.standard_normal(200), 2, "covariance", None),
    ("white T=150 n=3", lambda r: r.standard_normal(150), 3, "cca", None),
    ("white p=2 T=300 n=2", lambda r: r.standard_normal((300, 2)), 2, "covariance", None),
    ("white T=80 n=2", lambda r: r.standard_normal(80), 2, "cca", None),
    ("AR1 0.995 T=300", lambda r: ar_series(r, [0.995], 300), 1, "covariance", None),
    ("AR1 0.999 T=200 n=2", lambda r: ar_series(r, [0.999], 200), 2, "cca", None),
    (
        "AR2 r=0.99 T=400 n=4",
        lambda r: ar_series(r, [2 * 0.99 * np.cos(0.3), -(0.99**2)], 400),
        4,
        "covariance",
        None,
    ),
    (
        "MA1 0.95 n=3",
        lambda r: (lambda e: e[1:] + 0.95 * e[:-1])(r.standard_normal(501)),
        3,
        "covariance",
        6,
    ),
    ("AR1 0.7 T=60 n=3", lambda r: ar_series(r, [0.7], 60), 3, "cca", 4),
    ("random walk T=300", lambda r: np.cumsum(r.standard_normal(300)), 1, "covariance", None),
    (
        "sinusoid in noise",
        lambda r: np.sin(0.5 * np.arange(3000)) + 0.05 * r.standard_normal(3000),
        1,
        "covariance",
        6,
    ),
]


def not_positive_real_case(rng, make, order, method, horizon, tries=200):
    """The first draw whose sample covariances are not positive real."""
    for _ in range(tries):
        y = make(rng)
        try:
            realize.stochastic_realization(y, order, method=method, horizon=horizon)
        except NotPositiveRealError:
            return y
    pytest.skip("no non-positive-real draw")  # pragma: no cover


def assert_valid_innovation_model(res, y):
    """A stable, minimum-phase innovation model whose covariances are the returned data."""
    m = res.model
    A, C, K, Lam = (np.asarray(x) for x in (m.A, m.C, m.K, m.Lambda))
    assert np.max(np.abs(np.linalg.eigvals(A))) < 1
    assert np.max(np.abs(np.linalg.eigvals(A - K @ C))) < 1  # stabilizing Riccati solution
    assert np.linalg.eigvalsh(Lam)[0] > 0
    assert res.spectral_minimum > 0
    scale = np.abs(res.P_max).max()
    assert np.linalg.eigvalsh(res.P_min)[0] > -1e-10 * scale
    assert np.linalg.eigvalsh(res.P_max - res.P_min)[0] > -1e-8 * scale
    # oracle: the innovation model's own second moments (Lyapunov) reproduce (G, Sigma0)
    P = realize.dlyap(A, K @ Lam @ K.T)
    np.testing.assert_allclose(P, res.P_min, atol=1e-8 * scale)
    np.testing.assert_allclose(C @ P @ C.T + Lam, res.Sigma0, rtol=1e-8)
    np.testing.assert_allclose(A @ P @ C.T + K @ Lam, res.G, atol=1e-8 * np.abs(res.G).max())
    # Sigma0 is the sample variance (biased, mean removed): nothing inflated
    yy = np.asarray(y, float).reshape(len(y), -1)
    np.testing.assert_allclose(res.Sigma0, np.atleast_2d(np.cov(yy.T, bias=True)), rtol=1e-9)


@pytest.mark.parametrize("case", NOT_POSITIVE_REAL, ids=[c[0] for c in NOT_POSITIVE_REAL])
def test_repair_gives_a_valid_innovation_model(rng, case):
    _, make, order, method, horizon = case
    y = not_positive_real_case(rng, make, order, method, horizon)
    with pytest.raises(NotPositiveRealError, match="repair=True"):
        realize.stochastic_realization(y, order, method=method, horizon=horizon)
    res = realize.stochastic_realization(y, order, method=method, horizon=horizon, repair=True)
    assert res.repaired and res.order == order
    assert_valid_innovation_model(res, y)


def test_repair_on_white_noise_is_nearly_white(rng):
    # white noise has no dynamics: the repaired model must not invent any (no pole or
    # zero near the unit circle, implied autocorrelations at the sampling-noise level)
    found = 0
    for trial in range(400):
        T, order = int(rng.integers(80, 300)), int(rng.integers(1, 4))
        method = ("cca", "covariance")[trial % 2]
        y = rng.standard_normal(T)
        try:
            realize.stochastic_realization(y, order, method=method)
            continue
        except NotPositiveRealError:
            pass
        res = realize.stochastic_realization(y, order, method=method, repair=True)
        m = res.model
        assert np.max(np.abs(m.poles())) < 0.95
        assert np.max(np.abs(np.linalg.eigvals(m.A - m.K @ m.C))) < 0.95
        acf = [(res.C @ np.linalg.matrix_power(res.A, k - 1) @ res.G)[0, 0] for k in range(1, 11)]
        assert np.max(np.abs(acf)) / res.Sigma0[0, 0] < 4 / np.sqrt(T)
        assert 0.6 < m.Lambda[0, 0] / np.var(y) <= 1.0
        found += 1
        if found == 15:
            break
    assert found >= 10


def test_state_regression_with_one_lag_is_the_yule_walker_ar1(rng):
    # the state x(t) = y(t-1): the positive-real regression is exactly the Yule-Walker
    # AR(1) fit (oracle: statsmodels on the biased covariances)
    from statsmodels.regression.linear_model import yule_walker

    from realize.identify.stochastic import _positive_real_realization, _sample_covariances

    y = ar_series(rng, [0.995], 200)
    y = y - y.mean()
    phi, sigma = yule_walker(y, order=1, method="mle", demean=False, result_object=False)
    A, C, Q, R, S = _positive_real_realization(_sample_covariances([y[:, None]], 2), np.eye(1))
    _, K, Lam = realize.riccati.kalman_gain(A, C, Q, R, S)
    assert A[0, 0] == pytest.approx(phi[0], rel=1e-12) and C[0, 0] == pytest.approx(phi[0])
    assert Lam[0, 0] == pytest.approx(sigma**2, rel=1e-10)
    assert np.linalg.eigvalsh(np.block([[Q, S], [S.T, R]]))[0] > -1e-12


@pytest.mark.parametrize("method", ["cca", "covariance"])
def test_repair_is_close_to_yule_walker_on_near_unit_root_ar1(rng, method):
    from statsmodels.regression.linear_model import yule_walker

    found = 0
    for _ in range(200):
        y = ar_series(rng, [0.995], 200)
        try:
            realize.stochastic_realization(y, 1, method=method)
            continue
        except NotPositiveRealError:
            pass
        phi, sigma = yule_walker(y, order=1, method="mle", demean=True, result_object=False)
        res = realize.stochastic_realization(y, 1, method=method, repair=True)
        # an ARMA(1, 1) next to the AR(1) fit, with a stable pole (no unit root)
        pole = res.model.poles()[0]
        assert abs(pole.real - phi[0]) < 0.02 and abs(pole) < 1
        assert res.model.Lambda[0, 0] == pytest.approx(sigma**2, rel=0.06)
        found += 1
        if found == 3:
            break
    assert found >= 1


def test_repair_leaves_positive_real_data_unchanged(rng):
    true = innovation_system(rng, 2, 2)
    y = true.simulate(T=20000, rng=rng)
    for method in ("cca", "covariance"):
        plain = realize.stochastic_realization(y, 2, method=method)
        rep = realize.stochastic_realization(y, 2, method=method, repair=True)
        assert not plain.repaired and not rep.repaired
        for name in ("A", "C", "G", "Sigma0", "P_min", "P_max"):
            np.testing.assert_array_equal(getattr(rep, name), getattr(plain, name))
        np.testing.assert_array_equal(rep.model.K, plain.model.K)


@pytest.mark.parametrize("method", ["cca", "covariance"])
@pytest.mark.parametrize("c", [1e-6, 1e-3, 1e3, 1e6])
def test_result_is_invariant_to_the_data_scale(rng, method, c):
    true = innovation_system(rng, 2, 1)
    y = true.simulate(T=5000, rng=rng)
    white = not_positive_real_case(rng, lambda r: r.standard_normal(150), 2, method, None)
    for data in (y, white):
        ref = realize.stochastic_realization(data, 2, method=method, repair=True)
        res = realize.stochastic_realization(c * data, 2, method=method, repair=True)
        assert res.repaired == ref.repaired and res.horizon == ref.horizon
        np.testing.assert_allclose(
            np.sort_complex(res.model.poles()), np.sort_complex(ref.model.poles()), atol=1e-9
        )
        np.testing.assert_allclose(invariants(res.model), invariants(ref.model), atol=1e-9)
        np.testing.assert_allclose(res.model.Lambda / c**2, ref.model.Lambda, rtol=1e-9)
        np.testing.assert_allclose(res.Sigma0 / c**2, ref.Sigma0, rtol=1e-9)
        s_scale = c**2 if method == "covariance" else 1.0
        np.testing.assert_allclose(res.singular_values / s_scale, ref.singular_values, rtol=1e-9)


# ------------------------------------------------------------- horizon
def test_whittle_recursion_matches_yule_walker():
    from statsmodels.regression.linear_model import yule_walker

    from realize.identify.stochastic import _block_toeplitz, _sample_covariances, _whittle

    rng = np.random.default_rng(3)
    y = np.convolve(rng.standard_normal(3000), [1, 0.8, 0.3])[:3000]
    y = y - y.mean()
    V = _whittle(_sample_covariances([y[:, None]], 9), 8)
    for k in range(1, 9):
        _, sigma = yule_walker(y, order=k, method="mle", demean=False, result_object=False)
        assert V[k][0, 0] == pytest.approx(sigma**2, rel=1e-10)
    # multivariate: the Schur complement of the block-Toeplitz covariance (plain solve)
    Y = rng.standard_normal((2000, 3))
    Y[:, 1] += 0.7 * np.roll(Y[:, 0], 1)
    Y[:, 2] += 0.5 * np.roll(Y[:, 1], 2)
    Sig = _sample_covariances([Y], 6)
    V = _whittle(Sig, 5)
    for k in range(1, 6):
        W = _block_toeplitz(Sig, k + 1)  # [y(t); y(t-1); ...; y(t-k)]
        direct = W[:3, :3] - W[:3, 3:] @ np.linalg.solve(W[3:, 3:], W[3:, :3])
        np.testing.assert_allclose(V[k], direct, atol=1e-12)


def exact_canonical_correlations(sys, h):
    """Canonical correlations of h past and h future outputs, from exact covariances."""
    from realize.identify.stochastic import _block_toeplitz

    A, C, G, S0, _ = covariance_data(sys)
    Sig = np.array([S0] + [C @ np.linalg.matrix_power(A, k - 1) @ G for k in range(1, 2 * h)])
    H = np.block([[Sig[a + b + 1] for b in range(h)] for a in range(h)])
    Lp = np.linalg.cholesky(_block_toeplitz(Sig, h))
    Lf = np.linalg.cholesky(_block_toeplitz(Sig, h).T)
    M = np.linalg.solve(Lf, H) @ np.linalg.inv(Lp).T
    return np.linalg.svd(M, compute_uv=False)


def test_default_horizon_removes_the_finite_horizon_bias(rng):
    # a spectral zero at 0.95: (A - K C)^10 = 0.6 is far from negligible, so 10 past samples
    # do not hold the state and both canonical correlations are biased towards zero
    from scipy.signal import place_poles

    A, C = np.diag([0.7, -0.5]), np.array([[1.0, 1.0]])
    K = place_poles(A.T, C.T, [0.95, 0.2]).gain_matrix.T
    sys = StateSpace(A, C=C, K=K, Lambda=[[1.0]])
    a, c, g, s0, _ = covariance_data(sys)
    P, _, _ = faurre(a, c, g, s0)
    Pb, _, _ = faurre(a.T, g.T, c.T, s0)
    true = np.sqrt(np.sort(np.linalg.eigvals(P @ Pb).real)[::-1])  # infinite horizon
    np.testing.assert_allclose(exact_canonical_correlations(sys, 150)[:2], true, atol=1e-6)
    biased = exact_canonical_correlations(sys, 10)[:2]  # 0.825, 0.247 against 0.885, 0.307
    assert np.all(true - biased > 0.05)
    y = sys.simulate(T=20000, rng=rng)
    # (the zero near the unit circle makes short records' covariances often not positive
    # real; the canonical correlations do not depend on the repair)
    res = realize.stochastic_realization(y, 2, repair=True)
    assert res.horizon[0] > 30
    np.testing.assert_allclose(res.singular_values[:2], true, atol=0.03)


def test_default_horizon_is_twice_the_aic_lag():
    from statsmodels.regression.linear_model import yule_walker

    rng = np.random.default_rng(5)
    y = ar_series(rng, [0.5, 0.3, -0.2], 4000)
    y = y - y.mean()
    aic = [len(y) * np.log(np.var(y))] + [
        len(y)
        * np.log(yule_walker(y, order=k, method="mle", demean=False, result_object=False)[1] ** 2)
        + 2 * k
        for k in range(1, int(10 * np.log10(len(y))) + 1)
    ]
    res = realize.stochastic_realization(y, 3)
    assert res.horizon == (2 * int(np.argmin(aic)),) * 2


def test_several_records_and_detrend(rng):
    true = innovation_system(rng, 2, 1)
    recs = [true.simulate(T=20000, rng=rng) + 5.0 for _ in range(2)]
    res = realize.stochastic_realization(recs, 2, horizon=5)
    assert abs(res.y_mean[0] - 5.0) < 0.2
    np.testing.assert_allclose(
        np.sort_complex(res.model.poles()), np.sort_complex(true.poles()), atol=0.06
    )


def test_bad_inputs(rng):
    y = rng.standard_normal((2000, 2))
    with pytest.raises(OrderError, match="horizon"):
        realize.stochastic_realization(y, 30, horizon=5)
    with pytest.raises(DataError, match="at least"):
        realize.stochastic_realization(y[:10], 2, horizon=5)
    z = y.copy()
    z[3, 1] = np.nan
    with pytest.raises(NonFiniteError):
        realize.stochastic_realization(z, 2)
    with pytest.raises(ValueError, match="method"):
        realize.stochastic_realization(y, 2, method="pca")
    const = np.column_stack([y[:, 0], np.ones(2000)])
    with pytest.raises(ValueError, match="singular"):
        realize.stochastic_realization(const, 2, horizon=5)


@pytest.mark.parametrize("order", [1.7, True, np.inf, np.nan, "2", None, [], 0, -1])
def test_bad_orders(rng, order):
    y = rng.standard_normal((500, 1))
    with pytest.raises(OrderError, match="order"):
        realize.stochastic_realization(y, order)
