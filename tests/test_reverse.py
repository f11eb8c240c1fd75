"""Backward (Lindqvist-Picci) models and reverse-time SDEs."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

import realize
from realize.errors import (
    InvalidValueError,
    NotControllableError,
    NotPositiveSemidefiniteError,
    NotStableError,
    ShapeError,
)
from realize.testing import random_stable_matrix, random_statespace

Z = 5.0  # z-score of the sampling tolerances (false alarm ~1e-6 per entry)


def output_covariances(A, C, P, G, Lam0, k):
    """Lambda_0 .. Lambda_{k-1}: Lambda_j = C A^(j-1) G (j >= 1)."""
    out = [Lam0]
    Aj = np.eye(A.shape[0])
    for _ in range(1, k):
        out.append(C @ Aj @ G)
        Aj = Aj @ A
    return np.array(out)


def model_covariances(sys, k):
    Q, R, S = sys._process_noise()
    P = sys.stationary_covariance()
    return output_covariances(sys.A, sys.C, P, sys.A @ P @ sys.C.T + S, sys.C @ P @ sys.C.T + R, k)


def cov_tolerance(P, N, z=Z):
    """z standard errors of the sample covariance of N iid N(0, P) draws (zero mean known)."""
    d = np.diag(P)
    return z * np.sqrt((np.outer(d, d) + P**2) / N)


def sample_cov(x):
    return x.T @ x / x.shape[0]


# ------------------------------------------------------------------ discrete time
@settings(max_examples=20)
@given(
    seed=st.integers(0, 2**31),
    n=st.integers(1, 5),
    p=st.integers(1, 3),
    innovation=st.booleans(),
    basis=st.sampled_from(["forward", "dual"]),
)
@example(seed=23579, n=2, p=1, innovation=True, basis="forward")
def test_backward_model_reproduces_covariances_transposed(seed, n, p, innovation, basis):
    rng = np.random.default_rng(seed)
    sys = random_statespace(rng, n, 0, p, noise=not innovation, innovation=innovation)
    bwd = realize.backward_model(sys, basis=basis)
    fwd_cov = model_covariances(sys, 12)
    bwd_cov = model_covariances(bwd, 12)
    scale = np.max(np.abs(fwd_cov))
    # the backward model is built from P^-1: rounding grows with cond(P) (seed 23579, n=2,
    # p=1 in innovation form has cond(P) = 2.3e5 and an error of 5.3e-10 = 2.3e-15 cond(P))
    tol = max(1e-10, 1e-14 * np.linalg.cond(sys.stationary_covariance()))
    assert np.max(np.abs(bwd_cov - fwd_cov.transpose(0, 2, 1))) < tol * scale


def test_backward_model_matrices(rng):
    sys = random_statespace(rng, 4, 0, 2, noise=True)
    P = sys.stationary_covariance()
    G = sys.A @ P @ sys.C.T + sys.S
    fwd = realize.backward_model(sys)
    np.testing.assert_allclose(fwd.A, P @ sys.A.T @ np.linalg.inv(P), atol=1e-12)
    np.testing.assert_allclose(fwd.C, G.T @ np.linalg.inv(P), atol=1e-12)
    # the backward state z[t] = x[t+1] has the forward stationary covariance
    np.testing.assert_allclose(fwd.stationary_covariance(), P, rtol=1e-9, atol=1e-12)
    dual = realize.backward_model(sys, basis="dual")
    np.testing.assert_allclose(dual.A, sys.A.T, atol=1e-14)
    np.testing.assert_allclose(dual.C, G.T, atol=1e-12)
    np.testing.assert_allclose(dual.stationary_covariance(), np.linalg.inv(P), rtol=1e-8)
    # the backward noise covariance is PSD (conditional covariance)
    for b in (fwd, dual):
        joint = np.block([[b.Q, b.S], [b.S.T, b.R]])
        assert np.linalg.eigvalsh(joint)[0] > -1e-10 * np.max(np.abs(joint))


def test_backward_of_backward_is_forward(rng):
    sys = random_statespace(rng, 3, 0, 2, noise=True)
    twice = realize.backward_model(realize.backward_model(sys))
    np.testing.assert_allclose(
        model_covariances(twice, 8), model_covariances(sys, 8), rtol=1e-9, atol=1e-11
    )


def test_backward_innovation_form_szego(rng):
    # forward and backward one-step prediction errors have the same generalized variance:
    # log det Lambda = (1/2pi) int log det Phi (Szego-Kolmogorov), invariant under reversal
    for _ in range(3):
        sys = random_statespace(rng, 4, 0, 2, noise=True)
        bwd = realize.backward_model(sys)
        lam_f = sys.innovation_form().Lambda
        assert bwd.has_innovation_form
        np.testing.assert_allclose(np.linalg.det(bwd.Lambda), np.linalg.det(lam_f), rtol=1e-8)
        assert np.all(np.abs(np.linalg.eigvals(bwd.A - bwd.K @ bwd.C)) < 1)


@pytest.mark.parametrize("innovation_input", [False, True])
def test_backward_model_without_innovation_form(rng, innovation_input):
    """innovation=False returns the backward noise model only (it raised KeyError 'K'),
    the same second-order model as with the innovation form attached."""
    sys = random_statespace(rng, 3, 0, 2, noise=not innovation_input, innovation=innovation_input)
    plain = realize.backward_model(sys, innovation=False)
    full = realize.backward_model(sys)
    assert not plain.has_innovation_form and full.has_innovation_form
    for name in ("A", "C", "Q", "R", "S"):
        np.testing.assert_allclose(getattr(plain, name), getattr(full, name), atol=1e-13)
    np.testing.assert_allclose(
        model_covariances(plain, 8), model_covariances(sys, 8).transpose(0, 2, 1), atol=1e-9
    )


def test_backward_sample_path_read_backwards(rng):
    # a long backward simulation, reversed, has the forward lag-one covariance Lambda_1
    sys = realize.StateSpace([[0.7, 0.4], [-0.3, 0.5]], C=[[1.0, 0.5]], Q=np.eye(2), R=[[0.2]])
    bwd = realize.backward_model(sys)
    T = 200_000
    y = bwd.simulate(T=T, rng=rng)[::-1, 0]
    lam = model_covariances(sys, 3)[:, 0, 0]
    est1 = np.mean(y[1:] * y[:-1])
    # Bartlett: var of the lag-1 sample covariance ~ (1/T) sum_k (l_k^2 + l_{k+1} l_{k-1})
    lk = model_covariances(sys, 200)[:, 0, 0]
    lk_full = np.concatenate([lk[:0:-1], lk])
    c = len(lk) - 1
    var = (
        sum(
            lk_full[c + k] ** 2 + lk_full[c + k + 1] * lk_full[c + k - 1]
            for k in range(-c + 1, c - 1)
        )
        / T
    )
    assert abs(est1 - lam[1]) < Z * np.sqrt(var)


def test_backward_model_errors(rng):
    unstable = realize.StateSpace([[1.2]], C=[[1.0]], Q=[[1.0]], R=[[1.0]])
    with pytest.raises(NotStableError, match="sys"):
        realize.backward_model(unstable)
    # noise that does not reach the second state: singular P
    singular = realize.StateSpace(
        np.diag([0.5, 0.3]), C=[[1.0, 1.0]], Q=np.diag([1.0, 0.0]), R=[[1.0]]
    )
    with pytest.raises(NotControllableError, match="positive definite"):
        realize.backward_model(singular)
    with pytest.raises(InvalidValueError, match="noise model"):
        realize.backward_model(realize.StateSpace([[0.5]]))
    with pytest.raises(InvalidValueError, match="inputs"):
        realize.backward_model(random_statespace(rng, 2, 1, 1, noise=True))
    with pytest.raises(InvalidValueError, match="basis"):
        realize.backward_model(random_statespace(rng, 2, 0, 1, noise=True), basis="other")
    with pytest.raises(InvalidValueError, match="StateSpace"):
        realize.backward_model(np.eye(2))


# ------------------------------------------------------------------ continuous time
def random_sde(rng, n, q=None):
    q = n if q is None else q
    A = random_stable_matrix(rng, n, 0.9) - np.eye(n)  # continuous-time stable
    G = rng.standard_normal((n, q)) / np.sqrt(q)
    F = rng.standard_normal((n, n))
    P0 = F @ F.T / n + 0.2 * np.eye(n)
    return A, G, P0


def test_covariance_solves_lyapunov_ode(rng):
    A, G, P0 = random_sde(rng, 3, 2)
    sde = realize.reverse_time_sde(A, G, P0, 2.0)

    def rhs(t, p):
        P = p.reshape(3, 3)
        return (A @ P + P @ A.T + G @ G.T).ravel()

    sol = solve_ivp(rhs, (0, 2.0), P0.ravel(), t_eval=[0.3, 1.0, 2.0], rtol=1e-11, atol=1e-13)
    for k, t in enumerate(sol.t):
        np.testing.assert_allclose(sde.covariance(t), sol.y[:, k].reshape(3, 3), atol=1e-8)


def test_score_and_drift(rng):
    A, G, P0 = random_sde(rng, 2)
    sde = realize.reverse_time_sde(A, G, P0, 1.5)
    x = rng.standard_normal((5, 2))
    P = sde.covariance(0.4)
    # score = gradient of log N(0, P), by central differences
    logp = lambda z: -0.5 * z @ np.linalg.solve(P, z)
    h = 1e-6
    fd = np.array(
        [[(logp(xi + h * e) - logp(xi - h * e)) / (2 * h) for e in np.eye(2)] for xi in x]
    )
    np.testing.assert_allclose(sde.score(0.4, x), fd, atol=1e-6)
    tau = 1.5 - 0.4
    np.testing.assert_allclose(
        sde.drift(tau, x), -(x @ A.T) + sde.score(0.4, x) @ (G @ G.T).T, atol=1e-12
    )


@pytest.mark.parametrize("n", [1, 3])
def test_exact_reverse_samples_match_forward_marginals(rng, n):
    A, G, P0 = random_sde(rng, n)
    sde = realize.reverse_time_sde(A, G, P0, 2.0)
    N = 4000
    path, times = sde.sample(n_samples=N, n_steps=8, rng=rng, return_path=True)
    assert path.shape == (9, N, n) and times[0] == 2.0 and times[-1] == 0.0
    for xk, t in zip(path, times):
        P = sde.covariance(t)
        assert np.all(np.abs(sample_cov(xk) - P) < cov_tolerance(P, N))
    # the joint law too: E[x(t1) x(0)'] = expm(A t1) P0 along the reverse paths
    cross = path[0].T @ path[-1] / N
    Phi, _ = sde.transition(2.0)
    target = Phi @ P0
    Pt = sde.covariance(2.0)
    tol = Z * np.sqrt((np.outer(np.diag(Pt), np.diag(P0)) + target**2) / N)
    assert np.all(np.abs(cross - target) < tol)


def euler_covariances(sde, n_steps):
    """Exact covariances of the Euler-Maruyama chain on the reverse SDE (started at P(t1))."""
    h, _, _, Ps = sde._grid(n_steps)
    S = Ps[-1]
    GG = sde.G @ sde.G.T
    for k in range(n_steps, 0, -1):
        M = np.eye(sde.n) - h * (sde.A + GG @ np.linalg.inv(Ps[k]))
        S = M @ S @ M.T + h * GG
    return S


def test_euler_maruyama_sampler(rng):
    A, G, P0 = random_sde(rng, 2)
    sde = realize.reverse_time_sde(A, G, P0, 1.0)
    N, K = 6000, 50
    x0 = sde.sample(n_samples=N, n_steps=K, method="euler", rng=rng)
    S_em = euler_covariances(sde, K)
    # the sampler is the Euler-Maruyama chain: matches its exact covariance
    assert np.all(np.abs(sample_cov(x0) - S_em) < cov_tolerance(S_em, N))
    # and the chain converges to P0 with weak order one: halving h halves the bias
    errs = [np.linalg.norm(euler_covariances(sde, k) - P0) for k in (100, 200, 400)]
    assert errs[2] < errs[1] < errs[0]
    assert 1.7 < errs[0] / errs[1] < 2.3 and 1.7 < errs[1] / errs[2] < 2.3


@pytest.mark.parametrize("method", ["exact", "euler"])
def test_forward_then_back_recovers_initial_distribution(rng, method):
    A, G, P0 = random_sde(rng, 2)
    sde = realize.reverse_time_sde(A, G, P0, 1.5)
    N = 5000
    x0 = np.linalg.cholesky(P0) @ rng.standard_normal((2, N))
    x1 = sde.sample_forward(x0.T, n_steps=30, rng=rng)
    np.testing.assert_array_less(
        np.abs(sample_cov(x1) - sde.covariance(1.5)), cov_tolerance(sde.covariance(1.5), N)
    )
    K = 400 if method == "euler" else 10
    back = sde.sample(x1, n_steps=K, method=method, rng=rng)
    bias = np.abs(euler_covariances(sde, K) - P0) if method == "euler" else 0.0
    assert np.all(np.abs(sample_cov(back) - P0) < cov_tolerance(P0, N) + bias)


def test_reverse_time_sde_errors():
    A, G = -np.eye(2), np.eye(2)
    with pytest.raises(NotPositiveSemidefiniteError, match="P0"):
        realize.reverse_time_sde(A, G, np.diag([1.0, 0.0]), 1.0)
    with pytest.raises(NotPositiveSemidefiniteError, match="P0"):
        realize.reverse_time_sde(A, G, np.diag([1.0, -1.0]), 1.0)
    with pytest.raises(InvalidValueError, match="t1"):
        realize.reverse_time_sde(A, G, np.eye(2), 0.0)
    with pytest.raises(ShapeError, match="G"):
        realize.reverse_time_sde(A, np.eye(3), np.eye(2), 1.0)
    sde = realize.reverse_time_sde(A, G, np.eye(2), 1.0)
    with pytest.raises(InvalidValueError, match="method"):
        sde.sample(n_samples=3, method="heun")
    with pytest.raises(ShapeError, match="x1"):
        sde.sample(np.zeros((3, 3)))
    with pytest.raises(InvalidValueError, match="n_steps"):
        sde.sample(n_samples=3, n_steps=0)
    with pytest.raises(InvalidValueError, match="t"):
        sde.covariance(-1.0)
