"""Riccati and Lyapunov solvers: residuals, stabilizing property, errors."""

import numpy as np
import pytest
import scipy.linalg as sla

import realize
from realize.errors import InvalidValueError, NotStabilizableError, NotStableError, ShapeError
from realize.riccati import dare_residual, kalman_gain
from realize.testing import random_stable_matrix, random_statespace


@pytest.mark.parametrize("seed", range(5))
def test_dare_residual_and_stabilizing(seed):
    rng = np.random.default_rng(seed)
    n, m = rng.integers(1, 7), rng.integers(1, 4)
    A = rng.standard_normal((n, n))  # possibly unstable
    B = rng.standard_normal((n, m))
    W = rng.standard_normal((n + m, n + m))
    J = W @ W.T + 0.1 * np.eye(n + m)
    Q, R, S = J[:n, :n], J[n:, n:], J[:n, n:]
    X = realize.dare(A, B, Q, R, S)
    res = dare_residual(A, B, Q, R, S, X)
    assert np.linalg.norm(res, 1) <= 1e-10 * max(1.0, np.linalg.norm(X, 1))
    np.testing.assert_allclose(X, X.T)
    assert np.linalg.eigvalsh(X)[0] > -1e-9 * np.abs(X).max()
    F = np.linalg.solve(R + B.T @ X @ B, B.T @ X @ A + S.T)
    assert np.max(np.abs(np.linalg.eigvals(A - B @ F))) < 1


def test_dare_golden_ratio():
    X = realize.dare([[1.0]], [[1.0]], [[1.0]], [[1.0]])
    assert X[0, 0] == pytest.approx((1 + np.sqrt(5)) / 2, rel=1e-14)


def test_kalman_gain_is_the_filter_limit(rng):
    """The Riccati solution is where the (compiled) filter's covariance recursion ends."""
    sys = random_statespace(rng, 4, 0, 2, noise=True)
    P, K, Lam = kalman_gain(sys.A, sys.C, sys.Q, sys.R, sys.S)
    y = sys.simulate(T=400, rng=rng)
    res = realize.kalman_filter(sys, y, steady_state=False)
    np.testing.assert_allclose(res.predicted_cov[-1], P, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(res.gain[-1], K, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(res.innovation_cov[-1], Lam, rtol=1e-9, atol=1e-11)
    assert np.max(np.abs(np.linalg.eigvals(sys.A - K @ sys.C))) < 1


def test_dare_not_stabilizable():
    # an unstable mode the input cannot reach
    A = np.diag([2.0, 0.5])
    B = np.array([[0.0], [1.0]])
    with pytest.raises(NotStabilizableError):
        realize.dare(A, B, np.eye(2), [[1.0]])
    # a unit-circle mode that the cost does not see
    with pytest.raises(NotStabilizableError):
        realize.dare([[1.0]], [[1.0]], [[0.0]], [[1.0]])
    # filter form: an unstable state the output does not see
    with pytest.raises(NotStabilizableError):
        kalman_gain(np.diag([1.5, 0.5]), [[0.0, 1.0]], np.eye(2), [[1.0]])


def test_dare_bad_inputs():
    with pytest.raises(ShapeError, match="B"):
        realize.dare(np.eye(2), np.ones((3, 1)), np.eye(2), [[1.0]])
    with pytest.raises(realize.errors.NotPositiveSemidefiniteError, match="Q"):
        realize.dare(np.eye(2), np.ones((2, 1)), -np.eye(2), [[1.0]])
    with pytest.raises(InvalidValueError, match="R"):
        realize.dare(np.eye(2), np.ones((2, 2)), np.eye(2), [[1.0, 1.0], [0.0, 1.0]])


@pytest.mark.parametrize("seed", range(4))
def test_dlyap_residual_and_series(seed):
    rng = np.random.default_rng(50 + seed)
    n = int(rng.integers(1, 15))
    A = random_stable_matrix(rng, n, 0.9)
    G = rng.standard_normal((n, n))
    Q = G @ G.T
    X = realize.dlyap(A, Q)
    assert np.linalg.norm(A @ X @ A.T - X + Q, 1) <= 1e-11 * np.linalg.norm(X, 1)
    # the series sum_k A^k Q A'^k by repeated squaring of the doubling recursion
    S, Ak = Q.copy(), A.copy()
    for _ in range(12):
        S = S + Ak @ S @ Ak.T
        Ak = Ak @ Ak
    np.testing.assert_allclose(X, S, rtol=1e-8, atol=1e-10 * np.abs(S).max())


def test_dlyap_errors():
    with pytest.raises(NotStableError):
        realize.dlyap([[1.0]], [[1.0]])
    with pytest.raises(ShapeError, match="Q"):
        realize.dlyap(np.eye(2) * 0.5, np.eye(3))


def test_dare_matches_scipy_on_easy_problems(rng):
    A = random_stable_matrix(rng, 5, 1.2)
    B = rng.standard_normal((5, 2))
    Q, R = np.eye(5), np.eye(2)
    np.testing.assert_allclose(
        realize.dare(A, B, Q, R), sla.solve_discrete_are(A, B, Q, R), rtol=1e-9, atol=1e-10
    )
