"""Lifting realizations into SSMLayer and back: exact outputs, exact round trips."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import realize  # noqa: E402
from realize.errors import InvalidValueError, NotStableError, ShapeError  # noqa: E402
from realize.nn import SSMLayer  # noqa: E402
from realize.nn.lift import (  # noqa: E402
    companion_form,
    companion_matrix,
    contractive_transform,
    defective_eigenvalue,
    modal_form,
    poly_to_reflection,
    reflection_to_poly,
)
from realize.testing import random_statespace  # noqa: E402

PARS = ["dense", "diagonal", "companion", "memory"]


def simulate(sys, u):
    return np.stack([sys.simulate(ui, noise=False) for ui in u])


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def memory_system(rng, n_shift=3):
    """A random model with a nilpotent (FIR) part beside decaying modes, in random coordinates."""
    from scipy.linalg import block_diag

    r, th = rng.uniform(0.3, 0.9), rng.uniform(0.2, 3.0)
    A0 = block_diag(
        np.eye(n_shift, k=-1),
        np.diag(rng.uniform(-0.9, 0.9, 2)),
        r * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]),
    )
    n = A0.shape[0]
    T = rng.standard_normal((n, n)) + 2 * np.eye(n)
    return realize.StateSpace(
        T @ A0 @ np.linalg.inv(T),
        rng.standard_normal((n, 2)),
        rng.standard_normal((2, n)),
        rng.standard_normal((2, 2)),
    )


@pytest.mark.parametrize("par", PARS)
@pytest.mark.parametrize("stable", [False, True])
@pytest.mark.parametrize("modes", ["complex", "blocks"])
def test_lift_is_exact_float64(rng, par, stable, modes):
    for trial in range(2):
        n, m, p = rng.integers(1, 7), rng.integers(1, 3), rng.integers(1, 3)
        sys = (
            memory_system(rng) if par == "memory" and trial % 2 else random_statespace(rng, n, m, p)
        )
        layer = SSMLayer.from_realization(sys, par, stable=stable, modes=modes, dtype=torch.float64)
        u = rng.standard_normal((2, 50, sys.m))
        ref = simulate(sys, u)
        for mode in ("fft", "scan", "recurrent"):
            y = layer(torch.as_tensor(u), mode=mode).detach().numpy()
            assert rel(y, ref) < 1e-10, (mode, trial)
        back = layer.to_realization()
        assert back.n == sys.n
        assert rel(back.markov(30), sys.markov(30)) < 1e-10
        # characteristic polynomials (poles of a nilpotent block are ill-conditioned)
        np.testing.assert_allclose(np.poly(back.A), np.poly(sys.A), atol=1e-9)


@pytest.mark.parametrize("par", PARS)
def test_lift_float32(rng, par):
    for _ in range(3):
        sys = random_statespace(rng, 4, 2, 2, radius=0.9)
        layer = SSMLayer.from_realization(sys, par, dtype=torch.float32)
        u = rng.standard_normal((2, 80, 2))
        y = layer(torch.as_tensor(u, dtype=torch.float32)).detach().numpy()
        assert y.dtype == np.float32
        # float32 rounding of the lifted parameters perturbs the output by eps32 times the
        # condition number of the similarity into the parametrization's coordinates: 1 for
        # dense, up to 5e4 for the companion form of clustered poles (Vandermonde-like)
        cond = np.linalg.cond(companion_form(sys.A)[1]) if par == "companion" else 1.0
        assert rel(y, simulate(sys, u)) < 1e-5 * cond


def test_memory_form_finds_the_shift(rng):
    sys = memory_system(rng, n_shift=3)
    layer = SSMLayer.from_realization(sys, "memory", dtype=torch.float64)
    assert layer.n_shift == 3
    S = layer.shift.numpy()
    assert np.all(np.linalg.matrix_power(S, 3) == 0) and np.all(np.isin(S, (0.0, 1.0)))
    A = layer.to_realization().A
    assert np.allclose(A[:3, 3:], 0) and np.allclose(A[3:, :3], 0)


def test_round_trip_after_training_step(rng):
    """to_realization() reports the layer as trained, in every parametrization."""
    sys = random_statespace(rng, 4, 1, 1)
    u = torch.as_tensor(rng.standard_normal((2, 40, 1)))
    for par in PARS:
        layer = SSMLayer.from_realization(sys, par, stable=True, dtype=torch.float64)
        opt = torch.optim.SGD(layer.parameters(), lr=1e-2)
        layer(u).square().mean().backward()
        opt.step()
        back = layer.to_realization()
        y = layer(u).detach().numpy()
        # normwise: the FFT convolution's error is eps log(L) times the largest output, not
        # each sample's (a step that made the outputs grow to 1e8 missed y[0] = 0.39 by 6e-7)
        assert rel(y, simulate(back, u.numpy())) < 1e-9
        assert back.is_stable()


def test_stable_parametrization_stays_stable(rng):
    sys = random_statespace(rng, 4, 1, 1, radius=0.99)
    u = torch.as_tensor(rng.standard_normal((1, 60, 1)))
    for par in PARS:
        layer = SSMLayer.from_realization(sys, par, stable=True, dtype=torch.float64)
        # big steps that push the poles out, short of where the float64 maps saturate (tanh
        # rounds to 1 beyond |kappa| ~ 19, exp(-exp(nu)) beyond nu ~ -37): lr 1 with gradients
        # clipped to 10 reached kappa ~ 50 and put a companion pole on the circle
        opt = torch.optim.SGD(layer.parameters(), lr=0.3)
        for _ in range(5):
            opt.zero_grad()
            (-layer(u).square().mean()).backward()
            torch.nn.utils.clip_grad_norm_(layer.parameters(), 10.0)
            opt.step()
        assert np.max(np.abs(layer.poles())) < 1.0, par


def test_gradients_match_finite_differences(rng):
    sys = random_statespace(rng, 3, 1, 2)
    u = torch.as_tensor(rng.standard_normal((1, 12, 1)))
    for par in PARS:
        for stable in (False, True):
            layer = SSMLayer.from_realization(sys, par, stable=stable, dtype=torch.float64)
            # empty parameters (no complex pair, no shift) have no entries to check, and
            # gradcheck refuses their zero strides
            named = [(k, q) for k, q in layer.named_parameters() if q.numel()]
            names, params = [k for k, _ in named], [q for _, q in named]

            def f(*ps, layer=layer, names=names):
                out = torch.func.functional_call(
                    layer, dict(zip(names, ps)), (u,), {"mode": "scan"}
                )
                return out

            assert torch.autograd.gradcheck(
                f, tuple(q.detach().clone().requires_grad_() for q in params)
            )


def test_unstable_with_stable_raises():
    sys = realize.StateSpace([[1.2, 0.0], [0.3, 0.5]], [[1.0], [1.0]], [[1.0, 1.0]])
    for par in PARS:
        with pytest.raises(NotStableError):
            SSMLayer.from_realization(sys, par, stable=True)
        layer = SSMLayer.from_realization(sys, par, stable=False, dtype=torch.float64)
        assert np.isclose(np.max(np.abs(layer.poles())), 1.2)


def test_bad_inputs(rng):
    sys = random_statespace(rng, 3, 2, 1)
    layer = SSMLayer.from_realization(sys, "diagonal")
    with pytest.raises(ShapeError, match=r"u: expected shape \(batch, length, 2\)"):
        layer(torch.zeros(1, 5, 3))
    with pytest.raises(ShapeError, match="state"):
        layer(torch.zeros(1, 5, 2), state=torch.zeros(1, 4))
    with pytest.raises(InvalidValueError, match="parametrization"):
        SSMLayer.from_realization(sys, "toeplitz")
    with pytest.raises(InvalidValueError, match="sys"):
        SSMLayer.from_realization(np.eye(2), "dense")
    jordan = realize.StateSpace([[0.5, 1.0], [0.0, 0.5]], [[0.0], [1.0]], [[1.0, 0.0]])
    with pytest.raises(InvalidValueError):
        SSMLayer.from_realization(jordan, "diagonal")
    derogatory = realize.StateSpace(0.5 * np.eye(2), [[1.0], [1.0]], [[1.0, 0.0]])
    with pytest.raises(InvalidValueError):
        SSMLayer.from_realization(derogatory, "companion")


def test_structure_helpers(rng):
    A = rng.standard_normal((5, 5)) * 0.3
    lr, lc, T = modal_form(A)
    M = T @ A @ np.linalg.inv(T)
    assert np.allclose(np.diag(M)[: len(lr)], lr)
    a, T = companion_form(A)
    np.testing.assert_allclose(T @ A @ np.linalg.inv(T), companion_matrix(a), atol=1e-10)
    np.testing.assert_allclose(
        np.sort_complex(np.roots(np.r_[1, a])), np.sort_complex(np.linalg.eigvals(A)), atol=1e-8
    )
    k = poly_to_reflection(a)
    assert np.all(np.abs(k) < 1)
    np.testing.assert_allclose(reflection_to_poly(k), a, atol=1e-12)
    kt = torch.as_tensor(k)
    np.testing.assert_allclose(reflection_to_poly(kt).numpy(), a, atol=1e-12)
    with pytest.raises(NotStableError):
        poly_to_reflection(np.poly([1.1, 0.2])[1:])
    B = 1.5 * np.array([[0.9, 0.5], [0.0, 0.6]])
    B = B / max(abs(np.linalg.eigvals(B))) * 0.95
    T = contractive_transform(B)
    assert np.linalg.norm(T @ B @ np.linalg.inv(T), 2) < 1


# ------------------------------------------------------------------ defective A
def well_conditioned(rng, n):
    """A random similarity with condition number at most 4."""
    Q1 = np.linalg.qr(rng.standard_normal((n, n)))[0]
    Q2 = np.linalg.qr(rng.standard_normal((n, n)))[0]
    return Q1 @ np.diag(rng.uniform(0.5, 2.0, n)) @ Q2


def delay_chain(n, coordinates, rng):
    """y[t] = u[t - n]: a nilpotent shift A (not diagonalizable) in the given coordinates."""
    A, B, C = np.eye(n, k=-1), np.eye(n, 1), np.eye(1, n, n - 1)
    if coordinates == "random":
        T = rng.standard_normal((n, n)) + 2 * np.eye(n)
    else:
        T = np.linalg.qr(rng.standard_normal((n, n)))[0]
    Ti = np.linalg.inv(T)
    return realize.StateSpace(T @ A @ Ti, T @ B, C @ Ti, [[0.0]])


@pytest.mark.parametrize("n", [2, 3, 4, 6])
@pytest.mark.parametrize("coordinates", ["random", "orthogonal"])
def test_diagonal_refuses_a_delay_chain_and_memory_lifts_it(rng, n, coordinates):
    # rounding splits the zero eigenvalue of the shift into spurious poles ~ eps^(1/n): the
    # diagonal lift used to pass with a warning and output errors ~1e-5 for n = 3
    sys = delay_chain(n, coordinates, rng)
    with pytest.raises(InvalidValueError, match='parametrization="memory"') as err:
        SSMLayer.from_realization(sys, "diagonal", dtype=torch.float64)
    assert str(err.value).startswith("sys: expected a diagonalizable A")
    layer = SSMLayer.from_realization(sys, "memory", dtype=torch.float64)
    u = rng.standard_normal((2, 40, 1))
    y = layer(torch.as_tensor(u)).detach().numpy()
    # oracle: the delay line itself. The lift finds the shift from A in the coordinates T:
    # rounding eps ||A|| is amplified by cond(T) on the way in and again on the way out
    # (measured error / (eps ||A|| cond(T)^2 max|u|) at most 12 over 120 draws); cond(T) is
    # that of the controllability matrix [B, AB, ...] (the identity in the shift's coordinates)
    ref = np.concatenate([np.zeros((2, n, 1)), u[:, :-n]], axis=1)
    ctrb = np.hstack([np.linalg.matrix_power(sys.A, k) @ sys.B for k in range(n)])
    scale = np.linalg.norm(sys.A, 2) * np.linalg.cond(ctrb) ** 2 * np.abs(u).max()
    assert np.abs(y - ref).max() < 100 * np.finfo(float).eps * scale
    assert layer.n_shift == n


def test_diagonal_refuses_an_fir_in_controllable_form():
    fir = realize.StateSpace(np.eye(3, k=1), [[0.0], [0.0], [1.0]], [[0.3, -0.5, 1.0]], [[0.2]])
    with pytest.raises(InvalidValueError, match="memory"):
        SSMLayer.from_realization(fir, "diagonal")


def test_diagonal_refuses_a_jordan_block_away_from_zero(rng):
    T = rng.standard_normal((3, 3)) + 2 * np.eye(3)
    J = np.array([[0.5, 1.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, -0.2]])
    sys = realize.StateSpace(T @ J @ np.linalg.inv(T), rng.standard_normal((3, 1)), np.ones((1, 3)))
    with pytest.raises(InvalidValueError, match="Jordan block at eigenvalue 0.5.*companion"):
        SSMLayer.from_realization(sys, "diagonal")
    layer = SSMLayer.from_realization(sys, "companion", dtype=torch.float64)
    u = rng.standard_normal((1, 30, 1))
    assert rel(layer(torch.as_tensor(u)).detach().numpy(), simulate(sys, u)) < 1e-9


@pytest.mark.parametrize("gap", [0.0, 1e-10, 1e-6, 1e-3])
def test_diagonal_keeps_close_and_repeated_eigenvalues(rng, gap):
    # diagonalizable with (nearly) repeated real and complex eigenvalues in random,
    # well-conditioned coordinates: lifted exactly, no error, no warning. (A repeated real
    # eigenvalue that rounding splits into a conjugate pair with conjugate eigenvectors
    # used to give a singular modal basis in about one draw in five.)
    import warnings

    from scipy.linalg import block_diag

    rot = lambda r, th: r * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    D = block_diag(np.diag([0.5, 0.5 + gap, -0.3, -0.3 - gap]), rot(0.8, 0.7), rot(0.8 + gap, 0.7))
    for _ in range(8):
        T = well_conditioned(rng, 8)
        A = T @ D @ np.linalg.inv(T)
        sys = realize.StateSpace(A, rng.standard_normal((8, 2)), rng.standard_normal((1, 8)))
        assert defective_eigenvalue(A) is None
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            layer = SSMLayer.from_realization(sys, "diagonal", dtype=torch.float64)
        u = rng.standard_normal((2, 50, 2))
        assert rel(layer(torch.as_tensor(u)).detach().numpy(), simulate(sys, u)) < 1e-10
        np.testing.assert_allclose(
            np.sort_complex(layer.poles()), np.sort_complex(np.linalg.eigvals(D)), atol=1e-8
        )


def jordan_matrix(blocks):
    """Real Jordan form from (eigenvalue, size) blocks; a complex eigenvalue gives the real
    2x2 block [[a, -b], [b, a]] with identity couplings."""
    from scipy.linalg import block_diag

    parts = []
    for lam, k in blocks:
        if np.iscomplex(lam):
            R = np.array([[lam.real, -lam.imag], [lam.imag, lam.real]])
            M = np.kron(np.eye(k), R) + np.kron(np.eye(k, k=1), np.eye(2))
        else:
            M = lam.real * np.eye(k) + np.eye(k, k=1)
        parts.append(M)
    return block_diag(*parts)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    blocks=st.lists(
        st.tuples(st.sampled_from([0.0, 0.5, -0.3, 0.9, 0.6 + 0.4j]), st.integers(1, 3)),
        min_size=1,
        max_size=4,
    ),
)
def test_defective_eigenvalue_finds_jordan_blocks(seed, blocks):
    # ground truth: the Jordan structure we build, in well-conditioned random coordinates
    rng = np.random.default_rng(seed)
    J = jordan_matrix(blocks)
    T = well_conditioned(rng, J.shape[0])
    A = T @ J @ np.linalg.inv(T)
    found = defective_eigenvalue(A)
    defective = [lam for lam, k in blocks if k > 1]
    assert (found is not None) == bool(defective)
    if found is not None:
        mu, alg, geo = found
        assert geo < alg
        assert min(abs(mu - lam) for lam in defective) < 1e-6
