"""Riccati and Lyapunov solvers: residuals, stabilizing property, errors."""

import numpy as np
import pytest
import scipy.linalg as sla

import realize
from realize.errors import InvalidValueError, NotStabilizableError, NotStableError, ShapeError
from realize.riccati import care_residual, dare_residual, kalman_gain
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
    # an indefinite Q is a valid weight (see test_indefinite_q); an asymmetric one is not
    with pytest.raises(InvalidValueError, match="Q: expected a symmetric matrix"):
        realize.dare(np.eye(2), np.ones((2, 1)), [[2.0, 1.0], [-1.0, 2.0]], [[1.0]])
    with pytest.raises(NotStabilizableError):  # two unit modes, one input direction
        realize.dare(np.eye(2), np.ones((2, 1)), -np.eye(2), [[1.0]])
    # the covariance form still requires a covariance
    with pytest.raises(realize.errors.NotPositiveSemidefiniteError, match="Q"):
        kalman_gain(0.5 * np.eye(2), np.ones((1, 2)), -np.eye(2), [[1.0]])
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


# ------------------------------------------------------------------------------------------
# python-control's own test cases (control/tests/mateqn_test.py), ported as data: A, B, Q,
# R, S, E; None where the test leaves the argument out.
_CARE_CASES = {
    "care": ([[-2, -1], [-1, -1]], [[1, 0], [0, 4]], [[0, 0], [0, 1]], None, None, None),
    "care_g": (
        [[-2, -1], [-1, -1]],
        [[1, 0], [0, 4]],
        [[0, 0], [0, 1]],
        [[2, 0], [0, 1]],
        [[0, 0], [0, 0]],
        [[2, 1], [1, 2]],
    ),
    "care_g2": (
        [[-2, -1], [-1, -1]],
        [[1], [0]],
        [[0, 0], [0, 1]],
        1,
        [[1], [0]],
        [[2, 1], [1, 2]],
    ),
}
_DARE_CASES = {
    # Q = [[2, 1], [1, 0]] is indefinite (eigenvalues 1 +- sqrt(2))
    "dare": ([[-0.6, 0], [-0.1, -0.4]], [[2, 1], [0, 1]], [[2, 1], [1, 0]], np.eye(2), None, None),
    # Q = [[0, 1], [1, 1]] is indefinite too, and A is a Jordan block on the unit circle
    "dare_2": ([[1, 0], [-1, 1]], [[1], [0]], [[0, 1], [1, 1]], 2, None, None),
    "dare_g": (
        [[-0.6, 0], [-0.1, -0.4]],
        [[1, 5], [2, 4]],
        [[2, 1], [1, 3]],
        np.eye(2),
        [[1, 0], [2, 0]],
        [[2, 1], [1, 2]],
    ),
    "dare_g2": (
        [[-0.6, 0], [-0.1, -0.4]],
        [[1], [2]],
        [[2, 1], [1, 3]],
        1,
        [[1], [2]],
        [[2, 1], [1, 2]],
    ),
}


def _same_values(a, b, rtol):
    """Equal as multisets (conjugate pairs may come in either order)."""
    a, b = np.asarray(a, complex), list(np.asarray(b, complex))
    assert len(a) == len(b)
    for z in a:
        k = int(np.argmin([abs(z - w) for w in b]))
        assert abs(z - b[k]) <= rtol * max(1.0, abs(z)), (a, b)
        b.pop(k)


def _as_arrays(case):
    A, B, Q, R, S, E = (None if x is None else np.atleast_2d(np.asarray(x, float)) for x in case)
    return A, B, Q, np.eye(B.shape[1]) if R is None else R, S, E


def _control_args(case):
    A, B, Q, R, S, E = _as_arrays(case)
    n, m = B.shape
    return A, B, Q, R, np.zeros((n, m)) if S is None else S, np.eye(n) if E is None else E


@pytest.mark.parametrize("case", sorted(_CARE_CASES))
def test_care_python_control_cases(case):
    control = pytest.importorskip("control")
    A, B, Q, R, S, E = _as_arrays(_CARE_CASES[case])
    X = realize.care(A, B, Q, R, S, E)
    Xc, Lc, Gc = control.care(*_control_args(_CARE_CASES[case]), method="scipy")
    np.testing.assert_allclose(X, Xc, rtol=1e-10, atol=1e-12)
    Sz = np.zeros_like(B) if S is None else S
    Ez = np.eye(A.shape[0]) if E is None else E
    # the equation python-control checks, and its gain and closed-loop eigenvalues
    G = np.linalg.solve(R, B.T @ X @ Ez + Sz.T)
    np.testing.assert_allclose(G, Gc, rtol=1e-10, atol=1e-12)
    resid = A.T @ X @ Ez + Ez.T @ X @ A - (Ez.T @ X @ B + Sz) @ G + Q
    assert np.abs(resid).max() < 1e-12
    lam = sla.eigvals(A - B @ G, Ez)
    _same_values(lam, Lc, 1e-10)
    assert lam.real.max() < 0


@pytest.mark.parametrize("case", sorted(_DARE_CASES))
def test_dare_python_control_cases(case):
    control = pytest.importorskip("control")
    A, B, Q, R, S, E = _as_arrays(_DARE_CASES[case])
    X = realize.dare(A, B, Q, R, S, E)
    Xc, Lc, Gc = control.dare(*_control_args(_DARE_CASES[case]), method="scipy")
    np.testing.assert_allclose(X, Xc, rtol=1e-10, atol=1e-12)
    Sz = np.zeros_like(B) if S is None else S
    Ez = np.eye(A.shape[0]) if E is None else E
    G = np.linalg.solve(B.T @ X @ B + R, B.T @ X @ A + Sz.T)
    np.testing.assert_allclose(G, Gc, rtol=1e-10, atol=1e-12)
    resid = A.T @ X @ A - (A.T @ X @ B + Sz) @ G + Q - Ez.T @ X @ Ez
    assert np.abs(resid).max() < 1e-12
    lam = sla.eigvals(A - B @ G, Ez)
    _same_values(lam, Lc, 1e-9)
    assert np.abs(lam).max() < 1


def test_indefinite_q():
    """python-control's test_dare: an indefinite weight, an indefinite solution."""
    A, B, Q, R, _, _ = _as_arrays(_DARE_CASES["dare"])
    assert np.linalg.eigvalsh(Q)[0] < 0
    X = realize.dare(A, B, Q, R)
    assert np.linalg.eigvalsh(X)[0] < 0  # X indefinite too, and still the stabilizing one
    np.testing.assert_allclose(X, sla.solve_discrete_are(A, B, Q, R), rtol=1e-12)
    Q = np.array([[1.0, 2.0], [2.0, 1.0]])
    Xc = realize.care(-2 * np.eye(2), np.eye(2), Q, np.eye(2))
    assert np.linalg.eigvalsh(Xc)[0] < 0
    np.testing.assert_allclose(
        Xc, sla.solve_continuous_are(-2 * np.eye(2), np.eye(2), Q, np.eye(2)), rtol=1e-12
    )
    with pytest.raises(NotStabilizableError, match="care"):  # this one has no solution
        realize.care(-np.eye(2), np.eye(2), Q, np.eye(2))


@pytest.mark.parametrize("seed", range(6))
def test_care_random_against_scipy_and_control(seed):
    control = pytest.importorskip("control")
    rng = np.random.default_rng(100 + seed)
    n, m = int(rng.integers(1, 7)), int(rng.integers(1, 4))
    A = rng.standard_normal((n, n))  # possibly unstable
    B = rng.standard_normal((n, m))
    W = rng.standard_normal((n + m, n + m))
    J = W @ W.T + 0.1 * np.eye(n + m)
    Q, R, S = J[:n, :n], J[n:, n:], J[:n, n:]
    X = realize.care(A, B, Q, R, S)
    np.testing.assert_allclose(
        X, sla.solve_continuous_are(A, B, Q, R, s=S), rtol=1e-8, atol=1e-10 * np.abs(X).max()
    )
    Xc = control.care(A, B, Q, R, S, np.eye(n))[0]
    np.testing.assert_allclose(X, Xc, rtol=1e-8, atol=1e-10 * np.abs(X).max())
    res = care_residual(A, B, Q, R, S, X)
    assert np.linalg.norm(res, 1) <= 1e-10 * max(1.0, np.linalg.norm(A.T @ X, 1))
    F = np.linalg.solve(R, B.T @ X + S.T)
    assert np.linalg.eigvals(A - B @ F).real.max() < 0
    # descriptor form: the same equation after E^-1 from the left is the standard one
    E = np.eye(n) + 0.3 * rng.standard_normal((n, n))
    XE = realize.care(A, B, Q, R, S, E)
    Y = realize.care(np.linalg.solve(E, A), np.linalg.solve(E, B), Q, R, S)
    np.testing.assert_allclose(E.T @ XE @ E, Y, rtol=1e-7, atol=1e-9 * np.abs(Y).max())


@pytest.mark.parametrize("scale", [1e-24, 1.0, 1e20])
def test_care_scale_invariant(scale):
    A, B = np.array([[0.0, 1.0], [0.0, 0.0]]), np.array([[0.0], [1.0]])
    X1 = realize.care(A, B, np.eye(2), [[1.0]])
    Xs = realize.care(A, B, scale * np.eye(2), [[scale]])
    np.testing.assert_allclose(Xs / scale, X1, rtol=1e-12)
    # the double integrator: X = [[sqrt(3), 1], [1, sqrt(3)]]
    np.testing.assert_allclose(X1, [[np.sqrt(3), 1.0], [1.0, np.sqrt(3)]], rtol=1e-13)


def test_care_errors():
    A, B = np.diag([1.0, -1.0]), np.array([[0.0], [1.0]])
    with pytest.raises(NotStabilizableError, match="care"):  # unstable mode, no input
        realize.care(A, B, np.eye(2), [[1.0]])
    with pytest.raises(NotStabilizableError, match="care"):  # integrator the cost ignores
        realize.care([[0.0]], [[1.0]], [[0.0]], [[1.0]])
    # python-control's test_raise: shapes and asymmetric weights
    A = np.array([[1.0, 0.0], [-1.0, -1.0]])
    Q = np.array([[2.0, 1.0], [1.0, 2.0]])
    Qfs = np.array([[2.0, 1.0], [-1.0, 2.0]])
    B = np.eye(2)
    for solve in (realize.care, realize.dare):
        with pytest.raises(ShapeError, match="A"):
            solve(np.array([[1.0, 0.0, 0.0], [-1.0, -1.0, 0.0]]), B, Q, Q)
        with pytest.raises(ShapeError, match="Q"):
            solve(A, B, np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 0.0]]), Q)
        with pytest.raises(ShapeError, match="B"):
            solve(A, np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), Q, Q)
        with pytest.raises(ShapeError, match="E"):
            solve(A, B, Q, Q, None, np.ones((3, 2)))
        with pytest.raises(ShapeError, match="S"):
            solve(A, B, Q, Q, np.zeros((2, 3)))
        with pytest.raises(InvalidValueError, match="Q: expected a symmetric"):
            solve(A, B, Qfs, Q)
        with pytest.raises(InvalidValueError, match="R: expected a symmetric"):
            solve(A, B, Q, Qfs)
        with pytest.raises(InvalidValueError, match="E: expected a nonsingular"):
            solve(A, B, Q, Q, None, np.ones((2, 2)))
        with pytest.raises(realize.errors.NonFiniteError, match="A"):
            solve(np.full((2, 2), np.nan), B, Q, Q)
    with pytest.raises(InvalidValueError, match="R: expected a nonsingular"):
        realize.care(A, B, Q, np.diag([1.0, 0.0]))
