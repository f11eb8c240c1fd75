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
    np.testing.assert_allclose(new.markov(8), sys.markov(8), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(new.Q, T @ sys.Q @ T.T, rtol=1e-12)
    # the transformed innovation form is still the one of the transformed noise model
    ref = new.replace(K=None).innovation_form()
    np.testing.assert_allclose(ref.K, new.K, rtol=1e-6, atol=1e-8)
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
