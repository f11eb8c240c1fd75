"""Bilinear state-space models: simulation, stability, identification, Carleman."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

import realize
from realize.bilinear import (
    BilinearStateSpace,
    bilinear_recursion,
    bilinear_recursion_reference,
    carleman,
    carleman_lift,
    identify_bilinear,
)
from realize.errors import (
    DataError,
    InvalidValueError,
    NonFiniteError,
    NotStableError,
    OrderError,
    ShapeError,
)
from realize.testing import random_stable_matrix, random_statespace


def random_bilinear(rng, n, m, p, radius=0.6, nscale=0.2, noise=False):
    A = random_stable_matrix(rng, n, radius)
    N = nscale * rng.standard_normal((m, n, n)) / np.sqrt(n)
    B = rng.standard_normal((n, m))
    C = rng.standard_normal((p, n))
    D = rng.standard_normal((p, m))
    kw = dict(Q=0.01 * np.eye(n), R=0.01 * np.eye(p)) if noise else {}
    return BilinearStateSpace(A, N, B, C, D, **kw)


# ------------------------------------------------------------------ simulation
@settings(max_examples=25)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 6), m=st.integers(0, 3), T=st.integers(0, 300))
def test_compiled_recursion_matches_plain_loop(seed, n, m, T):
    rng = np.random.default_rng(seed)
    A = random_stable_matrix(rng, n, 0.9)
    N = 0.3 * rng.standard_normal((m, n, n))
    u = rng.standard_normal((T, m))
    u[rng.uniform(size=u.shape) < 0.2] = 0.0  # exercise the skipped zero inputs
    f = rng.standard_normal((T, n))
    x0 = rng.standard_normal(n)
    X = bilinear_recursion(A, N, u, f, x0)
    Xr = bilinear_recursion_reference(A, N, u, f, x0)
    scale = max(1.0, float(np.max(np.abs(Xr))))
    assert np.max(np.abs(X - Xr)) <= 1e-12 * scale


def test_simulate_compiled_vs_reference_with_noise(rng):
    sys = random_bilinear(rng, 4, 2, 3, noise=True)
    u = rng.standard_normal((500, 2))
    y1, x1 = sys.simulate(u, rng=7, return_states=True)
    y2, x2 = sys.simulate(u, rng=7, return_states=True, method="reference")
    assert np.max(np.abs(y1 - y2)) < 1e-12 * max(1, np.max(np.abs(y2)))
    assert np.max(np.abs(x1 - x2)) < 1e-12 * max(1, np.max(np.abs(x2)))
    # explicit noise sequences
    w, v = rng.standard_normal((500, 4)), rng.standard_normal((500, 3))
    y3 = sys.simulate(u, noise=(w, v))
    X = bilinear_recursion_reference(sys.A, sys.N, u, u @ sys.B.T + w, np.zeros(4))
    np.testing.assert_allclose(y3, X[:-1] @ sys.C.T + u @ sys.D.T + v, atol=1e-12)


def test_linear_case_matches_statespace(rng):
    lin = random_statespace(rng, 3, 2, 2)
    bil = BilinearStateSpace.from_linear(lin)
    assert bil.N.shape == (2, 3, 3) and not np.any(bil.N)
    u = rng.standard_normal((200, 2))
    x0 = rng.standard_normal(3)
    np.testing.assert_allclose(
        bil.simulate(u, x0=x0, noise=False), lin.simulate(u, x0=x0, noise=False), atol=1e-12
    )
    assert bil.linear_part().A.tolist() == lin.A.tolist()


def test_similarity_keeps_outputs(rng):
    sys = random_bilinear(rng, 3, 2, 1)
    T = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    u = rng.standard_normal((100, 2))
    np.testing.assert_allclose(
        sys.similarity(T).simulate(u, noise=False), sys.simulate(u, noise=False), atol=1e-10
    )


# ------------------------------------------------------------------ stability
def test_mean_square_radius_scalar():
    a, nn, s2 = 0.6, 0.5, 2.0
    sys = BilinearStateSpace([[a]], [[[nn]]], [[1.0]], [[1.0]])
    assert sys.mean_square_radius(s2) == pytest.approx(a**2 + s2 * nn**2)
    assert sys.is_mean_square_stable(s2)
    assert not sys.is_mean_square_stable(3.0)  # 0.36 + 0.75 > 1
    # a nonzero input mean shifts A to A + mu N
    assert sys.mean_square_radius(s2, [0.4]) == pytest.approx((a + 0.4 * nn) ** 2 + s2 * nn**2)
    P = sys.stationary_covariance(s2)
    assert P[0, 0] == pytest.approx(s2 / (1 - a**2 - s2 * nn**2))
    with pytest.raises(NotStableError):
        sys.stationary_covariance(3.0)


def test_second_moments_monte_carlo(rng):
    # independent trajectories: the sample second moment after a few steps matches the
    # second-moment recursion P <- A P A' + sum_ij S_ij N_i P N_j' + B S B' + Q
    sys = random_bilinear(rng, 3, 2, 1, radius=0.7, nscale=0.5, noise=True)
    Su = np.array([[1.0, 0.3], [0.3, 0.5]])
    R = 20000
    Lu = np.linalg.cholesky(Su)
    x = np.zeros((R, 3))
    P = np.zeros((3, 3))
    op = sys._second_moment_operator(Su)
    for _ in range(6):
        u = rng.standard_normal((R, 2)) @ Lu.T
        w = rng.standard_normal((R, 3)) * 0.1
        x = x @ sys.A.T + np.einsum("ri,ijk,rk->rj", u, sys.N, x) + u @ sys.B.T + w
        P = (op @ P.ravel()).reshape(3, 3) + sys.B @ Su @ sys.B.T + sys.Q
    est = x.T @ x / R
    # standard error from the fourth moments of the sample itself
    se = np.sqrt(np.var(x[:, :, None] * x[:, None, :], axis=0) / R)
    assert np.all(np.abs(est - P) < 5 * se)
    # and the stationary covariance is the fixed point of that recursion
    Ps = sys.stationary_covariance(Su)
    np.testing.assert_allclose(
        (op @ Ps.ravel()).reshape(3, 3) + sys.B @ Su @ sys.B.T + sys.Q, Ps, atol=1e-10
    )


def test_bounded_input_bound_holds(rng):
    for _ in range(3):
        sys = random_bilinear(rng, 3, 2, 2, radius=0.6, nscale=0.3)
        # inputs up to 80% of the admissible size (the contraction holds for every size
        # below it, since ||A||_X < 1 always)
        u_max = np.array([0.5, 0.8])
        u_max = u_max * min(1.0, 0.8 * sys.bounded_input_bound(u_max).admissible_scale)
        bound = sys.bounded_input_bound(u_max)
        assert bound.rate < 1.0
        assert bound.admissible_scale > 1.0 and np.isfinite(bound.state_bound)
        # worst-case-like inputs: random vertices of the box
        for _ in range(5):
            u = rng.choice([-1.0, 1.0], size=(400, 2)) * u_max
            y, x = sys.simulate(u, noise=False, return_states=True)
            assert np.max(np.linalg.norm(x, axis=1)) <= bound.state_bound * (1 + 1e-9)
            assert np.max(np.linalg.norm(y, axis=1)) <= bound.output_bound * (1 + 1e-9)
        # at the admissible scale the contraction rate reaches one
        edge = sys.bounded_input_bound(u_max * bound.admissible_scale * 1.001)
        assert edge.rate >= 1.0 and edge.state_bound == np.inf


def test_bounded_input_bound_scalar_exact():
    sys = BilinearStateSpace([[0.5]], [[[0.25]]], [[1.0]], [[1.0]])
    b = sys.bounded_input_bound(1.0)
    # in one dimension the weighted norm is |x|: rate = 0.5 + 0.25, forcing = 1
    assert b.rate == pytest.approx(0.75)
    assert b.state_bound == pytest.approx(1.0 / 0.25)
    assert b.admissible_scale == pytest.approx(2.0, rel=1e-9)


# ------------------------------------------------------------------ identification
def bilinear_invariants(sys, k=3):
    """Similarity invariants: C A^j B, C A^j N_i A^l B, D, eig(A)."""
    out = [sys.D.ravel()]
    Aj = [np.linalg.matrix_power(sys.A, j) for j in range(k)]
    for j in range(k):
        out.append((sys.C @ Aj[j] @ sys.B).ravel())
        for i in range(sys.m):
            for l in range(k):
                out.append((sys.C @ Aj[j] @ sys.N[i] @ Aj[l] @ sys.B).ravel())
    return np.concatenate(out)


def nrmse(y, yref):
    return float(np.sqrt(np.mean((y - yref) ** 2) / np.var(yref)))


def arx_fit(u, y, na, nb):
    """Least-squares ARX(na, nb) for single-output data; returns a simulator."""
    T = len(y)
    k0 = max(na, nb)
    rows = [
        np.concatenate([-y[t - na : t][::-1], u[t - nb + 1 : t + 1][::-1].ravel()])
        for t in range(k0, T)
    ]
    theta, *_ = np.linalg.lstsq(np.array(rows), y[k0:], rcond=None)

    def simulate(uv):
        ys = np.zeros(len(uv))
        for t in range(len(uv)):
            past_y = np.array([ys[t - j] if t - j >= 0 else 0.0 for j in range(1, na + 1)])
            past_u = np.array(
                [uv[t - j] if t - j >= 0 else np.zeros(uv.shape[1]) for j in range(nb)]
            ).ravel()
            ys[t] = np.concatenate([-past_y, past_u]) @ theta
        return ys

    return simulate


@pytest.mark.parametrize("seed_offset", [0, 1])
def test_identification_recovers_system_up_to_similarity(rng, seed_offset):
    rng = np.random.default_rng(rng.integers(2**31) + seed_offset)
    true = BilinearStateSpace(
        [[0.6, 0.3], [-0.2, 0.5]],
        [[[0.4, 0.0], [0.1, -0.3]]],
        [[1.0], [0.5]],
        [[1.0, 0.4]],
        [[0.1]],
        R=[[1e-4]],
    )
    Tm = rng.standard_normal((2, 2)) + 2 * np.eye(2)
    true = true.similarity(Tm)  # a random basis: the fit cannot simply return the first one
    u = rng.standard_normal((3000, 1))
    y = true.simulate(u, rng=rng)
    fit = identify_bilinear(u, y, 2)
    assert fit.order == 2 and fit.cost < fit.initial_cost
    np.testing.assert_allclose(
        np.sort_complex(np.linalg.eigvals(fit.model.A)),
        np.sort_complex(np.linalg.eigvals(true.A)),
        atol=0.02,
    )
    inv_t, inv_f = bilinear_invariants(true), bilinear_invariants(fit.model)
    assert np.max(np.abs(inv_f - inv_t)) < 0.03 * np.max(np.abs(inv_t))
    # an explicit similarity: the one mapping the fitted to the true observability matrix
    Ob = lambda s: np.vstack([s.C, s.C @ s.A])
    Tsim = np.linalg.solve(Ob(true), Ob(fit.model))  # x_true = Tsim x_fit
    back = fit.model.similarity(Tsim)
    np.testing.assert_allclose(back.N, true.N, atol=0.05)
    np.testing.assert_allclose(back.B, true.B, atol=0.05 * np.max(np.abs(true.B)))
    uv = rng.standard_normal((1000, 1))
    assert nrmse(fit.model.simulate(uv, noise=False), true.simulate(uv, noise=False)) < 0.02


def test_identification_beats_best_linear_model(rng):
    true = BilinearStateSpace(
        [[0.5, 0.4], [-0.3, 0.6]],
        [[[0.5, -0.2], [0.3, 0.4]]],
        [[1.0], [0.0]],
        [[1.0, 0.0]],
        Q=0.01 * np.eye(2),
        R=[[0.01]],
    )
    u = rng.standard_normal((3000, 1))
    y = true.simulate(u, rng=rng)
    uv = rng.standard_normal((1500, 1))
    yv = true.simulate(uv, noise=False)
    fit = identify_bilinear(u, y, 2)
    err_bil = nrmse(fit.model.simulate(uv, noise=False), yv)
    # best linear competitors: the subspace linear model and ARX of several orders
    err_lin = nrmse(fit.linear_model.simulate(uv, noise=False), yv)
    err_arx = min(nrmse(arx_fit(u, y[:, 0], na, na)(uv)[:, None], yv) for na in (1, 2, 4, 8))
    assert err_bil < 0.5 * min(err_lin, err_arx)
    assert err_bil < 0.1


def test_identification_output_error_mode(rng):
    true = random_bilinear(rng, 2, 1, 1, radius=0.6, nscale=0.4)
    u = rng.standard_normal((1500, 1))
    y = true.simulate(u) + 0.01 * rng.standard_normal((1500, 1))
    fit = identify_bilinear(u, y, 2, gain=False)
    assert np.all(fit.K == 0)
    assert fit.cost < 3e-4


def second_order_kernels(sys, k=3):
    """Similarity invariants of the bilinear term: C A^j N_i A^l B, j, l < k."""
    Aj = [np.linalg.matrix_power(sys.A, j) for j in range(k)]
    return np.array(
        [
            sys.C @ Aj[j] @ sys.N[i] @ Aj[l] @ sys.B
            for i in range(sys.m)
            for j in range(k)
            for l in range(k)
        ]
    )


@pytest.mark.parametrize("seed_offset", [0, 1, 2])
def test_subspace_step_already_carries_N(rng, seed_offset):
    # white input: a linear projection of the future on the past cannot see N (the old
    # subspace step returned N = 0 and its model simulated no better than the linear one);
    # the past products u (x) x1 make the subspace estimate alone carry the bilinear term.
    # Its error falls like 1/sqrt(T) (median kernel error 0.066 at T = 3000, 0.037 at
    # T = 12000) and is set by the sample moments of u up to the fourth in the products (it
    # is the same on noise-free data): a Gaussian input (E u^8 = 105) gives a heavy tail of
    # draws (0.24 in 2 of 60), a uniform one of unit variance (E u^8 = 9) stays below 0.06
    # in 60 draws, and keeps A + N u(t) from expanding under a burst of large inputs.
    # Over the 21 draws of REALIZE_SEED_SALT=0..20 at seed_offset 2 the kernel error has
    # median 0.033 and maximum 0.195 (salt 15; the same on noise-free data, and falling
    # only slowly with T on that input sequence: C A N B = 0.31 at T = 6000, 0.26 at 12000,
    # against 0.18):
    # the bound 0.25 keeps that tail and still fails an estimate without N (error 1).
    rng = np.random.default_rng(rng.integers(2**31) + seed_offset)
    true = BilinearStateSpace(
        [[0.6, 0.3], [-0.2, 0.5]],
        [[[0.4, 0.0], [0.1, -0.3]]],
        [[1.0], [0.5]],
        [[1.0, 0.4]],
        [[0.1]],
        R=[[1e-4]],
    ).similarity(rng.standard_normal((2, 2)) + 2 * np.eye(2))
    u = rng.uniform(-np.sqrt(3), np.sqrt(3), (12000, 1))
    fit = identify_bilinear(u, true.simulate(u, rng=rng), 2, refine=False)
    init = fit.initial_model
    kt, kf = second_order_kernels(true), second_order_kernels(init)
    assert np.max(np.abs(kf - kt)) < 0.25 * np.max(np.abs(kt))
    assert np.max(np.abs(bilinear_invariants(init) - bilinear_invariants(true))) < 0.1 * np.max(
        np.abs(bilinear_invariants(true))
    )
    # oracle: the noise-free response of the true system to a fresh input of the same law
    uv = rng.uniform(-np.sqrt(3), np.sqrt(3), (1000, 1))
    yv = true.simulate(uv, noise=False)
    err_init = nrmse(init.simulate(uv, noise=False), yv)
    err_lin = nrmse(fit.linear_model.simulate(uv, noise=False), yv)
    assert err_init < 0.15 and err_init < 0.35 * err_lin


def test_subspace_step_carries_N_with_two_inputs_and_outputs(rng):
    A = np.array([[0.5, 0.2, 0.0], [-0.1, 0.4, 0.3], [0.0, -0.2, 0.6]])
    true = BilinearStateSpace(
        A,
        0.15 * rng.standard_normal((2, 3, 3)),
        rng.standard_normal((3, 2)),
        rng.standard_normal((2, 3)),
        rng.standard_normal((2, 2)),
        R=1e-3 * np.eye(2),
    )
    u = rng.standard_normal((5000, 2))
    fit = identify_bilinear(u, true.simulate(u, rng=rng), 3, refine=False)
    kt, kf = second_order_kernels(true), second_order_kernels(fit.initial_model)
    assert np.max(np.abs(kf - kt)) < 0.15 * np.max(np.abs(kt))
    uv = rng.standard_normal((1000, 2))
    yv = true.simulate(uv, noise=False)
    err_init = nrmse(fit.initial_model.simulate(uv, noise=False), yv)
    assert err_init < 0.5 * nrmse(fit.linear_model.simulate(uv, noise=False), yv)


@pytest.mark.parametrize(
    "A, N",
    [
        ([[0.6]], [[[0.88]]]),  # second-moment radius 1.13
        ([[0.6, 0.3], [-0.2, 0.5]], [[[1.0, 0.0], [0.3, -0.8]]]),  # 1.41, paths a.s. bounded
        ([[1.01]], [[[0.1]]]),  # an unstable A: the outputs grow
    ],
)
def test_identification_rejects_a_mean_square_unstable_system(rng, A, N):
    n = len(A)
    true = BilinearStateSpace(A, N, np.ones((n, 1)), np.eye(1, n), [[0.1]], R=[[1e-4]])
    assert true.mean_square_radius() > 1
    u = rng.standard_normal((3000, 1))
    y = true.simulate(u, rng=rng)
    assert np.all(np.isfinite(y))
    with pytest.raises(NotStableError, match="mean-square stable"):
        identify_bilinear(u, y, n)


def test_identification_accepts_a_system_near_the_mean_square_limit(rng):
    true = BilinearStateSpace([[0.6]], [[[0.75]]], [[1.0]], [[1.0]], R=[[1e-4]])
    assert 0.9 < true.mean_square_radius() < 1
    u = rng.standard_normal((3000, 1))
    fit = identify_bilinear(u, true.simulate(u, rng=rng), 1)
    assert fit.model.N[0, 0, 0] == pytest.approx(0.75, abs=0.02)
    assert fit.model.is_mean_square_stable(input_cov=np.var(u))


def test_identification_errors(rng):
    u = rng.standard_normal((500, 1))
    y = rng.standard_normal((500, 1))
    with pytest.raises(OrderError, match="order"):
        identify_bilinear(u, y, 3, horizon=3)  # 3 block rows of one output: order <= 2
    with pytest.raises(OrderError, match="order"):
        identify_bilinear(u, y, 0)
    with pytest.raises(OrderError, match="order"):
        identify_bilinear(u, y, 4, horizon=3)
    with pytest.raises(DataError, match="samples"):
        identify_bilinear(u[:40], y[:40], 2)
    with pytest.raises(ShapeError, match="u"):
        identify_bilinear(u[:100], y, 2)
    bad = y.copy()
    bad[10] = np.nan
    with pytest.raises(NonFiniteError, match="y"):
        identify_bilinear(u, bad, 2)


# ------------------------------------------------------------------ Carleman
def quadratic_system():
    F1 = np.array([[-1.0, 0.5], [-0.3, -2.0]])
    F2 = np.zeros((2, 4))
    F2[0, 1], F2[1, 0], F2[1, 3] = 0.8, -0.5, 0.3
    G0 = np.array([[[1.0], [0.2]]])
    G1 = np.zeros((1, 2, 2))
    G1[0, 0, 1] = 0.4
    return F1, F2, G0, G1


def test_carleman_error_falls_with_order(rng):
    F1, F2, G0, G1 = quadratic_system()
    phase = rng.uniform(0, np.pi)
    u = lambda t: np.array([0.3 * np.sin(2 * t + phase)])

    def f(t, x):
        return F1 @ x + F2 @ np.kron(x, x) + (G0[0][:, 0] + G1[0] @ x) * u(t)[0]

    x0 = 0.2 * rng.uniform(-1, 1, 2)
    ts = np.linspace(0, 4, 81)
    ref = solve_ivp(f, (0, 4), x0, t_eval=ts, rtol=1e-11, atol=1e-13).y.T
    errs = []
    for order in range(1, 5):
        sys = carleman([F1, F2], [G0, G1], order)
        assert sys.is_continuous and sys.n == sum(2**j for j in range(1, order + 1))
        g = lambda t, z, s=sys: s.A @ z + np.tensordot(u(t), s.N, axes=(0, 0)) @ z + s.B @ u(t)
        z = solve_ivp(g, (0, 4), carleman_lift(x0, order), t_eval=ts, rtol=1e-11, atol=1e-13).y.T
        errs.append(np.max(np.abs(z @ sys.C.T - ref)))
    assert all(e2 < 0.5 * e1 for e1, e2 in zip(errs, errs[1:])), errs


def test_carleman_linear_and_exact_cases():
    # a linear system is its own order-1 Carleman model
    A = np.array([[-1.0, 2.0], [0.0, -3.0]])
    sys = carleman([A], [np.array([[1.0, 0.5]])], 1)
    np.testing.assert_array_equal(sys.A, A)
    np.testing.assert_array_equal(sys.B, [[1.0], [0.5]])
    # dx = a x + x u (already bilinear): the order-1 model is exact
    sys = carleman([[[-0.5]]], [np.zeros((1, 1, 1)), np.ones((1, 1, 1))], 1)
    assert sys.N.tolist() == [[[1.0]]]


def test_carleman_discretized(rng):
    F1, F2, G0, G1 = quadratic_system()
    dt = 0.01
    cont = carleman([F1, F2], [G0, G1], 3)
    disc = carleman([F1, F2], [G0, G1], 3, dt=dt)
    assert disc.dt == dt
    # held input: the discretization matches the continuous bilinear flow with an error
    # O(dt u^2) per unit time: halving dt halves it
    ub = np.array([0.2])
    z0 = carleman_lift([0.1, -0.1], 3)
    g = lambda t, z: cont.A @ z + np.tensordot(ub, cont.N, axes=(0, 0)) @ z + cont.B @ ub
    zc = solve_ivp(g, (0, 0.5), z0, rtol=1e-12, atol=1e-14).y[:, -1]
    errs = []
    for h in (dt, dt / 2):
        d = carleman([F1, F2], [G0, G1], 3, dt=h)
        k = int(round(0.5 / h))
        _, zd = d.simulate(np.tile(ub, (k + 1, 1)), x0=z0, noise=False, return_states=True)
        errs.append(np.max(np.abs(zd[k] - zc)))
    assert errs[0] < 5e-4 and 1.7 < errs[0] / errs[1] < 2.3, errs
    euler = carleman([F1, F2], [G0, G1], 3, dt=dt, method="euler")
    np.testing.assert_allclose(euler.A, np.eye(cont.n) + dt * cont.A)


def test_carleman_errors():
    with pytest.raises(ShapeError, match=r"F\[1\]"):
        carleman([np.eye(2), np.zeros((2, 3))], order=2)
    with pytest.raises(ShapeError, match=r"G\[1\]"):
        carleman([np.eye(2)], [np.zeros((1, 2, 1)), np.zeros((1, 2, 3))], order=2)
    with pytest.raises(InvalidValueError, match="order"):
        carleman([np.eye(2)], order=0)


# ------------------------------------------------------------------ bad inputs, files
def test_bad_inputs(rng):
    A = 0.5 * np.eye(2)
    with pytest.raises(ShapeError, match="N"):
        BilinearStateSpace(A, np.zeros((1, 3, 3)), np.ones((2, 1)))
    with pytest.raises(ShapeError, match="N"):
        BilinearStateSpace(A, np.zeros((2, 2, 2)), np.ones((2, 1)))  # m = 1 from B
    with pytest.raises(ShapeError, match="N"):
        BilinearStateSpace(A, np.zeros((2, 2)), np.ones((2, 2)))
    with pytest.raises(NonFiniteError, match="N"):
        BilinearStateSpace(A, np.full((1, 2, 2), np.nan), np.ones((2, 1)))
    sys = BilinearStateSpace(A, np.zeros((1, 2, 2)), np.ones((2, 1)))
    with pytest.raises(ShapeError, match="u"):
        sys.simulate(np.ones((10, 2)))
    with pytest.raises(NonFiniteError, match="u"):
        sys.simulate(np.full((10, 1), np.nan))
    with pytest.raises(InvalidValueError, match="dt"):
        BilinearStateSpace(A, None, dt=-1.0)
    cont = BilinearStateSpace(-np.eye(2), np.zeros((1, 2, 2)), np.ones((2, 1)), dt=None)
    with pytest.raises(InvalidValueError, match="continuous"):
        cont.simulate(np.ones((3, 1)))
    unstable = BilinearStateSpace([[0.9]], [[[2.0]]], [[1.0]], [[1.0]])
    with pytest.raises(NotStableError, match="overflow"):
        unstable.simulate(100 * rng.standard_normal((5000, 1)))


def test_save_load_roundtrip(tmp_path, rng):
    sys = random_bilinear(rng, 3, 2, 2, noise=True)
    path = tmp_path / "bil.npz"
    realize.save(sys, path)
    back = realize.load(path)
    assert isinstance(back, BilinearStateSpace) and back == sys
    cont = carleman([[[-1.0]], [[0.5]]], [np.ones((1, 1, 1))], 2)
    realize.save(cont, tmp_path / "c.npz")
    assert realize.load(tmp_path / "c.npz") == cont
