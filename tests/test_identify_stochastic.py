"""Output-only stochastic realization: covariance (Ho-Kalman + Faurre) and CCA."""

import numpy as np
import pytest

import realize
from realize.errors import DataError, NonFiniteError, NotPositiveRealError, OrderError
from realize.identify.stochastic import faurre, spectral_minimum
from realize.model import StateSpace


def innovation_system(rng, n=2, p=2):
    """A stable innovation model with well-separated poles and a clear spectral factor."""
    poles = rng.uniform(0.4, 0.85, n) * rng.choice([-1, 1], n)
    poles[1:] = np.where(np.abs(poles[1:] - poles[0]) < 0.2, -poles[0], poles[1:])
    V = rng.standard_normal((n, n)) + 2 * np.eye(n)
    A = V @ np.diag(poles) @ np.linalg.inv(V)
    C = rng.standard_normal((p, n))
    K = rng.standard_normal((n, p))
    while np.max(np.abs(np.linalg.eigvals(A - K @ C))) >= 0.9:
        K *= 0.7
    F = rng.standard_normal((p, p))
    return StateSpace(A, C=C, K=K, Lambda=F @ F.T + np.eye(p))


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
    assert res.model.is_stable() and res.spectral_minimum > 0 and res.delta > 0
    # the repair is the documented minimal shift plus the margin
    plain_phi = res.spectral_minimum - res.delta
    assert res.delta == pytest.approx(
        -plain_phi + 1e-6 * np.linalg.eigvalsh(res.Sigma0 - res.delta * np.eye(1))[-1],
        rel=1e-6,
        abs=1e-9,
    )


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
