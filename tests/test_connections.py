"""Series, parallel and feedback connections, their operators, and the noise model."""

import control
import numpy as np
import pytest
import scipy.linalg as sla

import realize
from realize import StateSpace
from realize.connections import negate
from realize.errors import InvalidValueError, ShapeError
from realize.testing import random_statespace


def _matrices_equal(ours, ref, rtol=1e-12, atol=1e-12):
    for name in "ABCD":
        np.testing.assert_allclose(
            getattr(ours, name), np.asarray(getattr(ref, name)), rtol=rtol, atol=atol, err_msg=name
        )


def _response(sys, w):
    """(N, p, m) frequency response of a realize or python-control model at w rad/s."""
    if isinstance(sys, StateSpace):
        return sys.freqresp(w)
    H = sys.frequency_response(w).complex
    return np.moveaxis(H.reshape(sys.noutputs, sys.ninputs, len(w)), -1, 0)


def _noise_spectrum(sys, w):
    """(N, p, p) output spectrum of the model's noise: H(z) Sigma H(z)^*, H = [C (zI - A)^-1, I]."""
    Q, R, S = sys._process_noise()
    Sigma = np.block([[Q, S], [S.T, R]])
    out = []
    for z in np.exp(1j * w * sys.dt):
        H = np.hstack([sys.C @ np.linalg.inv(z * np.eye(sys.n) - sys.A), np.eye(sys.p)])
        out.append(H @ Sigma @ H.conj().T)
    return np.array(out)


# ----------------------------------------------- python-control's own cases, as data
# control/tests/bdalg_test.py (TestFeedback) and statesp_test.py (test_add_ss, ...)
SYS2 = ([[1.0, 4.0], [3.0, 2.0]], [[1.0], [-4.0]], [[1.0, 0.0]], [[0.0]])
SYS3 = ([[-1.0, 4.0], [2.0, -3.0]], [[2.0], [3.0]], [[-3.0, 1.0]], [[-2.0]])
SYS4 = ([[-3.0, -2.0], [1.0, 4.0]], [[-2.0], [-6.0]], [[2.0, -3.0]], [[3.0]])
SYS322 = (
    [[-3.0, 4.0, 2.0], [-1.0, -3.0, 0.0], [2.0, 5.0, 3.0]],
    [[1.0, 4.0], [-3.0, -3.0], [-2.0, 1.0]],
    [[4.0, 2.0, -3.0], [1.0, 4.0, 3.0]],
    [[-2.0, 4.0], [0.0, 1.0]],
)
SYS222 = (
    [[4.0, 1.0], [2.0, -3.0]],
    [[5.0, 2.0], [-3.0, -3.0]],
    [[2.0, -4.0], [0.0, 1.0]],
    [[3.0, 2.0], [1.0, -1.0]],
)
_PYTHON_CONTROL_CASES = {
    "feedback(2.5, sys2)": (
        lambda: realize.feedback(2.5, StateSpace(*SYS2)),
        ([[-1.5, 4.0], [13.0, 2.0]], [[2.5], [-10.0]], [[-2.5, 0.0]], [[2.5]]),
    ),
    "feedback(2.5, sys2, +1)": (
        lambda: realize.feedback(2.5, StateSpace(*SYS2), 1),
        ([[3.5, 4.0], [-7.0, 2.0]], [[2.5], [-10.0]], [[2.5, 0.0]], [[2.5]]),
    ),
    "feedback(sys2, 2.5)": (
        lambda: realize.feedback(StateSpace(*SYS2), 2.5),
        ([[-1.5, 4.0], [13.0, 2.0]], [[1.0], [-4.0]], [[1.0, 0.0]], [[0.0]]),
    ),
    "feedback(sys2, 2.5, +1)": (
        lambda: realize.feedback(StateSpace(*SYS2), 2.5, sign=1),
        ([[3.5, 4.0], [-7.0, 2.0]], [[1.0], [-4.0]], [[1.0, 0.0]], [[0.0]]),
    ),
    "feedback(sys2, sys2)": (
        lambda: realize.feedback(StateSpace(*SYS2), StateSpace(*SYS2)),
        (
            [
                [1.0, 4.0, -1.0, 0.0],
                [3.0, 2.0, 4.0, 0.0],
                [1.0, 0.0, 1.0, 4.0],
                [-4.0, 0.0, 3.0, 2],
            ],
            [[1.0], [-4.0], [0.0], [0.0]],
            [[1.0, 0.0, 0.0, 0.0]],
            [[0.0]],
        ),
    ),
    "feedback(sys3, sys4)": (
        lambda: realize.feedback(StateSpace(*SYS3), StateSpace(*SYS4)),
        (
            [
                [-4.6, 5.2, 0.8, -1.2],
                [-3.4, -1.2, 1.2, -1.8],
                [-1.2, 0.4, -1.4, -4.4],
                [-3.6, 1.2, 5.8, -3.2],
            ],
            [[-0.4], [-0.6], [-0.8], [-2.4]],
            [[0.6, -0.2, -0.8, 1.2]],
            [[0.4]],
        ),
    ),
    "sys322 + sys222": (
        lambda: StateSpace(*SYS322) + StateSpace(*SYS222),
        (
            [
                [-3.0, 4.0, 2.0, 0.0, 0.0],
                [-1.0, -3.0, 0.0, 0.0, 0.0],
                [2.0, 5.0, 3.0, 0.0, 0.0],
                [0.0, 0.0, 0.0, 4.0, 1.0],
                [0.0, 0.0, 0.0, 2.0, -3.0],
            ],
            [[1.0, 4.0], [-3.0, -3.0], [-2.0, 1.0], [5.0, 2.0], [-3.0, -3.0]],
            [[4.0, 2.0, -3.0, 2.0, -4.0], [1.0, 4.0, 3.0, 0.0, 1.0]],
            [[1.0, 6.0], [1.0, 0.0]],
        ),
    ),
    "sys322 - sys222": (
        lambda: StateSpace(*SYS322) - StateSpace(*SYS222),
        (
            [
                [-3.0, 4.0, 2.0, 0.0, 0.0],
                [-1.0, -3.0, 0.0, 0.0, 0.0],
                [2.0, 5.0, 3.0, 0.0, 0.0],
                [0.0, 0.0, 0.0, 4.0, 1.0],
                [0.0, 0.0, 0.0, 2.0, -3.0],
            ],
            [[1.0, 4.0], [-3.0, -3.0], [-2.0, 1.0], [5.0, 2.0], [-3.0, -3.0]],
            [[4.0, 2.0, -3.0, -2.0, 4.0], [1.0, 4.0, 3.0, 0.0, -1.0]],
            [[-5.0, 2.0], [-1.0, 2.0]],
        ),
    ),
    "series of static gains (testMimoSeries)": (
        lambda: realize.series([[1.0, 2.0], [0.0, 3.0]], [[1.0, 0.0], [2.0, 3.0]]),
        (np.zeros((0, 0)), np.zeros((0, 2)), np.zeros((2, 0)), [[1.0, 2.0], [2.0, 13.0]]),
    ),
}


@pytest.mark.parametrize("case", sorted(_PYTHON_CONTROL_CASES))
def test_python_control_cases(case):
    build, (A, B, C, D) = _PYTHON_CONTROL_CASES[case]
    sys = build()
    for name, ref in zip("ABCD", (A, B, C, D)):
        np.testing.assert_allclose(getattr(sys, name), ref, rtol=1e-12, atol=1e-12, err_msg=name)


def test_feedback_defaults_to_unity_negative():
    sys = StateSpace(*SYS2)
    assert realize.feedback(sys) == realize.feedback(sys, 1, -1) == realize.feedback(sys, [[1.0]])


# ------------------------------------------------- seeded random MIMO, against python-control
@pytest.mark.parametrize("seed", range(8))
def test_random_mimo_against_python_control(seed):
    rng = np.random.default_rng(seed)
    m, k, p = (int(v) for v in rng.integers(1, 4, size=3))
    a = random_statespace(rng, int(rng.integers(0, 5)), m, k, dt=0.1)
    b = random_statespace(rng, int(rng.integers(0, 5)), k, p, dt=0.1)
    ca, cb = a.to_control(), b.to_control()
    _matrices_equal(realize.series(a, b), control.series(ca, cb))
    _matrices_equal(b * a, cb * ca)
    b2 = random_statespace(rng, 3, m, k, dt=0.1)
    _matrices_equal(realize.parallel(a, b2), control.parallel(ca, b2.to_control()))
    _matrices_equal(a + b2, ca + b2.to_control())
    _matrices_equal(a - b2, ca - b2.to_control())
    _matrices_equal(-a, -ca)
    fb = random_statespace(rng, 2, k, m, dt=0.1).replace(D=0.1 * rng.standard_normal((m, k)))
    for sign in (-1, 1):
        ours = realize.feedback(a, fb, sign)
        _matrices_equal(ours, control.feedback(ca, fb.to_control(), sign), rtol=1e-10, atol=1e-12)
        # the closed loop transfer matrix (I - sign G_a G_b)^-1 G_a
        w = np.linspace(0.1, 20.0, 5)
        Ga, Gb = a.freqresp(w), fb.freqresp(w)
        ref = np.linalg.solve(np.eye(k) - sign * Ga @ Gb, Ga)
        np.testing.assert_allclose(ours.freqresp(w), ref, rtol=1e-9, atol=1e-12)
    # the transfer matrix of a series connection is the product, b's after a's
    w = np.linspace(0.1, 20.0, 5)
    np.testing.assert_allclose(
        realize.series(a, b).freqresp(w), b.freqresp(w) @ a.freqresp(w), rtol=1e-9, atol=1e-12
    )


def test_gains_as_numbers_and_arrays(rng):
    a = random_statespace(rng, 3, 2, 2)
    ca = a.to_control()
    w = np.linspace(0.1, 3.0, 4)
    # a number is k I in a product and is added to every entry in a sum (python-control)
    for ours, ref in ((2 * a, 2 * ca), (a * 2, ca * 2), (a + 1, ca + 1), (1 - a, 1 - ca)):
        np.testing.assert_allclose(_response(ours, w), _response(ref, w), rtol=1e-12)
    K = rng.standard_normal((2, 2))
    np.testing.assert_allclose((K * a).freqresp(w), K @ a.freqresp(w), rtol=1e-12)
    np.testing.assert_allclose((a * K).freqresp(w), a.freqresp(w) @ K, rtol=1e-12)
    assert (K * a).dt == a.dt
    tall = random_statespace(rng, 2, 1, 3)
    with pytest.raises(ShapeError, match="square"):
        realize.feedback(tall, 2.0)


# -------------------------------------------------------------------- the noise model
def _noisy(rng, n, m, p, innovation=False):
    sys = random_statespace(rng, n, m, p, noise=True, innovation=innovation, dt=0.5)
    return sys.replace(Q=None) if innovation else sys


@pytest.mark.parametrize("seed", range(4))
def test_noise_model_of_connections_is_exact(seed):
    """The output noise spectrum of each connection, from the stacked independent noises."""
    rng = np.random.default_rng(10 + seed)
    a = _noisy(rng, 3, 2, 2)
    b = _noisy(rng, 2, 2, 2, innovation=seed % 2 == 1)  # only K, Lambda: its noise model
    w = np.linspace(0.05, 6.0, 6)
    Pa, Pb = _noise_spectrum(a, w), _noise_spectrum(b, w)
    Ga, Gb = a.freqresp(w), b.freqresp(w)
    H = lambda X: np.conj(np.swapaxes(X, -1, -2))  # noqa: E731
    # series: a's noise passes through b, b's adds
    ser = realize.series(a, b)
    assert ser.has_noise_model and not ser.has_innovation_form
    np.testing.assert_allclose(_noise_spectrum(ser, w), Gb @ Pa @ H(Gb) + Pb, rtol=1e-9)
    # parallel: the noises add
    np.testing.assert_allclose(_noise_spectrum(a + b, w), Pa + Pb, rtol=1e-9)
    # feedback: y = (I - s Ga Gb)^-1 (Ga u + n_a + s Ga n_b)
    for sign in (-1, 1):
        fb = realize.feedback(a, b, sign)
        Sinv = np.linalg.inv(np.eye(2) - sign * Ga @ Gb)
        ref = Sinv @ (Pa + Ga @ Pb @ H(Ga)) @ H(Sinv)
        np.testing.assert_allclose(_noise_spectrum(fb, w), ref, rtol=1e-8)
    # negation: the same noise process
    np.testing.assert_allclose(_noise_spectrum(-a, w), Pa, rtol=1e-12)


def test_noise_model_explicit_series_formula(rng):
    a, b = _noisy(rng, 2, 1, 2), _noisy(rng, 3, 2, 1)
    ser = realize.series(a, b)
    Q = np.block([[a.Q, a.S @ b.B.T], [b.B @ a.S.T, b.B @ a.R @ b.B.T + b.Q]])
    np.testing.assert_allclose(ser.Q, Q, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(ser.R, b.D @ a.R @ b.D.T + b.R, rtol=1e-12)
    np.testing.assert_allclose(ser.S, np.vstack([a.S @ b.D.T, b.B @ a.R @ b.D.T + b.S]), rtol=1e-12)
    par = realize.parallel(a, _noisy(rng, 1, 1, 2))
    assert np.allclose(par.Q[:2, 2:], 0.0) and np.allclose(par.Q[:2, :2], a.Q)


def test_noise_free_parts_and_negation(rng):
    a = _noisy(rng, 2, 1, 1)
    det = random_statespace(rng, 2, 1, 1, dt=0.5)
    assert not realize.series(det, det).has_noise_model
    ser = realize.series(det, a)  # the deterministic model contributes no noise
    np.testing.assert_allclose(ser.Q, sla.block_diag(np.zeros((2, 2)), a.Q), atol=1e-15)
    inn = a.innovation_form()
    neg = -inn
    np.testing.assert_allclose(neg.K, -inn.K)
    np.testing.assert_allclose(neg.S, -inn.S)
    np.testing.assert_allclose(neg.Lambda, inn.Lambda)
    # still consistent: the Riccati equation of (Q, R, -S) gives -K
    np.testing.assert_allclose(neg.replace(K=None).innovation_form().K, -inn.K, rtol=1e-8)
    assert negate(negate(inn)) == inn


def test_labels_follow_the_signals(rng):
    a = random_statespace(rng, 2, 1, 1).replace(
        input_names=["valve"], output_names=["flow"], state_names=["x1", "x2"]
    )
    b = random_statespace(rng, 1, 1, 1).replace(output_names=["level"], state_names=["h"])
    ser = realize.series(a, b)
    assert ser.input_names == ("valve",) and ser.output_names == ("level",)
    assert ser.state_names == ("x1", "x2", "h")
    assert realize.feedback(a, b).output_names == ("flow",)


def test_bad_connections(rng):
    a = random_statespace(rng, 2, 2, 1)
    with pytest.raises(ShapeError, match="b: expected 1 input"):
        realize.series(a, random_statespace(rng, 2, 2, 1))
    with pytest.raises(ShapeError, match="b: expected 2 input"):
        a + random_statespace(rng, 2, 1, 1)
    with pytest.raises(ShapeError, match="b: expected 1 input"):
        realize.feedback(a, random_statespace(rng, 1, 2, 1))
    with pytest.raises(InvalidValueError, match="dt"):
        realize.series(a, random_statespace(rng, 2, 1, 1, dt=0.1))
    with pytest.raises(InvalidValueError, match="sign"):
        realize.feedback(a, np.ones((2, 1)), sign=0)
    with pytest.raises(InvalidValueError, match="sign"):
        realize.feedback(a, np.ones((2, 1)), sign=2)
    with pytest.raises(InvalidValueError, match="b: expected a realize.StateSpace"):
        realize.series(a, "plant")
    with pytest.raises(InvalidValueError, match="a: expected a realize.StateSpace"):
        realize.parallel(object(), a)
    with pytest.raises(TypeError):
        a * "plant"  # noqa: B018
    # an algebraic loop without solution: D_a D_b = 1 under positive feedback
    one = StateSpace([[0.5]], [[1.0]], [[1.0]], [[1.0]])
    with pytest.raises(InvalidValueError, match="well-posed"):
        realize.feedback(one, 1.0, sign=1)


def test_public_names():
    assert realize.series is realize.connections.series
    for name in ("series", "parallel", "feedback", "care", "modred"):
        assert name in realize.__all__ and callable(getattr(realize, name))
