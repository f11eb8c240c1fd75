"""Prediction-error refinement: analytic gradients, DDLC, never worse than the start."""

import numpy as np
import pytest

import realize
from realize.errors import InvalidValueError, NonFiniteError, ShapeError
from realize.identify.pem import ddlc_basis, predictor_cost
from realize.model import StateSpace
from realize.testing import random_statespace


def data(rng, n=2, m=1, p=1, T=2000):
    true = random_statespace(rng, n, m, p, radius=0.85, innovation=True)
    u = rng.standard_normal((T, m))
    y = true.simulate(u, rng=rng) if m else true.simulate(T=T, rng=rng)
    return true, u, y


@pytest.mark.parametrize("dims", [(2, 1, 1), (3, 2, 2), (2, 0, 2)])
def test_adjoint_gradient_matches_finite_differences(rng, dims):
    n, m, p = dims
    true, u, y = data(rng, n, m, p, T=400)
    mats = [np.array(x) for x in (true.A, true.B, true.C, true.D, true.K)]
    x0 = rng.standard_normal(n)
    recs = [(y, u)]
    V, grads = predictor_cost(*mats, recs, [x0], gradient=True)
    eps = 1e-6
    for k, (M, G) in enumerate(zip(mats, grads[:5])):
        for idx in list(np.ndindex(M.shape))[:4]:
            plus = [X.copy() for X in mats]
            minus = [X.copy() for X in mats]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            num = (predictor_cost(*plus, recs, [x0]) - predictor_cost(*minus, recs, [x0])) / (
                2 * eps
            )
            assert num == pytest.approx(G[idx], rel=1e-5, abs=1e-8)
    for i in range(n):
        e = np.zeros(n)
        e[i] = eps
        num = (predictor_cost(*mats, recs, [x0 + e]) - predictor_cost(*mats, recs, [x0 - e])) / (
            2 * eps
        )
        assert num == pytest.approx(grads[5][0][i], rel=1e-5, abs=1e-8)


def test_ddlc_basis_is_orthogonal_to_the_similarity_orbit(rng):
    sys = random_statespace(rng, 3, 2, 2, innovation=True)
    A, B, C, D, K = (np.array(x) for x in (sys.A, sys.B, sys.C, sys.D, sys.K))
    Q = ddlc_basis(A, B, C, D, K, feedthrough=True)
    n, m, p = 3, 2, 2
    assert Q.shape[1] == n * m + 2 * n * p + p * m  # dimension of the model class
    np.testing.assert_allclose(Q.T @ Q, np.eye(Q.shape[1]), atol=1e-12)
    E = rng.standard_normal((n, n))
    tangent = np.concatenate(
        [
            (E @ A - A @ E).ravel(),
            (E @ B).ravel(),
            (-C @ E).ravel(),
            np.zeros(p * m),
            (E @ K).ravel(),
        ]
    )
    assert np.abs(Q.T @ tangent).max() < 1e-10


@pytest.mark.parametrize("seed", range(3))
def test_pem_improves_a_perturbed_model_and_never_worsens(seed):
    rng = np.random.default_rng(seed)
    true, u, y = data(rng, 2, 1, 1, T=3000)
    start = true.replace(
        A=np.array(true.A) * 0.7, B=np.array(true.B) * 1.3, K=np.array(true.K) * 0.5
    )
    res = realize.pem(y, u, start)
    assert res.cost < res.cost_initial
    # the refined predictor is better on fresh data
    uv = rng.standard_normal((3000, 1))
    yv = true.simulate(uv, rng=rng)
    fresh = lambda M: predictor_cost(
        *(np.array(x) for x in (M.A, M.B, M.C, M.D, M.K)), [(yv, uv)], [np.zeros(2)]
    )
    assert fresh(res.model) < fresh(start)
    # refining the optimum again changes nothing (never worse than the start)
    again = realize.pem(y, u, res.model, x0=res.x0)
    assert again.cost <= res.cost + 1e-12


def test_pem_after_n4sid_and_covariance(rng):
    true, u, y = data(rng, 2, 1, 2, T=4000)
    start = realize.n4sid(y, u, order=2, feedthrough=True).model
    res = realize.pem(y, u, start)
    assert res.cost <= res.cost_initial
    np.testing.assert_allclose(res.model.Lambda, true.Lambda, rtol=0.15, atol=0.05)
    cov = res.parameter_covariance
    assert cov.shape == (res.n_parameters + 2, res.n_parameters + 2)
    assert np.linalg.eigvalsh(0.5 * (cov + cov.T))[0] > -1e-12
    # more data, smaller standard errors
    u2 = rng.standard_normal((16000, 1))
    y2 = true.simulate(u2, rng=rng)
    res2 = realize.pem(y2, u2, res.model, maxiter=30)
    k = res.n_parameters
    assert np.mean(np.diag(res2.parameter_covariance)[:k]) < np.mean(np.diag(cov)[:k])


def test_pem_several_records_output_only(rng):
    true = random_statespace(rng, 2, 0, 1, radius=0.8, innovation=True)
    recs = [(true.simulate(T=1500, rng=rng), None) for _ in range(2)]
    start = realize.n4sid(recs, order=2).model
    res = realize.pem(recs, model=start)
    assert res.cost <= res.cost_initial and res.x0.shape == (2, 2)


def test_pem_bad_inputs(rng):
    true, u, y = data(rng, 2, 1, 1, T=300)
    with pytest.raises(InvalidValueError, match="model"):
        realize.pem(y, u, None)
    with pytest.raises(ShapeError, match="u: expected as many samples"):
        realize.pem(y, u[:-1], true)
    yb = y.copy()
    yb[5] = np.nan
    with pytest.raises(NonFiniteError):
        realize.pem(yb, u, true)
    bad = StateSpace(
        np.array(true.A), np.array(true.B), np.array(true.C), K=[[50.0], [-70.0]], Lambda=[[1.0]]
    )
    with pytest.raises(InvalidValueError, match="predictor"):
        realize.pem(y, u, bad)
