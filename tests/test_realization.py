"""Minimal realizations, Kalman decomposition, Gramians, balanced truncation, ERA."""

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

import realize
from realize.errors import (
    DataError,
    InvalidValueError,
    NotStableError,
    OrderError,
    ShapeError,
)
from realize.testing import random_statespace

W = np.linspace(0.0, np.pi, 1501)


def hinf_sampled(a, b):
    """max over the sampled frequencies of the largest singular value of G_a - G_b."""
    return float(np.max(np.linalg.norm(a.freqresp(W) - b.freqresp(W), ord=2, axis=(1, 2))))


def well_conditioned(rng, n):
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return U @ np.diag(rng.uniform(0.5, 2.0, n)) @ V


def planted(rng, n_co, n_cu, n_uo, n_uu, m=2, p=2):
    """A model in Kalman form with the given part sizes, coupled as the theory allows,
    hidden by a well-conditioned similarity."""
    sz = (n_co, n_cu, n_uo, n_uu)
    n = sum(sz)
    o = np.cumsum((0,) + sz)
    blk = [slice(o[i], o[i + 1]) for i in range(4)]
    A = np.zeros((n, n))
    for i in range(4):
        if sz[i]:
            A[blk[i], blk[i]] = random_statespace(rng, sz[i], radius=0.9).A
    for i, j in ((0, 2), (1, 0), (1, 2), (1, 3), (3, 2)):
        A[blk[i], blk[j]] = 0.3 * rng.standard_normal((sz[i], sz[j]))
    B = np.zeros((n, m))
    B[: o[2]] = rng.standard_normal((o[2], m))
    C = np.zeros((p, n))
    C[:, blk[0]] = rng.standard_normal((p, n_co))
    C[:, blk[2]] = rng.standard_normal((p, n_uo))
    sys = realize.StateSpace(A, B, C, rng.standard_normal((p, m)))
    return sys.similarity(well_conditioned(rng, n))


# ---------------------------------------------------------------------- minimal
@pytest.mark.parametrize(
    "sizes", [(4, 2, 2, 0), (3, 1, 1, 2), (5, 0, 3, 0), (2, 3, 0, 1), (6, 0, 0, 0), (1, 2, 2, 2)]
)
def test_minimal_finds_planted_order(rng, sizes):
    control = pytest.importorskip("control")
    for _ in range(3):
        sys = planted(rng, *sizes)
        red = realize.minimal(sys)
        assert red.n == sizes[0]
        k = 3 * sys.n
        np.testing.assert_allclose(
            red.markov(k), sys.markov(k), atol=1e-10 * np.abs(sys.markov(k)).max()
        )
        # python-control (SLICOT TB01PD) agrees on the order
        assert control.minreal(sys.to_control(), verbose=False).nstates == sizes[0]


def test_minimal_keeps_noise_driven_states(rng):
    # state 2 is excited only by the noise: kept with noise=True, dropped with noise=False
    A = np.diag([0.5, 0.3])
    sys = realize.StateSpace(A, [[1.0], [0.0]], [[1.0, 1.0]], K=[[0.0], [0.4]], Lambda=[[1.0]])
    kept = realize.minimal(sys)
    assert kept.n == 2 and kept.has_innovation_form
    dropped = realize.minimal(sys, noise=False)
    assert dropped.n == 1 and not dropped.has_innovation_form
    # with a noise model, the reduced model keeps Q, R, S restricted consistently
    noisy = random_statespace(rng, 4, 1, 1, noise=True)
    big = realize.StateSpace(
        sla.block_diag(noisy.A, [[0.2]]),
        np.vstack([noisy.B, [[0.0]]]),
        np.hstack([noisy.C, [[0.0]]]),
        noisy.D,
        Q=sla.block_diag(noisy.Q, [[0.0]]),
        R=noisy.R,
        S=np.vstack([noisy.S, [[0.0]]]),
    )
    red = realize.minimal(big)
    assert red.n == 4
    np.testing.assert_allclose(
        red.innovation_form().Lambda, noisy.innovation_form().Lambda, rtol=1e-8
    )


# ---------------------------------------------------------- Kalman decomposition
@pytest.mark.parametrize("sizes", [(3, 2, 2, 1), (2, 1, 1, 0), (4, 0, 2, 2)])
def test_kalman_decomposition(rng, sizes):
    sys = planted(rng, *sizes)
    kd = realize.kalman_decomposition(sys)
    assert kd.sizes == sizes
    o = np.cumsum((0,) + sizes)
    blk = [slice(o[i], o[i + 1]) for i in range(4)]
    A, B, C = kd.sys.A, kd.sys.B, kd.sys.C
    for i, j in ((0, 1), (0, 3), (2, 0), (2, 1), (2, 3), (3, 0), (3, 1)):
        assert np.all(A[blk[i], blk[j]] == 0.0)
    assert np.all(B[o[2] :] == 0.0)
    assert np.all(C[:, blk[1]] == 0.0) and np.all(C[:, blk[3]] == 0.0)
    np.testing.assert_allclose(kd.T @ sys.A, kd.sys.A @ kd.T, atol=1e-10)
    k = 3 * sys.n
    np.testing.assert_allclose(
        kd.controllable_observable.markov(k),
        sys.markov(k),
        atol=1e-10 * np.abs(sys.markov(k)).max(),
    )
    assert kd.controllable_observable.n == sizes[0]


# ------------------------------------------------------------ Gramians and HSV
@pytest.mark.parametrize("seed", range(5))
def test_gramians_and_hankel_singular_values(seed):
    control = pytest.importorskip("control")
    sys = random_statespace(seed, 7, 2, 3)
    P, Q = realize.gramians(sys)
    np.testing.assert_allclose(
        sys.A @ P @ sys.A.T + sys.B @ sys.B.T, P, atol=1e-12 * np.abs(P).max()
    )
    np.testing.assert_allclose(
        sys.A.T @ Q @ sys.A + sys.C.T @ sys.C, Q, atol=1e-12 * np.abs(Q).max()
    )
    hsv = realize.hankel_singular_values(sys)
    ref = np.sqrt(np.sort(np.linalg.eigvals(P @ Q).real)[::-1])
    np.testing.assert_allclose(hsv, ref, rtol=1e-8)
    # python-control's hsvd is continuous-time only; Hankel singular values are invariant
    # under the bilinear map z = (1 + s) / (1 - s)
    n = sys.n
    E = np.linalg.inv(sys.A + np.eye(n))
    cs = control.ss(
        E @ (sys.A - np.eye(n)),
        np.sqrt(2) * E @ sys.B,
        np.sqrt(2) * sys.C @ E,
        sys.D - sys.C @ E @ sys.B,
    )
    np.testing.assert_allclose(hsv, control.hsvd(cs), rtol=1e-9)


# --------------------------------------------------------- balanced truncation
@pytest.mark.parametrize("method", ["truncate", "spa"])
@pytest.mark.parametrize("seed", range(6))
def test_balanced_truncation_bounds(seed, method):
    rng = np.random.default_rng(seed)
    sys = random_statespace(
        rng, int(rng.integers(3, 13)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    )
    hsv = realize.hankel_singular_values(sys)
    for r in range(sys.n):
        res = realize.balanced_truncation(sys, r, method=method)
        assert res.model.n == r and res.model.is_stable()
        err = hinf_sampled(sys, res.model)
        # the bound is attained for r = n - 1 (at z = -1 for SPA): allow the absolute
        # accuracy of the computed Hankel singular values, ~eps * sigma_1 * cond
        assert err <= res.error_bound + 1e-9 * hsv[0]
        assert res.error_bound == pytest.approx(2 * hsv[r:].sum())
        # the lower bound holds for the true H-infinity norm; sampling can only miss the
        # peak, so allow the grid's resolution
        assert hsv[r] <= err * 1.02 + 1e-12
    if method == "spa":  # singular perturbation matches the DC gain exactly
        g1 = sys.freqresp([0.0])
        np.testing.assert_allclose(res.model.freqresp([0.0]), g1, atol=1e-10 * np.abs(g1).max())


@pytest.mark.parametrize("alias", ["singular-perturbation", "matchdc"])
def test_balanced_truncation_method_aliases_are_deprecated(alias):
    sys = random_statespace(3, 5, 1, 1)
    with pytest.warns(DeprecationWarning, match=f"method='{alias}' is deprecated.*'spa'"):
        old = realize.balanced_truncation(sys, 2, method=alias).model
    new = realize.balanced_truncation(sys, 2, method="spa").model
    np.testing.assert_array_equal(old.A, new.A)
    with pytest.raises(InvalidValueError, match="method"):
        realize.balanced_truncation(sys, 2, method="singular perturbation")


def test_balanced_truncation_matches_slicot_discrete():
    slycot = pytest.importorskip("slycot")
    for seed in range(4):
        sys = random_statespace(seed, 8, 2, 2)
        n, m, p = 8, 2, 2
        for r in (2, 5):
            ours = realize.balanced_truncation(sys, r).model
            Nr, Ar, Br, Cr, _ = slycot.ab09ad(
                "D", "B", "N", n, m, p, sys.A.copy(), sys.B.copy(), sys.C.copy(), nr=r, tol=0.0
            )
            ref = realize.StateSpace(Ar[:Nr, :Nr], Br[:Nr], Cr[:, :Nr], sys.D)
            assert hinf_sampled(ours, ref) < 1e-10 * np.abs(sys.freqresp(W)).max()
            # SPA: SLICOT AB09ND, balancing-free variant (same transfer function)
            ours = realize.balanced_truncation(sys, r, method="spa").model
            out = slycot.ab09nd(
                "D",
                "N",
                "N",
                n,
                m,
                p,
                sys.A.copy(),
                sys.B.copy(),
                sys.C.copy(),
                sys.D.copy(),
                alpha=1.0,
                nr=r,
                tol1=0.0,
                tol2=0.0,
            )
            Nr, Ar, Br, Cr, Dr = out[:5]
            ref = realize.StateSpace(Ar[:Nr, :Nr], Br[:Nr], Cr[:, :Nr], Dr)
            assert hinf_sampled(ours, ref) < 1e-10 * np.abs(sys.freqresp(W)).max()


def test_python_control_balred_on_the_bilinear_image_obeys_the_same_bounds():
    """python-control's balred is continuous-time only: reduce the bilinear image, map back.

    It is a different approximation from discrete balanced truncation (truncation does not
    commute with the bilinear map) but obeys the same bounds; the two errors are close."""
    control = pytest.importorskip("control")
    pytest.importorskip("slycot")
    for seed in range(3):
        sys = random_statespace(seed, 8, 2, 2)
        n = sys.n
        E = np.linalg.inv(sys.A + np.eye(n))
        cs = control.ss(
            E @ (sys.A - np.eye(n)),
            np.sqrt(2) * E @ sys.B,
            np.sqrt(2) * sys.C @ E,
            sys.D - sys.C @ E @ sys.B,
        )
        for r in (2, 4):
            red_c = control.balred(cs, r, method="truncate")
            F = np.linalg.inv(np.eye(r) - red_c.A)  # back: z = (1 + s) / (1 - s)
            back = realize.StateSpace(
                F @ (np.eye(r) + red_c.A),
                np.sqrt(2) * F @ red_c.B,
                np.sqrt(2) * red_c.C @ F,
                red_c.D + red_c.C @ F @ red_c.B,
            )
            ours = realize.balanced_truncation(sys, r)
            e_theirs, e_ours = hinf_sampled(sys, back), hinf_sampled(sys, ours.model)
            hsv = ours.hankel_singular_values
            for e in (e_theirs, e_ours):
                assert hsv[r] <= e * 1.02 and e <= ours.error_bound + 1e-9 * hsv[0]


@given(
    st.integers(2, 9),
    st.integers(1, 3),
    st.integers(1, 3),
    st.integers(0, 2**31 - 1),
    st.sampled_from(["truncate", "spa"]),
)
def test_balanced_truncation_property(n, m, p, seed, method):
    sys = random_statespace(seed, n, m, p)
    r = n // 2
    res = realize.balanced_truncation(sys, r, method=method)
    err = hinf_sampled(sys, res.model)
    assert res.hankel_singular_values[r] <= err * 1.02 + 1e-12
    assert err <= res.error_bound + 1e-9 * res.hankel_singular_values[0]
    # reducing to the full order changes nothing
    full = realize.balanced_truncation(sys, n, method=method)
    assert hinf_sampled(sys, full.model) < 1e-9 * max(1.0, np.abs(sys.freqresp(W)).max())


def test_balanced_truncation_bad_inputs():
    unstable = realize.StateSpace([[1.2, 0.0], [0.0, 0.5]], [[1.0], [1.0]], [[1.0, 1.0]])
    with pytest.raises(NotStableError, match="spectral radius 1.2"):
        realize.balanced_truncation(unstable, 1)
    with pytest.raises(NotStableError):
        realize.gramians(unstable)
    with pytest.raises(NotStableError):
        realize.hankel_singular_values(unstable)
    sys = random_statespace(0, 4)
    for bad in (-1, 5, 1.5, "two"):
        with pytest.raises(OrderError, match="order"):
            realize.balanced_truncation(sys, bad)
    with pytest.raises(InvalidValueError, match="method"):
        realize.balanced_truncation(sys, 2, method="optimal")
    nonminimal = realize.StateSpace(np.diag([0.5, 0.3]), [[1.0], [0.0]], [[1.0, 1.0]])
    with pytest.raises(OrderError, match="not minimal"):
        realize.balanced_truncation(nonminimal, 2)
    assert realize.balanced_truncation(nonminimal, 1).model.n == 1


# -------------------------------------------------------------------------- ERA
def match_poles(a, b):
    D = np.abs(a[:, None] - b[None, :])
    i, j = linear_sum_assignment(D)
    return float(D[i, j].max())


@pytest.mark.parametrize("seed", range(12))
def test_era_recovers_poles(seed):
    rng = np.random.default_rng(seed)
    n, m, p = int(rng.integers(1, 13)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    sys = random_statespace(rng, n, m, p, radius=0.9)
    model, sv = realize.era(sys.markov(4 * n + 10))
    assert model.n == n
    assert match_poles(sys.poles(), model.poles()) < 1e-8
    k = 5 * n
    np.testing.assert_allclose(
        model.markov(k), sys.markov(k), atol=1e-10 * np.abs(sys.markov(k)).max()
    )
    assert sv[n] < 1e-10 * sv[0] < sv[n - 1]


def test_era_with_markov_from_data(rng):
    sys = random_statespace(rng, 4, 2, 2, radius=0.6)
    u = rng.standard_normal((3000, 2))
    y = sys.simulate(u)
    g = realize.markov_from_data(y, u, 60)
    np.testing.assert_allclose(g, sys.markov(60), atol=1e-9)
    model, _ = realize.era(g, order=4)
    assert match_poles(sys.poles(), model.poles()) < 1e-6
    # with output noise the Markov estimates are consistent and the largest gap picks n
    yn = y + 0.01 * rng.standard_normal(y.shape)
    g = realize.markov_from_data(yn, u, 40)
    model, sv = realize.era(g)
    assert model.n == 4
    assert match_poles(sys.poles(), model.poles()) < 0.05


def test_era_and_markov_from_data_bad_inputs(rng):
    with pytest.raises(ShapeError, match="markov"):
        realize.era(np.ones((5, 2)))
    with pytest.raises(OrderError):
        realize.era(np.ones((2, 1, 1)))
    sys = random_statespace(0, 3)
    with pytest.raises(OrderError, match="order"):
        realize.era(sys.markov(9), order=9)
    with pytest.raises(OrderError, match="rows, cols"):
        realize.era(sys.markov(9), rows=6, cols=6)
    with pytest.raises(OrderError, match="numerical rank"):
        realize.era(sys.markov(20), order=6)
    with pytest.raises(realize.errors.NonFiniteError):
        realize.era(np.full((6, 1, 1), np.nan))
    u = rng.standard_normal((100, 1))
    with pytest.raises(ShapeError, match=r"u: expected as many samples as y \(100\)"):
        realize.markov_from_data(np.zeros(100), u[:50], 5)
    with pytest.raises(DataError, match="samples"):
        realize.markov_from_data(np.zeros(20), u[:20], 15)
    with pytest.raises(DataError, match="persistently exciting"):
        realize.markov_from_data(np.zeros(100), np.ones(100), 5)


# ------------------------------------------------------------------ continuous time
def _continuous(rng, n, m, p, shift=0.5):
    """A stable continuous-time model (python-control) with poles left of -shift."""
    import control

    A = rng.standard_normal((n, n))
    A -= (np.max(np.linalg.eigvals(A).real) + shift + rng.uniform(0, 1)) * np.eye(n)
    return control.ss(
        A, rng.standard_normal((n, m)), rng.standard_normal((p, n)), rng.standard_normal((p, m))
    )


def _ct_response(sys, w):
    """(N, p, m) response at s = i w of a ContinuousStateSpace or python-control model."""
    A, B, C, D = (np.asarray(X) for X in (sys.A, sys.B, sys.C, sys.D))
    n = A.shape[0]
    return np.array([C @ np.linalg.solve(1j * x * np.eye(n) - A, B) + D for x in w])


def _ct(sys):
    from realize.discretize import ContinuousStateSpace

    return ContinuousStateSpace(*(np.asarray(X) for X in (sys.A, sys.B, sys.C, sys.D)), None, None)


# python-control's own cases (control/tests/modelsimp_test.py), as data. The balanced
# realization computed in MATLAB for (s^3 + 11 s^2 + 45 s + 32) / (s^4 + 15 s^3 + 60 s^2
# + 200 s + 60), and its controllable canonical realization.
_BAL_A = [
    [-1.958, -1.194, 1.824, -1.464],
    [-1.194, -0.8344, 2.563, -1.351],
    [-1.824, -2.563, -1.124, 2.704],
    [-1.464, -1.351, -2.704, -11.08],
]
_BAL_B = [[-0.9057], [-0.4068], [-0.3263], [-0.3474]]
_BAL_C = [[-0.9057, -0.4068, 0.3263, -0.3474]]
_CCF = (
    [
        [-15.0, -7.5, -6.25, -1.875],
        [8.0, 0.0, 0.0, 0.0],
        [0.0, 4.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
    ],
    [[2.0], [0.0], [0.0], [0.0]],
    [[0.5, 0.6875, 0.7031, 0.5]],
    [[0.0]],
)


def test_hsvd_python_control_case():
    import control

    from realize.discretize import ContinuousStateSpace

    ct = ContinuousStateSpace(
        [[1.0, -2.0], [3.0, -4.0]], [[5.0], [7.0]], [[6.0, 8.0]], [[9.0]], None, None
    )
    hsv = realize.hankel_singular_values(ct)
    np.testing.assert_allclose(hsv, [24.42686, 0.5731395], rtol=1e-6)  # from MATLAB
    np.testing.assert_allclose(hsv, control.hsvd(control.ss(*ct[:4])), rtol=1e-10)
    # a python-control model is accepted as it is
    np.testing.assert_allclose(realize.hankel_singular_values(control.ss(*ct[:4])), hsv)


@pytest.mark.parametrize("seed", range(6))
def test_continuous_gramians_and_hsv_against_python_control(seed):
    import control

    rng = np.random.default_rng(seed)
    sys = _continuous(
        rng, int(rng.integers(1, 8)), int(rng.integers(1, 3)), int(rng.integers(1, 3))
    )
    P, Q = realize.gramians(sys)
    np.testing.assert_allclose(P, control.gram(sys, "c"), rtol=1e-8, atol=1e-12 * np.abs(P).max())
    np.testing.assert_allclose(Q, control.gram(sys, "o"), rtol=1e-8, atol=1e-12 * np.abs(Q).max())
    hsv = realize.hankel_singular_values(_ct(sys))
    # python-control forms eig(Q P): its small values carry errors of ~eps sigma_1 sigma_1
    np.testing.assert_allclose(hsv, control.hsvd(sys), rtol=1e-7, atol=1e-9 * hsv[0])
    # the bilinear image in discrete time has the same Hankel singular values
    n = sys.nstates
    M = np.linalg.inv(np.eye(n) - sys.A)
    Ad, Bd = (np.eye(n) + sys.A) @ M, np.sqrt(2) * M @ sys.B
    Cd, Dd = np.sqrt(2) * sys.C @ M, sys.D + sys.C @ M @ sys.B
    np.testing.assert_allclose(
        realize.hankel_singular_values(realize.StateSpace(Ad, Bd, Cd, Dd)), hsv, rtol=1e-7
    )


def test_balred_python_control_cases():
    """testBalredTruncate / testBalredMatchDC, up to the signs of the balanced states."""
    from realize.discretize import ContinuousStateSpace

    ct = ContinuousStateSpace(*(np.array(X) for X in _CCF), None, None)
    expected = {
        "truncate": (
            [[-1.958, -1.194], [-1.194, -0.8344]],
            [[0.9057], [0.4068]],
            [[0.9057, 0.4068]],
            [[0.0]],
        ),
        "matchdc": (
            [[-4.43094773, -4.55232904], [-4.55232904, -5.36195206]],
            [[1.36235673], [1.03114388]],
            [[1.36235673, 1.03114388]],
            [[-0.08383902]],
        ),
    }
    for method, (A, B, C, D) in expected.items():
        ours = {"truncate": "truncate", "matchdc": "spa"}[method]
        red = realize.balanced_truncation(ct, 2, method=ours).model
        assert isinstance(red, ContinuousStateSpace)
        s = np.sign(red.B[:, 0]) * np.sign(np.array(B)[:, 0])  # the balanced states' signs
        np.testing.assert_allclose(s[:, None] * red.A * s[None, :], A, atol=5e-3)
        np.testing.assert_allclose(s[:, None] * red.B, B, atol=1e-4)
        np.testing.assert_allclose(red.C * s[None, :], C, atol=1e-4)
        np.testing.assert_allclose(red.D, D, atol=1e-4)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("method", ["truncate", "matchdc"])
def test_continuous_balanced_truncation_against_python_control(seed, method):
    import control

    pytest.importorskip("slycot")
    rng = np.random.default_rng(20 + seed)
    sys = _continuous(rng, 7, 2, 2)
    r = 3
    res = realize.balanced_truncation(sys, r, method={"matchdc": "spa"}.get(method, method))
    ref = control.balred(sys, r, method=method)
    w = np.logspace(-2, 2, 40)
    G, Gr, Gref = _ct_response(sys, w), _ct_response(res.model, w), _ct_response(ref, w)
    np.testing.assert_allclose(Gr, Gref, rtol=1e-7, atol=1e-9 * np.abs(G).max())
    err = np.max(np.linalg.norm(G - Gr, ord=2, axis=(1, 2)))
    assert err <= res.error_bound * (1 + 1e-9)
    assert np.max(np.linalg.eigvals(res.model.A).real) < 0
    if method == "matchdc":  # the DC gains agree
        G0, Gr0 = _ct_response(sys, [0.0]), _ct_response(res.model, [0.0])
        np.testing.assert_allclose(Gr0, G0, rtol=1e-9, atol=1e-12 * np.abs(G0).max())


def test_modred_python_control_cases():
    """testModredMatchDC and testModredTruncate, on the continuous-time balanced model."""
    import control

    sys = control.ss(_BAL_A, _BAL_B, _BAL_C, 0.0)
    red = realize.modred(sys, [2, 3], "matchdc")
    np.testing.assert_allclose(red.A, [[-4.431, -4.552], [-4.552, -5.361]], atol=1e-3)
    np.testing.assert_allclose(red.B, [[-1.362], [-1.031]], atol=1e-3)
    np.testing.assert_allclose(red.C, [[-1.362, -1.031]], atol=1e-3)
    np.testing.assert_allclose(red.D, [[-0.08384]], atol=1e-2)
    red = realize.modred(sys, [2, 3], "truncate")
    np.testing.assert_allclose(red.A, np.array(_BAL_A)[:2, :2])
    np.testing.assert_allclose(red.B, np.array(_BAL_B)[:2])
    np.testing.assert_allclose(red.C, np.array(_BAL_C)[:, :2])


@pytest.mark.parametrize("seed", range(5))
def test_modred_random_mimo_against_python_control(seed):
    import control

    rng = np.random.default_rng(40 + seed)
    sys = _continuous(rng, 6, 2, 3)
    elim = sorted(rng.choice(6, size=2, replace=False).tolist())
    for method in ("matchdc", "truncate"):
        ours = realize.modred(_ct(sys), elim, method)
        ref = control.modred(sys, elim, method)
        for name in "ABCD":
            np.testing.assert_allclose(
                getattr(ours, name), getattr(ref, name), rtol=1e-10, atol=1e-12
            )
    # discrete time: truncation as python-control; matched DC gain (which python-control
    # refuses in discrete time) is the bilinear image of the continuous one
    dsys = random_statespace(rng, 6, 2, 3)
    ours = realize.modred(dsys, elim, "truncate")
    ref = control.modred(dsys.to_control(), elim, "truncate")
    for name in "ABCD":
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-12)
    red = realize.modred(dsys, elim)
    np.testing.assert_allclose(red.dcgain(), dsys.dcgain(), rtol=1e-10)
    n, I = 6, np.eye(6)
    M = np.linalg.inv(I + dsys.A)  # z = (1 + s) / (1 - s), coordinates kept
    Ac, Bc = (dsys.A - I) @ M, np.sqrt(2) * M @ dsys.B
    Cc, Dc = np.sqrt(2) * dsys.C @ M, dsys.D - dsys.C @ M @ dsys.B
    cr = control.modred(control.ss(Ac, Bc, Cc, Dc), elim, "matchdc", warn_unstable=False)
    N = np.linalg.inv(np.eye(n - 2) - cr.A)
    back = realize.StateSpace(
        (np.eye(n - 2) + cr.A) @ N,
        np.sqrt(2) * N @ cr.B,
        np.sqrt(2) * cr.C @ N,
        cr.D + cr.C @ N @ cr.B,
    )
    assert hinf_sampled(red, back) < 1e-10 * np.abs(dsys.freqresp(W)).max()


def test_modred_discrete_matchdc_is_the_balanced_spa(rng):
    sys = random_statespace(rng, 6, 2, 2)
    bal, _ = realize.canonical_form(sys, "balanced")
    spa = realize.balanced_truncation(sys, 2, method="spa").model
    red = realize.modred(bal, [2, 3, 4, 5])
    assert hinf_sampled(red, spa) < 1e-9 * np.abs(sys.freqresp(W)).max()
    # labels: kept states keep their names, noise model dropped
    named = random_statespace(rng, 3, 1, 1, noise=True).replace(state_names=["a", "b", "c"])
    red = realize.modred(named, [1])
    assert red.state_names == ("a", "c") and not red.has_noise_model


def test_modred_bad_inputs(rng):
    sys = random_statespace(rng, 3, 1, 1)
    for elim in ([3], [-1], [0, 0], [1.5], ["x"], [None]):
        with pytest.raises(InvalidValueError, match="elim"):
            realize.modred(sys, elim)
    with pytest.raises(InvalidValueError, match="method"):
        realize.modred(sys, [0], method="balanced")
    integrator = realize.StateSpace(np.diag([0.5, 1.0]), [[1.0], [1.0]], [[1.0, 1.0]])
    with pytest.raises(InvalidValueError, match="steady state"):
        realize.modred(integrator, [1])
    assert realize.modred(integrator, [1], "truncate").n == 1
    assert realize.modred(sys, []).n == 3


def test_continuous_time_errors():
    from realize.discretize import ContinuousStateSpace

    unstable = ContinuousStateSpace([[0.1]], [[1.0]], [[1.0]], [[0.0]], None, None)
    with pytest.raises(NotStableError, match="left"):
        realize.hankel_singular_values(unstable)
    with pytest.raises(NotStableError, match="left"):
        realize.balanced_truncation(unstable, 1)
    bad = ContinuousStateSpace(np.ones((2, 3)), [[1.0]], [[1.0]], [[0.0]], None, None)
    with pytest.raises(ShapeError, match="sys.A"):
        realize.gramians(bad)


def test_result_reprs_are_compact(rng):
    sys = random_statespace(rng, 40, 2, 2)
    res = realize.balanced_truncation(sys, 4)
    text = repr(res)
    assert "\n" not in text and len(text) < 250 and "array(" not in text
    assert text.startswith("BalancedTruncation(model=StateSpace(n=4, m=2, p=2")
    assert "(40 values)" in text
    kd = realize.kalman_decomposition(random_statespace(rng, 30, 2, 2))
    text = repr(kd)
    assert "\n" not in text and "array(" not in text and "<(30, 30) float64 array>" in text
