"""StateSpace: validation, analysis methods, conversions and interop."""

import control
import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

import realize
from realize import StateSpace
from realize.errors import (
    InvalidValueError,
    NonFiniteError,
    NotPositiveSemidefiniteError,
    NotStabilizableError,
    NotStableError,
    ShapeError,
)
from realize.testing import random_statespace

seeds = st.integers(0, 2**32 - 1)


def test_defaults_and_sizes():
    sys = StateSpace(np.diag([0.5, 0.2]))
    assert (sys.n, sys.m, sys.p) == (2, 0, 2)
    np.testing.assert_array_equal(sys.C, np.eye(2))
    assert sys.D.shape == (2, 0)
    assert not sys.has_noise_model and not sys.has_innovation_form
    sys = StateSpace([[0.5]], [[1.0]], [[2.0]], Q=[[1.0]])
    np.testing.assert_array_equal(sys.R, [[0.0]])
    np.testing.assert_array_equal(sys.S, [[0.0]])


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"A": np.ones((2, 3))}, ShapeError, "A: expected a square"),
        ({"A": np.eye(2), "B": np.ones((3, 1))}, ShapeError, "B"),
        ({"A": np.eye(2), "C": np.ones((1, 3))}, ShapeError, "C"),
        ({"A": np.eye(2), "B": np.ones((2, 1)), "D": np.ones((2, 2))}, ShapeError, "D"),
        ({"A": [[np.nan]]}, NonFiniteError, "A"),
        ({"A": [[0.5]], "B": [[np.inf]]}, NonFiniteError, "B"),
        ({"A": np.eye(2), "Q": [[1.0, 2.0], [0.0, 1.0]]}, NotPositiveSemidefiniteError, "Q"),
        ({"A": np.eye(2), "Q": -np.eye(2)}, NotPositiveSemidefiniteError, "Q"),
        ({"A": np.eye(2), "R": np.eye(3)}, ShapeError, "R"),
        (
            {"A": [[0.5]], "Q": [[1.0]], "R": [[1.0]], "S": [[5.0]]},
            NotPositiveSemidefiniteError,
            "S",
        ),
        ({"A": [[0.5]], "K": [[1.0]]}, InvalidValueError, "Lambda"),
        ({"A": [[0.5]], "dt": 0.0}, InvalidValueError, "dt"),
        ({"A": [[0.5]], "dt": "x"}, InvalidValueError, "dt"),
        ({"A": [[0.5]], "output_names": ["a", "b"]}, ShapeError, "output_names"),
        ({"A": [["a"]]}, ShapeError, "A"),
    ],
)
def test_bad_inputs(kwargs, exc, match):
    A = kwargs.pop("A")
    with pytest.raises(exc, match=match):
        StateSpace(A, **kwargs)
    assert issubclass(exc, ValueError)


def test_inconsistent_innovation_form_rejected(rng):
    sys = random_statespace(rng, 3, 1, 2, noise=True, innovation=True)
    with pytest.raises(InvalidValueError, match="K, Lambda"):
        StateSpace(
            sys.A, sys.B, sys.C, sys.D, Q=sys.Q, R=sys.R, S=sys.S, K=2 * sys.K, Lambda=sys.Lambda
        )


def test_immutable(rng):
    sys = random_statespace(rng, 2)
    with pytest.raises(AttributeError):
        sys.A = np.eye(2)
    with pytest.raises(ValueError):
        sys.A[0, 0] = 1.0


@given(seed=seeds, n=st.integers(1, 8), m=st.integers(1, 3), p=st.integers(1, 3))
def test_markov_and_freqresp_match_control(seed, n, m, p):
    rng = np.random.default_rng(seed)
    sys = random_statespace(rng, n, m, p)
    h = sys.markov(6)
    _, h_sp = scipy.signal.dimpulse(sys.to_dlti(), n=6)
    for j in range(m):
        np.testing.assert_allclose(h[:, :, j], h_sp[j], rtol=1e-10, atol=1e-12)
    w = np.linspace(0.01, np.pi, 7)
    H = sys.freqresp(w)
    Hc = sys.to_control().frequency_response(w / sys.dt)
    np.testing.assert_allclose(H, np.moveaxis(Hc.complex, -1, 0).reshape(7, p, m), rtol=1e-9)


def test_poles_and_stability(rng):
    sys = random_statespace(rng, 5, radius=0.9)
    assert sys.is_stable() and sys.spectral_radius() <= 0.9 + 1e-9
    assert not StateSpace([[1.01]]).is_stable()
    np.testing.assert_allclose(
        np.sort_complex(sys.poles()), np.sort_complex(np.linalg.eigvals(sys.A))
    )


@given(seed=seeds, n=st.integers(1, 6), m=st.integers(1, 2), p=st.integers(1, 3))
def test_innovation_form_against_scipy_dare(seed, n, m, p):
    rng = np.random.default_rng(seed)
    sys = random_statespace(rng, n, m, p, noise=True)
    inn = sys.innovation_form()
    import scipy.linalg as sla

    P = sla.solve_discrete_are(sys.A.T, sys.C.T, sys.Q, sys.R, s=sys.S)
    Lam = sys.C @ P @ sys.C.T + sys.R
    K = (sys.A @ P @ sys.C.T + sys.S) @ np.linalg.inv(Lam)
    np.testing.assert_allclose(inn.K, K, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(inn.Lambda, Lam, rtol=1e-8, atol=1e-10)
    assert np.max(np.abs(np.linalg.eigvals(sys.A - inn.K @ sys.C))) < 1
    # and back: the implied noise model reproduces the same innovation form
    back = inn.replace(Q=None).noise_model().replace(K=None).innovation_form()
    np.testing.assert_allclose(back.K, inn.K, rtol=1e-7, atol=1e-9)


def test_innovation_form_without_stabilizing_solution():
    # an unstable mode that no output sees and no noise excites: no stabilizing solution
    sys = StateSpace(np.diag([1.5, 0.5]), C=[[0.0, 1.0]], Q=np.diag([0.0, 1.0]), R=[[1.0]])
    with pytest.raises(NotStabilizableError):
        sys.innovation_form()


@given(seed=seeds, n=st.integers(1, 6), m=st.integers(1, 2), p=st.integers(1, 2))
def test_similarity_keeps_io_behaviour(seed, n, m, p):
    rng = np.random.default_rng(seed)
    sys = random_statespace(rng, n, m, p, noise=True, innovation=True)
    T = rng.standard_normal((n, n)) + 3 * np.eye(n)
    new = sys.similarity(T)
    # normwise: T A T^-1 is as non-normal as cond(T) allows, and each power's rounding is
    # eps ||T A T^-1|| ||(T A T^-1)^(k-1)|| ~ eps cond(T)^2 (seed 316721: cond 1.8e4, 2.3e-9)
    scale = np.abs(sys.markov(8)).max()
    tol = max(1e-10, 8 * np.finfo(float).eps * np.linalg.cond(T) ** 2) * scale
    assert np.abs(new.markov(8) - sys.markov(8)).max() <= tol
    np.testing.assert_allclose(new.Q, T @ sys.Q @ T.T, rtol=1e-12)
    # the transformed innovation form is still the one of the transformed noise model, up
    # to the Riccati solver's accuracy in the new coordinates, whose data are cond(T) and
    # whose solution T X T' cond(T)^2 worse conditioned: normwise (seed 1167144, n = 6:
    # cond(T) = 963, relative difference 9.2e-7, 1.5e-4 on an entry 1e-2 of the norm)
    ref = new.replace(K=None).innovation_form()
    rel = np.linalg.norm(ref.K - new.K) / np.linalg.norm(new.K)
    assert rel <= max(1e-8, 1e-11 * np.linalg.cond(T) ** 2), rel
    np.testing.assert_allclose(ref.Lambda, sys.Lambda, rtol=1e-8)
    with pytest.raises(InvalidValueError, match="T"):
        sys.similarity(np.zeros((n, n)))


def test_stationary_covariance(rng):
    sys = random_statespace(rng, 4, noise=True)
    P = sys.stationary_covariance()
    np.testing.assert_allclose(sys.A @ P @ sys.A.T + sys.Q, P, atol=1e-10)
    with pytest.raises(NotStableError):
        StateSpace([[1.5]], Q=[[1.0]]).stationary_covariance()
    with pytest.raises(NotStableError, match="x0"):
        StateSpace([[1.5]], Q=[[1.0]]).simulate(T=3)
    with pytest.raises(InvalidValueError):
        StateSpace([[0.5]]).stationary_covariance()


def test_simulate_bad_inputs(rng):
    sys = random_statespace(rng, 2, 2, 1)
    with pytest.raises(ShapeError, match="u"):
        sys.simulate(np.ones((5, 3)))
    with pytest.raises(ShapeError, match="u"):
        sys.simulate(None, T=5)
    with pytest.raises(ShapeError, match="T"):
        sys.simulate(np.ones((5, 2)), T=4)
    with pytest.raises(NonFiniteError, match="u"):
        sys.simulate(np.full((5, 2), np.nan))
    with pytest.raises(ShapeError, match="x0"):
        sys.simulate(np.ones((5, 2)), x0=np.ones(3))


@given(seed=seeds, n=st.integers(1, 5), m=st.integers(1, 2), p=st.integers(1, 2))
def test_control_round_trip_keeps_transfer_function(seed, n, m, p):
    rng = np.random.default_rng(seed)
    sys = random_statespace(rng, n, m, p, dt=0.01).replace(
        input_names=[f"in{i}" for i in range(m)], output_names=[f"out{i}" for i in range(p)]
    )
    csys = sys.to_control()
    assert csys.dt == 0.01
    back = StateSpace.from_control(csys)
    assert back.input_names == sys.input_names and back.output_names == sys.output_names
    w = np.linspace(0.1, 3, 5)
    np.testing.assert_allclose(back.freqresp(w), sys.freqresp(w), rtol=1e-10)
    # through a transfer function (a different realization, same response)
    if m == 1 and p == 1:
        tf_back = StateSpace.from_control(control.ss2tf(csys))
        np.testing.assert_allclose(tf_back.freqresp(w), sys.freqresp(w), rtol=1e-6)
    dl = StateSpace.from_dlti(sys.to_dlti())
    assert dl.dt == 0.01
    np.testing.assert_allclose(dl.freqresp(w), sys.freqresp(w), rtol=1e-10)


def test_continuous_interop_needs_discretize():
    csys = control.ss([[-1.0]], [[1.0]], [[1.0]], [[0.0]])
    with pytest.raises(InvalidValueError, match="discretize"):
        StateSpace.from_control(csys)
    sys = StateSpace.from_control(csys, discretize="zoh", dt=0.1)
    np.testing.assert_allclose(sys.A, [[np.exp(-0.1)]])
    with pytest.raises(InvalidValueError, match="discretize"):
        StateSpace.from_dlti(scipy.signal.lti([[-1.0]], [[1.0]], [[1.0]], [[0.0]]))
    sys2 = StateSpace.from_dlti(
        scipy.signal.lti([[-1.0]], [[1.0]], [[1.0]], [[0.0]]), discretize="zoh", dt=0.1
    )
    np.testing.assert_allclose(sys2.B, sys.B)


def test_repr_is_readable(rng):
    sys = random_statespace(rng, 3, 1, 1, noise=True).replace(name="plant")
    text = repr(sys)
    assert "n=3" in text and "noise model" in text and "poles" in text and "plant" in text


def test_replace_removes_parts(rng):
    sys = random_statespace(rng, 2, 1, 1, noise=True, innovation=True)
    assert not sys.replace(Q=None).has_noise_model
    assert sys.replace(Q=None).has_innovation_form
    assert not sys.replace(K=None).has_innovation_form
    with pytest.raises(TypeError):
        sys.replace(X=1)


def test_public_names_resolve():
    for name in ("StateSpace", "save", "load", "dare", "dlyap", "c2d", "d2c"):
        assert callable(getattr(realize, name))
    with pytest.raises(AttributeError):
        realize.not_a_name  # noqa: B018


# ---------------------------------------------------------------------- LTI basics
def _same_set(a, b, rtol=1e-6):
    """Equal as multisets of complex numbers (any order), relative to max(1, |z|)."""
    a, b = np.asarray(a, complex).ravel(), list(np.asarray(b, complex).ravel())
    assert len(a) == len(b), (np.sort_complex(a), np.sort_complex(b))
    for z in a:
        k = int(np.argmin([abs(z - w) for w in b]))
        assert abs(z - b[k]) <= rtol * max(1.0, abs(z)), (np.sort_complex(a), b)
        b.pop(k)


def _control_zeros(sys):
    """python-control's zeros (SLICOT AB08ND through slycot); None where slycot fails."""
    pytest.importorskip("slycot")
    try:
        z = sys.to_control().zeros()
    except Exception:  # slycot's ab08nd refuses some workspace sizes ("ldwork")
        return None
    return z[np.isfinite(z)]


# python-control's own cases (control/tests/statesp_test.py), as data: A, B, C, D, zeros
_ZERO_CASES = {
    "sys322": (
        [[-3.0, 4.0, 2.0], [-1.0, -3.0, 0.0], [2.0, 5.0, 3.0]],
        [[1.0, 4.0], [-3.0, -3.0], [-2.0, 1.0]],
        [[4.0, 2.0, -3.0], [1.0, 4.0, 3.0]],
        [[-2.0, 4.0], [0.0, 1.0]],
        [44.41465, -0.490252, -5.924398],
    ),
    "sys222": (
        [[4.0, 1.0], [2.0, -3.0]],
        [[5.0, 2.0], [-3.0, -3.0]],
        [[2.0, -4.0], [0.0, 1.0]],
        [[3.0, 2.0], [1.0, -1.0]],
        [-10.568501, 3.368501],
    ),
    "sys623 (non-square)": (
        np.diag([1.0, 1.0, 3.0, -4.0, -1.0, 3.0]),
        [[0, -1], [-1, 0], [1, -1], [0, 0], [0, 1], [-1, -1]],
        [[1, 0, 0, 1, 0, 0], [0, 1, 0, 1, 0, 1], [0, 0, 1, 0, 0, 1]],
        np.zeros((3, 2)),
        [2.0, -1.0],
    ),
    "no zeros (1 / (s + 1)^2)": ([[-2.0, -1.0], [1.0, 0.0]], [[1.0], [0.0]], [[0.0, 1.0]], 0, []),
}


@pytest.mark.parametrize("case", sorted(_ZERO_CASES))
def test_zeros_python_control_cases(case):
    A, B, C, D, expected = _ZERO_CASES[case]
    z = StateSpace(A, B, C, D).zeros()
    assert z.dtype == complex
    _same_set(z, expected, rtol=1e-6)


@pytest.mark.parametrize("seed", range(40))
def test_zeros_random_mimo_against_python_control(seed):
    """Any shape, D full, zero, of low rank, dependent outputs or inputs (normal rank < min)."""
    rng = np.random.default_rng(seed)
    n, m, p = int(rng.integers(1, 8)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    sys = random_statespace(rng, n, m, p)
    B, C, D = np.array(sys.B), np.array(sys.C), np.array(sys.D)
    kind = seed % 5
    if kind == 1:
        D[:] = 0.0
    elif kind == 2:
        D = np.outer(rng.standard_normal(p), rng.standard_normal(m))
    elif kind == 3 and p > 1:  # an output that repeats a combination of the others
        C[-1], D[-1] = 0.5 * C[0] + 0.2 * C[1 % (p - 1)], 0.5 * D[0] + 0.2 * D[1 % (p - 1)]
    elif kind == 4 and m > 1:  # an input that repeats another
        B[:, -1], D[:, -1] = 2.0 * B[:, 0], 2.0 * D[:, 0]
    sys = sys.replace(B=B, C=C, D=D)
    ref = _control_zeros(sys)
    if ref is None:
        pytest.skip("slycot's ab08nd refused this size")
    _same_set(sys.zeros(), ref, rtol=1e-6)


def test_zeros_square_equal_the_pencil_eigenvalues(rng):
    """Square with nonsingular D: eig(A - B D^-1 C), and the finite eigenvalues of the
    Rosenbrock pencil (scipy.linalg.eigvals), as the old square-only code computed them."""
    import scipy.linalg as sla

    for _ in range(5):
        sys = random_statespace(rng, 6, 2, 2)
        z = sys.zeros()
        _same_set(z, np.linalg.eigvals(sys.A - sys.B @ np.linalg.solve(sys.D, sys.C)), 1e-8)
        M = np.block([[sys.A, sys.B], [sys.C, sys.D]])
        N = sla.block_diag(np.eye(6), np.zeros((2, 2)))
        ev = sla.eigvals(M, N)
        _same_set(z, ev[np.isfinite(ev)], 1e-8)


@pytest.mark.parametrize("seed", range(6))
def test_zeros_planted_structure(seed):
    """Oracles without python-control: tall/fat models built to have known zeros, and the
    rank drop of the system matrix at each zero (its smallest singular values)."""
    rng = np.random.default_rng(seed)
    n = 5
    square = random_statespace(rng, n, 2, 2)
    z0 = square.zeros()
    # tall: a third output that is a combination of the two -> the same zeros
    F = rng.standard_normal((1, 2))
    tall = square.replace(
        C=np.vstack([square.C, F @ square.C]), D=np.vstack([square.D, F @ square.D])
    )
    _same_set(tall.zeros(), z0, 1e-7)
    # fat: a third input that is a combination of the two -> the same zeros
    G = rng.standard_normal((2, 1))
    fat = square.replace(
        B=np.hstack([square.B, square.B @ G]), D=np.hstack([square.D, square.D @ G])
    )
    _same_set(fat.zeros(), z0, 1e-7)
    # fat with an uncontrollable mode at 0.3: an input-decoupling zero (rank [A - z, B] < n)
    T = rng.standard_normal((n, n))
    Ab = np.diag([0.9, -0.5, 0.1, 0.7, 0.3])
    Bb = rng.standard_normal((n, 3))
    Bb[-1] = 0.0
    dec = StateSpace(T @ Ab @ np.linalg.inv(T), T @ Bb, rng.standard_normal((2, n)))
    z = dec.zeros()
    assert np.min(np.abs(z - 0.3)) < 1e-8
    for zk in z:
        P = np.block([[dec.A - zk * np.eye(n), dec.B], [dec.C, dec.D]])
        s = np.linalg.svd(P, compute_uv=False)
        assert s[-1] < 1e-9 * s[0]  # rank n + 1 < n + p: below the normal rank
    # a generic fat or tall model has no zeros
    assert random_statespace(rng, n, 3, 2).zeros().size == 0
    assert random_statespace(rng, n, 1, 3).zeros().size == 0


def test_zeros_edge_shapes():
    # output-only: the unobservable modes
    sys = StateSpace(np.diag([0.5, 0.2, 0.1]), C=[[1.0, 0.0, 0.0]])
    _same_set(sys.zeros(), [0.2, 0.1])
    assert (
        StateSpace(np.zeros((0, 0)), np.zeros((0, 2)), np.zeros((1, 0)), [[1.0, 2.0]]).zeros().size
        == 0
    )
    # a pure delay z^-1 has no finite zero; 1 - 0.5 z^-1 has one at 0.5
    assert StateSpace([[0.0]], [[1.0]], [[1.0]]).zeros().size == 0
    _same_set(StateSpace([[0.0]], [[1.0]], [[-0.5]], [[1.0]]).zeros(), [0.5])


def test_dcgain_against_python_control(rng):
    for _ in range(5):
        sys = random_statespace(rng, 5, 2, 3, dt=0.1)
        np.testing.assert_allclose(sys.dcgain(), sys.to_control().dcgain(), rtol=1e-10)
    # python-control's discrete cases: static gain, averaging filter, differencer, summer
    static = StateSpace(np.zeros((0, 0)), np.zeros((0, 1)), np.zeros((1, 0)), [[2.0]])
    assert static.dcgain().tolist() == [[2.0]]
    np.testing.assert_allclose(StateSpace([[0.5]], [[0.5]], [[1.0]]).dcgain(), [[1.0]])
    np.testing.assert_allclose(StateSpace([[0.0]], [[1.0]], [[-1.0]], [[1.0]]).dcgain(), [[0.0]])
    assert StateSpace([[1.0]], [[1.0]], [[1.0]]).dcgain().tolist() == [[np.inf]]


def test_dcgain_of_a_sampled_model_is_the_continuous_one(rng):
    """ZOH sampling keeps the DC gain: realize.c2d against python-control's continuous dcgain."""
    for _ in range(4):
        A = rng.standard_normal((4, 4)) - 3.0 * np.eye(4)
        B, C, D = (
            rng.standard_normal((4, 2)),
            rng.standard_normal((3, 4)),
            rng.standard_normal((3, 2)),
        )
        sys = realize.c2d(A, B, C, D, dt=0.05)
        np.testing.assert_allclose(sys.dcgain(), control.ss(A, B, C, D).dcgain(), rtol=1e-9)


@pytest.mark.parametrize("outputs, inputs", [(1, 1), (2, 3), (4, 2), (5, 5)])
def test_dcgain_integrator_entrywise(outputs, inputs):
    """python-control's test_dc_gain_integrator model; an entry is inf exactly where that
    input-output pair keeps the pole at 1 (python-control's minreal of the SISO part)."""
    states = max(inputs, outputs)
    a = np.triu(np.tile(2.0, (states, states)))
    a[0, 0] = 1.0
    b = np.eye(max(inputs, states))[:states, :inputs]
    c = np.eye(max(outputs, states))[:outputs, :states]
    sys = StateSpace(a, b, c, np.zeros((outputs, inputs)))
    G = sys.dcgain()
    assert np.all(np.isinf(G[0]))  # the integrator is state 0, seen by output 0
    for i in range(outputs):
        for j in range(inputs):
            sub = control.ss(a, b[:, [j]], c[[i]], 0.0, 1.0).minreal(tol=1e-9)
            has_pole = bool(np.any(np.isclose(sub.poles(), 1.0)))
            assert np.isinf(G[i, j]) == has_pole
            if not has_pole:
                np.testing.assert_allclose(G[i, j], sub.dcgain(), rtol=1e-10, atol=1e-12)


def test_dcgain_cancelled_and_repeated_integrators(rng):
    # an integrator the output cannot see: finite (python-control gives nan)
    sys = StateSpace(np.diag([1.0, 0.5]), [[1.0], [1.0]], [[0.0, 1.0]])
    np.testing.assert_allclose(sys.dcgain(), [[2.0]])
    # a double integrator in random coordinates: inf; its uncontrolled copy: finite
    T = rng.standard_normal((3, 3))
    J = np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.5]])
    sys = StateSpace(
        T @ J @ np.linalg.inv(T), T @ [[0.0], [1.0], [1.0]], [[1.0, 0.0, 1.0]] @ np.linalg.inv(T)
    )
    assert np.isinf(sys.dcgain()[0, 0])
    sys = StateSpace(
        T @ J @ np.linalg.inv(T), T @ [[0.0], [0.0], [1.0]], [[1.0, 0.0, 1.0]] @ np.linalg.inv(T)
    )
    np.testing.assert_allclose(sys.dcgain(), [[2.0]], rtol=1e-8)


def test_continuous_gain_helper_python_control_cases():
    """The helper also serves continuous time (s = 0): python-control's test_dc_gain_cont."""
    from realize.lti import gain_at as _gain_at

    np.testing.assert_allclose(_gain_at([[-2.0]], [[6.0]], [[5.0]], [[0.0]], 0.0), [[15.0]])
    G = _gain_at([[-2.0]], [[6.0, 4.0]], [[5.0], [7.0], [11.0]], np.zeros((3, 2)), 0.0)
    np.testing.assert_allclose(G, [[15.0, 10.0], [21.0, 14.0], [33.0, 22.0]])
    assert _gain_at([[0.0]], [[1.0]], [[1.0]], [[0.0]], 0.0).tolist() == [[np.inf]]


@pytest.mark.parametrize("seed", range(6))
def test_responses_equal_python_control(seed):
    rng = np.random.default_rng(seed)
    n, m, p = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    sys = random_statespace(rng, n, m, p, dt=0.1)
    csys = sys.to_control()
    t = np.arange(30) * sys.dt
    step = control.step_response(csys, t, squeeze=False)
    np.testing.assert_allclose(
        sys.step(30), np.moveaxis(step.outputs, -1, 0), rtol=1e-10, atol=1e-12
    )
    imp = control.impulse_response(csys, t, squeeze=False)
    np.testing.assert_allclose(
        sys.impulse(30), np.moveaxis(imp.outputs, -1, 0), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(sys.impulse(30) * sys.dt, sys.markov(30), rtol=1e-12)
    x0 = rng.standard_normal(n)
    ini = control.initial_response(csys, t, X0=x0, squeeze=False)
    np.testing.assert_allclose(sys.initial(x0, 30), ini.outputs.T, rtol=1e-10, atol=1e-12)
    assert np.allclose(step.time, t)
    # the step response settles at the DC gain
    np.testing.assert_allclose(sys.step(2000)[-1], sys.dcgain(), rtol=1e-8)


def test_responses_shapes_and_errors():
    sys = StateSpace([[0.5]], [[1.0]], [[1.0]])
    assert sys.step(0).shape == (0, 1, 1) and sys.impulse(3).shape == (3, 1, 1)
    assert sys.initial([1.0], 4).shape == (4, 1)
    for bad in (2.5, -1, "3", None):
        with pytest.raises(InvalidValueError, match="T: expected an integer"):
            sys.step(bad)
    with pytest.raises(ShapeError, match="x0"):
        sys.initial([1.0, 2.0], 3)
    with pytest.raises(NonFiniteError, match="x0"):
        sys.initial([np.nan], 3)
    with pytest.raises(NonFiniteError, match="overflow at sample"):
        StateSpace([[10.0]], [[1.0]], [[1.0]]).step(400)
    with pytest.raises(NonFiniteError, match="overflow at sample"):
        StateSpace([[10.0]], [[1.0]], [[1.0]]).initial([1.0], 400)


@given(seed=seeds, n=st.integers(1, 6), m=st.integers(1, 2), p=st.integers(1, 2))
def test_freqresp_in_rad_per_second_as_python_control(seed, n, m, p):
    rng = np.random.default_rng(seed)
    sys = random_statespace(rng, n, m, p, dt=0.02)
    w = np.linspace(0.5, np.pi / sys.dt, 7)  # rad/s up to Nyquist
    Hc = sys.to_control().frequency_response(w).complex.reshape(p, m, 7)
    np.testing.assert_allclose(sys.freqresp(w), np.moveaxis(Hc, -1, 0), rtol=1e-9)
    # normalized frequency: rad/sample, as scipy.signal.dfreqresp
    np.testing.assert_allclose(
        sys.freqresp(w * sys.dt, normalized=True), sys.freqresp(w), rtol=1e-12
    )
    if m == 1 and p == 1:
        _, Hs = scipy.signal.dfreqresp(sys.to_dlti(), w * sys.dt)
        np.testing.assert_allclose(sys.freqresp(w)[:, 0, 0], Hs, rtol=1e-9)
    with pytest.raises(InvalidValueError, match="normalized"):
        sys.freqresp(w, normalized="yes")


def test_to_control_sanitizes_names():
    sys = StateSpace(
        [[0.5]], [[1.0]], [[1.0]], name="data.csv", input_names=["u.1"], output_names=["y.a"]
    )
    csys = sys.to_control()
    assert csys.name == "data_csv"
    assert csys.input_labels == ["u_1"] and csys.output_labels == ["y_a"]
    assert StateSpace.from_control(csys).input_names == ("u_1",)


def test_plot_transmission_zeros_is_a_deprecated_alias(rng):
    import realize.plot

    sys = random_statespace(rng, 4, 2, 2)
    with pytest.warns(DeprecationWarning, match="sys.zeros"):
        z = realize.plot.transmission_zeros(sys)
    _same_set(z, sys.zeros(), 1e-12)
    # its old meaning for an output-only model: the zeros of the noise model, eig(A - K C)
    inno = StateSpace([[0.5]], C=[[1.0]], K=[[0.2]], Lambda=[[1.0]])
    with pytest.warns(DeprecationWarning):
        np.testing.assert_allclose(realize.plot.transmission_zeros(inno), [0.3])
